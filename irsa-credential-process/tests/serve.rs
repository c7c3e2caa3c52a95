//! `serve` against the fault STS: the container credentials contract, the Authorization check,
//! refresh in the background, last-good credentials through an outage, IMDSv2, failed starts.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::Pod;
use common::serving::Serving;
use tests::{FakeSts, Reply};

fn serving(pod: &Pod, args: &[&str]) -> Serving {
    Serving::start(pod, args).unwrap_or_else(|run| panic!("serve did not start: {}", run.stderr))
}

/// Polls `probe` every 100 ms for up to `limit`.
fn eventually(limit: Duration, mut probe: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if probe() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn answers_the_container_credentials_contract_and_prints_the_env_to_set() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let auth_file = pod.dir.path().join("auth-token");
    let server = serving(&pod, &["--auth-token-file", auth_file.to_str().unwrap()]);

    let url = server.url();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/v1/credentials"),
        "{url}"
    );
    assert_eq!(
        server.var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
        auth_file.to_str().unwrap()
    );
    let mode = std::fs::metadata(&auth_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the token file is private");

    let answer = server.credentials();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let json = answer.json();
    let issued = &sts.issued()[0];
    assert_eq!(json["AccessKeyId"], issued.access_key_id.as_str());
    assert_eq!(json["SecretAccessKey"], issued.secret_access_key.as_str());
    assert_eq!(json["Token"], issued.session_token.as_str());
    assert_eq!(json["Expiration"], issued.expiration.as_str());
    assert_eq!(json["AccountId"], "123456789012");
    for _ in 0..20 {
        assert_eq!(
            server.credentials().json()["AccessKeyId"],
            json["AccessKeyId"]
        );
    }
    assert_eq!(sts.calls(), 1, "requests are answered from memory");

    // The same port on [::1], where the host has IPv6.
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        let v6 = url.replace("127.0.0.1", "[::1]");
        let token = server.auth_token();
        assert_eq!(server.get(&v6, &[("Authorization", &token)]).status, 200);
    }

    let run = server.stop();
    assert_eq!(run.code, 0, "SIGTERM stops it cleanly: {}", run.stderr);
    assert!(
        run.stderr
            .contains("serving credentials for arn:aws:iam::123456789012:role/cart")
    );
    for secret in [&issued.secret_access_key, &issued.session_token, &pod.token] {
        assert!(!run.stderr.contains(secret.as_str()), "{}", run.stderr);
    }
}

#[test]
fn a_missing_or_wrong_authorization_header_is_refused() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let server = serving(&pod, &["--verbose"]);
    let missing = server.get(server.url(), &[]);
    assert_eq!(missing.status, 401);
    assert_eq!(missing.json()["code"], "MissingAuthorization");
    let wrong = server.get(server.url(), &[("Authorization", "guess")]);
    assert_eq!(wrong.status, 403);
    assert_eq!(wrong.json()["code"], "InvalidAuthorization");
    let token = server.auth_token();
    let prefix = server.get(server.url(), &[("Authorization", &token[..10])]);
    assert_eq!(prefix.status, 403, "a prefix of the token is not the token");
    for answer in [&missing, &wrong, &prefix] {
        assert!(!answer.body.contains("AccessKeyId"), "{}", answer.body);
    }
    let elsewhere = server.get(&server.url().replace("/v1/credentials", "/"), &[]);
    assert_eq!(elsewhere.status, 404);

    let run = server.stop();
    assert!(
        run.stderr.contains("GET /v1/credentials 403"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(&token),
        "the auth token is never logged"
    );
}

#[test]
fn default_token_file_lives_in_the_cache_directory_and_env_names_an_existing_one() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let server = serving(&pod, &[]);
    let default = pod.cache_dir().join("serve-token");
    assert_eq!(
        server.var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
        default.to_str().unwrap()
    );
    drop(server);

    let mut pod = Pod::new(&sts.url());
    let shared = pod.dir.path().join("shared-token");
    let from_a_secret = "token-from-a-secret-0123456789abcdef0123456789abcdef";
    std::fs::write(&shared, from_a_secret).unwrap();
    pod.extra_env.push((
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE".into(),
        shared.to_str().unwrap().into(),
    ));
    let server = serving(&pod, &[]);
    let ok = server.get(server.url(), &[("Authorization", from_a_secret)]);
    assert_eq!(ok.status, 200, "{}", ok.body);
}

