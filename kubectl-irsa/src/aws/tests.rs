//! The configuration against moto (real SDK clients over HTTP to 127.0.0.1) with an environment
//! and files of the test's own, and the mapping of each service error to its message.

use ::tests::Moto;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;
use aws_types::os_shim_internal::{Env, Fs};

use super::*;

/// Loads as [`Aws::load`] does, with `vars` as the whole environment and no files but `files`.
pub(super) async fn load_in(
    options: &AwsOptions,
    vars: &[(&str, &str)],
    files: &[(&str, &str)],
) -> Aws {
    let env_profile = vars
        .iter()
        .find(|(name, _)| *name == "AWS_PROFILE")
        .map(|(_, value)| value.to_string());
    let loader = Aws::loader(options, None)
        .expect("loader")
        .env(Env::from_slice(vars))
        .fs(Fs::from_slice(files));
    Aws::finish(loader, options, env_profile).await
}

pub(super) const KEYS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
    (
        "AWS_SECRET_ACCESS_KEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

fn with_keys<'a>(more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    KEYS.iter().copied().chain(more.iter().copied()).collect()
}

#[tokio::test]
async fn iam_and_s3_endpoints_from_the_environment_reach_moto() {
    let moto = Moto::start();
    let url = moto.url();
    let vars = with_keys(&[
        ("AWS_ENDPOINT_URL_IAM", url.as_str()),
        ("AWS_ENDPOINT_URL_S3", url.as_str()),
        ("AWS_REGION", "eu-west-1"),
    ]);
    let aws = load_in(&AwsOptions::default(), &vars, &[]).await;
    let iam = aws.iam();
    let trust = r#"{"Version":"2012-10-17","Statement":[]}"#;
    iam.create_role()
        .role_name("cart")
        .assume_role_policy_document(trust)
        .send()
        .await
        .context(Call::iam("CreateRole", "cart"))
        .expect("CreateRole reaches moto");
    let role = iam
        .get_role()
        .role_name("cart")
        .send()
        .await
        .expect("GetRole");
    assert_eq!(
        role.role().map(|r| r.arn()),
        Some("arn:aws:iam::123456789012:role/cart")
    );
    let s3 = aws.s3().expect("a region is set");
    s3.create_bucket()
        .bucket("issuer")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .context(Call::s3("CreateBucket", "s3://issuer"))
        .expect("CreateBucket reaches moto");
    let listed = s3.list_buckets().send().await.expect("ListBuckets");
    let names: Vec<_> = listed.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["issuer"]);
}

