//! Keeping credentials fresh in a long-running mode (`serve`, `update`): when to refresh, how
//! long to keep handing out the last good credentials, and how to back off after a failure
//! (plain functions of time, tested as such); the loop that applies them ([`keep_fresh`], its
//! I/O injected as a `publish` closure); and the one way both modes start and stop it
//! ([`Refresher`], [`Stop`]), so that they differ only in what they publish.

use std::fmt::Display;
use std::time::Duration;

use irsa_sts::{Credentials, SessionName, rfc3339};
use time::OffsetDateTime;
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::report::Reporter;
use crate::settings::Settings;
use crate::sts::{self, ExchangeError, Exchanger};

/// Never refresh more often than this, whatever the credentials' lifetime.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Credentials with less than this left are not handed out (unless their whole lifetime is
/// short, see [`Fresh::usable`]): the client could not use them before they expire.
const HAND_OUT_MARGIN: Duration = Duration::from_secs(60);
/// Retries after a failed refresh wait 1 s, 2 s, 4 s, ... up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Credentials and when they arrived (the lifetime is what STS gave, not what was asked).
#[derive(Clone, Debug)]
pub struct Fresh {
    pub credentials: Credentials,
    pub obtained: OffsetDateTime,
}

impl Fresh {
    pub fn new(credentials: Credentials) -> Self {
        Fresh {
            credentials,
            obtained: OffsetDateTime::now_utc(),
        }
    }

    fn lifetime(&self) -> Duration {
        (self.credentials.expiration - self.obtained)
            .try_into()
            .unwrap_or(Duration::ZERO)
    }

    /// When to fetch the next credentials: `refresh_before` ahead of expiry, or halfway
    /// through the lifetime when that is shorter, and never sooner than [`MIN_INTERVAL`].
    pub fn refresh_at(&self, refresh_before: Duration) -> OffsetDateTime {
        let ahead = refresh_before.min(self.lifetime() / 2);
        (self.credentials.expiration - ahead).max(self.obtained + MIN_INTERVAL)
    }

    /// Whether these credentials may still be handed out at `now`.
    pub fn usable(&self, now: OffsetDateTime) -> bool {
        let margin = HAND_OUT_MARGIN.min(self.lifetime() / 4);
        self.credentials.expiration - now > margin
    }

    /// What a failed refresh leaves in place, said at `now`.
    fn kept(&self, now: OffsetDateTime) -> String {
        if self.usable(now) {
            format!(
                "keeping the last good credentials, which expire {}",
                rfc3339(self.credentials.expiration)
            )
        } else {
            "no valid credentials are left".to_string()
        }
    }
}

/// The wait before retry number `failures` (1, 2, ...): doubling from 1 s, capped.
pub fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    (Duration::from_secs(1) * 2u32.pow(doublings)).min(MAX_BACKOFF)
}

/// Refreshes `current` ahead of expiry forever, handing each new set to `publish`. A failed
/// refresh or publish is retried with backoff; credentials fetched but not yet published are
/// published again rather than fetched again while they last. Until a publish succeeds,
/// `current` (the last good credentials) stays in place.
pub async fn keep_fresh<E: Display, P>(
    exchanger: &Exchanger,
    session: &SessionName,
    refresh_before: Duration,
    mut current: Fresh,
    reporter: Reporter,
    mut publish: impl FnMut(Fresh) -> P,
) where
    P: Future<Output = Result<(), E>>,
{
    let mut failures = 0u32;
    let mut unpublished: Option<Fresh> = None;
    loop {
        let wait = if failures == 0 {
            let until = current.refresh_at(refresh_before) - OffsetDateTime::now_utc();
            until.try_into().unwrap_or(Duration::ZERO)
        } else {
            backoff(failures)
        };
        tokio::time::sleep(wait).await;
        let now = OffsetDateTime::now_utc();
        let fetched = match unpublished.take().filter(|fresh| fresh.usable(now)) {
            Some(fresh) => Ok(fresh),
            None => exchanger.fetch(session).await.map(Fresh::new),
        };
        // Only said, never returned: the loop goes on until the mode stops.
        let outcome = match fetched {
            Err(error) => Err(error.to_string()),
            // Awaited, so that a stop is heard while a publish waits (on a lock, say).
            Ok(fresh) => match publish(fresh.clone()).await {
                Ok(()) => {
                    current = fresh;
                    Ok(())
                }
                Err(error) => {
                    unpublished = Some(fresh);
                    Err(error.to_string())
                }
            },
        };
        match outcome {
            Ok(()) => {
                failures = 0;
                reporter.note(&format!(
                    "refreshed the credentials; they expire {}",
                    rfc3339(current.credentials.expiration)
                ));
            }
            Err(message) => {
                failures += 1;
                reporter.warn(&format!(
                    "refresh failed: {message}; {}; retrying in {}s",
                    current.kept(OffsetDateTime::now_utc()),
                    backoff(failures).as_secs()
                ));
            }
        }
    }
}

/// SIGTERM (the kubelet stopping the pod) or SIGINT, listened for from [`Stop::listen`] on:
/// a long-running mode listens before it says it is ready, so that a stop right after is
/// caught rather than fatal.
pub struct Stop {
    terminate: Signal,
    interrupt: Signal,
}

