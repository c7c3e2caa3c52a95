//! A fake IAM (and S3 and STS) that sits in front of moto: every request is relayed to moto,
//! except the ones this fixture is told to refuse and the two IAM actions moto 5.2 lacks. It
//! counts calls per action, so tests assert how many IAM/S3 calls a verb makes.
//!
//! Point the binary at [`FakeIam::url`] through `AWS_ENDPOINT_URL_IAM`, `AWS_ENDPOINT_URL_S3`
//! and `AWS_ENDPOINT_URL_STS` (moto serves all three on one port, telling them apart by the
//! signature's credential scope, which is relayed untouched).
//!
//! What it plays, and where the real behaviour is documented:
//! - Calls are keyed by the query API's `Action` parameter (IAM and STS use the AWS query
//!   protocol: form-encoded body or query string, botocore `iam/2010-05-08/service-2.json`
//!   `"protocol": "query"`), and S3 calls by method and path (`PUT /bucket/key`), with the
//!   subresource (`?policy`, `?publicAccessBlock`) when there is one.
//! - Throttling: IAM answers `400` with code `Throttling` ("Rate exceeded"), as the IAM API
//!   reference's Common Errors list it; S3 answers `503 SlowDown` (S3 error responses list).
//! - AccessDenied: `403`, code `AccessDenied`, and IAM's message naming the caller, the action
//!   and the resource ("User: ... is not authorized to perform: iam:X on resource: ARN because
//!   no identity-based policy allows the iam:X action").
//! - The role trust policy quota: 2,048 characters, white space not counted (IAM User Guide,
//!   "IAM and AWS STS quotas"); IAM refuses a bigger one on CreateRole and
//!   UpdateAssumeRolePolicy with `409 LimitExceeded` "Cannot exceed quota for ACLSizePerRole:
//!   2048" (botocore: LimitExceededException is 409; the message as IAM sends it is quoted in
//!   kubeflow/kubeflow#6687 and apache/airflow#27331). moto only reports the quota in
//!   GetAccountSummary and never enforces it, so this fixture does.
//! - AddClientIDToOpenIDConnectProvider and RemoveClientIDFromOpenIDConnectProvider: absent
//!   from moto 5.2.1 (`moto/iam/responses.py` has no handler). Played here per the IAM API
//!   reference: both are idempotent (adding a present ID or removing an absent one is not an
//!   error), NoSuchEntity for an unknown provider, at most 100 client IDs per provider
//!   (LimitExceeded); GetOpenIDConnectProvider then lists the IDs as changed.
//! - STS propagation: a new role or a trust change takes a few seconds to reach STS (IAM User
//!   Guide, "Troubleshooting IAM": changes are eventually consistent). Until then
//!   AssumeRoleWithWebIdentity is refused with `403 AccessDenied` "Not authorized to perform
//!   sts:AssumeRoleWithWebIdentity", or, for a provider not yet seen, `400
//!   InvalidIdentityToken` "No OpenIDConnect provider found in your account for ...".

mod answers;
mod client_ids;
mod forward;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response};

use crate::server::{BackgroundServer, Handler};
use answers::{escape, query_error, request_id, s3_error, text, xml};
use forward::{Answer, forward};

/// The account moto answers for.
pub const ACCOUNT: &str = "123456789012";

const IAM_NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
const STS_NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// How long STS keeps refusing after a trust change, for `--verify`.
#[derive(Clone, Copy, Debug)]
pub enum Propagation {
    /// The next `n` AssumeRoleWithWebIdentity calls after each change.
    Calls(usize),
    /// Every AssumeRoleWithWebIdentity call for this long after each change.
    For(Duration),
}

/// What STS says while a change propagates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `403 AccessDenied`: the role's trust policy does not (yet) allow the token.
    AccessDenied,
    /// `400 InvalidIdentityToken`: the account's OIDC provider is not (yet) seen.
    NoProvider,
}

#[derive(Debug)]
struct State {
    moto_port: u16,
    calls: Vec<String>,
    throttle: HashMap<String, usize>,
    denied: HashSet<String>,
    trust_quota: usize,
    propagation: Option<(Propagation, Refusal)>,
    changed_at: Option<Instant>,
    refused_since_change: usize,
    client_ids: HashMap<String, Vec<String>>,
}

/// The fixture; stops when dropped (moto is the caller's).
pub struct FakeIam {
    state: Arc<Mutex<State>>,
    server: BackgroundServer,
}

impl FakeIam {
    /// Starts relaying to the moto server listening on `moto_port` (see [`crate::Moto::port`]).
    pub fn start(moto_port: u16) -> Self {
        Self::serve(moto_port, None)
    }

    /// The same over HTTPS with `tls` (see [`crate::tls::ServerTls`]), for CA bundle tests.
    pub fn start_tls(moto_port: u16, tls: Arc<rustls::ServerConfig>) -> Self {
        Self::serve(moto_port, Some(tls))
    }

