//! The unsigned STS `AssumeRoleWithWebIdentity` call, with retries inside an overall deadline.

use std::fmt;
use std::time::Duration;

use aws_runtime::retries::classifiers::{AwsErrorCodeClassifier, TRANSIENT_ERRORS};
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{AppName, Region};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError;
use aws_smithy_types::error::display::DisplayErrorContext;
use time::OffsetDateTime;

use crate::arn::{RoleArn, SessionName};
use crate::endpoint::StsEndpoint;
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

    /// `export NAME='value'` lines for `eval` (the values never contain a quote).
    pub fn export_lines(&self) -> String {
        self.environment()
            .iter()
            .map(|(name, value)| format!("export {name}='{value}'\n"))
            .collect()
    }
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
}

impl StsError {
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

    /// Trades the token for credentials.
    pub async fn assume_role_with_web_identity(
        &self,
        request: WebIdentityRequest<'_>,
    ) -> Result<Credentials, StsError> {
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
        let output = call.send().await.map_err(|e| self.classify(e))?;
        let bad = |detail: &str| StsError::BadResponse {
            endpoint: self.options.endpoint.clone(),
            detail: detail.to_string(),
        };
        let credentials = output.credentials().ok_or_else(|| bad("no Credentials"))?;
        let expiration = OffsetDateTime::from_unix_timestamp(credentials.expiration().secs())
            .map_err(|_| bad("Expiration out of range"))?;
        let assumed_role_arn = output
            .assumed_role_user()
            .map(|user| user.arn().to_string())
            .unwrap_or_default();
        let account_id = assumed_role_arn
            .split(':')
            .nth(4)
            .filter(|account| account.len() == 12)
            .unwrap_or(request.role_arn.account())
            .to_string();
        Ok(Credentials {
            access_key_id: credentials.access_key_id().to_string(),
            secret_access_key: credentials.secret_access_key().to_string(),
            session_token: credentials.session_token().to_string(),
            expiration,
            account_id,
            assumed_role_arn,
        })
    }

    fn classify(&self, error: SdkError<AssumeRoleWithWebIdentityError>) -> StsError {
        let endpoint = self.options.endpoint.clone();
        match error {
            SdkError::ServiceError(service) => {
                let err = service.err();
                StsError::Refused {
                    code: err.code().unwrap_or("Unknown").to_string(),
                    message: err.message().unwrap_or_default().to_string(),
                }
            }
            SdkError::TimeoutError(_) => StsError::Timeout {
                endpoint,
                deadline: self.options.deadline,
            },
            SdkError::DispatchFailure(failure) if failure.is_timeout() => StsError::Timeout {
                endpoint,
                deadline: self.options.deadline,
            },
            SdkError::DispatchFailure(failure) => StsError::Unreachable {
                endpoint,
                detail: failure
                    .as_connector_error()
                    .map(|e| DisplayErrorContext(e).to_string())
                    .unwrap_or_else(|| format!("{failure:?}")),
            },
            other => StsError::BadResponse {
                endpoint,
                detail: DisplayErrorContext(&other).to_string(),
            },
        }
    }
}
