//! `doctor` scenarios that need a second party: an issuer that discovery and tokens disagree on,
//! and the live `--assume` check against an STS (the fault STS, for a refusal).

mod common;

use common::{Cluster, ROLE};
use tests::{FakeSts, Reply};

fn healthy() -> Cluster {
    let cluster = Cluster::start();
    cluster
        .fake
        .add_service_account("shop", "cart", &[("eks.amazonaws.com/role-arn", ROLE)]);
    cluster.fake.preload_pod_identity_webhook();
    cluster
}

#[test]
fn an_issuer_that_discovery_and_tokens_disagree_on_fails_with_the_fix() {
    let cluster = healthy();
    let healthy = cluster.run(&["doctor", "cart", "-n", "shop"]);
    assert_eq!(healthy.code, 0, "{}", healthy.stdout);
    assert!(
        healthy.stdout.contains("PASS  issuer"),
        "{}",
        healthy.stdout
    );

    cluster
        .fake
        .set_discovery_issuer(Some("https://old-issuer.example.com"));
    let run = cluster.run(&["doctor", "cart", "-n", "shop"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let index = lines
        .iter()
        .position(|l| l.trim_start().starts_with("FAIL  issuer"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        lines[index].contains("https://old-issuer.example.com")
            && lines[index].contains("https://oidc.fake.test/id/CLUSTER"),
        "{}",
        lines[index]
    );
    assert!(
        lines[index + 1].trim_start().starts_with("fix: "),
        "{}",
        run.stdout
    );
}

#[test]
fn assume_runs_the_live_exchange_and_names_a_refusal() {
    let cluster = healthy();
    let sts = FakeSts::start(vec![]);
    let run = cluster.run(&[
        "doctor",
        "cart",
        "-n",
        "shop",
        "--assume",
        "--endpoint-url",
        &sts.url(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("PASS  assume")
            && run
                .stdout
                .contains("STS answered as arn:aws:sts::123456789012:assumed-role/cart/"),
        "{}",
        run.stdout
    );
    assert_eq!(sts.requests()[0].role_arn, ROLE);

    let refusing = FakeSts::start(vec![Reply::access_denied()]);
    let run = cluster.run(&[
        "doctor",
        "cart",
        "-n",
        "shop",
        "--assume",
        "--endpoint-url",
        &refusing.url(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("FAIL  assume"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("oidc.fake.test/id/CLUSTER:sub = system:serviceaccount:shop:cart"),
        "{}",
        run.stdout
    );
}
