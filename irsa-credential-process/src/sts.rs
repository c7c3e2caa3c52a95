//! The exchange every mode shares: read the token, call STS, explain a failure. Its error,
//! [`ExchangeError`], is typed so that a caller can tell a token problem from an STS refusal,
//! and prints the one-line explanation that names the broken link and the fix.

use irsa_sts::file::FileError;
use irsa_sts::{
    CaBundle, Claims, Credentials, ExplainContext, Explained, SessionName, StsClient,
    StsClientOptions, TransportError, WebIdentityRequest,
};
use time::OffsetDateTime;

use crate::settings::{SessionSource, Settings};

/// Attempts per STS call, the first included; the deadline bounds them all.
const STS_ATTEMPTS: u32 = 5;

/// Why no credentials came back; every message names the input or link and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error(
        "cannot read the token file {path} (AWS_WEB_IDENTITY_TOKEN_FILE): {source}; the pod must mount the projected ServiceAccount token: is the ServiceAccount annotated with eks.amazonaws.com/role-arn and the pod identity webhook running?"
    )]
    TokenUnreadable {
        path: String,
        source: std::io::Error,
    },
    /// A FIFO, a device, a directory or a file too large to be a token.
    #[error(
        "the token file {path} (AWS_WEB_IDENTITY_TOKEN_FILE) {source}: point AWS_WEB_IDENTITY_TOKEN_FILE at the projected ServiceAccount token, a regular file of about 1 KB"
    )]
    TokenNotAToken {
        path: String,
        source: irsa_sts::file::FileError,
    },
    #[error(
        "the token file {path} (AWS_WEB_IDENTITY_TOKEN_FILE) is empty: the kubelet has not written the projected token yet, or the path is not the projected token"
    )]
    TokenEmpty { path: String },
    #[error(
        "no session name: set AWS_ROLE_SESSION_NAME or pass --session-name (the hostname and the token gave none)"
    )]
    NoSessionName,
    /// The STS client could not be built: a bad CA bundle, no TLS, no resolver.
    #[error(transparent)]
    Client(#[from] TransportError),
    /// STS refused, timed out or could not be reached; explained with the token's claims.
    #[error(transparent)]
    Sts(#[from] Explained),
    /// The exchange runs on a Tokio runtime, which could not be built (no threads, no fds).
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// An STS client bound to the settings; one per process, reused for every refresh.
pub struct Exchanger {
    client: StsClient,
    settings: Settings,
}

impl Exchanger {
    /// Builds the client; call it inside the Tokio runtime that will run the exchanges.
    pub fn new(settings: &Settings) -> Result<Self, ExchangeError> {
        let ca_bundle = settings
            .ca_bundle
            .as_deref()
            .map(CaBundle::from_file)
            .transpose()?;
        let client = StsClient::new(StsClientOptions {
            endpoint: settings.endpoint.clone(),
            deadline: settings.deadline,
            max_attempts: STS_ATTEMPTS,
            ca_bundle,
            app_name: "irsa-credential-process",
        })?;
        Ok(Exchanger {
            client,
            settings: settings.clone(),
        })
    }

    /// Trades `token` for credentials; a failure comes explained.
    pub async fn exchange(
        &self,
        session: &SessionName,
        token: &str,
    ) -> Result<Credentials, ExchangeError> {
        let settings = &self.settings;
        let request = WebIdentityRequest {
            role_arn: &settings.role_arn,
            session_name: session,
            token,
            duration_seconds: Some(settings.duration_seconds),
            policy: settings.policy.as_deref(),
            policy_arns: &settings.policy_arns,
        };
        let failed = match self.client.assume_role_with_web_identity(request).await {
            Ok(credentials) => return Ok(credentials),
            Err(error) => error,
        };
        let claims = Claims::decode(token).ok();
        let source = format!("the token file {}", settings.token_file.display());
        let context = ExplainContext {
            role_arn: &settings.role_arn,
            claims: claims.as_ref(),
            token_source: &source,
            now: OffsetDateTime::now_utc(),
        };
        Err(Explained::new(failed, &context).into())
    }

    /// Reads the token afresh (the kubelet rotates it in place) and trades it.
    pub async fn fetch(&self, session: &SessionName) -> Result<Credentials, ExchangeError> {
        let token = read_token(&self.settings)?;
        self.exchange(session, &token).await
    }
}

/// The most a token file may hold: projected tokens are about 1 KB, and JWTs with many
/// claims stay under a few tens of KB.
pub const MAX_TOKEN: u64 = 64 * 1024;

/// Re-read on every STS call: the kubelet rotates the token in place. Read as a regular file
/// (a FIFO is refused at once, a device or an endless file stops at [`MAX_TOKEN`]).
pub fn read_token(settings: &Settings) -> Result<String, ExchangeError> {
    let path = settings.token_file.display().to_string();
    let read = irsa_sts::file::read_regular_text(&settings.token_file, MAX_TOKEN);
    let token = read.map_err(|error| match error {
        FileError::Io(source) => ExchangeError::TokenUnreadable {
            path: path.clone(),
            source,
        },
        source => ExchangeError::TokenNotAToken {
            path: path.clone(),
            source,
        },
    })?;
    let token = token.trim().to_string();
    if token.is_empty() {
        return Err(ExchangeError::TokenEmpty { path });
    }
    Ok(token)
}

/// The session name, and the token when it had to be read to find it.
pub fn session(settings: &Settings) -> Result<(SessionName, Option<String>), ExchangeError> {
    match &settings.session {
        SessionSource::Given(name) => Ok((name.clone(), None)),
        SessionSource::FromToken => {
            let token = read_token(settings)?;
            let name = session_from_token(&token).ok_or(ExchangeError::NoSessionName)?;
            Ok((name, Some(token)))
        }
    }
}

/// `NAMESPACE.NAME` of the token's ServiceAccount.
fn session_from_token(token: &str) -> Option<SessionName> {
    let claims = Claims::decode(token).ok()?;
    let (namespace, name) = claims.service_account()?;
    SessionName::sanitized(&format!("{namespace}.{name}"))
}

/// A Tokio runtime on this thread: one process serves one pod, so one thread is plenty.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}
