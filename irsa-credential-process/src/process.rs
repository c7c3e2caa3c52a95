//! The default mode, what `credential_process` runs: the cache first, then (only when needed,
//! and by one process at a time per cache key) STS, then the output. Built for the cache hit,
//! which SDKs make on every refresh: no runtime, no network, one file read. `exec` obtains its
//! credentials the same way.

use std::time::Duration;

use irsa_sts::{Credentials, SessionName, rfc3339};
use time::OffsetDateTime;

use crate::cache::{Cache, CacheKey, CacheLock, Waited};
use crate::cli::Format;
use crate::error::Error;
use crate::output;
use crate::report::Reporter;
use crate::settings::{CacheDir, Settings};
use crate::sts::{self, ExchangeError, Exchanger};

/// Credentials handed out after a failed refresh must still last this long.
const STALE_MARGIN: Duration = Duration::from_secs(60);
/// Said after every cache problem: what happens instead, and how to fix it.
const CACHE_FIX: &str = "calling STS without a cache (set --cache-dir or IRSA_CACHE_DIR to a writable directory, or --no-cache)";

/// Prints the credentials as `format` on stdout.
pub fn run(settings: &Settings, format: Format) -> Result<(), Error> {
    let credentials = obtain(settings)?;
    output::print(&credentials, format).map_err(Error::Stdout)
}

/// Cached credentials while they last longer than the refresh window, else fresh ones.
pub fn obtain(settings: &Settings) -> Result<Credentials, ExchangeError> {
    let reporter = Reporter {
        verbose: settings.verbose,
    };
    let now = OffsetDateTime::now_utc();
    let fresh_enough = |c: &Credentials| c.expiration - now > settings.refresh_before;

    // The session name may need the token; then the token is read before the cache.
    let (session, token) = sts::session(settings)?;
    let key = cache_key(settings, &session);
    let mut cache = open_cache(settings, reporter);

    let cached = cache.as_ref().and_then(|cache| cache.read(&key));
    if let Some(hit) = cached.as_ref().filter(|c| fresh_enough(c)) {
        reporter.info(&format!("cache hit, expires {}", rfc3339(hit.expiration)));
        return Ok(hit.clone());
    }

    let mut _lock = None;
    if let Some(open) = &cache {
        match take_turn(open, &key, settings, reporter, fresh_enough) {
            Turn::Done(credentials) => return Ok(credentials),
            Turn::Mine(lock) => _lock = lock,
            Turn::NoCache => cache = None,
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
        Err(error) => match cached.filter(|c| c.expiration - now > STALE_MARGIN) {
            Some(still_valid) => {
                reporter.warn(&format!(
                    "{error}; handing out cached credentials that expire {}",
                    rfc3339(still_valid.expiration)
                ));
                Ok(still_valid)
            }
            None => Err(error),
        },
    }
}

/// The cache, or `None` (said once, on stderr) when there is none to use.
fn open_cache(settings: &Settings, reporter: Reporter) -> Option<Cache> {
    match &settings.cache_dir {
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
    }
}

/// How waiting for the cache lock ended, for this process.
enum Turn {
    /// Another process refreshed the cache meanwhile: these credentials are fresh.
    Done(Credentials),
    /// This process calls STS, holding the lock when it has it.
    Mine(Option<CacheLock>),
    /// The directory cannot hold a lock file, so it cannot hold an entry either.
    NoCache,
}

/// Waits for the lock on `key`, so that concurrent cold starts make one STS call.
fn take_turn(
    cache: &Cache,
    key: &CacheKey,
    settings: &Settings,
    reporter: Reporter,
    fresh_enough: impl Fn(&Credentials) -> bool,
) -> Turn {
    let patience = settings.deadline + Duration::from_secs(5);
    match cache.lock_or_wait(key, patience, &fresh_enough) {
        Ok(Waited::Fresh(credentials)) => {
            reporter.info("another process refreshed the cache");
            Turn::Done(credentials)
        }
        // Another process may have finished between our read and our lock.
        Ok(Waited::Locked(lock)) => match cache.read(key).filter(|c| fresh_enough(c)) {
            Some(hit) => Turn::Done(hit),
            None => Turn::Mine(Some(lock)),
        },
        Ok(Waited::TimedOut) => {
            reporter.warn("the cache lock stayed busy; calling STS anyway");
            Turn::Mine(None)
        }
        Err(error) => {
            reporter.warn(&format!("{error}; {CACHE_FIX}"));
            Turn::NoCache
        }
    }
}

/// Calls STS once, on a runtime made for the call; the error comes explained.
fn call_sts(
    settings: &Settings,
    session: &SessionName,
    token: &str,
) -> Result<Credentials, ExchangeError> {
    sts::runtime()
        .map_err(ExchangeError::Runtime)?
        .block_on(async { Exchanger::new(settings)?.exchange(session, token).await })
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
