//! The clients against the fake IAM in front of moto: throttling retried by the SDK (calls
//! counted), AccessDenied and LimitExceeded as IAM sends them, the client-ID actions moto lacks,
//! and STS refusing while a change propagates.

use std::time::Duration;

use ::tests::Moto;
use ::tests::fake_iam::{FakeIam, Propagation, Refusal};

use super::tests::{KEYS, load_in};
use super::*;

const CART: &str = "arn:aws:iam::123456789012:role/cart";
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[]}"#;

async fn iam_through(fake: &FakeIam) -> aws_sdk_iam::Client {
    let url = fake.url();
    let vars: Vec<_> = KEYS
        .iter()
        .copied()
        .chain([("AWS_ENDPOINT_URL_IAM", url.as_str())])
        .collect();
    load_in(&AwsOptions::default(), &vars, &[]).await.iam()
}

async fn create_cart(iam: &aws_sdk_iam::Client) {
    iam.create_role()
        .role_name("cart")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .context(Call::iam("CreateRole", "cart"))
        .expect("CreateRole");
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_then_explained() {
    let moto = Moto::start();
    let fake = FakeIam::start(moto.port());
    let iam = iam_through(&fake).await;
    create_cart(&iam).await;
    fake.reset_calls();
    fake.throttle("GetRole", 2);
    let role = iam.get_role().role_name("cart").send().await;
    assert!(role.is_ok(), "{role:?}");
    assert_eq!(fake.calls(), ["GetRole", "GetRole", "GetRole"]);

    fake.reset_calls();
    fake.throttle("GetRole", 10);
    let error = iam
        .get_role()
        .role_name("cart")
        .send()
        .await
        .context(Call::iam("GetRole", CART))
        .expect_err("still throttled after 3 attempts");
    assert_eq!(fake.count("GetRole"), 3, "standard retry mode: 3 attempts");
    assert_eq!(
        error.to_string(),
        format!(
            "AWS kept throttling iam:GetRole on {CART} after the SDK's retries (Throttling: Rate \
             exceeded); wait a minute and run again, or raise AWS_MAX_ATTEMPTS"
        )
    );
}

#[tokio::test]
async fn access_denied_and_the_trust_policy_quota_are_named() {
    let moto = Moto::start();
    let fake = FakeIam::start(moto.port());
    let iam = iam_through(&fake).await;
    create_cart(&iam).await;
    fake.deny("UpdateAssumeRolePolicy");
    let update = |policy: String| {
        let iam = iam.clone();
        async move {
            iam.update_assume_role_policy()
                .role_name("cart")
                .policy_document(&policy)
                .send()
                .await
                .context(Call::iam("UpdateAssumeRolePolicy", CART).policy(&policy))
        }
    };
    let error = update(TRUST.to_string()).await.expect_err("denied");
    assert_eq!(
        error.to_string(),
        format!(
            "AWS refused iam:UpdateAssumeRolePolicy on {CART} (AccessDenied: User: \
             arn:aws:iam::123456789012:user/moto is not authorized to perform: \
             iam:UpdateAssumeRolePolicy on resource: {CART} because no identity-based policy \
             allows the iam:UpdateAssumeRolePolicy action); allow iam:UpdateAssumeRolePolicy to the caller or use \
             --profile with a principal that has it (the README lists the IAM policy each verb \
             needs)"
        )
    );

    let moto2 = Moto::start();
    let fake = FakeIam::start(moto2.port());
    let iam = iam_through(&fake).await;
    create_cart(&iam).await;
    let subjects: Vec<String> = (0..60)
        .map(|i| format!("\"system:serviceaccount:shop:sa-{i:02}\""))
        .collect();
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"x:sub":[{}]}}}}}}]}}"#,
        subjects.join(",")
    );
    let error = iam
        .update_assume_role_policy()
        .role_name("cart")
        .policy_document(&big)
        .send()
        .await
        .context(Call::iam("UpdateAssumeRolePolicy", CART))
        .expect_err("over 2048 characters");
    assert_eq!(
        error.to_string(),
        format!(
            "iam:UpdateAssumeRolePolicy on {CART} exceeds an IAM quota (LimitExceeded: Cannot \
             exceed quota for ACLSizePerRole: 2048); remove unused entries or request a quota \
             increase in Service Quotas"
        )
    );
}

