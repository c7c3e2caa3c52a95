//! The verbs that read and change bindings: bind, unbind, list, trust-policy.

use std::path::PathBuf;

use clap::Args;
use irsa_sts::{HumanDuration, Partition, RoleArn};

use super::{AwsArgs, KubeFlags, PrefixArg};
use crate::kube_api::DryRun;
use crate::names::{self, AccountId, Issuer};
use crate::output::ListFormat;

#[derive(Debug, Args)]
#[command(after_help = BIND_EXAMPLES)]
pub struct BindArgs {
    /// The ServiceAccount.
    #[arg(value_name = "SERVICEACCOUNT", value_parser = names::service_account)]
    pub name: String,

    /// The role ARN, such as arn:aws:iam::123456789012:role/app.
    #[arg(long, value_name = "ARN", required_unless_present = "role_name", conflicts_with_all = ["role_name", "account"])]
    pub role_arn: Option<RoleArn>,

    /// The role name, with --account instead of --role-arn.
    #[arg(long, value_name = "NAME", requires = "account")]
    pub role_name: Option<String>,

    /// The 12-digit account of --role-name.
    #[arg(long, value_name = "ID")]
    pub account: Option<AccountId>,

    /// The partition of --role-name: aws, aws-cn or aws-us-gov.
    #[arg(long, default_value = "aws", value_name = "PARTITION")]
    pub partition: Partition,

    /// Token audience annotation [the webhook's default: sts.amazonaws.com].
    #[arg(long, value_name = "AUDIENCE", value_parser = crate::binding::check_audience)]
    pub audience: Option<String>,

    /// Annotate sts-regional-endpoints=true so pods call their region's STS endpoint.
    #[arg(long)]
    pub sts_regional_endpoints: bool,

    /// Token lifetime annotation in seconds (the webhook raises values below 600).
    #[arg(long, value_name = "SECONDS")]
    pub token_expiration: Option<u32>,

    /// Refuse to create a missing ServiceAccount.
    #[arg(long)]
    pub no_create: bool,

    /// Replace a different role already bound.
    #[arg(long)]
    pub overwrite: bool,

    /// When the binding changes, restart the Deployments, StatefulSets and DaemonSets whose
    /// pods run as the ServiceAccount (as kubectl rollout restart), so they get the new role.
    #[arg(long)]
    pub restart: bool,

    /// The cluster's issuer URL [default: what the cluster serves at
    /// /.well-known/openid-configuration].
    #[arg(long, value_name = "URL")]
    pub issuer: Option<Issuer>,

    #[command(flatten)]
    pub trust: BindTrustArgs,

    #[command(flatten)]
    pub dry_run: DryRunArg,

    #[command(flatten)]
    pub prefix: PrefixArg,

    #[command(flatten)]
    pub kube: KubeFlags,
}

/// What bind does to the role in IAM.
#[derive(Debug, Args)]
pub struct BindTrustArgs {
    /// Add the ServiceAccount to the role's trust policy in IAM (merged, never replaced; the
    /// change is shown as a diff first).
    #[arg(long)]
    pub update_trust: bool,

    /// With --update-trust: create the role when it does not exist, trusting only this
    /// ServiceAccount, tagged managed-by=kubectl-irsa.
    #[arg(long, requires = "update_trust")]
    pub create_role: bool,

    /// A managed policy to attach to the role --create-role creates (repeatable).
    #[arg(long = "attach-policy-arn", value_name = "ARN", requires = "create_role", value_parser = policy_arn)]
    pub attach_policy_arns: Vec<String>,

    /// The permissions boundary of the role --create-role creates.
    #[arg(long, value_name = "ARN", requires = "create_role", value_parser = policy_arn)]
    pub permissions_boundary: Option<String>,

    /// The longest session of the role --create-role creates, in seconds (3600 to 43200).
    #[arg(long, value_name = "SECONDS", requires = "create_role", value_parser = clap::value_parser!(i32).range(3600..=43200))]
    pub max_session_duration: Option<i32>,

