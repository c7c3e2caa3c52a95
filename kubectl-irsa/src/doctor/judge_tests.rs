use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use serde_json::{Value, json};

use super::*;
use crate::binding::Keys;
use crate::doctor::Status;
use crate::doctor::evidence::{Denied, Thumbprint};
use crate::oidc::keys::fixtures::Signer;
use crate::webhook::{Webhook, WebhookFlags};

const ISSUER: &str = "https://oidc.example.com/id/ABC";
const ROLE: &str = "arn:aws:iam::123456789012:role/cart";
const PROVIDER: &str = "arn:aws:iam::123456789012:oidc-provider/oidc.example.com/id/ABC";
const DENIED: &str = "403 Forbidden (forbidden)";

fn service_account(namespace: &str, name: &str, annotations: Value) -> ServiceAccount {
    serde_json::from_value(json!({
        "metadata": {"namespace": namespace, "name": name, "annotations": annotations},
    }))
    .unwrap()
}

fn account(name: &str, object: Option<ServiceAccount>) -> Account {
    Account {
        namespace: "shop".into(),
        name: name.into(),
        object,
        trust_token: None,
        trust_token_denied: false,
        assumed: None,
    }
}

fn bound(name: &str) -> Account {
    let annotations = json!({"eks.amazonaws.com/role-arn": ROLE});
    account(name, Some(service_account("shop", name, annotations)))
}

/// A cluster whose documents, token and webhook (outside the cluster, as on EKS) all agree,
/// with the key it signs with.
fn healthy() -> (Signer, Evidence) {
    let signer = Signer::rsa();
    let claims = json!({"iss": ISSUER, "sub": "system:serviceaccount:shop:cart", "aud": ["sts.amazonaws.com"]});
    let evidence = Evidence {
        keys: Keys::new("eks.amazonaws.com"),
        cluster: ClusterEvidence {
            discovery: Ok(json!({"issuer": ISSUER}).to_string()),
            jwks: Ok(json!({"keys": [signer.jwk]}).to_string()),
            denied: Denied::default(),
            token: Ok(signer.token(&claims)),
            webhook: Ok(Some(Webhook {
                config: "pod-identity-webhook".into(),
                service: None,
            })),
            webhook_ready: None,
            webhook_flags: None,
            public: Public::NotAsked,
        },
        accounts: vec![bound("cart")],
        pods: Ok(HashMap::new()),
        trust_policy: None,
    };
    (signer, evidence)
}

fn cluster_section(checks: Vec<Check>) -> Section {
    Section {
        subject: Subject::Cluster,
        checks,
    }
}

fn account_section(name: &str, checks: Vec<Check>) -> Section {
    Section {
        subject: Subject::ServiceAccount {
            namespace: "shop".into(),
            name: name.into(),
        },
        checks,
    }
}

/// The checks of a bound account without pods, annotations at their defaults.
fn default_account_checks() -> Vec<Check> {
    vec![
        Check::pass("role-arn", ROLE),
        Check::pass("audience", "sts.amazonaws.com (the default)"),
        Check::pass("token-expiration", "86400 s (the default)"),
        Check::pass("injection", "no running pods to look at"),
        Check::pass("pods", "no running pods with a web identity to compare"),
    ]
}

#[test]
fn a_healthy_cluster_passes_in_report_order() {
    let (signer, mut evidence) = healthy();
    let policy = json!({"Statement": [{
        "Effect": "Allow", "Principal": {"Federated": PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"oidc.example.com/id/ABC:sub": "system:serviceaccount:shop:cart"}},
    }]});
    evidence.trust_policy = Some(policy);
    let token = evidence.cluster.token.clone();
    evidence.accounts[0].trust_token = Some(token);
    evidence.accounts[0].assumed = Some(Ok("arn:aws:sts::123456789012:assumed-role/cart/s".into()));

    let mut account = default_account_checks();
    account.push(Check::pass(
        "trust",
        format!(
            "statement 0 lets system:serviceaccount:shop:cart (aud sts.amazonaws.com) assume {ROLE}"
        ),
    ));
    account.push(Check::pass(
        "assume",
        "STS answered as arn:aws:sts::123456789012:assumed-role/cart/s",
    ));
    let expected = Report {
        sections: vec![
            cluster_section(vec![
                Check::pass(
                    "issuer",
                    format!("discovery and a fresh token agree on {ISSUER}"),
                ),
                Check::pass(
                    "jwks",
                    format!("kid {} is published and verifies a fresh token", signer.kid),
                ),
                Check::pass(
                    "webhook",
                    "pod-identity-webhook (served outside the cluster, as on EKS)",
                ),
            ]),
            account_section("cart", account),
        ],
    };
    assert_eq!(judge(&evidence), expected);
    assert_eq!(expected.verdict(), Status::Pass);
}

