//! One run: settings, then the cache, then (only when needed) STS, then the output.

use std::time::Duration;

use irsa_sts::{
    CaBundle, Claims, Credentials, ExplainContext, SessionName, StsClient, StsClientOptions,
    WebIdentityRequest,
};
use time::OffsetDateTime;

use crate::cache::{Cache, CacheKey, Waited};
use crate::cli::{Cli, Command};
use crate::output;
use crate::settings::{CacheDir, SessionSource, Settings, SettingsError};

/// Attempts per STS call, the first included; the deadline bounds them all.
const STS_ATTEMPTS: u32 = 5;
/// Credentials handed out after a failed refresh must still last this long.
const STALE_MARGIN: Duration = Duration::from_secs(60);

/// Why a run failed; every message names the input or link and the fix.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(
        "cannot read the token file {path} (AWS_WEB_IDENTITY_TOKEN_FILE): {source}; the pod must mount the projected ServiceAccount token: is the ServiceAccount annotated with eks.amazonaws.com/role-arn and the pod identity webhook running?"
    )]
    TokenUnreadable {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the token file {path} (AWS_WEB_IDENTITY_TOKEN_FILE) is empty: the kubelet has not written the projected token yet, or the path is not the projected token"
    )]
    TokenEmpty { path: String },
    #[error(
        "no session name: set AWS_ROLE_SESSION_NAME or pass --session-name (the hostname and the token gave none)"
    )]
    NoSessionName,
    #[error("{0}")]
    Sts(String),
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot run {command}: {source}")]
    Exec {
        command: String,
        source: std::io::Error,
    },
}

impl RunError {
    /// 2 for bad input (as clap uses for usage), 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Settings(_) => 2,
            RunError::Exec { .. } => 127,
            _ => 1,
        }
    }
}

pub fn run(cli: Cli) -> Result<(), RunError> {
    let settings = Settings::resolve(&cli.options, |name| std::env::var(name).ok())?;
    let credentials = obtain(&settings)?;
    match cli.command {
        None => output::print(&credentials, settings.format),
        Some(Command::Exec { command }) => {
            let error = output::exec(&credentials, &command, &settings.endpoint.region);
            Err(RunError::Exec {
                command: command.join(" "),
                source: error,
            })
        }
    }
}

/// Cached credentials while they last longer than the refresh window, else fresh ones.
fn obtain(settings: &Settings) -> Result<Credentials, RunError> {
    let reporter = Reporter {
        verbose: settings.verbose,
    };
    let now = OffsetDateTime::now_utc();
    let fresh_enough = |c: &Credentials| c.expiration - now > settings.refresh_before;

    // The session name may need the token; then the token is read before the cache.
    let mut token = None;
    let session = match &settings.session {
        SessionSource::Given(name) => name.clone(),
        SessionSource::FromToken => {
            let read = read_token(settings)?;
            let name = session_from_token(&read).ok_or(RunError::NoSessionName)?;
            token = Some(read);
            name
        }
    };
    let key = cache_key(settings, &session);

    const CACHE_FIX: &str = "calling STS without a cache (set --cache-dir or IRSA_CACHE_DIR to a writable directory, or --no-cache)";
    let mut cache = match &settings.cache_dir {
        CacheDir::Off => None,
        CacheDir::Undetermined => {
            reporter.warn(&format!(
                "no cache directory (no HOME, XDG_CACHE_HOME or IRSA_CACHE_DIR); {CACHE_FIX}"
            ));
            None
        }
        CacheDir::At(dir) => Cache::open(dir)
            .inspect_err(|error| reporter.warn(&format!("{error}; {CACHE_FIX}")))
            .ok(),
    };

    let cached = cache.as_ref().and_then(|cache| cache.read(&key));
    if let Some(hit) = cached.as_ref().filter(|c| fresh_enough(c)) {
        reporter.info(&format!(
            "cache hit, expires {}",
            irsa_sts::rfc3339(hit.expiration)
        ));
        return Ok(hit.clone());
    }

    let mut _lock = None;
    if let Some(open) = &cache {
        let patience = settings.deadline + Duration::from_secs(5);
        match open.lock_or_wait(&key, patience, fresh_enough) {
            Ok(Waited::Fresh(credentials)) => {
                reporter.info("another process refreshed the cache");
                return Ok(credentials);
            }
            Ok(Waited::Locked(lock)) => {
                // Another process may have finished between our read and our lock.
                if let Some(hit) = open.read(&key).filter(|c| fresh_enough(c)) {
                    return Ok(hit);
                }
                _lock = Some(lock);
            }
            Ok(Waited::TimedOut) => reporter.warn("the cache lock stayed busy; calling STS anyway"),
            Err(error) => {
                // A directory that cannot hold a lock file cannot hold an entry either.
                reporter.warn(&format!("{error}; {CACHE_FIX}"));
                cache = None;
            }
        }
    }

    let token = match token {
        Some(token) => token,
        None => read_token(settings)?,
    };
    reporter.info(&format!(
        "calling {} for {}",
        settings.endpoint, settings.role_arn
    ));
    match call_sts(settings, &session, &token) {
        Ok(credentials) => {
            if let Some(cache) = &cache
                && let Err(error) = cache.write(&key, &credentials)
            {
                reporter.warn(&format!("{error}; the next run will call STS again"));
            }
            Ok(credentials)
        }
        Err(message) => match cached.filter(|c| c.expiration - now > STALE_MARGIN) {
            Some(still_valid) => {
                reporter.warn(&format!(
                    "{message}; handing out cached credentials that expire {}",
                    irsa_sts::rfc3339(still_valid.expiration)
                ));
                Ok(still_valid)
            }
            None => Err(RunError::Sts(message)),
        },
    }
}

