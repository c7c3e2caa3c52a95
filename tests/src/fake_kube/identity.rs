//! Identity endpoints: OIDC discovery and JWKS, TokenRequest, and the self-subject reviews
//! (`kubectl auth whoami`, `kubectl auth can-i`).

use serde_json::{Value, json};

use super::objects::{decode_body, now, timestamp, uid};
use super::resources::Resource;
use super::router::{Req, Target};
use super::state::{Config, Shared, str_at};
use super::status::{ApiError, FieldError, Reply, bytes_response, json_response};
use super::tokens;

/// `GET /.well-known/openid-configuration`.
pub(crate) fn openid_configuration(shared: &Shared) -> Reply {
    let config = shared.config();
    if !config.oidc_enabled {
        return Err(ApiError::no_route());
    }
    let announced = config.discovery_issuer.as_deref().unwrap_or(&config.issuer);
    // getAlgs (pkg/serviceaccount/openidmetadata.go): the algorithms of the published keys,
    // sorted and without repeats.
    let mut algorithms: Vec<Value> = published_keys(shared, &config)
        .iter()
        .map(|key| key["alg"].clone())
        .collect();
    algorithms.sort_by_key(|alg| alg.as_str().unwrap_or_default().to_owned());
    algorithms.dedup();
    let document = tokens::discovery_document(announced, &config.jwks_uri(), algorithms);
    Ok(json_response(200, &document))
}

/// The keys the apiserver verifies with, as its JWKS lists them.
fn published_keys(shared: &Shared, config: &Config) -> Vec<Value> {
    let mut keys = Vec::new();
    if config.publish_signing_key {
        keys.push(shared.signer.jwk());
    }
    keys.extend(config.extra_jwks_keys.iter().cloned());
    keys
}

/// `GET /openid/v1/jwks`.
pub(crate) fn jwks(shared: &Shared) -> Reply {
    let config = shared.config();
    if !config.oidc_enabled {
        return Err(ApiError::no_route());
    }
    let keys = published_keys(shared, &config);
    let body = serde_json::to_vec(&json!({"keys": keys})).expect("serialize the JWKS");
    Ok(bytes_response(200, "application/jwk-set+json", body))
}

/// `POST .../serviceaccounts/NAME/token`: a TokenRequest answered with a signed token.
pub(crate) fn token_request(shared: &Shared, req: &Req, target: &Target) -> Reply {
    let namespace = target.namespace.clone().unwrap_or_default();
    let name = target.name.clone().unwrap_or_default();
    let body = decode_body(req)?;
    let kind = str_at(&body, "/kind");
    if !kind.is_empty() && kind != "TokenRequest" {
        return Err(ApiError::bad_request(format!(
            "no kind \"{kind}\" is registered for the TokenRequest subresource"
        )));
    }
    let sa = shared
        .store()
        .get(Resource::ServiceAccount, &namespace, &name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(Resource::ServiceAccount, &name))?;
    let issuer = shared.config().issuer.clone();
    let mut audiences: Vec<String> = body
        .pointer("/spec/audiences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if audiences.is_empty() {
        audiences.push(issuer.clone());
    }
    let seconds = body
        .pointer("/spec/expirationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(3600);
    let invalid = |detail: &str| {
        let error = FieldError::invalid_number("spec.expirationSeconds", seconds, detail);
        ApiError::invalid_kind("TokenRequest", "authentication.k8s.io", &name, &[error])
    };
    if seconds < 600 {
        return Err(invalid("may not specify a duration less than 10 minutes"));
    }
    if seconds > 1 << 32 {
        return Err(invalid(
            "may not specify a duration larger than 2^32 seconds",
        ));
    }
    let now_utc = time::OffsetDateTime::now_utc();
    let iat = now_utc.unix_timestamp();
    let exp = iat + seconds;
    let mut kubernetes = json!({
        "namespace": namespace,
        "serviceaccount": {"name": name, "uid": str_at(&sa, "/metadata/uid")},
    });
    if let Some(bound) = body
        .pointer("/spec/boundObjectRef")
        .filter(|b| b.is_object())
    {
        let kind = str_at(bound, "/kind");
        if kind == "Pod" || kind == "Secret" {
            kubernetes[kind.to_lowercase()] =
                json!({"name": str_at(bound, "/name"), "uid": str_at(bound, "/uid")});
        }
    }
    let claims = json!({
        "aud": audiences,
        "exp": exp,
        "iat": iat,
        "iss": issuer,
        "jti": uid(),
        "kubernetes.io": kubernetes,
        "nbf": iat,
        "sub": format!("system:serviceaccount:{namespace}:{name}"),
    });
    let token = shared.signer.sign(&claims);
    let expires = timestamp(now_utc + time::Duration::seconds(seconds));
    let mut spec =
        json!({"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": null});
    if let Some(bound) = body
        .pointer("/spec/boundObjectRef")
        .filter(|b| b.is_object())
    {
        spec["boundObjectRef"] = bound.clone();
    }
    let answer = json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": now()},
        "spec": spec,
        "status": {"token": token, "expirationTimestamp": expires},
    });
    Ok(json_response(201, &answer))
}

/// `POST` of a SelfSubjectReview or a SelfSubjectAccessReview.
pub(crate) fn review(shared: &Shared, req: &Req, resource: Resource) -> Reply {
    let body = decode_body(req)?;
    let mut answer = json!({
        "kind": resource.kind(),
        "apiVersion": resource.api_version(),
        "metadata": {"creationTimestamp": now()},
    });
    if resource == Resource::SelfSubjectReview {
        answer["status"] = json!({"userInfo": {"username": req.user, "groups": req.groups}});
        return Ok(json_response(201, &answer));
    }
    let spec = body.get("spec").cloned().unwrap_or(json!({}));
    let status = super::rbac::review(shared, req, &spec);
    answer["spec"] = spec;
    answer["status"] = status;
    Ok(json_response(201, &answer))
}
