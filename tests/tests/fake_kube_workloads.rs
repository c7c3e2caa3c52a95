//! Deployments in the fake API server: what the deployment and ReplicaSet controllers create,
//! the real `kubectl get` / `rollout restart` / `rollout status`, a kube-rs merge patch of the
//! template annotation rolling out the ServiceAccount's current binding, dry runs, and RBAC.

mod fake_common;

use std::time::{Duration, Instant};

use fake_common::{Cluster, api_error, assert_has, client};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use tests::FakeKube;
use tests::fake_kube::PolicyRule;

const ROLE_KEY: &str = "eks.amazonaws.com/role-arn";
const ROLE_A: &str = "arn:aws:iam::111122223333:role/a";
const ROLE_B: &str = "arn:aws:iam::111122223333:role/b";
const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// A fake with the pod identity webhook and ServiceAccount `shop/cart` bound to role A.
fn shop() -> Cluster {
    let cluster = Cluster::start();
    cluster.fake.preload_pod_identity_webhook();
    cluster
        .fake
        .add_service_account("shop", "cart", &[(ROLE_KEY, ROLE_A)]);
    cluster
}

fn name(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap()
}

/// The pods of `shop` whose names start with `prefix`, in name order.
fn pods_of(fake: &FakeKube, prefix: &str) -> Vec<Value> {
    fake.pods()
        .into_iter()
        .filter(|p| p["metadata"]["namespace"] == "shop" && name(p).starts_with(prefix))
        .collect()
}