    /// The account's role trust policy quota in characters, when it was raised from IAM's
    /// default in Service Quotas (L-C07B4B0D).
    #[arg(long, value_name = "CHARS", default_value_t = crate::trust_policy::DEFAULT_QUOTA, requires = "update_trust")]
    pub trust_policy_quota: usize,

    /// After the change, prove it as whoami does (a token traded with STS), retrying while
    /// IAM propagates it.
    #[arg(long, requires = "update_trust")]
    pub verify: bool,

    /// How long --verify waits for IAM's change to reach STS, such as 90s or 2m.
    #[arg(long, default_value = "2m", value_name = "DURATION", value_parser = HumanDuration::positive, requires = "verify")]
    pub verify_timeout: HumanDuration,

    #[command(flatten)]
    pub aws: AwsArgs,
}

/// An IAM managed policy's ARN, such as arn:aws:iam::aws:policy/ReadOnlyAccess.
fn policy_arn(value: &str) -> Result<String, String> {
    let fields: Vec<&str> = value.splitn(6, ':').collect();
    match fields.as_slice() {
        [
            "arn",
            "aws" | "aws-cn" | "aws-us-gov",
            "iam",
            "",
            account,
            resource,
        ] if (*account == "aws"
            || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
            && resource.starts_with("policy/")
            && resource.len() > "policy/".len() =>
        {
            Ok(value.to_string())
        }
        _ => Err(format!(
            "{value:?} is not an IAM policy ARN: give arn:PARTITION:iam::ACCOUNT:policy/NAME (or ::aws:policy/NAME for an AWS managed policy)"
        )),
    }
}

/// kubectl's `--dry-run[=client|server]`.
#[derive(Debug, Args)]
pub struct DryRunArg {
    /// Must be none, client or server: client sends nothing, server lets the apiserver
    /// validate without persisting.
    #[arg(long = "dry-run", value_enum, default_value_t, num_args = 0..=1, default_missing_value = "client", require_equals = true)]
    pub mode: DryRun,
}

const BIND_EXAMPLES: &str = "\
Examples:
  # Bind (creating the ServiceAccount if needed) and print the trust policy the role needs
  kubectl irsa bind cart -n shop --role-arn arn:aws:iam::123456789012:role/cart

  # The same role by name, with regional STS endpoints and 1-hour tokens
  kubectl irsa bind cart -n shop --role-name cart --account 123456789012 --sts-regional-endpoints --token-expiration 3600

  # Move to another role and restart the workloads that use the ServiceAccount
  kubectl irsa bind cart -n shop --role-arn arn:aws:iam::123456789012:role/cart-v2 --overwrite --restart

  # Show what would change without changing it
  kubectl irsa bind cart -n shop --role-arn arn:aws:iam::123456789012:role/cart --dry-run=server

  # Also add shop/cart to the role's trust policy in IAM, and prove it works
  kubectl irsa bind cart -n shop --role-arn arn:aws:iam::123456789012:role/cart --update-trust --verify

  # Create the role, trusting shop/cart, with a managed policy; show the change first
  kubectl irsa bind cart -n shop --role-arn arn:aws:iam::123456789012:role/cart --update-trust --create-role --attach-policy-arn arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess --dry-run=client";

#[derive(Debug, Args)]
#[command(after_help = UNBIND_EXAMPLES)]
pub struct UnbindArgs {
    /// The ServiceAccount.
    #[arg(value_name = "SERVICEACCOUNT", value_parser = names::service_account)]
    pub name: String,

    /// Also remove the ServiceAccount from the role's trust policy in IAM (only its subject;
    /// other statements are kept).
    #[arg(long)]
    pub update_trust: bool,

    /// The role whose trust policy --update-trust changes [default: the ServiceAccount's
    /// role-arn annotation].
    #[arg(long, value_name = "ARN", requires = "update_trust")]
    pub role_arn: Option<RoleArn>,

    /// The cluster's issuer URL, for --update-trust [default: what the cluster serves at
    /// /.well-known/openid-configuration].
    #[arg(long, value_name = "URL", requires = "update_trust")]
    pub issuer: Option<Issuer>,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub dry_run: DryRunArg,

    #[command(flatten)]
    pub prefix: PrefixArg,

    #[command(flatten)]
    pub kube: KubeFlags,
}

const UNBIND_EXAMPLES: &str = "\
Examples:
  # Remove the role annotations from a ServiceAccount
  kubectl irsa unbind cart -n shop

  # See which annotations would go
  kubectl irsa unbind cart -n shop --dry-run

  # Also remove shop/cart from the role's trust policy in IAM
  kubectl irsa unbind cart -n shop --update-trust";

#[derive(Debug, Args)]
#[command(after_help = LIST_EXAMPLES)]
pub struct ListArgs {
    /// List across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: ListFormat,

    /// Leave out the header row of table output.
    #[arg(long)]
    pub no_headers: bool,

    /// ServiceAccounts per list request.
    #[arg(long, default_value_t = crate::kube_api::CHUNK_SIZE, hide = true)]
    pub chunk_size: u32,

    #[command(flatten)]
    pub prefix: PrefixArg,

    #[command(flatten)]
    pub kube: KubeFlags,
}

const LIST_EXAMPLES: &str = "\
Examples:
  # The bound ServiceAccounts of the current namespace
  kubectl irsa list

  # Of every namespace, with audience, STS endpoints, token lifetime and pods
  kubectl irsa list -A -o wide";

#[derive(Debug, Args)]
#[command(after_help = TRUST_POLICY_EXAMPLES)]
pub struct TrustPolicyArgs {
    /// A subject as NAMESPACE:NAME (repeatable); wildcards such as team-*:* use StringLike.
    #[arg(long = "service-account", value_name = "NS:NAME", required = true, value_parser = names::subject)]
    pub service_accounts: Vec<String>,

    /// A cluster's issuer URL (repeatable) [default: the current cluster's; then the cluster
    /// flags below are used].
    #[arg(long = "issuer", value_name = "URL")]
    pub issuers: Vec<Issuer>,

    /// The account that owns the OIDC providers [default: the account of --role-arn].
    #[arg(long, value_name = "ID")]
    pub account: Option<AccountId>,

    /// The role the policy is for; gives the account and partition.
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<RoleArn>,

    /// The partition, when only --account is given: aws, aws-cn or aws-us-gov.
    #[arg(long, default_value = "aws", value_name = "PARTITION")]
    pub partition: Partition,

    /// The token audience.
    #[arg(long, default_value = crate::binding::DEFAULT_AUDIENCE, value_parser = crate::binding::check_audience)]
    pub audience: String,

    /// An existing trust policy (or `aws iam get-role` output) to add to; - reads stdin.
    #[arg(long, value_name = "FILE")]
    pub merge: Option<PathBuf>,

    #[command(flatten)]
    pub kube: KubeFlags,
}

const TRUST_POLICY_EXAMPLES: &str = "\
Examples:
  # The trust policy for one ServiceAccount of the current cluster
  kubectl irsa trust-policy --service-account shop:cart --role-arn arn:aws:iam::123456789012:role/cart

  # Offline, for two clusters and every ServiceAccount of team-* namespaces
  kubectl irsa trust-policy --service-account 'team-*:*' --account 123456789012 --issuer https://oidc.eks.eu-west-1.amazonaws.com/id/ABC --issuer https://oidc.eks.us-east-1.amazonaws.com/id/DEF

  # Add a ServiceAccount to a role's existing trust policy
  aws iam get-role --role-name cart > role.json
  kubectl irsa trust-policy --merge role.json --service-account shop:cart --role-arn arn:aws:iam::123456789012:role/cart";
