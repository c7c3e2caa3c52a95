//! Environment and flags, resolved and validated once into [`Settings`].

use std::path::PathBuf;
use std::time::Duration;

use irsa_sts::{EndpointInputs, RoleArn, SessionName, StsEndpoint};

use crate::cli::StsOptions;

/// Refresh this long before expiry by default: above botocore's 15 minutes, so that SDKs do not
/// re-run the helper on every call.
const DEFAULT_REFRESH_BEFORE: Duration = Duration::from_secs(20 * 60);
/// A --policy file larger than this is not a session policy.
const MAX_POLICY_FILE: u64 = 64 * 1024;
/// Up to this much is added at random, so that many pods do not refresh in the same second.
const REFRESH_JITTER: Duration = Duration::from_secs(120);

/// Bad input; the message names the input and the fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub(crate) String);

/// Where the session name comes from when none is given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionSource {
    Given(SessionName),
    /// Derived from the token's ServiceAccount, once the token is read.
    FromToken,
}

/// Where the cache lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheDir {
    /// `--no-cache`.
    Off,
    At(PathBuf),
    /// No flag, no IRSA_CACHE_DIR, no XDG_CACHE_HOME and no home directory (a scratch image).
    Undetermined,
}

/// Everything one run needs, validated.
#[derive(Clone, Debug)]
pub struct Settings {
    pub role_arn: RoleArn,
    pub token_file: PathBuf,
    pub session: SessionSource,
    pub endpoint: StsEndpoint,
    pub duration_seconds: u32,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub cache_dir: CacheDir,
    pub refresh_before: Duration,
    pub ca_bundle: Option<PathBuf>,
    pub deadline: Duration,
    pub verbose: bool,
}

