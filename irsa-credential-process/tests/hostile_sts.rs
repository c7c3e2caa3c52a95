//! The helper against a hostile or broken STS (the fault STS of `tests`): a truncated or forged
//! answer, an HTML page, a redirect, an empty or endless body, a refused connection, an unknown
//! host, a password in the endpoint URL. Each ends in one error line naming the endpoint and what
//! happened, nothing on stdout, and no credentials handed out.

mod common;

use std::time::{Duration, Instant};

use common::{Pod, Run};
use tests::fault_sts::{Fault, FaultSts, Forged};

const PREFIX: &str = "irsa-credential-process: error: ";
const ALTERED: &str = "the answer was cut short or altered on its way: check that the endpoint URL is STS itself and what proxies stand between";
const CLOCK: &str = "check this machine's clock (date -u), and that the endpoint URL is STS itself";

/// A failure whose whole stderr is the one line `expected`.
fn fails_with(run: &Run, expected: &str) {
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "", "nothing on stdout");
    assert_eq!(run.stderr, format!("{PREFIX}{expected}\n"));
}

fn forged(change: impl FnOnce(&mut Forged)) -> Fault {
    let mut fields = Forged::valid();
    change(&mut fields);
    Fault::credentials(&fields)
}

#[test]
fn the_forged_answer_is_valid_until_a_field_is_changed() {
    let sts = FaultSts::start(forged(|_| {}));
    let pod = Pod::new(&sts.url());
    assert_eq!(
        pod.run(&["--no-cache"]).access_key_id(),
        "ASIAFORGED0000000001"
    );
}

#[test]
fn unusable_credentials_are_retried_then_explained() {
    let far = Forged::expiring_in(Duration::from_secs(100 * 365 * 86400));
    let cases: Vec<(Fault, String, &str)> = vec![
        (
            forged(|f| f.expiration = None),
            "Expiration 1970-01-01T00:00:00Z is already past".into(),
            CLOCK,
        ),
        (
            forged(|f| f.expiration = Some("2001-01-01T00:00:00Z".into())),
            "Expiration 2001-01-01T00:00:00Z is already past".into(),
            CLOCK,
        ),
        (
            forged(|f| f.expiration = Some(far.clone())),
            format!("Expiration {far} is further away than the 12 hours STS grants at most"),
            CLOCK,
        ),
        (
            forged(|f| f.access_key_id = Some(String::new())),
            "no AccessKeyId".into(),
            ALTERED,
        ),
        (
            forged(|f| f.secret_access_key = None),
            "no SecretAccessKey".into(),
            ALTERED,
        ),
        (
            forged(|f| f.session_token = Some(String::new())),
            "no SessionToken".into(),
            ALTERED,
        ),
        (
            forged(|f| f.assumed_role_arn = None),
            "no AssumedRoleUser.Arn".into(),
            ALTERED,
        ),
        (
            forged(|f| f.session_token = Some("abc\n[default]\naws_access_key_id=x".into())),
            "SessionToken is made of characters it never holds".into(),
            ALTERED,
        ),
        (
            forged(|f| f.subject = Some("system:serviceaccount:shop:cart\n[x]".into())),
            "SubjectFromWebIdentityToken is made of characters it never holds".into(),
            ALTERED,
        ),
    ];
    // Each case waits out the backoff (3 s): run them side by side.
    std::thread::scope(|scope| {
        for (fault, why, advice) in cases {
            scope.spawn(move || {
                let sts = FaultSts::start(fault);
                let pod = Pod::new(&sts.url());
                let run = pod.run(&["--timeout", "10s"]);
                fails_with(
                    &run,
                    &format!(
                        "STS at {} answered 5 times with unusable credentials ({why}): {advice}",
                        sts.url()
                    ),
                );
                assert_eq!(sts.calls(), 5, "{why}: retried as a transient failure");
                assert!(pod.cache_files().is_empty(), "{why}: nothing cached");
            });
        }
    });
}