/// A table's words, line by line.
fn words(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

fn env(pod: &Value, var: &str) -> Option<String> {
    pod["spec"]["containers"][0]["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == var)
        .map(|e| e["value"].as_str().unwrap().to_owned())
}

/// Waits (up to 20 s) until Deployment `shop/NAME` has rolled out generation `generation`.
#[track_caller]
fn wait_rolled_out(fake: &FakeKube, name: &str, generation: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let d = fake.deployment("shop", name).unwrap();
        let want = d["spec"]["replicas"].clone();
        let status = &d["status"];
        if status["observedGeneration"] == generation
            && status["updatedReplicas"] == want
            && status["replicas"] == want
            && status["availableReplicas"] == want
        {
            return d;
        }
        assert!(Instant::now() < deadline, "never rolled out: {d:#}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Checks the owner chain Deployment -> ReplicaSet -> pods, and returns the ReplicaSet.
#[track_caller]
fn check_owners(fake: &FakeKube, deployment: &Value, replicas: usize) -> Value {
    let sets: Vec<Value> = fake
        .replica_sets("shop")
        .into_iter()
        .filter(|rs| rs["spec"]["replicas"] != 0)
        .collect();
    assert_eq!(sets.len(), 1, "{sets:#?}");
    let rs = sets[0].clone();
    let hash = rs["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .unwrap();
    assert_eq!(name(&rs), format!("{}-{hash}", name(deployment)));
    assert!(hash.chars().all(|c| "456789bcdf".contains(c)), "{hash}");
    let owner = &rs["metadata"]["ownerReferences"];
    assert_eq!(
        *owner,
        json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": name(deployment),
            "uid": deployment["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}])
    );
    assert_eq!(
        rs["spec"]["selector"]["matchLabels"]["pod-template-hash"],
        hash
    );
    let pods = pods_of(fake, &format!("{}-", name(&rs)));
    assert_eq!(pods.len(), replicas);
    for pod in &pods {
        assert_eq!(name(pod).len(), name(&rs).len() + 6, "{}", name(pod));
        assert_eq!(pod["metadata"]["generateName"], format!("{}-", name(&rs)));
        assert_eq!(pod["metadata"]["labels"]["pod-template-hash"], hash);
        assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
        assert_eq!(
            pod["metadata"]["ownerReferences"][0]["uid"],
            rs["metadata"]["uid"]
        );
        assert_eq!(pod["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(pod["spec"]["serviceAccountName"], "cart");
    }
    rs
}

#[test]
fn add_deployment_makes_what_the_controllers_would() {
    let cluster = shop();
    let d = cluster.fake.add_deployment("shop", "web", "cart", 2);
    assert_eq!(d["metadata"]["generation"], 1);
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    let status = &d["status"];
    assert_eq!(status["observedGeneration"], 1);
    for field in [
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
    ] {
        assert_eq!(status[field], 2, "{field}");
    }
    let conditions: Vec<(&str, &str)> = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["type"].as_str().unwrap(), c["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        conditions,
        [
            ("Available", "MinimumReplicasAvailable"),
            ("Progressing", "NewReplicaSetAvailable")
        ]
    );
    // The apiserver's defaults.
    assert_eq!(
        d["spec"]["strategy"]["rollingUpdate"],
        json!({"maxUnavailable": "25%", "maxSurge": "25%"})
    );
    assert_eq!(d["spec"]["template"]["spec"]["restartPolicy"], "Always");
    let rs = check_owners(&cluster.fake, &d, 2);
    assert_eq!(
        rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"],
        "3"
    );
    for pod in pods_of(&cluster.fake, "web-") {
        assert_eq!(pod["status"]["phase"], "Running");
        assert_eq!(
            env(&pod, "AWS_ROLE_ARN").as_deref(),
            Some(ROLE_A),
            "injected"
        );
    }
}

/// `kubectl get deployments` and `kubectl get rs -o wide`, column by column.
fn check_tables(cluster: &Cluster, rs: &Value) {
    let table = words(&cluster.ok("get deployments -n shop"));
    assert_eq!(
        table[0],
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    );
    assert_eq!(table[1][..4], ["web", "2/2", "2", "2"]);
    let wide = words(&cluster.ok("get rs -n shop -o wide"));
    let header = [
        "NAME",
        "DESIRED",
        "CURRENT",
        "READY",
        "AGE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
    ];
    assert_eq!(wide[0], header);
    let hash = rs["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .unwrap();
    let selector = format!("app=web,pod-template-hash={hash}");
    let row = &wide[1];
    assert_eq!(row[..4], [name(rs), "2", "2", "2"]);
    assert_eq!(row[5..], ["app", "app:1", selector.as_str()]);
}

#[test]
fn kubectl_get_rollout_restart_and_status_replace_the_pods() {
    let cluster = shop();
    let d = cluster.fake.add_deployment("shop", "web", "cart", 2);
    let rs = check_owners(&cluster.fake, &d, 2);
    let before: Vec<String> = pods_of(&cluster.fake, "web-")
        .iter()
        .map(|p| name(p).to_owned())
        .collect();
    check_tables(&cluster, &rs);
    assert_eq!(
        cluster.ok("rollout restart deployment/web -n shop"),
        "deployment.apps/web restarted\n"
    );
    let status = cluster.ok("rollout status deployment/web -n shop --timeout=20s");
    assert!(
        status.ends_with("deployment \"web\" successfully rolled out\n"),
        "{status}"
    );
    let d = wait_rolled_out(&cluster.fake, "web", 2);
    let annotations = &d["spec"]["template"]["metadata"]["annotations"];
    assert!(annotations[RESTARTED_AT].is_string(), "{annotations}");
    let new_rs = check_owners(&cluster.fake, &d, 2);
    assert_ne!(name(&new_rs), name(&rs));
    assert_eq!(
        new_rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    for pod in pods_of(&cluster.fake, "web-") {
        assert!(
            !before.iter().any(|b| b == name(&pod)),
            "{} survived",
            name(&pod)
        );
    }
    let old = cluster.json(&format!("get rs {} -n shop -o json", name(&rs)));
    assert_eq!(
        (
            old["spec"]["replicas"].clone(),
            old["status"]["replicas"].clone()
        ),
        (json!(0), json!(0))
    );
    let events = cluster.ok("get events -n shop --field-selector involvedObject.kind=Deployment");
    for line in [
        format!("Scaled up replica set {} from 0 to 1", name(&new_rs)),
        format!("Scaled down replica set {} from 2 to 1", name(&rs)),
        format!("Scaled down replica set {} from 1 to 0", name(&rs)),
    ] {
        assert_has(&events, &line);
    }
}

#[tokio::test]
async fn a_merge_patch_of_the_template_rolls_out_the_current_binding() {
    let cluster = shop();
    let fake = &cluster.fake;
    fake.add_deployment("shop", "web", "cart", 2);
    // A rebinding reaches no running pod.
    fake.add_service_account("shop", "cart", &[(ROLE_KEY, ROLE_B)]);
    assert!(
        pods_of(fake, "web-")
            .iter()
            .all(|p| env(p, "AWS_ROLE_ARN").as_deref() == Some(ROLE_A))
    );
    fake.clear_log();
    let api: Api<Deployment> = Api::namespaced(client(fake).await, "shop");
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: "2025-06-01T10:00:00Z"}}}}});
    let params = PatchParams {
        field_manager: Some("kubectl-irsa".into()),
        ..PatchParams::default()
    };
    let patched = api
        .patch("web", &params, &Patch::Merge(&patch))
        .await
        .unwrap();
    assert_eq!(patched.metadata.generation, Some(2));
    // The answer is the object as written, before the controller saw it.
    assert_eq!(patched.status.unwrap().observed_generation, Some(1));
    let request = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(
        request.path,
        "/apis/apps/v1/namespaces/shop/deployments/web"
    );
    assert_eq!(
        request.param("fieldManager").as_deref(),
        Some("kubectl-irsa")
    );
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    let d = wait_rolled_out(fake, "web", 2);
    check_owners(fake, &d, 2);
    for pod in pods_of(fake, "web-") {
        assert_eq!(
            env(&pod, "AWS_ROLE_ARN").as_deref(),
            Some(ROLE_B),
            "{}",
            name(&pod)
        );
    }
    // The same annotation again changes nothing: no new generation, no rollout.
    let again = api
        .patch("web", &params, &Patch::Merge(&patch))
        .await
        .unwrap();
    assert_eq!(again.metadata.generation, Some(2));
    assert_eq!(fake.replica_sets("shop").len(), 2);
}

#[tokio::test]
async fn a_server_dry_run_patch_changes_nothing() {
    let cluster = shop();
    cluster.fake.add_deployment("shop", "web", "cart", 1);
    let before = pods_of(&cluster.fake, "web-");
    let api: Api<Deployment> = Api::namespaced(client(&cluster.fake).await, "shop");
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: "now"}}}}});
    let params = PatchParams {
        dry_run: true,
        field_manager: Some("kubectl-irsa".into()),
        ..PatchParams::default()
    };
    let answer = api
        .patch("web", &params, &Patch::Merge(&patch))
        .await
        .unwrap();
    assert_eq!(
        answer.metadata.generation,
        Some(2),
        "what the patch would make"
    );
    let d = cluster.fake.deployment("shop", "web").unwrap();
    assert_eq!(d["metadata"]["generation"], 1);
    assert!(
        d["spec"]["template"]["metadata"]
            .get("annotations")
            .is_none()
    );
    assert_eq!(cluster.fake.replica_sets("shop").len(), 1);
    assert_eq!(pods_of(&cluster.fake, "web-"), before);
}

