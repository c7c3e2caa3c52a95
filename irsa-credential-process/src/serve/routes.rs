//! The container credentials endpoint, and the dispatch to IMDS.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use irsa_sts::{Credentials, rfc3339};
use serde::Serialize;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::{Shared, host, imds};
use crate::auth_token::CREDENTIALS_PATH;
use crate::refresh::Fresh;

pub type Reply = Response<Full<Bytes>>;

/// The fields both contracts (container credentials and IMDS) carry, named as both name them.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Keys<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
}

impl<'a> Keys<'a> {
    pub fn of(credentials: &'a Credentials) -> Self {
        Keys {
            access_key_id: &credentials.access_key_id,
            secret_access_key: &credentials.secret_access_key,
            token: &credentials.session_token,
            expiration: rfc3339(credentials.expiration),
        }
    }
}

/// The container credentials contract, as the ECS agent and the EKS Pod Identity agent answer.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerCredentials<'a> {
    #[serde(flatten)]
    keys: Keys<'a>,
    account_id: &'a str,
    role_arn: &'a str,
}

/// An error body SDKs put into their message.
#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
}

pub async fn handle(request: Request<Incoming>, shared: Arc<Shared>) -> Result<Reply, Infallible> {
    let reply = route(&request, &shared);
    // The path and status only: headers carry tokens.
    shared.reporter.info(&format!(
        "{} {} {}",
        request.method(),
        request.uri().path(),
        reply.status().as_u16()
    ));
    Ok(reply)
}

fn route(request: &Request<Incoming>, shared: &Shared) -> Reply {
    let path = request.uri().path();
    if let Some(named) = host::foreign(request) {
        shared.reporter.warn(&format!(
            "refused {} {path}: Host {named:?} is not a loopback name or address (a web page rebinding its DNS name to this machine?); clients must use 127.0.0.1, [::1] or localhost",
            request.method()
        ));
        return error(
            StatusCode::FORBIDDEN,
            "InvalidHost",
            "only requests to 127.0.0.1, [::1] or localhost are answered",
        );
    }
    if path == CREDENTIALS_PATH {
        return container_credentials(request, shared);
    }
    if let Some(sessions) = &shared.imds
        && path.starts_with("/latest/")
    {
        return imds::route(request, shared, sessions);
    }
    error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("no such path {path}: the credentials are at {CREDENTIALS_PATH}"),
    )
}

fn container_credentials(request: &Request<Incoming>, shared: &Shared) -> Reply {
    if request.method() != Method::GET {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "use GET",
        );
    }
    let Some(presented) = request.headers().get(AUTHORIZATION) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "MissingAuthorization",
            "send the token from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE in the Authorization header",
        );
    };
    let presented = presented.as_bytes().trim_ascii();
    if !bool::from(presented.ct_eq(shared.auth_token.as_bytes())) {
        return error(
            StatusCode::FORBIDDEN,
            "InvalidAuthorization",
            "the Authorization header does not match the token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        );
    }
    with_usable_credentials(shared, |fresh| {
        json(
            StatusCode::OK,
            &ContainerCredentials {
                keys: Keys::of(&fresh.credentials),
                account_id: &fresh.credentials.account_id,
                role_arn: &shared.role_arn,
            },
        )
    })
}

/// `answer` with the credentials to hand out; 500 instead when the last good ones are too
/// close to their expiry and no refresh has succeeded since.
pub fn with_usable_credentials(shared: &Shared, answer: impl FnOnce(&Fresh) -> Reply) -> Reply {
    let fresh = shared.credentials.borrow().clone();
    if fresh.usable(OffsetDateTime::now_utc()) {
        answer(&fresh)
    } else {
        unavailable(&fresh.credentials.expiration)
    }
}

/// 500, with what happened.
fn unavailable(expired: &OffsetDateTime) -> Reply {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "CredentialsUnavailable",
        &format!(
            "the credentials expire at {} and refreshing them from STS keeps failing; the helper's log says why",
            rfc3339(*expired)
        ),
    )
}

pub fn error(status: StatusCode, code: &str, message: &str) -> Reply {
    json(status, &ErrorBody { code, message })
}

pub fn json(status: StatusCode, body: &impl Serialize) -> Reply {
    let body = serde_json::to_vec(body).unwrap_or_default();
    reply(status, "application/json", body)
}

pub fn reply(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
