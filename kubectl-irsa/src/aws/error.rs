//! An AWS call that failed, said in one line that names the action, what it acted on, and the
//! fix. Codes are the services' own (IAM's in its API reference "Common errors" and per-action
//! errors: AccessDenied, NoSuchEntity, MalformedPolicyDocument, LimitExceeded, Throttling; S3's
//! AccessDenied, NoSuchBucket, NoSuchKey, MalformedPolicy, SlowDown).

use std::error::Error as StdError;
use std::fmt;

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use irsa_sts::network::{describe, one_line};

type Source = Box<dyn StdError + Send + Sync + 'static>;

/// The call that failed: the IAM permission it needs (`iam:GetRole`, `s3:PutObject`), what it
/// acted on, and the policy document it sent, if any.
#[derive(Clone, Debug)]
pub struct Call {
    action: String,
    resource: String,
    policy: Option<String>,
}

impl Call {
    /// An IAM API call: `operation` as the API names it (`UpdateAssumeRolePolicy`), `resource`
    /// an ARN or a name.
    pub fn iam(operation: &str, resource: &str) -> Self {
        Call::new(format!("iam:{operation}"), resource)
    }

    /// An S3 call: `permission` is the IAM action it needs, which is not always the operation's
    /// name (PutPublicAccessBlock needs `PutBucketPublicAccessBlock`, HeadBucket `ListBucket`);
    /// `resource` as `s3://bucket/key` or an ARN.
    pub fn s3(permission: &str, resource: &str) -> Self {
        Call::new(format!("s3:{permission}"), resource)
    }

    /// The policy document the call sends, shown when the service rejects it.
    pub fn policy(mut self, document: &str) -> Self {
        self.policy = Some(document.to_string());
        self
    }

    fn new(action: String, resource: &str) -> Self {
        Call {
            action,
            resource: resource.to_string(),
            policy: None,
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} on {}",
            self.action,
            irsa_sts::text::line(&self.resource)
        )
    }
}

/// The README section every AccessDenied points at.
const POLICY_HINT: &str = "the README lists the IAM policy each verb needs";

/// A failed AWS call; each keeps the SDK's error as its source. The call is boxed so that the
/// plugin's `Error` stays small (clippy's result_large_err).
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error(
        "no AWS credentials found for {call} ({}): {}",
        chain(.profile.as_deref()),
        credentials_fix(.profile.as_deref())
    )]
    NoCredentials {
        call: Box<Call>,
        profile: Option<String>,
        #[source]
        source: Source,
    },
    #[error(
        "cannot load AWS credentials for {call}: {detail}; run `aws sso login` if the profile's session expired, or give credentials another way (--profile, AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; off EC2, AWS_EC2_METADATA_DISABLED=true skips instance metadata)"
    )]
    Credentials {
        call: Box<Call>,
        detail: String,
        #[source]
        source: Source,
    },
    #[error(
        "AWS rejected the credentials for {call} ({code}: {message}); they are expired or wrong: refresh them or pick another --profile"
    )]
    BadCredentials {
        call: Box<Call>,
        code: String,
        message: String,
        #[source]
        source: Source,
    },
    #[error("AWS refused {call} (AccessDenied: {message}); allow {} to the caller or use --profile with a principal that has it ({POLICY_HINT})", .call.action)]
    AccessDenied {
        call: Box<Call>,
        message: String,
        #[source]
        source: Source,
    },
    #[error("{} does not exist ({} answered {code}: {message}); check the name, the account and the partition", irsa_sts::text::line(&.call.resource), .call.action)]
    NotFound {
        call: Box<Call>,
        code: String,
        message: String,
        #[source]
        source: Source,
    },
    #[error("AWS rejected the policy sent with {call} as malformed ({message}); the policy sent: {}", compact(.call.policy.as_deref()))]
    MalformedPolicy {
        call: Box<Call>,
        message: String,
        #[source]
        source: Source,
    },
    #[error(
        "{call} exceeds an IAM quota (LimitExceeded: {message}); remove unused entries or request a quota increase in Service Quotas"
    )]
    LimitExceeded {
        call: Box<Call>,
        message: String,
        #[source]
        source: Source,
    },
    #[error(
        "AWS kept throttling {call} after the SDK's retries ({code}: {message}); wait a minute and run again, or raise AWS_MAX_ATTEMPTS"
    )]
    Throttled {
        call: Box<Call>,
        code: String,
        message: String,
        #[source]
        source: Source,
    },
    #[error(
        "cannot reach AWS for {call}: {detail}; check the network and proxy, and AWS_ENDPOINT_URL_IAM, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL if set"
    )]
    Network {
        call: Box<Call>,
        detail: String,
        #[source]
        source: Source,
    },
    #[error("{call} failed ({code}: {message})")]
    Service {
        call: Box<Call>,
        code: String,
        message: String,
        #[source]
        source: Source,
    },
    #[error("{call} failed: {detail}")]
    Other {
        call: Box<Call>,
        detail: String,
        #[source]
        source: Source,
    },
    #[error("no AWS region for S3: give --region, or set AWS_REGION or the profile's region")]
    NoRegion,
    #[error(transparent)]
    Transport(irsa_sts::TransportError),
    #[error(
        "cannot use AWS_CA_BUNDLE={}: {reason}; point it at a readable PEM file of CA certificates, or unset it",
        irsa_sts::text::line(&path.display().to_string())
    )]
    CaBundle {
        path: std::path::PathBuf,
        reason: String,
        #[source]
        source: irsa_sts::TransportError,
    },
}

