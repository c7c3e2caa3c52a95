//! The exchange every mode shares: read the token, call STS, explain a failure.

use irsa_sts::{
    CaBundle, Claims, Credentials, ExplainContext, SessionName, StsClient, StsClientOptions,
    WebIdentityRequest,
};
use time::OffsetDateTime;

use crate::provider::RunError;
use crate::settings::{SessionSource, Settings};

/// Attempts per STS call, the first included; the deadline bounds them all.
const STS_ATTEMPTS: u32 = 5;

/// An STS client bound to the settings; one per process, reused for every refresh.
pub struct Exchanger {
    client: StsClient,
    settings: Settings,
}

impl Exchanger {
    /// Builds the client; call it inside the Tokio runtime that will run the exchanges.
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let ca_bundle = settings
            .ca_bundle
            .as_deref()
            .map(CaBundle::from_file)
            .transpose()
            .map_err(|e| e.to_string())?;
        let client = StsClient::new(StsClientOptions {
            endpoint: settings.endpoint.clone(),
            deadline: settings.deadline,
            max_attempts: STS_ATTEMPTS,
            ca_bundle,
            app_name: "irsa-credential-process",
        })
        .map_err(|e| e.to_string())?;
        Ok(Exchanger {
            client,
            settings: settings.clone(),
        })
    }

    /// Trades `token` for credentials; the error is already explained.
    pub async fn exchange(
        &self,
        session: &SessionName,
        token: &str,
    ) -> Result<Credentials, String> {
        let settings = &self.settings;
        let request = WebIdentityRequest {
            role_arn: &settings.role_arn,
            session_name: session,
            token,
            duration_seconds: Some(settings.duration_seconds),
            policy: settings.policy.as_deref(),
            policy_arns: &settings.policy_arns,
        };
        self.client
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
    }

    /// Reads the token afresh (the kubelet rotates it in place) and trades it.
    pub async fn fetch(&self, session: &SessionName) -> Result<Credentials, String> {
        let token = read_token(&self.settings).map_err(|e| e.to_string())?;
        self.exchange(session, &token).await
    }
}

/// Re-read on every STS call: the kubelet rotates the token in place.
pub fn read_token(settings: &Settings) -> Result<String, RunError> {
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

/// The session name, and the token when it had to be read to find it.
pub fn session(settings: &Settings) -> Result<(SessionName, Option<String>), RunError> {
    match &settings.session {
        SessionSource::Given(name) => Ok((name.clone(), None)),
        SessionSource::FromToken => {
            let token = read_token(settings)?;
            let name = session_from_token(&token).ok_or(RunError::NoSessionName)?;
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
pub fn runtime() -> Result<tokio::runtime::Runtime, RunError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)
}
