//! A pod identity webhook run in the cluster with another `--annotation-prefix` (hand-made
//! setups of the webhook's `deploy/` manifests): bind under the default prefix writes
//! annotations the webhook never reads, so new pods are not injected, and doctor names the
//! webhook's prefix from its Deployment; with `--annotation-prefix` the same binding injects.

mod common;

use common::{Cluster, ROLE};

const PREFIX: &str = "sts.amazonaws.com";

fn cluster() -> Cluster {
    let cluster = Cluster::start();
    cluster
        .fake
        .run_pod_identity_webhook_in_cluster("identity", PREFIX);
    cluster.fake.add_service_account("shop", "cart", &[]);
    cluster
}

/// The check line `name` of doctor's output, trimmed.
fn check_line<'a>(stdout: &'a str, name: &str) -> Option<&'a str> {
    stdout
        .lines()
        .map(str::trim)
        .find(|l| l.split_whitespace().nth(1) == Some(name))
}

#[test]
fn another_webhook_prefix_is_named_by_doctor() {
    let cluster = cluster();
    cluster
        .run(&["bind", "cart", "-n", "shop", "--role-arn", ROLE])
        .ok();
    cluster.run_pod("web");
    let pod = cluster.fake.pod("shop", "web").unwrap();
    assert_eq!(
        common::env(&pod["spec"]["containers"][0], "AWS_ROLE_ARN"),
        None,
        "the webhook reads {PREFIX} annotations only"
    );

    let run = cluster.run(&["doctor", "cart", "-n", "shop"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let lines: Vec<&str> = run.stdout.lines().map(str::trim).collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("FAIL  webhook-flags"))
        .unwrap_or_else(|| panic!("no webhook-flags failure in\n{}", run.stdout));
    assert_eq!(
        &lines[at..at + 2],
        [
            "FAIL  webhook-flags     identity/pod-identity-webhook watches sts.amazonaws.com annotations; default audience sts.amazonaws.com; region none, but kubectl irsa uses eks.amazonaws.com: bind writes annotations it never reads",
            "fix: pass --annotation-prefix sts.amazonaws.com to every kubectl irsa command",
        ]
    );
}

#[test]
fn the_webhooks_prefix_injects_and_passes() {
    let cluster = cluster();
    let bind = ["bind", "cart", "-n", "shop", "--role-arn", ROLE];
    cluster
        .run(&[&bind[..], &["--annotation-prefix", PREFIX]].concat())
        .ok();
    assert_eq!(
        cluster.annotations("shop", "cart")["sts.amazonaws.com/role-arn"],
        ROLE
    );
    cluster.run_pod("web");
    let pod = cluster.fake.pod("shop", "web").unwrap();
    assert_eq!(
        common::env(&pod["spec"]["containers"][0], "AWS_ROLE_ARN").as_deref(),
        Some(ROLE)
    );

    let doctor = [
        "doctor",
        "cart",
        "-n",
        "shop",
        "--annotation-prefix",
        PREFIX,
    ];
    let run = cluster.run(&doctor);
    assert_eq!(
        check_line(&run.stdout, "webhook-flags"),
        Some(
            "PASS  webhook-flags     identity/pod-identity-webhook watches sts.amazonaws.com annotations; default audience sts.amazonaws.com; region none"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(
        check_line(&run.stdout, "injection"),
        Some("PASS  injection         1 running pod(s), all with AWS_WEB_IDENTITY_TOKEN_FILE")
    );
}
