//! An in-test fake AWS STS that speaks the real awsQuery protocol for
//! `AssumeRoleWithWebIdentity` and answers from a script.
//!
//! Requests are form-encoded (`Action=AssumeRoleWithWebIdentity&Version=2011-06-15&...`, in the
//! body of a POST or in the query string); answers are the XML documents real STS sends, which
//! the Rust SDK and botocore parse. Each successful answer carries fresh credentials whose
//! access key id (`ASIAFAKE000000000001`, `ASIAFAKE000000000002`, ...) tells a test whether a
//! binary got new credentials or reused cached ones.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};

use crate::server::{BackgroundServer, Handler};
use crate::sts_xml::{self, AssumedRole};
use crate::tls::ServerTls;

/// What the fake answers to one `AssumeRoleWithWebIdentity` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Fresh credentials expiring `lifetime` after the answer is sent.
    Success {
        /// Time from the answer to the credentials' `Expiration`; the request's
        /// `DurationSeconds` is recorded but does not change it.
        lifetime: Duration,
    },
    /// An STS error document (`<ErrorResponse>`) with this HTTP status, code and message.
    Error {
        /// The HTTP status, such as 400 or 403.
        status: u16,
        /// The error code, such as `InvalidIdentityToken`.
        code: String,
        /// The human-readable message.
        message: String,
    },
    /// Waits `delay` (the call is counted at once), then answers `then`.
    Slow {
        /// How long to wait before answering.
        delay: Duration,
        /// The answer sent after the delay.
        then: Box<Reply>,
    },
}

impl Reply {
    /// Credentials valid for one hour (STS's default duration).
    pub fn success() -> Self {
        Self::expiring_in(Duration::from_secs(3600))
    }

    /// Credentials expiring `lifetime` after the answer.
    pub fn expiring_in(lifetime: Duration) -> Self {
        Self::Success { lifetime }
    }

    /// An error answer with the given HTTP status, error code and message.
    pub fn error(status: u16, code: &str, message: &str) -> Self {
        Self::Error {
            status,
            code: code.to_owned(),
            message: message.to_owned(),
        }
    }

    /// `400 Throttling: Rate exceeded`, which SDKs retry.
    pub fn throttled() -> Self {
        Self::error(400, "Throttling", "Rate exceeded")
    }

    /// `500 InternalFailure`, which SDKs retry.
    pub fn server_error() -> Self {
        Self::error(
            500,
            "InternalFailure",
            "An internal error occurred. Try your request again.",
        )
    }

    /// `400 InvalidIdentityToken`, what STS says when the OIDC provider is unknown or the
    /// token's audience, issuer or key does not match.
    pub fn invalid_identity_token() -> Self {
        Self::error(
            400,
            "InvalidIdentityToken",
            "No OpenIDConnect provider found in your account for https://oidc.example.com/id/FAKE",
        )
    }

    /// `403 AccessDenied`, what STS says when the role's trust policy does not match.
    pub fn access_denied() -> Self {
        Self::error(
            403,
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        )
    }

    /// This reply, answered only after `delay`.
    pub fn after(self, delay: Duration) -> Self {
        Self::Slow {
            delay,
            then: Box::new(self),
        }
    }
}

/// One request the fake received, with its awsQuery parameters parsed.
///
/// String fields are empty when the parameter was absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StsRequest {
    /// `Action`, e.g. `AssumeRoleWithWebIdentity`.
    pub action: String,
    /// `Version`, e.g. `2011-06-15`.
    pub version: String,
    /// `RoleArn`.
    pub role_arn: String,
    /// `RoleSessionName`.
    pub role_session_name: String,
    /// `WebIdentityToken`.
    pub web_identity_token: String,
    /// `DurationSeconds`, when present and numeric.
    pub duration_seconds: Option<u32>,
    /// `Policy` (an inline session policy), when present.
    pub policy: Option<String>,
    /// `PolicyArns.member.N.arn`, in member order.
    pub policy_arns: Vec<String>,
    /// The `User-Agent` header, when present.
    pub user_agent: Option<String>,
    /// Every parameter as received, in order.
    pub params: Vec<(String, String)>,
}

impl StsRequest {
    fn parse(request: &Request<Bytes>) -> Self {
        let mut params: Vec<(String, String)> = Vec::new();
        if let Some(query) = request.uri().query() {
            params.extend(form_urlencoded::parse(query.as_bytes()).into_owned());
        }
        params.extend(form_urlencoded::parse(request.body()).into_owned());
        let get = |name: &str| {
            params
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let mut policy_arns: Vec<(u32, String)> = params
            .iter()
            .filter_map(|(key, value)| {
                let index = key
                    .strip_prefix("PolicyArns.member.")?
                    .strip_suffix(".arn")?;
                Some((index.parse().ok()?, value.clone()))
            })
            .collect();
        policy_arns.sort_by_key(|(index, _)| *index);
        Self {
            action: get("Action").unwrap_or_default(),
            version: get("Version").unwrap_or_default(),
            role_arn: get("RoleArn").unwrap_or_default(),
            role_session_name: get("RoleSessionName").unwrap_or_default(),
            web_identity_token: get("WebIdentityToken").unwrap_or_default(),
            duration_seconds: get("DurationSeconds").and_then(|value| value.parse().ok()),
            policy: get("Policy"),
            policy_arns: policy_arns.into_iter().map(|(_, arn)| arn).collect(),
            user_agent: request
                .headers()
                .get(hyper::header::USER_AGENT)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
            params,
        }
    }
}

/// Credentials the fake handed out in a successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCredentials {
    /// `ASIAFAKE` followed by a 12-digit sequence number starting at 1.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token.
    pub session_token: String,
    /// The `Expiration` sent, RFC 3339 in UTC with whole seconds (`2026-11-23T22:00:00Z`).
    pub expiration: String,
}

