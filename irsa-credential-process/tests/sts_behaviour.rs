//! The helper against an in-test fake STS: call counting, retries, deadlines, every explained
//! error, refresh and token rotation.

mod common;

use std::time::{Duration, Instant};

use common::{Pod, ROLE_ARN, SUBJECT, assert_no_secret_in_stderr, token};
use tests::{FakeSts, Reply};

#[test]
fn first_run_calls_sts_then_the_cache_answers() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let first = pod.run(&[]);
    let second = pod.run(&[]);
    assert_eq!(first.access_key_id(), second.access_key_id());
    assert_eq!(sts.calls(), 1);
    assert_eq!(first.credentials()["AccountId"], "123456789012");
    assert_no_secret_in_stderr(&first, &pod);

    let request = &sts.requests()[0];
    assert_eq!(request.action, "AssumeRoleWithWebIdentity");
    assert_eq!(request.role_arn, ROLE_ARN);
    assert_eq!(request.web_identity_token, pod.token);
    assert_eq!(request.duration_seconds, Some(3600));
    assert_eq!(
        request.role_session_name, "cart-5d8f7c9b4-xk2lp",
        "hostname is the session name"
    );
}

#[test]
fn a_hundred_concurrent_cold_runs_make_one_sts_call() {
    let sts = FakeSts::start(vec![Reply::success().after(Duration::from_millis(500))]);
    let pod = Pod::new(&sts.url());
    let children: Vec<_> = (0..100)
        .map(|_| {
            pod.helper(&[])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let keys: Vec<String> = children
        .into_iter()
        .map(|child| common::Run::from(child.wait_with_output().unwrap()).access_key_id())
        .collect();
    assert_eq!(sts.calls(), 1, "exactly one STS call");
    assert!(
        keys.iter().all(|key| key == &keys[0]),
        "all got the same credentials"
    );
}

#[test]
fn throttling_and_server_errors_are_retried() {
    let sts = FakeSts::start(vec![
        Reply::throttled(),
        Reply::server_error(),
        Reply::server_error(),
    ]);
    let pod = Pod::new(&sts.url());
    let run = pod.run(&[]);
    run.credentials();
    assert_eq!(sts.calls(), 4);
}

#[test]
fn transient_identity_errors_are_retried_but_access_denied_is_not() {
    for (reply, expected_calls) in [
        (
            Reply::error(
                400,
                "IDPCommunicationError",
                "Couldn't retrieve verification key",
            ),
            2,
        ),
        (Reply::invalid_identity_token(), 2),
    ] {
        let sts = FakeSts::start(vec![reply]);
        let pod = Pod::new(&sts.url());
        pod.run(&[]).credentials();
        assert_eq!(sts.calls(), expected_calls);
    }
    for reply in [
        Reply::access_denied(),
        Reply::error(400, "IDPRejectedClaim", "rejected"),
    ] {
        let sts = FakeSts::start(vec![reply]);
        let pod = Pod::new(&sts.url());
        pod.run(&[]).failure();
        assert_eq!(sts.calls(), 1, "never retried");
    }
}

#[test]
fn gives_up_at_the_deadline() {
    let sts = FakeSts::start_with_default(vec![], Reply::success().after(Duration::from_secs(20)));
    let pod = Pod::new(&sts.url());
    let started = Instant::now();
    let run = pod.run(&["--timeout", "2s"]);
    let elapsed = started.elapsed();
    let line = run.failure();
    assert!(
        line.contains("no answer from STS at") && line.contains("within 2s"),
        "{line}"
    );
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}

#[test]
fn every_sts_error_is_explained_with_the_token_claims() {
    let cases = [
        (
            Reply::access_denied(),
            vec![
                "does not trust this token",
                "oidc.example.com/id/CLUSTER:sub = system:serviceaccount:shop:cart",
                "aws iam get-role --role-name cart",
            ],
        ),
        (
            Reply::error(
                400,
                "InvalidIdentityToken",
                "No OpenIDConnect provider found",
            ),
            vec![
                "needs an IAM OIDC provider",
                "--url https://oidc.example.com/id/CLUSTER",
            ],
        ),
        (
            Reply::error(400, "ExpiredTokenException", "Token expired"),
            vec!["has expired", "the token file"],
        ),
        (
            Reply::error(400, "IDPRejectedClaim", "bad claim"),
            vec!["rejected a claim"],
        ),
        (
            Reply::error(403, "RegionDisabledException", "not active"),
            vec!["not activated in this region"],
        ),
        (
            Reply::error(400, "PackedPolicyTooLarge", "too large"),
            vec!["session policies are too large"],
        ),
        (
            Reply::error(400, "MalformedPolicyDocument", "bad"),
            vec!["not a valid IAM policy"],
        ),
    ];
    for (reply, expected) in cases {
        let code = match &reply {
            Reply::Error { code, .. } => code.clone(),
            _ => unreachable!(),
        };
        // The retried codes must fail on every attempt.
        let sts = FakeSts::start_with_default(vec![], reply);
        let pod = Pod::new(&sts.url());
        let run = pod.run(&["--timeout", "5s"]);
        let line = run.failure();
        assert_eq!(run.code, 1);
        for fragment in expected {
            assert!(
                line.contains(fragment),
                "{code}: missing {fragment:?} in {line}"
            );
        }
        assert!(
            line.contains(&format!("sub={SUBJECT}")),
            "{code}: claims missing in {line}"
        );
        assert_no_secret_in_stderr(&run, &pod);
    }
}

#[test]
fn credentials_near_expiry_are_refreshed() {
    // 10 minutes left is inside the 20-minute refresh window: handed out fresh, never from cache.
    let sts = FakeSts::start_with_default(vec![], Reply::expiring_in(Duration::from_secs(600)));
    let pod = Pod::new(&sts.url());
    let first = pod.run(&[]).access_key_id();
    let second = pod.run(&[]).access_key_id();
    assert_ne!(first, second);
    assert_eq!(sts.calls(), 2);
}

#[test]
fn a_rotated_token_is_read_on_the_next_sts_call() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    pod.run(&["--no-cache"]).credentials();
    let rotated = token(SUBJECT, 7200);
    pod.write_token(&rotated);
    pod.run(&["--no-cache"]).credentials();
    let tokens: Vec<String> = sts
        .requests()
        .into_iter()
        .map(|r| r.web_identity_token)
        .collect();
    assert_eq!(tokens, [pod.token.clone(), rotated]);
}

#[test]
fn valid_cached_credentials_outlive_an_sts_outage() {
    // Cached with 10 minutes left: due for refresh, still valid.
    let sts = FakeSts::start_with_default(
        vec![Reply::expiring_in(Duration::from_secs(600))],
        Reply::server_error(),
    );
    let pod = Pod::new(&sts.url());
    let cached = pod.run(&[]).access_key_id();
    let during_outage = pod.run(&["--timeout", "3s"]);
    assert_eq!(during_outage.access_key_id(), cached);
    assert!(
        during_outage.stderr.contains("warning:")
            && during_outage
                .stderr
                .contains("handing out cached credentials"),
        "{}",
        during_outage.stderr
    );
}

#[test]
fn session_name_policies_and_duration_reach_sts() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#;
    pod.run(&[
        "--session-name",
        "batch@job-7",
        "--duration-seconds",
        "7200",
        "--policy",
        policy,
        "--policy-arn",
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
    ])
    .credentials();
    let request = &sts.requests()[0];
    assert_eq!(request.role_session_name, "batch@job-7");
    assert_eq!(request.duration_seconds, Some(7200));
    assert_eq!(request.policy.as_deref(), Some(policy));
    assert_eq!(
        request.policy_arns,
        ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    );
}

#[test]
fn aws_role_session_name_wins_over_the_hostname() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    pod.helper(&[])
        .env("AWS_ROLE_SESSION_NAME", "from-env")
        .output()
        .unwrap();
    assert_eq!(sts.requests()[0].role_session_name, "from-env");
}
