//! `oidc publish` (and setup's publish step): the two documents on S3, readable by anyone
//! through one bucket-policy statement, the public-access block lifted only as far as that
//! needs, then the documents fetched back as IAM will fetch them.
//!
//! Every write is preceded by a read of what is there, and skipped when it holds already, so
//! publishing the same documents again writes nothing: HeadBucket, GetObject x2,
//! GetPublicAccessBlock, GetBucketPolicy.

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, PublicAccessBlockConfiguration,
};
use irsa_sts::Partition;
use serde_json::Value;

use crate::aws::{Aws, AwsError, Call, Context};
use crate::error::{Error, Result};
use crate::oidc::documents;
use crate::oidc::publish::{self as plan, AccessBlock, Target};
use crate::output::Output;

use super::usage;

const JSON: &str = "application/json";

/// The documents to publish, as JSON values.
pub struct Documents {
    pub discovery: Value,
    pub jwks: Value,
}

/// Publishes `documents` at `target` in the region of `aws`, adding what changed to
/// `changes`, one line each: on a failure they say what the steps before it did.
pub async fn publish(
    aws: &Aws,
    target: &Target,
    documents: &Documents,
    create_bucket: bool,
    changes: &mut Vec<String>,
) -> Result<()> {
    steps(aws, target, documents, create_bucket, changes).await
}

/// Says what was changed before `error`, then passes it on, so nothing is changed unsaid.
pub fn after_changes<T>(result: Result<T>, changes: &[String], out: Output) -> Result<T> {
    if result.is_err() {
        for change in changes {
            out.status(format_args!("Changed before the error: {change}"));
        }
    }
    result
}

async fn steps(
    aws: &Aws,
    target: &Target,
    documents: &Documents,
    create_bucket: bool,
    changes: &mut Vec<String>,
) -> Result<()> {
    let s3 = aws.s3()?;
    let region = aws.region().unwrap_or_default().to_string();
    ensure_bucket(&s3, target, &region, create_bucket, changes).await?;
    for (key, value) in [
        (&target.jwks_key, &documents.jwks),
        (&target.discovery_key, &documents.discovery),
    ] {
        put_object(&s3, &target.bucket, key, value, changes).await?;
    }
    open_access_block(&s3, &target.bucket, changes).await?;
    put_policy(&s3, target, Partition::of_region(&region), changes).await
}

/// The bucket exists in the issuer's region, or is created with `--create-bucket`.
async fn ensure_bucket(
    s3: &aws_sdk_s3::Client,
    target: &Target,
    region: &str,
    create: bool,
    changes: &mut Vec<String>,
) -> Result<()> {
    let bucket = &target.bucket;
    let resource = format!("s3://{bucket}");
    match s3
        .head_bucket()
        .bucket(bucket)
        .send()
        .await
        .context(Call::s3("ListBucket", &resource))
    {
        Ok(found) => match found.bucket_region() {
            Some(actual) if actual != region => Err(usage(format!(
                "bucket {bucket} is in {actual}, not {region}: give --region {actual} and an issuer in {actual} (S3 serves a bucket at its own region's hostname)"
            ))),
            _ => Ok(()),
        },
        Err(error) if absent(&error, "NoSuchBucket") && create => {
            let mut request = s3.create_bucket().bucket(bucket);
            // us-east-1 takes no LocationConstraint (CreateBucket API reference).
            if region != "us-east-1" {
                let location = CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build();
                request = request.create_bucket_configuration(location);
            }
            request
                .send()
                .await
                .context(Call::s3("CreateBucket", &resource))?;
            changes.push(format!("created bucket {bucket} in {region}"));
            Ok(())
        }
        Err(error) if absent(&error, "NoSuchBucket") => Err(usage(format!(
            "bucket {bucket} does not exist in {region}: pass --create-bucket to create it, or check --bucket and --region"
        ))),
        Err(error) => Err(error.into()),
    }
}

/// Uploads `value` at `key` unless the same document is there with the JSON content type.
async fn put_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    value: &Value,
    changes: &mut Vec<String>,
) -> Result<()> {
    let resource = format!("s3://{bucket}/{key}");
    let text = documents::to_file_text(value);
    let current = s3.get_object().bucket(bucket).key(key).send().await;
    match current.context(Call::s3("GetObject", &resource)) {
        Ok(object) => {
            let typed = object.content_type() == Some(JSON);
            let body = object
                .body
                .collect()
                .await
                .map_err(|e| Error::Cluster(format!("cannot read {resource}: {e}")))?;
            if typed && body.into_bytes().as_ref() == text.as_bytes() {
                return Ok(());
            }
        }
        Err(error) if absent(&error, "NoSuchKey") => {}
        Err(error) => return Err(error.into()),
    }
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type(JSON)
        .body(ByteStream::from(text.into_bytes()))
        .send()
        .await
        .context(Call::s3("PutObject", &resource))?;
    changes.push(format!("uploaded {resource} ({JSON})"));
    Ok(())
}

