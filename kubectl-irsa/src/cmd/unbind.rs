//! `kubectl irsa unbind`: remove the annotations this tool manages.

use std::process::ExitCode;

use k8s_openapi::api::core::v1::ServiceAccount;
use serde_json::{Map, Value, json};

use crate::cli::UnbindArgs;
use crate::error::{Error, Result};
use crate::kube_api::Cluster;
use crate::output::Output;

pub async fn run(args: &UnbindArgs, out: Output) -> Result<ExitCode> {
    let cluster = Cluster::connect(&args.kube.options()).await?;
    let name = &args.name;
    let Some(existing) = cluster.service_account(name).await? else {
        return Err(Error::Cluster(format!(
            "serviceaccount {}/{name} not found",
            cluster.namespace
        )));
    };
    let present = existing.metadata.annotations.unwrap_or_default();
    // A merge patch deletes a key set to null.
    let (keys, _) = super::keys::resolve(&cluster, &args.prefix, out).await;
    let removals: Map<String, Value> = keys
        .all()
        .into_iter()
        .filter(|key| present.contains_key(key))
        .map(|key| (key, Value::Null))
        .collect();
    if removals.is_empty() {
        out.line(format_args!("serviceaccount/{name} unchanged (not bound)"))?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run.mode.sends() {
        let patch = json!({ "metadata": { "annotations": removals } });
        cluster
            .merge_patch::<ServiceAccount>(name, &patch, args.dry_run.mode)
            .await?;
    }
    out.line(format_args!(
        "serviceaccount/{name} unbound{}: removed {}",
        args.dry_run.mode.suffix(),
        removals.keys().cloned().collect::<Vec<_>>().join(", ")
    ))?;
    Ok(ExitCode::SUCCESS)
}
