//! The plugin against a hostile or broken API server (tests/src/hostile_kube.rs): every request
//! ends within `--request-timeout` (retries and the body included, as client-go's), retries
//! stop after client-go's ten, `test` and `doctor` end by their `--timeout`, an endless body
//! stops at the cap, and each failure is one line naming the server and what happened.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tests::Run;
use tests::hostile_kube::{HostileKube, Reply, Route};

struct Hostile {
    server: HostileKube,
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Hostile {
    fn start(routes: Vec<Route>) -> Hostile {
        let server = HostileKube::start(routes);
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = server.write_kubeconfig(dir.path());
        Hostile {
            server,
            _dir: dir,
            kubeconfig,
        }
    }

    /// Every request answered with `reply`.
    fn everywhere(reply: Reply) -> Hostile {
        Hostile::start(vec![
            Route::new("GET", "*", reply.clone()),
            Route::new("POST", "*", reply),
        ])
    }

    /// The plugin with `args` against this server, and how long it ran.
    fn run(&self, args: &[&str]) -> (Run, Duration) {
        let started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_kubectl-irsa"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("KUBECONFIG", &self.kubeconfig)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (Run::from(output), started.elapsed())
    }
}

const SA_LIST: &str = "/api/v1/namespaces/shop/serviceaccounts";

#[test]
fn retry_after_ends_at_the_request_timeout() {
    // kube's own policy retried for 307 s here; client-go's timeout spans its retries.
    let hostile = Hostile::everywhere(Reply::RetryAfter);
    let (run, took) = hostile.run(&["list", "-n", "shop", "--request-timeout", "2s"]);
    run.fails(1, "");
    let server = hostile.server.host_port();
    assert_eq!(
        run.error_lines(),
        [format!(
            "error: cannot list serviceaccounts in namespace shop: the server {server} kept answering 503 Service Unavailable with Retry-After until --request-timeout 2s passed (try again later)"
        )]
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
}

#[test]
fn retry_after_is_followed_ten_times_at_most() {
    // client-go's maxRetries: the first request and ten more, then the server's answer.
    let hostile = Hostile::start(vec![Route::new("GET", SA_LIST, Reply::RetryAfter)]);
    let (run, took) = hostile.run(&["list", "-n", "shop"]);
    run.fails(1, "");
    assert_eq!(
        run.error_lines(),
        [
            "error: cannot list serviceaccounts in namespace shop: the server is shedding load (503 ServiceUnavailable)"
        ]
    );
    let to_the_list = hostile.server.requests_to(SA_LIST);
    assert_eq!(to_the_list, 11);
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn a_dripped_body_ends_at_the_request_timeout() {
    let hostile = Hostile::everywhere(Reply::Drip);
    let (run, took) = hostile.run(&["list", "-n", "shop", "--request-timeout", "3s"]);
    run.fails(1, "");
    let server = hostile.server.host_port();
    assert_eq!(
        run.error_lines(),
        [format!(
            "error: cannot list serviceaccounts in namespace shop: the server {server} did not answer within 3s (--request-timeout; check that the cluster is reachable)"
        )]
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
}

#[test]
fn a_server_that_never_answers_ends_at_the_request_timeout() {
    let hostile = Hostile::everywhere(Reply::Hang);
    let (run, took) = hostile.run(&[
        "whoami",
        "cart",
        "-n",
        "shop",
        "--request-timeout",
        "1500ms",
    ]);
    run.fails(1, "");
    let server = hostile.server.host_port();
    assert_eq!(
        run.error_lines(),
        [format!(
            "error: cannot get serviceaccount shop/cart: the server {server} did not answer within 1500ms (--request-timeout; check that the cluster is reachable)"
        )]
    );
    assert!(took < Duration::from_secs(6), "{took:?}");
}

#[test]
fn doctor_ends_by_its_timeout() {
    let hostile = Hostile::everywhere(Reply::Hang);
    let (run, took) = hostile.run(&["doctor", "cart", "-n", "shop", "--timeout", "2s"]);
    run.fails(1, "");
    assert_eq!(
        run.error_lines(),
        [
            "error: doctor did not finish within 2s (--timeout): the cluster, or an endpoint it checks, is too slow; raise --timeout, or set --request-timeout to see which request hangs"
        ]
    );
    assert!(took < Duration::from_secs(6), "{took:?}");
}

#[test]
fn test_ends_by_its_timeout() {
    let hostile = Hostile::everywhere(Reply::Hang);
    let (run, took) = hostile.run(&["test", "cart", "-n", "shop", "--timeout", "2s"]);
    run.fails(1, "");
    assert_eq!(
        run.error_lines(),
        [
            "error: test did not finish within 2s (--timeout): the cluster is too slow; raise --timeout, or set --request-timeout to see which request hangs"
        ]
    );
    assert!(took < Duration::from_secs(6), "{took:?}");
}

#[test]
fn an_error_answer_that_is_not_a_status_is_worded_as_kubectl_words_it() {
    let hostile = Hostile::start(vec![Route::new(
        "GET",
        SA_LIST,
        Reply::Json(500, "{}".into()),
    )]);
    let (run, _) = hostile.run(&["list", "-n", "shop"]);
    run.fails(1, "");
    assert_eq!(
        run.error_lines(),
        [
            "error: cannot list serviceaccounts in namespace shop: an error on the server (\"{}\") has prevented the request from succeeding (500 InternalError)"
        ]
    );
}

#[test]
fn a_failed_token_request_gets_no_rbac_advice() {
    let account = serde_json::json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "cart", "namespace": "shop", "annotations": {
            "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/cart"}},
    });
    let hostile = Hostile::start(vec![
        Route::new(
            "GET",
            "/api/v1/namespaces/shop/serviceaccounts/cart",
            Reply::Json(200, account.to_string()),
        ),
        Route::new(
            "POST",
            "/api/v1/namespaces/shop/serviceaccounts/cart/token",
            Reply::Json(500, "<html>upstream broke</html>".into()),
        ),
    ]);
    let (run, _) = hostile.run(&["whoami", "cart", "-n", "shop"]);
    run.fails(1, "");
    assert_eq!(
        run.error_lines(),
        [
            "error: cannot create serviceaccounts/token for shop/cart: an error on the server (\"<html>upstream broke</html>\") has prevented the request from succeeding (500 InternalError)"
        ]
    );
}

/// The plugin under an address-space limit of `megabytes`, so that reading without a cap
/// would end in an allocation failure (a kill), not in an error line.
fn run_limited(hostile: &Hostile, megabytes: u64, args: &[&str]) -> (Run, Duration) {
    let started = Instant::now();
    let output = Command::new("prlimit")
        .arg(format!("--as={}", megabytes << 20))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_kubectl-irsa"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("KUBECONFIG", &hostile.kubeconfig)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (Run::from(output), started.elapsed())
}

#[test]
fn an_endless_jwks_stops_at_its_cap() {
    let hostile = Hostile::start(vec![Route::new("GET", "/openid/v1/jwks", Reply::Endless)]);
    let out = tempfile::tempdir().unwrap();
    let out = out.path().join("public");
    let args = [
        "oidc",
        "documents",
        "--issuer",
        "https://oidc.example.com",
        "--out",
        out.to_str().unwrap(),
    ];
    let (run, took) = run_limited(&hostile, 512, &args);
    run.fails(1, "");
    let server = hostile.server.host_port();
    assert_eq!(
        run.error_lines(),
        [format!(
            "error: cannot get /openid/v1/jwks: the answer of the server {server} is larger than 1 MiB, the most read from it for one request"
        )]
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(!out.exists());
}

#[test]
fn an_endless_list_stops_at_its_cap() {
    let hostile = Hostile::start(vec![Route::new("GET", SA_LIST, Reply::Endless)]);
    let (run, _) = run_limited(&hostile, 1024, &["list", "-n", "shop"]);
    run.fails(1, "");
    let server = hostile.server.host_port();
    assert_eq!(
        run.error_lines(),
        [format!(
            "error: cannot list serviceaccounts in namespace shop: the answer of the server {server} is larger than 64 MiB, the most read from it for one request"
        )]
    );
}

#[test]
fn a_list_that_never_ends_is_stopped() {
    let page = |token: &str| {
        format!(
            r#"{{"kind":"ServiceAccountList","apiVersion":"v1","metadata":{{"continue":"{token}"}},"items":[]}}"#
        )
    };
    let hostile = Hostile::start(vec![Route::new(
        "GET",
        SA_LIST,
        Reply::Json(200, page("again")),
    )]);
    let (run, _) = hostile.run(&["list", "-n", "shop"]);
    run.fails(1, "");
    assert_eq!(
        run.error_lines(),
        [
            "error: cannot list serviceaccounts in namespace shop: the API server sent the same continue token twice for one list: its paging is broken (check the apiserver, or a proxy in front of it)"
        ]
    );
    assert_eq!(hostile.server.requests_to(SA_LIST), 2);
}

#[test]
fn a_list_of_endless_pages_is_stopped() {
    let hostile = Hostile::start(vec![Route::new("GET", SA_LIST, Reply::EndlessPages)]);
    let (run, _) = hostile.run(&["list", "-n", "shop"]);
    run.fails(1, "");
    assert_eq!(
        run.error_lines(),
        [
            "error: cannot list serviceaccounts in namespace shop: the API server sent more than 2000 pages for one list: its paging is broken (check the apiserver, or a proxy in front of it)"
        ]
    );
    assert_eq!(hostile.server.requests_to(SA_LIST), 2000);
}

#[test]
fn doctor_against_a_shedding_server_ends_at_the_request_timeout() {
    let hostile = Hostile::everywhere(Reply::RetryAfter);
    let (run, took) = hostile.run(&["doctor", "cart", "-n", "shop", "--request-timeout", "2s"]);
    run.fails(1, "");
    let server = hostile.server.host_port();
    assert_eq!(
        run.error_lines(),
        [format!(
            "error: cannot get serviceaccount shop/cart: the server {server} kept answering 503 Service Unavailable with Retry-After until --request-timeout 2s passed (try again later)"
        )]
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
}

#[test]
fn doctor_reports_an_endless_jwks_in_its_check() {
    let account = serde_json::json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "cart", "namespace": "shop", "annotations": {
            "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/cart"}},
    });
    let hostile = Hostile::start(vec![
        Route::new(
            "GET",
            "/api/v1/namespaces/shop/serviceaccounts/cart",
            Reply::Json(200, account.to_string()),
        ),
        Route::new("GET", "/openid/v1/jwks", Reply::Endless),
    ]);
    let (run, took) = run_limited(
        &hostile,
        512,
        &["doctor", "cart", "-n", "shop", "-o", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let jwks = &report["sections"][0]["checks"][1];
    assert_eq!(jwks["name"], "jwks");
    assert_eq!(
        jwks["evidence"],
        format!(
            "the cluster does not serve /openid/v1/jwks: the answer of the server {} is larger than 1 MiB, the most read from it for one request",
            hostile.server.host_port()
        )
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn an_answer_that_is_not_json_is_one_line() {
    let page = "<html><body>Welcome to nginx!</body></html>";
    let hostile = Hostile::start(vec![Route::new(
        "GET",
        SA_LIST,
        Reply::Json(200, page.into()),
    )]);
    let (run, _) = hostile.run(&["list", "-n", "shop"]);
    run.fails(1, "");
    assert_eq!(
        run.error_lines(),
        [
            "error: cannot list serviceaccounts in namespace shop: the answer is not the JSON an API server sends (expected value at line 1 column 1): check the server of the kubeconfig's cluster"
        ]
    );
}

#[test]
fn what_the_server_says_is_shown_not_run_by_the_terminal() {
    let account = serde_json::json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "cart", "namespace": "shop", "annotations": {
            "eks.amazonaws.com/role-arn": "\u{1b}]0;owned\u{7}arn:aws:iam::123456789012:role/cart\r"}},
    });
    let list = serde_json::json!({
        "kind": "ServiceAccountList", "apiVersion": "v1", "metadata": {}, "items": [account],
    });
    let hostile = Hostile::start(vec![Route::new(
        "GET",
        SA_LIST,
        Reply::Json(200, list.to_string()),
    )]);
    let (run, _) = hostile.run(&["list", "-n", "shop"]);
    assert_eq!(
        run.ok().stdout,
        "SERVICEACCOUNT   ROLE ARN\ncart             ^[]0;owned\\x07arn:aws:iam::123456789012:role/cart\\r\n"
    );
    let refusal = tests::hostile_kube::status_json(
        500,
        "InternalError",
        "broken\n\u{1b}[2Jerror: everything is fine",
    );
    let hostile = Hostile::start(vec![Route::new("GET", SA_LIST, Reply::Json(500, refusal))]);
    let (run, _) = hostile.run(&["list", "-n", "shop"]);
    assert_eq!(
        run.stderr,
        "error: cannot list serviceaccounts in namespace shop: broken\\n^[[2Jerror: everything is fine (500 InternalError)\n"
    );
}
