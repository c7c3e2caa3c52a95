//! Check 3: what the issuer URL itself serves to IAM (its discovery document, its JWKS, the
//! thumbprint of the chain its JWKS host serves) against what the cluster serves. Pure.

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};

use super::Check;
use super::evidence::{Document, Thumbprint};
use super::issuer::{discovery_field, list};
use crate::oidc::keys::{self, published_kid};
use crate::shell::quote;

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
