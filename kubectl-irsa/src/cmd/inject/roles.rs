//! Where each pod's binding comes from (`--role-arn`, ServiceAccount manifests, or the
//! cluster), and the annotation keys to read it with: when the cluster is asked anyway, those
//! of the webhook it runs (`--annotation-prefix` replacing the prefix), else the defaults.

use std::collections::{BTreeMap, HashMap};

use irsa_sts::RoleArn;

use super::super::input::read_manifests;
use crate::binding::{Binding, DEFAULT_PREFIX, Keys};
use crate::cli::InjectArgs;
use crate::error::Result;
use crate::kube_api::{Cluster, ConnectOptions};
use crate::output::Output;
use crate::webhook::{self, WebhookFlags};

/// The bindings of the pods' ServiceAccounts.
pub struct Roles {
    source: Source,
    /// Resolved at once without the cluster, else when it is first asked.
    keys: Option<Keys>,
    /// The flags of the cluster's webhook, when they were read.
    flags: Option<WebhookFlags>,
    out: Output,
}

enum Source {
    /// `--role-arn`: the same role for every pod.
    Fixed(RoleArn),
    /// ServiceAccount manifests: (namespace, name) -> annotations.
    Files(HashMap<(String, String), BTreeMap<String, String>>),
    /// The cluster's ServiceAccounts.
    Cluster(Box<Lookup>),
}

/// The cluster, connected on first use; answers cached per ServiceAccount.
struct Lookup {
    options: ConnectOptions,
    cluster: Option<Cluster>,
    prefix: crate::cli::PrefixArg,
    seen: HashMap<(String, String), BTreeMap<String, String>>,
}

impl Roles {
    pub fn new(
        args: &InjectArgs,
        options: ConnectOptions,
        default_namespace: &str,
        out: Output,
    ) -> Result<Self> {
        let offline = |source| Roles {
            source,
            keys: Some(webhook::keys(args.prefix.given(), None)),
            flags: None,
            out,
        };
        if let Some(role) = &args.role_arn {
            return Ok(offline(Source::Fixed(role.clone())));
        }
        if args.service_account_files.is_empty() {
            let lookup = Lookup {
                options,
                cluster: None,
                prefix: args.prefix.clone(),
                seen: HashMap::new(),
            };
            return Ok(Roles {
                source: Source::Cluster(Box::new(lookup)),
                keys: None,
                flags: None,
                out,
            });
        }
        let mut accounts = HashMap::new();
        for path in &args.service_account_files {
            for document in read_manifests("--service-account-file", path)? {
                if document["kind"] != "ServiceAccount" {
                    continue;
                }
                let metadata = &document["metadata"];
                let namespace = metadata["namespace"].as_str().unwrap_or(default_namespace);
                let name = metadata["name"].as_str().unwrap_or_default();
                let annotations =
                    serde_json::from_value(metadata["annotations"].clone()).unwrap_or_default();
                accounts.insert((namespace.to_string(), name.to_string()), annotations);
            }
        }
        Ok(offline(Source::Files(accounts)))
    }

    /// The annotation keys; the defaults until the cluster is asked.
    pub fn keys(&self) -> &Keys {
        static DEFAULT: std::sync::LazyLock<Keys> =
            std::sync::LazyLock::new(|| Keys::new(DEFAULT_PREFIX));
        self.keys.as_ref().unwrap_or(&DEFAULT)
    }

    /// The webhook's `--aws-default-region`, when its flags were read.
    pub fn webhook_region(&self) -> Option<String> {
        self.flags.as_ref().and_then(|flags| flags.region.clone())
    }

    /// The binding of the ServiceAccount `namespace/name`, as its annotations say.
    pub async fn binding(&mut self, namespace: &str, name: &str) -> Result<Binding> {
        let key = (namespace.to_string(), name.to_string());
        let annotations = match &mut self.source {
            Source::Fixed(role) => {
                let role = role.to_string();
                let mut binding = Binding::read(&BTreeMap::new(), self.keys());
                binding.role_arn = Some(role);
                return Ok(binding);
            }
            Source::Files(accounts) => accounts.get(&key).cloned().unwrap_or_default(),
            Source::Cluster(lookup) => match lookup.seen.get(&key) {
                Some(annotations) => annotations.clone(),
                None => {
                    let cluster = match &mut lookup.cluster {
                        Some(cluster) => cluster,
                        empty => {
                            let cluster = Cluster::connect(&lookup.options).await?;
                            let (keys, flags) =
                                crate::cmd::keys::resolve(&cluster, &lookup.prefix, self.out).await;
                            (self.keys, self.flags) = (Some(keys), flags);
                            empty.insert(cluster)
                        }
                    };
                    let annotations = cluster
                        .in_namespace(namespace)
                        .service_account(name)
                        .await?
                        .and_then(|account| account.metadata.annotations)
                        .unwrap_or_default();
                    lookup.seen.insert(key, annotations.clone());
                    annotations
                }
            },
        };
        Ok(Binding::read(&annotations, self.keys()))
    }
}