#[tokio::test]
async fn client_ids_are_added_and_removed_as_iam_does_it() {
    let moto = Moto::start();
    let fake = FakeIam::start(moto.port());
    let iam = iam_through(&fake).await;
    let arn = iam
        .create_open_id_connect_provider()
        .url("https://issuer.example.com/cluster")
        .client_id_list("sts.amazonaws.com")
        .send()
        .await
        .expect("CreateOpenIDConnectProvider")
        .open_id_connect_provider_arn()
        .expect("an ARN")
        .to_string();
    for id in ["sts.amazonaws.com", "vault", "vault"] {
        let added = iam
            .add_client_id_to_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .client_id(id)
            .send()
            .await;
        assert!(added.is_ok(), "idempotent: {added:?}");
    }
    let ids = |iam: aws_sdk_iam::Client, arn: String| async move {
        let got = iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .expect("GetOpenIDConnectProvider");
        got.client_id_list().to_vec()
    };
    assert_eq!(
        ids(iam.clone(), arn.clone()).await,
        ["sts.amazonaws.com", "vault"]
    );
    for id in ["sts.amazonaws.com", "absent"] {
        let removed = iam
            .remove_client_id_from_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .client_id(id)
            .send()
            .await;
        assert!(removed.is_ok(), "idempotent: {removed:?}");
    }
    assert_eq!(ids(iam.clone(), arn.clone()).await, ["vault"]);
    let unknown = "arn:aws:iam::123456789012:oidc-provider/nowhere.example.com";
    let error = iam
        .add_client_id_to_open_id_connect_provider()
        .open_id_connect_provider_arn(unknown)
        .client_id("sts.amazonaws.com")
        .send()
        .await
        .context(Call::iam("AddClientIDToOpenIDConnectProvider", unknown))
        .expect_err("no such provider");
    assert!(error.is_not_found(), "{error}");
}

/// An unsigned AssumeRoleWithWebIdentity, as irsa-sts sends it: (status, body).
fn assume(url: &str) -> (u16, String) {
    let form = [
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", CART),
        ("RoleSessionName", "verify"),
        ("WebIdentityToken", "a.b.c"),
    ];
    let response = ureq::post(url)
        .config()
        .http_status_as_error(false)
        .build()
        .send_form(form)
        .expect("an answer");
    let status = response.status().as_u16();
    let body = response.into_body().read_to_string().expect("a body");
    (status, body)
}

#[tokio::test]
async fn sts_refuses_the_first_calls_after_a_trust_change() {
    let moto = Moto::start();
    let fake = FakeIam::start(moto.port());
    let iam = iam_through(&fake).await;
    fake.propagation_delay(Propagation::Calls(2), Refusal::AccessDenied);
    create_cart(&iam).await;
    let url = fake.url();
    let answers: Vec<u16> = (0..3).map(|_| assume(&url).0).collect();
    assert_eq!(answers, [403, 403, 200]);
    let (_, refused) = {
        fake.propagation_delay(
            Propagation::For(Duration::from_secs(60)),
            Refusal::NoProvider,
        );
        assume(&url)
    };
    assert!(
        refused.contains("<Code>InvalidIdentityToken</Code>"),
        "{refused}"
    );
    assert_eq!(fake.count("AssumeRoleWithWebIdentity"), 4);
}

#[tokio::test]
async fn s3_slow_down_is_retried_and_s3_access_denied_is_named() {
    let moto = Moto::start();
    let fake = FakeIam::start(moto.port());
    let url = fake.url();
    let vars: Vec<_> = KEYS
        .iter()
        .copied()
        .chain([
            ("AWS_ENDPOINT_URL_S3", url.as_str()),
            ("AWS_REGION", "us-east-1"),
        ])
        .collect();
    let s3 = load_in(&AwsOptions::default(), &vars, &[])
        .await
        .s3()
        .expect("a region");
    fake.throttle("PUT /issuer/", 1);
    let created = s3.create_bucket().bucket("issuer").send().await;
    assert!(created.is_ok(), "{created:?}");
    assert_eq!(fake.calls(), ["PUT /issuer/", "PUT /issuer/"]);
    fake.deny("PUT /issuer/?policy");
    let error = s3
        .put_bucket_policy()
        .bucket("issuer")
        .policy("{}")
        .send()
        .await
        .context(Call::s3("PutBucketPolicy", "s3://issuer"))
        .expect_err("denied");
    assert!(
        error.to_string().starts_with(
            "AWS refused s3:PutBucketPolicy on s3://issuer (AccessDenied: Access Denied); "
        ),
        "{error}"
    );
}
