//! Command line. Every flag overrides the environment variable named in its help.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Trades the pod's IRSA token (AWS_WEB_IDENTITY_TOKEN_FILE) for AWS credentials with STS
/// AssumeRoleWithWebIdentity, caches them, and prints them as `credential_process` JSON.
///
/// Name it in the AWS config: `credential_process = /usr/local/bin/irsa-credential-process`.
#[derive(Debug, Parser)]
#[command(name = "irsa-credential-process", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub options: Options,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command with the credentials in its environment (AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION).
    Exec {
        /// The command and its arguments, after `--`.
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "CMD"
        )]
        command: Vec<String>,
    },

    /// Serve the credentials to SDKs over HTTP on 127.0.0.1 and [::1], as the container
    /// credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI) and, with --imds, as instance
    /// metadata (IMDSv2). Refreshes in the background; prints the env lines to set.
    Serve(ServeArgs),

    /// Exit 0 when a `serve` on this port is ready: it accepts connections and has written its
    /// token file (which it does once it holds credentials). For a container's startupProbe.
    Probe(ProbeArgs),

    /// Keep a profile of a shared credentials file fresh: rewrite it atomically ahead of
    /// expiry, other profiles untouched.
    Update(UpdateArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 and [::1]; 0 picks a free one.
    #[arg(long, default_value_t = 9121)]
    pub port: u16,

    /// File with the token clients must send in the Authorization header: read if it exists,
    /// else a random one is written there (mode 0600) [env:
    /// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE; default: serve-token in the cache directory].
    #[arg(long, value_name = "PATH")]
    pub auth_token_file: Option<PathBuf>,

    /// Also serve the IMDSv2 contract (PUT /latest/api/token, then
    /// /latest/meta-data/iam/security-credentials/), for tools that only know instance
    /// metadata. Point them at it with AWS_EC2_METADATA_SERVICE_ENDPOINT. IMDS has no
    /// Authorization header: every process that reaches the loopback gets the credentials.
    #[arg(long)]
    pub imds: bool,
}

#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// The port `serve` listens on.
    #[arg(long, default_value_t = 9121)]
    pub port: u16,

    /// The token file `serve` writes [env: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE].
    #[arg(long, value_name = "PATH")]
    pub auth_token_file: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// The shared credentials file [env: AWS_SHARED_CREDENTIALS_FILE; default:
    /// ~/.aws/credentials].
    #[arg(long, value_name = "PATH")]
    pub credentials_file: Option<PathBuf>,

    /// The profile to write [env: AWS_PROFILE; default: default].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Write once and exit, instead of refreshing ahead of expiry until stopped.
    #[arg(long)]
    pub once: bool,
}

/// How the credentials are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The credential_process JSON object, on one line.
    #[default]
    Json,
    /// `export NAME='value'` lines for `eval`.
    Env,
}

#[derive(Debug, clap::Args)]
pub struct Options {
    /// Role to assume [env: AWS_ROLE_ARN].
    #[arg(long, global = true, value_name = "ARN")]
    pub role_arn: Option<String>,

    /// The projected ServiceAccount token, re-read on every STS call [env:
    /// AWS_WEB_IDENTITY_TOKEN_FILE].
    #[arg(long, global = true, value_name = "PATH")]
    pub token_file: Option<PathBuf>,

    /// Role session name, shown in CloudTrail [env: AWS_ROLE_SESSION_NAME; default: the
    /// hostname (the pod's name), else the token's ServiceAccount].
    #[arg(long, global = true, value_name = "NAME")]
    pub session_name: Option<String>,

    /// Region whose STS endpoint is called [env: AWS_REGION, AWS_DEFAULT_REGION; default: the
    /// role's partition's first region, such as us-east-1].
    #[arg(long, global = true)]
    pub region: Option<String>,

    /// STS endpoint URL [env: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL].
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Lifetime of the credentials, 900 to 43200 seconds (and at most the role's
    /// MaxSessionDuration).
    #[arg(long, global = true, default_value_t = 3600, value_name = "SECONDS")]
    pub duration_seconds: u32,

    /// Inline session policy: JSON, or file://PATH.
    #[arg(long, global = true, value_name = "JSON")]
    pub policy: Option<String>,

    /// Managed session policy ARN (repeatable).
    #[arg(long = "policy-arn", global = true, value_name = "ARN")]
    pub policy_arns: Vec<String>,

    /// Cache directory [env: IRSA_CACHE_DIR; default: $XDG_CACHE_HOME/irsa-credential-process,
    /// else ~/.cache/irsa-credential-process].
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Neither read nor write the cache: call STS every time.
    #[arg(long, global = true, conflicts_with = "cache_dir")]
    pub no_cache: bool,

    /// Refresh cached credentials this long before they expire, such as 20m or 1500s [default:
    /// 20m plus up to 2m of jitter, or half the duration when that is shorter]. Keep it above
    /// 15m: SDKs re-run the helper on every call once their credentials have less left.
    #[arg(long, global = true, value_name = "DURATION")]
    pub refresh_before: Option<String>,

    /// Extra CA certificates (PEM) to trust for STS, besides the embedded roots [env:
    /// AWS_CA_BUNDLE, SSL_CERT_FILE].
    #[arg(long, global = true, value_name = "PATH")]
    pub ca_bundle: Option<PathBuf>,

    /// Give up on STS after this long, retries included, such as 30s.
    #[arg(long, global = true, default_value = "30s", value_name = "DURATION")]
    pub timeout: String,

    /// Output form.
    #[arg(long, global = true, value_enum, default_value_t)]
    pub format: Format,

    /// Say on stderr what the helper does (cache hits, STS calls); never prints a secret.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn exec_takes_everything_after_the_separator() {
        let cli = Cli::try_parse_from([
            "x",
            "--no-cache",
            "exec",
            "--",
            "aws",
            "--debug",
            "s3",
            "ls",
        ])
        .unwrap();
        let Some(Command::Exec { command }) = cli.command else {
            panic!("exec expected");
        };
        assert_eq!(command, ["aws", "--debug", "s3", "ls"]);
        assert!(cli.options.no_cache);
    }
}