#[test]
fn a_quote_in_a_value_never_reaches_the_shell() {
    let sts = FaultSts::start(forged(|f| {
        f.access_key_id = Some("ASIA'$(touch pwned)'".into())
    }));
    let pod = Pod::new(&sts.url());
    for format in ["env", "json"] {
        let run = pod.run(&["--format", format, "--timeout", "10s"]);
        fails_with(
            &run,
            &format!(
                "STS at {} answered 5 times with unusable credentials (AccessKeyId is made of characters it never holds): {ALTERED}",
                sts.url()
            ),
        );
    }
}

#[test]
fn answers_that_are_not_sts_name_the_status_and_the_endpoint() {
    let not_sts =
        "check that the endpoint URL is an STS endpoint and that no proxy answers in its place";
    let cases = [
        (
            Fault::html(503),
            "503 Service Unavailable with an HTML page",
            "STS or a proxy in front of it is failing (retried already): try again later, or check the proxy",
            5,
        ),
        (Fault::html(200), "200 OK with an HTML page", not_sts, 5),
        (Fault::empty(200), "200 OK with an empty body", not_sts, 5),
        (
            Fault::xml(200, "<Other/>".into()),
            "200 OK with 8 bytes of other XML",
            not_sts,
            5,
        ),
        (
            Fault::redirect("https://login.example.com/"),
            "302 Found with an empty body",
            "STS never redirects: check the endpoint URL (scheme, host, path) and any proxy",
            1,
        ),
        (
            Fault::html(404),
            "404 Not Found with an HTML page",
            not_sts,
            1,
        ),
    ];
    for (fault, answered, advice, calls) in cases {
        let sts = FaultSts::start(fault);
        let pod = Pod::new(&sts.url());
        let run = pod.run(&["--timeout", "10s"]);
        fails_with(
            &run,
            &format!(
                "STS at {} answered HTTP {answered} instead of an STS answer: {advice}",
                sts.url()
            ),
        );
        assert_eq!(sts.calls(), calls, "{answered}");
    }
}

