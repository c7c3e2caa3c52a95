//! kubectl's plugin completion: `kubectl_complete-irsa` runs `kubectl irsa __complete WORDS...`
//! and reads candidates in Cobra's format (one per line, then a `:DIRECTIVE` line).

use std::process::ExitCode;

use clap::CommandFactory;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, ListParams};

use crate::cli::Cli;
use crate::error::Result;
use crate::kube_api::{Cluster, ConnectOptions};
use crate::output::Output;

/// Cobra's ShellCompDirectiveNoFileComp: never fall back to file names.
const NO_FILE_COMPLETION: u8 = 4;
/// Verbs whose first argument is a ServiceAccount.
const TAKES_SERVICE_ACCOUNT: [&str; 6] = ["bind", "unbind", "whoami", "exec", "test", "doctor"];

pub async fn run(words: &[String], out: Output) -> Result<ExitCode> {
    let current = words.last().map(String::as_str).unwrap_or_default();
    let mut text = String::new();
    for candidate in candidates(words, current).await {
        if candidate.starts_with(current) {
            text.push_str(&candidate);
            text.push('\n');
        }
    }
    text.push_str(&format!(":{NO_FILE_COMPLETION}\n"));
    out.print(&text)?;
    Ok(ExitCode::SUCCESS)
}

async fn candidates(words: &[String], current: &str) -> Vec<String> {
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
    let mut options = options_given(words);
    if previous == "-n" || previous == "--namespace" {
        options.namespace = None;
        return names(&options, |cluster| Api::<Namespace>::all(cluster.client)).await;
    }
    if current.starts_with('-') {
        let Some(subcommand) = command.find_subcommand(verb) else {
            return Vec::new();
        };
        return subcommand
            .get_arguments()
            .filter_map(|arg| arg.get_long().map(|long| format!("--{long}")))
            .collect();
    }
    let positional_given = words[1..words.len() - 1]
        .iter()
        .enumerate()
        .any(|(i, word)| !word.starts_with('-') && !words[i].starts_with('-'));
    if TAKES_SERVICE_ACCOUNT.contains(&verb) && !positional_given {
        return names(&options, |cluster| {
            Api::<ServiceAccount>::namespaced(cluster.client, &cluster.namespace)
        })
        .await;
    }
    Vec::new()
}

/// The cluster flags given so far, for the kubeconfig and namespace to ask.
fn options_given(words: &[String]) -> ConnectOptions {
    let mut options = ConnectOptions::default();
    for pair in words.windows(2) {
        match pair[0].as_str() {
            "-n" | "--namespace" => options.namespace = Some(pair[1].clone()),
            "--context" => options.context = Some(pair[1].clone()),
            "--kubeconfig" => options.kubeconfig = Some(pair[1].clone().into()),
            _ => {}
        }
    }
    options
}

/// The names the cluster lists through the `Api` that `api` makes; nothing on any error
/// (completion must stay quiet).
async fn names<K>(options: &ConnectOptions, api: impl FnOnce(Cluster) -> Api<K>) -> Vec<String>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let Ok(cluster) = Cluster::connect(options).await else {
        return Vec::new();
    };
    match api(cluster)
        .list_metadata(&ListParams::default().limit(500))
        .await
    {
        Ok(list) => list
            .items
            .into_iter()
            .filter_map(|item| item.metadata.name)
            .collect(),
        Err(_) => Vec::new(),
    }
}
