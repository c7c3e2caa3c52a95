//! What publishing an issuer's documents on S3 means, decided before any call: the bucket and
//! object keys an issuer URL implies, the one bucket-policy statement that makes exactly those
//! two objects readable by anyone, and how little of the bucket's public-access block must be
//! lifted for that statement to take effect.
//!
//! Public access goes through the bucket policy, not ACLs: new buckets have ACLs disabled
//! (Object Ownership "bucket owner enforced" since April 2023), and a policy can name the two
//! keys exactly. Of the four public-access-block settings (S3 API reference,
//! PublicAccessBlockConfiguration), `BlockPublicPolicy` rejects PutBucketPolicy for a policy
//! granting public access, and `RestrictPublicBuckets` limits a bucket with a public policy to
//! AWS service principals and the owner's account: those two must be off. `BlockPublicAcls`
//! and `IgnorePublicAcls` only concern ACLs and stay as they are.

use irsa_sts::Partition;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::documents::DISCOVERY_PATH;
use super::s3::S3Issuer;

/// Where the documents of an issuer go: a bucket and two keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub bucket: String,
    /// The region the issuer's hostname names (`None`: the legacy global hostname, or a host
    /// that is not S3's).
    pub region: Option<String>,
    pub discovery_key: String,
    pub jwks_key: String,
    /// Whether the issuer URL is the bucket's own S3 URL (else a CDN or proxy serves it).
    pub s3_url: bool,
}

/// The bucket and keys for `issuer` on `bucket`. An issuer that is not an S3 URL of this
/// bucket is refused unless `unverified` (a CDN fronting the bucket): then its path is taken as
/// the key prefix.
pub fn target(
    issuer: &str,
    bucket: &str,
    jwks_path: &str,
    unverified: bool,
) -> Result<Target, String> {
    let parsed = S3Issuer::parse(issuer);
    let (region, prefix, s3_url) = match parsed {
        Some(s3) if s3.bucket == bucket => (s3.region, s3.prefix, true),
        _ if unverified => (None, url_path(issuer), false),
        other => {
            let named = match other {
                Some(s3) => format!("is bucket {}'s URL", s3.bucket),
                None => "is not an S3 URL".to_string(),
            };
            let forms = super::s3::issuer_forms(Some(bucket), None, "", false).join(" or ");
            return Err(format!(
                "the issuer {issuer} {named}, so bucket {bucket} cannot serve it: give an --issuer of the form {forms} (with a path if you like), or --no-verify when a CDN serves bucket {bucket} at that URL"
            ));
        }
    };
    check_path(&url_path(issuer), issuer)?;
    if s3_url && bucket.contains('.') && virtual_hosted(issuer, bucket) {
        // S3's wildcard certificate covers one label before .s3.REGION: IAM's fetch fails TLS.
        let forms = super::s3::issuer_forms(Some(bucket), region.as_deref(), "", false);
        return Err(format!(
            "the issuer {issuer} puts the dotted bucket {bucket} in the hostname, where S3's certificate does not cover it: use the path-style {} instead",
            forms.join(" or ")
        ));
    }
    Ok(Target {
        bucket: bucket.to_string(),
        region,
        discovery_key: super::s3::object_key(&prefix, DISCOVERY_PATH),
        jwks_key: super::s3::object_key(&prefix, jwks_path),
        s3_url,
    })
}

/// Whether the issuer's hostname starts with the bucket (`BUCKET.s3...`).
fn virtual_hosted(issuer: &str, bucket: &str) -> bool {
    let rest = issuer.strip_prefix("https://").unwrap_or(issuer);
    rest.to_ascii_lowercase()
        .starts_with(&format!("{bucket}.s3"))
}

/// The path of a URL, without its slashes at either end.
fn url_path(issuer: &str) -> String {
    let rest = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
    let path = rest.split_once('/').map_or("", |(_, path)| path);
    path.trim_matches('/').to_string()
}

/// The issuer's path must be the same bytes in the URL and in the bucket's keys: nothing
/// percent-encoded, no empty or dot segments (which URL resolution would fold).
fn check_path(path: &str, issuer: &str) -> Result<(), String> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-._~/".contains(c);
    let folded = path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..");
    if !path.chars().all(safe) || (!path.is_empty() && folded) {
        return Err(format!(
            "the path of the issuer {issuer} cannot be an S3 key prefix as it is: use letters, digits, '-', '.', '_', '~' and single '/' between segments"
        ));
    }
    Ok(())
}

