//! The command line, and the only place that knows clap: one struct per verb, kubectl's cluster
//! flags flattened into the verbs that talk to a cluster, values parsed into their types
//! (`RoleArn`, `Partition`, `HumanDuration`, validated names) where they enter, so a bad value is
//! a usage error naming the flag. Every verb's help ends with kubectl's `Examples:` section.

mod aws;
mod binding;
mod doctor;
mod identity;
mod inject;
mod kube;
mod oidc;
mod values;

pub use aws::AwsArgs;
pub use binding::{BindArgs, ListArgs, TrustPolicyArgs, UnbindArgs};
pub use doctor::DoctorArgs;
pub use identity::{ExecArgs, TestArgs, WhoamiArgs};
pub use inject::InjectArgs;
pub use kube::KubeFlags;
pub use oidc::{
    ApiserverConfigArgs, DocumentsArgs, KeygenArgs, OidcArgs, OidcCommand, ProviderArgs,
    ThumbprintArgs,
};

use clap::{Args, Parser, Subcommand};

/// Bind Kubernetes ServiceAccounts to AWS IAM roles (IRSA) and print the trust policies they need.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl irsa",
    bin_name = "kubectl irsa",
    version,
    max_term_width = 100,
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "\
Examples:
  # Bind a ServiceAccount to a role and print the trust policy the role needs
  kubectl irsa bind cart -n shop --role-arn arn:aws:iam::123456789012:role/cart

  # Prove it with a pod, then diagnose what is broken
  kubectl irsa test cart -n shop
  kubectl irsa doctor cart -n shop";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Annotate a ServiceAccount with an IAM role (creating it if needed) and print the trust
    /// policy that role needs.
    Bind(BindArgs),
    /// Remove the IRSA annotations from a ServiceAccount.
    Unbind(UnbindArgs),
    /// List the ServiceAccounts bound to a role.
    List(ListArgs),
    /// Print the trust policy that lets ServiceAccounts assume a role (offline with --issuer).
    TrustPolicy(TrustPolicyArgs),
    /// Prove a binding without a pod: request the ServiceAccount's token, trade it with STS from
    /// this machine, and print the identity.
    Whoami(WhoamiArgs),
    /// Run a local command with the credentials a pod of the ServiceAccount would get.
    Exec(ExecArgs),
    /// Start a short-lived pod as the ServiceAccount and report whether it gets the role.
    Test(TestArgs),
    /// Add what the pod identity webhook would add to the pods of manifests (for clusters
    /// without the webhook, and GitOps pipelines).
    Inject(InjectArgs),
    /// Check every link of IRSA that can be reached and say what to fix.
    Doctor(DoctorArgs),
    /// Run your own issuer: publish its OIDC documents, create the IAM provider, configure the
    /// apiserver and its signing keys.
    Oidc(OidcArgs),
    /// Print the version, commit and build target.
    #[command(after_help = "Examples:\n  kubectl irsa version")]
    Version,
    /// Print a shell completion script for typing kubectl-irsa directly.
    #[command(after_help = COMPLETION_EXAMPLES)]
    Completion {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Answer kubectl's plugin completion (run by the kubectl_complete-irsa script).
    #[command(name = "__complete", hide = true)]
    Complete {
        /// The words after `kubectl irsa`, the last one being completed.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        words: Vec<String>,
    },
}

const COMPLETION_EXAMPLES: &str = "\
Examples:
  # Load completion for kubectl-irsa in the current bash session
  source <(kubectl irsa completion bash)

  # Install it for zsh (kubectl irsa <TAB> needs kubectl_complete-irsa on PATH instead)
  kubectl irsa completion zsh > \"${fpath[1]}/_kubectl-irsa\"";

/// The annotations this tool manages share this prefix.
#[derive(Clone, Debug, Args)]
pub struct PrefixArg {
    /// Annotation prefix the pod identity webhook watches [default: the --annotation-prefix of
    /// the webhook's Deployment where it runs in the cluster and can be read, else
    /// eks.amazonaws.com, as on EKS and OpenShift].
    #[arg(long, value_name = "PREFIX")]
    pub annotation_prefix: Option<String>,
}

impl PrefixArg {
    /// The prefix given on the command line.
    pub fn given(&self) -> Option<&str> {
        self.annotation_prefix.as_deref()
    }
}

/// A usage error in one line: clap's first line without its `error: `, with the lines it
/// indents below it (the missing arguments); the usage block and tips are dropped.
pub fn usage_line(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let mut line = first
        .strip_prefix("error: ")
        .unwrap_or(first)
        .trim()
        .to_string();
    for more in lines.take_while(|more| !more.trim().is_empty()) {
        line.push(' ');
        line.push_str(more.trim());
    }
    line
}

#[cfg(test)]
mod tests;
