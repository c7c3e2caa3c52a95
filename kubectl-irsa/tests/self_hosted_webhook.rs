//! A pod identity webhook run in the cluster with its own flags (hand-made setups of the
//! webhook's `deploy/` manifests): every verb reads its `--annotation-prefix` and
//! `--token-audience` from its Deployment, so `bind` writes what it reads and `inject` adds
//! its region; an `--annotation-prefix` that names another prefix is what doctor fails.

mod common;

use common::{Cluster, ROLE};
use serde_json::json;

const PREFIX: &str = "sts.amazonaws.com";
const NOTE: &str = "Note: the pod identity webhook (deployment identity/pod-identity-webhook) watches sts.amazonaws.com annotations and gives tokens the audience irsa.example.com by default\n";

fn cluster() -> Cluster {
    let cluster = Cluster::start();
    let flags = [
        "--token-audience=irsa.example.com",
        "--aws-default-region=eu-west-1",
        "--sts-regional-endpoint=true",
        "--token-expiration=3600",
    ];
    cluster
        .fake
        .run_pod_identity_webhook_in_cluster("identity", PREFIX, &flags);
    cluster.fake.add_service_account("shop", "cart", &[]);
    cluster
}

/// The check line `name` of doctor's output, trimmed, and the fix line after it.
fn check_lines<'a>(stdout: &'a str, name: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = stdout.lines().map(str::trim).collect();
    let Some(at) = lines
        .iter()
        .position(|l| l.split_whitespace().nth(1) == Some(name))
    else {
        return Vec::new();
    };
    let fix = lines.get(at + 1).filter(|l| l.starts_with("fix: "));
    [lines[at]].into_iter().chain(fix.copied()).collect()
}

#[test]
fn every_verb_uses_the_webhooks_prefix_and_audience() {
    let cluster = cluster();
    let bind = cluster.run(&["bind", "cart", "-n", "shop", "--role-arn", ROLE]);
    assert_eq!(bind.ok().stderr, NOTE);
    assert!(
        bind.stdout
            .contains("\"oidc.fake.test/id/CLUSTER:aud\": \"irsa.example.com\""),
        "the trust policy names the webhook's audience:\n{}",
        bind.stdout
    );
    assert_eq!(
        cluster.annotations("shop", "cart"),
        json!({"sts.amazonaws.com/role-arn": ROLE})
    );
    cluster.run_pod("web");
    let pod = cluster.fake.pod("shop", "web").unwrap();
    let app = &pod["spec"]["containers"][0];
    assert_eq!(common::env(app, "AWS_ROLE_ARN").as_deref(), Some(ROLE));
    assert_eq!(common::env(app, "AWS_REGION").as_deref(), Some("eu-west-1"));

    let list = cluster.run(&["list", "-n", "shop", "-o", "wide", "--no-headers"]);
    assert_eq!(
        list.ok().stdout,
        format!("cart   {ROLE}   irsa.example.com   true   3600   1   0\n")
    );
    let doctor = cluster.run(&["doctor", "cart", "-n", "shop"]);
    assert_eq!(doctor.code, 0, "{}", doctor.stdout);
    assert_eq!(
        check_lines(&doctor.stdout, "webhook-flags"),
        [
            "PASS  webhook-flags     identity/pod-identity-webhook watches sts.amazonaws.com annotations; default audience irsa.example.com; region eu-west-1"
        ]
    );
    assert_eq!(
        check_lines(&doctor.stdout, "audience"),
        ["PASS  audience          irsa.example.com (the default)"]
    );
    assert_eq!(
        check_lines(&doctor.stdout, "token-expiration"),
        ["PASS  token-expiration  3600 s (the default)"]
    );
    assert_eq!(
        check_lines(&doctor.stdout, "pods"),
        [
            "PASS  pods              1 running pod(s) carry the current binding (role, token audience and file)"
        ]
    );
}