#[test]
fn an_endless_answer_stops_at_the_cap_in_little_memory() {
    let sts = FaultSts::start(Fault::Endless);
    let pod = Pod::new(&sts.url());
    let started = Instant::now();
    // 512 MiB of address space: the unbounded read reached gigabytes.
    let output = pod
        .helper_under(&["prlimit", "--as=536870912", "--"], &["--timeout", "10s"])
        .output()
        .unwrap();
    let run = Run::from(output);
    fails_with(
        &run,
        &format!(
            "STS at {} sent an answer larger than 65536 bytes (STS answers are a few KB): check that the endpoint URL is an STS endpoint",
            sts.url()
        ),
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn network_failures_are_one_line_naming_the_endpoint() {
    let advice = "check DNS and network access to STS, or point AWS_ENDPOINT_URL_STS at a reachable endpoint";
    let pod = Pod::new("http://127.0.0.1:9");
    fails_with(
        &pod.run(&["--timeout", "5s"]),
        &format!("cannot reach STS at http://127.0.0.1:9: connection refused: {advice}"),
    );
    // `.invalid` never resolves (RFC 6761); without a name server the lookup fails otherwise.
    let pod = Pod::new("http://sts.no-such-host.invalid");
    let run = pod.run(&["--timeout", "5s"]);
    let said = run.stderr.clone();
    assert!(
        said == format!("{PREFIX}cannot reach STS at http://sts.no-such-host.invalid: no such host sts.no-such-host.invalid: {advice}\n")
            || (said.starts_with(&format!("{PREFIX}cannot reach STS at http://sts.no-such-host.invalid: DNS lookup failed for sts.no-such-host.invalid: "))
                && said.lines().count() == 1
                && said.len() < 400),
        "{said}"
    );
    assert_eq!(run.code, 1);
}

#[test]
fn a_password_in_the_endpoint_url_is_never_printed() {
    let sts = FaultSts::start(Fault::html(503));
    let url = format!("http://user:s3cr3t-pw@127.0.0.1:{}", sts.port());
    let shown = format!("http://user:xxxxx@127.0.0.1:{}", sts.port());
    let pod = Pod::new(&url);
    let run = pod.run(&["--verbose", "--timeout", "5s"]);
    assert_eq!(run.code, 1);
    assert!(!run.stderr.contains("s3cr3t-pw"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("calling STS at {shown} for")),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr.lines().last().unwrap(),
        format!(
            "{PREFIX}STS at {shown} answered HTTP 503 Service Unavailable with an HTML page instead of an STS answer: STS or a proxy in front of it is failing (retried already): try again later, or check the proxy"
        )
    );
    let pod = Pod::new("ftp://user:s3cr3t-pw@127.0.0.1:9");
    let run = pod.run(&[]);
    assert!(!run.stderr.contains("s3cr3t-pw"), "{}", run.stderr);
    assert!(
        run.stderr.contains("ftp://user:xxxxx@127.0.0.1:9"),
        "{}",
        run.stderr
    );
}

#[test]
fn exec_never_runs_the_command_with_unusable_credentials() {
    let sts = FaultSts::start(forged(|f| f.secret_access_key = Some(String::new())));
    let pod = Pod::new(&sts.url());
    let marker = pod.dir.path().join("ran");
    let script = format!("touch {}", marker.display());
    let run = pod.run(&["exec", "--timeout", "10s", "--", "sh", "-c", &script]);
    fails_with(
        &run,
        &format!(
            "STS at {} answered 5 times with unusable credentials (no SecretAccessKey): {ALTERED}",
            sts.url()
        ),
    );
    assert!(!marker.exists(), "the command must not run");
}

#[test]
fn probe_says_what_happened_to_the_connection() {
    let pod = Pod::new("http://127.0.0.1:9");
    let auth = pod.dir.path().join("auth-token");
    std::fs::write(&auth, "probe-token-0123456789abcdef0123456789abcdef").unwrap();
    std::fs::set_permissions(&auth, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let run = pod.run(&[
        "probe",
        "--port",
        "9",
        "--auth-token-file",
        auth.to_str().unwrap(),
    ]);
    fails_with(
        &run,
        "not ready: cannot connect for GET http://127.0.0.1:9/v1/credentials: connection refused",
    );
}

#[test]
fn serve_and_update_never_publish_unusable_credentials() {
    let sts = FaultSts::start(forged(|f| f.expiration = None));
    let pod = Pod::new(&sts.url());
    let expected = format!(
        "{PREFIX}STS at {} answered 5 times with unusable credentials (Expiration 1970-01-01T00:00:00Z is already past): {CLOCK}",
        sts.url()
    );
    let credentials = pod.dir.path().join("credentials");
    let file = credentials.to_str().unwrap();
    for args in [
        &["serve", "--port", "0", "--timeout", "10s"][..],
        &[
            "update",
            "--once",
            "--credentials-file",
            file,
            "--timeout",
            "10s",
        ],
    ] {
        let run = pod.run(args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
        assert_eq!(
            run.stderr.lines().last(),
            Some(expected.as_str()),
            "{args:?}"
        );
        assert!(!run.stderr.contains("refreshed"), "{}", run.stderr);
    }
    assert!(!credentials.exists(), "update wrote nothing");
}

#[test]
fn an_untrusted_certificate_is_one_line() {
    let sts = tests::FakeSts::start_tls(vec![], &["localhost"]);
    let pod = Pod::new(&sts.url());
    let run = pod.run(&["--timeout", "5s"]);
    fails_with(
        &run,
        &format!(
            "cannot reach STS at {}: invalid peer certificate: UnknownIssuer: check DNS and network access to STS, or point AWS_ENDPOINT_URL_STS at a reachable endpoint",
            sts.url()
        ),
    );
}
