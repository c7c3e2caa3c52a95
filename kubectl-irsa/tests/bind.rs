//! `bind` and `unbind` against the fake API server, through the binary.

mod common;

use common::{Cluster, ROLE};
use serde_json::json;
use tests::fake_kube::{DEFAULT_ISSUER, PodPhase};

#[test]
fn bind_creates_the_service_account_and_prints_its_trust_policy() {
    let cluster = Cluster::start();
    cluster.fake.add_namespace("shop");
    let run = cluster.run(&["bind", "cart", "-n", "shop", "--role-arn", ROLE]);
    assert_eq!(
        cluster.annotations("shop", "cart"),
        json!({ "eks.amazonaws.com/role-arn": ROLE })
    );
    // The trust policy names the cluster's own issuer, discovered from the cluster; every
    // value in the commands is one shell word.
    let hostpath = DEFAULT_ISSUER.trim_start_matches("https://");
    let statement = common::web_identity_statement(hostpath, "system:serviceaccount:shop:cart");
    let policy = common::trust_policy(vec![statement]);
    let pretty = serde_json::to_string_pretty(&policy).unwrap();
    let compact = serde_json::to_string(&policy).unwrap();
    assert_eq!(
        run.ok().stdout,
        format!(
            "serviceaccount/cart created in namespace shop\n\
             \n\
             Trust policy that {ROLE} needs:\n\
             {pretty}\n\
             \n\
             Create the role with it:\n  \
             aws iam create-role --role-name cart --assume-role-policy-document '{compact}'\n\
             Or, if the role exists, add this ServiceAccount to its trust policy:\n  \
             aws iam get-role --role-name cart > role.json && kubectl irsa trust-policy --merge role.json --role-arn {ROLE} --service-account shop:cart --issuer {DEFAULT_ISSUER} > trust.json && aws iam update-assume-role-policy --role-name cart --policy-document file://trust.json\n"
        )
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn binding_again_changes_nothing() {
    let cluster = Cluster::start();
    cluster.fake.add_namespace("shop");
    cluster
        .run(&["bind", "cart", "-n", "shop", "--role-arn", ROLE])
        .ok();
    cluster.fake.clear_log();
    let run = cluster.run(&["bind", "cart", "-n", "shop", "--role-arn", ROLE]);
    assert!(
        run.ok()
            .stdout
            .starts_with("serviceaccount/cart unchanged\n\nTrust policy that "),
        "{}",
        run.stdout
    );
    assert!(cluster.writes().is_empty(), "{:?}", cluster.writes());
}

#[test]
fn a_different_role_is_refused_without_overwrite() {
    let cluster = Cluster::start();
    cluster.fake.add_service_account(
        "shop",
        "cart",
        &[(
            "eks.amazonaws.com/role-arn",
            "arn:aws:iam::123456789012:role/old",
        )],
    );
    cluster
        .run(&["bind", "cart", "-n", "shop", "--role-arn", ROLE])
        .fails(2, "already has eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/old: pass --overwrite");
    assert!(cluster.writes().is_empty());

    cluster
        .run(&[
            "bind",
            "cart",
            "-n",
            "shop",
            "--role-arn",
            ROLE,
            "--overwrite",
        ])
        .ok();
    assert_eq!(
        cluster.annotations("shop", "cart")["eks.amazonaws.com/role-arn"],
        ROLE
    );
}

#[test]
fn bind_on_an_existing_service_account_takes_four_requests() {
    let cluster = Cluster::start();
    cluster
        .fake
        .add_service_account("shop", "cart", &[("team", "payments")]);
    cluster.fake.clear_log();
    cluster
        .run(&[
            "bind",
            "cart",
            "-n",
            "shop",
            "--role-arn",
            ROLE,
            "--issuer",
            DEFAULT_ISSUER,
        ])
        .ok();
    let mut requests: Vec<String> = cluster
        .fake
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    // The webhook's configuration (its annotation prefix) and the ServiceAccount are read
    // together, in either order.
    requests[..2].sort();
    assert_eq!(
        requests,
        // Every read before the one write, so a user who may not read changes nothing.
        [
            "GET /api/v1/namespaces/shop/serviceaccounts/cart",
            "GET /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
            "GET /api/v1/namespaces/shop/pods",
            "PATCH /api/v1/namespaces/shop/serviceaccounts/cart",
        ]
    );
    assert_eq!(
        cluster.annotations("shop", "cart")["team"],
        "payments",
        "other annotations kept"
    );
}

#[test]
fn running_pods_are_counted_and_told_to_restart() {
    let cluster = Cluster::start();
    cluster.fake.add_service_account("shop", "cart", &[]);
    for pod in ["cart-1", "cart-2"] {
        cluster.fake.add_pod("shop", pod, "cart", PodPhase::Running);
    }
    cluster
        .fake
        .add_pod("shop", "other", "default", PodPhase::Running);
    let run = cluster.run(&["bind", "cart", "-n", "shop", "--role-arn", ROLE]);
    // Bare pods: no workload to restart.
    assert_eq!(
        run.ok().stderr,
        "Warning: 2 pod(s) use serviceaccount/cart and keep their old identity until they are re-created: kubectl delete pod -n shop cart-1 cart-2 and create them again from their manifests\n"
    );
}

#[test]
fn a_forbidden_pod_list_warns_and_still_binds() {
    let cluster = Cluster::start();
    cluster.fake.add_service_account("shop", "cart", &[]);
    cluster.fake.deny("list", "pods");
    let run = cluster.run(&["bind", "cart", "-n", "shop", "--role-arn", ROLE]);
    assert!(
        run.ok().stderr.starts_with("Warning: cannot tell which pods keep the old identity: cannot list pods in namespace shop: forbidden: "),
        "{}",
        run.stderr
    );
    assert_eq!(
        cluster.annotations("shop", "cart")["eks.amazonaws.com/role-arn"],
        ROLE
    );
}

#[test]
fn every_annotation_flag_and_prefix_and_composed_arn() {
    let cluster = Cluster::start();
    cluster.fake.add_namespace("shop");
    cluster
        .run(&[
            "bind",
            "cart",
            "-n",
            "shop",
            "--role-name",
            "cart",
            "--account",
            "123456789012",
            "--audience",
            "sts.amazonaws.com",
            "--sts-regional-endpoints",
            "--token-expiration",
            "3600",
            "--annotation-prefix",
            "sts.amazonaws.com",
        ])
        .ok();
    assert_eq!(
        cluster.annotations("shop", "cart"),
        json!({
            "sts.amazonaws.com/audience": "sts.amazonaws.com",
            "sts.amazonaws.com/role-arn": ROLE,
            "sts.amazonaws.com/sts-regional-endpoints": "true",
            "sts.amazonaws.com/token-expiration": "3600",
        })
    );
}

#[test]
fn client_dry_run_sends_no_write_and_server_dry_run_persists_nothing() {
    let cluster = Cluster::start();
    cluster.fake.add_namespace("shop");
    let run = cluster.run(&[
        "bind",
        "cart",
        "-n",
        "shop",
        "--role-arn",
        ROLE,
        "--dry-run=client",
    ]);
    run.ok();
    assert!(
        run.stdout.contains("created in namespace shop (dry run)"),
        "{}",
        run.stdout
    );
    assert!(cluster.writes().is_empty(), "{:?}", cluster.writes());
    assert!(cluster.fake.service_account("shop", "cart").is_none());

    let run = cluster.run(&[
        "bind",
        "cart",
        "-n",
        "shop",
        "--role-arn",
        ROLE,
        "--dry-run=server",
    ]);
    run.ok();
    let writes = cluster.writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].param("dryRun").as_deref(), Some("All"));
    assert!(cluster.fake.service_account("shop", "cart").is_none());
}

