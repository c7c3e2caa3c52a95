//! `doctor` on what lies outside the cluster, as IAM and STS see it: whether IAM can reach the
//! issuer (cluster-internal names, a name that does not resolve), what the issuer host serves
//! with `--check-public` (a local HTTPS host, and a JWKS on another host whose chain gives the
//! thumbprint), the trust policy evaluated as IAM would, and the live `--assume` exchange (the
//! fault STS, for a refusal). Checks are read from `-o json` and compared whole.

mod common;

use std::sync::Arc;

use common::{Cluster, ROLE, Run};
use serde_json::{Value, json};
use tests::server::{BackgroundServer, Handler, plain_response};
use tests::tls::ServerTls;
use tests::{FakeSts, Reply};

const HOST: &str = "oidc.fake.test/id/CLUSTER";
const PROVIDER: &str = "arn:aws:iam::123456789012:oidc-provider/oidc.fake.test/id/CLUSTER";
const PUBLISH: &str = "IAM fetches the discovery document and JWKS over the internet: set --service-account-issuer to a public https URL (an S3 bucket's, say), publish the documents there (kubectl irsa oidc documents --issuer URL --out DIR, then upload DIR), and keep the old issuer as a second --service-account-issuer while pods move to new tokens";

fn healthy() -> Cluster {
    let cluster = Cluster::start();
    cluster
        .fake
        .add_service_account("shop", "cart", &[("eks.amazonaws.com/role-arn", ROLE)]);
    cluster.fake.preload_pod_identity_webhook();
    cluster
}

/// `doctor cart -n shop ARGS -o json`.
fn doctor(cluster: &Cluster, args: &[&str]) -> Run {
    let base = ["doctor", "cart", "-n", "shop", "-o", "json"];
    cluster.run(&[&base[..], args].concat())
}

