//! One run: settings, then the cache, then (only when needed) STS, then the output.

use std::time::Duration;

use irsa_sts::{Credentials, SessionName};
use time::OffsetDateTime;

use crate::cache::{Cache, CacheKey, Waited};
use crate::cli::{Cli, Command};
use crate::output;
use crate::report::Reporter;
use crate::settings::{CacheDir, Settings, SettingsError};
use crate::sts::{self, Exchanger};
use crate::{serve, update};

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
    #[error("cannot listen on {address}: {source}; pick another --port (0 picks a free one)")]
    Listen {
        address: String,
        source: std::io::Error,
    },
    #[error(
        "cannot use the authorization token file {path}: {source}; give --auth-token-file (or AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) a path in a writable directory"
    )]
    AuthToken {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the authorization token file {path} holds a newline, a space or a non-ASCII byte, which SDKs cannot send in the Authorization header: write the token alone, such as printf %s TOKEN > {path}"
    )]
    AuthTokenInvalid { path: String },
    #[error(
        "cannot update the credentials file {path}: {source}; it must be UTF-8 text in a writable directory (--credentials-file or AWS_SHARED_CREDENTIALS_FILE)"
    )]
    CredentialsFile {
        path: String,
        source: std::io::Error,
    },
    #[error("not ready: {0}")]
    NotReady(String),
    #[error("cannot watch for SIGTERM: {0}")]
    Signals(std::io::Error),
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
            RunError::Settings(_) | RunError::AuthTokenInvalid { .. } => 2,
            RunError::Exec { .. } => 127,
            _ => 1,
        }
    }
}

pub fn run(cli: Cli) -> Result<(), RunError> {
    let env = |name: &str| std::env::var(name).ok();
    if let Some(Command::Probe(args)) = &cli.command {
        // A probe needs no role or token: it asks the server.
        return serve::probe(args, env);
    }
    let settings = Settings::resolve(&cli.options, env)?;
    match cli.command {
        None => output::print(&obtain(&settings)?, settings.format),
        Some(Command::Exec { command }) => {
            let error = output::exec(&obtain(&settings)?, &command, &settings.endpoint.region);
            Err(RunError::Exec {
                command: command.join(" "),
                source: error,
            })
        }
        Some(Command::Serve(args)) => serve::run(&settings, &args, env),
        Some(Command::Update(args)) => update::run(&settings, &args, env),
        Some(Command::Probe(args)) => serve::probe(&args, env),
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
    let (session, token) = sts::session(settings)?;
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
        None => sts::read_token(settings)?,
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

/// Calls STS once, on a runtime made for the call; the error is already explained.
fn call_sts(
    settings: &Settings,
    session: &SessionName,
    token: &str,
) -> Result<Credentials, String> {
    let runtime = sts::runtime().map_err(|e| e.to_string())?;
    runtime.block_on(async { Exchanger::new(settings)?.exchange(session, token).await })
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
