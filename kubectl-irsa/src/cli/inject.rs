//! `inject`: the webhook's additions, applied to manifests.

use std::path::PathBuf;

use clap::Args;
use irsa_sts::RoleArn;

use super::{KubeFlags, PrefixArg};

#[derive(Debug, Args)]
#[command(after_help = INJECT_EXAMPLES)]
pub struct InjectArgs {
    /// Manifests to read: a file, a directory (its .yaml, .yml and .json files), or - for stdin.
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true)]
    pub filenames: Vec<PathBuf>,

    /// The role for every pod [default: the role of the ServiceAccount each pod runs as].
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<RoleArn>,

    /// AWS_REGION and AWS_DEFAULT_REGION in containers that set neither, as the webhook adds
    /// them when it runs with a region (as on EKS: the cluster's) [default: the
    /// --aws-default-region of a webhook run in the cluster, when inject reads it there].
    #[arg(long)]
    pub region: Option<String>,

    /// ServiceAccount manifests to read roles from, instead of the cluster (works offline).
    #[arg(long = "service-account-file", value_name = "PATH")]
    pub service_account_files: Vec<PathBuf>,

    /// Also point the AWS config at irsa-credential-process (the image must contain it, at
    /// --helper-path).
    #[arg(long, conflicts_with = "serve")]
    pub credential_process: bool,

    /// Serve the credentials from a native sidecar running this image (built from
    /// irsa-credential-process/Dockerfile; Kubernetes 1.29+), for images without a shell or
    /// SDKs without web identity. Only the sidecar mounts the token; the app gets
    /// AWS_CONTAINER_CREDENTIALS_FULL_URI.
    #[arg(long, value_name = "IMAGE")]
    pub serve: Option<String>,

    /// The sidecar's port on the pod's loopback.
    #[arg(long, default_value_t = 9121, value_name = "PORT", requires = "serve")]
    pub serve_port: u16,

    /// Take the Authorization token from key `token` of this Secret (in the pod's namespace)
    /// and give it to the app as AWS_CONTAINER_AUTHORIZATION_TOKEN, which every SDK with
    /// container credentials reads (those before late 2023 read no token file).
    #[arg(long, value_name = "SECRET", requires = "serve", value_parser = crate::names::secret)]
    pub serve_token_secret: Option<String>,

    /// Where the image has irsa-credential-process.
    #[arg(
        long,
        default_value = "/usr/local/bin/irsa-credential-process",
        value_name = "PATH"
    )]
    pub helper_path: String,

    #[command(flatten)]
    pub prefix: PrefixArg,

    // Roles come from the cluster unless --role-arn or --service-account-file is given; -n (or
    // the context's namespace) is the namespace of manifests that name none.
    #[command(flatten)]
    pub kube: KubeFlags,
}

const INJECT_EXAMPLES: &str = "\
Examples:
  # Inject the manifests of a directory, with roles from the cluster's ServiceAccounts, and apply them
  kubectl irsa inject -f deploy/ | kubectl apply -f -

  # Offline, in a GitOps pipeline: roles from ServiceAccount manifests
  kubectl irsa inject -f app.yaml --service-account-file serviceaccounts.yaml

  # Serve the credentials from a sidecar, for images without a shell
  kubectl irsa inject -f app.yaml --serve registry.example.com/irsa-credential-process:0.1.0";
