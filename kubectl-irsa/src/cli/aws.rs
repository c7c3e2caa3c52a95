//! The flags of every verb that calls IAM or S3, flattened into them: which credentials and
//! which region, as the AWS CLI takes them (endpoints come from AWS_ENDPOINT_URL_IAM,
//! AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, as every SDK reads them).

use clap::Args;

use crate::aws::AwsOptions;

#[derive(Clone, Debug, Default, Args)]
pub struct AwsArgs {
    /// The AWS profile of ~/.aws/config for IAM and S3 calls [env: AWS_PROFILE].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// The AWS region for IAM and S3 calls [env: AWS_REGION, AWS_DEFAULT_REGION].
    #[arg(long)]
    pub region: Option<String>,
}

impl AwsArgs {
    /// The options [`crate::aws::Aws::load`] takes.
    pub fn options(&self) -> AwsOptions {
        AwsOptions {
            profile: self.profile.clone(),
            region: self.region.clone(),
        }
    }
}
