//! Command line: every clap type, and nothing else. Each mode takes only the flags it uses: the
//! STS and cache options ([`StsOptions`]) are flattened into the default mode and into `exec`,
//! `serve` and `update`, never made global, so `probe --help` shows only what a probe reads.
//! Flags go after the mode (`irsa-credential-process serve --port 9121`); a flag before it is a
//! usage error rather than a flag silently ignored. Values with a type (role ARN, durations) are
//! parsed here, so a bad one is a usage error that names the flag. Every flag overrides the
//! environment variable named in its help.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use irsa_sts::{HumanDuration, RoleArn};

const EXAMPLES: &str = "\
Examples:
  # Print credentials as credential_process JSON (the pod's environment names the role)
  irsa-credential-process

  # Ask for 12-hour credentials and say on stderr what happens (cache hit, STS call)
  irsa-credential-process --duration-seconds 43200 --verbose

  # Print export lines instead, for eval in a shell
  irsa-credential-process --format env

  # Run a command with the credentials in its environment
  irsa-credential-process exec -- aws sts get-caller-identity";

const EXEC_EXAMPLES: &str = "\
Examples:
  # Run the AWS CLI with the credentials in its environment
  irsa-credential-process exec -- aws s3 ls

  # Any program, with 15-minute credentials fetched without the cache
  irsa-credential-process exec --duration-seconds 900 --no-cache -- env";

const SERVE_EXAMPLES: &str = "\
Examples:
  # Serve on the default port 9121; stdout says which variables the app needs
  irsa-credential-process serve --auth-token-file /var/run/irsa/auth-token

  # Pick a free port and also answer IMDSv2, for tools that only know instance metadata
  irsa-credential-process serve --port 0 --imds --auth-token-file /var/run/irsa/auth-token

  # Refresh 30 minutes ahead of expiry, logging every request
  irsa-credential-process serve --refresh-before 30m --verbose";

const PROBE_EXAMPLES: &str = "\
Examples:
  # Exit 0 once the serve on port 9121 hands out credentials (a startupProbe's command)
  irsa-credential-process probe --port 9121 --auth-token-file /var/run/irsa/auth-token";

const UPDATE_EXAMPLES: &str = "\
Examples:
  # Write the default profile of ~/.aws/credentials once, and exit
  irsa-credential-process update --once

  # Keep profile app of this file fresh until stopped (SIGTERM or Ctrl-C)
  irsa-credential-process update --credentials-file /home/app/.aws/credentials --profile app";

/// Trades the pod's IRSA token (AWS_WEB_IDENTITY_TOKEN_FILE) for AWS credentials with STS
/// AssumeRoleWithWebIdentity, caches them, and prints them as `credential_process` JSON.
///
/// Name it in the AWS config: `credential_process = /usr/local/bin/irsa-credential-process`.
/// The modes below take their flags after the mode's name.
#[derive(Debug, Parser)]
#[command(
    name = "irsa-credential-process",
    version,
    max_term_width = 100,
    args_conflicts_with_subcommands = true,
    after_help = EXAMPLES
)]
pub struct Cli {
    /// Output form.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,

    // After every flag of this command's own: the heading it sets carries over.
    #[command(flatten)]
    pub options: StsOptions,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command with the credentials in its environment (AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION).
    #[command(after_help = EXEC_EXAMPLES)]
    Exec(ExecArgs),

    /// Serve the credentials to SDKs over HTTP on 127.0.0.1 and [::1], as the container
    /// credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI) and, with --imds, as instance
    /// metadata (IMDSv2). Refreshes in the background; prints the env lines to set.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),

    /// Exit 0 when a `serve` on this port is ready: it accepts connections and has written its
    /// token file (which it does once it holds credentials). For a container's startupProbe.
    #[command(after_help = PROBE_EXAMPLES)]
    Probe(ProbeArgs),

    /// Keep a profile of a shared credentials file fresh: rewrite it atomically ahead of
    /// expiry, other profiles untouched.
    #[command(after_help = UPDATE_EXAMPLES)]
    Update(UpdateArgs),
}

