//! Proves the fixtures behave like the services they stand for, using the real aws-sdk-sts
//! client (and botocore from the test venv).

use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::{BehaviorVersion, Region};
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityOutput;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use base64::Engine as _;
use tests::{FakeSts, Moto, Reply, venv_bin};

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/demo";

/// A real SDK client for `endpoint`, trusting only `ca_pem` when given, retrying quickly.
fn sts_client(endpoint: &str, ca_pem: Option<&str>, max_attempts: u32) -> aws_sdk_sts::Client {
    let mut http = aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(
        tls::rustls_provider::CryptoMode::Ring,
    ));
    if let Some(ca) = ca_pem {
        let trust = TrustStore::empty().with_pem_certificate(ca.as_bytes());
        http = http.tls_context(
            TlsContext::builder()
                .with_trust_store(trust)
                .build()
                .unwrap(),
        );
    }
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .http_client(http.build_https())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(max_attempts)
                .with_initial_backoff(Duration::from_millis(10)),
        )
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// An unsigned JWT with the claims a projected ServiceAccount token carries.
fn token(sub: &str) -> String {
    let b64 = |json: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string())
    };
    let header = b64(serde_json::json!({"alg": "RS256", "kid": "test"}));
    let claims = b64(serde_json::json!({
        "iss": "https://oidc.example.com/id/ABC",
        "sub": sub,
        "aud": ["sts.amazonaws.com"],
    }));
    format!("{header}.{claims}.c2lnbmF0dXJl")
}

type AssumeError =
    aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError;
type AssumeResult =
    Result<AssumeRoleWithWebIdentityOutput, Box<aws_sdk_sts::error::SdkError<AssumeError>>>;

fn assume(client: &aws_sdk_sts::Client, role_arn: &str) -> AssumeResult {
    runtime()
        .block_on(
            client
                .assume_role_with_web_identity()
                .role_arn(role_arn)
                .role_session_name("test-session")
                .web_identity_token(token("system:serviceaccount:ns:app"))
                .send(),
        )
        .map_err(Box::new)
}

/// The service error of a call expected to fail.
fn assume_err(client: &aws_sdk_sts::Client, role_arn: &str) -> AssumeError {
    assume(client, role_arn).unwrap_err().into_service_error()
}

fn unix_now() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(now.as_secs()).unwrap()
}