impl Stop {
    /// Call it inside the runtime.
    pub fn listen() -> std::io::Result<Stop> {
        Ok(Stop {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Borrowed, so that a mode can listen before its start and still hand it on after.
    pub async fn received(&mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

/// A long-running mode's source of credentials: one STS client and one session name, reused
/// for every refresh.
pub struct Refresher {
    exchanger: Exchanger,
    session: SessionName,
    refresh_before: Duration,
    reporter: Reporter,
}

impl Refresher {
    /// Builds the client and fetches the first credentials: a failure here stops the mode
    /// before it serves or writes anything. Call it inside the runtime.
    pub async fn start(
        settings: &Settings,
        reporter: Reporter,
    ) -> Result<(Refresher, Fresh), ExchangeError> {
        let (session, _) = sts::session(settings)?;
        let exchanger = Exchanger::new(settings)?;
        let first = Fresh::new(exchanger.fetch(&session).await?);
        let refresher = Refresher {
            exchanger,
            session,
            refresh_before: settings.refresh_before,
            reporter,
        };
        Ok((refresher, first))
    }

    /// Runs [`keep_fresh`] from `first` until `stop`.
    pub async fn until_stopped<E: Display, P>(
        self,
        first: Fresh,
        mut stop: Stop,
        publish: impl FnMut(Fresh) -> P,
    ) where
        P: Future<Output = Result<(), E>>,
    {
        let Refresher {
            exchanger,
            session,
            refresh_before,
            reporter,
        } = self;
        tokio::select! {
            () = keep_fresh(&exchanger, &session, refresh_before, first, reporter, publish) => {}
            () = stop.received() => reporter.note("stopping"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(lifetime_seconds: i64) -> Fresh {
        let obtained = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        Fresh {
            credentials: Credentials {
                access_key_id: "ASIAEXAMPLE".into(),
                secret_access_key: "secret".into(),
                session_token: "token".into(),
                expiration: obtained + time::Duration::seconds(lifetime_seconds),
                account_id: "123456789012".into(),
                assumed_role_arn: "arn:aws:sts::123456789012:assumed-role/app/s".into(),
            },
            obtained,
        }
    }

    #[test]
    fn refreshes_ahead_of_expiry_or_halfway_through_short_lifetimes() {
        let hour = fresh(3600);
        let twenty_minutes = Duration::from_secs(1200);
        assert_eq!(
            hour.refresh_at(twenty_minutes) - hour.obtained,
            time::Duration::seconds(2400)
        );
        let short = fresh(8);
        assert_eq!(
            short.refresh_at(twenty_minutes) - short.obtained,
            time::Duration::seconds(4)
        );
        let tiny = fresh(1);
        assert_eq!(
            tiny.refresh_at(twenty_minutes) - tiny.obtained,
            time::Duration::seconds(1),
            "never a hot loop"
        );
    }

    #[test]
    fn hands_out_credentials_until_a_margin_before_expiry() {
        let hour = fresh(3600);
        let at = |seconds| hour.obtained + time::Duration::seconds(seconds);
        assert!(hour.usable(at(3539)));
        assert!(!hour.usable(at(3540)));
        let short = fresh(8);
        assert!(short.usable(short.obtained + time::Duration::seconds(5)));
        assert!(!short.usable(short.obtained + time::Duration::seconds(6)));
    }

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let waits: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}

/// `keep_fresh` against the fault STS: what a failed publish does.
#[cfg(test)]
mod keep_fresh_tests {
    use std::cell::RefCell;

    use ::tests::{FakeSts, Reply};
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    #[test]
    fn a_failed_publish_retries_the_same_credentials_without_calling_sts() {
        // 8 s credentials: refreshed at 4 s, when the first publish fails; the retry 1 s later
        // publishes the same credentials; the next refresh would come at 8 s.
        let sts = FakeSts::start_with_default(vec![], Reply::expiring_in(Duration::from_secs(8)));
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "header.claims.signature").unwrap();
        let cli = Cli::try_parse_from([
            "irsa-credential-process",
            "--role-arn",
            "arn:aws:iam::123456789012:role/app",
            "--token-file",
            token.to_str().unwrap(),
            "--session-name",
            "test",
            "--endpoint-url",
            &sts.url(),
            "--region",
            "us-west-2",
        ])
        .unwrap();
        let settings = Settings::resolve(&cli.options, |_| None).unwrap();
        let session = SessionName::new("test").unwrap();
        let published = RefCell::new(Vec::new());
        crate::sts::runtime().unwrap().block_on(async {
            let exchanger = Exchanger::new(&settings).unwrap();
            let first = Fresh::new(exchanger.fetch(&session).await.unwrap());
            let run = keep_fresh(
                &exchanger,
                &session,
                Duration::from_secs(1200),
                first,
                Reporter { verbose: false },
                |fresh| {
                    let mut published = published.borrow_mut();
                    published.push(fresh.credentials.access_key_id.clone());
                    std::future::ready(if published.len() == 1 {
                        Err("disk full")
                    } else {
                        Ok(())
                    })
                },
            );
            let _ = tokio::time::timeout(Duration::from_millis(6500), run).await;
        });
        let issued: Vec<String> = sts.issued().into_iter().map(|c| c.access_key_id).collect();
        assert_eq!(
            issued.len(),
            2,
            "the retry did not call STS again: {issued:?}"
        );
        assert_eq!(
            *published.borrow(),
            [issued[1].clone(), issued[1].clone()],
            "the same credentials, published twice"
        );
    }
}
