//! kubectl's cluster flags, with kubectl's names and meanings, resolved once into the
//! [`ConnectOptions`] that cluster access takes.

use std::path::PathBuf;

use clap::Args;
use irsa_sts::HumanDuration;

use crate::kube_api::ConnectOptions;
use crate::names;

#[derive(Clone, Debug, Default, Args)]
#[command(next_help_heading = "Cluster flags (as kubectl's)")]
pub struct KubeFlags {
    /// Path to the kubeconfig file [default: KUBECONFIG (merged), else ~/.kube/config].
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// The kubeconfig cluster to use.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,

    /// The kubeconfig user to use.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// The namespace [default: the context's namespace, else default].
    #[arg(short, long, value_name = "NS", value_parser = names::namespace)]
    pub namespace: Option<String>,

    /// Username to impersonate for the operation.
    #[arg(long = "as", value_name = "USER")]
    pub as_user: Option<String>,

    /// Group to impersonate for the operation (repeatable).
    #[arg(long = "as-group", value_name = "GROUP")]
    pub as_groups: Vec<String>,

    /// How long to wait for one server request (its retries and its whole answer included)
    /// and for the kubeconfig's exec credential plugin, such as 30s or 1m; 0 waits forever (the
    /// plugin 2m).
    #[arg(long, value_name = "DURATION")]
    pub request_timeout: Option<HumanDuration>,
}

impl KubeFlags {
    pub fn options(&self) -> ConnectOptions {
        ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            cluster: self.cluster.clone(),
            user: self.user.clone(),
            namespace: self.namespace.clone(),
            as_user: self.as_user.clone(),
            as_groups: self.as_groups.clone(),
            request_timeout: self
                .request_timeout
                .filter(|timeout| !timeout.is_zero())
                .map(HumanDuration::get),
        }
    }
}