impl AwsError {
    pub(super) fn ca_bundle(path: &std::path::Path, source: irsa_sts::TransportError) -> Self {
        let reason = match &source {
            irsa_sts::TransportError::ReadBundle { source, .. } => source.to_string(),
            irsa_sts::TransportError::BadBundle { why, .. } => {
                format!("no usable certificate ({why})")
            }
            other => other.to_string(),
        };
        AwsError::CaBundle {
            path: path.to_path_buf(),
            reason,
            source,
        }
    }

    /// Whether the entity the call named does not exist: IAM NoSuchEntity, S3 NoSuchBucket,
    /// NoSuchKey, NoSuchBucketPolicy, or any other answer with status 404 (HeadBucket's
    /// body-less `NotFound`, NoSuchPublicAccessBlockConfiguration).
    pub fn is_not_found(&self) -> bool {
        matches!(self, AwsError::NotFound { .. })
    }

    /// The service's error code, when the service answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::AccessDenied { .. } => Some("AccessDenied"),
            AwsError::LimitExceeded { .. } => Some("LimitExceeded"),
            AwsError::MalformedPolicy { .. } => Some("MalformedPolicyDocument"),
            AwsError::NotFound { code, .. }
            | AwsError::BadCredentials { code, .. }
            | AwsError::Throttled { code, .. }
            | AwsError::Service { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Turns an SDK result into one with an [`AwsError`] naming `call`.
pub trait Context<T> {
    fn context(self, call: Call) -> Result<T, AwsError>;
}

impl<T, E> Context<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    fn context(self, call: Call) -> Result<T, AwsError> {
        self.map_err(|error| classify(Box::new(call), error))
    }
}

/// Who answered what: the service's code first, then what the SDK saw before any answer.
fn classify<E>(call: Box<Call>, error: SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let status = error.raw_response().map(|raw| raw.status().as_u16());
    let code = error.code().map(str::to_string);
    let message = match (error.message(), status) {
        (Some(message), _) if !message.trim().is_empty() => message_line(message),
        // A HEAD answer, or a proxy's: the status is all there is to say.
        (_, Some(status)) => format!("HTTP {status} without a message"),
        _ => String::new(),
    };
    if let Some(code) = code {
        return answered(call, code, message, status, Box::new(error));
    }
    // A HEAD answer has no body to carry a code (S3's HeadBucket, HeadObject).
    match status {
        Some(404) => answered(call, "NotFound".into(), message, status, Box::new(error)),
        Some(403) => answered(
            call,
            "AccessDenied".into(),
            message,
            status,
            Box::new(error),
        ),
        _ => unanswered(call, error),
    }
}

/// What an error code means to the user, whatever the service spells it.
enum Kind {
    Denied,
    NotFound,
    Malformed,
    Limit,
    Throttled,
    BadCredentials,
    Other,
}

fn kind(code: &str, status: Option<u16>) -> Kind {
    match code {
        "AccessDenied" | "AccessDeniedException" | "Forbidden" => Kind::Denied,
        "NoSuchEntity" | "NoSuchBucket" | "NoSuchKey" | "NoSuchBucketPolicy" => Kind::NotFound,
        "MalformedPolicyDocument" | "MalformedPolicy" => Kind::Malformed,
        "LimitExceeded" => Kind::Limit,
        "Throttling"
        | "ThrottlingException"
        | "SlowDown"
        | "RequestLimitExceeded"
        | "TooManyRequestsException" => Kind::Throttled,
        "InvalidClientTokenId"
        | "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "ExpiredTokenException"
        | "TokenRefreshRequired" => Kind::BadCredentials,
        // Any other "not there" (NoSuchPublicAccessBlockConfiguration, NoSuchLifecycle...).
        _ if status == Some(404) => Kind::NotFound,
        _ if status == Some(429) => Kind::Throttled,
        _ => Kind::Other,
    }
}

fn answered(
    call: Box<Call>,
    code: String,
    message: String,
    status: Option<u16>,
    source: Source,
) -> AwsError {
    #[rustfmt::skip]
    let error = match kind(&code, status) {
        Kind::Denied => AwsError::AccessDenied { call, message, source },
        Kind::NotFound => AwsError::NotFound { call, code, message, source },
        Kind::Malformed => AwsError::MalformedPolicy { call, message, source },
        Kind::Limit => AwsError::LimitExceeded { call, message, source },
        Kind::Throttled => AwsError::Throttled { call, code, message, source },
        Kind::BadCredentials => AwsError::BadCredentials { call, code, message, source },
        Kind::Other => AwsError::Service { call, code, message, source },
    };
    error
}

/// No answer from the service: credentials could not be loaded, or the connection failed.
fn unanswered<E>(call: Box<Call>, error: SdkError<E, HttpResponse>) -> AwsError
where
    E: StdError + Send + Sync + 'static,
{
    if let Some(missing) = find::<super::NoCredentialsFound>(&error) {
        let profile = missing.profile.clone();
        return AwsError::NoCredentials {
            call,
            profile,
            source: Box::new(error),
        };
    }
    if let Some(credentials) = find::<CredentialsError>(&error) {
        let detail = innermost(credentials);
        return AwsError::Credentials {
            call,
            detail,
            source: Box::new(error),
        };
    }
    match &error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => AwsError::Network {
            call,
            detail: describe(&error),
            source: Box::new(error),
        },
        _ => AwsError::Other {
            call,
            detail: innermost(&error),
            source: Box::new(error),
        },
    }
}

