//! `kubectl irsa list`: the ServiceAccounts bound to a role, read with paginated list calls.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use kube::api::Api;

use crate::annotations::Keys;
use crate::cli::{KubeFlags, ListArgs, OutputFormat};
use crate::cluster::{self, Cluster};
use crate::cmd;
use crate::error::CliError;
use crate::output::{self, BoundRow};

pub async fn run(flags: &KubeFlags, args: &ListArgs) -> Result<(), CliError> {
    let Cluster { client, namespace } = cluster::connect(flags).await?;
    let scope = if args.all_namespaces {
        None
    } else {
        Some(namespace.as_str())
    };
    let keys = Keys::new(&args.prefix.annotation_prefix);
    let role_key = keys.role_arn();

    let accounts: Api<ServiceAccount> = match scope {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let what = scope_name("serviceaccounts", scope);
    let bound: Vec<ServiceAccount> = cmd::list_all(&accounts, args.chunk_size, &what)
        .await?
        .into_iter()
        .filter(|account| {
            account
                .metadata
                .annotations
                .as_ref()
                .is_some_and(|annotations| annotations.contains_key(&role_key))
        })
        .collect();

    let pods = if args.output == OutputFormat::Wide && !bound.is_empty() {
        pods_per_service_account(&client, scope, args.chunk_size).await?
    } else {
        HashMap::new()
    };
    let rows: Vec<BoundRow> = bound
        .iter()
        .map(|account| BoundRow::new(account, &keys, &pods))
        .collect();
    let text = output::render_bound(&rows, &bound, args.output, args.no_headers)?;
    print!("{text}");
    if bound.is_empty() && matches!(args.output, OutputFormat::Table | OutputFormat::Wide) {
        match scope {
            Some(ns) => eprintln!("No bound ServiceAccounts found in {ns} namespace."),
            None => eprintln!("No bound ServiceAccounts found."),
        }
    }
    Ok(())
}

/// Pods per (namespace, ServiceAccount), from one paginated list of pods.
async fn pods_per_service_account(
    client: &kube::Client,
    scope: Option<&str>,
    chunk_size: u32,
) -> Result<HashMap<(String, String), usize>, CliError> {
    let pods: Api<Pod> = match scope {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let mut counts = HashMap::new();
    for pod in cmd::list_all(&pods, chunk_size, &scope_name("pods", scope)).await? {
        let account = pod
            .spec
            .and_then(|spec| spec.service_account_name)
            .unwrap_or_else(|| "default".into());
        let namespace = pod.metadata.namespace.unwrap_or_default();
        *counts.entry((namespace, account)).or_insert(0) += 1;
    }
    Ok(counts)
}

fn scope_name(resource: &str, scope: Option<&str>) -> String {
    match scope {
        Some(ns) => format!("{resource} in namespace {ns}"),
        None => format!("{resource} in all namespaces"),
    }
}