#[test]
fn a_missing_namespace_is_explained() {
    let cluster = Cluster::start();
    cluster
        .run(&["bind", "cart", "-n", "shop", "--role-arn", ROLE])
        .fails(1, "namespaces \"shop\" not found; create the namespace first (kubectl create namespace shop)");
}

#[test]
fn no_create_refuses_a_missing_service_account() {
    let cluster = Cluster::start();
    cluster
        .run(&[
            "bind",
            "cart",
            "-n",
            "shop",
            "--role-arn",
            ROLE,
            "--no-create",
        ])
        .fails(1, "serviceaccount shop/cart not found");
    assert!(cluster.writes().is_empty());
}

#[test]
fn bad_input_fails_before_any_request() {
    let cluster = Cluster::start();
    for (args, expected) in [
        (
            &["bind", "Cart", "--role-arn", ROLE][..],
            "invalid ServiceAccount name",
        ),
        (
            &["bind", "cart", "--role-arn", "arn:aws:iam::1:role/x"],
            "invalid role ARN",
        ),
        (
            &[
                "bind",
                "cart",
                "--role-arn",
                ROLE,
                "--issuer",
                "http://issuer",
            ],
            "https://",
        ),
        (
            &["bind", "cart", "-n", "Shop", "--role-arn", ROLE],
            "invalid namespace",
        ),
    ] {
        cluster.run(args).fails(2, expected);
    }
    assert!(
        cluster.fake.requests().is_empty(),
        "{:?}",
        cluster.fake.requests()
    );
}

#[test]
fn forbidden_and_missing_issuer_are_explained() {
    let cluster = Cluster::start();
    cluster.fake.add_service_account("shop", "cart", &[]);
    cluster.fake.deny("patch", "serviceaccounts");
    cluster
        .run(&["bind", "cart", "-n", "shop", "--role-arn", ROLE])
        .fails(1, "forbidden: serviceaccounts \"cart\" is forbidden");
    cluster.fake.allow_all();

    cluster.fake.set_oidc_enabled(false);
    cluster
        .run(&["bind", "cart", "-n", "shop", "--role-arn", ROLE])
        .fails(2, "pass its issuer with --issuer URL");
    // The issuer is read before the write: the failure left the ServiceAccount as it was.
    assert_eq!(cluster.annotations("shop", "cart"), serde_json::Value::Null);
}

