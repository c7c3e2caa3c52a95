//! The IMDSv2 contract, for tools that only know instance metadata: a session token from
//! `PUT /latest/api/token`, then the role name and its credentials under
//! `/latest/meta-data/iam/security-credentials/`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use irsa_sts::rfc3339;
use serde::Serialize;

use super::Shared;
use super::routes::{Keys, Reply, error, json, reply, with_usable_credentials};

const TOKEN_TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
/// IMDS's own bounds for a session token's lifetime.
const MAX_TTL_SECONDS: u64 = 21_600;
/// Live session tokens kept at most; the soonest to expire goes first.
const MAX_SESSIONS: usize = 4096;
const CREDENTIALS_PREFIX: &str = "/latest/meta-data/iam/security-credentials/";

/// IMDS's credentials document.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ImdsCredentials<'a> {
    code: &'static str,
    last_updated: String,
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(flatten)]
    keys: Keys<'a>,
}

/// Session tokens handed out by `PUT /latest/api/token`, with their expiry.
#[derive(Default)]
pub struct Sessions {
    tokens: Mutex<HashMap<String, Instant>>,
}

impl Sessions {
    fn issue(&self, ttl: Duration) -> Option<String> {
        let token = crate::auth_token::random_hex::<24>().ok()?;
        let now = Instant::now();
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens.retain(|_, expiry| *expiry > now);
        if tokens.len() >= MAX_SESSIONS
            && let Some(soonest) = tokens
                .iter()
                .min_by_key(|(_, expiry)| **expiry)
                .map(|(token, _)| token.clone())
        {
            tokens.remove(&soonest);
        }
        tokens.insert(token.clone(), now + ttl);
        Some(token)
    }

    fn valid(&self, token: &str) -> bool {
        let tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens
            .get(token)
            .is_some_and(|expiry| *expiry > Instant::now())
    }
}

pub fn route(request: &Request<Incoming>, shared: &Shared, sessions: &Sessions) -> Reply {
    let path = request.uri().path();
    if path == "/latest/api/token" {
        return issue_token(request, sessions);
    }
    if request.method() != Method::GET {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "use GET",
        );
    }
    let token = request
        .headers()
        .get(TOKEN_HEADER)
        .and_then(|value| value.to_str().ok());
    if !token.is_some_and(|token| sessions.valid(token)) {
        // IMDSv2 only: no session token, no metadata.
        return reply(StatusCode::UNAUTHORIZED, "text/plain", Vec::new());
    }
    match path.strip_prefix(CREDENTIALS_PREFIX) {
        Some("") => text(&shared.role_name),
        Some(role) if role.trim_end_matches('/') == shared.role_name => credentials(shared),
        _ if path == CREDENTIALS_PREFIX.trim_end_matches('/') => text(&shared.role_name),
        _ => reply(StatusCode::NOT_FOUND, "text/plain", Vec::new()),
    }
}

fn issue_token(request: &Request<Incoming>, sessions: &Sessions) -> Reply {
    if request.method() != Method::PUT {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "use PUT",
        );
    }
    // As IMDS does: a request relayed by a proxy gets no token.
    if request.headers().contains_key("x-forwarded-for") {
        return reply(StatusCode::FORBIDDEN, "text/plain", Vec::new());
    }
    let ttl = request
        .headers()
        .get(TOKEN_TTL_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .filter(|seconds| (1..=MAX_TTL_SECONDS).contains(seconds));
    let Some(ttl) = ttl else {
        return reply(StatusCode::BAD_REQUEST, "text/plain", Vec::new());
    };
    let Some(token) = sessions.issue(Duration::from_secs(ttl)) else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "NoRandomness",
            "cannot make a session token",
        );
    };
    let mut response = text(&token);
    if let Ok(value) = ttl.to_string().parse() {
        response.headers_mut().insert(TOKEN_TTL_HEADER, value);
    }
    response
}

fn credentials(shared: &Shared) -> Reply {
    with_usable_credentials(shared, |fresh| {
        json(
            StatusCode::OK,
            &ImdsCredentials {
                code: "Success",
                last_updated: rfc3339(fresh.obtained),
                kind: "AWS-HMAC",
                keys: Keys::of(&fresh.credentials),
            },
        )
    })
}

fn text(body: &str) -> Reply {
    reply(StatusCode::OK, "text/plain", body.as_bytes().to_vec())
}
