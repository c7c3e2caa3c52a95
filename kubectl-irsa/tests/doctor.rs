//! `doctor` against the fake API server: for each check, a scenario that passes and one that
//! fails, with the verdict and the fix line; the pods each way of injection gives, and stale
//! ones; the JSON schema; exit codes; the API reads. What lies outside the cluster (the issuer
//! as IAM sees it, STS) is in `doctor_live.rs`.

mod common;

use common::{Cluster, ROLE, Run};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use tests::fake_kube::{Injection, PodPhase, PodScript};

const HOST: &str = "oidc.fake.test/id/CLUSTER";

fn bound(annotations: &[(&str, &str)]) -> Cluster {
    let cluster = Cluster::start();
    cluster
        .fake
        .add_service_account("shop", "cart", annotations);
    cluster
}

fn healthy() -> Cluster {
    let cluster = bound(&[("eks.amazonaws.com/role-arn", ROLE)]);
    cluster.fake.preload_pod_identity_webhook();
    cluster
}

/// The line of check `name` (its verdict must be `status`) and the fix line after it.
fn line(run: &Run, status: &str, name: &str) -> (String, Option<String>) {
    let lines: Vec<&str> = run.stdout.lines().collect();
    let index = lines
        .iter()
        .position(|l| {
            let words: Vec<&str> = l.split_whitespace().take(2).collect();
            words.len() == 2 && words[1] == name
        })
        .unwrap_or_else(|| panic!("no check {name} in\n{}", run.stdout));
    let found = lines[index].trim().to_string();
    assert!(
        found.starts_with(&format!("{status}  ")),
        "{name} is not {status}:\n{}",
        run.stdout
    );
    let fix = lines
        .get(index + 1)
        .and_then(|l| l.trim().strip_prefix("fix: "))
        .map(str::to_string);
    (found, fix)
}

/// Creates a pod through the API (so the fake's webhook may inject it) that stays Running.
fn create_pod(cluster: &Cluster, name: &str, inject: Injection, spec: Value) {
    let mut pod = json!({"metadata": {"name": name}, "spec": spec});
    pod["spec"]["containers"] = json!([{"name": "app", "image": "app"}]);
    create(cluster, inject, pod);
}

/// Creates `pod` (a whole Pod, running as cart) through the API; it stays Running.
fn create(cluster: &Cluster, inject: Injection, mut pod: Value) {
    let name = pod["metadata"]["name"].as_str().unwrap().to_string();
    cluster.fake.script_pod(
        &name,
        PodScript {
            phases: vec![PodPhase::Running],
            ..PodScript::default()
        }
        .with_injection(inject),
    );
    pod["spec"]["serviceAccountName"] = json!("cart");
    let pod: Pod = serde_json::from_value(pod).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let kubeconfig = kube::config::Kubeconfig::read_from(&cluster.kubeconfig).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .unwrap();
        let client = kube::Client::try_from(config).unwrap();
        Api::<Pod>::namespaced(client, "shop")
            .create(&PostParams::default(), &pod)
            .await
            .unwrap();
    });
    // A native sidecar starts before the app containers: wait for the pod to run.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while cluster.fake.pod("shop", &name).unwrap()["status"]["phase"] != "Running" {
        assert!(std::time::Instant::now() < deadline, "pod/{name} never ran");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `pod` as `kubectl irsa inject` (with `args`) writes it, with the role of cart.
fn injected(cluster: &Cluster, args: &[&str], pod: &Value) -> Value {
    let command = cluster.plugin(&[&["inject", "-f", "-", "--role-arn", ROLE], args].concat());
    let run = common::with_stdin(command, &pod.to_string());
    serde_norway::from_str(&run.ok().stdout).unwrap()
}

