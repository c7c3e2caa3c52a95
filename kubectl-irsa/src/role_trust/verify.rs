//! `--verify`: the binding proven as `whoami` proves it (a TokenRequest, then STS
//! AssumeRoleWithWebIdentity from this machine), retried while IAM's change reaches STS. IAM is
//! eventually consistent: a new role or trust policy can be refused for seconds after the write
//! (IAM User Guide, "Troubleshoot IAM": changes are not always immediately visible), as
//! AccessDenied or, for a new provider, InvalidIdentityToken. Bounded by `--verify-timeout`.

use std::time::{Duration, Instant};

use irsa_sts::StsError;

use crate::error::Error;
use crate::identity::{self, Identity, IdentityOptions};
use crate::kube_api::Cluster;
use crate::output::Output;
use crate::progress::Progress;

/// How the proof ended.
pub enum Verdict {
    Proven {
        identity: Box<Identity>,
        attempts: u32,
        after: Duration,
    },
    /// STS still refused when the time was up, or refused for a reason waiting cannot fix.
    Refused {
        error: Error,
        attempts: u32,
        after: Duration,
    },
}

/// Trades a fresh token of ServiceAccount `name` until STS accepts it or `timeout` passes.
pub async fn verify(
    cluster: &Cluster,
    name: &str,
    options: &IdentityOptions<'_>,
    timeout: Duration,
    out: Output,
) -> Verdict {
    let start = Instant::now();
    let what = format!("{}/{name}", cluster.namespace);
    let progress = Progress::start(
        &format!("verifying: a token of {what} traded with STS"),
        out,
    );
    let mut attempts = 0;
    let verdict = loop {
        attempts += 1;
        let error = match identity::assume(cluster, name, options).await {
            Ok(identity) => {
                break Verdict::Proven {
                    identity: Box::new(identity),
                    attempts,
                    after: start.elapsed(),
                };
            }
            Err(error) => error,
        };
        let wait = backoff(attempts).min(timeout.saturating_sub(start.elapsed()));
        let Some(code) = propagating(&error).filter(|_| !wait.is_zero()) else {
            break Verdict::Refused {
                error,
                attempts,
                after: start.elapsed(),
            };
        };
        progress.update(&format!(
            "verifying: STS refused the token of {what} ({code}) on attempt {attempts}: IAM changes take seconds to reach STS, trying again"
        ));
        tokio::time::sleep(wait).await;
    };
    progress.finish();
    verdict
}

/// The STS code of a refusal that IAM's propagation explains, and waiting may cure.
fn propagating(error: &Error) -> Option<&str> {
    match error {
        Error::Sts(explained) => match &explained.error {
            StsError::Refused { code, .. }
                if code == "AccessDenied" || code == "InvalidIdentityToken" =>
            {
                Some(code)
            }
            _ => None,
        },
        _ => None,
    }
}

/// 1, 2, 4 then 5 seconds between attempts.
fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1_u64 << attempt.saturating_sub(1).min(3)).min(Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_to_five_seconds() {
        let waits: Vec<u64> = (1..=6).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5, 5]);
    }
}
