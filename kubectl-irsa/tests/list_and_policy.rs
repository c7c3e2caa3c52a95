//! `list`, `trust-policy` and kubectl's global flags against the fake API server.

mod common;

use common::{Cluster, ROLE};
use tests::fake_kube::{DEFAULT_ISSUER, PodPhase};

fn seed(cluster: &Cluster) {
    for (ns, name) in [("shop", "cart"), ("shop", "checkout"), ("team-a", "batch")] {
        let role = format!("arn:aws:iam::123456789012:role/{name}");
        cluster
            .fake
            .add_service_account(ns, name, &[("eks.amazonaws.com/role-arn", &role)]);
    }
    cluster.fake.add_service_account("shop", "unbound", &[]);
    cluster
        .fake
        .add_pod("shop", "cart-1", "cart", PodPhase::Running);
}

#[test]
fn list_shows_bound_service_accounts_of_the_namespace() {
    let cluster = Cluster::start();
    seed(&cluster);
    // As kubectl's tables: a NAMESPACE column only with -A.
    let run = cluster.run(&["list", "-n", "shop"]);
    assert_eq!(
        run.ok().stdout,
        "SERVICEACCOUNT   ROLE ARN\n\
         cart             arn:aws:iam::123456789012:role/cart\n\
         checkout         arn:aws:iam::123456789012:role/checkout\n"
    );
    assert_eq!(run.stderr, "");
    let all = cluster.run(&["list", "-A"]);
    assert_eq!(
        all.ok().stdout,
        "NAMESPACE   SERVICEACCOUNT   ROLE ARN\n\
         shop        cart             arn:aws:iam::123456789012:role/cart\n\
         shop        checkout         arn:aws:iam::123456789012:role/checkout\n\
         team-a      batch            arn:aws:iam::123456789012:role/batch\n"
    );
}

#[test]
fn an_empty_list_prints_nothing_on_stdout() {
    let cluster = Cluster::start();
    seed(&cluster);
    let run = cluster.run(&["list", "-n", "default"]);
    assert_eq!(run.ok().stdout, "", "no header without rows, as kubectl");
    assert_eq!(
        run.stderr,
        "No bound ServiceAccounts found in default namespace.\n"
    );
}

#[test]
fn list_all_namespaces_pages_through_with_continue_tokens() {
    let cluster = Cluster::start();
    seed(&cluster);
    cluster.fake.clear_log();
    let run = cluster.run(&["list", "-A", "--no-headers", "--chunk-size", "2"]);
    assert_eq!(run.ok().stdout.lines().count(), 3, "{}", run.stdout);
    let pages: Vec<_> = cluster
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/serviceaccounts")
        .collect();
    assert!(pages.len() >= 2, "paginated: {pages:?}");
    assert!(
        pages
            .iter()
            .all(|r| r.param("limit").as_deref() == Some("2"))
    );
    assert!(pages[1].param("continue").is_some());
}

#[test]
fn wide_json_yaml_and_name_outputs() {
    let cluster = Cluster::start();
    seed(&cluster);
    let wide = cluster.run(&["list", "-n", "shop", "-o", "wide"]);
    let cart = wide
        .ok()
        .stdout
        .lines()
        .find(|l| l.starts_with("cart "))
        .unwrap()
        .to_string();
    let cells: Vec<&str> = cart.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "cart",
            "arn:aws:iam::123456789012:role/cart",
            "sts.amazonaws.com",
            "false",
            "86400",
            "1",
            "0"
        ]
    );

    let json = cluster.run(&["list", "-n", "shop", "-o", "json"]);
    let list: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(list["items"][0]["metadata"]["name"], "cart");

    let yaml = cluster.run(&["list", "-n", "shop", "-o", "yaml"]);
    assert!(
        yaml.ok().stdout.contains("kind: List") && yaml.stdout.contains("name: checkout"),
        "{}",
        yaml.stdout
    );

    let names = cluster.run(&["list", "-n", "shop", "-o", "name"]);
    assert_eq!(
        names.ok().stdout,
        "serviceaccount/cart\nserviceaccount/checkout\n"
    );
}

#[test]
fn wide_output_counts_pods_with_eks_pod_identity() {
    let cluster = Cluster::bound();
    cluster.fake.preload_pod_identity_webhook();
    let other = "arn:aws:iam::123456789012:role/other";
    cluster
        .fake
        .add_pod_identity_association("shop", "cart", other);
    // Through admission, so that the webhook injects Pod Identity instead of web identity.
    cluster.run_pod("app");
    cluster
        .fake
        .add_pod("shop", "old", "cart", PodPhase::Running);
    let run = cluster.run(&["list", "-n", "shop", "-o", "wide"]);
    assert_eq!(
        run.ok().stdout,
        format!(
            "SERVICEACCOUNT   ROLE ARN                              AUDIENCE            REGIONAL STS   TOKEN EXPIRATION   PODS   POD IDENTITY\n\
             cart             {ROLE}   sts.amazonaws.com   false          86400              2      1\n"
        )
    );
}