#[tokio::test]
async fn rbac_refuses_patching_a_deployment_in_the_authorizers_words() {
    let cluster = shop();
    cluster.fake.add_deployment("shop", "web", "cart", 1);
    let read = PolicyRule::resources(&["get", "list", "watch"], &["apps"], &["deployments"]);
    cluster.fake.grant("alice", Some("shop"), &[read]);
    let forbidden = "deployments.apps \"web\" is forbidden: User \"alice\" cannot patch resource \"deployments\" in API group \"apps\" in the namespace \"shop\"";
    assert_has(
        &cluster.ok("get deployments -n shop --as alice"),
        "web    1/1",
    );
    let err = cluster.fails("rollout restart deployment/web -n shop --as alice");
    assert_eq!(err, format!("error: failed to patch: {forbidden}\n"));
    let can_i = cluster.kubectl(&[
        "auth",
        "can-i",
        "patch",
        "deployments.apps",
        "-n",
        "shop",
        "--as",
        "alice",
    ]);
    assert_eq!(String::from_utf8_lossy(&can_i.stdout), "no\n");
    cluster.fake.set_user("alice");
    let api: Api<Deployment> = Api::namespaced(client(&cluster.fake).await, "shop");
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: "now"}}}}});
    let result = api
        .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await;
    assert_eq!(
        api_error(result),
        (403, "Forbidden".to_owned(), forbidden.to_owned())
    );
    assert_eq!(
        cluster.fake.deployment("shop", "web").unwrap()["metadata"]["generation"],
        1
    );
}