#[tokio::test]
async fn the_generic_endpoint_and_a_profile_of_the_shared_files_reach_moto_without_a_region() {
    let moto = Moto::start();
    let config = "[profile ci]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n\
                  aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";
    let vars = [
        ("HOME", "/home/me"),
        ("AWS_ENDPOINT_URL", moto.url().leak() as &str),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let options = AwsOptions {
        profile: Some("ci".into()),
        region: None,
    };
    let aws = load_in(&options, &vars, &[("/home/me/.aws/config", config)]).await;
    assert_eq!(aws.region(), None);
    // IAM is global: without a region it is signed for us-east-1 (the aws partition).
    let listed = aws.iam().list_open_id_connect_providers().send().await;
    assert!(listed.is_ok(), "{listed:?}");
    let error = aws.s3().expect_err("S3 needs a region");
    assert_eq!(
        error.to_string(),
        "no AWS region for S3: give --region, or set AWS_REGION or the profile's region"
    );
}

#[tokio::test]
async fn no_credentials_says_which_chain_was_tried_and_the_fix() {
    let vars = [
        ("AWS_ENDPOINT_URL_IAM", "http://127.0.0.1:9"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let aws = load_in(&AwsOptions::default(), &vars, &[]).await;
    let error = aws
        .iam()
        .get_role()
        .role_name("cart")
        .send()
        .await
        .context(Call::iam("GetRole", "cart"))
        .expect_err("no credentials");
    assert!(matches!(error, AwsError::NoCredentials { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "no AWS credentials found for iam:GetRole on cart (tried the environment, the default \
         profile of ~/.aws/config and ~/.aws/credentials, web identity, container and instance \
         roles): run `aws configure` or `aws sso login`, set --profile or AWS_PROFILE to a \
         configured profile, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    );
}

#[tokio::test]
async fn a_profile_that_is_not_configured_is_named() {
    let vars = [
        ("HOME", "/home/me"),
        ("AWS_PROFILE", "prod"),
        ("AWS_ENDPOINT_URL_IAM", "http://127.0.0.1:9"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let aws = load_in(&AwsOptions::default(), &vars, &[]).await;
    let error = aws
        .iam()
        .get_role()
        .role_name("cart")
        .send()
        .await
        .context(Call::iam("GetRole", "cart"))
        .expect_err("no such profile");
    let message = error.to_string();
    assert!(message.contains("prod"), "{message}");
    assert!(
        message.starts_with("no AWS credentials found for iam:GetRole on cart (profile prod")
            || message.starts_with("cannot load AWS credentials for iam:GetRole on cart: "),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
}

#[tokio::test]
async fn a_closed_port_is_a_network_error_in_one_line() {
    let vars = with_keys(&[("AWS_ENDPOINT_URL_IAM", "http://127.0.0.1:9")]);
    let aws = load_in(&AwsOptions::default(), &vars, &[]).await;
    let error = aws
        .iam()
        .get_role()
        .role_name("cart")
        .send()
        .await
        .context(Call::iam("GetRole", "cart"))
        .expect_err("nothing listens on port 9");
    assert_eq!(
        error.to_string(),
        "cannot reach AWS for iam:GetRole on cart: connection refused; check the network and \
         proxy, and AWS_ENDPOINT_URL_IAM, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL if set"
    );
}

/// What the SDK returns when IAM answers `status` with `code`.
#[allow(clippy::result_large_err)] // the SDK's own error type, as every call returns it
fn answer(
    status: u16,
    code: &str,
    message: &str,
) -> Result<(), SdkError<aws_sdk_iam::operation::get_role::GetRoleError, HttpResponse>> {
    let meta = ErrorMetadata::builder().code(code).message(message).build();
    let error = aws_sdk_iam::operation::get_role::GetRoleError::generic(meta);
    let raw = HttpResponse::new(status.try_into().expect("status"), SdkBody::empty());
    Err(SdkError::service_error(error, raw))
}

fn said(status: u16, code: &str, message: &str, call: Call) -> String {
    answer(status, code, message)
        .context(call)
        .expect_err("an error")
        .to_string()
}

#[test]
fn access_denied_names_the_action_and_the_resource() {
    let arn = "arn:aws:iam::123456789012:role/cart";
    let message = "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:UpdateAssumeRolePolicy on resource: role cart";
    assert_eq!(
        said(
            403,
            "AccessDenied",
            message,
            Call::iam("UpdateAssumeRolePolicy", arn)
        ),
        format!(
            "AWS refused iam:UpdateAssumeRolePolicy on {arn} (AccessDenied: {message}); allow \
             iam:UpdateAssumeRolePolicy to the caller or use --profile with a principal that has \
             it (the README lists the IAM policy each verb needs)"
        )
    );
}

#[test]
fn no_such_entity_names_the_entity_and_is_not_found() {
    let arn = "arn:aws:iam::123456789012:role/cart";
    let error = answer(
        404,
        "NoSuchEntity",
        "The role with name cart cannot be found.",
    )
    .context(Call::iam("GetRole", arn))
    .expect_err("an error");
    assert!(error.is_not_found());
    assert_eq!(
        error.to_string(),
        format!(
            "{arn} does not exist (iam:GetRole answered NoSuchEntity: The role with name cart \
             cannot be found.); check the name, the account and the partition"
        )
    );
}

#[test]
fn a_malformed_policy_is_shown_as_it_was_sent() {
    let policy = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Alow\"}]\n}";
    let call = Call::iam("UpdateAssumeRolePolicy", "cart").policy(policy);
    assert_eq!(
        said(400, "MalformedPolicyDocument", "Invalid effect: Alow", call),
        "AWS rejected the policy sent with iam:UpdateAssumeRolePolicy on cart as malformed \
         (Invalid effect: Alow); the policy sent: \
         {\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Alow\"}]}"
    );
}

#[test]
fn quotas_throttling_and_rejected_keys_each_say_their_fix() {
    let call = || Call::iam("UpdateAssumeRolePolicy", "cart");
    let limit = "Cannot exceed quota for ACLSizePerRole: 2048";
    assert_eq!(
        said(409, "LimitExceeded", limit, call()),
        format!(
            "iam:UpdateAssumeRolePolicy on cart exceeds an IAM quota (LimitExceeded: {limit}); \
             remove unused entries or request a quota increase in Service Quotas"
        )
    );
    assert_eq!(
        said(400, "Throttling", "Rate exceeded", call()),
        "AWS kept throttling iam:UpdateAssumeRolePolicy on cart after the SDK's retries \
         (Throttling: Rate exceeded); wait a minute and run again, or raise AWS_MAX_ATTEMPTS"
    );
    assert!(
        said(403, "InvalidClientTokenId", "The security token included in the request is invalid.", call())
            .starts_with("AWS rejected the credentials for iam:UpdateAssumeRolePolicy on cart (InvalidClientTokenId: ")
    );
    assert_eq!(
        said(500, "ServiceFailure", "oops\nsecond line", call()),
        "iam:UpdateAssumeRolePolicy on cart failed (ServiceFailure: oops)"
    );
}

#[test]
fn a_hostile_message_stays_on_one_line() {
    let said = said(
        403,
        "AccessDenied",
        "denied\u{1b}[31m\nfake line",
        Call::iam("GetRole", "x\ny"),
    );
    assert!(!said.contains('\n') && !said.contains('\u{1b}'), "{said}");
}

#[test]
fn any_404_is_not_found_and_a_bare_403_is_access_denied() {
    let call = || Call::s3("GetBucketPublicAccessBlock", "s3://issuer");
    let missing = "The public access block configuration was not found";
    let error = answer(404, "NoSuchPublicAccessBlockConfiguration", missing)
        .context(call())
        .expect_err("an error");
    assert!(error.is_not_found(), "{error}");
    assert_eq!(error.code(), Some("NoSuchPublicAccessBlockConfiguration"));
    let bare = |status: u16| {
        let error = aws_sdk_iam::operation::get_role::GetRoleError::generic(
            ErrorMetadata::builder().build(),
        );
        let raw = HttpResponse::new(status.try_into().expect("status"), SdkBody::empty());
        let result: Result<(), _> = Err(SdkError::service_error(error, raw));
        result
            .context(Call::s3("ListBucket", "s3://issuer"))
            .expect_err("an error")
    };
    let head = bare(404);
    assert!(head.is_not_found());
    assert_eq!(head.code(), Some("NotFound"));
    assert!(
        matches!(bare(403), AwsError::AccessDenied { .. }),
        "{}",
        bare(403)
    );
}

#[tokio::test]
async fn iam_is_called_in_the_partition_of_the_role() {
    let region = |client: aws_sdk_iam::Client| client.config().region().map(|r| r.to_string());
    let vars = with_keys(&[("AWS_REGION", "eu-west-1")]);
    let aws = load_in(&AwsOptions::default(), &vars, &[]).await;
    assert_eq!(region(aws.iam()).as_deref(), Some("eu-west-1"));
    assert_eq!(
        region(aws.iam_in(Partition::Aws)).as_deref(),
        Some("eu-west-1")
    );
    assert_eq!(
        region(aws.iam_in(Partition::AwsCn)).as_deref(),
        Some("cn-north-1")
    );
    let china = AwsOptions {
        profile: None,
        region: Some("cn-northwest-1".into()),
    };
    let aws = load_in(&china, &with_keys(&[]), &[]).await;
    assert_eq!(region(aws.iam()).as_deref(), Some("cn-northwest-1"));
    assert_eq!(
        region(aws.iam_in(Partition::AwsUsGov)).as_deref(),
        Some("us-gov-west-1")
    );
    let nowhere = load_in(&AwsOptions::default(), &with_keys(&[]), &[]).await;
    assert_eq!(region(nowhere.iam()).as_deref(), Some("us-east-1"));
}