impl Settings {
    /// Resolves flags over the environment that `env` reads, in this order: role, token file,
    /// session name, endpoint, duration and refresh window, cache, policies, CA bundle.
    pub fn resolve(
        options: &StsOptions,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, SettingsError> {
        let env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        let role_arn = role_arn(options, &env)?;
        let token_file = options
            .token_file
            .clone()
            .or_else(|| env("AWS_WEB_IDENTITY_TOKEN_FILE").map(PathBuf::from))
            .ok_or_else(|| SettingsError("AWS_WEB_IDENTITY_TOKEN_FILE is not set: the pod identity webhook (or `kubectl irsa inject`) sets it to the projected token, /var/run/secrets/eks.amazonaws.com/serviceaccount/token; or pass --token-file".into()))?;
        let session = session(options, &env)?;
        let endpoint_inputs =
            EndpointInputs::from_env(env, options.region.clone(), options.endpoint_url.clone());
        let endpoint = StsEndpoint::resolve(&endpoint_inputs, role_arn.partition())
            .map_err(|e| SettingsError(e.to_string()))?;
        let refresh_before = refresh_before(options)?;
        Ok(Settings {
            role_arn,
            token_file,
            session,
            endpoint,
            duration_seconds: options.duration_seconds,
            policy: options.policy.as_deref().map(read_policy).transpose()?,
            policy_arns: options
                .policy_arns
                .iter()
                .map(|arn| check_policy_arn(arn))
                .collect::<Result<_, _>>()?,
            cache_dir: cache_dir(options, &env),
            refresh_before,
            ca_bundle: options
                .ca_bundle
                .clone()
                .or_else(|| env("AWS_CA_BUNDLE").map(PathBuf::from))
                .or_else(|| env("SSL_CERT_FILE").map(PathBuf::from)),
            deadline: options.timeout.get(),
            verbose: options.verbose,
        })
    }
}

/// `--role-arn` (clap parsed it already), else AWS_ROLE_ARN, parsed here by the same rules.
fn role_arn(
    options: &StsOptions,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<RoleArn, SettingsError> {
    if let Some(flag) = &options.role_arn {
        return Ok(flag.clone());
    }
    let Some(variable) = env("AWS_ROLE_ARN") else {
        return Err(SettingsError("AWS_ROLE_ARN is not set: the pod identity webhook (or `kubectl irsa inject`) sets it from the ServiceAccount's eks.amazonaws.com/role-arn annotation; or pass --role-arn".into()));
    };
    variable
        .trim()
        .parse()
        .map_err(|e| SettingsError(format!("AWS_ROLE_ARN: {e}")))
}

/// The name given (flag, then AWS_ROLE_SESSION_NAME), else the hostname, else the token's.
fn session(
    options: &StsOptions,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<SessionSource, SettingsError> {
    let given = options
        .session_name
        .clone()
        .or_else(|| env("AWS_ROLE_SESSION_NAME"));
    Ok(match given {
        Some(name) => SessionSource::Given(
            SessionName::new(name.trim()).map_err(|e| SettingsError(e.to_string()))?,
        ),
        None => match hostname(env).as_deref().and_then(SessionName::sanitized) {
            Some(name) => SessionSource::Given(name),
            None => SessionSource::FromToken,
        },
    })
}

/// The refresh window, after checking the duration it must fit in.
fn refresh_before(options: &StsOptions) -> Result<Duration, SettingsError> {
    let duration_seconds = options.duration_seconds;
    if !(900..=43200).contains(&duration_seconds) {
        return Err(SettingsError(format!(
            "--duration-seconds {duration_seconds} is out of range: STS accepts 900 to 43200 (and at most the role's MaxSessionDuration)"
        )));
    }
    let duration = Duration::from_secs(duration_seconds.into());
    match options.refresh_before {
        Some(given) if given.get() >= duration => Err(SettingsError(format!(
            "--refresh-before {given} is not shorter than --duration-seconds {duration_seconds}: cached credentials would never be used; lower it (20m is the default)"
        ))),
        Some(given) => Ok(given.get()),
        None => {
            let jitter = REFRESH_JITTER.mul_f64(fastrand::f64());
            Ok((DEFAULT_REFRESH_BEFORE + jitter).min(duration / 2))
        }
    }
}

/// `--no-cache`, else the flag, IRSA_CACHE_DIR, then the user's cache directory.
fn cache_dir(options: &StsOptions, env: &impl Fn(&str) -> Option<String>) -> CacheDir {
    if options.no_cache {
        return CacheDir::Off;
    }
    options
        .cache_dir
        .clone()
        .or_else(|| env("IRSA_CACHE_DIR").map(PathBuf::from))
        .or_else(|| default_cache_dir(env))
        .map_or(CacheDir::Undetermined, CacheDir::At)
}

/// The pod's name: containers get it as HOSTNAME; else the kernel's node name.
fn hostname(env: &impl Fn(&str) -> Option<String>) -> Option<String> {
    env("HOSTNAME").or_else(|| {
        let uname = rustix::system::uname();
        let name = uname.nodename().to_string_lossy().into_owned();
        (!name.is_empty()).then_some(name)
    })
}

/// `$XDG_CACHE_HOME/irsa-credential-process`, else `$HOME/.cache/...`, as `dirs` says on Linux.
fn default_cache_dir(env: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = env("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|path| path.is_absolute())
        .or_else(dirs::cache_dir)?;
    Some(base.join("irsa-credential-process"))
}

/// The inline policy as given, or read from `file://PATH`; it must be JSON.
fn read_policy(value: &str) -> Result<String, SettingsError> {
    let policy = match value.strip_prefix("file://") {
        // STS takes at most 2,048 characters of policy; a FIFO or a device is refused at once.
        Some(path) => irsa_sts::file::read_regular_text(std::path::Path::new(path), MAX_POLICY_FILE)
            .map_err(|e| {
                SettingsError(format!("cannot read --policy file {path}: {e}; give a readable JSON file or the JSON itself"))
            })?,
        None => value.to_string(),
    };
    serde_json::from_str::<serde_json::Value>(&policy).map_err(|e| {
        SettingsError(format!(
            "--policy is not valid JSON ({e}): give an IAM policy document, or file://PATH"
        ))
    })?;
    Ok(policy)
}

fn check_policy_arn(arn: &str) -> Result<String, SettingsError> {
    let fields: Vec<&str> = arn.splitn(6, ':').collect();
    let valid = fields.len() == 6
        && fields[0] == "arn"
        && fields[2] == "iam"
        && fields[5].starts_with("policy/")
        && fields[5].len() > "policy/".len();
    if valid {
        Ok(arn.to_string())
    } else {
        Err(SettingsError(format!(
            "--policy-arn {arn:?} is not a managed policy ARN: expected arn:aws:iam::ACCOUNT:policy/NAME (or arn:aws:iam::aws:policy/NAME)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    fn resolve(args: &[&str], env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let cli = Cli::try_parse_from(
            std::iter::once("irsa-credential-process").chain(args.iter().copied()),
        )
        .unwrap();
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::resolve(&cli.options, |name| env.get(name).cloned())
    }

    const POD_ENV: &[(&str, &str)] = &[
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/app"),
        (
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
        ),
        ("HOSTNAME", "app-5d8f7c9b4-xk2lp"),
        ("HOME", "/home/app"),
    ];

    #[test]
    fn reads_the_pod_environment() {
        let settings = resolve(&[], POD_ENV).unwrap();
        assert_eq!(settings.role_arn.name(), "app");
        assert_eq!(
            settings.session,
            SessionSource::Given(SessionName::new("app-5d8f7c9b4-xk2lp").unwrap())
        );
        assert_eq!(settings.endpoint.region, "us-east-1");
        assert_eq!(settings.duration_seconds, 3600);
        let refresh = settings.refresh_before.as_secs();
        assert!((1200..=1320).contains(&refresh), "{refresh}");
        assert_eq!(settings.deadline, Duration::from_secs(30));
    }

    #[test]
    fn flags_override_the_environment() {
        let env = [
            POD_ENV,
            &[
                ("AWS_REGION", "eu-west-1"),
                ("AWS_ENDPOINT_URL", "http://a:1"),
            ],
        ]
        .concat();
        let settings = resolve(
            &[
                "--role-arn",
                "arn:aws:iam::123456789012:role/other",
                "--region",
                "us-west-2",
                "--session-name",
                "me",
                "--endpoint-url",
                "http://b:2",
            ],
            &env,
        )
        .unwrap();
        assert_eq!(settings.role_arn.name(), "other");
        assert_eq!(settings.endpoint.region, "us-west-2");
        assert_eq!(settings.endpoint.url.as_deref(), Some("http://b:2"));
        assert_eq!(
            settings.session,
            SessionSource::Given(SessionName::new("me").unwrap())
        );
    }

    #[test]
    fn service_endpoint_variable_wins_over_the_general_one() {
        let env = [
            POD_ENV,
            &[
                ("AWS_ENDPOINT_URL", "http://general:1"),
                ("AWS_ENDPOINT_URL_STS", "http://sts:2"),
                ("AWS_DEFAULT_REGION", "ap-south-1"),
            ],
        ]
        .concat();
        let settings = resolve(&[], &env).unwrap();
        assert_eq!(settings.endpoint.url.as_deref(), Some("http://sts:2"));
        assert_eq!(settings.endpoint.region, "ap-south-1");
    }

    #[test]
    fn cache_dir_follows_flag_then_env_then_xdg() {
        let with = |extra: &[(&str, &str)], args: &[&str]| {
            resolve(args, &[POD_ENV, extra].concat()).unwrap().cache_dir
        };
        assert_eq!(
            with(&[("XDG_CACHE_HOME", "/xdg")], &[]),
            CacheDir::At(PathBuf::from("/xdg/irsa-credential-process"))
        );
        assert_eq!(
            with(&[("IRSA_CACHE_DIR", "/env")], &[]),
            CacheDir::At(PathBuf::from("/env"))
        );
        assert_eq!(
            with(&[("IRSA_CACHE_DIR", "/env")], &["--cache-dir", "/flag"]),
            CacheDir::At(PathBuf::from("/flag"))
        );
        assert_eq!(with(&[], &["--no-cache"]), CacheDir::Off);
    }

    #[test]
    fn missing_or_bad_inputs_name_the_input_and_the_fix() {
        /// Arguments, environment, and what the error must say.
        type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            (&[], &[], "AWS_ROLE_ARN is not set"),
            (
                &[],
                &[("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/app")],
                "AWS_WEB_IDENTITY_TOKEN_FILE is not set",
            ),
            (
                &[],
                &[
                    ("AWS_ROLE_ARN", "app"),
                    ("AWS_WEB_IDENTITY_TOKEN_FILE", "/token"),
                ],
                "AWS_ROLE_ARN: invalid role ARN \"app\"",
            ),
            (
                &["--session-name", "a b"],
                POD_ENV,
                "invalid role session name",
            ),
            (
                &["--duration-seconds", "60"],
                POD_ENV,
                "--duration-seconds 60 is out of range",
            ),
            (
                &["--refresh-before", "2h"],
                POD_ENV,
                "--refresh-before 2h is not shorter than --duration-seconds 3600",
            ),
            (
                &["--policy", "{not json"],
                POD_ENV,
                "--policy is not valid JSON",
            ),
            (
                &["--policy", "file:///nonexistent/p.json"],
                POD_ENV,
                "cannot read --policy file",
            ),
            (
                &["--policy-arn", "arn:aws:iam::aws:role/x"],
                POD_ENV,
                "is not a managed policy ARN",
            ),
        ];
        for (args, env, expected) in cases {
            let error = resolve(args, env).unwrap_err().to_string();
            assert!(error.contains(expected), "{args:?}: {error}");
            assert!(!error.contains('\n'), "{error}");
        }
        let env = [POD_ENV, &[("AWS_STS_REGIONAL_ENDPOINTS", "nope")]].concat();
        assert!(
            resolve(&[], &env)
                .unwrap_err()
                .to_string()
                .contains("AWS_STS_REGIONAL_ENDPOINTS")
        );
    }

    #[test]
    fn short_durations_shrink_the_default_refresh_window() {
        let settings = resolve(&["--duration-seconds", "900"], POD_ENV).unwrap();
        assert_eq!(settings.refresh_before, Duration::from_secs(450));
    }

    #[test]
    fn session_policies_are_kept_verbatim() {
        let policy = r#"{"Version":"2012-10-17","Statement":[]}"#;
        let settings = resolve(
            &[
                "--policy",
                policy,
                "--policy-arn",
                "arn:aws:iam::aws:policy/ReadOnlyAccess",
            ],
            POD_ENV,
        )
        .unwrap();
        assert_eq!(settings.policy.as_deref(), Some(policy));
        assert_eq!(
            settings.policy_arns,
            ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
        );
    }
}
