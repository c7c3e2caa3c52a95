//! API round trips per verb, counted in the fake's request log. These are the figures the
//! README quotes; the assertions keep them from growing unnoticed.

mod common;

use common::{Cluster, ROLE};
use tests::fake_kube::DEFAULT_ISSUER;

/// Runs the plugin with `args` and returns how many requests reached the API server.
fn round_trips(cluster: &Cluster, args: &[&str]) -> usize {
    cluster.fake.clear_log();
    cluster.run(args).ok();
    cluster.fake.requests().len()
}

#[test]
fn round_trips_per_verb() {
    let cluster = Cluster::start();
    cluster.fake.add_namespace("shop");
    let bind = ["bind", "cart", "-n", "shop", "--role-arn", ROLE];
    let with_issuer = |args: &[&'static str]| [args, &["--issuer", DEFAULT_ISSUER]].concat();

    // Every verb that reads annotations lists the webhook configurations (for the webhook's
    // annotation prefix and defaults).
    // New ServiceAccount: webhooks, get (404), create; then the issuer.
    assert_eq!(round_trips(&cluster, &bind), 4);
    // Same binding again: webhooks, get; then the issuer.
    assert_eq!(round_trips(&cluster, &bind), 3);
    assert_eq!(round_trips(&cluster, &with_issuer(&bind)), 2);
    // Another role on an existing ServiceAccount: webhooks, get, patch, list pods (+ issuer).
    let rebind = [
        "bind",
        "cart",
        "-n",
        "shop",
        "--role-arn",
        "arn:aws:iam::123456789012:role/new",
        "--overwrite",
    ];
    assert_eq!(round_trips(&cluster, &with_issuer(&rebind)), 4);
    assert_eq!(
        round_trips(&cluster, &[&rebind[..5], &[ROLE, "--overwrite"]].concat()),
        5
    );
    // unbind: webhooks, get, patch.
    assert_eq!(round_trips(&cluster, &["unbind", "cart", "-n", "shop"]), 3);
    // list: webhooks, then one page per 500 ServiceAccounts; -o wide adds the pod pages.
    assert_eq!(round_trips(&cluster, &["list", "-n", "shop"]), 2);
    cluster.run(&bind).ok();
    assert_eq!(round_trips(&cluster, &["list", "-A", "-o", "wide"]), 3);
    // A webhook run in the cluster: its Deployment too.
    cluster
        .fake
        .run_pod_identity_webhook_in_cluster("identity", "eks.amazonaws.com", &[]);
    assert_eq!(round_trips(&cluster, &["list", "-n", "shop"]), 3);
    // trust-policy: offline with --issuer, one request to discover it otherwise.
    let policy = [
        "trust-policy",
        "--service-account",
        "shop:cart",
        "--role-arn",
        ROLE,
    ];
    assert_eq!(round_trips(&cluster, &with_issuer(&policy)), 0);
    assert_eq!(round_trips(&cluster, &policy), 1);
}

#[test]
fn list_pages_scale_with_the_number_of_service_accounts() {
    let cluster = Cluster::start();
    for n in 0..20 {
        for s in 0..60 {
            cluster.fake.add_service_account(
                &format!("ns-{n}"),
                &format!("sa-{s}"),
                &[("eks.amazonaws.com/role-arn", ROLE)],
            );
        }
    }
    // 1,200 seeded plus the 24 default ServiceAccounts of 24 namespaces: 1,224 in 3 pages,
    // after the webhook configurations.
    let output = cluster.run(&["list", "-A", "--no-headers"]);
    assert_eq!(output.ok().stdout.lines().count(), 1200);
    assert_eq!(round_trips(&cluster, &["list", "-A"]), 4);
}

#[test]
fn test_reads_before_it_creates_and_polls_until_the_end() {
    let cluster = Cluster::bound();
    cluster.fake.preload_pod_identity_webhook();
    let identity = "{\"Arn\": \"arn:aws:sts::123456789012:assumed-role/cart/s\"}\n";
    cluster
        .fake
        .script_next_pod(tests::fake_kube::PodScript::succeeds(identity));
    cluster.fake.clear_log();
    cluster.run(&["test", "cart", "-n", "shop"]).ok();
    let requests: Vec<String> = cluster
        .fake
        .requests()
        .iter()
        .map(|r| {
            let dry = if r.param("dryRun").is_some() {
                "?dryRun"
            } else {
                ""
            };
            let name = r.path.rsplit('/').next().unwrap_or_default();
            let kind = if name.starts_with("irsa-test-cart-") {
                "POD"
            } else {
                name
            };
            format!("{} {kind}{dry}", r.method)
        })
        .collect();
    // The webhook configurations (the webhook's annotation prefix), the ServiceAccount and the
    // namespace, a dry run (the webhook's region), the pod, then polls of the pod until its
    // test container ends, its log, and the delete.
    assert_eq!(
        requests[..5],
        [
            "GET mutatingwebhookconfigurations",
            "GET cart",
            "GET shop",
            "POST pods?dryRun",
            "POST pods"
        ]
    );
    assert_eq!(requests[requests.len() - 1], "DELETE POD");
    let polls = &requests[5..requests.len() - 1];
    assert!(
        polls.iter().all(|r| r == "GET POD" || r == "GET log"),
        "{polls:?}"
    );
    assert!(
        polls.len() <= 12,
        "one GET per 250 ms, and the log: {polls:?}"
    );
}
