//! `kubectl irsa test` on clusters as they run in production, modelled by the fake API server
//! from upstream sources: Pod Security `restricted`, ResourceQuotas, images that run as root,
//! service-mesh sidecars, scheduling and volume failures, EKS Pod Identity and the webhook's
//! region. Each verdict is compared whole, with its exit code.

mod common;

use common::{Cluster, ROLE, Run};
use serde_json::Value;
use tests::fake_kube::{ContainerScript, INSUFFICIENT_CPU, PodScript};

const IDENTITY: &str = "{\n    \"UserId\": \"AROAEXAMPLE:botocore-session-1\",\n    \"Account\": \"123456789012\",\n    \"Arn\": \"arn:aws:sts::123456789012:assumed-role/cart/botocore-session-1\"\n}\n";
const ASSUMED: &str = "arn:aws:sts::123456789012:assumed-role/cart/botocore-session-1";

/// A cluster with the webhook and shop/cart bound, shop labelled with `labels`.
fn cluster(labels: &[(&str, &str)]) -> Cluster {
    let cluster = Cluster::start();
    cluster.fake.add_namespace_with_labels("shop", labels);
    cluster
        .fake
        .add_service_account("shop", "cart", &[("eks.amazonaws.com/role-arn", ROLE)]);
    cluster.fake.preload_pod_identity_webhook();
    cluster
}

const RESTRICTED: (&str, &str) = ("pod-security.kubernetes.io/enforce", "restricted");

/// `kubectl irsa test cart -n shop --keep` with `extra` (a `--timeout` of 5s unless given).
fn test(cluster: &Cluster, script: PodScript, extra: &[&str]) -> Run {
    cluster.fake.script_next_pod(script);
    let mut args = vec!["test", "cart", "-n", "shop", "--keep"];
    if !extra.contains(&"--timeout") {
        args.extend(["--timeout", "5s"]);
    }
    cluster.run(&[&args[..], extra].concat())
}

/// The test pod, as the cluster stores it (kept with --keep).
fn the_pod(cluster: &Cluster) -> Value {
    let pods = cluster.fake.pods();
    assert_eq!(pods.len(), 1, "one test pod");
    pods.into_iter().next().unwrap()
}