#[test]
fn fake_sts_success_parses_in_the_sdk_with_the_scripted_expiry() {
    let sts = FakeSts::start(vec![Reply::expiring_in(Duration::from_secs(1800))]);
    let client = sts_client(&sts.url(), None, 1);
    let out = runtime()
        .block_on(
            client
                .assume_role_with_web_identity()
                .role_arn("arn:aws:iam::210987654321:role/team/app-role")
                .role_session_name("botocore-session")
                .web_identity_token(token("system:serviceaccount:ns:app"))
                .duration_seconds(7200)
                .policy(r#"{"Version":"2012-10-17","Statement":[]}"#)
                .policy_arns(
                    aws_sdk_sts::types::PolicyDescriptorType::builder()
                        .arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
                        .build(),
                )
                .send(),
        )
        .expect("AssumeRoleWithWebIdentity against the fake");

    let creds = out.credentials().expect("credentials");
    assert_eq!(creds.access_key_id(), "ASIAFAKE000000000001");
    let expires_in = creds.expiration().secs() - unix_now();
    assert!((1790..=1800).contains(&expires_in), "{expires_in}");
    let issued = &sts.issued()[0];
    assert_eq!(issued.access_key_id, creds.access_key_id());
    assert_eq!(issued.session_token, creds.session_token());
    let expected = time::OffsetDateTime::parse(
        &issued.expiration,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(creds.expiration().secs(), expected.unix_timestamp());

    let user = out.assumed_role_user().expect("assumed role user");
    assert_eq!(
        user.arn(),
        "arn:aws:sts::210987654321:assumed-role/app-role/botocore-session"
    );
    assert!(user.assumed_role_id().starts_with("AROA"));
    assert!(user.assumed_role_id().ends_with(":botocore-session"));
    assert_eq!(
        out.subject_from_web_identity_token(),
        Some("system:serviceaccount:ns:app")
    );
    assert_eq!(out.audience(), Some("sts.amazonaws.com"));
    assert_eq!(
        out.provider(),
        Some("arn:aws:iam::210987654321:oidc-provider/oidc.example.com/id/ABC")
    );

    let requests = sts.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.action, "AssumeRoleWithWebIdentity");
    assert_eq!(request.version, "2011-06-15");
    assert_eq!(
        request.role_arn,
        "arn:aws:iam::210987654321:role/team/app-role"
    );
    assert_eq!(request.role_session_name, "botocore-session");
    assert_eq!(
        request.web_identity_token,
        token("system:serviceaccount:ns:app")
    );
    assert_eq!(request.duration_seconds, Some(7200));
    assert_eq!(
        request.policy.as_deref(),
        Some(r#"{"Version":"2012-10-17","Statement":[]}"#)
    );
    assert_eq!(
        request.policy_arns,
        ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    );
    assert!(
        request
            .user_agent
            .as_deref()
            .unwrap_or("")
            .contains("aws-sdk-rust")
    );
}

#[test]
fn fake_sts_errors_surface_with_their_code_and_the_script_then_defaults_to_success() {
    let sts = FakeSts::start(vec![
        Reply::access_denied(),
        Reply::error(
            400,
            "ExpiredTokenException",
            "Token expired: current date/time 1 must be before the expiration date/time 0",
        ),
    ]);
    let client = sts_client(&sts.url(), None, 1);

    let err = assume_err(&client, ROLE_ARN);
    assert_eq!(err.meta().code(), Some("AccessDenied"));
    assert_eq!(
        err.message(),
        Some("Not authorized to perform sts:AssumeRoleWithWebIdentity")
    );
    let err = assume_err(&client, ROLE_ARN);
    assert!(err.is_expired_token_exception(), "{err:?}");

    // The script ran out: every further call succeeds with fresh credentials.
    let first = assume(&client, ROLE_ARN).unwrap();
    let second = assume(&client, ROLE_ARN).unwrap();
    assert_eq!(
        first.credentials().unwrap().access_key_id(),
        "ASIAFAKE000000000001"
    );
    assert_eq!(
        second.credentials().unwrap().access_key_id(),
        "ASIAFAKE000000000002"
    );
    assert_eq!(sts.calls(), 4);
    assert_eq!(sts.issued().len(), 2);
}

#[test]
fn fake_sts_throttling_and_5xx_are_retried_by_the_sdk() {
    let sts = FakeSts::start(vec![Reply::throttled(), Reply::server_error()]);
    let client = sts_client(&sts.url(), None, 3);
    let out = assume(&client, ROLE_ARN).expect("third attempt succeeds");
    assert_eq!(
        out.credentials().unwrap().access_key_id(),
        "ASIAFAKE000000000001"
    );
    assert_eq!(sts.calls(), 3);
    assert_eq!(sts.remaining_script(), 0);
}

#[test]
fn fake_sts_default_reply_applies_after_the_script() {
    let sts = FakeSts::start_with_default(vec![Reply::success()], Reply::invalid_identity_token());
    let client = sts_client(&sts.url(), None, 1);
    assert!(assume(&client, ROLE_ARN).is_ok());
    for _ in 0..2 {
        let err = assume_err(&client, ROLE_ARN);
        assert!(err.is_invalid_identity_token_exception(), "{err:?}");
    }
    assert_eq!(sts.calls(), 3);
}

#[test]
fn fake_sts_rejects_an_invalid_role_arn_like_sts() {
    let sts = FakeSts::start(vec![]);
    let client = sts_client(&sts.url(), None, 1);
    let err = assume_err(&client, "arn:aws:iam::123:role/demo");
    assert_eq!(err.meta().code(), Some("ValidationError"));
    assert!(sts.issued().is_empty());
}

#[test]
fn fake_sts_counts_slow_calls_on_arrival() {
    let sts = FakeSts::start(vec![Reply::success().after(Duration::from_secs(2))]);
    let url = sts.url();
    let started = Instant::now();
    let call = std::thread::spawn(move || assume(&sts_client(&url, None, 1), ROLE_ARN));
    while sts.calls() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "call never arrived"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!call.is_finished(), "the reply should still be delayed");
    assert!(sts.issued().is_empty());
    let out = call.join().unwrap().expect("slow success");
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(
        out.credentials().unwrap().access_key_id(),
        "ASIAFAKE000000000001"
    );
}

#[test]
fn fake_sts_shuts_down_when_dropped() {
    let sts = FakeSts::start(vec![]);
    let port = sts.port();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(sts);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn fake_sts_over_tls_is_trusted_through_its_ca() {
    let sts = FakeSts::start_tls(
        vec![Reply::expiring_in(Duration::from_secs(900))],
        &["localhost"],
    );
    assert!(sts.url().starts_with("https://127.0.0.1:"));
    let ca = sts.ca_pem().expect("a TLS fake has a CA");
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));

    let out = assume(&sts_client(&sts.url(), Some(&ca), 1), ROLE_ARN).expect("https by IP");
    let expires_in = out.credentials().unwrap().expiration().secs() - unix_now();
    assert!((890..=900).contains(&expires_in), "{expires_in}");

    let by_name = format!("https://localhost:{}", sts.port());
    assert!(assume(&sts_client(&by_name, Some(&ca), 1), ROLE_ARN).is_ok());

    // A client that does not trust the CA fails the handshake: nothing reaches the handler.
    let other_ca = FakeSts::start_tls(vec![], &["localhost"]).ca_pem().unwrap();
    assert!(assume(&sts_client(&sts.url(), Some(&other_ca), 1), ROLE_ARN).is_err());
    assert_eq!(sts.calls(), 2);
    assert_eq!(FakeSts::start(vec![]).ca_pem(), None);
}

