//! The unsigned STS `AssumeRoleWithWebIdentity` call, with retries inside an overall deadline.

use std::fmt;
use std::time::{Duration, Instant};

use aws_runtime::retries::classifiers::{AwsErrorCodeClassifier, TRANSIENT_ERRORS};
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{AppName, Region};
use aws_sdk_sts::operation::assume_role_with_web_identity::{
    AssumeRoleWithWebIdentityError, AssumeRoleWithWebIdentityOutput,
};
use time::OffsetDateTime;

use crate::answer::{self, AnswerError};
use crate::arn::{RoleArn, SessionName};
use crate::endpoint::StsEndpoint;
use crate::response::{self, CapAnswer};
use crate::transport::{self, CaBundle, TransportError};

/// How the client reaches STS and how hard it tries.
#[derive(Clone, Debug)]
pub struct StsClientOptions {
    pub endpoint: StsEndpoint,
    /// Everything, retries and backoff included, must finish within this.
    pub deadline: Duration,
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    pub ca_bundle: Option<CaBundle>,
    /// Sent in the User-Agent, so CloudTrail shows which tool called.
    pub app_name: &'static str,
}

/// One web-identity exchange.
#[derive(Clone, Copy, Debug)]
pub struct WebIdentityRequest<'a> {
    pub role_arn: &'a RoleArn,
    pub session_name: &'a SessionName,
    /// The ServiceAccount token; never logged.
    pub token: &'a str,
    pub duration_seconds: Option<u32>,
    /// An inline session policy (JSON).
    pub policy: Option<&'a str>,
    /// Managed session policy ARNs.
    pub policy_arns: &'a [String],
}

/// Temporary credentials. `Debug` hides the secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: OffsetDateTime,
    pub account_id: String,
    /// `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub assumed_role_arn: String,
}

impl Credentials {
    /// The variables SDKs and tools read static credentials from.
    pub fn environment(&self) -> [(&'static str, String); 4] {
        [
            ("AWS_ACCESS_KEY_ID", self.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_access_key.clone()),
            ("AWS_SESSION_TOKEN", self.session_token.clone()),
            ("AWS_CREDENTIAL_EXPIRATION", rfc3339(self.expiration)),
        ]
    }

    /// `export NAME='value'` lines for `eval` in any POSIX shell: every value single-quoted,
    /// whatever it holds (credentials are checked before, quoting does not rely on it).
    pub fn export_lines(&self) -> String {
        self.environment()
            .iter()
            .map(|(name, value)| format!("export {name}={}\n", sh_quoted(value)))
            .collect()
    }
}

/// `value` as one single-quoted word for sh, bash, zsh and dash: inside single quotes nothing
/// is special but the quote itself, written `'\''` (POSIX, Shell Command Language 2.2.2).
pub fn sh_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// RFC 3339 in UTC with `Z` and whole seconds, as SDKs parse it.
pub fn rfc3339(at: OffsetDateTime) -> String {
    let at = at
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(at);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .field("assumed_role_arn", &self.assumed_role_arn)
            .finish_non_exhaustive()
    }
}

/// What went wrong with the exchange. [`crate::explain`] turns it into advice.
#[derive(Debug, thiserror::Error)]
pub enum StsError {
    /// STS answered with an error code (`AccessDenied`, `InvalidIdentityToken`, ...).
    #[error("STS refused AssumeRoleWithWebIdentity: {code}: {message}")]
    Refused { code: String, message: String },
    #[error("no answer from {endpoint} within {deadline:?}")]
    Timeout {
        endpoint: StsEndpoint,
        deadline: Duration,
    },
    #[error("cannot reach {endpoint}: {detail}")]
    Unreachable {
        endpoint: StsEndpoint,
        detail: String,
    },
    #[error("unexpected answer from {endpoint}: {detail}")]
    BadResponse {
        endpoint: StsEndpoint,
        detail: String,
    },
    /// An HTTP answer without an STS error code: a proxy, a captive portal, a redirect.
    #[error("{endpoint} answered HTTP {} with {body} instead of an STS answer", status_line(*status))]
    NotSts {
        endpoint: StsEndpoint,
        status: u16,
        body: Body,
    },
    #[error("{endpoint} sent an answer larger than {limit} bytes (STS answers are a few KB)")]
    TooLarge { endpoint: StsEndpoint, limit: usize },
    /// A success answer whose credentials cannot be used (truncated, forged, expired).
    #[error("{endpoint} answered {} with unusable credentials ({why})", times(*attempts))]
    Unusable {
        endpoint: StsEndpoint,
        why: Box<AnswerError>,
        attempts: u32,
    },
}