#[test]
fn nothing_fetched_is_judged_link_by_link() {
    let (_, mut evidence) = healthy();
    evidence.cluster.discovery = Err("404 Not Found (the server could not find it)".into());
    evidence.cluster.jwks = Err("404 Not Found (the server could not find it)".into());
    evidence.cluster.token = Err(format!("cannot request a token for shop/cart: {DENIED}"));
    evidence.cluster.webhook = Err(DENIED.into());
    evidence.pods = Err(DENIED.into());
    evidence.accounts = vec![account("nobody", None), bound("cart")];

    let report = judge(&evidence);
    let cluster = &report.sections[0].checks;
    let statuses: Vec<(&str, Status)> = cluster.iter().map(|c| (c.name, c.status)).collect();
    assert_eq!(
        statuses,
        [
            ("issuer", Status::Fail),
            ("jwks", Status::Fail),
            ("webhook", Status::Warn)
        ]
    );
    assert_eq!(
        cluster[2],
        Check::warn(
            "webhook",
            format!("cannot list mutatingwebhookconfigurations: {DENIED}"),
            "kubectl auth can-i list mutatingwebhookconfigurations",
        )
    );
    assert_eq!(
        report.sections[1],
        account_section(
            "nobody",
            vec![Check::fail(
                "service-account",
                "serviceaccount shop/nobody not found",
                "kubectl irsa bind nobody -n shop --role-arn ARN (creates it)",
            )]
        )
    );
    let mut checks = default_account_checks();
    checks.truncate(3);
    checks.push(Check::warn(
        "injection",
        format!("cannot list pods: {DENIED}"),
        "kubectl auth can-i list pods -n shop",
    ));
    assert_eq!(report.sections[2], account_section("cart", checks));
    assert_eq!(report.verdict(), Status::Fail);
}

#[test]
fn the_issuer_falls_back_to_the_token_when_discovery_is_not_served() {
    let (_, mut evidence) = healthy();
    evidence.cluster.discovery = Err(DENIED.into());
    assert_eq!(evidence.cluster.issuer().as_deref(), Some(ISSUER));
    evidence.cluster.public = Public::NoIssuer;
    let report = judge(&evidence);
    let jwks = &report.sections[0].checks[1];
    assert_eq!(jwks.status, Status::Pass, "{jwks:?}");

    // Neither a discovery document nor a token: the public check has nothing to fetch.
    evidence.cluster.token = Err(DENIED.into());
    assert_eq!(evidence.cluster.issuer(), None);
    let report = judge(&evidence);
    assert_eq!(
        report.sections[0].checks[2],
        Check::fail(
            "public",
            "the cluster announces no issuer to fetch",
            "fix the issuer check first"
        )
    );
    let jwks = &report.sections[0].checks[1];
    assert!(
        jwks.evidence
            .ends_with(&format!("no token to verify: {DENIED}")),
        "{jwks:?}"
    );
}