/// The check `name` of a JSON report (the first section that has it).
fn check(run: &Run, name: &str) -> Value {
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    let sections = report["sections"].as_array().unwrap();
    let checks = sections
        .iter()
        .flat_map(|s| s["checks"].as_array().unwrap());
    checks
        .clone()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {report:#}"))
        .clone()
}

fn checked(name: &str, status: &str, evidence: &str, fix: Option<&str>) -> Value {
    json!({"name": name, "status": status, "evidence": evidence, "fix": fix})
}

#[test]
fn a_cluster_internal_issuer_fails_with_the_way_to_publish_one() {
    let cluster = healthy();
    let kind = "https://kubernetes.default.svc.cluster.local";
    cluster.fake.set_issuer(kind);
    let run = doctor(&cluster, &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let evidence = format!(
        "{kind}: kubernetes.default.svc.cluster.local is a cluster-internal name, so IAM cannot fetch the discovery document and keys from it"
    );
    assert_eq!(
        check(&run, "issuer"),
        checked("issuer", "FAIL", &evidence, Some(PUBLISH))
    );
    assert_eq!(check(&run, "jwks")["status"], "PASS");
}

#[test]
fn with_check_public_an_issuer_host_that_does_not_resolve_fails() {
    let cluster = healthy();
    // RFC 6761: .invalid never resolves, wherever the test runs.
    cluster.fake.set_issuer("https://oidc.nowhere.invalid/id/X");
    let run = doctor(&cluster, &["--check-public"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let issuer = check(&run, "issuer");
    let evidence = issuer["evidence"].as_str().unwrap();
    assert!(
        evidence.starts_with(
            "https://oidc.nowhere.invalid/id/X: oidc.nowhere.invalid does not resolve from here ("
        ) && evidence.ends_with("), so IAM cannot fetch the discovery document and keys from it"),
        "{evidence}"
    );
    assert_eq!(
        issuer["fix"],
        format!(
            "give oidc.nowhere.invalid a public DNS record where the documents are served; or: {PUBLISH}"
        )
    );
    assert_eq!(check(&run, "public")["status"], "FAIL");
}

/// An HTTPS issuer host serving the cluster's documents (or stale ones), with its JWKS at
/// `jwks_uri` (default: its own `/openid/v1/jwks`).
fn issuer_host(jwks: Value, jwks_uri: Option<String>) -> (ServerTls, BackgroundServer) {
    let tls = ServerTls::generate(&["localhost"]);
    let handler: Handler = Arc::new(move |request: http::Request<hyper::body::Bytes>| {
        let host = request
            .headers()
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_string();
        let issuer = format!("https://{host}");
        let keys = jwks_uri
            .clone()
            .unwrap_or_else(|| format!("{issuer}/openid/v1/jwks"));
        let body = match request.uri().path() {
            "/.well-known/openid-configuration" => json!({"issuer": issuer, "jwks_uri": keys}),
            _ => jwks.clone(),
        };
        Box::pin(async move { plain_response(http::StatusCode::OK, &body.to_string()) })
    });
    let server = BackgroundServer::start(handler, Some(tls.config.clone()));
    (tls, server)
}

/// `--check-public --ca-bundle` with the CAs of `hosts`.
fn check_public(cluster: &Cluster, hosts: &[&ServerTls]) -> Run {
    let bundle = cluster.dir.path().join("ca.pem");
    let pems: Vec<&str> = hosts.iter().map(|tls| tls.ca_pem.as_str()).collect();
    std::fs::write(&bundle, pems.concat()).unwrap();
    let bundle = bundle.display().to_string();
    doctor(cluster, &["--check-public", "--ca-bundle", &bundle])
}

fn thumbprint_of(host: &str, der: &[u8]) -> String {
    use sha1::Digest as _;
    let sha1: String = sha1::Sha1::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "the top CA of {host}, which serves the JWKS, has SHA-1 {sha1}: IAM checks it only for a chain to a CA it does not trust (private or self-signed); since 2023 it ignores the thumbprint for public CAs and S3"
    )
}

#[test]
fn check_public_compares_the_issuer_host_with_the_cluster() {
    let cluster = healthy();
    let (tls, server) = issuer_host(json!({"keys": [cluster.fake.signing_jwk()]}), None);
    cluster.fake.set_issuer(&server.url());
    let run = check_public(&cluster, &[&tls]);
    // A loopback issuer serves this machine, never IAM: the issuer check says so.
    assert_eq!(run.code, 1, "{}", run.stdout);
    let host = server.url().trim_start_matches("https://").to_string();
    let address = host.split(':').next().unwrap();
    assert_eq!(
        check(&run, "issuer"),
        checked(
            "issuer",
            "FAIL",
            &format!(
                "{}: {address} is a loopback address, so IAM cannot fetch the discovery document and keys from it",
                server.url()
            ),
            Some(PUBLISH)
        )
    );
    let same = format!(
        "{} serves the same discovery issuer and 1 key(s) as the cluster",
        server.url()
    );
    assert_eq!(
        check(&run, "public"),
        checked("public", "PASS", &same, None)
    );
    assert_eq!(
        check(&run, "thumbprint"),
        checked(
            "thumbprint",
            "PASS",
            &thumbprint_of(address, &tls.ca_der),
            None
        )
    );
}

#[test]
fn check_public_names_a_stale_upload_and_an_untrusted_host() {
    let cluster = healthy();
    let mut stale_key = cluster.fake.signing_jwk();
    stale_key["kid"] = json!("before-rotation");
    let (stale_tls, stale) = issuer_host(json!({"keys": [stale_key]}), None);
    cluster.fake.set_issuer(&stale.url());
    let run = check_public(&cluster, &[&stale_tls]);
    let public = check(&run, "public");
    assert_eq!(public["status"], "FAIL");
    assert!(
        public["evidence"]
            .as_str()
            .unwrap()
            .contains("a stale upload after a key rotation"),
        "{public}"
    );
    assert_eq!(
        public["fix"],
        format!(
            "upload the cluster's documents again: kubectl irsa oidc documents --issuer {} --out DIR, then copy DIR to the issuer's host",
            stale.url()
        )
    );

    // Without the CA, the host is not trusted, as IAM would not trust it.
    let untrusted = doctor(&cluster, &["--check-public"]);
    let public = check(&untrusted, "public");
    assert!(
        public["evidence"].as_str().unwrap().starts_with(&format!(
            "IAM cannot read {}/.well-known/openid-configuration: ",
            stale.url()
        )),
        "{public}"
    );
}

#[test]
fn the_thumbprint_is_read_from_the_jwks_host() {
    let cluster = healthy();
    let (keys_tls, keys) = issuer_host(json!({"keys": [cluster.fake.signing_jwk()]}), None);
    let jwks_uri = format!("{}/keys.json", keys.url());
    let (issuer_tls, issuer) = issuer_host(json!({}), Some(jwks_uri));
    cluster.fake.set_issuer(&issuer.url());
    let run = check_public(&cluster, &[&issuer_tls, &keys_tls]);
    assert_eq!(check(&run, "public")["status"], "PASS", "{}", run.stdout);
    let address = keys
        .url()
        .trim_start_matches("https://")
        .split(':')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        check(&run, "thumbprint"),
        checked(
            "thumbprint",
            "PASS",
            &thumbprint_of(&address, &keys_tls.ca_der),
            None
        )
    );
}

#[test]
fn a_bad_ca_bundle_is_a_usage_error_naming_the_file_before_any_call() {
    let cluster = healthy();
    let notes = cluster.dir.path().join("notes.txt");
    std::fs::write(&notes, "not a certificate\n").unwrap();
    let notes = notes.display().to_string();
    let args = [
        "doctor",
        "cart",
        "-n",
        "shop",
        "--check-public",
        "--ca-bundle",
    ];
    let run = cluster.run(&[&args[..], &[notes.as_str()]].concat());
    run.fails(
        2,
        &format!("--ca-bundle {notes} holds no usable PEM certificate"),
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert_eq!(run.stdout, "");

    let missing = cluster.dir.path().join("missing.pem").display().to_string();
    let run = cluster.run(&[&args[..], &[missing.as_str()]].concat());
    run.fails(2, &format!("cannot read --ca-bundle {missing}: "));
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        cluster.fake.requests().is_empty(),
        "no API call before the flags are good"
    );
}

fn trust_policy(operator: &str, sub: &str) -> Value {
    let mut condition = json!({"StringEquals": {format!("{HOST}:aud"): "sts.amazonaws.com"}});
    condition[operator][format!("{HOST}:sub")] = json!(sub);
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity", "Condition": condition,
    }]})
}

