//! A client built from kubectl's settings, resolved once by the command line into
//! [`ConnectOptions`] (no clap type reaches here).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};

use super::Cluster;
use super::exec_plugin::{self, ExecError};
use super::transport::{LimitLayer, Limits};
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

/// Why no client could be built; each names the file or flag to fix, in one line.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot read {}: {detail}", origin.name(path))]
    Kubeconfig {
        origin: Origin,
        path: PathBuf,
        detail: String,
    },
    /// Neither `--kubeconfig` nor `KUBECONFIG`, and no `~/.kube/config`.
    #[error("cannot find a kubeconfig: {0}; set KUBECONFIG or pass --kubeconfig")]
    NoKubeconfig(String),
    #[error("cannot use the kubeconfig: {}; check --context, --cluster and --user", first_line(.0))]
    Config(#[source] kube::config::KubeconfigError),
    /// A file the kubeconfig names (a CA, a client certificate or key, a token file).
    #[error("cannot read the {field} {} of {owner} in the kubeconfig: {detail}", path.display())]
    File {
        field: &'static str,
        owner: String,
        path: PathBuf,
        detail: String,
    },
    #[error(transparent)]
    Namespace(#[from] NameError),
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error("cannot build a client for the cluster: {0}")]
    Client(#[source] kube::Error),
}

/// Where a kubeconfig file was named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Flag,
    Env,
    Home,
}

impl Origin {
    /// The file, and who named it.
    fn name(self, path: &Path) -> String {
        match self {
            Origin::Flag => format!("--kubeconfig {}", path.display()),
            Origin::Env => format!("{} (named by KUBECONFIG)", path.display()),
            Origin::Home => format!("the kubeconfig {}", path.display()),
        }
    }
}

/// The most a kubeconfig file may hold: a large one with many embedded certificates is < 1 MB.
const KUBECONFIG_CAP: u64 = 16 << 20;