#[test]
fn refreshes_in_the_background_ahead_of_expiry() {
    // Credentials living 4 s are refreshed halfway, every 2 s.
    let sts = FakeSts::start_with_default(vec![], Reply::expiring_in(Duration::from_secs(4)));
    let pod = Pod::new(&sts.url());
    let server = serving(&pod, &[]);
    let first = server.credentials().json()["AccessKeyId"].clone();
    assert!(
        eventually(Duration::from_secs(8), || sts.calls() >= 3),
        "two refreshes within 8 s, got {} calls",
        sts.calls()
    );
    let now = server.credentials();
    assert_eq!(now.status, 200);
    assert_ne!(
        now.json()["AccessKeyId"],
        first,
        "new credentials are served"
    );
    let latest = sts.issued().last().unwrap().access_key_id.clone();
    assert!(
        eventually(
            Duration::from_secs(1),
            || server.credentials().json()["AccessKeyId"] == latest.as_str()
        ),
        "the newest credentials are served"
    );
    assert!(
        server.stderr().contains("refreshed the credentials"),
        "{}",
        server.stderr()
    );
}

#[test]
fn keeps_the_last_good_credentials_through_an_outage_then_answers_500() {
    // 16 s credentials; refreshing them at 8 s fails, and keeps failing. They are handed out
    // until 4 s (a quarter of their lifetime) before they expire.
    let sts = FakeSts::start_with_default(
        vec![Reply::expiring_in(Duration::from_secs(16))],
        Reply::server_error(),
    );
    let pod = Pod::new(&sts.url());
    let server = serving(&pod, &["--timeout", "1s"]);
    let started = Instant::now();
    let first = server.credentials().json()["AccessKeyId"].clone();

    assert!(
        eventually(Duration::from_secs(11), || sts.calls() >= 2),
        "a refresh was tried"
    );
    assert!(
        eventually(Duration::from_secs(3), || server
            .stderr()
            .contains("refresh failed")),
        "{}",
        server.stderr()
    );
    let during = server.credentials();
    assert!(
        started.elapsed() < Duration::from_millis(11_500),
        "still inside the validity"
    );
    assert_eq!(during.status, 200, "{}", during.body);
    assert_eq!(
        during.json()["AccessKeyId"],
        first,
        "last good credentials kept"
    );
    assert!(
        server
            .stderr()
            .contains("keeping the last good credentials")
    );

    // Past that margin: 500 with a JSON error.
    assert!(eventually(Duration::from_secs(10), || server
        .credentials()
        .status
        == 500));
    let after = server.credentials();
    assert_eq!(after.json()["code"], "CredentialsUnavailable");
    assert!(!after.body.contains("AccessKeyId"));
}

#[test]
fn fails_at_start_when_sts_refuses_and_writes_nothing() {
    let sts = FakeSts::start(vec![Reply::access_denied()]);
    let pod = Pod::new(&sts.url());
    let auth_file = pod.dir.path().join("auth-token");
    let run = Serving::start(&pod, &["--auth-token-file", auth_file.to_str().unwrap()])
        .err()
        .expect("serve must not start");
    assert_eq!(run.code, 1);
    let error = run.failure();
    assert!(error.contains("AccessDenied"), "{error}");
    assert!(error.contains("trust policy"), "explained: {error}");
    assert!(
        !auth_file.exists(),
        "no token file for a server that never ran"
    );
}