struct State {
    script: VecDeque<Reply>,
    default: Reply,
    requests: Vec<StsRequest>,
    issued: Vec<IssuedCredentials>,
}

/// A fake STS on `127.0.0.1`, answering `AssumeRoleWithWebIdentity` calls from a script.
///
/// Replies are consumed in order, one per `AssumeRoleWithWebIdentity` call; once the script
/// runs out, every further call gets the default reply ([`Reply::success`] unless started with
/// [`FakeSts::start_with_default`]). A call missing `RoleArn`, `RoleSessionName` or
/// `WebIdentityToken`, or with a `RoleArn` that is not an IAM role ARN, consumes its reply but
/// gets `400 ValidationError` where the reply was a success, as real STS would answer. Other
/// actions get `400 InvalidAction` and consume nothing. Every request is recorded and counted
/// when it arrives. Dropping the fake shuts it down.
pub struct FakeSts {
    state: Arc<Mutex<State>>,
    tls: Option<ServerTls>,
    server: BackgroundServer,
}

impl FakeSts {
    /// Starts a plain-HTTP fake answering `script`, then [`Reply::success`] forever.
    pub fn start(script: Vec<Reply>) -> Self {
        Self::start_with_default(script, Reply::success())
    }

    /// Starts a plain-HTTP fake answering `script`, then `default` forever.
    pub fn start_with_default(script: Vec<Reply>, default: Reply) -> Self {
        Self::launch(script, default, None)
    }

    /// Starts an HTTPS fake answering `script`, then [`Reply::success`] forever.
    ///
    /// The certificate is valid for `dns_names` and `127.0.0.1`, signed by a fresh CA whose
    /// certificate [`FakeSts::ca_pem`] returns.
    pub fn start_tls(script: Vec<Reply>, dns_names: &[&str]) -> Self {
        Self::launch(
            script,
            Reply::success(),
            Some(ServerTls::generate(dns_names)),
        )
    }

    fn launch(script: Vec<Reply>, default: Reply, tls: Option<ServerTls>) -> Self {
        let state = Arc::new(Mutex::new(State {
            script: script.into(),
            default,
            requests: Vec::new(),
            issued: Vec::new(),
        }));
        let handler_state = state.clone();
        let handler: Handler = Arc::new(move |request| {
            let state = handler_state.clone();
            Box::pin(async move { answer(&state, &request).await })
        });
        let server = BackgroundServer::start(handler, tls.as_ref().map(|tls| tls.config.clone()));
        Self { state, tls, server }
    }

    /// `http://127.0.0.1:PORT` (or `https://` for [`FakeSts::start_tls`]), no trailing slash.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The port the fake listens on, for URLs naming another host mapped to 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The PEM of the CA that signed the server certificate; `None` for plain HTTP.
    pub fn ca_pem(&self) -> Option<String> {
        self.tls.as_ref().map(|tls| tls.ca_pem.clone())
    }

    /// The generated PKI of a TLS fake; `None` for plain HTTP.
    pub fn server_tls(&self) -> Option<&ServerTls> {
        self.tls.as_ref()
    }

    /// How many requests arrived so far (of any action; slow ones count on arrival).
    pub fn calls(&self) -> usize {
        self.lock().requests.len()
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<StsRequest> {
        self.lock().requests.clone()
    }

    /// Every set of credentials handed out so far, in order.
    pub fn issued(&self) -> Vec<IssuedCredentials> {
        self.lock().issued.clone()
    }

    /// How many scripted replies have not been used yet.
    pub fn remaining_script(&self) -> usize {
        self.lock().script.len()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn answer(state: &Mutex<State>, request: &Request<Bytes>) -> Response<Full<Bytes>> {
    let parsed = StsRequest::parse(request);
    let reply = {
        let mut state = lock(state);
        state.requests.push(parsed.clone());
        if parsed.action == "AssumeRoleWithWebIdentity" {
            let default = state.default.clone();
            Some(state.script.pop_front().unwrap_or(default))
        } else {
            None
        }
    };
    let Some(mut reply) = reply else {
        let message = if parsed.action.is_empty() {
            "Could not find operation for version 2011-06-15".to_owned()
        } else {
            format!(
                "Could not find operation {} for version 2011-06-15",
                parsed.action
            )
        };
        return error_response(400, "InvalidAction", &message);
    };
    while let Reply::Slow { delay, then } = reply {
        tokio::time::sleep(delay).await;
        reply = *then;
    }
    match reply {
        Reply::Success { lifetime } => match AssumedRole::from_request(&parsed) {
            Ok(role) => {
                let credentials = {
                    let mut state = lock(state);
                    let credentials = sts_xml::credentials(state.issued.len() + 1, lifetime);
                    state.issued.push(credentials.clone());
                    credentials
                };
                let request_id = sts_xml::request_id();
                let xml = sts_xml::success(&role, &credentials, &request_id);
                xml_response(StatusCode::OK, &request_id, xml)
            }
            Err(message) => error_response(400, "ValidationError", &message),
        },
        Reply::Error {
            status,
            code,
            message,
        } => error_response(status, &code, &message),
        Reply::Slow { .. } => unreachable!("slow replies were unwrapped above"),
    }
}

fn error_response(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let sender = if status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    let request_id = sts_xml::request_id();
    let xml = sts_xml::error(sender, code, message, &request_id);
    xml_response(status, &request_id, xml)
}

fn xml_response(status: StatusCode, request_id: &str, xml: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(xml)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/xml"),
    );
    if let Ok(value) = hyper::header::HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", value);
    }
    response
}
