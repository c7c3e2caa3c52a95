//! `kubectl irsa test` through every scripted pod outcome of the fake API server.

mod common;

use common::{Cluster, ROLE, Run};
use tests::fake_kube::{PodPhase, PodScript};

const IDENTITY: &str = "{\n    \"UserId\": \"AROAEXAMPLE:botocore-session-1\",\n    \"Account\": \"123456789012\",\n    \"Arn\": \"arn:aws:sts::123456789012:assumed-role/cart/botocore-session-1\"\n}\n";

fn bound_cluster(webhook: bool) -> Cluster {
    let cluster = Cluster::start();
    cluster
        .fake
        .add_service_account("shop", "cart", &[("eks.amazonaws.com/role-arn", ROLE)]);
    if webhook {
        cluster.fake.preload_pod_identity_webhook();
    }
    cluster
}

fn test(cluster: &Cluster, script: PodScript, extra: &[&str]) -> Run {
    cluster.fake.script_next_pod(script);
    cluster.run(&[&["test", "cart", "-n", "shop", "--timeout", "20s"], extra].concat())
}

/// The pods the command deleted, from the request log.
fn deleted_pods(cluster: &Cluster) -> Vec<String> {
    cluster
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE" && r.path.starts_with("/api/v1/namespaces/shop/pods/"))
        .map(|r| r.path.rsplit('/').next().unwrap().to_string())
        .collect()
}

#[test]
fn passes_when_the_pod_assumes_the_annotated_role_and_cleans_up() {
    let cluster = bound_cluster(true);
    let run = test(&cluster, PodScript::succeeds(IDENTITY), &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "\"Arn\": \"arn:aws:sts::123456789012:assumed-role/cart/botocore-session-1\""
        ),
        "logs shown: {}",
        run.stdout
    );
    assert!(run.stdout.contains("PASS: serviceaccount shop/cart assumes arn:aws:iam::123456789012:role/cart (account 123456789012)"), "{}", run.stdout);
    let deleted = deleted_pods(&cluster);
    assert_eq!(deleted.len(), 1);
    assert!(deleted[0].starts_with("irsa-test-cart-"));
    assert!(cluster.fake.pods().is_empty(), "the pod is gone");
    // Without a terminal, progress is plain lines on stderr.
    assert!(
        run.stderr.contains(&format!("pod/{} created", deleted[0])),
        "{}",
        run.stderr
    );
}