#[test]
fn probe_passes_only_while_serve_hands_out_credentials() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let auth_file = pod.dir.path().join("auth-token");
    let auth = auth_file.to_str().unwrap();
    let probe = |port: &str| {
        common::Run::from(
            pod.helper(&["probe", "--port", port, "--auth-token-file", auth])
                .output()
                .unwrap(),
        )
    };
    let run = common::Run::from(pod.helper(&["probe"]).output().unwrap());
    run.fails(
        2,
        "probe needs the token file serve uses: pass --auth-token-file PATH",
    );

    let before = probe("9");
    assert_eq!(before.code, 1);
    assert!(
        before.failure().contains("is not written yet"),
        "{}",
        before.stderr
    );

    let server = serving(&pod, &["--auth-token-file", auth]);
    let port = server
        .url()
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let port = port.as_str();
    let ready = probe(port);
    assert_eq!(ready.code, 0, "{}", ready.stderr);
    assert!(
        ready.stdout.is_empty() && ready.stderr.is_empty(),
        "prints nothing, no secret"
    );

    // A token file that is not the server's: the server refuses, so not ready.
    std::fs::write(&auth_file, "another-token-0123456789abcdef0123456789").unwrap();
    let refused = probe(port);
    assert_eq!(refused.code, 1);
    assert!(
        refused.failure().ends_with(&format!(
            "not ready: http://127.0.0.1:{port}/v1/credentials answered 403 Forbidden"
        )),
        "{}",
        refused.stderr
    );

    // Nothing listening: not ready, with the cause in one line.
    drop(server);
    let closed = probe(port);
    assert_eq!(closed.code, 1);
    assert_eq!(
        closed.failure(),
        format!(
            "irsa-credential-process: error: not ready: cannot connect for GET http://127.0.0.1:{port}/v1/credentials: connection refused"
        )
    );
}

#[test]
fn bad_input_fails_with_one_line_naming_the_fix() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let run = Serving::start(&pod, &["--no-cache"])
        .err()
        .expect("no token file");
    assert_eq!(run.code, 2);
    assert!(
        run.failure().contains("--auth-token-file"),
        "{}",
        run.stderr
    );

    let with_newline = pod.dir.path().join("from-a-secret");
    std::fs::write(&with_newline, "token\n").unwrap();
    let path = with_newline.to_str().unwrap();
    let run = Serving::start(&pod, &["--auth-token-file", path])
        .err()
        .expect("refused");
    assert_eq!(run.code, 2);
    assert!(run.failure().contains("printf %s TOKEN"), "{}", run.stderr);

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let run = common::Run::from(pod.helper(&["serve", "--port", &port]).output().unwrap());
    assert_eq!(run.code, 1);
    assert!(
        run.failure()
            .contains(&format!("cannot listen on 127.0.0.1:{port}"))
    );
    assert_eq!(sts.calls(), 0, "a busy port fails before STS is called");
}

#[test]
fn imds_v2_session_token_then_role_then_credentials() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let server = serving(&pod, &["--imds"]);
    let base = server.var("AWS_EC2_METADATA_SERVICE_ENDPOINT").to_string();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with('/'),
        "{base}"
    );
    let api = |path: &str| format!("{base}{path}");
    let listing = api("latest/meta-data/iam/security-credentials/");

    assert_eq!(server.get(&listing, &[]).status, 401, "IMDSv2 only");
    assert_eq!(
        server.put(&api("latest/api/token"), &[]).status,
        400,
        "a TTL is required"
    );
    let ttl = ("X-aws-ec2-metadata-token-ttl-seconds", "60");
    let relayed = server.put(
        &api("latest/api/token"),
        &[ttl, ("X-Forwarded-For", "10.0.0.1")],
    );
    assert_eq!(
        relayed.status, 403,
        "proxied token requests are refused, as IMDS does"
    );

    let session = server.put(&api("latest/api/token"), &[ttl]);
    assert_eq!(session.status, 200);
    let header = ("X-aws-ec2-metadata-token", session.body.as_str());
    assert_eq!(
        server
            .get(&listing, &[("X-aws-ec2-metadata-token", "forged")])
            .status,
        401
    );
    let role = server.get(&listing, &[header]);
    assert_eq!((role.status, role.body.as_str()), (200, "cart"));
    let credentials = server.get(&format!("{listing}cart"), &[header]);
    assert_eq!(credentials.status, 200);
    let json = credentials.json();
    assert_eq!(json["Code"], "Success");
    assert_eq!(json["Type"], "AWS-HMAC");
    assert_eq!(json["AccessKeyId"], sts.issued()[0].access_key_id.as_str());
    assert_eq!(json["Token"], sts.issued()[0].session_token.as_str());
    assert_eq!(
        server.get(&format!("{listing}other"), &[header]).status,
        404
    );

    // Without --imds, none of it is served.
    let plain = serving(&pod, &[]);
    let token_url = plain.url().replace("/v1/credentials", "/latest/api/token");
    assert_eq!(plain.put(&token_url, &[ttl]).status, 404);
}