#[test]
fn a_healthy_binding_passes_every_check() {
    let cluster = healthy();
    create_pod(&cluster, "web", Injection::Auto, json!({}));
    let sub = "system:serviceaccount:shop:cart";
    let policy = common::trust_policy(vec![common::web_identity_statement(HOST, sub)]);
    let path = cluster.dir.path().join("trust.json");
    std::fs::write(&path, policy.to_string()).unwrap();
    let path = path.display().to_string();
    let run = cluster.run(&["doctor", "cart", "-n", "shop", "--trust-policy", &path]);
    run.ok();
    // The whole output: every check passes, with no fix line and no colour when piped.
    assert_eq!(run.stderr, "");
    let kid = cluster.fake.signing_key_id();
    assert_eq!(
        run.stdout,
        format!(
            "\
Cluster
  PASS  issuer            discovery and a fresh token agree on https://oidc.fake.test/id/CLUSTER
  PASS  jwks              kid {kid} is published and verifies a fresh token
  PASS  webhook           pod-identity-webhook (served outside the cluster, as on EKS)
ServiceAccount shop/cart
  PASS  role-arn          {ROLE}
  PASS  audience          sts.amazonaws.com (the default)
  PASS  token-expiration  86400 s (the default)
  PASS  injection         1 running pod(s), all with AWS_WEB_IDENTITY_TOKEN_FILE
  PASS  pods              1 running pod(s) carry the current binding (role, token audience and file)
  PASS  trust             statement 0 lets system:serviceaccount:shop:cart (aud sts.amazonaws.com) assume {ROLE}
9 passed, 0 warnings, 0 failed
"
        )
    );
}

#[test]
fn trailing_slash_in_the_issuer_fails() {
    let cluster = healthy();
    cluster
        .fake
        .set_issuer("https://oidc.fake.test/id/CLUSTER/");
    let run = cluster.run(&["doctor", "cart", "-n", "shop"]);
    assert_eq!(run.code, 1);
    let (evidence, fix) = line(&run, "FAIL", "issuer");
    assert!(evidence.contains("ends with '/'"), "{evidence}");
    assert!(
        fix.unwrap()
            .starts_with("set --service-account-issuer to \"https://oidc.fake.test/id/CLUSTER\"")
    );
    assert!(
        run.stdout.ends_with("failed\n"),
        "the summary comes last: {}",
        run.stdout
    );
}

#[test]
fn missing_discovery_fails_the_issuer_and_jwks_checks() {
    let cluster = healthy();
    cluster.fake.set_oidc_enabled(false);
    let run = cluster.run(&["doctor", "cart", "-n", "shop"]);
    assert_eq!(run.code, 1);
    let (_, fix) = line(&run, "FAIL", "issuer");
    assert!(fix.unwrap().contains("--service-account-jwks-uri"));
    line(&run, "FAIL", "jwks");
}

#[test]
fn a_rotated_key_missing_from_the_jwks_fails() {
    let cluster = healthy();
    let mut old = cluster.fake.signing_jwk();
    old["kid"] = json!("old-key");
    cluster.fake.add_jwks_key(old);
    let run = cluster.run(&["doctor", "cart", "-n", "shop"]);
    run.ok();
    let (evidence, _) = line(&run, "WARN", "jwks");
    assert!(evidence.contains("unused key(s) \"old-key\""), "{evidence}");

    cluster.fake.set_signing_key_published(false);
    let run = cluster.run(&["doctor", "cart", "-n", "shop"]);
    assert_eq!(run.code, 1);
    let (evidence, fix) = line(&run, "FAIL", "jwks");
    assert!(
        evidence.contains(&format!(
            "the token's kid {:?} is not in the JWKS (kids: \"old-key\")",
            cluster.fake.signing_key_id()
        )),
        "{evidence}"
    );
    assert!(fix.unwrap().contains(
        "kubectl irsa oidc documents --issuer https://oidc.fake.test/id/CLUSTER --out DIR"
    ));
}

