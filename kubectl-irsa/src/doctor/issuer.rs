//! Checks 1 to 3: the issuer the cluster announces (and whether IAM can reach it, [`reach`]),
//! the keys it publishes, and what the issuer URL itself serves to IAM. Pure: documents and a
//! token in, checks out.

use crate::shell::quote;
use std::net::IpAddr;

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use serde_json::Value;

use super::evidence::{Document, Thumbprint};
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

fn list<T: AsRef<str>>(items: &[T]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items
        .iter()
        .map(|k| format!("{:?}", k.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Check 3: what the issuer URL serves publicly matches what the cluster serves. `token_kid` is
/// the kid the cluster signs with now (when known).
pub fn check_public(
    issuer: &str,
    cluster_jwks: Option<&str>,
    public_discovery: Document<'_>,
    public_jwks: Document<'_>,
    token_kid: Option<&str>,
) -> Check {
    const NAME: &str = "public";
    let upload = format!(
        "upload the cluster's documents again: kubectl irsa oidc documents --issuer {} --out DIR, then copy DIR to the issuer's host",
        quote(issuer)
    );
    let public_discovery = match public_discovery {
        Ok(text) => text,
        Err(why) => {
            return Check::fail(
                NAME,
                format!("IAM cannot read {issuer}/.well-known/openid-configuration: {why}"),
                upload,
            );
        }
    };
    match discovery_field(public_discovery, "issuer") {
        Some(public) if public == issuer => {}
        other => {
            return Check::fail(
                NAME,
                format!(
                    "the public discovery document announces issuer {:?}, the cluster {issuer:?}",
                    other.unwrap_or_default()
                ),
                upload,
            );
        }
    }
    let public_jwks = match public_jwks {
        Ok(text) => text,
        Err(why) => {
            return Check::fail(
                NAME,
                format!("IAM cannot read the public JWKS: {why}"),
                upload,
            );
        }
    };
    let public_keys = match keys::read_jwks(public_jwks, "the public JWKS") {
        Ok(set) => key_set(set),
        Err(error) => {
            return Check::fail(NAME, format!("{error}: IAM cannot use it"), upload);
        }
    };
    same_keys(issuer, &public_keys, cluster_jwks, token_kid, upload)
}

/// Check 3 once the public JWKS is read: it holds the kid the cluster signs with, and the same
/// keys as the cluster's JWKS.
fn same_keys(
    issuer: &str,
    public_keys: &[(String, AlgorithmParameters)],
    cluster_jwks: Option<&str>,
    token_kid: Option<&str>,
    upload: String,
) -> Check {
    const NAME: &str = "public";
    if let Some(kid) = token_kid
        && !public_keys.iter().any(|(k, _)| k == kid)
    {
        let kids: Vec<&String> = public_keys.iter().map(|(k, _)| k).collect();
        return Check::fail(
            NAME,
            format!(
                "the public JWKS lacks the signing kid {kid:?} (it has {}): a stale upload after a key rotation",
                list(&kids)
            ),
            upload,
        );
    }
    // An unreadable cluster JWKS fails check 2; here it counts as holding no keys.
    let cluster_keys = cluster_jwks
        .and_then(|text| keys::read_jwks(text, "").ok())
        .map(key_set)
        .unwrap_or_default();
    let mut mismatched: Vec<&String> = cluster_keys
        .iter()
        .filter(|key| !public_keys.contains(key))
        .map(|(kid, _)| kid)
        .collect();
    mismatched.extend(
        public_keys
            .iter()
            .filter(|key| !cluster_keys.contains(key))
            .map(|(kid, _)| kid),
    );
    if cluster_jwks.is_some() && !mismatched.is_empty() {
        return Check::warn(
            NAME,
            format!(
                "the public JWKS and the cluster's differ in kid(s) {}",
                list(&mismatched)
            ),
            upload,
        );
    }
    Check::pass(
        NAME,
        format!(
            "{issuer} serves the same discovery issuer and {} key(s) as the cluster",
            public_keys.len()
        ),
    )
}

/// `(kid, key)` of every key of a JWKS.
fn key_set(set: JwkSet) -> Vec<(String, AlgorithmParameters)> {
    set.keys
        .into_iter()
        .map(|key| (published_kid(&key).to_string(), key.algorithm))
        .collect()
}

/// The thumbprint line of check 3: the SHA-1 of the top CA of the chain the `jwks_uri` host
/// serves (the host IAM fetches keys from, not always the issuer's), for comparison with the
/// IAM provider's thumbprint list.
pub fn check_thumbprint(thumbprint: &Thumbprint) -> Check {
    const NAME: &str = "thumbprint";
    let url = &thumbprint.url;
    match &thumbprint.sha1 {
        Ok(sha1) => Check::pass(
            NAME,
            format!(
                "the top CA of {}, which serves the JWKS, has SHA-1 {sha1}: IAM checks it only for a chain to a CA it does not trust (private or self-signed); since 2023 it ignores the thumbprint for public CAs and S3",
                crate::oidc::provider::host_and_port(url).map_or(url.clone(), |(host, _)| host)
            ),
        ),
        Err(why) => Check::fail(
            NAME,
            why.clone(),
            format!(
                "check that {url} is reachable over https from here: kubectl irsa oidc thumbprint {}",
                quote(url)
            ),
        ),
    }
}

#[cfg(test)]
#[path = "issuer_tests.rs"]
mod tests;
