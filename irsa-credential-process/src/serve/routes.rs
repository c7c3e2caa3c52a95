//! The container credentials endpoint, and the dispatch to IMDS.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use irsa_sts::rfc3339;
use serde::Serialize;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::{CREDENTIALS_PATH, Shared, imds};
use crate::refresh::Fresh;

pub type Reply = Response<Full<Bytes>>;

/// The container credentials contract, as the ECS agent and the EKS Pod Identity agent answer.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerCredentials<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
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
    let fresh = match usable_credentials(shared) {
        Ok(fresh) => fresh,
        Err(expired) => return unavailable(&expired),
    };
    let credentials = &fresh.credentials;
    json(
        StatusCode::OK,
        &ContainerCredentials {
            access_key_id: &credentials.access_key_id,
            secret_access_key: &credentials.secret_access_key,
            token: &credentials.session_token,
            expiration: rfc3339(credentials.expiration),
            account_id: &credentials.account_id,
            role_arn: &shared.role_arn,
        },
    )
}

/// The credentials to hand out, or the expiry of the last good ones when they are too close
/// to it and no refresh has succeeded since.
pub fn usable_credentials(shared: &Shared) -> Result<Fresh, OffsetDateTime> {
    let fresh = shared.credentials.borrow().clone();
    if fresh.usable(OffsetDateTime::now_utc()) {
        Ok(fresh)
    } else {
        Err(fresh.credentials.expiration)
    }
}

/// 500, with what happened.
pub fn unavailable(expired: &OffsetDateTime) -> Reply {
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