/// The first line of a message (YAML errors quote the document below it).
fn first_line(error: &impl std::fmt::Display) -> String {
    let text = error.to_string();
    let line = text.lines().next().unwrap_or_default().trim();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

/// One kubeconfig file, checked first to be a regular file of sane size (a FIFO would block,
/// `/dev/zero` would fill memory), then read by kube (which resolves its relative paths).
fn read_one(path: &Path, origin: Origin) -> Result<Kubeconfig, ConnectError> {
    let fail = |detail: String| ConnectError::Kubeconfig {
        origin,
        path: path.to_path_buf(),
        detail,
    };
    irsa_sts::file::read_regular(path, KUBECONFIG_CAP).map_err(|e| fail(e.to_string()))?;
    Kubeconfig::read_from(path).map_err(|error| match error {
        KubeconfigError::Parse(parse) => fail(format!("not a kubeconfig: {}", first_line(&parse))),
        other => fail(first_line(&other)),
    })
}

/// The kubeconfig kubectl would read: `--kubeconfig`, else the files of `KUBECONFIG` merged,
/// else `~/.kube/config`.
fn read_kubeconfig(given: Option<&Path>) -> Result<Kubeconfig, ConnectError> {
    if let Some(path) = given {
        return read_one(path, Origin::Flag);
    }
    let listed: Vec<PathBuf> = std::env::var_os("KUBECONFIG")
        .map(|value| std::env::split_paths(&value).collect())
        .unwrap_or_default();
    let listed: Vec<PathBuf> = listed
        .into_iter()
        .filter(|path| !path.as_os_str().is_empty())
        .collect();
    if listed.is_empty() {
        let home = std::env::var_os("HOME")
            .ok_or_else(|| ConnectError::NoKubeconfig("HOME is not set".into()))?;
        let path = Path::new(&home).join(".kube/config");
        if !path.exists() {
            return Err(ConnectError::NoKubeconfig(format!(
                "{} does not exist",
                path.display()
            )));
        }
        return read_one(&path, Origin::Home);
    }
    // client-go skips the files of KUBECONFIG that do not exist (clientcmd/loader.go, Load).
    let present: Vec<&PathBuf> = listed.iter().filter(|path| path.exists()).collect();
    if present.is_empty() {
        let names: Vec<String> = listed.iter().map(|p| p.display().to_string()).collect();
        return Err(ConnectError::NoKubeconfig(format!(
            "KUBECONFIG names only missing files ({})",
            names.join(", ")
        )));
    }
    let mut merged = Kubeconfig::default();
    for path in present {
        let next = read_one(path, Origin::Env)?;
        merged = merged.merge(next).map_err(ConnectError::Config)?;
    }
    Ok(merged)
}

impl ConnectOptions {
    /// The kubeconfig these options name.
    fn kubeconfig(&self) -> Result<Kubeconfig, ConnectError> {
        read_kubeconfig(self.kubeconfig.as_deref())
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
    check_files(&kubeconfig, &selected)?;
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &selected)
        .await
        .map_err(ConnectError::Config)?;
    if let Some(user) = &options.as_user {
        config.auth_info.impersonate = Some(user.clone());
    }
    if !options.as_groups.is_empty() {
        config.auth_info.impersonate_groups = Some(options.as_groups.clone());
    }
    let exec_timeout = options.request_timeout.unwrap_or(exec_plugin::EXEC_TIMEOUT);
    exec_plugin::resolve(&mut config.auth_info, exec_timeout).await?;
    let namespace = options
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    names::check_namespace(&namespace)?;
    let client = client(config, options.request_timeout)?;
    Ok(Cluster { client, namespace })
}

/// The most a file the kubeconfig names may hold: a CA bundle of many certificates is < 1 MB.
const FILE_CAP: u64 = 4 << 20;

/// The files that the selected cluster and user name, checked to be regular files of sane size
/// before kube reads them whole (a FIFO would block it, `/dev/zero` would fill memory).
fn check_files(kubeconfig: &Kubeconfig, selected: &KubeConfigOptions) -> Result<(), ConnectError> {
    let context_name = selected
        .context
        .as_ref()
        .or(kubeconfig.current_context.as_ref());
    let context = kubeconfig
        .contexts
        .iter()
        .find(|named| Some(&named.name) == context_name)
        .and_then(|named| named.context.as_ref());
    let cluster_name = selected.cluster.as_ref().or(context.map(|c| &c.cluster));
    let user_name = selected
        .user
        .as_ref()
        .or(context.and_then(|c| c.user.as_ref()));
    let cluster = kubeconfig
        .clusters
        .iter()
        .find(|named| Some(&named.name) == cluster_name);
    let user = kubeconfig
        .auth_infos
        .iter()
        .find(|named| Some(&named.name) == user_name);
    let mut files = Vec::new();
    if let Some(named) = cluster {
        let owner = format!("cluster {}", named.name);
        let ca = named
            .cluster
            .as_ref()
            .and_then(|c| c.certificate_authority.clone());
        files.extend(ca.map(|path| ("certificate-authority", owner, path)));
    }
    if let Some(named) = user {
        let info = named.auth_info.as_ref();
        let owner = || format!("user {}", named.name);
        let fields = [
            (
                "client-certificate",
                info.and_then(|i| i.client_certificate.clone()),
            ),
            ("client-key", info.and_then(|i| i.client_key.clone())),
            ("tokenFile", info.and_then(|i| i.token_file.clone())),
        ];
        files.extend(
            fields
                .into_iter()
                .filter_map(|(f, p)| Some((f, owner(), p?))),
        );
    }
    for (field, owner, path) in files {
        let path = PathBuf::from(path);
        irsa_sts::file::read_regular(&path, FILE_CAP).map_err(|e| ConnectError::File {
            field,
            owner,
            path: path.clone(),
            detail: e.to_string(),
        })?;
    }
    Ok(())
}

/// kube's client with its retries replaced by [`LimitLayer`]'s: kubectl's rules, and a bound.
fn client(
    mut config: kube::Config,
    timeout: Option<Duration>,
) -> Result<kube::Client, ConnectError> {
    let url = &config.cluster_url;
    let port = url.port_u16().unwrap_or(match url.scheme_str() {
        Some("http") => 80,
        _ => 443,
    });
    let server = format!("{}:{port}", url.host().unwrap_or_default());
    config.default_retry = false;
    let connect_timeout = config.connect_timeout;
    if timeout.is_some() {
        // The layer's deadline covers the whole call; these would only race it.
        config.connect_timeout = None;
        config.read_timeout = None;
        config.write_timeout = None;
    }
    let limits = Limits {
        server,
        timeout,
        connect_timeout: timeout.map_or(connect_timeout, |_| None),
    };
    let builder = ClientBuilder::try_from(config).map_err(ConnectError::Client)?;
    Ok(builder.with_layer(&LimitLayer(Arc::new(limits))).build())
}