#[test]
fn public_documents_are_judged_against_the_cluster() {
    let (_, mut evidence) = healthy();
    let jwks = evidence.cluster.jwks.clone();
    evidence.cluster.public = Public::Fetched {
        discovery: Ok(json!({"issuer": ISSUER}).to_string()),
        jwks,
        thumbprint: Thumbprint {
            url: format!("{ISSUER}/openid/v1/jwks"),
            sha1: Ok("ab".repeat(20)),
        },
        addresses: Some(Ok(vec!["93.184.215.14".parse().unwrap()])),
    };
    let report = judge(&evidence);
    let names: Vec<&str> = report.sections[0].checks.iter().map(|c| c.name).collect();
    assert_eq!(names, ["issuer", "jwks", "public", "thumbprint", "webhook"]);
    assert_eq!(report.verdict(), Status::Pass, "{report:?}");

    evidence.cluster.public = Public::Fetched {
        discovery: Err("GET https://oidc.example.com/id/ABC/.well-known/openid-configuration answered 403 Forbidden".into()),
        jwks: Err("the public discovery document has no jwks_uri".into()),
        thumbprint: Thumbprint {
            url: ISSUER.into(),
            sha1: Err("connection refused".into()),
        },
        addresses: None,
    };
    let checks = &judge(&evidence).sections[0].checks;
    assert_eq!(
        checks[2].evidence,
        "IAM cannot read https://oidc.example.com/id/ABC/.well-known/openid-configuration: GET https://oidc.example.com/id/ABC/.well-known/openid-configuration answered 403 Forbidden"
    );
    assert_eq!(
        checks[3],
        Check::fail(
            "thumbprint",
            "connection refused",
            format!(
                "check that {ISSUER} is reachable over https from here: kubectl irsa oidc thumbprint {ISSUER}"
            ),
        )
    );
}

#[test]
fn trust_and_assume_use_each_accounts_own_evidence() {
    let (_, mut evidence) = healthy();
    evidence.trust_policy = Some(json!({"Statement": []}));
    evidence.accounts = vec![bound("cart"), bound("web"), bound("api")];
    evidence.accounts[0].trust_token = Some(Err(DENIED.into()));
    evidence.accounts[0].trust_token_denied = true;
    evidence.accounts[1].trust_token = Some(Ok("not.a.token".into()));
    // No token was fetched for api (no --trust-policy when it was gathered): no trust check.
    evidence.accounts[2].assumed = Some(Err("AccessDenied: not authorized".into()));

    let report = judge(&evidence);
    let last = |section: usize| report.sections[section].checks.last().unwrap().clone();
    assert_eq!(
        last(1),
        Check::warn(
            "trust",
            format!("no token to evaluate the policy with: {DENIED}"),
            "kubectl auth can-i create serviceaccounts/token -n shop",
        )
    );
    assert_eq!((last(2).name, last(2).status), ("trust", Status::Fail));
    assert_eq!(
        last(3),
        Check::fail(
            "assume",
            "AccessDenied: not authorized",
            "fix the failing checks above, then prove it with kubectl irsa whoami api -n shop",
        )
    );
}

#[test]
fn pods_are_judged_per_account_and_injection_knows_the_webhook() {
    let (_, mut evidence) = healthy();
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"namespace": "shop", "name": "cart-0"},
        "spec": {"serviceAccountName": "cart", "containers": [{"name": "app"}]},
        "status": {"phase": "Running"},
    }))
    .unwrap();
    let pods = HashMap::from([(("shop".to_string(), "cart".to_string()), vec![pod])]);
    evidence.pods = Ok(pods);
    evidence.accounts = vec![bound("cart"), bound("web")];
    let report = judge(&evidence);
    let injection = |section: usize| report.sections[section].checks[3].clone();
    assert_eq!(injection(1).status, Status::Fail);
    assert!(injection(1).fix.unwrap().starts_with(
        "restart them so the webhook injects them: kubectl delete pod -n shop cart-0"
    ));
    assert_eq!(
        injection(2),
        Check::pass("injection", "no running pods to look at")
    );

    evidence.cluster.webhook = Ok(None);
    let report = judge(&evidence);
    assert!(
        report.sections[1].checks[3]
            .fix
            .as_deref()
            .unwrap()
            .starts_with("inject their manifests and re-apply")
    );
}

