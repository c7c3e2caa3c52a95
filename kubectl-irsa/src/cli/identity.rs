//! The verbs that prove a binding: whoami and exec (a token traded from this machine) and test
//! (a real pod).

use clap::Args;
use irsa_sts::{HumanDuration, RoleArn};

use super::{KubeFlags, PrefixArg};
use crate::binding::Keys;
use crate::identity::IdentityOptions;
use crate::names;
use crate::output::ReportFormat;

/// How to reach STS, as the SDKs are told (flags win over the environment).
#[derive(Debug, Args)]
pub struct StsArgs {
    /// The role to assume [default: the ServiceAccount's role-arn annotation].
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<RoleArn>,

    /// The STS region [env: AWS_REGION, AWS_DEFAULT_REGION].
    #[arg(long)]
    pub region: Option<String>,

    /// The STS endpoint [env: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL].
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    #[command(flatten)]
    pub prefix: PrefixArg,
}

impl StsArgs {
    /// The options, with the annotation keys resolved for the cluster.
    pub fn identity_options(&self, keys: Keys) -> IdentityOptions<'_> {
        IdentityOptions {
            role_arn: self.role_arn.as_ref(),
            keys,
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}

#[derive(Debug, Args)]
#[command(after_help = WHOAMI_EXAMPLES)]
pub struct WhoamiArgs {
    /// The ServiceAccount.
    #[arg(value_name = "SERVICEACCOUNT", value_parser = names::service_account)]
    pub name: String,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: ReportFormat,

    #[command(flatten)]
    pub sts: StsArgs,

    #[command(flatten)]
    pub kube: KubeFlags,
}

const WHOAMI_EXAMPLES: &str = "\
Examples:
  # The role a pod of shop/cart gets, proven with a fresh token and STS
  kubectl irsa whoami cart -n shop

  # As JSON, against a regional endpoint
  kubectl irsa whoami cart -n shop --region eu-west-1 -o json";

#[derive(Debug, Args)]
#[command(after_help = EXEC_EXAMPLES)]
pub struct ExecArgs {
    /// The ServiceAccount.
    #[arg(value_name = "SERVICEACCOUNT", value_parser = names::service_account)]
    pub name: String,

    /// Print `export` lines for `eval` instead of running a command.
    #[arg(long, conflicts_with = "command")]
    pub export: bool,

    /// The command and its arguments, after `--`.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD",
        required_unless_present = "export"
    )]
    pub command: Vec<String>,

    #[command(flatten)]
    pub sts: StsArgs,

    #[command(flatten)]
    pub kube: KubeFlags,
}

const EXEC_EXAMPLES: &str = "\
Examples:
  # List the buckets shop/cart's role can see, from this machine
  kubectl irsa exec cart -n shop -- aws s3 ls

  # Put the credentials in this shell
  eval \"$(kubectl irsa exec cart -n shop --export)\"";

#[derive(Debug, Args)]
#[command(after_help = TEST_EXAMPLES)]
pub struct TestArgs {
    /// The ServiceAccount.
    #[arg(value_name = "SERVICEACCOUNT", value_parser = names::service_account)]
    pub name: String,

    /// The image to run; its default command is `aws sts get-caller-identity`.
    #[arg(long, default_value = crate::test_pod::DEFAULT_IMAGE)]
    pub image: String,

    /// A Secret to pull the image with (repeatable), for a private registry or mirror.
    #[arg(long = "image-pull-secret", value_name = "NAME", value_parser = names::service_account)]
    pub image_pull_secrets: Vec<String>,

    /// JSON merged into the generated pod (a JSON merge patch, as kubectl run --overrides),
    /// for what a platform requires: tolerations, node selectors, another user, more memory.
    #[arg(long, value_name = "JSON", value_parser = parse_overrides)]
    pub overrides: Option<serde_json::Value>,

    /// Add the token volume and env to the pod yourself, for clusters without the webhook.
    #[arg(long)]
    pub inject: bool,

    /// Leave the pod in place afterwards.
    #[arg(long)]
    pub keep: bool,

    /// Give up after this long, such as 90s or 5m.
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = HumanDuration::positive)]
    pub timeout: HumanDuration,

    /// AWS_REGION and AWS_DEFAULT_REGION in the pod [default: the webhook's region, else the
    /// role's partition's first region].
    #[arg(long)]
    pub region: Option<String>,

    /// A command to run instead, after `--` (such as aws s3 ls).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub command: Vec<String>,

    #[command(flatten)]
    pub prefix: PrefixArg,

    #[command(flatten)]
    pub kube: KubeFlags,
}

/// `--overrides`: a JSON object.
fn parse_overrides(text: &str) -> Result<serde_json::Value, String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) if value.is_object() => Ok(value),
        Ok(_) => Err("give a JSON object, such as '{\"spec\":{\"tolerations\":[...]}}'".into()),
        Err(e) => Err(format!(
            "not JSON ({e}): give a JSON object to merge into the pod"
        )),
    }
}

const TEST_EXAMPLES: &str = "\
Examples:
  # Run aws sts get-caller-identity in a pod as shop/cart and judge the answer
  kubectl irsa test cart -n shop

  # On a cluster without the pod identity webhook
  kubectl irsa test cart -n shop --inject

  # Any command, in any image that has it
  kubectl irsa test cart -n shop --timeout 2m -- aws s3 ls s3://shop-assets

  # On nodes that need a toleration
  kubectl irsa test cart -n shop --overrides '{\"spec\":{\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Exists\"}]}}'";
