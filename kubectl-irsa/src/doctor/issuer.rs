//! Checks 1 to 3: the issuer the cluster announces, the keys it publishes, and what the issuer
//! URL itself serves to IAM. Pure: documents and a token in, checks out.

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use serde_json::Value;

use super::Check;
use super::evidence::Document;
use crate::names;
use crate::oidc::keys::{self, published_kid};

const APISERVER_CONFIG: &str = "kubectl irsa oidc apiserver-config --issuer URL --key-dir DIR";

/// Check 1: the discovery document's `issuer` equals the token's `iss` byte for byte, and is an
/// https URL without a trailing slash. `token_iss` is `Err` when no token could be had.
pub fn check_issuer(discovery: Document<'_>, token_iss: Result<&str, &str>) -> Check {
    const NAME: &str = "issuer";
    let text = match discovery {
        Ok(text) => text,
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
                "allow creating serviceaccounts/token (kubectl auth can-i create serviceaccounts/token), then run doctor again",
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
    agreed_issuer(&issuer)
}

/// Check 1 once discovery and the token agree: the issuer must be an https URL without a
/// trailing slash, as IAM provider URLs are.
fn agreed_issuer(issuer: &str) -> Check {
    const NAME: &str = "issuer";
    match names::check_issuer(issuer) {
        Err(error) => Check::fail(
            NAME,
            error.to_string(),
            format!(
                "serve the issuer over https and set --service-account-issuer to it ({APISERVER_CONFIG})"
            ),
        ),
        Ok(Some(_slash)) => Check::fail(
            NAME,
            format!(
                "issuer {issuer:?} ends with '/': IAM provider URLs drop it, so iss never matches the provider"
            ),
            format!(
                "set --service-account-issuer to {:?} ({APISERVER_CONFIG})",
                issuer.trim_end_matches('/')
            ),
        ),
        Ok(None) => Check::pass(
            NAME,
            format!("discovery and a fresh token agree on {issuer}"),
        ),
    }
}

/// A string field of a discovery document.
pub fn discovery_field(text: &str, field: &str) -> Option<String> {
    let document: Value = serde_json::from_str(text).ok()?;
    document.get(field)?.as_str().map(str::to_string)
}

/// Check 2: the JWKS is served and readable, holds the token's `kid`, and that key verifies the
/// token's signature; keys without a kid, keys no token uses and keys that cannot be read are
/// warned about.
pub fn check_jwks(jwks: Document<'_>, token: Result<&str, &str>, issuer: &str) -> Check {
    const NAME: &str = "jwks";
    let republish = format!(
        "publish the signing key's public half: add it to the apiserver's --service-account-key-file, then kubectl irsa oidc documents --issuer {issuer} --out DIR and upload DIR"
    );
    let text = match jwks {
        Ok(text) => text,
        Err(why) => {
            return Check::fail(
                NAME,
                format!("the cluster does not serve /openid/v1/jwks: {why}"),
                format!("set the apiserver's --service-account-jwks-uri ({APISERVER_CONFIG})"),
            );
        }
    };
    let set = match keys::read_jwks(text, "the cluster's JWKS") {
        Ok(set) => set,
        Err(error) => return Check::fail(NAME, error.to_string(), republish),
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
        "upload the cluster's documents again: kubectl irsa oidc documents --issuer {issuer} --out DIR, then copy DIR to the issuer's host"
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

/// The thumbprint line of check 3, for comparison with the IAM provider.
pub fn check_thumbprint(issuer: &str, thumbprint: Result<String, String>) -> Check {
    const NAME: &str = "thumbprint";
    match thumbprint {
        Ok(thumbprint) => Check::pass(
            NAME,
            format!(
                "the top CA of {} has SHA-1 {thumbprint}: the IAM provider's thumbprint list should hold it",
                issuer.trim_start_matches("https://")
            ),
        ),
        Err(why) => Check::fail(
            NAME,
            why,
            format!(
                "check that {issuer} is reachable over https from here: kubectl irsa oidc thumbprint {issuer}"
            ),
        ),
    }
}

#[cfg(test)]
#[path = "issuer_tests.rs"]
mod tests;
