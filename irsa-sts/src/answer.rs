//! What credentials must look like before anything hands them out: an answer from STS and an
//! entry read back from a cache pass the same check. A proxy that truncates the answer, a fake
//! that forges it or a file edited by someone else must not reach a `credential_process` JSON,
//! an `export` line for `eval` or a credentials file, where a newline or a quote would be code.

use time::{Duration, OffsetDateTime};

use crate::exchange::{Credentials, rfc3339};

/// The longest session STS grants (`DurationSeconds` at most 43200, the role's
/// MaxSessionDuration at most 12 h; AWS STS API reference, AssumeRoleWithWebIdentity).
pub const LONGEST_SESSION: Duration = Duration::hours(12);
/// How far this machine's clock may lag behind STS's before a valid answer looks too long.
/// SigV4 tolerates 5 minutes of skew; pods drift more, so a little more is allowed.
pub const CLOCK_SKEW: Duration = Duration::minutes(15);

/// Why credentials cannot be handed out; names the field, never its value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("no {0}")]
    Missing(&'static str),
    #[error("{field} is {why}")]
    Malformed {
        field: &'static str,
        why: &'static str,
    },
    #[error("Expiration {0} is already past")]
    Expired(String),
    #[error("Expiration {0} is further away than the 12 hours STS grants at most")]
    TooFar(String),
}

/// Checks every field of `credentials` as of `now`.
pub fn check(credentials: &Credentials, now: OffsetDateTime) -> Result<(), AnswerError> {
    let Credentials {
        access_key_id,
        secret_access_key,
        session_token,
        expiration,
        account_id,
        assumed_role_arn,
    } = credentials;
    // Access key ids are uppercase letters and digits (ASIA...), 16 to 128 long (STS API
    // reference, Credentials.AccessKeyId).
    field("AccessKeyId", access_key_id, 16..=128, |c| {
        c.is_ascii_uppercase() || c.is_ascii_digit()
    })?;
    field("SecretAccessKey", secret_access_key, 1..=256, is_base64)?;
    field("SessionToken", session_token, 1..=16 * 1024, is_base64)?;
    field(
        "AssumedRoleUser.Arn",
        assumed_role_arn,
        1..=2048,
        is_arn_char,
    )?;
    if !assumed_role_arn.starts_with("arn:") {
        return Err(AnswerError::Malformed {
            field: "AssumedRoleUser.Arn",
            why: "not an ARN",
        });
    }
    field("the account id", account_id, 12..=12, |c| {
        c.is_ascii_digit()
    })?;
    check_expiration(*expiration, now)
}

/// The expiration must lie ahead, and no further than STS can grant.
pub fn check_expiration(
    expiration: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), AnswerError> {
    if expiration <= now {
        return Err(AnswerError::Expired(rfc3339(expiration)));
    }
    if expiration - now > LONGEST_SESSION + CLOCK_SKEW {
        return Err(AnswerError::TooFar(rfc3339(expiration)));
    }
    Ok(())
}

/// A free-text field of the answer (SubjectFromWebIdentityToken, Audience, Provider,
/// AssumedRoleId): printable, one line, bounded. Absent is fine: STS leaves some out.
pub fn check_text(name: &'static str, value: Option<&str>) -> Result<(), AnswerError> {
    match value {
        None => Ok(()),
        Some(value) => field(name, value, 0..=2048, |c| !c.is_control()),
    }
}

fn field(
    name: &'static str,
    value: &str,
    length: std::ops::RangeInclusive<usize>,
    allowed: impl Fn(char) -> bool,
) -> Result<(), AnswerError> {
    if value.is_empty() && *length.start() > 0 {
        return Err(AnswerError::Missing(name));
    }
    if !length.contains(&value.chars().count()) {
        return Err(AnswerError::Malformed {
            field: name,
            why: "of an impossible length",
        });
    }
    if !value.chars().all(allowed) {
        return Err(AnswerError::Malformed {
            field: name,
            why: "made of characters it never holds",
        });
    }
    Ok(())
}

/// Secret keys and session tokens are base64 text.
fn is_base64(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+/=".contains(c)
}

/// `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION`: role and session names are
/// `[\w+=,.@-]` (IAM and STS API references), partitions letters and dashes.
fn is_arn_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-:/".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    pub(crate) fn valid() -> Credentials {
        Credentials {
            access_key_id: "ASIAEXAMPLE000000001".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEU=".into(),
            expiration: now() + Duration::hours(1),
            account_id: "123456789012".into(),
            assumed_role_arn:
                "arn:aws-cn:sts::123456789012:assumed-role/app/kubectl-irsa.shop.cart".into(),
        }
    }

    #[test]
    fn real_looking_credentials_pass() {
        assert_eq!(check(&valid(), now()), Ok(()));
        let twelve_hours = Credentials {
            expiration: now() + LONGEST_SESSION + Duration::minutes(5),
            ..valid()
        };
        assert_eq!(check(&twelve_hours, now()), Ok(()));
    }

    #[test]
    fn each_hostile_field_is_named_without_its_value() {
        let cases = [
            (
                Credentials {
                    access_key_id: String::new(),
                    ..valid()
                },
                "no AccessKeyId",
            ),
            (
                Credentials {
                    access_key_id: "ASIA'$(touch x)'00000".into(),
                    ..valid()
                },
                "AccessKeyId is made of characters it never holds",
            ),
            (
                Credentials {
                    secret_access_key: String::new(),
                    ..valid()
                },
                "no SecretAccessKey",
            ),
            (
                Credentials {
                    session_token: "abc\n[evil]".into(),
                    ..valid()
                },
                "SessionToken is made of characters it never holds",
            ),
            (
                Credentials {
                    assumed_role_arn: String::new(),
                    ..valid()
                },
                "no AssumedRoleUser.Arn",
            ),
            (
                Credentials {
                    expiration: OffsetDateTime::UNIX_EPOCH,
                    ..valid()
                },
                "Expiration 1970-01-01T00:00:00Z is already past",
            ),
            (
                Credentials {
                    expiration: now() + Duration::days(36500),
                    ..valid()
                },
                "Expiration 2126-12-22T08:00:00Z is further away than the 12 hours STS grants at most",
            ),
        ];
        for (credentials, expected) in cases {
            assert_eq!(
                check(&credentials, now()).unwrap_err().to_string(),
                expected
            );
        }
    }

    #[test]
    fn control_characters_print_escaped() {}

    #[test]
    fn free_text_fields_are_one_printable_line() {
        assert_eq!(check_text("Audience", None), Ok(()));
        assert_eq!(check_text("Audience", Some("sts.amazonaws.com")), Ok(()));
        assert!(check_text("Audience", Some("a\nb")).is_err());
        assert!(check_text("Audience", Some("a\u{1b}[31m")).is_err());
    }
}