/// `doctor` with `policy` as --trust-policy.
fn with_policy(cluster: &Cluster, file: &str, policy: &Value) -> Run {
    let path = cluster.dir.path().join(file);
    std::fs::write(&path, policy.to_string()).unwrap();
    doctor(cluster, &["--trust-policy", &path.display().to_string()])
}

#[test]
fn a_wrong_audience_is_named_by_the_trust_check() {
    let cluster = healthy();
    cluster
        .fake
        .add_service_account("shop", "cart", &[("eks.amazonaws.com/audience", "vault")]);
    let policy = trust_policy("StringEquals", "system:serviceaccount:shop:cart");
    let run = with_policy(&cluster, "trust.json", &policy);
    assert_eq!(run.code, 1);
    assert_eq!(check(&run, "audience")["status"], "WARN");
    let trust = check(&run, "trust");
    assert_eq!(trust["status"], "FAIL");
    assert!(
        trust["evidence"].as_str().unwrap().contains(&format!(
            "StringEquals \"{HOST}:aud\" wants \"sts.amazonaws.com\" but the token has \"vault\""
        )),
        "{trust}"
    );
    assert!(
        trust["fix"]
            .as_str()
            .unwrap()
            .starts_with("kubectl irsa trust-policy --service-account shop:cart --role-arn"),
        "{trust}"
    );
}