/// The first error of type `T` in `error`'s source chain.
fn find<'a, T: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if let Some(found) = current.downcast_ref::<T>() {
            return Some(found);
        }
        cause = current.source();
    }
    None
}

/// The deepest message of `error`'s chain, in one line: the SDK's outer layers only say
/// "dispatch failure" or "failed to construct request".
fn innermost(error: &(dyn StdError + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    one_line(&current.to_string())
}

/// The service's message on one line, escaped; longer than [`one_line`] allows, because the
/// end of an AccessDenied says which kind of policy refused ("because no identity-based policy
/// allows", "with an explicit deny in a service control policy").
fn message_line(text: &str) -> String {
    irsa_sts::text::first_line(text, 500)
}

/// What the default chain looked at, for the no-credentials message.
fn chain(profile: Option<&str>) -> String {
    match profile {
        Some(profile) => format!(
            "profile {} is not in ~/.aws/config or ~/.aws/credentials, or holds no credentials",
            irsa_sts::text::line(profile)
        ),
        None => "tried the environment, the default profile of ~/.aws/config and ~/.aws/credentials, web identity, container and instance roles".to_string(),
    }
}

/// The commands that give the chain credentials.
fn credentials_fix(profile: Option<&str>) -> String {
    match profile {
        Some(profile) => {
            let quoted = crate::shell::quote(profile);
            format!(
                "run `aws configure --profile {quoted}` or `aws sso login --profile {quoted}`, or name a configured profile with --profile or AWS_PROFILE"
            )
        }
        None => "run `aws configure` or `aws sso login`, set --profile or AWS_PROFILE to a configured profile, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_string(),
    }
}

/// The policy on one line, compacted when it is JSON.
fn compact(policy: Option<&str>) -> String {
    let Some(policy) = policy else {
        return "(none)".to_string();
    };
    let compacted = serde_json::from_str::<serde_json::Value>(policy)
        .map(|value| value.to_string())
        .unwrap_or_else(|_| policy.to_string());
    irsa_sts::text::line(&compacted).into_owned()
}
