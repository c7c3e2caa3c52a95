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
fn a_policy_to_attach_that_does_not_exist_stops_create_role_before_it_writes() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    let typo = "arn:aws:iam::123456789012:policy/typo";
    let run = iam.run(
        &cluster,
        &bind("cart", &["--create-role", "--attach-policy-arn", typo]),
    );
    run.fails(
        1,
        &format!("{typo} does not exist (iam:GetPolicy answered NoSuchEntity: "),
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

#[test]
fn a_refused_annotation_deletes_the_role_just_created() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    cluster.fake.deny("create", "serviceaccounts");
    let document = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
    iam.aws(&[
        "iam",
        "create-policy",
        "--policy-name",
        "cart-s3",
        "--policy-document",
        &document.to_string(),
    ]);
    iam.fake.reset_calls();
    let s3 = "arn:aws:iam::123456789012:policy/cart-s3";
    let run = iam.run(
        &cluster,
        &bind("cart", &["--create-role", "--attach-policy-arn", s3]),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!(
            "Warning: the ServiceAccount was not changed, so the change to role {ROLE} was undone\n"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        iam.fake.writes(),
        [
            "CreateRole",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "DeleteRole"
        ]
    );
    let roles: serde_json::Value = serde_json::from_str(&iam.aws(&["iam", "list-roles"])).unwrap();
    assert_eq!(roles["Roles"], json!([]));
}

#[test]
fn a_refused_unbind_puts_the_trust_policy_back() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    let subs = json!([
        "system:serviceaccount:shop:cart",
        "system:serviceaccount:shop:api"
    ]);
    iam.create_role("cart", &policy(vec![ec2(), statement(subs.clone())]));
    cluster
        .fake
        .add_service_account("shop", "cart", &[("eks.amazonaws.com/role-arn", ROLE)]);
    cluster.fake.deny("patch", "serviceaccounts");
    iam.fake.reset_calls();
    let run = iam.run(
        &cluster,
        &["unbind", "cart", "-n", "shop", "--update-trust"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!("Warning: the ServiceAccount was not changed, so role {ROLE}'s trust policy was put back\n")),
        "{}",
        run.stderr
    );
    assert_eq!(
        iam.fake.writes(),
        ["UpdateAssumeRolePolicy", "UpdateAssumeRolePolicy"]
    );
    assert_eq!(iam.trust("cart"), policy(vec![ec2(), statement(subs)]));
}