#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub options: StsOptions,

    /// The command and its arguments, after `--`. A mistyped flag before it is an error, not
    /// the command.
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 and [::1]; 0 picks a free one.
    #[arg(long, default_value_t = 9121)]
    pub port: u16,

    /// File with the token clients must send in the Authorization header: read if it exists
    /// (a regular file of this user's or root's, writable by no one else, holding at least 32
    /// characters), else a random one is written there (mode 0600) [env:
    /// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE; default: serve-token in the cache directory].
    #[arg(long, value_name = "PATH")]
    pub auth_token_file: Option<PathBuf>,

    /// Also serve the IMDSv2 contract (PUT /latest/api/token, then
    /// /latest/meta-data/iam/security-credentials/), for tools that only know instance
    /// metadata. Point them at it with AWS_EC2_METADATA_SERVICE_ENDPOINT. IMDS has no
    /// Authorization header: every process that reaches the loopback gets the credentials.
    #[arg(long)]
    pub imds: bool,

    #[command(flatten)]
    pub options: StsOptions,
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
    /// The shared credentials file: a regular file (a symlink is followed, not replaced), whose
    /// owner and mode are kept [env: AWS_SHARED_CREDENTIALS_FILE; default: ~/.aws/credentials].
    #[arg(long, value_name = "PATH")]
    pub credentials_file: Option<PathBuf>,

    /// The profile to write [env: AWS_PROFILE; default: default].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Write once and exit, instead of refreshing ahead of expiry until stopped.
    #[arg(long)]
    pub once: bool,

    #[command(flatten)]
    pub options: StsOptions,
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

/// What every mode that obtains credentials reads: the role, the token, STS and the cache.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "STS and cache options")]
pub struct StsOptions {
    /// Role to assume [env: AWS_ROLE_ARN].
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<RoleArn>,

    /// The projected ServiceAccount token, re-read on every STS call [env:
    /// AWS_WEB_IDENTITY_TOKEN_FILE].
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,

    /// Role session name, shown in CloudTrail [env: AWS_ROLE_SESSION_NAME; default: the
    /// hostname (the pod's name), else the token's ServiceAccount].
    #[arg(long, value_name = "NAME")]
    pub session_name: Option<String>,

    /// Region whose STS endpoint is called [env: AWS_REGION, AWS_DEFAULT_REGION; default: the
    /// role's partition's first region, such as us-east-1].
    #[arg(long)]
    pub region: Option<String>,