#[test]
fn context_namespace_and_impersonation_flags_work_like_kubectl() {
    let cluster = Cluster::start();
    seed(&cluster);
    // The `other` context's namespace is team-a.
    let run = cluster.run(&["list", "--context", "other", "--no-headers"]);
    assert_eq!(
        run.ok().stdout,
        "batch   arn:aws:iam::123456789012:role/batch\n"
    );

    cluster.fake.clear_log();
    cluster
        .run(&[
            "list",
            "-n",
            "shop",
            "--as",
            "jane",
            "--as-group",
            "devs",
            "--as-group",
            "ops",
        ])
        .ok();
    let request = &cluster.fake.requests()[0];
    assert_eq!(request.impersonate_user.as_deref(), Some("jane"));
    assert_eq!(request.impersonate_groups, ["devs", "ops"]);

    cluster
        .run(&["list", "--context", "missing"])
        .fails(2, "cannot use the kubeconfig");
    cluster.run(&["list", "--request-timeout", "soon"]).fails(
        2,
        "invalid value 'soon' for '--request-timeout <DURATION>': \"soon\" is not a duration",
    );
}

#[test]
fn list_forbidden_is_explained() {
    let cluster = Cluster::start();
    cluster.fake.deny("list", "serviceaccounts");
    cluster.run(&["list", "-A"]).fails(1, "forbidden");
}

#[test]
fn trust_policy_uses_the_current_cluster_issuer() {
    let cluster = Cluster::start();
    let run = cluster.run(&[
        "trust-policy",
        "--service-account",
        "shop:cart",
        "--role-arn",
        ROLE,
    ]);
    let hostpath = DEFAULT_ISSUER.trim_start_matches("https://");
    let statement = common::web_identity_statement(hostpath, "system:serviceaccount:shop:cart");
    let expected = common::trust_policy(vec![statement]);
    let pretty = serde_json::to_string_pretty(&expected).unwrap();
    assert_eq!(run.ok().stdout, format!("{pretty}\n"));
    assert_eq!(run.stderr, "");
}

#[test]
fn trust_policy_works_offline_and_merges_from_stdin() {
    // No cluster at all: the kubeconfig points nowhere.
    let dir = tempfile::tempdir().unwrap();
    let existing = r#"{"Role":{"AssumeRolePolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}}}"#;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-irsa"));
    command
        .env_clear()
        .env("KUBECONFIG", dir.path().join("none"))
        .args([
            "trust-policy",
            "--merge",
            "-",
            "--account",
            "123456789012",
            "--service-account",
            "shop:cart",
            "--service-account",
            "team-*:*",
        ])
        .args([
            "--issuer",
            "https://oidc.eks.us-west-2.amazonaws.com/id/A",
            "--issuer",
            "https://issuer.example.com/kind",
        ]);
    let output = common::with_stdin(command, existing);
    assert_eq!(output.code, 0, "{}", output.stderr);
    // ec2 kept first; per cluster one StringEquals statement and one whose :sub pattern is
    // under StringLike (its :aud stays an exact match).
    let statement = common::web_identity_statement;
    let (eks, kind) = (
        "oidc.eks.us-west-2.amazonaws.com/id/A",
        "issuer.example.com/kind",
    );
    let expected = common::trust_policy(vec![
        serde_json::json!({ "Effect": "Allow", "Principal": { "Service": "ec2.amazonaws.com" }, "Action": "sts:AssumeRole" }),
        statement(eks, "system:serviceaccount:shop:cart"),
        statement(eks, "system:serviceaccount:team-*:*"),
        statement(kind, "system:serviceaccount:shop:cart"),
        statement(kind, "system:serviceaccount:team-*:*"),
    ]);
    let pretty = serde_json::to_string_pretty(&expected).unwrap();
    assert_eq!(output.stdout, format!("{pretty}\n"));
}

#[test]
fn trust_policy_flags_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        common::Run::from(
            std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-irsa"))
                .env_clear()
                .env("KUBECONFIG", dir.path().join("none"))
                .arg("trust-policy")
                .args(args)
                .output()
                .unwrap(),
        )
    };
    run(&["--service-account", "shop", "--account", "123456789012"]).fails(2, "NAMESPACE:NAME");
    run(&["--service-account", "shop:cart"]).fails(2, "give --role-arn ARN or --account ID");
    run(&["--service-account", "shop:cart", "--account", "1234"]).fails(2, "12 digits");
    let slash = run(&[
        "--service-account",
        "shop:cart",
        "--account",
        "123456789012",
        "--issuer",
        "https://issuer.example.com/",
    ]);
    assert!(
        slash.ok().stderr.contains("ends with '/'"),
        "{}",
        slash.stderr
    );
    let policy = dir.path().join("bad.json");
    std::fs::write(&policy, r#"{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"x:sub":"system:serviceaccount:*:*"}}}]}"#).unwrap();
    run(&[
        "--service-account",
        "shop:cart",
        "--account",
        "123456789012",
        "--issuer",
        "https://x",
        "--merge",
        policy.to_str().unwrap(),
    ])
    .fails(1, "StringEquals never matches *");
}