#[test]
fn inject_adds_what_the_webhook_would() {
    let cluster = cluster();
    cluster
        .fake
        .add_service_account("shop", "cart", &[("sts.amazonaws.com/role-arn", ROLE)]);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"serviceAccountName": "cart", "containers": [{"name": "app", "image": "app"}]}});
    let run = common::with_stdin(cluster.plugin(&["inject", "-f", "-"]), &pod.to_string());
    let injected: serde_json::Value = serde_norway::from_str(&run.ok().stdout).unwrap();
    let app = &injected["spec"]["containers"][0];
    assert_eq!(common::env(app, "AWS_ROLE_ARN").as_deref(), Some(ROLE));
    assert_eq!(common::env(app, "AWS_REGION").as_deref(), Some("eu-west-1"));
    assert_eq!(
        common::env(app, "AWS_STS_REGIONAL_ENDPOINTS").as_deref(),
        Some("regional")
    );
    let token = &injected["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"];
    assert_eq!(token["audience"], "irsa.example.com");
    assert_eq!(token["expirationSeconds"], 3600);
}

#[test]
fn another_prefix_given_is_named_by_doctor() {
    let cluster = cluster();
    let other = ["--annotation-prefix", "eks.amazonaws.com"];
    let bind = ["bind", "cart", "-n", "shop", "--role-arn", ROLE];
    let run = cluster.run(&[&bind[..], &other].concat());
    assert_eq!(
        run.ok().stderr,
        "Warning: the pod identity webhook (deployment identity/pod-identity-webhook) watches sts.amazonaws.com annotations, not eks.amazonaws.com: drop --annotation-prefix\n",
        "a given prefix is used as it is, and warned about"
    );
    assert_eq!(
        cluster.annotations("shop", "cart"),
        json!({"eks.amazonaws.com/role-arn": ROLE})
    );
    cluster.run_pod("web");
    let pod = cluster.fake.pod("shop", "web").unwrap();
    assert_eq!(
        common::env(&pod["spec"]["containers"][0], "AWS_ROLE_ARN"),
        None,
        "the webhook reads {PREFIX} annotations only"
    );

    let run = cluster.run(&[&["doctor", "cart", "-n", "shop"][..], &other].concat());
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(
        check_lines(&run.stdout, "webhook-flags"),
        [
            "FAIL  webhook-flags     identity/pod-identity-webhook watches sts.amazonaws.com annotations; default audience irsa.example.com; region eu-west-1, but kubectl irsa was given --annotation-prefix eks.amazonaws.com: those annotations are never read",
            "fix: drop --annotation-prefix, or pass --annotation-prefix sts.amazonaws.com",
        ]
    );

    // Its fix, followed: the prefix is the webhook's, and so are the other defaults.
    let theirs = ["--annotation-prefix", PREFIX];
    let run = cluster.run(&[&bind[..], &theirs].concat());
    assert_eq!(
        run.ok().stderr,
        format!(
            "{NOTE}Warning: 1 pod(s) use serviceaccount/cart and keep their old identity until they are re-created: kubectl delete pod -n shop web and create it again from its manifest\n"
        )
    );
    assert!(
        run.stdout
            .contains("\"oidc.fake.test/id/CLUSTER:aud\": \"irsa.example.com\""),
        "{}",
        run.stdout
    );
}

#[test]
fn test_inject_takes_the_webhooks_region() {
    let cluster = cluster();
    cluster
        .fake
        .add_service_account("shop", "cart", &[("sts.amazonaws.com/role-arn", ROLE)]);
    let identity = "{\"Arn\": \"arn:aws:sts::123456789012:assumed-role/cart/s\"}\n";
    cluster
        .fake
        .script_next_pod(tests::fake_kube::PodScript::succeeds(identity));
    let run = cluster.run(&["test", "cart", "-n", "shop", "--inject", "--keep"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let pod = cluster
        .fake
        .pods()
        .into_iter()
        .find(|pod| pod["metadata"]["namespace"] == "shop")
        .expect("the test pod, kept");
    let test = &pod["spec"]["containers"][0];
    assert_eq!(
        common::env(test, "AWS_REGION").as_deref(),
        Some("eu-west-1")
    );
    let token = &pod["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"];
    assert_eq!(token["expirationSeconds"], 3600);
}
