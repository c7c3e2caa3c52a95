//! Command line: kubectl's global flags, flattened into every verb, and one struct per verb.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Bind Kubernetes ServiceAccounts to AWS IAM roles (IRSA) and print the trust policies they need.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl irsa",
    bin_name = "kubectl irsa",
    version,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub kube: KubeFlags,

    #[command(subcommand)]
    pub command: Command,
}

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
    Doctor(crate::cmd::doctor::DoctorArgs),
    /// Print the version, commit and build target.
    Version,
    /// Answer kubectl's plugin completion (run by the kubectl_complete-irsa script).
    #[command(name = "__complete", hide = true)]
    Complete {
        /// The words after `kubectl irsa`, the last one being completed.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        words: Vec<String>,
    },
    /// Print a shell completion script (bash, zsh or fish).
    Completion {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Run your own issuer: publish its OIDC documents, create the IAM provider, configure the
    /// apiserver and its signing keys.
    Oidc(crate::cmd::oidc::OidcArgs),
}

#[derive(Debug, Args)]
pub struct InjectArgs {
    /// Manifests to read: a file, a directory (its .yaml, .yml and .json files), or - for stdin.
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true)]
    pub filenames: Vec<PathBuf>,

    /// The role for every pod [default: the role of the ServiceAccount each pod runs as].
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,

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

    /// Where the image has irsa-credential-process.
    #[arg(
        long,
        default_value = "/usr/local/bin/irsa-credential-process",
        value_name = "PATH"
    )]
    pub helper_path: String,

    #[command(flatten)]
    pub prefix: PrefixArg,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// The ServiceAccount.
    #[arg(value_name = "SERVICEACCOUNT")]
    pub name: String,

    /// The image to run; its default command is `aws sts get-caller-identity`.
    #[arg(long, default_value = "public.ecr.aws/aws-cli/aws-cli:latest")]
    pub image: String,

    /// Add the token volume and env to the pod yourself, for clusters without the webhook.
    #[arg(long)]
    pub inject: bool,

    /// Leave the pod in place afterwards.
    #[arg(long)]
    pub keep: bool,

    /// Give up after this long, such as 90s or 5m.
    #[arg(long, default_value = "5m")]
    pub timeout: String,

    /// AWS_DEFAULT_REGION in the pod [default: the role's partition's first region].
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
}

/// How to reach STS, as the SDKs are told (flags win over the environment).
#[derive(Debug, Args)]
pub struct StsArgs {
    /// The role to assume [default: the ServiceAccount's role-arn annotation].
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,

    /// The STS region [env: AWS_REGION, AWS_DEFAULT_REGION].
    #[arg(long)]
    pub region: Option<String>,

    /// The STS endpoint [env: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL].
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    #[command(flatten)]
    pub prefix: PrefixArg,
}

/// Output formats for `whoami`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum IdentityFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct WhoamiArgs {
    /// The ServiceAccount.
    #[arg(value_name = "SERVICEACCOUNT")]
    pub name: String,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: IdentityFormat,

    #[command(flatten)]
    pub sts: StsArgs,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The ServiceAccount.
    #[arg(value_name = "SERVICEACCOUNT")]
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
}

/// kubectl's global flags, with kubectl's names and meanings.
#[derive(Clone, Debug, Default, Args)]
#[command(next_help_heading = "Cluster flags (as kubectl's)")]
pub struct KubeFlags {
    /// Path to the kubeconfig file [default: KUBECONFIG (merged), else ~/.kube/config].
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// The kubeconfig cluster to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub cluster: Option<String>,

    /// The kubeconfig user to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub user: Option<String>,

    /// The namespace [default: the context's namespace, else default].
    #[arg(short, long, global = true, value_name = "NS")]
    pub namespace: Option<String>,

    /// Username to impersonate for the operation.
    #[arg(long = "as", global = true, value_name = "USER")]
    pub as_user: Option<String>,

    /// Group to impersonate for the operation (repeatable).
    #[arg(long = "as-group", global = true, value_name = "GROUP")]
    pub as_groups: Vec<String>,

