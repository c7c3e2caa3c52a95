//! kubectl's plugin completion: `kubectl_complete-irsa` runs `kubectl irsa __complete WORDS...`
//! and reads candidates in Cobra's format (one per line, then a `:DIRECTIVE` line).

use clap::CommandFactory;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, ListParams};

use crate::cli::{Cli, KubeFlags};
use crate::cluster;
use crate::error::CliError;

/// Cobra's ShellCompDirectiveNoFileComp: never fall back to file names.
const NO_FILE_COMPLETION: u8 = 4;
/// Verbs whose first argument is a ServiceAccount.
const TAKES_SERVICE_ACCOUNT: [&str; 6] = ["bind", "unbind", "whoami", "exec", "test", "doctor"];

pub async fn run(flags: &KubeFlags, words: &[String]) -> Result<(), CliError> {
    let current = words.last().map(String::as_str).unwrap_or_default();
    let candidates = candidates(flags, words, current).await;
    for candidate in candidates.iter().filter(|c| c.starts_with(current)) {
        println!("{candidate}");
    }
    println!(":{NO_FILE_COMPLETION}");
    Ok(())
}

async fn candidates(flags: &KubeFlags, words: &[String], current: &str) -> Vec<String> {
    let command = Cli::command();
    if words.len() <= 1 {
        return command
            .get_subcommands()
            .filter(|verb| !verb.is_hide_set())
            .map(|verb| verb.get_name().to_string())
            .collect();
    }
    let verb = words[0].as_str();
    let previous = words[words.len() - 2].as_str();
    // Flags given so far, for the namespace and the kubeconfig to ask.
    let mut flags = flags.clone();
    for pair in words.windows(2) {
        match pair[0].as_str() {
            "-n" | "--namespace" => flags.namespace = Some(pair[1].clone()),
            "--context" => flags.context = Some(pair[1].clone()),
            "--kubeconfig" => flags.kubeconfig = Some(pair[1].clone().into()),
            _ => {}
        }
    }
    if previous == "-n" || previous == "--namespace" {
        flags.namespace = None;
        return namespaces(&flags).await;
    }
    if current.starts_with('-') {
        let Some(subcommand) = command.find_subcommand(verb) else {
            return Vec::new();
        };
        return subcommand
            .get_arguments()
            .chain(command.get_arguments())
            .filter_map(|arg| arg.get_long().map(|long| format!("--{long}")))
            .collect();
    }
    let positional_given = words[1..words.len() - 1]
        .iter()
        .enumerate()
        .any(|(i, word)| !word.starts_with('-') && !words[i].starts_with('-'));
    if TAKES_SERVICE_ACCOUNT.contains(&verb) && !positional_given {
        return service_accounts(&flags).await;
    }
    Vec::new()
}

/// Names the cluster lists through `api`; nothing on any error (completion must stay quiet).
async fn names_in<K>(api: Api<K>) -> Vec<String>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.list_metadata(&ListParams::default().limit(500)).await {
        Ok(list) => list
            .items
            .into_iter()
            .filter_map(|item| item.metadata.name)
            .collect(),
        Err(_) => Vec::new(),
    }
}

async fn namespaces(flags: &KubeFlags) -> Vec<String> {
    match cluster::connect(flags).await {
        Ok(cluster) => names_in(Api::<Namespace>::all(cluster.client)).await,
        Err(_) => Vec::new(),
    }
}

async fn service_accounts(flags: &KubeFlags) -> Vec<String> {
    match cluster::connect(flags).await {
        Ok(cluster) => {
            names_in(Api::<ServiceAccount>::namespaced(
                cluster.client,
                &cluster.namespace,
            ))
            .await
        }
        Err(_) => Vec::new(),
    }
}