    /// STS endpoint URL [env: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL].
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Lifetime of the credentials, 900 to 43200 seconds (and at most the role's
    /// MaxSessionDuration).
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub duration_seconds: u32,

    /// Inline session policy: JSON, or file://PATH.
    #[arg(long, value_name = "JSON")]
    pub policy: Option<String>,

    /// Managed session policy ARN (repeatable).
    #[arg(long = "policy-arn", value_name = "ARN")]
    pub policy_arns: Vec<String>,

    /// Cache directory [env: IRSA_CACHE_DIR; default: $XDG_CACHE_HOME/irsa-credential-process,
    /// else ~/.cache/irsa-credential-process].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Neither read nor write the cache: call STS every time.
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,

    /// Refresh cached credentials this long before they expire, such as 20m or 1500s [default:
    /// 20m plus up to 2m of jitter, or half the duration when that is shorter]. Keep it above
    /// 15m: SDKs re-run the helper on every call once their credentials have less left.
    #[arg(long, value_name = "DURATION")]
    pub refresh_before: Option<HumanDuration>,

    /// Extra CA certificates (PEM) to trust for STS, besides the embedded roots [env:
    /// AWS_CA_BUNDLE, SSL_CERT_FILE].
    #[arg(long, value_name = "PATH")]
    pub ca_bundle: Option<PathBuf>,

    /// Give up on STS after this long, retries included, such as 30s.
    #[arg(
        long,
        default_value = "30s",
        value_name = "DURATION",
        value_parser = HumanDuration::positive
    )]
    pub timeout: HumanDuration,

    /// Say on stderr what the helper does (cache hits, STS calls); never prints a secret.
    #[arg(short, long)]
    pub verbose: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// The top level and every mode, with the path that reaches it.
    fn every_command() -> Vec<(String, clap::Command)> {
        let top = Cli::command();
        let mut all = vec![("irsa-credential-process".to_string(), top.clone())];
        for mode in top.get_subcommands() {
            all.push((
                format!("irsa-credential-process {}", mode.get_name()),
                mode.clone(),
            ));
        }
        all
    }

    #[test]
    fn every_help_ends_with_examples_that_parse() {
        for (path, mut command) in every_command() {
            let help = command.render_long_help().to_string();
            let (_, examples) = help
                .split_once("\nExamples:\n")
                .unwrap_or_else(|| panic!("{path}: no Examples: section\n{help}"));
            let lines: Vec<&str> = examples
                .lines()
                .map(str::trim)
                .filter(|line| line.starts_with("irsa-credential-process"))
                .collect();
            assert!(!lines.is_empty(), "{path}: no example command\n{examples}");
            for line in lines {
                assert!(
                    line.starts_with(&path),
                    "{path}'s examples run another mode: {line}"
                );
                // Quote-free, so that splitting on spaces is what a shell would do.
                assert!(!line.contains(['\'', '"', '\\', '$']), "{line}");
                let words = line.split_whitespace();
                if let Err(error) = Cli::try_parse_from(words) {
                    panic!("{line}\n{error}");
                }
            }
            for line in examples.lines().filter(|line| !line.trim().is_empty()) {
                assert!(line.starts_with("  "), "{path}: indent examples: {line:?}");
            }
        }
    }

    #[test]
    fn modes_list_only_the_flags_they_use() {
        let help = |mode: &str| {
            let mut command = Cli::command();
            command
                .find_subcommand_mut(mode)
                .unwrap()
                .render_long_help()
                .to_string()
        };
        for mode in ["exec", "serve", "update", "probe"] {
            assert!(!help(mode).contains("--format"), "{mode}: {}", help(mode));
        }
        for mode in ["exec", "serve", "update"] {
            assert!(help(mode).contains("--role-arn"), "{mode}");
        }
        let probe = help("probe");
        for absent in ["--role-arn", "--policy", "--duration-seconds", "--timeout"] {
            assert!(!probe.contains(absent), "{absent} in {probe}");
        }
        assert!(probe.contains("--port") && probe.contains("--auth-token-file"));
    }

    #[test]
    fn exec_takes_everything_after_the_separator() {
        let cli = Cli::try_parse_from([
            "x",
            "exec",
            "--no-cache",
            "--",
            "aws",
            "--debug",
            "s3",
            "ls",
        ])
        .unwrap();
        let Some(Command::Exec(exec)) = cli.command else {
            panic!("exec expected");
        };
        assert_eq!(exec.command, ["aws", "--debug", "s3", "ls"]);
        assert!(exec.options.no_cache);

        let cli = Cli::try_parse_from(["x", "exec", "env", "-i", "--", "-x"]).unwrap();
        let Some(Command::Exec(exec)) = cli.command else {
            panic!("exec expected");
        };
        assert_eq!(
            exec.command,
            ["env", "-i", "--", "-x"],
            "the command's own flags"
        );
        let typo = Cli::try_parse_from(["x", "exec", "--no-cach", "--", "env"]).unwrap_err();
        assert_eq!(typo.kind(), ErrorKind::UnknownArgument, "{typo}");
    }

    #[test]
    fn flags_before_the_mode_are_a_usage_error() {
        let error = Cli::try_parse_from(["x", "--no-cache", "exec", "--", "true"]).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ArgumentConflict, "{error}");
        assert_eq!(error.exit_code(), 2);
    }

    #[test]
    fn typed_values_are_usage_errors_that_name_the_flag() {
        for (args, flag, said) in [
            (
                &["--timeout", "soon"][..],
                "--timeout",
                "\"soon\" is not a duration",
            ),
            (&["--timeout", "0"], "--timeout", "no time at all"),
            (&["serve", "--timeout", "0s"], "--timeout", "no time at all"),
            (
                &["--refresh-before", "soon"],
                "--refresh-before",
                "\"soon\" is not a duration",
            ),
            (
                &["--role-arn", "app"],
                "--role-arn",
                "invalid role ARN \"app\"",
            ),
        ] {
            let cli = std::iter::once("irsa-credential-process").chain(args.iter().copied());
            let error = Cli::try_parse_from(cli).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::ValueValidation, "{args:?}");
            let text = error.to_string();
            assert!(
                text.contains(flag) && text.contains(said),
                "{args:?}: {text}"
            );
        }
        let cli = Cli::try_parse_from(["x", "update", "--timeout", "90", "--refresh-before", "1h"])
            .unwrap();
        let Some(Command::Update(update)) = cli.command else {
            panic!("update expected");
        };
        assert_eq!(update.options.timeout, HumanDuration::from_secs(90));
        assert_eq!(
            update.options.refresh_before,
            Some(HumanDuration::from_secs(3600))
        );
    }
}
