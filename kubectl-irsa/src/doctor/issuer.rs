//! Checks 1 and 2: the issuer the cluster announces (and whether IAM can reach it, [`reach`])
//! and the keys it publishes; check 3 is [`super::public`]. Pure: documents and a token in,
//! checks out.

use crate::shell::quote;
use std::net::IpAddr;

use jsonwebtoken::jwk::Jwk;
use serde_json::Value;

use super::evidence::Document;
use super::{Check, reach};
use crate::names;
use crate::oidc::keys::{self, published_kid};

const APISERVER_CONFIG: &str = "kubectl irsa oidc apiserver-config --issuer URL --key-dir DIR";
/// The binding that lets every signed-in user read the issuer documents: by default
/// `system:service-account-issuer-discovery` is bound to ServiceAccounts only.
pub const DISCOVERY_BINDING: &str = "kubectl create clusterrolebinding oidc-reviewer --clusterrole=system:service-account-issuer-discovery --group=system:authenticated (or one of your groups)";

/// What check 1 knows besides the documents: whether discovery answered 403 to these
/// credentials, and what the issuer's host resolved to (with --check-public).
#[derive(Clone, Copy, Debug, Default)]
pub struct Access<'a> {
    pub discovery_denied: bool,
    /// The TokenRequest was refused (403): RBAC is the fix, not the apiserver.
    pub token_denied: bool,
    pub resolved: Option<Result<&'a [IpAddr], &'a str>>,
}

/// Check 1: the discovery document's `issuer` equals the token's `iss` byte for byte, and is an
/// https URL without a trailing slash that IAM can reach. `token_iss` is `Err` when no token
/// could be had. When discovery is denied to these credentials, the token's `iss` is judged.
pub fn check_issuer(
    discovery: Document<'_>,
    token_iss: Result<&str, &str>,
    access: Access<'_>,
) -> Check {
    const NAME: &str = "issuer";
    let text = match discovery {
        Ok(text) => text,
        Err(why) if access.discovery_denied => return denied_discovery(why, token_iss, access),
        Err(why) => {
            return Check::fail(
                NAME,
                format!("the cluster does not serve /.well-known/openid-configuration: {why}"),
                format!(
                    "enable service account issuer discovery: set the apiserver's --service-account-issuer and --service-account-jwks-uri ({APISERVER_CONFIG} prints them)"
                ),
            );
        }
    };
    let Some(issuer) = discovery_field(text, "issuer") else {
        return Check::fail(
            NAME,
            "/.well-known/openid-configuration is not JSON with an \"issuer\"",
            format!("check the apiserver's --service-account-issuer ({APISERVER_CONFIG})"),
        );
    };
    let token_iss = match token_iss {
        Ok(iss) => iss,
        Err(why) => {
            return Check::warn(
                NAME,
                format!("discovery announces {issuer:?}; no token to compare it with: {why}"),
                format!(
                    "{}, then run doctor again",
                    no_token_fix(access.token_denied)
                ),
            );
        }
    };
    if issuer != token_iss {
        return Check::fail(
            NAME,
            format!("discovery announces issuer {issuer:?} but tokens carry iss {token_iss:?}"),
            format!(
                "make the apiserver's --service-account-issuer the one URL the IAM provider uses, first if repeated ({APISERVER_CONFIG})"
            ),
        );
    }
    agreed_issuer(&issuer, access.resolved).unwrap_or_else(|| {
        Check::pass(
            NAME,
            format!("discovery and a fresh token agree on {issuer}"),
        )
    })
}

/// Check 1 when these credentials may not read discovery (a namespace admin: the default
/// binding covers ServiceAccounts only): the apiserver's flags are not the user's to change,
/// so the fix is the binding, and a fresh token's `iss` stands in for the issuer.
fn denied_discovery(why: &str, token_iss: Result<&str, &str>, access: Access<'_>) -> Check {
    const NAME: &str = "issuer";
    let unreadable = format!("discovery is not readable with these credentials ({why})");
    let iss = match token_iss {
        Ok(iss) => iss,
        Err(no_token) => {
            return Check::warn(
                NAME,
                format!("{unreadable}, and no token tells the issuer: {no_token}"),
                format!(
                    "{DISCOVERY_BINDING}; or {}",
                    no_token_fix(access.token_denied)
                ),
            );
        }
    };
    match agreed_issuer(iss, access.resolved) {
        Some(check) => Check {
            evidence: format!("{} (read from a fresh token: {unreadable})", check.evidence),
            ..check
        },
        None => Check::warn(
            NAME,
            format!("{unreadable}; a fresh token's iss is {iss}"),
            format!("to compare it with discovery: {DISCOVERY_BINDING}"),
        ),
    }
}

/// What to do when no token could be had: RBAC advice only when the request was refused (403);
/// any other failure is the apiserver's.
pub fn no_token_fix(denied: bool) -> &'static str {
    if denied {
        "allow creating serviceaccounts/token (kubectl auth can-i create serviceaccounts/token)"
    } else {
        "look at the apiserver's log: TokenRequest failed there (it needs --service-account-signing-key-file and --service-account-issuer)"
    }
}

/// Check 1 once the issuer is known: it must be an https URL without a trailing slash, as IAM
/// provider URLs are, on a host IAM can reach; `None` when nothing is against it.
fn agreed_issuer(issuer: &str, resolved: Option<Result<&[IpAddr], &str>>) -> Option<Check> {
    const NAME: &str = "issuer";
    match names::check_issuer(issuer) {
        Err(error) => Some(Check::fail(
            NAME,
            error.to_string(),
            format!(
                "serve the issuer over https and set --service-account-issuer to it ({APISERVER_CONFIG})"
            ),
        )),
        Ok(Some(_slash)) => Some(Check::fail(
            NAME,
            format!(
                "issuer {issuer:?} ends with '/': IAM provider URLs drop it, so iss never matches the provider"
            ),
            format!(
                "set --service-account-issuer to {:?} ({APISERVER_CONFIG})",
                issuer.trim_end_matches('/')
            ),
        )),
        Ok(None) => reach::check(issuer, resolved),
    }
}

