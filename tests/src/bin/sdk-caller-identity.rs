//! A real AWS SDK for Rust client for the tests: credentials from aws-config's default chain
//! (which reads AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
//! among others), then STS GetCallerIdentity at AWS_ENDPOINT_URL. Prints the caller's ARN and the
//! access key id it signed with.

use aws_config::BehaviorVersion;
use aws_sdk_sts::config::ProvideCredentials;
use aws_smithy_http_client::tls;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .load()
        .await;
    let provider = config
        .credentials_provider()
        .ok_or("aws-config found no credentials provider")?;
    let credentials = provider.provide_credentials().await?;
    let identity = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await?;
    println!("{}", identity.arn().unwrap_or_default());
    println!("{}", credentials.access_key_id());
    Ok(())
}
