//! `bind --update-trust` and `unbind --update-trust` as IAM sees them: the calls counted by the
//! fake IAM in front of moto, nothing written on a dry run or before a refusal, a new role read
//! back whole, the IAM change undone when the cluster refuses, and `--verify` waiting out STS's
//! propagation delay.

mod bind_trust_env;
mod common;

use bind_trust_env::{Iam, bind, ec2, other_cluster, policy, statement};
use common::{Cluster, ROLE};
use serde_json::{Value, json};
use tests::fake_iam::{Propagation, Refusal};

fn sorted(mut calls: Vec<String>) -> Vec<String> {
    calls.sort();
    calls
}

#[test]
fn bind_takes_three_iam_calls_and_unbind_two() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    iam.create_role("cart", &policy(vec![ec2()]));
    iam.fake.reset_calls();
    iam.run(&cluster, &bind("cart", &[])).ok();
    // The role and the provider are read together, then the one write.
    assert_eq!(
        sorted(iam.fake.calls()),
        [
            "GetOpenIDConnectProvider",
            "GetRole",
            "UpdateAssumeRolePolicy"
        ]
    );
    assert_eq!(iam.fake.calls()[2], "UpdateAssumeRolePolicy");

    iam.fake.reset_calls();
    iam.run(
        &cluster,
        &["unbind", "cart", "-n", "shop", "--update-trust"],
    )
    .ok();
    assert_eq!(iam.fake.calls(), ["GetRole", "UpdateAssumeRolePolicy"]);
    assert_eq!(iam.trust("cart"), policy(vec![ec2()]));
}

#[test]
fn a_client_dry_run_writes_nothing_to_iam_or_the_cluster() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    iam.create_role("cart", &policy(vec![ec2()]));
    iam.fake.reset_calls();
    cluster.fake.clear_log();
    let run = iam.run(&cluster, &bind("cart", &["--dry-run=client"]));
    let stdout = &run.ok().stdout;
    assert!(
        stdout.ends_with(&format!(
            "role {ROLE} trust policy updated (dry run): added system:serviceaccount:shop:cart, every other statement kept\n\
             serviceaccount/cart created in namespace shop (dry run)\n"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "+          \"oidc.fake.test/id/CLUSTER:sub\": \"system:serviceaccount:shop:cart\",\n"
        ),
        "{stdout}"
    );
    assert_eq!(iam.fake.writes(), Vec::<String>::new());
    assert_eq!(iam.fake.calls().len(), 2, "{:?}", iam.fake.calls());
    assert!(cluster.writes().is_empty(), "{:?}", cluster.writes());
    assert_eq!(iam.trust("cart"), policy(vec![ec2()]));

    // A role to create is shown whole, and not created.
    let new = "arn:aws:iam::123456789012:role/new";
    let args = [
        "bind",
        "cart",
        "-n",
        "shop",
        "--role-arn",
        new,
        "--update-trust",
        "--create-role",
        "--dry-run=client",
    ];
    let run = iam.run(&cluster, &args);
    assert!(
        run.ok().stdout.starts_with(&format!(
            "--- /dev/null (no role)\n+++ {new} (trust policy after)\n@@ -0,0 +1,18 @@\n+{{\n"
        )),
        "{}",
        run.stdout
    );
    assert_eq!(iam.fake.writes(), Vec::<String>::new());
}

#[test]
fn create_role_gives_the_role_its_policies_boundary_session_and_tags() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    let document = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
    for name in ["cart-s3", "boundary"] {
        iam.aws(&[
            "iam",
            "create-policy",
            "--policy-name",
            name,
            "--policy-document",
            &document.to_string(),
        ]);
    }
    iam.fake.reset_calls();
    let (s3, boundary) = (
        "arn:aws:iam::123456789012:policy/cart-s3",
        "arn:aws:iam::123456789012:policy/boundary",
    );
    let run = iam.run(
        &cluster,
        &bind(
            "cart",
            &[
                "--create-role",
                "--attach-policy-arn",
                s3,
                "--permissions-boundary",
                boundary,
                "--max-session-duration",
                "7200",
            ],
        ),
    );
    assert!(run.ok().stdout.ends_with(&format!(
        "role {ROLE} created: trusting system:serviceaccount:shop:cart, tagged managed-by=kubectl-irsa kubectl-irsa/service-account=shop/cart, {s3} attached, permissions boundary {boundary}, maximum session 7200s\n\
         serviceaccount/cart created in namespace shop\n"
    )), "{}", run.stdout);
    assert_eq!(
        sorted(iam.fake.calls()),
        [
            "AttachRolePolicy",
            "CreateRole",
            "GetOpenIDConnectProvider",
            "GetPolicy",
            "GetRole"
        ]
    );
    let role: Value =
        serde_json::from_str(&iam.aws(&["iam", "get-role", "--role-name", "cart"])).unwrap();
    let role = &role["Role"];
    assert_eq!(
        role["AssumeRolePolicyDocument"],
        policy(vec![statement(json!("system:serviceaccount:shop:cart"))])
    );
    assert_eq!(role["MaxSessionDuration"], 7200);
    assert_eq!(
        role["PermissionsBoundary"]["PermissionsBoundaryArn"],
        boundary
    );
    assert_eq!(
        role["Tags"],
        json!([{"Key": "managed-by", "Value": "kubectl-irsa"}, {"Key": "kubectl-irsa/service-account", "Value": "shop/cart"}])
    );
    let attached: Value = serde_json::from_str(&iam.aws(&[
        "iam",
        "list-attached-role-policies",
        "--role-name",
        "cart",
    ]))
    .unwrap();
    assert_eq!(
        attached["AttachedPolicies"],
        json!([{"PolicyName": "cart-s3", "PolicyArn": s3}])
    );
}

