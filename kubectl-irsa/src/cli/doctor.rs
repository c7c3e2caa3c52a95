//! `doctor`: which link of IRSA is broken.

use std::path::PathBuf;

use clap::Args;
use irsa_sts::HumanDuration;

use super::{KubeFlags, PrefixArg};
use crate::names;
use crate::output::ReportFormat;

#[derive(Debug, Args)]
#[command(after_help = DOCTOR_EXAMPLES)]
pub struct DoctorArgs {
    /// The ServiceAccount [default: every bound ServiceAccount of the namespace].
    #[arg(value_name = "SERVICEACCOUNT", value_parser = names::service_account)]
    pub name: Option<String>,

    /// Check the bound ServiceAccounts of all namespaces.
    #[arg(short = 'A', long, conflicts_with = "name")]
    pub all_namespaces: bool,

    /// Output format (text is coloured on a terminal unless NO_COLOR is set).
    #[arg(short, long, value_enum, default_value_t)]
    pub output: ReportFormat,

    /// Also look up the issuer's host and fetch the discovery document and JWKS from the issuer
    /// URL as IAM does, compare them with the cluster's, and print the thumbprint of the JWKS
    /// host (which IAM needs only for a private CA).
    #[arg(long)]
    pub check_public: bool,

    /// PEM certificates to trust besides the public roots for --check-public (a private CA).
    #[arg(long, value_name = "FILE", requires = "check_public")]
    pub ca_bundle: Option<PathBuf>,

    /// The role's trust policy (or `aws iam get-role` output) to evaluate against each
    /// ServiceAccount's token, as IAM would; - reads stdin.
    #[arg(long, value_name = "FILE")]
    pub trust_policy: Option<PathBuf>,

    /// Also trade each ServiceAccount's token with STS from this machine, as `whoami` does.
    #[arg(long)]
    pub assume: bool,

    /// The STS region for --assume [env: AWS_REGION, AWS_DEFAULT_REGION].
    #[arg(long, requires = "assume")]
    pub region: Option<String>,

    /// The STS endpoint for --assume [env: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL].
    #[arg(long, value_name = "URL", requires = "assume")]
    pub endpoint_url: Option<String>,

    /// Give up after this long, such as 90s or 5m: the whole check, every request and lookup
    /// included.
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = HumanDuration::positive)]
    pub timeout: HumanDuration,

    #[command(flatten)]
    pub prefix: PrefixArg,

    #[command(flatten)]
    pub kube: KubeFlags,
}

const DOCTOR_EXAMPLES: &str = "\
Examples:
  # Check every link for one ServiceAccount
  kubectl irsa doctor cart -n shop

  # Every bound ServiceAccount of the cluster, as JSON for CI
  kubectl irsa doctor -A -o json

  # Also what IAM sees: the public documents, the role's trust policy, and STS itself
  aws iam get-role --role-name cart > role.json
  kubectl irsa doctor cart -n shop --check-public --trust-policy role.json --assume";