/// Calls STS; the error is already explained.
fn call_sts(
    settings: &Settings,
    session: &SessionName,
    token: &str,
) -> Result<Credentials, String> {
    let ca_bundle = settings
        .ca_bundle
        .as_deref()
        .map(CaBundle::from_file)
        .transpose()
        .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RunError::Runtime(e).to_string())?;
    runtime.block_on(async {
        let client = StsClient::new(StsClientOptions {
            endpoint: settings.endpoint.clone(),
            deadline: settings.deadline,
            max_attempts: STS_ATTEMPTS,
            ca_bundle,
            app_name: "irsa-credential-process",
        })
        .map_err(|e| e.to_string())?;
        let request = WebIdentityRequest {
            role_arn: &settings.role_arn,
            session_name: session,
            token,
            duration_seconds: Some(settings.duration_seconds),
            policy: settings.policy.as_deref(),
            policy_arns: &settings.policy_arns,
        };
        client
            .assume_role_with_web_identity(request)
            .await
            .map_err(|error| {
                let claims = Claims::decode(token).ok();
                let source = format!("the token file {}", settings.token_file.display());
                irsa_sts::explain(
                    &error,
                    &ExplainContext {
                        role_arn: &settings.role_arn,
                        claims: claims.as_ref(),
                        token_source: &source,
                        now: OffsetDateTime::now_utc(),
                    },
                )
            })
    })
}

/// Re-read on every STS call: the kubelet rotates the token in place.
fn read_token(settings: &Settings) -> Result<String, RunError> {
    let path = settings.token_file.display().to_string();
    let token = std::fs::read_to_string(&settings.token_file).map_err(|source| {
        RunError::TokenUnreadable {
            path: path.clone(),
            source,
        }
    })?;
    let token = token.trim().to_string();
    if token.is_empty() {
        return Err(RunError::TokenEmpty { path });
    }
    Ok(token)
}

/// `NAMESPACE.NAME` of the token's ServiceAccount.
fn session_from_token(token: &str) -> Option<SessionName> {
    let claims = Claims::decode(token).ok()?;
    let (namespace, name) = claims.service_account()?;
    SessionName::sanitized(&format!("{namespace}.{name}"))
}

fn cache_key(settings: &Settings, session: &SessionName) -> CacheKey {
    let duration = settings.duration_seconds.to_string();
    let policy_arns = settings.policy_arns.join("\n");
    let endpoint = settings.endpoint.to_string();
    let token_file = settings.token_file.to_string_lossy();
    CacheKey::new(&[
        "v1",
        settings.role_arn.as_str(),
        session.as_str(),
        &duration,
        settings.policy.as_deref().unwrap_or(""),
        &policy_arns,
        &endpoint,
        &token_file,
    ])
}

/// Messages on stderr; stdout carries only the credentials.
struct Reporter {
    verbose: bool,
}

impl Reporter {
    fn info(&self, message: &str) {
        if self.verbose {
            eprintln!("irsa-credential-process: {message}");
        }
    }

    fn warn(&self, message: &str) {
        eprintln!("irsa-credential-process: warning: {message}");
    }
}
