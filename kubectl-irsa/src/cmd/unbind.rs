//! `kubectl irsa unbind`: remove the annotations this tool manages.

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Map, Value, json};

use crate::annotations::Keys;
use crate::cli::{DryRun, KubeFlags, UnbindArgs};
use crate::cluster::{self, Cluster};
use crate::cmd::{self, FIELD_MANAGER};
use crate::error::{CliError, from_kube};
use crate::names;

pub async fn run(flags: &KubeFlags, args: &UnbindArgs) -> Result<(), CliError> {
    names::check_service_account(&args.name)?;
    let Cluster { client, namespace } = cluster::connect(flags).await?;
    let what = format!("serviceaccount {namespace}/{}", args.name);
    let api: Api<ServiceAccount> = Api::namespaced(client, &namespace);
    let Some(existing) = cmd::get_service_account(&api, &namespace, &args.name).await? else {
        return Err(CliError::Cluster(format!("{what} not found")));
    };
    let present = cmd::annotations_of(&existing);
    // A merge patch deletes a key set to null.
    let removals: Map<String, Value> = Keys::new(&args.prefix.annotation_prefix)
        .all()
        .into_iter()
        .filter(|key| present.contains_key(key))
        .map(|key| (key, Value::Null))
        .collect();
    if removals.is_empty() {
        println!("serviceaccount/{} unchanged (not bound)", args.name);
        return Ok(());
    }
    if args.dry_run != DryRun::Client {
        let params = PatchParams {
            dry_run: args.dry_run == DryRun::Server,
            field_manager: Some(FIELD_MANAGER.into()),
            ..PatchParams::default()
        };
        let patch = json!({ "metadata": { "annotations": removals } });
        api.patch(&args.name, &params, &Patch::Merge(&patch))
            .await
            .map_err(|e| from_kube(e, "patch", &what))?;
    }
    println!(
        "serviceaccount/{} unbound{}: removed {}",
        args.name,
        cmd::dry_run_suffix(args.dry_run),
        removals.keys().cloned().collect::<Vec<_>>().join(", ")
    );
    Ok(())
}