    /// How long to wait for one server request, such as 30s or 1m; 0 waits forever.
    #[arg(long, global = true, value_name = "DURATION")]
    pub request_timeout: Option<String>,
}

/// kubectl's --dry-run values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    /// Send the change.
    #[default]
    None,
    /// Print what would be sent; send nothing that writes.
    Client,
    /// Let the server validate the change without persisting it.
    Server,
}

/// Output formats for commands that print objects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    #[default]
    Table,
    Wide,
    Json,
    Yaml,
    Name,
}

/// The annotations this tool manages share this prefix.
#[derive(Clone, Debug, Args)]
pub struct PrefixArg {
    /// Annotation prefix the pod identity webhook watches (OpenShift setups use
    /// sts.amazonaws.com).
    #[arg(long, default_value = "eks.amazonaws.com", value_name = "PREFIX")]
    pub annotation_prefix: String,
}

#[derive(Debug, Args)]
pub struct BindArgs {
    /// The ServiceAccount.
    #[arg(value_name = "SERVICEACCOUNT")]
    pub name: String,

    /// The role ARN, such as arn:aws:iam::123456789012:role/app.
    #[arg(long, value_name = "ARN", required_unless_present = "role_name", conflicts_with_all = ["role_name", "account"])]
    pub role_arn: Option<String>,

    /// The role name, with --account instead of --role-arn.
    #[arg(long, value_name = "NAME", requires = "account")]
    pub role_name: Option<String>,

    /// The 12-digit account of --role-name.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,

    /// The partition of --role-name.
    #[arg(long, default_value = "aws", value_parser = ["aws", "aws-cn", "aws-us-gov"])]
    pub partition: String,

    /// Token audience annotation [the webhook's default: sts.amazonaws.com].
    #[arg(long, value_name = "AUDIENCE")]
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

    /// The cluster's issuer URL [default: what the cluster serves at
    /// /.well-known/openid-configuration].
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,

    #[arg(long, value_enum, default_value_t, num_args = 0..=1, default_missing_value = "client", require_equals = true)]
    pub dry_run: DryRun,

    #[command(flatten)]
    pub prefix: PrefixArg,
}

#[derive(Debug, Args)]
pub struct UnbindArgs {
    /// The ServiceAccount.
    #[arg(value_name = "SERVICEACCOUNT")]
    pub name: String,

    #[arg(long, value_enum, default_value_t, num_args = 0..=1, default_missing_value = "client", require_equals = true)]
    pub dry_run: DryRun,

    #[command(flatten)]
    pub prefix: PrefixArg,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// List across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,

    /// Leave out the header row of table output.
    #[arg(long)]
    pub no_headers: bool,

    /// ServiceAccounts per list request.
    #[arg(long, default_value_t = 500, hide = true)]
    pub chunk_size: u32,

    #[command(flatten)]
    pub prefix: PrefixArg,
}

#[derive(Debug, Args)]
pub struct TrustPolicyArgs {
    /// A subject as NAMESPACE:NAME (repeatable); wildcards such as team-*:* use StringLike.
    #[arg(long = "service-account", value_name = "NS:NAME", required = true)]
    pub service_accounts: Vec<String>,

    /// A cluster's issuer URL (repeatable) [default: the current cluster's].
    #[arg(long = "issuer", value_name = "URL")]
    pub issuers: Vec<String>,

    /// The account that owns the OIDC providers [default: the account of --role-arn].
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,

    /// The role the policy is for; gives the account and partition.
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,

    /// The partition, when only --account is given.
    #[arg(long, default_value = "aws", value_parser = ["aws", "aws-cn", "aws-us-gov"])]
    pub partition: String,

    /// The token audience.
    #[arg(long, default_value = "sts.amazonaws.com")]
    pub audience: String,

    /// An existing trust policy (or `aws iam get-role` output) to add to; - reads stdin.
    #[arg(long, value_name = "FILE")]
    pub merge: Option<PathBuf>,
}
