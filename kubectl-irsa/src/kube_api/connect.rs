//! A client built from kubectl's settings, resolved once by the command line into
//! [`ConnectOptions`] (no clap type reaches here).

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::Cluster;
use crate::names::{self, NameError};

/// kubectl's global flags, as values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    /// `--kubeconfig`; else `KUBECONFIG` (merged), else `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    /// `-n`; else the context's namespace, else `default`.
    pub namespace: Option<String>,
    pub as_user: Option<String>,
    pub as_groups: Vec<String>,
    /// `--request-timeout`; `None` waits forever (kubectl's `0`).
    pub request_timeout: Option<Duration>,
}

/// Why no client could be built; each names the flag to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot read --kubeconfig {}: {source}", path.display())]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("cannot read a kubeconfig (KUBECONFIG or ~/.kube/config): {0}; pass --kubeconfig")]
    NoKubeconfig(#[source] kube::config::KubeconfigError),
    #[error("cannot use the kubeconfig: {0}; check --context, --cluster and --user")]
    Config(#[source] kube::config::KubeconfigError),
    #[error(transparent)]
    Namespace(#[from] NameError),
    #[error("cannot build a client for the cluster: {0}")]
    Client(#[source] kube::Error),
}

impl ConnectOptions {
    /// The kubeconfig these options name.
    fn kubeconfig(&self) -> Result<Kubeconfig, ConnectError> {
        match &self.kubeconfig {
            Some(path) => Kubeconfig::read_from(path).map_err(|source| ConnectError::Kubeconfig {
                path: path.clone(),
                source,
            }),
            None => Kubeconfig::read().map_err(ConnectError::NoKubeconfig),
        }
    }

    /// The namespace commands act in, read without connecting: `-n`, else the context's
    /// namespace, else `default` (also when there is no kubeconfig: offline commands).
    pub fn namespace_offline(&self) -> String {
        if let Some(namespace) = &self.namespace {
            return namespace.clone();
        }
        let Ok(kubeconfig) = self.kubeconfig() else {
            return "default".into();
        };
        let context = self
            .context
            .clone()
            .or_else(|| kubeconfig.current_context.clone());
        kubeconfig
            .contexts
            .iter()
            .find(|named| Some(&named.name) == context.as_ref())
            .and_then(|named| named.context.as_ref()?.namespace.clone())
            .unwrap_or_else(|| "default".into())
    }
}

pub(super) async fn connect(options: &ConnectOptions) -> Result<Cluster, ConnectError> {
    let kubeconfig = options.kubeconfig()?;
    let selected = KubeConfigOptions {
        context: options.context.clone(),
        cluster: options.cluster.clone(),
        user: options.user.clone(),
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &selected)
        .await
        .map_err(ConnectError::Config)?;
    if let Some(user) = &options.as_user {
        config.auth_info.impersonate = Some(user.clone());
    }
    if !options.as_groups.is_empty() {
        config.auth_info.impersonate_groups = Some(options.as_groups.clone());
    }
    if let Some(timeout) = options.request_timeout {
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout);
        config.write_timeout = Some(timeout);
    }
    let namespace = options
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    names::check_namespace(&namespace)?;
    let client = kube::Client::try_from(config).map_err(ConnectError::Client)?;
    Ok(Cluster { client, namespace })
}