    fn serve(moto_port: u16, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let state = Arc::new(Mutex::new(State {
            moto_port,
            calls: Vec::new(),
            throttle: HashMap::new(),
            denied: HashSet::new(),
            trust_quota: 2048,
            propagation: None,
            changed_at: None,
            refused_since_change: 0,
            client_ids: HashMap::new(),
        }));
        let shared = state.clone();
        let handler: Handler = Arc::new(move |request| {
            let state = shared.clone();
            Box::pin(async move {
                let answer = tokio::task::spawn_blocking(move || handle(&state, &request))
                    .await
                    .unwrap_or_else(|e| text(502, &format!("fake IAM handler failed: {e}")));
                to_response(answer)
            })
        });
        let server = BackgroundServer::start(handler, tls);
        FakeIam { state, server }
    }

    /// `http://127.0.0.1:PORT` (`https` with TLS): the endpoint for IAM, S3 and STS.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Every call so far, in order: IAM and STS actions (`GetRole`), S3 as `PUT /bucket/key`.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// How many calls of `action` were made.
    pub fn count(&self, action: &str) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|call| *call == action)
            .count()
    }

    /// The IAM calls that change something: every action but `Get*` and `List*`, and S3
    /// calls other than `GET` and `HEAD`; STS calls are not counted.
    pub fn writes(&self) -> Vec<String> {
        let reads = ["Get", "List", "GET ", "HEAD ", "AssumeRole"];
        self.calls()
            .into_iter()
            .filter(|call| !reads.iter().any(|read| call.starts_with(read)))
            .collect()
    }

    /// Forgets the calls counted so far (after a test's setup).
    pub fn reset_calls(&self) {
        self.lock().calls.clear();
    }

    /// Throttles the next `times` calls of `action` (the SDK retries them).
    pub fn throttle(&self, action: &str, times: usize) {
        self.lock().throttle.insert(action.to_string(), times);
    }

    /// Refuses every call of `action` with AccessDenied.
    pub fn deny(&self, action: &str) {
        self.lock().denied.insert(action.to_string());
    }

    /// Sets the role trust policy quota (2,048 by default, as IAM's; up to 4,096 on request).
    pub fn set_trust_policy_quota(&self, characters: usize) {
        self.lock().trust_quota = characters;
    }

    /// Makes STS refuse AssumeRoleWithWebIdentity after each trust change (CreateRole,
    /// UpdateAssumeRolePolicy, CreateOpenIDConnectProvider) and from now on, as `refusal`.
    pub fn propagation_delay(&self, delay: Propagation, refusal: Refusal) {
        let mut state = self.lock();
        state.propagation = Some((delay, refusal));
        state.changed_at = Some(Instant::now());
        state.refused_since_change = 0;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Counts the call, plays a fault or what moto lacks, else relays to moto.
fn handle(state: &Mutex<State>, request: &Request<Bytes>) -> Answer {
    let params = params(request);
    let action = params.get("Action").cloned();
    let key = action.clone().unwrap_or_else(|| s3_key(request));
    let lock = || {
        state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    let moto_port = {
        let mut state = lock();
        state.calls.push(key.clone());
        if let Some(fault) = fault(&mut state, &key, action.is_some(), &params) {
            return fault;
        }
        state.moto_port
    };
    let relay = |request: &Request<Bytes>| {
        forward(moto_port, request).unwrap_or_else(|e| text(502, &format!("moto: {e}")))
    };
    match key.as_str() {
        "AddClientIDToOpenIDConnectProvider" | "RemoveClientIDFromOpenIDConnectProvider" => {
            client_ids::change(state, request, &params, &relay)
        }
        _ => {
            let answer = relay(request);
            after(&mut lock(), &key, &params, answer)
        }
    }
}

/// The answer this call gets instead of moto's, if any.
fn fault(
    state: &mut State,
    key: &str,
    query: bool,
    params: &HashMap<String, String>,
) -> Option<Answer> {
    if state.denied.contains(key) {
        return Some(access_denied(key, query, params));
    }
    if let Some(left) = state.throttle.get_mut(key).filter(|left| **left > 0) {
        *left -= 1;
        return Some(match query {
            true => query_error(namespace(key), 400, "Throttling", "Rate exceeded"),
            false => s3_error(503, "SlowDown", "Please reduce your request rate."),
        });
    }
    let trust = match key {
        "CreateRole" => params.get("AssumeRolePolicyDocument"),
        "UpdateAssumeRolePolicy" => params.get("PolicyDocument"),
        _ => None,
    };
    if let Some(policy) = trust {
        let size = policy.chars().filter(|c| !c.is_whitespace()).count();
        if size > state.trust_quota {
            let message = format!(
                "Cannot exceed quota for ACLSizePerRole: {}",
                state.trust_quota
            );
            return Some(query_error(IAM_NAMESPACE, 409, "LimitExceeded", &message));
        }
    }
    if key == "AssumeRoleWithWebIdentity" {
        return propagating(state);
    }
    None
}

/// STS's refusal while a change propagates, counting the refused calls.
fn propagating(state: &mut State) -> Option<Answer> {
    let (delay, refusal) = state.propagation?;
    let since = state.changed_at?;
    let refuse = match delay {
        Propagation::Calls(n) => state.refused_since_change < n,
        Propagation::For(period) => since.elapsed() < period,
    };
    if !refuse {
        return None;
    }
    state.refused_since_change += 1;
    Some(match refusal {
        Refusal::AccessDenied => query_error(
            STS_NAMESPACE,
            403,
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        ),
        Refusal::NoProvider => query_error(
            STS_NAMESPACE,
            400,
            "InvalidIdentityToken",
            "No OpenIDConnect provider found in your account for the token's issuer",
        ),
    })
}

/// Bookkeeping on moto's answer: trust changes start the propagation clock; client IDs
/// changed here replace moto's list.
fn after(state: &mut State, key: &str, params: &HashMap<String, String>, answer: Answer) -> Answer {
    if answer.status != 200 {
        return answer;
    }
    let arn = params.get("OpenIDConnectProviderArn");
    match key {
        "CreateRole" | "UpdateAssumeRolePolicy" | "CreateOpenIDConnectProvider" => {
            state.changed_at = Some(Instant::now());
            state.refused_since_change = 0;
            if key == "CreateOpenIDConnectProvider" {
                // A new provider starts with the IDs it was created with (moto's).
                state.client_ids.remove(&resource(params));
            }
            answer
        }
        "DeleteOpenIDConnectProvider" => {
            if let Some(arn) = arn {
                state.client_ids.remove(arn);
            }
            answer
        }
        "GetOpenIDConnectProvider" => match arn.and_then(|arn| state.client_ids.get(arn)) {
            Some(ids) => client_ids::rewrite(answer, ids),
            None => answer,
        },
        _ => answer,
    }
}

/// AccessDenied as IAM, STS or S3 says it.
fn access_denied(key: &str, query: bool, params: &HashMap<String, String>) -> Answer {
    if !query {
        return s3_error(403, "AccessDenied", "Access Denied");
    }
    let service = if namespace(key) == STS_NAMESPACE {
        "sts"
    } else {
        "iam"
    };
    let resource = resource(params);
    let message = format!(
        "User: arn:aws:iam::{ACCOUNT}:user/moto is not authorized to perform: {service}:{key} on \
         resource: {resource} because no identity-based policy allows the {service}:{key} action"
    );
    query_error(namespace(key), 403, "AccessDenied", &message)
}

/// The ARN a call acts on, as IAM names it in AccessDenied.
fn resource(params: &HashMap<String, String>) -> String {
    if let Some(arn) = params
        .get("OpenIDConnectProviderArn")
        .or(params.get("RoleArn"))
    {
        return arn.clone();
    }
    if let Some(role) = params.get("RoleName") {
        return format!("arn:aws:iam::{ACCOUNT}:role/{role}");
    }
    if let Some(url) = params.get("Url") {
        let host_path = url.trim_start_matches("https://");
        return format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{host_path}");
    }
    "*".to_string()
}

fn namespace(action: &str) -> &'static str {
    let sts = [
        "AssumeRole",
        "GetCallerIdentity",
        "GetSessionToken",
        "GetFederationToken",
    ];
    if sts.iter().any(|prefix| action.starts_with(prefix)) {
        STS_NAMESPACE
    } else {
        IAM_NAMESPACE
    }
}

/// The query string's and the form body's parameters.
fn params(request: &Request<Bytes>) -> HashMap<String, String> {
    let query = request.uri().query().unwrap_or_default().as_bytes();
    let form = request
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    let body: &[u8] = if form { request.body() } else { &[] };
    form_urlencoded::parse(query)
        .chain(form_urlencoded::parse(body))
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// `METHOD /path`, plus the subresource for calls on a bucket's configuration.
fn s3_key(request: &Request<Bytes>) -> String {
    let path = request.uri().path();
    let subresource = request
        .uri()
        .query()
        .and_then(|query| form_urlencoded::parse(query.as_bytes()).next())
        .filter(|(_, value)| value.is_empty())
        .map(|(name, _)| format!("?{name}"))
        .unwrap_or_default();
    format!("{} {path}{subresource}", request.method())
}

fn to_response(answer: Answer) -> Response<Full<Bytes>> {
    let mut response = Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        response = response.header(name, value);
    }
    response
        .body(Full::new(Bytes::from(answer.body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::from_static(b"bad header"))))
}
