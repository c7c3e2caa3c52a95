//! `kubectl irsa inject`: manifests in, the same manifests out on stdout with what the pod
//! identity webhook would add to their pods.

use std::collections::BTreeSet;
use std::process::ExitCode;

use serde_json::{Value, json};

use irsa_sts::RoleArn;

mod roles;

use super::input::read_manifests;
use crate::binding::{Binding, Keys};
use crate::cli::InjectArgs;
use crate::error::{Error, Result};
use crate::injection::sidecar::{self, Sidecar};
use crate::injection::{self, Injection};
use crate::manifests::{self, PodSite, Visit};
use crate::output::Output;
use roles::Roles;

pub async fn run(args: &InjectArgs, out: Output) -> Result<ExitCode> {
    check_serve(args)?;
    let mut documents = Vec::new();
    for path in &args.filenames {
        documents.extend(read_manifests("-f", path)?);
    }
    let options = args.kube.options();
    // Objects without a namespace go where `kubectl apply -f` would put them.
    let default_namespace = options.namespace_offline();
    let mut roles = Roles::new(args, options, &default_namespace, out)?;
    let mut notes = Vec::new();
    let mut helper_namespaces = BTreeSet::new();
    for document in &mut documents {
        for visit in manifests::pods(document) {
            let site = match visit {
                Visit::Pod(site) => site,
                Visit::Other(object) => {
                    notes.push(format!("{object}: not a workload, left as it is"));
                    continue;
                }
            };
            let namespace = site
                .namespace
                .clone()
                .unwrap_or_else(|| default_namespace.clone());
            let binding = roles.binding(&namespace, &site.service_account).await?;
            // Known once the cluster was asked, for the first pod that needed it.
            let keys = roles.keys().clone();
            let Some(role) = binding.role() else {
                notes.push(format!(
                    "{}: serviceaccount {namespace}/{} has no {} annotation, left as it is",
                    site.object,
                    site.service_account,
                    keys.role_arn()
                ));
                continue;
            };
            let region = args.region.clone().or_else(|| roles.webhook_region());
            notes.extend(inject_site(site, args, &keys, &binding, role?, region));
            if args.credential_process {
                helper_namespaces.insert(namespace);
            }
        }
    }
    add_helper_config_maps(&mut documents, &helper_namespaces, args, &default_namespace);
    let text = manifests::render_yaml(&documents).map_err(|e| Error::Internal {
        what: "cannot write YAML",
        detail: e.to_string(),
    })?;
    for note in notes {
        out.note(note);
    }
    out.print(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn check_serve(args: &InjectArgs) -> Result<()> {
    if args
        .serve
        .as_ref()
        .is_some_and(|image| image.trim().is_empty())
    {
        return Err(Error::Usage(
            "--serve needs the image that runs irsa-credential-process, such as registry.example.com/irsa-credential-process:0.1.0 (build it from irsa-credential-process/Dockerfile)".into(),
        ));
    }
    if args.serve.is_some() && args.serve_port == 0 {
        return Err(Error::Usage(
            "--serve-port 0 cannot be written into a pod: give a fixed port such as 9121".into(),
        ));
    }
    Ok(())
}

/// Injects one pod spec; returns notes about it.
fn inject_site(
    mut site: PodSite<'_>,
    args: &InjectArgs,
    keys: &Keys,
    binding: &Binding,
    role: RoleArn,
    region: Option<String>,
) -> Vec<String> {
    // The pod's own token-expiration annotation wins over the ServiceAccount's (handler.go's
    // parsePodAnnotations), raised to the webhook's floor; one that is not a number is ignored.
    let expiration = site
        .annotations
        .get(&keys.token_expiration())
        .and_then(Value::as_str)
        .and_then(|text| text.parse::<i64>().ok())
        .map_or(binding.token_expiration, |seconds| {
            seconds.max(crate::binding::MIN_TOKEN_EXPIRATION)
        });
    let injection = Injection {
        role_arn: role.to_string(),
        audience: binding.audience.clone(),
        expiration_seconds: expiration,
        sts_regional_endpoints: binding.sts_regional_endpoints,
        region,
        credential_process: args.credential_process,
        serve: args.serve.as_ref().map(|image| Sidecar {
            image: image.clone(),
            port: args.serve_port,
            token_secret: args.serve_token_secret.clone(),
        }),
    };
    let skip_key = keys.skip_containers();
    let skip: Vec<String> = site
        .annotations
        .get(&skip_key)
        .and_then(Value::as_str)
        .map(injection::skip_containers)
        .unwrap_or_default();
    let Some(served) = &injection.serve else {
        injection::inject(site.spec(), &injection, &skip);
        return Vec::new();
    };
    let mut notes = Vec::new();
    if sidecar::differs(site.spec(), served) {
        notes.push(format!(
            "{}: already has the {} sidecar with another image, port or token source, left as it is: inject the manifest without it to change them",
            site.object,
            sidecar::NAME
        ));
    }
    injection::inject(site.spec(), &injection, &skip);
    notes.extend(serve_site(site, args, &skip_key, skip));
    notes
}

/// After `--serve`: the skip annotation names every container but the sidecar; notes.
fn serve_site(
    mut site: PodSite<'_>,
    args: &InjectArgs,
    skip_key: &str,
    mut skip: Vec<String>,
) -> Vec<String> {
    // The EKS webhook, where it runs, would hand the app the token anyway: it must skip every
    // container but the sidecar.
    for name in sidecar::app_container_names(site.spec()) {
        if !skip.contains(&name) {
            skip.push(name);
        }
    }
    site.annotate(skip_key, &skip.join(","));
    // A token from a Secret reaches the app as a variable: no file to share.
    if args.serve_token_secret.is_some() || sidecar::runs_as_a_known_user(site.spec()) {
        return Vec::new();
    }
    vec![format!(
        "{}: no runAsUser in the pod or its first container: the sidecar writes its token file 0600 as its image's user (65532 for irsa-credential-process/Dockerfile), so the app must run as that user too; set spec.securityContext.runAsUser",
        site.object
    )]
}

/// The ConfigMap holding the AWS config that names the helper, once per namespace that needs
/// it and does not have it among the documents.
fn add_helper_config_maps(
    documents: &mut Vec<Value>,
    namespaces: &BTreeSet<String>,
    args: &InjectArgs,
    default_namespace: &str,
) {
    for namespace in namespaces {
        let exists = documents.iter().any(|d| {
            d["kind"] == "ConfigMap"
                && d["metadata"]["name"] == injection::HELPER_CONFIG_MAP
                && d["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or(default_namespace)
                    == namespace
        });
        if !exists {
            documents.push(json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": { "name": injection::HELPER_CONFIG_MAP, "namespace": namespace },
                "data": { "config": injection::helper_config(&args.helper_path) },
            }));
        }
    }
}
