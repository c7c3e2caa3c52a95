//! `kubectl irsa inject`: manifests in, the same manifests out on stdout with what the pod
//! identity webhook would add to their pods.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::Path;

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::Api;
use serde_json::{Value, json};

use irsa_sts::RoleArn;

use crate::annotations::Keys;
use crate::cli::{InjectArgs, KubeFlags};
use crate::cluster::{self, Cluster};
use crate::cmd;
use crate::error::CliError;
use crate::injection::{self, Injection};
use crate::manifests::{self, Visit};
use crate::sidecar::{self, Sidecar};

/// Where roles come from when --role-arn is not given.
enum Roles {
    /// ServiceAccount manifests: (namespace, name) -> annotations.
    Files(HashMap<(String, String), BTreeMap<String, String>>),
    /// The cluster, connected on first use; answers cached per ServiceAccount.
    Cluster {
        cluster: Option<Cluster>,
        seen: HashMap<(String, String), BTreeMap<String, String>>,
    },
}

pub async fn run(flags: &KubeFlags, args: &InjectArgs) -> Result<(), CliError> {
    let fixed_role: Option<RoleArn> = args.role_arn.as_deref().map(str::parse).transpose()?;
    if args
        .serve
        .as_ref()
        .is_some_and(|image| image.trim().is_empty())
    {
        return Err(CliError::Usage(
            "--serve needs the image that runs irsa-credential-process, such as registry.example.com/irsa-credential-process:0.1.0 (build it from irsa-credential-process/Dockerfile)".into(),
        ));
    }
    if args.serve.is_some() && args.serve_port == 0 {
        return Err(CliError::Usage(
            "--serve-port 0 cannot be written into a pod: give a fixed port such as 9121".into(),
        ));
    }
    let mut documents = Vec::new();
    for path in &args.filenames {
        documents.extend(read_manifests(path)?);
    }
    let mut roles = if args.service_account_files.is_empty() {
        Roles::Cluster {
            cluster: None,
            seen: HashMap::new(),
        }
    } else {
        let mut accounts = HashMap::new();
        for path in &args.service_account_files {
            for document in read_manifests(path)? {
                if document["kind"] == "ServiceAccount" {
                    let key = (
                        document["metadata"]["namespace"]
                            .as_str()
                            .unwrap_or("default")
                            .to_string(),
                        document["metadata"]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    );
                    let annotations =
                        serde_json::from_value(document["metadata"]["annotations"].clone())
                            .unwrap_or_default();
                    accounts.insert(key, annotations);
                }
            }
        }
        Roles::Files(accounts)
    };
    let default_namespace = flags.namespace.clone().unwrap_or_else(|| "default".into());
    let keys = Keys::new(&args.prefix.annotation_prefix);
    let skip_key = format!(
        "{}/skip-containers",
        args.prefix.annotation_prefix.trim_end_matches('/')
    );

    let mut notes = Vec::new();
    let mut helper_namespaces = BTreeSet::new();
    for document in &mut documents {
        for visit in manifests::pods(document) {
            let mut site = match visit {
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
            let annotations = match &fixed_role {
                Some(_) => BTreeMap::new(),
                None => {
                    roles
                        .annotations(flags, &namespace, &site.service_account)
                        .await?
                }
            };
            let role = match (&fixed_role, annotations.get(&keys.role_arn())) {
                (Some(role), _) => role.to_string(),
                (None, Some(role)) => role.parse::<RoleArn>()?.to_string(),
                (None, None) => {
                    notes.push(format!(
                        "{}: serviceaccount {namespace}/{} has no {} annotation, left as it is",
                        site.object,
                        site.service_account,
                        keys.role_arn()
                    ));
                    continue;
                }
            };
            let injection = Injection {
                role_arn: role,
                audience: annotations
                    .get(&keys.audience())
                    .cloned()
                    .unwrap_or_else(|| "sts.amazonaws.com".into()),
                expiration_seconds: annotations
                    .get(&keys.token_expiration())
                    .and_then(|s| s.parse::<i64>().ok())
                    .map_or(86400, |seconds| seconds.max(600)),
                sts_regional_endpoints: annotations
                    .get(&keys.sts_regional_endpoints())
                    .is_some_and(|v| v == "true"),
                credential_process: args.credential_process,
                serve: args.serve.as_ref().map(|image| Sidecar {
                    image: image.clone(),
                    port: args.serve_port,
                }),
            };
            let mut skip: Vec<String> = site
                .annotations
                .get(&skip_key)
                .and_then(Value::as_str)
                .map(|list| {
                    list.split(',')
                        .map(|name| name.trim().to_string())
                        .filter(|name| !name.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            let skipped: Vec<&str> = skip.iter().map(String::as_str).collect();
            injection::inject(site.spec(), &injection, &skipped);
            if args.serve.is_some() {
                // The EKS webhook, where it runs, would hand the app the token anyway: it must
                // skip every container but the sidecar.
                for name in sidecar::app_container_names(site.spec()) {
                    if !skip.contains(&name) {
                        skip.push(name);
                    }
                }
                site.annotate(&skip_key, &skip.join(","));
                if !sidecar::runs_as_a_known_user(site.spec()) {
                    notes.push(format!(
                        "{}: no runAsUser in the pod or its first container: the sidecar writes its token file 0600 as its image's user (65532 for irsa-credential-process/Dockerfile), so the app must run as that user too; set spec.securityContext.runAsUser",
                        site.object
                    ));
                }
            }
            if args.credential_process {
                helper_namespaces.insert(namespace);
            }
        }
    }
    for namespace in helper_namespaces {
        let exists = documents.iter().any(|d| {
            d["kind"] == "ConfigMap"
                && d["metadata"]["name"] == injection::HELPER_CONFIG_MAP
                && d["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or(&default_namespace)
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
    let text = manifests::render_yaml(&documents)
        .map_err(|e| CliError::Io(format!("cannot write YAML: {e}")))?;
    for note in notes {
        eprintln!("Note: {note}");
    }
    print!("{text}");
    Ok(())
}

impl Roles {
    async fn annotations(
        &mut self,
        flags: &KubeFlags,
        namespace: &str,
        name: &str,
    ) -> Result<BTreeMap<String, String>, CliError> {
        let key = (namespace.to_string(), name.to_string());
        match self {
            Roles::Files(accounts) => Ok(accounts.get(&key).cloned().unwrap_or_default()),
            Roles::Cluster { cluster, seen } => {
                if let Some(annotations) = seen.get(&key) {
                    return Ok(annotations.clone());
                }
                if cluster.is_none() {
                    *cluster = Some(cluster::connect(flags).await?);
                }
                let client = cluster
                    .as_ref()
                    .map(|c| c.client.clone())
                    .expect("connected above");
                let api: Api<ServiceAccount> = Api::namespaced(client, namespace);
                let annotations = cmd::get_service_account(&api, namespace, name)
                    .await?
                    .map(|account| cmd::annotations_of(&account))
                    .unwrap_or_default();
                seen.insert(key, annotations.clone());
                Ok(annotations)
            }
        }
    }
}

/// The documents of a file, of every .yaml/.yml/.json file in a directory, or of stdin (`-`).
fn read_manifests(path: &Path) -> Result<Vec<Value>, CliError> {
    let unreadable =
        |e: std::io::Error| CliError::Usage(format!("cannot read -f {}: {e}", path.display()));
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(unreadable)?;
        return manifests::parse(&text, "stdin").map_err(|e| CliError::Usage(e.to_string()));
    }
    if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .map_err(unreadable)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
            })
            .collect();
        files.sort();
        let mut documents = Vec::new();
        for file in files {
            documents.extend(read_manifests(&file)?);
        }
        return Ok(documents);
    }
    let text = std::fs::read_to_string(path).map_err(unreadable)?;
    manifests::parse(&text, &path.display().to_string()).map_err(|e| CliError::Usage(e.to_string()))
}