#[test]
fn service_account_annotations_are_checked() {
    let cluster = bound(&[]);
    let run = cluster.run(&["doctor", "cart", "-n", "shop"]);
    assert_eq!(run.code, 1);
    let (evidence, fix) = line(&run, "FAIL", "role-arn");
    assert!(
        evidence.contains("no eks.amazonaws.com/role-arn annotation"),
        "{evidence}"
    );
    assert_eq!(
        fix.as_deref(),
        Some("kubectl irsa bind cart -n shop --role-arn ARN")
    );

    cluster.fake.add_service_account(
        "shop",
        "cart",
        &[
            ("eks.amazonaws.com/role-arn", "arn:aws:iam::1234:role/cart"),
            ("eks.amazonaws.com/token-expiration", "300"),
            ("eks.amazonaws.com/audience", "vault"),
        ],
    );
    let run = cluster.run(&["doctor", "cart", "-n", "shop"]);
    assert_eq!(run.code, 1);
    let (evidence, fix) = line(&run, "FAIL", "role-arn");
    assert!(
        evidence.contains(
            "invalid role ARN \"arn:aws:iam::1234:role/cart\": the account is not 12 digits"
        ),
        "{evidence}"
    );
    assert_eq!(
        fix.as_deref(),
        Some("kubectl irsa bind cart -n shop --role-arn ARN --overwrite")
    );
    let (evidence, fix) = line(&run, "WARN", "token-expiration");
    assert!(
        evidence.contains("300 s: the webhook raises it to 600 s"),
        "{evidence}"
    );
    assert!(
        fix.unwrap()
            .ends_with("eks.amazonaws.com/token-expiration=600")
    );
    line(&run, "WARN", "audience");

    let missing = cluster.run(&["doctor", "nobody", "-n", "shop"]);
    assert_eq!(missing.code, 1);
    let (_, fix) = line(&missing, "FAIL", "service-account");
    assert!(fix.unwrap().starts_with("kubectl irsa bind nobody -n shop"));
}

#[test]
fn pods_without_the_webhook_or_its_env_are_named() {
    let cluster = bound(&[("eks.amazonaws.com/role-arn", ROLE)]);
    cluster
        .fake
        .add_pod("shop", "cart-0", "cart", PodPhase::Running);
    let run = cluster.run(&["doctor", "cart", "-n", "shop"]);
    assert_eq!(run.code, 1);
    let (evidence, fix) = line(&run, "WARN", "webhook");
    assert!(
        evidence.contains("no pod identity webhook configuration"),
        "{evidence}"
    );
    assert!(
        fix.unwrap().starts_with(
            "inject pods yourself: kubectl irsa inject -f MANIFEST | kubectl apply -f -"
        )
    );
    let (evidence, fix) = line(&run, "FAIL", "injection");
    assert!(
        evidence.ends_with(
            "have neither AWS_WEB_IDENTITY_TOKEN_FILE nor AWS_CONTAINER_CREDENTIALS_FULL_URI (started before the binding or the webhook): cart-0"
        ),
        "{evidence}"
    );
    assert!(fix.unwrap().contains("kubectl irsa inject"));

    cluster.fake.preload_pod_identity_webhook();
    let run = cluster.run(&["doctor", "cart", "-n", "shop"]);
    line(&run, "PASS", "webhook");
    let (_, fix) = line(&run, "FAIL", "injection");
    assert!(fix.unwrap().starts_with(
        "restart them so the webhook injects them: kubectl delete pod -n shop cart-0"
    ));
}

#[test]
fn non_root_pods_without_fs_group_pass_and_every_bound_account_is_checked() {
    let cluster = healthy();
    // Since Kubernetes 1.19 the kubelet hands the token file to the pod's runAsUser: no fsGroup.
    create_pod(
        &cluster,
        "web",
        Injection::Auto,
        json!({"securityContext": {"runAsUser": 1000}}),
    );
    let run = cluster.run(&["doctor", "cart", "-n", "shop"]);
    run.ok();
    let (evidence, fix) = line(&run, "PASS", "pods");
    assert_eq!(
        evidence,
        "PASS  pods              1 running pod(s) carry the current binding (role, token audience and file)"
    );
    assert_eq!(fix, None);
    cluster
        .fake
        .add_service_account("shop", "other", &[("eks.amazonaws.com/role-arn", ROLE)]);
    // Without a name: every bound ServiceAccount of the namespace.
    let all = cluster.run(&["doctor", "-n", "shop"]);
    assert!(
        all.stdout.contains("ServiceAccount shop/cart\n")
            && all.stdout.contains("ServiceAccount shop/other\n"),
        "{}",
        all.stdout
    );
}