#[test]
fn trust_policies_are_evaluated_as_iam_would() {
    let cluster = healthy();
    let wrong_namespace = with_policy(
        &cluster,
        "ns.json",
        &trust_policy("StringEquals", "system:serviceaccount:web:cart"),
    );
    assert_eq!(wrong_namespace.code, 1);
    let trust = check(&wrong_namespace, "trust");
    assert_eq!(trust["status"], "FAIL");
    assert!(trust["evidence"].as_str().unwrap().contains("wants \"system:serviceaccount:web:cart\" but the token has \"system:serviceaccount:shop:cart\""), "{trust}");
    assert!(trust["fix"].as_str().unwrap().contains(
        "--merge FILE > trust.json && aws iam update-assume-role-policy --role-name cart"
    ));

    let wildcard = with_policy(
        &cluster,
        "eq.json",
        &trust_policy("StringEquals", "system:serviceaccount:shop:*"),
    );
    let trust = check(&wildcard, "trust");
    assert_eq!(trust["status"], "FAIL");
    assert!(
        trust["evidence"]
            .as_str()
            .unwrap()
            .contains("StringEquals treats * and ? literally; use StringLike"),
        "{trust}"
    );
    assert_eq!(
        trust["fix"],
        format!("move \"{HOST}:sub\" from StringEquals to StringLike in cart's trust policy")
    );

    let like = with_policy(
        &cluster,
        "like.json",
        &json!({"Role": {"Arn": ROLE, "AssumeRolePolicyDocument": trust_policy("StringLike", "system:serviceaccount:sh?p:*")}}),
    );
    like.ok();
    assert_eq!(check(&like, "trust")["status"], "PASS");
}

#[test]
fn an_issuer_that_discovery_and_tokens_disagree_on_fails_with_the_fix() {
    let cluster = healthy();
    let healthy = doctor(&cluster, &[]);
    assert_eq!(healthy.code, 0, "{}", healthy.stdout);
    assert_eq!(check(&healthy, "issuer")["status"], "PASS");

    cluster
        .fake
        .set_discovery_issuer(Some("https://old-issuer.example.com"));
    let run = doctor(&cluster, &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(
        check(&run, "issuer"),
        checked(
            "issuer",
            "FAIL",
            "discovery announces issuer \"https://old-issuer.example.com\" but tokens carry iss \"https://oidc.fake.test/id/CLUSTER\"",
            Some(
                "make the apiserver's --service-account-issuer the one URL the IAM provider uses, first if repeated (kubectl irsa oidc apiserver-config --issuer URL --key-dir DIR)"
            )
        )
    );
}

#[test]
fn assume_runs_the_live_exchange_and_names_a_refusal() {
    let cluster = healthy();
    let sts = FakeSts::start(vec![]);
    let run = doctor(&cluster, &["--assume", "--endpoint-url", &sts.url()]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let assume = check(&run, "assume");
    assert_eq!(assume["status"], "PASS");
    assert!(
        assume["evidence"]
            .as_str()
            .unwrap()
            .starts_with("STS answered as arn:aws:sts::123456789012:assumed-role/cart/"),
        "{assume}"
    );
    assert_eq!(sts.requests()[0].role_arn, ROLE);

    let refusing = FakeSts::start(vec![Reply::access_denied()]);
    let run = doctor(&cluster, &["--assume", "--endpoint-url", &refusing.url()]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let assume = check(&run, "assume");
    assert_eq!(assume["status"], "FAIL");
    assert!(
        assume["evidence"]
            .as_str()
            .unwrap()
            .contains("oidc.fake.test/id/CLUSTER:sub = system:serviceaccount:shop:cart"),
        "{assume}"
    );
}
