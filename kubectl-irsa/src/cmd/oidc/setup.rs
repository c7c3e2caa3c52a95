//! `kubectl irsa oidc setup`: a self-hosted cluster's issuer in one idempotent command. The
//! plan first (stderr), then keys (generated when missing, as `oidc keygen`), documents,
//! publish (the bucket created when missing), the IAM provider, and last the apiserver settings
//! on stdout, as `oidc apiserver-config` prints them. Each step reads before it writes, so a
//! second run writes nothing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use irsa_sts::HumanDuration;

use crate::aws::{Aws, AwsOptions};
use crate::cli::ApiserverConfigArgs;
use crate::error::Result;
use crate::names::Issuer;
use crate::oidc::apiserver::{Flavor, PUBLIC_KEY_FILE, SIGNING_KEY_FILE};
use crate::oidc::keys::{PublicKey, SigningAlgorithm};
use crate::oidc::publish as plan;
use crate::oidc::{documents, s3};
use crate::output::Output;

use super::{apiserver, keys, provider_apply, public_key_files, publish, publish_verb, usage};

/// What `oidc setup` was asked.
pub struct Request<'a> {
    pub bucket: &'a str,
    pub issuer: Option<&'a Issuer>,
    pub key_dir: &'a Path,
    pub flavor: Flavor,
    pub client_ids: &'a [String],
    pub jwks_path: &'a str,
    pub no_verify: bool,
    pub timeout: HumanDuration,
    pub aws: AwsOptions,
    pub kubeconfig: Option<&'a PathBuf>,
    pub context: Option<&'a String>,
}

pub async fn setup(request: &Request<'_>, out: Output) -> Result<ExitCode> {
    let jwks_path = documents::check_jwks_path(request.jwks_path).map_err(usage)?;
    let (aws, issuer) = issuer_and_aws(request).await?;
    super::warn_about(&issuer, out);
    let target = plan::target(
        issuer.as_str(),
        request.bucket,
        jwks_path,
        request.no_verify,
    )
    .map_err(usage)?;
    let region = aws.region().unwrap_or_default().to_string();
    // One status line each: a status line escapes newlines.
    for line in plan_text(request, &issuer, &target, &region).lines() {
        out.status(line);
    }
    let (keys, generated) = ensure_keys(request.key_dir)?;
    // The pair checked now (the private key matches sa-signer.pub), not after AWS is changed.
    apiserver::key_dir(request.key_dir)?;
    let mut changes = generated.into_iter().collect::<Vec<_>>();
    let documents = publish_verb::documents_for(issuer.as_str(), jwks_path, &keys);
    let applied = aws_steps(
        request,
        &aws,
        &issuer,
        &target,
        &documents,
        &mut changes,
        out,
    )
    .await;
    let arn = publish::after_changes(applied, &changes, out)?;
    match changes.is_empty() {
        true => out.status("Nothing changed: keys, documents, bucket and provider were in place"),
        false => changes
            .iter()
            .for_each(|c| out.status(format_args!("Changed: {c}"))),
    }
    out.status(format_args!("IAM OIDC provider: {arn}"));
    out.status(format_args!(
        "Apiserver settings for --flavor {} (stdout):",
        flavor_name(request.flavor)
    ));
    apiserver::render(&apiserver_args(request, issuer, jwks_path), true, out).await
}

/// Publish, verify, provider: what changed goes to `changes`; returns the provider's ARN.
async fn aws_steps(
    request: &Request<'_>,
    aws: &Aws,
    issuer: &Issuer,
    target: &plan::Target,
    documents: &publish::Documents,
    changes: &mut Vec<String>,
    out: Output,
) -> Result<String> {
    publish::publish(aws, target, documents, true, changes).await?;
    let timeout = request.timeout.get();
    if !request.no_verify {
        let what = publish::verify(issuer.as_str(), target, documents, timeout).await?;
        out.status(format_args!(
            "Verified: {what} serves both documents as uploaded"
        ));
    }
    let applied =
        provider_apply::apply(aws, issuer.as_str(), request.client_ids, &[], timeout, out).await?;
    changes.extend(applied.changes);
    Ok(applied.arn)
}