#[test]
fn unbind_removes_only_the_managed_annotations() {
    let cluster = Cluster::start();
    cluster.fake.add_service_account(
        "shop",
        "cart",
        &[
            ("eks.amazonaws.com/role-arn", ROLE),
            ("eks.amazonaws.com/token-expiration", "3600"),
            ("team", "payments"),
        ],
    );
    let run = cluster.run(&["unbind", "cart", "-n", "shop"]);
    run.ok();
    assert!(
        run.stdout.contains("serviceaccount/cart unbound"),
        "{}",
        run.stdout
    );
    assert_eq!(
        cluster.annotations("shop", "cart"),
        json!({ "team": "payments" })
    );
    let again = cluster.run(&["unbind", "cart", "-n", "shop"]);
    assert!(
        again.ok().stdout.contains("unchanged (not bound)"),
        "{}",
        again.stdout
    );
}

#[test]
fn kubectl_sees_what_bind_wrote() {
    let cluster = Cluster::start();
    cluster.fake.add_namespace("shop");
    cluster
        .run(&["bind", "cart", "-n", "shop", "--role-arn", ROLE])
        .ok();
    let jsonpath = "jsonpath={.metadata.annotations.eks\\.amazonaws\\.com/role-arn}";
    let role = cluster.kubectl_ok(None, &["get", "sa", "cart", "-n", "shop", "-o", jsonpath]);
    assert_eq!(role, ROLE);
}

#[test]
fn kubectl_runs_the_plugin_from_path() {
    let cluster = Cluster::start();
    cluster.fake.add_namespace("shop");
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_kubectl-irsa"))
        .parent()
        .unwrap();
    let stdout = cluster.kubectl_ok(
        Some(bin_dir),
        &["irsa", "bind", "cart", "-n", "shop", "--role-arn", ROLE],
    );
    assert!(
        stdout.starts_with("serviceaccount/cart created in namespace shop\n"),
        "{stdout}"
    );
    assert_eq!(
        cluster.annotations("shop", "cart")["eks.amazonaws.com/role-arn"],
        ROLE
    );
}

/// The names of the pods of deployment web, and the AWS_ROLE_ARN their app container carries.
fn web_pods(cluster: &Cluster) -> Vec<(String, String)> {
    let mut pods: Vec<(String, String)> = cluster
        .fake
        .pods()
        .iter()
        .filter(|pod| {
            pod["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("web-")
        })
        .map(|pod| {
            let env = pod["spec"]["containers"][0]["env"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let role = env
                .iter()
                .find(|e| e["name"] == "AWS_ROLE_ARN")
                .map(|e| e["value"].as_str().unwrap().to_string())
                .unwrap_or_default();
            (pod["metadata"]["name"].as_str().unwrap().to_string(), role)
        })
        .collect();
    pods.sort();
    pods
}

#[test]
fn rebinding_names_the_rollout_and_restart_performs_it() {
    let cluster = Cluster::start();
    cluster
        .fake
        .add_service_account("shop", "web", &[("eks.amazonaws.com/role-arn", ROLE)]);
    cluster.fake.preload_pod_identity_webhook();
    cluster.fake.add_deployment("shop", "web", "web", 2);
    let before = web_pods(&cluster);
    assert_eq!(before.len(), 2);
    assert!(before.iter().all(|(_, role)| role == ROLE), "{before:?}");

    let other = "arn:aws:iam::123456789012:role/other";
    let args = [
        "bind",
        "web",
        "-n",
        "shop",
        "--role-arn",
        other,
        "--overwrite",
        "--issuer",
        DEFAULT_ISSUER,
    ];
    let run = cluster.run(&args);
    assert_eq!(
        run.ok().stderr,
        "Warning: 2 pod(s) use serviceaccount/web and keep their old identity until they are re-created: kubectl rollout restart deployment/web -n shop (or bind again with --restart)\n"
    );
    assert_eq!(
        web_pods(&cluster),
        before,
        "nothing restarted without --restart"
    );

    let third = "arn:aws:iam::123456789012:role/third";
    let args = [
        "bind",
        "web",
        "-n",
        "shop",
        "--role-arn",
        third,
        "--overwrite",
        "--restart",
        "--issuer",
        DEFAULT_ISSUER,
    ];
    let run = cluster.run(&args);
    assert!(
        run.ok()
            .stdout
            .starts_with("serviceaccount/web annotated\ndeployment/web restarted\n"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stderr, "");
    // The deployment controller replaced the pods; the webhook gave the new ones the new role.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let after = web_pods(&cluster);
        if after.len() == 2 && after.iter().all(|(_, role)| role == third) {
            assert!(after.iter().all(|pod| !before.contains(pod)));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{after:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
