//! `bind --update-trust` and `unbind --update-trust` when IAM pushes back: throttling retried
//! by the SDK, an AccessDenied naming the refused action with nothing changed in the cluster, a
//! missing provider or role refused before any write, and unbind's dry run.

mod bind_trust_env;
mod common;

use bind_trust_env::{Iam, bind, ec2, policy, statement};
use common::{Cluster, ROLE};
use serde_json::json;

#[test]
fn throttled_calls_are_retried() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    iam.create_role("cart", &policy(vec![ec2()]));
    iam.fake.throttle("GetRole", 1);
    iam.fake.throttle("UpdateAssumeRolePolicy", 1);
    iam.run(&cluster, &bind("cart", &[])).ok();
    assert_eq!(iam.fake.count("GetRole"), 2);
    assert_eq!(iam.fake.count("UpdateAssumeRolePolicy"), 2);
    assert_eq!(iam.trust("cart")["Statement"].as_array().unwrap().len(), 2);
}

#[test]
fn an_access_denied_names_the_action_and_leaves_the_cluster_unchanged() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    iam.create_role("cart", &policy(vec![ec2()]));
    iam.fake.deny("UpdateAssumeRolePolicy");
    let run = iam.run(&cluster, &bind("cart", &[]));
    run.fails(
        1,
        &format!("AWS refused iam:UpdateAssumeRolePolicy on {ROLE} (AccessDenied: "),
    );
    assert!(
        run.stderr
            .contains("allow iam:UpdateAssumeRolePolicy to the caller"),
        "{}",
        run.stderr
    );
    assert!(cluster.fake.service_account("shop", "cart").is_none());
    assert_eq!(iam.trust("cart"), policy(vec![ec2()]));
}

#[test]
fn a_missing_provider_or_role_is_refused_before_any_write() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    iam.run(&cluster, &bind("cart", &[])).fails(
        2,
        &format!("role {ROLE} does not exist: pass --create-role to create it trusting this ServiceAccount, or check --role-arn"),
    );
    iam.create_role("cart", &policy(vec![ec2()]));
    iam.aws(&[
        "iam",
        "delete-open-id-connect-provider",
        "--open-id-connect-provider-arn",
        bind_trust_env::PROVIDER,
    ]);
    iam.fake.reset_calls();
    iam.run(&cluster, &bind("cart", &[])).fails(
        2,
        &format!(
            "IAM has no OIDC provider {} (the issuer https://oidc.fake.test/id/CLUSTER), so STS would refuse every token of this cluster: create it first (kubectl irsa oidc provider --issuer https://oidc.fake.test/id/CLUSTER --apply)",
            bind_trust_env::PROVIDER
        ),
    );
    assert_eq!(iam.fake.writes(), Vec::<String>::new());
    assert!(cluster.fake.service_account("shop", "cart").is_none());
}

#[test]
fn unbind_dry_run_shows_the_change_and_writes_nothing() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    let subs = json!([
        "system:serviceaccount:shop:cart",
        "system:serviceaccount:shop:api"
    ]);
    iam.create_role("cart", &policy(vec![ec2(), statement(subs.clone())]));
    cluster
        .fake
        .add_service_account("shop", "cart", &[("eks.amazonaws.com/role-arn", ROLE)]);
    iam.fake.reset_calls();
    cluster.fake.clear_log();
    let run = iam.run(
        &cluster,
        &[
            "unbind",
            "cart",
            "-n",
            "shop",
            "--update-trust",
            "--dry-run=client",
        ],
    );
    assert!(
        run.ok().stdout.ends_with(&format!(
            "role {ROLE} trust policy updated (dry run): removed system:serviceaccount:shop:cart, every other statement kept\n\
             serviceaccount/cart unbound (dry run): removed eks.amazonaws.com/role-arn\n"
        )),
        "{}",
        run.stdout
    );
    assert_eq!(iam.fake.calls(), ["GetRole"]);
    assert!(cluster.writes().is_empty());
    assert_eq!(iam.trust("cart"), policy(vec![ec2(), statement(subs)]));
}