/// The AWS configuration and the issuer: the one given (whose region, if it names one, S3 is
/// called in), else the bucket's virtual-hosted URL in the configured region.
async fn issuer_and_aws(request: &Request<'_>) -> Result<(Aws, Issuer)> {
    if let Some(issuer) = request.issuer {
        let target = plan::target(
            issuer.as_str(),
            request.bucket,
            "keys.json",
            request.no_verify,
        )
        .map_err(usage)?;
        let options = publish_verb::region_for(&target, &request.aws)?;
        return Ok((Aws::load(&options).await?, issuer.clone()));
    }
    let aws = Aws::load(&request.aws).await?;
    let region = aws.region().ok_or_else(|| {
        usage("no AWS region for the bucket: give --region, or set AWS_REGION or the profile's region")
    })?;
    let form = s3::issuer_forms(
        Some(request.bucket),
        Some(region),
        "",
        irsa_sts::Partition::of_region(region) == irsa_sts::Partition::AwsCn,
    );
    let issuer = form[0]
        .parse::<Issuer>()
        .map_err(|e| usage(format!("invalid --bucket {}: {e}", request.bucket)))?;
    Ok((aws, issuer))
}

fn plan_text(
    request: &Request<'_>,
    issuer: &Issuer,
    target: &plan::Target,
    region: &str,
) -> String {
    format!(
        "Plan: issuer {issuer}\n  1. signing keys in {} (generated when missing)\n  2. discovery document and JWKS of the keys in {PUBLIC_KEY_FILE}\n  3. publish to s3://{}/{} and s3://{1}/{} in {region} (bucket created when missing; public read on these two objects only)\n  4. IAM OIDC provider for {} (client IDs {})\n  5. apiserver settings (--flavor {}) on stdout",
        request.key_dir.display(),
        target.bucket,
        target.discovery_key,
        target.jwks_key,
        crate::oidc::provider::hostpath(issuer.as_str()),
        request.client_ids.join(", "),
        flavor_name(request.flavor),
    )
}

/// The public keys of the key directory, the pair generated first when the directory has
/// neither file (one without the other is refused, as `oidc keygen` refuses it).
fn ensure_keys(dir: &Path) -> Result<(Vec<PublicKey>, Option<String>)> {
    let private = dir.join(SIGNING_KEY_FILE);
    let public = dir.join(PUBLIC_KEY_FILE);
    match (private.exists(), public.exists()) {
        (true, true) => Ok((public_key_files(&[public])?, None)),
        (false, false) => {
            super::files::check_out_dir(dir)?;
            let key = keys::write_pair(&private, &public, SigningAlgorithm::Rs256, 2048)?;
            let change = format!(
                "generated an RSA key pair in {} (kid {})",
                dir.display(),
                key.kid
            );
            Ok((vec![key], Some(change)))
        }
        (true, false) | (false, true) => Err(usage(format!(
            "--key-dir {} has one of {SIGNING_KEY_FILE} and {PUBLIC_KEY_FILE} only: restore the other, or give an empty directory",
            dir.display()
        ))),
    }
}

/// `oidc apiserver-config`'s arguments for this issuer and key directory.
fn apiserver_args(request: &Request<'_>, issuer: Issuer, jwks_path: &str) -> ApiserverConfigArgs {
    ApiserverConfigArgs {
        issuer,
        key_dir: request.key_dir.to_path_buf(),
        flavor: request.flavor,
        jwks_path: jwks_path.to_string(),
        existing_issuers: Vec::new(),
        existing_key_files: Vec::new(),
        existing_audiences: Vec::new(),
        issuer_stage: None,
        kubeconfig: request.kubeconfig.cloned(),
        context: request.context.cloned(),
        request_timeout: Some(HumanDuration::from(Duration::from_secs(5))),
    }
}

fn flavor_name(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::KubeApiserver => "kube-apiserver",
        Flavor::Kubeadm => "kubeadm",
        Flavor::Kind => "kind",
        Flavor::K3s => "k3s",
        Flavor::Rke2 => "rke2",
    }
}