/// The statement granting `s3:GetObject` to anyone on exactly the two documents. Its `Sid`
/// names the issuer's keys, so publishing again finds and replaces it, and the issuers of
/// other clusters in the same bucket keep theirs.
pub fn read_statement(target: &Target, partition: Partition) -> Value {
    let digest = Sha256::digest(format!("{}\n{}", target.discovery_key, target.jwks_key));
    let arn = |key: &str| format!("arn:{partition}:s3:::{}/{key}", target.bucket);
    json!({
        "Sid": format!("KubectlIrsaIssuer{}", &irsa_sts::hex(&digest)[..16]),
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": [arn(&target.discovery_key), arn(&target.jwks_key)],
    })
}

/// The bucket policy with `statement` in it: the existing policy (`None`: the bucket has none)
/// with every other statement kept in its order, and ours added or replaced by `Sid`. `Ok(None)`
/// when the policy holds it already, so nothing needs writing.
pub fn merged_policy(existing: Option<&str>, statement: &Value) -> Result<Option<Value>, String> {
    let mut policy = match existing {
        None => json!({ "Version": "2012-10-17", "Statement": [] }),
        Some(text) => serde_json::from_str::<Value>(text)
            .map_err(|e| format!("the bucket's policy is not JSON ({e})"))?,
    };
    let object = policy
        .as_object_mut()
        .ok_or("the bucket's policy is not a JSON object")?;
    let statements = match object.remove("Statement") {
        None => Vec::new(),
        Some(Value::Array(list)) => list,
        // A lone statement object is legal policy grammar.
        Some(single @ Value::Object(_)) => vec![single],
        Some(_) => return Err("the bucket's policy has a Statement that is not a list".into()),
    };
    if statements.contains(statement) {
        return Ok(None);
    }
    let mut kept: Vec<Value> = statements
        .into_iter()
        .filter(|s| s.get("Sid") != statement.get("Sid"))
        .collect();
    kept.push(statement.clone());
    object.insert("Statement".into(), Value::Array(kept));
    Ok(Some(policy))
}

/// A bucket's public-access-block settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct AccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

/// The settings that let a public bucket policy be written and take effect, changing only the
/// two policy settings; `None` when `current` allows it already (or the bucket has none).
pub fn opened(current: Option<AccessBlock>) -> Option<AccessBlock> {
    let current = current?;
    (current.block_public_policy || current.restrict_public_buckets).then_some(AccessBlock {
        block_public_policy: false,
        restrict_public_buckets: false,
        ..current
    })
}

/// Where to fetch the two documents to check them, and how to name that place: the issuer's
/// discovery URL and `jwks_uri`, as IAM fetches them; or, when an endpoint override points the
/// SDK's S3 elsewhere (a test S3, a proxy), that endpoint's path-style URLs of the two keys,
/// since the issuer's hostname is the real S3's.
pub fn fetch_urls(
    issuer: &str,
    jwks_uri: &str,
    target: &Target,
    endpoint: Option<String>,
) -> (String, [String; 2]) {
    match endpoint {
        Some(endpoint) => {
            let base = format!("{}/{}", endpoint.trim_end_matches('/'), target.bucket);
            let urls = [
                format!("{base}/{}", target.discovery_key),
                format!("{base}/{}", target.jwks_key),
            ];
            (
                format!("{base} (the S3 endpoint override, not the issuer URL)"),
                urls,
            )
        }
        None => {
            let discovery = format!("{}/{DISCOVERY_PATH}", issuer.trim_end_matches('/'));
            (issuer.to_string(), [discovery, jwks_uri.to_string()])
        }
    }
}

/// Whether what was fetched is what was published: both documents equal as JSON (key order
/// and whitespace aside). `what` names where they were fetched, for the message.
pub fn check_served(
    what: &str,
    discovery: &[u8],
    jwks: &[u8],
    expected: (&Value, &Value),
) -> Result<(), String> {
    for (name, body, want) in [
        ("the discovery document", discovery, expected.0),
        ("the JWKS", jwks, expected.1),
    ] {
        let got: Value = serde_json::from_slice(body)
            .map_err(|e| format!("{name} at {what} is not JSON ({e})"))?;
        if &got != want {
            return Err(format!(
                "{name} at {what} is not the one uploaded (a cache or another copy answers)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "publish_tests.rs"]
mod tests;