/// A string field of a discovery document.
pub fn discovery_field(text: &str, field: &str) -> Option<String> {
    let document: Value = serde_json::from_str(text).ok()?;
    document.get(field)?.as_str().map(str::to_string)
}

/// Check 2: the JWKS is served and readable, holds the token's `kid`, and that key verifies the
/// token's signature; keys without a kid, keys no token uses and keys that cannot be read are
/// warned about. `denied`: the JWKS answered 403 to these credentials.
pub fn check_jwks(
    jwks: Document<'_>,
    denied: bool,
    token: Result<&str, &str>,
    issuer: &str,
) -> Check {
    const NAME: &str = "jwks";
    let republish = format!(
        "publish the signing key's public half: add it to the apiserver's --service-account-key-file, then kubectl irsa oidc documents --issuer {} --out DIR and upload DIR",
        quote(issuer)
    );
    let text = match jwks {
        Ok(text) => text,
        Err(why) if denied => {
            return Check::warn(
                NAME,
                format!(
                    "the cluster's JWKS is not readable with these credentials ({why}): its keys are not compared with a token"
                ),
                format!("to compare them: {DISCOVERY_BINDING}"),
            );
        }
        Err(why) => {
            return Check::fail(
                NAME,
                format!("the cluster does not serve /openid/v1/jwks: {why}"),
                format!("set the apiserver's --service-account-jwks-uri ({APISERVER_CONFIG})"),
            );
        }
    };
    // kube-apiserver renders this document from its own keys (openIDKeysetJSON), so an
    // unreadable one comes from whatever answers in its place, not from a key file.
    let set = match keys::read_jwks(text, "the cluster's JWKS") {
        Ok(set) => set,
        Err(error) => {
            return Check::fail(
                NAME,
                error.to_string(),
                "kube-apiserver writes /openid/v1/jwks from its keys itself: find what answers there in its place (a proxy, an aggregated API)",
            );
        }
    };
    let token = match token {
        Ok(token) => token,
        Err(why) => {
            return Check::warn(
                NAME,
                format!(
                    "{} keys published; no token to verify: {why}",
                    set.keys.len()
                ),
                "allow creating serviceaccounts/token, then run doctor again",
            );
        }
    };
    signing_key(&set.keys, token, republish)
}

/// Check 2 with a token: its kid is published, that key verifies it, and the other keys are
/// worth a note or not.
fn signing_key(published: &[Jwk], token: &str, republish: String) -> Check {
    const NAME: &str = "jwks";
    let kid = match jsonwebtoken::decode_header(token) {
        Ok(header) => header.kid.unwrap_or_default(),
        Err(error) => {
            return Check::fail(
                NAME,
                format!("the cluster's token has no readable header: {error}"),
                "check the apiserver's --service-account-signing-key-file",
            );
        }
    };
    let Some(signing) = published.iter().find(|key| published_kid(key) == kid) else {
        let kids: Vec<&str> = published.iter().map(published_kid).collect();
        return Check::fail(
            NAME,
            format!(
                "the token's kid {kid:?} is not in the JWKS (kids: {}): the signing key was rotated without publishing it",
                list(&kids)
            ),
            republish,
        );
    };
    if let Err(why) = keys::verify(token, signing) {
        return Check::fail(
            NAME,
            format!("the JWKS key with kid {kid:?} does not verify the token: {why}"),
            republish,
        );
    }
    let evidence = format!("kid {kid} is published and verifies a fresh token");
    match other_keys(published, &kid) {
        None => Check::pass(NAME, evidence),
        Some((notes, unreadable)) => Check::warn(
            NAME,
            format!("{evidence}; also {notes}"),
            if unreadable {
                republish
            } else {
                "once tokens signed by old keys have expired (24 h by default), drop them from --service-account-key-file and republish; keep kid-less keys only for apiservers before 1.16".into()
            },
        ),
    }
}

/// What is worth a note about the keys besides the one with `kid`: keys without a kid, keys
/// no token uses, keys that cannot be read; and whether any cannot be read.
fn other_keys(published: &[Jwk], kid: &str) -> Option<(String, bool)> {
    let (mut no_kid, mut unused, mut unreadable) = (0, Vec::new(), Vec::new());
    for key in published.iter().filter(|key| published_kid(key) != kid) {
        match (keys::verifier(key), published_kid(key)) {
            (Err(why), other) => unreadable.push(format!("{other:?} ({why})")),
            (Ok(_), "") => no_kid += 1,
            (Ok(_), other) => unused.push(other),
        }
    }
    let mut notes = Vec::new();
    if no_kid > 0 {
        notes.push(format!("{no_kid} key(s) without kid"));
    }
    if !unused.is_empty() {
        notes.push(format!("unused key(s) {}", list(&unused)));
    }
    if !unreadable.is_empty() {
        notes.push(format!("unreadable key(s) {}", unreadable.join(", ")));
    }
    (!notes.is_empty()).then(|| (notes.join(" and "), !unreadable.is_empty()))
}

pub(super) fn list<T: AsRef<str>>(items: &[T]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items
        .iter()
        .map(|k| format!("{:?}", k.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[path = "issuer_tests.rs"]
mod tests;
