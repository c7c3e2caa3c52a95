//! Signed IAM and S3 calls, configured as every AWS tool is, and their failures explained.
//!
//! The whole API:
//!
//! ```ignore
//! let aws = Aws::load(&options).await?;          // options: AwsOptions { profile, region }
//! let iam = aws.iam();                           // aws.s3()? for S3 (needs a region)
//! let role = iam.get_role().role_name(name).send().await
//!     .context(Call::iam("GetRole", role_arn.as_str()))?;   // -> Result<_, AwsError>
//! iam.update_assume_role_policy().role_name(name).policy_document(&doc).send().await
//!     .context(Call::iam("UpdateAssumeRolePolicy", role_arn.as_str()).policy(&doc))?;
//! // a missing entity is often not an error: ask before mapping
//! match result.context(call) { Err(e) if e.is_not_found() => ..., other => other? }
//! ```
//!
//! - Credentials come from aws-config's default chain: the environment, the shared config and
//!   credentials files, `--profile`/`AWS_PROFILE` (SSO and `credential_process` profiles
//!   included), web identity, container and instance roles.
//! - Endpoints are the SDK's own: `AWS_ENDPOINT_URL_IAM`, `AWS_ENDPOINT_URL_S3`,
//!   `AWS_ENDPOINT_URL` and the profile's `endpoint_url`, read by aws-config and applied by each
//!   client (`service_config_key("IAM", ...)` in aws-sdk-iam's config). IAM is global per
//!   partition: its endpoint rules map any region of a partition to the partition's endpoint
//!   and signing region (aws: us-east-1, aws-cn: cn-north-1, aws-us-gov: us-gov-west-1), so the
//!   IAM client only needs *a* region; without one it uses us-east-1 (the aws partition), and
//!   [`Aws::iam_in`] picks the partition of a role's ARN.
//! - Retries: the SDK's standard mode (throttling and transient errors retried with backoff,
//!   3 attempts unless `AWS_MAX_ATTEMPTS` or the profile's `max_attempts` says otherwise).
//! - HTTPS: the client of [`irsa_sts::transport`] (rustls with compiled-in roots, plus
//!   `AWS_CA_BUNDLE` when set), the same one the STS calls use, so the plugin carries a single
//!   TLS stack.

mod credentials;
mod error;

#[cfg(test)]
mod fake_tests;
#[cfg(test)]
mod tests;

pub use error::{AwsError, Call, Context};

use credentials::{Explaining, NoCredentialsFound};

use std::path::Path;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use irsa_sts::{CaBundle, Partition};

/// What the command line says about AWS; `None` leaves each to the default chain.
#[derive(Clone, Debug, Default)]
pub struct AwsOptions {
    /// The shared config profile (`--profile`), else `AWS_PROFILE`, else `default`.
    pub profile: Option<String>,
    /// The region (`--region`), else `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's.
    pub region: Option<String>,
}

/// A loaded AWS configuration: build it once per command, then take the clients it needs.
#[derive(Clone, Debug)]
pub struct Aws {
    config: SdkConfig,
}

impl Aws {
    /// Resolves the configuration (region, endpoints, retry settings; credentials are resolved
    /// lazily by the first call, whose failure says which chain was tried).
    pub async fn load(options: &AwsOptions) -> Result<Self, AwsError> {
        let env_profile = std::env::var("AWS_PROFILE").ok();
        let bundle = std::env::var_os("AWS_CA_BUNDLE").filter(|path| !path.is_empty());
        let loader = Aws::loader(options, bundle.as_deref().map(Path::new))?;
        Ok(Aws::finish(loader, options, env_profile).await)
    }

    /// The default chain's loader, over the one HTTPS client of the plugin.
    /// `ca_bundle` (AWS_CA_BUNDLE, as the AWS CLI and SDKs read it) is trusted besides the
    /// compiled-in roots: a proxy that intercepts TLS, a private endpoint.
    fn loader(
        options: &AwsOptions,
        ca_bundle: Option<&Path>,
    ) -> Result<aws_config::ConfigLoader, AwsError> {
        let bundle = ca_bundle
            .map(|path| CaBundle::from_file(path).map_err(|e| AwsError::ca_bundle(path, e)))
            .transpose()?;
        let http =
            irsa_sts::transport::http_client(bundle.as_ref()).map_err(AwsError::Transport)?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        Ok(loader)
    }

    async fn finish(
        loader: aws_config::ConfigLoader,
        options: &AwsOptions,
        env_profile: Option<String>,
    ) -> Self {
        let config = loader.load().await;
        let profile = options
            .profile
            .clone()
            .or(env_profile.filter(|p| !p.is_empty()));
        let mut builder = config.to_builder();
        if config.retry_config().is_none() {
            builder = builder.retry_config(RetryConfig::standard());
        }
        if let Some(chain) = config.credentials_provider() {
            builder = builder.credentials_provider(Explaining::wrap(chain, profile));
        }
        Aws {
            config: builder.build(),
        }
    }

    /// An IAM client for the configured region's partition (aws without a region).
    pub fn iam(&self) -> aws_sdk_iam::Client {
        let partition = self.region().map_or(Partition::Aws, Partition::of_region);
        self.iam_in(partition)
    }

    /// An IAM client for `partition` (a role's or a provider's ARN names it): the configured
    /// region when it is in that partition, else the partition's own (us-east-1, cn-north-1,
    /// us-gov-west-1), so an aws-cn role is never looked for in the aws partition's IAM.
    pub fn iam_in(&self, partition: Partition) -> aws_sdk_iam::Client {
        let region = match self.region() {
            Some(region) if Partition::of_region(region) == partition => region.to_string(),
            _ => partition.default_region().to_string(),
        };
        let config = aws_sdk_iam::config::Builder::from(&self.config)
            .region(Region::new(region))
            .build();
        aws_sdk_iam::Client::from_conf(config)
    }

    /// An S3 client for the configured region.
    ///
    /// # Errors
    ///
    /// [`AwsError::NoRegion`] when no region is configured: a bucket lives in one region.
    pub fn s3(&self) -> Result<aws_sdk_s3::Client, AwsError> {
        if self.config.region().is_none() {
            return Err(AwsError::NoRegion);
        }
        Ok(aws_sdk_s3::Client::new(&self.config))
    }

    /// The configured region, if any.
    pub fn region(&self) -> Option<&str> {
        self.config.region().map(Region::as_ref)
    }
}
