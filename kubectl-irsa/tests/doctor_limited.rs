//! `doctor` for users who are not cluster-admin, and for pods the pod identity webhook injects
//! with EKS Pod Identity, against the fake API server's RBAC authorizer and webhook.

mod common;

use common::Cluster;
use serde_json::{Value, json};
use tests::fake_kube::PolicyRule;

fn cluster() -> Cluster {
    let cluster = Cluster::bound();
    cluster.fake.preload_pod_identity_webhook();
    cluster
}

/// `doctor cart -n shop -o json`: the exit code and the report.
fn doctor(cluster: &Cluster) -> (i32, Value) {
    let run = cluster.run(&["doctor", "cart", "-n", "shop", "-o", "json"]);
    (run.code, serde_json::from_str(&run.stdout).unwrap())
}

/// Check `name` of section `section` (0: the cluster, 1: shop/cart).
fn check(report: &Value, section: usize, name: &str) -> Value {
    let checks = report["sections"][section]["checks"].as_array().unwrap();
    checks.iter().find(|c| c["name"] == name).unwrap().clone()
}

const GRANT: &str = "kubectl create clusterrolebinding oidc-reviewer --clusterrole=system:service-account-issuer-discovery --group=system:authenticated (or one of your groups)";

#[test]
fn a_namespace_admin_gets_the_issuer_from_a_token() {
    let cluster = cluster();
    // Anything in shop, nothing cluster-wide: by default only ServiceAccounts may read the
    // issuer documents (system:service-account-issuer-discovery).
    let everything = PolicyRule::resources(&["*"], &["*"], &["*"]);
    cluster.fake.grant("jane", Some("shop"), &[everything]);
    cluster.fake.set_user("jane");
    let (code, report) = doctor(&cluster);
    assert_eq!(code, 0, "warnings only: {report}");
    assert_eq!(
        check(&report, 0, "issuer"),
        json!({
            "name": "issuer", "status": "WARN",
            "evidence": "discovery is not readable with these credentials (403 Forbidden (forbidden: User \"jane\" cannot get path \"/.well-known/openid-configuration\")); a fresh token's iss is https://oidc.fake.test/id/CLUSTER",
            "fix": format!("to compare it with discovery: {GRANT}"),
        })
    );
    assert_eq!(
        check(&report, 0, "jwks"),
        json!({
            "name": "jwks", "status": "WARN",
            "evidence": "the cluster's JWKS is not readable with these credentials (403 Forbidden (forbidden: User \"jane\" cannot get path \"/openid/v1/jwks\")): its keys are not compared with a token",
            "fix": format!("to compare them: {GRANT}"),
        })
    );
    // The binding the fix gives makes both readable.
    let documents = ["/.well-known/openid-configuration", "/openid/v1/jwks"];
    let discovery = PolicyRule::urls(&["get"], &documents);
    cluster
        .fake
        .grant_group("system:authenticated", None, &[discovery]);
    let (_, report) = doctor(&cluster);
    assert_eq!(check(&report, 0, "issuer")["status"], "PASS");
    assert_eq!(check(&report, 0, "jwks")["status"], "PASS");
}

#[test]
fn pods_the_webhook_gives_pod_identity_are_named() {
    let cluster = cluster();
    let other = "arn:aws:iam::123456789012:role/other";
    cluster
        .fake
        .add_pod_identity_association("shop", "cart", other);
    // Through admission, so that the webhook injects it.
    cluster.run_pod("cart-1");
    let (code, report) = doctor(&cluster);
    assert_eq!(code, 0, "{report}");
    let injection = check(&report, 1, "injection");
    assert_eq!(injection["status"], "WARN", "{injection}");
    assert_eq!(
        injection["evidence"],
        format!(
            "1 running pod(s), all with credentials: 1 with EKS Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials): those use the role of the ServiceAccount's Pod Identity association, not its eks.amazonaws.com/role-arn annotation (the webhook prefers an association)"
        )
    );
}