fn pod_name(cluster: &Cluster) -> String {
    the_pod(cluster)["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_restricted_namespace_with_a_mesh_and_a_quota_passes() {
    let cluster = cluster(&[RESTRICTED]);
    cluster
        .fake
        .add_sidecar_injector(Some("shop"), "istio-proxy");
    cluster
        .fake
        .add_resource_quota("shop", "compute", &["limits.cpu", "limits.memory"]);
    let run = test(&cluster, PodScript::succeeds(IDENTITY), &[]);
    assert_eq!(
        run.stdout,
        format!(
            "{IDENTITY}PASS: serviceaccount shop/cart assumes {ROLE} (account 123456789012) as {ASSUMED} through the STS endpoint of us-east-1\n"
        )
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The sidecar still runs: the verdict is the test container's, and every log request
    // names it.
    let pod = the_pod(&cluster);
    let containers: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(containers, ["irsa-test", "istio-proxy"]);
    let logs: Vec<_> = cluster
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/log"))
        .collect();
    assert!(!logs.is_empty());
    assert!(
        logs.iter()
            .all(|r| r.param("container").as_deref() == Some("irsa-test"))
    );
    common::kubernetes_validate(&[pod]);
}

#[test]
fn admission_refusals_name_the_policy_not_rbac() {
    let cluster = cluster(&[RESTRICTED]);
    // What the plugin sent before: no securityContext.
    let bare = r#"{"spec":{"securityContext":null}}"#;
    let run = test(
        &cluster,
        PodScript::succeeds(IDENTITY),
        &["--overrides", bare],
    );
    run.fails(1, "");
    let error = run.error_lines()[0];
    assert!(
        error.starts_with("error: cannot create pod shop/irsa-test-cart-"),
        "{error}"
    );
    assert!(
        error.contains(": refused by admission: pods \"irsa-test-cart-")
            && error.contains("\" is forbidden: violates PodSecurity \"restricted:latest\": ")
            && error.ends_with("; change the test pod with --overrides (a JSON merge into it), or run the test in another namespace"),
        "{error}"
    );
    assert!(!error.contains("kubectl auth can-i"), "{error}");
    assert!(cluster.fake.pods().is_empty(), "nothing was created");
}

#[test]
fn a_quota_refusal_is_admission_too() {
    let cluster = cluster(&[]);
    cluster
        .fake
        .add_resource_quota("shop", "compute", &["limits.cpu", "limits.memory"]);
    // A container list of the user's, without limits (a merge patch replaces lists).
    let no_limits = r#"{"spec":{"containers":[{"name":"irsa-test","image":"public.ecr.aws/aws-cli/aws-cli:2.22.0"}]}}"#;
    let run = test(
        &cluster,
        PodScript::succeeds(IDENTITY),
        &["--overrides", no_limits],
    );
    run.fails(1, "");
    let error = run.error_lines()[0];
    assert!(
        error.contains(": refused by admission: pods \"irsa-test-cart-")
            && error.contains("\" is forbidden: failed quota: compute: must specify limits.cpu for: irsa-test; limits.memory for: irsa-test")
            && error.ends_with("; change the test pod with --overrides (a JSON merge into it), or run the test in another namespace"),
        "{error}"
    );
    assert!(cluster.fake.pods().is_empty());
}

#[test]
fn an_image_that_runs_as_root_without_run_as_user_is_named() {
    let cluster = cluster(&[]);
    let as_image = r#"{"spec":{"securityContext":{"runAsUser":null,"runAsGroup":null}}}"#;
    let run = test(
        &cluster,
        PodScript::succeeds(IDENTITY),
        &["--overrides", as_image],
    );
    let name = pod_name(&cluster);
    assert_eq!(
        run.stdout,
        format!(
            "FAIL: pod/{name}: the container cannot start (CreateContainerConfigError: container has runAsNonRoot and image will run as root (pod: \"{name}_shop({uid})\", container: irsa-test)): give a non-root runAsUser the image accepts with --overrides\n",
            uid = the_pod(&cluster)["metadata"]["uid"].as_str().unwrap()
        )
    );
    assert_eq!(run.code, 1);
}

#[test]
fn an_unschedulable_pod_is_named_at_the_deadline() {
    let cluster = cluster(&[]);
    let run = test(
        &cluster,
        PodScript::unschedulable(INSUFFICIENT_CPU),
        &["--timeout", "1s"],
    );
    assert_eq!(
        run.stdout,
        format!(
            "FAIL: pod/{} was still Pending after 1s: the pod cannot be scheduled: {INSUFFICIENT_CPU} (free capacity, or change its requests or node selector with --overrides)\n",
            pod_name(&cluster)
        )
    );
}

#[test]
fn a_failed_mount_is_named_from_the_events() {
    let cluster = cluster(&[]);
    let script = PodScript::failed_mount("home", "no space left on device");
    let run = test(&cluster, script, &["--timeout", "1s"]);
    let name = pod_name(&cluster);
    assert!(
        run.stdout.starts_with(&format!(
            "FAIL: pod/{name} was still Pending after 1s: a volume cannot be mounted: MountVolume.SetUp failed for volume \"home\""
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with("no space left on device\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn oom_and_a_crash_of_the_test_command_are_named() {
    let cluster = cluster(&[]);
    let oom = PodScript::succeeds("").with_container("irsa-test", ContainerScript::oom_killed(""));
    let run = test(&cluster, oom, &[]);
    assert_eq!(
        run.stdout,
        format!(
            "FAIL: the test container of pod/{} was killed for using too much memory (OOMKilled): raise its limit with --overrides\n",
            pod_name(&cluster)
        )
    );
}

#[test]
fn a_failed_init_container_is_named() {
    let cluster = cluster(&[]);
    let init = r#"{"spec":{"initContainers":[{"name":"wait-for-proxy","image":"busybox"}]}}"#;
    let script = PodScript::succeeds(IDENTITY)
        .with_container("wait-for-proxy", ContainerScript::exits("", 3));
    let run = test(&cluster, script, &["--overrides", init]);
    let name = pod_name(&cluster);
    assert_eq!(
        run.stdout,
        format!(
            "FAIL: init container wait-for-proxy of pod/{name} failed (exit code 3, Error), so the test never ran: kubectl logs {name} -c wait-for-proxy -n shop\n"
        )
    );
}

#[test]
fn a_denied_command_is_not_a_trust_problem() {
    let cluster = cluster(&[]);
    let denied = "\nAn error occurred (AccessDenied) when calling the ListBuckets operation: Access Denied\n";
    let script = PodScript::fails(denied, 254);
    let run = test(&cluster, script, &["--", "aws", "s3", "ls"]);
    assert_eq!(
        run.stdout,
        format!(
            "{denied}FAIL: the binding works (the pod got credentials), but the role's permissions do not allow the command: An error occurred (AccessDenied) when calling the ListBuckets operation: Access Denied (grant it in the role's permissions policy, not its trust policy)\n"
        )
    );
    assert_eq!(run.code, 1);
}

#[test]
fn the_region_is_the_webhooks_when_it_has_one() {
    let cluster = cluster(&[]);
    cluster.fake.set_webhook_region(Some("eu-west-1"));
    let run = test(&cluster, PodScript::succeeds(IDENTITY), &[]);
    assert!(
        run.ok()
            .stdout
            .ends_with(" through the STS endpoint of eu-west-1\n"),
        "{}",
        run.stdout
    );
    let env = &the_pod(&cluster)["spec"]["containers"][0]["env"];
    let mut region: Vec<String> = env
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"].as_str().unwrap().ends_with("REGION"))
        .map(|e| {
            format!(
                "{}={}",
                e["name"].as_str().unwrap(),
                e["value"].as_str().unwrap()
            )
        })
        .collect();
    region.sort();
    assert_eq!(
        region,
        ["AWS_DEFAULT_REGION=eu-west-1", "AWS_REGION=eu-west-1"],
        "the webhook's, once each, not the plugin's"
    );
}

#[test]
fn eks_pod_identity_is_recognised() {
    let cluster = cluster(&[]);
    let other = "arn:aws:iam::123456789012:role/other";
    cluster
        .fake
        .add_pod_identity_association("shop", "cart", other);
    let as_other = IDENTITY.replace("assumed-role/cart/", "assumed-role/other/");
    let run = test(&cluster, PodScript::succeeds(&as_other), &[]);
    assert_eq!(
        run.stdout,
        format!(
            "{as_other}FAIL: the pod ran as arn:aws:sts::123456789012:assumed-role/other/botocore-session-1, not as {ROLE}: it gets container credentials (an EKS Pod Identity association for this ServiceAccount, which the webhook injects instead of the role-arn annotation's web identity); make the association name {ROLE}, or delete it (aws eks list-pod-identity-associations)\n"
        )
    );
}

#[test]
fn long_service_account_names_get_valid_labels() {
    let cluster = cluster(&[]);
    let long = format!("{}.{}", "a".repeat(60), "b".repeat(10));
    cluster
        .fake
        .add_service_account("shop", &long, &[("eks.amazonaws.com/role-arn", ROLE)]);
    cluster.fake.script_next_pod(PodScript::succeeds(IDENTITY));
    let run = cluster.run(&["test", &long, "-n", "shop", "--keep"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let pod = the_pod(&cluster);
    let label = pod["metadata"]["labels"]["kubectl-irsa/test"]
        .as_str()
        .unwrap();
    assert_eq!(label.len(), 63);
    common::kubernetes_validate(&[pod]);
}