#[test]
fn fake_sts_answers_parse_in_botocore() {
    let sts = FakeSts::start(vec![Reply::throttled(), Reply::access_denied()]);
    let script = r#"
import sys, boto3, botocore.config, botocore.exceptions
sts = boto3.client("sts", endpoint_url=sys.argv[1], region_name="us-east-1",
                   config=botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1}))
for _ in range(3):
    try:
        r = sts.assume_role_with_web_identity(RoleArn=sys.argv[2], RoleSessionName="py",
                                              WebIdentityToken="t0ken", DurationSeconds=900)
        c = r["Credentials"]
        print(c["AccessKeyId"], c["Expiration"].tzname(), r["AssumedRoleUser"]["Arn"])
    except botocore.exceptions.ClientError as e:
        print(e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
"#;
    let output = Command::new(venv_bin("python"))
        .args(["-c", script, &sts.url(), ROLE_ARN])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "Throttling 400\nAccessDenied 403\n\
         ASIAFAKE000000000001 UTC arn:aws:sts::123456789012:assumed-role/demo/py\n"
    );
    assert_eq!(sts.requests()[2].duration_seconds, Some(900));
}

#[test]
fn moto_assumes_a_role_with_any_web_identity_token() {
    let moto = Moto::start();
    assert!(moto.url().starts_with("http://127.0.0.1:"));
    let out = assume(&sts_client(&moto.url(), None, 1), ROLE_ARN).expect("moto STS");
    let creds = out.credentials().expect("credentials");
    assert!(
        creds.access_key_id().starts_with("ASIA"),
        "{}",
        creds.access_key_id()
    );
    assert!(!creds.secret_access_key().is_empty());
    assert!(creds.expiration().secs() > unix_now());
    assert_eq!(
        out.assumed_role_user().unwrap().arn(),
        "arn:aws:sts::123456789012:assumed-role/demo/test-session"
    );
}

#[test]
fn moto_stops_when_dropped() {
    let moto = Moto::start();
    let port = moto.port();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert!(moto.log_path().exists());
    drop(moto);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