#[test]
fn a_policy_over_the_quota_is_refused_before_iam_is_called_to_write() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    // Another cluster's statement with enough subjects to leave less room than one statement.
    let subjects: Vec<String> = (0..44)
        .map(|i| format!("system:serviceaccount:team:app-{i:02}"))
        .collect();
    let mut other = other_cluster();
    other["Condition"]["StringEquals"]["oidc.eks.eu-west-1.amazonaws.com/id/OTHER:sub"] =
        json!(subjects);
    let before = policy(vec![ec2(), other]);
    iam.create_role("cart", &before);
    iam.fake.reset_calls();
    let run = iam.run(&cluster, &bind("cart", &[]));
    let size = run
        .failure()
        .split(" would be ")
        .nth(1)
        .unwrap_or_default()
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    run.fails(1, &format!(
        "the trust policy of {ROLE} would be {size} characters (white space not counted), over the role trust policy quota of 2048, and IAM would refuse it (LimitExceeded): trust a wildcard subject under StringLike instead of one ServiceAccount at a time (kubectl irsa trust-policy --service-account 'NAMESPACE:*'), bind this ServiceAccount to another role, or have the \"Role trust policy length\" quota (L-C07B4B0D) raised in Service Quotas and pass the new value as --trust-policy-quota"
    ));
    assert_eq!(iam.fake.writes(), Vec::<String>::new());
    assert!(
        cluster.fake.service_account("shop", "cart").is_none(),
        "the cluster is unchanged too"
    );

    // With the quota raised, it goes through.
    iam.fake.set_trust_policy_quota(4096);
    iam.run(&cluster, &bind("cart", &["--trust-policy-quota", "4096"]))
        .ok();
    assert_eq!(iam.trust("cart")["Statement"].as_array().unwrap().len(), 3);
}

#[test]
fn a_refused_annotation_undoes_the_trust_change() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    cluster.fake.deny("create", "serviceaccounts");
    iam.create_role("cart", &policy(vec![ec2()]));
    iam.fake.reset_calls();
    let run = iam.run(&cluster, &bind("cart", &[]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "Warning: the ServiceAccount was not changed, so the change to role {ROLE} was undone\n"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(iam.trust("cart"), policy(vec![ec2()]));
    assert_eq!(
        iam.fake.writes(),
        ["UpdateAssumeRolePolicy", "UpdateAssumeRolePolicy"]
    );
}

#[test]
fn verify_waits_until_sts_sees_the_change() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    iam.create_role("cart", &policy(vec![ec2()]));
    iam.fake
        .propagation_delay(Propagation::Calls(2), Refusal::AccessDenied);
    let run = iam.run(&cluster, &bind("cart", &["--verify"]));
    assert!(run.ok().stdout.ends_with(&format!(
        "serviceaccount/cart created in namespace shop\n\
         verified: shop/cart assumes {ROLE} as arn:aws:sts::123456789012:assumed-role/cart/kubectl-irsa.shop.cart (attempt 3, after 3s)\n"
    )), "{}", run.stdout);
    assert_eq!(
        run.stderr,
        "verifying: a token of shop/cart traded with STS\n\
         verifying: STS refused the token of shop/cart (AccessDenied) on attempt 1: IAM changes take seconds to reach STS, trying again\n\
         verifying: STS refused the token of shop/cart (AccessDenied) on attempt 2: IAM changes take seconds to reach STS, trying again\n"
    );
    assert_eq!(iam.fake.count("AssumeRoleWithWebIdentity"), 3);
}

#[test]
fn verify_waits_for_sts_to_see_a_new_provider() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    // The exchange itself tries InvalidIdentityToken 3 times (the Go SDK retries it as
    // transient too); --verify then tries again.
    iam.fake
        .propagation_delay(Propagation::Calls(3), Refusal::NoProvider);
    let run = iam.run(&cluster, &bind("cart", &["--create-role", "--verify"]));
    let verdict = run.ok().stdout.lines().last().unwrap_or_default();
    assert!(
        verdict.starts_with(&format!(
            "verified: shop/cart assumes {ROLE} as arn:aws:sts::123456789012:assumed-role/cart/kubectl-irsa.shop.cart (attempt 2, after "
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.ends_with("(InvalidIdentityToken) on attempt 1: IAM changes take seconds to reach STS, trying again\n"),
        "{}",
        run.stderr
    );
    assert_eq!(iam.fake.count("AssumeRoleWithWebIdentity"), 4);
}

#[test]
fn verify_gives_up_when_its_time_is_up() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    iam.create_role("cart", &policy(vec![ec2()]));
    iam.fake
        .propagation_delay(Propagation::Calls(100), Refusal::AccessDenied);
    let run = iam.run(
        &cluster,
        &bind("cart", &["--verify", "--verify-timeout", "2s"]),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    // Attempts at 0s, 1s and 2s (waits of 1s, then what is left of the 2s).
    let verdict = run.stdout.lines().last().unwrap_or_default();
    assert!(
        verdict.starts_with("not verified after 2s (") && verdict.ends_with(
            " attempts): the change is made, but STS refuses a token of shop/cart; try later with kubectl irsa whoami cart -n shop"
        ),
        "{}",
        run.stdout
    );
    let error = run.stderr.lines().last().unwrap_or_default();
    assert!(
        error.starts_with("error: ") && error.contains("AccessDenied"),
        "{}",
        run.stderr
    );
}