#[test]
fn a_namespace_admin_gets_the_binding_and_the_token_issuer_is_judged() {
    let (signer, mut evidence) = healthy();
    let denied = "403 Forbidden (forbidden: User \"jane\" cannot get path \"/.well-known/openid-configuration\")";
    evidence.cluster.discovery = Err(denied.into());
    evidence.cluster.jwks =
        Err(denied.replace("/.well-known/openid-configuration", "/openid/v1/jwks"));
    evidence.cluster.denied = Denied {
        discovery: true,
        jwks: true,
        token: false,
    };
    let binding = issuer::DISCOVERY_BINDING;
    assert_eq!(
        judge(&evidence).sections[0],
        cluster_section(vec![
            Check::warn(
                "issuer",
                format!(
                    "discovery is not readable with these credentials ({denied}); a fresh token's iss is {ISSUER}"
                ),
                format!("to compare it with discovery: {binding}"),
            ),
            Check::warn(
                "jwks",
                "the cluster's JWKS is not readable with these credentials (403 Forbidden (forbidden: User \"jane\" cannot get path \"/openid/v1/jwks\")): its keys are not compared with a token",
                format!("to compare them: {binding}"),
            ),
            Check::pass(
                "webhook",
                "pod-identity-webhook (served outside the cluster, as on EKS)",
            ),
        ])
    );
    // The token's issuer is known, so the account checks run as usual.
    assert_eq!(
        judge(&evidence).sections[1],
        account_section("cart", default_account_checks())
    );
    // Once the binding is there, the jwks check verifies the token again.
    evidence.cluster.jwks = Ok(json!({"keys": [signer.jwk]}).to_string());
    evidence.cluster.denied.jwks = false;
    assert_eq!(judge(&evidence).sections[0].checks[1].status, Status::Pass);
}

#[test]
fn a_cluster_internal_issuer_fails_before_anything_is_fetched_publicly() {
    let signer = Signer::rsa();
    let issuer = "https://kubernetes.default.svc.cluster.local";
    let (_, mut evidence) = healthy();
    evidence.cluster.discovery = Ok(json!({"issuer": issuer}).to_string());
    evidence.cluster.jwks = Ok(json!({"keys": [signer.jwk]}).to_string());
    evidence.cluster.token = Ok(signer.token(&json!({"iss": issuer})));
    let report = judge(&evidence);
    assert_eq!(
        report.sections[0].checks[0],
        Check::fail(
            "issuer",
            "https://kubernetes.default.svc.cluster.local: kubernetes.default.svc.cluster.local is a cluster-internal name, so IAM cannot fetch the discovery document and keys from it",
            crate::doctor::reach::PUBLISH,
        )
    );
    assert_eq!(report.verdict(), Status::Fail);
}

#[test]
fn a_self_hosted_webhooks_prefix_is_compared_with_the_plugins() {
    let (_, mut evidence) = healthy();
    evidence.cluster.webhook = Ok(Some(Webhook {
        config: "pod-identity-webhook".into(),
        service: Some("webhooks/pod-identity-webhook".into()),
    }));
    evidence.cluster.webhook_ready = Some(Ok(true));
    let cluster_tail = |evidence: &Evidence| {
        let report = judge(evidence);
        report.sections[0].checks[2..].to_vec()
    };
    // Its Deployment could not be read: the defaults are assumed, and said.
    let webhook = Check::pass(
        "webhook",
        "pod-identity-webhook, service webhooks/pod-identity-webhook",
    );
    let tail = cluster_tail(&evidence);
    assert_eq!(tail[0], webhook);
    assert_eq!(
        (tail[1].name, tail[1].status),
        ("webhook-flags", Status::Warn)
    );

    let words = ["/webhook", "--annotation-prefix=sts.amazonaws.com"].map(String::from);
    evidence.cluster.webhook_flags = Some(WebhookFlags::parse(&words));
    assert_eq!(
        cluster_tail(&evidence),
        vec![
            webhook,
            Check::fail(
                "webhook-flags",
                "webhooks/pod-identity-webhook watches sts.amazonaws.com annotations; default audience sts.amazonaws.com; region none, but kubectl irsa was given --annotation-prefix eks.amazonaws.com: those annotations are never read",
                "drop --annotation-prefix, or pass --annotation-prefix sts.amazonaws.com",
            ),
        ]
    );
    evidence.keys = Keys::new("sts.amazonaws.com");
    assert_eq!(cluster_tail(&evidence)[1].status, Status::Pass);
}