#[test]
fn the_pod_runs_as_the_service_account_with_the_plugins_labels() {
    let cluster = bound_cluster(true);
    test(
        &cluster,
        PodScript::succeeds(IDENTITY),
        &["--keep", "--image", "example.com/aws-cli:2"],
    )
    .ok();
    let pods = cluster.fake.pods();
    assert_eq!(pods.len(), 1, "--keep leaves it");
    let pod = &pods[0];
    assert_eq!(
        pod["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "kubectl-irsa"
    );
    assert_eq!(pod["metadata"]["labels"]["kubectl-irsa/test"], "cart");
    assert_eq!(pod["spec"]["serviceAccountName"], "cart");
    assert_eq!(pod["spec"]["restartPolicy"], "Never");
    let container = &pod["spec"]["containers"][0];
    assert_eq!(container["image"], "example.com/aws-cli:2");
    assert_eq!(
        container["args"],
        serde_json::json!(["sts", "get-caller-identity", "--output", "json"])
    );
    assert!(deleted_pods(&cluster).is_empty());
}

#[test]
fn without_the_webhook_it_fails_and_inject_fixes_it() {
    let cluster = bound_cluster(false);
    let run = test(&cluster, PodScript::succeeds(IDENTITY), &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("FAIL: the pod identity webhook did not inject AWS_WEB_IDENTITY_TOKEN_FILE"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("--inject"), "{}", run.stdout);
    assert_eq!(deleted_pods(&cluster).len(), 1);

    // The token lives as the ServiceAccount's annotation says, as the webhook's would
    // (pkg/cache/cache.go reads token-expiration).
    let expiration = [("eks.amazonaws.com/token-expiration", "3600")];
    cluster
        .fake
        .add_service_account("shop", "cart", &expiration);
    let run = test(
        &cluster,
        PodScript::succeeds(IDENTITY),
        &["--inject", "--keep"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let pod = cluster.fake.pods().into_iter().next().unwrap();
    let volume = &pod["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "aws-iam-token")
        .unwrap()["projected"]["sources"][0]["serviceAccountToken"];
    assert_eq!(volume["audience"], "sts.amazonaws.com");
    assert_eq!(volume["path"], "token");
    assert_eq!(volume["expirationSeconds"], 3600);
    let env = pod["spec"]["containers"][0]["env"].as_array().unwrap();
    assert!(
        env.iter()
            .any(|e| e["name"] == "AWS_ROLE_ARN" && e["value"] == ROLE)
    );
    assert!(
        env.iter()
            .any(|e| e["name"] == "AWS_WEB_IDENTITY_TOKEN_FILE"
                && e["value"] == "/var/run/secrets/eks.amazonaws.com/serviceaccount/token")
    );
    let mount = pod["spec"]["containers"][0]["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "aws-iam-token")
        .unwrap()
        .clone();
    assert_eq!(
        mount["mountPath"],
        "/var/run/secrets/eks.amazonaws.com/serviceaccount"
    );
    assert_eq!(mount["readOnly"], true);
}

#[test]
fn sts_rejections_in_the_logs_are_explained() {
    let cluster = bound_cluster(true);
    let denied = "\nAn error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform sts:AssumeRoleWithWebIdentity\n";
    let run = test(&cluster, PodScript::fails(denied, 254), &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("FAIL: role arn:aws:iam::123456789012:role/cart does not trust this token"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("oidc.fake.test/id/CLUSTER:sub = system:serviceaccount:shop:cart"),
        "{}",
        run.stdout
    );

    let invalid = "An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: No OpenIDConnect provider found in your account for https://oidc.fake.test/id/CLUSTER\n";
    let run = test(&cluster, PodScript::fails(invalid, 254), &[]);
    assert!(
        run.stdout.contains(
            "FAIL: STS does not accept tokens of issuer https://oidc.fake.test/id/CLUSTER"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "aws iam create-open-id-connect-provider --url https://oidc.fake.test/id/CLUSTER"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn another_identity_is_not_a_pass() {
    let cluster = bound_cluster(true);
    let node = IDENTITY.replace("assumed-role/cart/", "assumed-role/eks-node/");
    let run = test(&cluster, PodScript::succeeds(&node), &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("FAIL: the pod ran as arn:aws:sts::123456789012:assumed-role/eks-node/"),
        "{}",
        run.stdout
    );
}

#[test]
fn image_pull_errors_and_pending_and_timeouts_are_named() {
    let cluster = bound_cluster(true);
    // The kubelet retries ErrImagePull; once it backs off, waiting longer cannot help.
    let run = test(
        &cluster,
        PodScript::stuck_pending(Some("ImagePullBackOff")),
        &[],
    );
    let pod = deleted_pods(&cluster).pop().unwrap();
    let image = "public.ecr.aws/aws-cli/aws-cli:2.22.0";
    // containerd's words, as the kubelet passes them on.
    let not_found = format!(
        "rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"
    );
    assert_eq!(
        run.stdout,
        format!(
            "FAIL: pod/{pod}: image {image} cannot be pulled (ImagePullBackOff: Back-off pulling image \"{image}\": ErrImagePull: {not_found}): check its name and that the nodes can reach its registry (or pass --image, and --image-pull-secret for a private registry)\n"
        )
    );
    assert_eq!(run.code, 1);

    cluster
        .fake
        .set_default_pod_script(PodScript::stuck_pending(Some("ErrImagePull")));
    let run = cluster.run(&["test", "cart", "-n", "shop", "--timeout", "1s"]);
    let pod = deleted_pods(&cluster).pop().unwrap();
    assert_eq!(
        run.stdout,
        format!(
            "FAIL: pod/{pod} was still Pending after 1s: image {image} cannot be pulled (ErrImagePull: {not_found}): check its name and that the nodes can reach its registry (or pass --image, and --image-pull-secret for a private registry)\n"
        )
    );

    cluster
        .fake
        .set_default_pod_script(PodScript::stuck_pending(None));
    let run = cluster.run(&["test", "cart", "-n", "shop", "--timeout", "1s"]);
    let pod = deleted_pods(&cluster).pop().unwrap();
    assert_eq!(
        run.stdout,
        format!(
            "FAIL: pod/{pod} was still Pending after 1s: the container is waiting (ContainerCreating)\n"
        )
    );

    let mut forever = PodScript::succeeds("");
    forever.phases = vec![PodPhase::Pending, PodPhase::Running];
    cluster.fake.set_default_pod_script(forever);
    let run = cluster.run(&["test", "cart", "-n", "shop", "--timeout", "1s"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("did not finish within 1s"),
        "{}",
        run.stdout
    );
    assert_eq!(deleted_pods(&cluster).len(), 4, "every test pod is deleted");
}

#[test]
fn a_users_command_runs_instead() {
    let cluster = bound_cluster(true);
    let run = test(
        &cluster,
        PodScript::succeeds("2026-11-23 bucket-a\n"),
        &["--keep", "--", "aws", "s3", "ls"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("bucket-a") && run.stdout.contains("PASS: the command succeeded"),
        "{}",
        run.stdout
    );
    let container = &cluster.fake.pods()[0]["spec"]["containers"][0];
    assert_eq!(container["command"], serde_json::json!(["aws"]));
    assert_eq!(container["args"], serde_json::json!(["s3", "ls"]));
}

#[test]
fn unbound_service_accounts_and_bad_timeouts_fail_before_any_pod() {
    let cluster = Cluster::start();
    cluster.fake.add_service_account("shop", "cart", &[]);
    cluster.run(&["test", "cart", "-n", "shop"]).fails(
        2,
        "has no eks.amazonaws.com/role-arn annotation: bind it first",
    );
    cluster
        .run(&["test", "cart", "-n", "shop", "--timeout", "soon"])
        .fails(2, "invalid value 'soon' for '--timeout <DURATION>'");
    cluster
        .run(&["test", "cart", "-n", "shop", "--timeout", "0"])
        .fails(2, "\"0\" is no time at all: give a duration above zero");
    assert!(cluster.fake.pods().is_empty());
}

#[test]
fn ctrl_c_deletes_the_pod() {
    let cluster = bound_cluster(true);
    cluster
        .fake
        .set_default_pod_script(PodScript::stuck_pending(None));
    let child = cluster
        .plugin(&["test", "cart", "-n", "shop"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while cluster.fake.pods().is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "no pod was created"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Let the command reach its wait before interrupting it.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("interrupted; pod/irsa-test-cart-"));
    assert_eq!(deleted_pods(&cluster).len(), 1);
    assert!(cluster.fake.pods().is_empty());
}

#[test]
fn logs_are_followed_while_the_pod_runs_and_printed_once() {
    let cluster = bound_cluster(true);
    let run = test(
        &cluster,
        PodScript::succeeds(IDENTITY).with_step(std::time::Duration::from_millis(800)),
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout.matches("\"Account\": \"123456789012\"").count(),
        1,
        "{}",
        run.stdout
    );
    let followed = cluster
        .fake
        .requests()
        .into_iter()
        .any(|r| r.path.ends_with("/log") && r.param("follow").as_deref() == Some("true"));
    assert!(
        followed,
        "the log was followed: {:?}",
        cluster.fake.requests()
    );
}

/// What the cluster says (here an event's message) is quoted in the verdict as text: one line,
/// its escape sequences shown, not run by the terminal.
#[test]
fn the_verdict_is_one_line_whatever_the_cluster_says() {
    let cluster = bound_cluster(true);
    let reason = "disk \u{1b}]0;owned\u{7}full\nPASS: all good";
    cluster
        .fake
        .set_default_pod_script(PodScript::failed_mount("home", reason));
    let run = cluster.run(&["test", "cart", "-n", "shop", "--timeout", "1s"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 1, "{:?}", run.stdout);
    assert!(
        run.stdout
            .contains("disk ^[]0;owned\\x07full\\nPASS: all good"),
        "{}",
        run.stdout
    );
}