/// Turns off BlockPublicPolicy and RestrictPublicBuckets when either is on; the ACL settings
/// stay as they are.
async fn open_access_block(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    changes: &mut Vec<String>,
) -> Result<()> {
    let resource = format!("s3://{bucket}");
    let current = match s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .context(Call::s3("GetBucketPublicAccessBlock", &resource))
    {
        Ok(found) => found
            .public_access_block_configuration()
            .map(|c| AccessBlock {
                block_public_acls: c.block_public_acls().unwrap_or(false),
                ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                block_public_policy: c.block_public_policy().unwrap_or(false),
                restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
            }),
        Err(error) if absent(&error, "NoSuchPublicAccessBlockConfiguration") => None,
        Err(error) => return Err(error.into()),
    };
    let Some(new) = plan::opened(current) else {
        return Ok(());
    };
    let configuration = PublicAccessBlockConfiguration::builder()
        .block_public_acls(new.block_public_acls)
        .ignore_public_acls(new.ignore_public_acls)
        .block_public_policy(false)
        .restrict_public_buckets(false)
        .build();
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(configuration)
        .send()
        .await
        .context(Call::s3("PutBucketPublicAccessBlock", &resource))?;
    changes.push(format!(
        "turned off BlockPublicPolicy and RestrictPublicBuckets in bucket {bucket}'s public-access block, so its policy may grant public reads (BlockPublicAcls {}, IgnorePublicAcls {}: unchanged)",
        on_off(new.block_public_acls),
        on_off(new.ignore_public_acls)
    ));
    Ok(())
}

fn on_off(value: bool) -> &'static str {
    if value { "on" } else { "off" }
}

/// Something missing: S3's own code for it, or a 404 (HeadBucket's is code `NotFound`, as a
/// HEAD answer has no body to name another).
fn absent(error: &AwsError, code: &str) -> bool {
    error.is_not_found() || matches!(error.code(), Some(c) if c == code || c == "NotFound")
}

/// Adds (or replaces) our statement in the bucket policy, keeping every other statement.
async fn put_policy(
    s3: &aws_sdk_s3::Client,
    target: &Target,
    partition: Partition,
    changes: &mut Vec<String>,
) -> Result<()> {
    let bucket = &target.bucket;
    let resource = format!("s3://{bucket}");
    let existing = match s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .context(Call::s3("GetBucketPolicy", &resource))
    {
        Ok(found) => found.policy().map(str::to_string),
        Err(error) if absent(&error, "NoSuchBucketPolicy") => None,
        Err(error) => return Err(error.into()),
    };
    let statement = plan::read_statement(target, partition);
    let merged = plan::merged_policy(existing.as_deref(), &statement)
        .map_err(|why| usage(format!("{why}: fix bucket {bucket}'s policy first")))?;
    let Some(policy) = merged else {
        return Ok(());
    };
    let text = policy.to_string();
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(&text)
        .send()
        .await
        .context(Call::s3("PutBucketPolicy", &resource).policy(&text))?;
    changes.push(format!(
        "bucket {bucket}'s policy: statement {} lets anyone read {} and {} (other statements kept)",
        statement["Sid"].as_str().unwrap_or_default(),
        target.discovery_key,
        target.jwks_key
    ));
    Ok(())
}

/// Fetches both documents as IAM will, and compares them with what was published: at the
/// issuer URL over verified HTTPS, or, when an endpoint override points S3 elsewhere (a test
/// S3, a proxy), anonymously from that endpoint's path-style URLs. Returns what was fetched.
pub async fn verify(
    issuer: &str,
    target: &Target,
    documents: &Documents,
    timeout: Duration,
) -> Result<String> {
    let options = irsa_sts::http::GetOptions {
        timeout,
        max_body: 1 << 20,
        user_agent: concat!("kubectl-irsa/", env!("CARGO_PKG_VERSION")),
    };
    let jwks_uri = documents.discovery["jwks_uri"].as_str().unwrap_or_default();
    let (what, urls) = plan::fetch_urls(issuer, jwks_uri, target, s3_endpoint_override());
    let mut bodies = Vec::new();
    for url in &urls {
        bodies.push(fetch(url, &options).await?);
    }
    plan::check_served(
        &what,
        &bodies[0],
        &bodies[1],
        (&documents.discovery, &documents.jwks),
    )
    .map_err(|why| {
        Error::Cluster(format!(
            "{why}: run again in a minute, or pass --no-verify when a CDN serves the issuer"
        ))
    })?;
    Ok(what)
}

async fn fetch(url: &str, options: &irsa_sts::http::GetOptions) -> Result<Vec<u8>> {
    let answer = if url.starts_with("https://") {
        let tls = irsa_sts::transport::tls_config(None)?;
        irsa_sts::http::get_https(url, &[], &tls, options).await
    } else {
        irsa_sts::http::get(url, &[], options).await
    };
    let failed = |why: String| {
        Error::Cluster(format!(
            "{why}: the issuer is not readable by IAM; check bucket policy and public-access block (also the account's, in the S3 console), or pass --no-verify when a CDN serves the issuer"
        ))
    };
    let answer = answer.map_err(|e| failed(e.to_string()))?;
    if !answer.status.is_success() {
        return Err(failed(format!("GET {url} answered {}", answer.status)));
    }
    Ok(answer.body)
}

/// The S3 endpoint the SDK was pointed at by the environment, as aws-config reads it
/// (`AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`, unless
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is true).
fn s3_endpoint_override() -> Option<String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return None;
    }
    var("AWS_ENDPOINT_URL_S3").or_else(|| var("AWS_ENDPOINT_URL"))
}