/// What the body of an answer that is not STS's looked like; never what it said (it may echo
/// the request, token included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    Empty,
    Html,
    /// XML of this many bytes, but not an STS document.
    OtherXml(usize),
    /// This many bytes that are not XML.
    NotXml(usize),
}

impl fmt::Display for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => write!(f, "an empty body"),
            Body::Html => write!(f, "an HTML page"),
            Body::OtherXml(bytes) => write!(f, "{bytes} bytes of other XML"),
            Body::NotXml(bytes) => write!(f, "{bytes} bytes that are not XML"),
        }
    }
}

/// `503 Service Unavailable`.
fn status_line(status: u16) -> String {
    match hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

/// `once`, `5 times`.
fn times(count: u32) -> String {
    match count {
        1 => "once".to_string(),
        _ => format!("{count} times"),
    }
}

impl StsError {
    /// A 2xx answer that is not STS XML: cut short on its way, worth another try.
    fn is_truncated_answer(&self) -> bool {
        matches!(
            self,
            StsError::NotSts {
                status: 200..=299,
                ..
            }
        )
    }

    /// The STS error code, when STS answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            StsError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// An STS client configured for web-identity exchanges; it never looks for AWS credentials.
#[derive(Clone, Debug)]
pub struct StsClient {
    client: aws_sdk_sts::Client,
    options: StsClientOptions,
}

impl StsClient {
    pub fn new(options: StsClientOptions) -> Result<Self, TransportError> {
        // The Go SDK retries InvalidIdentityToken too: a just-created OIDC provider or a JWKS
        // still propagating fails the first calls. IDPCommunicationError is modeled retryable.
        let transient: Vec<&'static str> = TRANSIENT_ERRORS
            .iter()
            .copied()
            .chain(["InvalidIdentityToken"])
            .collect();
        let mut config = aws_sdk_sts::Config::builder()
            .region(Region::new(options.endpoint.region.clone()))
            .use_fips(options.endpoint.fips)
            .http_client(transport::http_client(options.ca_bundle.as_ref())?)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(options.max_attempts.max(1))
                    .with_initial_backoff(Duration::from_millis(200))
                    .with_max_backoff(Duration::from_secs(5)),
            )
            .retry_classifier(
                AwsErrorCodeClassifier::<AssumeRoleWithWebIdentityError>::builder()
                    .transient_errors(transient)
                    .build(),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(options.deadline)
                    .operation_attempt_timeout(options.deadline.min(Duration::from_secs(10)))
                    .connect_timeout(options.deadline.min(Duration::from_secs(3)))
                    .build(),
            );
        config = config.interceptor(CapAnswer);
        if let Ok(app_name) = AppName::new(options.app_name) {
            config = config.app_name(app_name);
        }
        if let Some(url) = &options.endpoint.url {
            config = config.endpoint_url(url);
        }
        Ok(StsClient {
            client: aws_sdk_sts::Client::from_conf(config.build()),
            options,
        })
    }

    pub fn endpoint(&self) -> &StsEndpoint {
        &self.options.endpoint
    }

    /// Trades the token for credentials. A success answer that cannot be used (credentials
    /// failing [`answer::check`], or a 2xx that is not STS XML: a truncated answer) is retried
    /// like a transient failure, within the same attempts and deadline.
    pub async fn assume_role_with_web_identity(
        &self,
        request: WebIdentityRequest<'_>,
    ) -> Result<Credentials, StsError> {
        let deadline = Instant::now() + self.options.deadline;
        let mut attempts = 0;
        let mut last = None;
        loop {
            attempts += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            let error = match tokio::time::timeout(left, self.call(request)).await {
                // An unusable answer says more than the timeout of the retry after it.
                Err(_) => return Err(last.unwrap_or_else(|| self.timeout())),
                Ok(Ok(Ok(credentials))) => return Ok(credentials),
                Ok(Ok(Err(why))) => StsError::Unusable {
                    endpoint: self.options.endpoint.clone(),
                    why: Box::new(why),
                    attempts,
                },
                Ok(Err(error)) if error.is_truncated_answer() => error,
                Ok(Err(error)) => return Err(error),
            };
            // 200 ms, doubling, at most 1.6 s: as the SDK's own backoff for the other failures.
            let pause = Duration::from_millis(200 << (attempts - 1).min(3));
            if attempts >= self.options.max_attempts || Instant::now() + pause >= deadline {
                return Err(error);
            }
            last = Some(error);
            tokio::time::sleep(pause).await;
        }
    }

    fn timeout(&self) -> StsError {
        StsError::Timeout {
            endpoint: self.options.endpoint.clone(),
            deadline: self.options.deadline,
        }
    }

    /// One call (with the SDK's own retries); the inner result is the check of the answer.
    async fn call(
        &self,
        request: WebIdentityRequest<'_>,
    ) -> Result<Result<Credentials, AnswerError>, StsError> {
        let mut call = self
            .client
            .assume_role_with_web_identity()
            .role_arn(request.role_arn.as_str())
            .role_session_name(request.session_name.as_str())
            .web_identity_token(request.token.trim())
            .set_duration_seconds(request.duration_seconds.map(|s| s as i32))
            .set_policy(request.policy.map(str::to_string));
        for arn in request.policy_arns {
            call = call.policy_arns(
                aws_sdk_sts::types::PolicyDescriptorType::builder()
                    .arn(arn)
                    .build(),
            );
        }
        let output = call.send().await.map_err(|error| {
            response::classify(error, &self.options.endpoint, self.options.deadline)
        })?;
        Ok(read_answer(&output, request.role_arn))
    }
}

/// The credentials of a success answer, checked field by field.
fn read_answer(
    output: &AssumeRoleWithWebIdentityOutput,
    role_arn: &RoleArn,
) -> Result<Credentials, AnswerError> {
    let credentials = output
        .credentials()
        .ok_or(AnswerError::Missing("Credentials"))?;
    let expiration =
        OffsetDateTime::from_unix_timestamp(credentials.expiration().secs()).map_err(|_| {
            AnswerError::Malformed {
                field: "Expiration",
                why: "out of range",
            }
        })?;
    let user = output.assumed_role_user();
    let assumed_role_arn = user.map(|user| user.arn().to_string()).unwrap_or_default();
    for (name, value) in [
        ("AssumedRoleId", user.map(|user| user.assumed_role_id())),
        (
            "SubjectFromWebIdentityToken",
            output.subject_from_web_identity_token(),
        ),
        ("Audience", output.audience()),
        ("Provider", output.provider()),
    ] {
        answer::check_text(name, value)?;
    }
    let account_id = assumed_role_arn
        .split(':')
        .nth(4)
        .filter(|account| account.len() == 12)
        .unwrap_or(role_arn.account())
        .to_string();
    let credentials = Credentials {
        access_key_id: credentials.access_key_id().to_string(),
        secret_access_key: credentials.secret_access_key().to_string(),
        session_token: credentials.session_token().to_string(),
        expiration,
        account_id,
        assumed_role_arn,
    };
    answer::check(&credentials, OffsetDateTime::now_utc())?;
    Ok(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quoting alone must hold, even for values the answer check would refuse.
    #[test]
    fn export_lines_survive_eval_in_sh_whatever_the_values() {
        let dir = tempfile::tempdir().unwrap();
        let hostile = [
            "ASIA'$(touch pwned)'",
            "a\"b`touch pwned`c\\",
            "line\nexport EVIL=1; touch pwned",
            "''''",
            "$HOME ${x:-y} !! * ~",
        ];
        for value in hostile {
            let credentials = Credentials {
                access_key_id: value.into(),
                secret_access_key: format!("{value}2"),
                session_token: String::new(),
                expiration: OffsetDateTime::UNIX_EPOCH,
                account_id: String::new(),
                assumed_role_arn: String::new(),
            };
            let script = format!(
                "{}printf '%s|%s|%s' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" \"${{EVIL:-}}\"",
                credentials.export_lines()
            );
            let output = std::process::Command::new("sh")
                .args(["-c", &script])
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(output.status.success(), "{value:?}: {output:?}");
            assert_eq!(
                String::from_utf8(output.stdout).unwrap(),
                format!("{value}|{value}2|"),
                "{value:?}"
            );
            assert!(
                !dir.path().join("pwned").exists(),
                "{value:?} ran a command"
            );
        }
    }

    #[test]
    fn single_quotes_are_closed_escaped_and_reopened() {
        assert_eq!(sh_quoted("it's"), r"'it'\''s'");
        assert_eq!(sh_quoted(""), "''");
    }
}
