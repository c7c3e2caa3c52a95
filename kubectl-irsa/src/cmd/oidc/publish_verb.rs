//! `kubectl irsa oidc publish`: the issuer checked against the bucket before any call, the
//! keys read (files or the cluster), then [`super::publish`] and its verification.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::aws::{Aws, AwsOptions};
use crate::error::Result;
use crate::kube_api::ConnectOptions;
use crate::names::Issuer;
use crate::oidc::documents;
use crate::oidc::keys::PublicKey;
use crate::oidc::publish::{self as plan, Target};
use crate::output::Output;

use super::publish::{self, Documents};
use super::{cluster_keys, public_key_files, usage, warn_about};

/// What `oidc publish` was asked.
pub struct Request<'a> {
    pub issuer: &'a Issuer,
    pub bucket: &'a str,
    pub create_bucket: bool,
    pub public_keys: &'a [PathBuf],
    pub jwks_path: &'a str,
    pub no_verify: bool,
    pub timeout: Duration,
    pub aws: AwsOptions,
    pub kube: ConnectOptions,
}

pub async fn publish(request: &Request<'_>, out: Output) -> Result<ExitCode> {
    warn_about(request.issuer, out);
    let issuer = request.issuer.as_str();
    let jwks_path = documents::check_jwks_path(request.jwks_path).map_err(usage)?;
    let target =
        plan::target(issuer, request.bucket, jwks_path, request.no_verify).map_err(usage)?;
    let aws_options = region_for(&target, &request.aws)?;
    let keys = if request.public_keys.is_empty() {
        cluster_keys(&request.kube, out).await?
    } else {
        public_key_files(request.public_keys)?
    };
    let aws = Aws::load(&aws_options).await?;
    let documents = documents_for(issuer, jwks_path, &keys);
    let mut changes = Vec::new();
    let published = async {
        publish::publish(
            &aws,
            &target,
            &documents,
            request.create_bucket,
            &mut changes,
        )
        .await?;
        match request.no_verify {
            true => Ok(None),
            false => Ok(Some(
                publish::verify(issuer, &target, &documents, request.timeout).await?,
            )),
        }
    }
    .await;
    let verified = publish::after_changes(published, &changes, out)?;
    out.print(&report(
        &target,
        aws.region().unwrap_or_default(),
        &changes,
        verified.as_deref(),
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The region S3 is called in: the one the issuer names, which --region may repeat but not
/// contradict (S3 serves a bucket only at its own region's hostname).
pub fn region_for(target: &Target, given: &AwsOptions) -> Result<AwsOptions> {
    match (&target.region, &given.region) {
        (Some(named), Some(flag)) if named != flag => Err(usage(format!(
            "the issuer names region {named} but --region is {flag}: S3 serves bucket {} only at its own region's hostname; drop --region or fix the issuer",
            target.bucket
        ))),
        (Some(named), _) => Ok(AwsOptions {
            region: Some(named.clone()),
            ..given.clone()
        }),
        (None, _) => Ok(given.clone()),
    }
}

/// The discovery document and JWKS of `keys` for `issuer`.
pub fn documents_for(issuer: &str, jwks_path: &str, keys: &[PublicKey]) -> Documents {
    let jwks_uri = documents::jwks_uri(issuer, jwks_path);
    Documents {
        discovery: documents::discovery(issuer, &jwks_uri, keys),
        jwks: documents::jwks(keys, false),
    }
}

/// What was done, one line each, and how it was checked.
pub fn report(target: &Target, region: &str, changes: &[String], verified: Option<&str>) -> String {
    let mut text = format!(
        "Bucket {} ({region}): s3://{0}/{} and s3://{0}/{}\n",
        target.bucket, target.discovery_key, target.jwks_key
    );
    if changes.is_empty() {
        text.push_str(
            "  nothing changed: both documents, the access block and the policy were in place\n",
        );
    }
    for change in changes {
        text.push_str(&format!("  {change}\n"));
    }
    match verified {
        Some(what) => text.push_str(&format!(
            "Verified: {what} serves both documents as uploaded\n"
        )),
        None => text.push_str(
            "Not verified (--no-verify): check that the issuer URL serves both documents\n",
        ),
    }
    text
}
