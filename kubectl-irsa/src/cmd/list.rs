//! `kubectl irsa list`: the ServiceAccounts bound to a role, read with paginated list calls.

use std::collections::HashMap;
use std::process::ExitCode;

use k8s_openapi::api::core::v1::ServiceAccount;

use crate::cli::ListArgs;
use crate::error::{Error, Result};
use crate::kube_api::{Cluster, Scope, service_account_of};
use crate::output::{BoundRow, Layout, ListFormat, Output, PodCounts, render_bound};

pub async fn run(args: &ListArgs, out: Output) -> Result<ExitCode> {
    let cluster = Cluster::connect(&args.kube.options()).await?;
    let scope = cluster.scope(args.all_namespaces);
    let (keys, _) = super::keys::resolve(&cluster, &args.prefix, out).await;
    let role_key = keys.role_arn();
    let bound: Vec<ServiceAccount> = cluster
        .list_kept(&scope, args.chunk_size, |account: &ServiceAccount| {
            account
                .metadata
                .annotations
                .as_ref()
                .is_some_and(|annotations| annotations.contains_key(&role_key))
        })
        .await?;
    let mut pods: HashMap<(String, String), PodCounts> = HashMap::new();
    if args.output == ListFormat::Wide && !bound.is_empty() {
        cluster
            .each_pod(&scope, args.chunk_size, |pod| {
                let counts = pods.entry(service_account_of(&pod)).or_default();
                counts.add(&pod);
            })
            .await?;
    }
    let rows: Vec<BoundRow> = bound
        .iter()
        .map(|account| BoundRow::new(account, &keys, &pods))
        .collect();
    let layout = Layout {
        format: args.output,
        all_namespaces: args.all_namespaces,
        no_headers: args.no_headers,
    };
    let text = render_bound(&rows, &bound, layout).map_err(|e| Error::Internal {
        what: "cannot render YAML",
        detail: e.to_string(),
    })?;
    out.print(&text)?;
    if bound.is_empty() && matches!(args.output, ListFormat::Table | ListFormat::Wide) {
        // As kubectl says "No resources found in shop namespace." on stderr.
        match scope {
            Scope::Namespace(ns) => out.status(format_args!(
                "No bound ServiceAccounts found in {ns} namespace."
            )),
            _ => out.status("No bound ServiceAccounts found."),
        }
    }
    Ok(ExitCode::SUCCESS)
}