#[test]
fn pod_identity_the_serve_sidecar_and_mesh_proxies_count_as_injected() {
    let cluster = healthy();
    let pod = |name: &str| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop"}, "spec": {"serviceAccountName": "cart", "containers": [{"name": "app", "image": "app"}]}});
    // A mesh's webhook added its proxy after the pod identity webhook: no AWS env in it.
    let mut meshed = injected(&cluster, &[], &pod("meshed"));
    meshed["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "istio-proxy", "image": "proxy"}));
    create(&cluster, Injection::Never, meshed);
    // The helper's image runs as 65532 (irsa-credential-process/Dockerfile), which the
    // sidecar's runAsNonRoot needs.
    cluster.fake.set_image_user("irsa:0.1.0", 65532);
    let served = injected(&cluster, &["--serve", "irsa:0.1.0"], &pod("served"));
    create(&cluster, Injection::Never, served);
    // What the webhook injects when the ServiceAccount has an EKS Pod Identity association.
    let mut associated = pod("associated");
    associated["spec"]["containers"][0]["env"] = json!([
        {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"},
        {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "value": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"},
    ]);
    create(&cluster, Injection::Never, associated);

    let run = cluster.run(&["doctor", "cart", "-n", "shop"]);
    run.ok();
    let (evidence, fix) = line(&run, "WARN", "injection");
    assert_eq!(
        evidence,
        "WARN  injection         3 running pod(s), all with credentials: 1 with AWS_WEB_IDENTITY_TOKEN_FILE, 1 through the irsa-credentials sidecar (kubectl irsa inject --serve), 1 with EKS Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials): those use the role of the ServiceAccount's Pod Identity association, not its eks.amazonaws.com/role-arn annotation (the webhook prefers an association)"
    );
    assert_eq!(
        fix.as_deref(),
        Some(
            "to use the annotation's role, delete the association (aws eks list-pod-identity-associations --cluster-name CLUSTER --namespace shop --service-account cart, then aws eks delete-pod-identity-association) and restart the pods; else remove the annotation"
        )
    );
    let (evidence, _) = line(&run, "PASS", "pods");
    assert!(
        evidence.ends_with(
            "2 running pod(s) carry the current binding (role, token audience and file)"
        ),
        "{evidence}"
    );
}

#[test]
fn pods_started_before_a_new_binding_are_named_with_their_rollout() {
    let cluster = healthy();
    let replica_set = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d4f8c7b9", "uid": "1", "controller": true}]);
    let mut pod = json!({"metadata": {"name": "web-5d4f8c7b9-x2x9k", "labels": {"pod-template-hash": "5d4f8c7b9"}, "ownerReferences": replica_set}});
    pod["spec"]["containers"] = json!([{"name": "app", "image": "app"}]);
    create(&cluster, Injection::Auto, pod);
    let run = cluster.run(&["doctor", "cart", "-n", "shop"]);
    line(&run, "PASS", "pods");

    let new_role = "arn:aws:iam::123456789012:role/cart-v2";
    cluster
        .fake
        .add_service_account("shop", "cart", &[("eks.amazonaws.com/role-arn", new_role)]);
    let run = cluster.run(&["doctor", "cart", "-n", "shop"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let (evidence, fix) = line(&run, "FAIL", "pods");
    assert_eq!(
        evidence,
        format!(
            "FAIL  pods              1 of 1 running pod(s) carry an older binding: web-5d4f8c7b9-x2x9k (deployment/web): AWS_ROLE_ARN {ROLE}, not {new_role}"
        )
    );
    assert_eq!(
        fix.as_deref(),
        Some(
            "re-create them so the webhook injects the current binding: kubectl rollout restart deployment/web -n shop (the webhook never overwrites env: if their manifests set AWS_ROLE_ARN themselves, change it there)"
        )
    );
    line(&run, "PASS", "injection");
}

#[test]
fn doctor_reads_each_thing_once_whatever_the_pods() {
    let cluster = healthy();
    for name in ["web-1", "web-2", "web-3"] {
        create_pod(&cluster, name, Injection::Auto, json!({}));
    }
    cluster.fake.clear_log();
    cluster.run(&["doctor", "cart", "-n", "shop"]).ok();
    let mut calls: Vec<String> = cluster
        .fake
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    calls.sort();
    assert_eq!(
        calls,
        [
            "GET /.well-known/openid-configuration",
            "GET /api/v1/namespaces/shop/pods",
            "GET /api/v1/namespaces/shop/serviceaccounts/cart",
            "GET /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
            "GET /openid/v1/jwks",
            "POST /api/v1/namespaces/shop/serviceaccounts/cart/token",
        ],
        "the owners of pods come from their references and labels, not from more reads"
    );
}

#[test]
fn json_reports_have_a_stable_schema_and_exit_codes_follow_failures() {
    let cluster = healthy();
    let run = cluster.run(&["doctor", "cart", "-n", "shop", "-o", "json"]);
    let report: Value = serde_json::from_str(&run.ok().stdout).unwrap();
    assert_eq!(report["schemaVersion"], 1);
    assert_eq!(report["verdict"], "PASS");
    assert_eq!(report["summary"], json!({"pass": 8, "warn": 0, "fail": 0}));
    assert_eq!(report["sections"][0]["subject"], "cluster");
    let account = &report["sections"][1];
    assert_eq!(
        (
            account["subject"].as_str(),
            account["namespace"].as_str(),
            account["name"].as_str()
        ),
        (Some("serviceaccount"), Some("shop"), Some("cart"))
    );
    for check in account["checks"].as_array().unwrap() {
        let keys: Vec<&String> = check.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["name", "status", "evidence", "fix"]);
    }

    cluster.fake.set_signing_key_published(false);
    let run = cluster.run(&["doctor", "cart", "-n", "shop", "-o", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["verdict"], "FAIL");
    let jwks = &report["sections"][0]["checks"][1];
    assert_eq!(
        (jwks["name"].as_str(), jwks["status"].as_str()),
        (Some("jwks"), Some("FAIL"))
    );
    assert!(
        jwks["fix"]
            .as_str()
            .unwrap()
            .contains("kubectl irsa oidc documents")
    );

    let usage = cluster.run(&["doctor", "Cart"]);
    assert_eq!(usage.code, 2);
}

#[test]
fn an_ec_key_in_the_jwks_is_listed_not_fatal() {
    let cluster = healthy();
    // A P-256 key as kube-apiserver publishes one beside its RSA key.
    cluster.fake.add_jwks_key(json!({
        "use": "sig", "kty": "EC", "kid": "ec-p256", "crv": "P-256", "alg": "ES256",
        "x": "HimOtcgCzkz_zM4YzZH1w3_f6ebwLVmdHP-ZA3Gj0sQ",
        "y": "hAK1tJi6vZcB1ywgmzfHbqiAmr5hm7yeKEnlqdMtSbw",
    }));
    let run = cluster.run(&["doctor", "cart", "-n", "shop"]);
    run.ok();
    let (evidence, _) = line(&run, "WARN", "jwks");
    assert!(
        evidence.ends_with(&format!(
            "kid {} is published and verifies a fresh token; also unused key(s) \"ec-p256\"",
            cluster.fake.signing_key_id()
        )),
        "{evidence}"
    );
}

#[test]
fn no_bound_service_account_is_said_on_stderr() {
    let cluster = healthy();
    let run = cluster.run(&["doctor", "-n", "empty"]);
    run.ok();
    assert_eq!(
        run.stderr,
        "No bound ServiceAccounts found in empty namespace; name one to check it.\n"
    );
    assert!(run.stdout.starts_with("Cluster\n"), "{}", run.stdout);
    assert!(!run.stdout.contains("ServiceAccount "), "{}", run.stdout);
    let all = cluster.run(&["doctor", "-A"]);
    assert!(
        all.stdout.contains("ServiceAccount shop/cart\n"),
        "{}",
        all.stdout
    );
    assert_eq!(all.stderr, "");
}
