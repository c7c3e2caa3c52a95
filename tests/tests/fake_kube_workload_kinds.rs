//! StatefulSets and DaemonSets in the fake API server, scaling, the garbage collector, and
//! rollouts whose pods admission refuses, through the real kubectl.

mod fake_common;

use std::time::{Duration, Instant};

use fake_common::{Cluster, assert_has};
use serde_json::{Value, json};
use tests::FakeKube;

fn shop() -> Cluster {
    let cluster = Cluster::start();
    cluster.fake.add_service_account("shop", "cart", &[]);
    cluster
}

fn name(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap()
}

fn pods_of(fake: &FakeKube, prefix: &str) -> Vec<Value> {
    fake.pods()
        .into_iter()
        .filter(|p| name(p).starts_with(prefix))
        .collect()
}

/// Waits (up to 20 s) until `ready` holds.
#[track_caller]
fn wait(what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn uids(pods: &[Value]) -> Vec<String> {
    pods.iter()
        .map(|p| p["metadata"]["uid"].as_str().unwrap().to_owned())
        .collect()
}

/// The pods `db-0` .. `db-2` of StatefulSet `set`, at `revision`, with their identity.
fn check_stateful_pods(fake: &FakeKube, set: &Value, revision: &str) -> Vec<Value> {
    let pods = pods_of(fake, "db-");
    let names: Vec<&str> = pods.iter().map(name).collect();
    assert_eq!(names, ["db-0", "db-1", "db-2"]);
    for (i, pod) in pods.iter().enumerate() {
        let labels = &pod["metadata"]["labels"];
        assert_eq!(labels["controller-revision-hash"], revision);
        assert_eq!(labels["statefulset.kubernetes.io/pod-name"], name(pod));
        assert_eq!(labels["apps.kubernetes.io/pod-index"], i.to_string());
        assert_eq!(
            (
                pod["spec"]["hostname"].clone(),
                pod["spec"]["subdomain"].clone()
            ),
            (json!(name(pod)), json!("db"))
        );
        let owner = &pod["metadata"]["ownerReferences"][0];
        assert_eq!(
            (owner["kind"].clone(), owner["uid"].clone()),
            (json!("StatefulSet"), set["metadata"]["uid"].clone())
        );
    }
    pods
}

#[test]
fn stateful_sets_name_their_pods_by_ordinal_and_roll_them() {
    let cluster = shop();
    let set = cluster.fake.add_stateful_set("shop", "db", "cart", 3);
    let revision = set["status"]["updateRevision"].as_str().unwrap().to_owned();
    assert_eq!(set["status"]["currentRevision"], revision.as_str());
    assert_eq!(set["status"]["readyReplicas"], 3);
    let pods = check_stateful_pods(&cluster.fake, &set, &revision);
    let revisions = cluster.fake.controller_revisions("shop");
    assert_eq!(revisions.len(), 1);
    assert_eq!(name(&revisions[0]), revision);
    let hash = revision.strip_prefix("db-").unwrap();
    assert_eq!(
        revisions[0]["metadata"]["labels"]["controller.kubernetes.io/hash"],
        hash
    );
    assert_eq!(revisions[0]["revision"], 1);
    let before = uids(&pods);
    assert_eq!(
        cluster.ok("rollout restart statefulset/db -n shop"),
        "statefulset.apps/db restarted\n"
    );
    let status = cluster.ok("rollout status statefulset/db -n shop --timeout=20s");
    assert!(
        status.ends_with("partitioned roll out complete: 3 new pods have been updated...\n"),
        "{status}"
    );
    wait("the update revision is current", || {
        let set = cluster.fake.stateful_set("shop", "db").unwrap();
        set["status"]["currentRevision"] == set["status"]["updateRevision"]
    });
    let pods = pods_of(&cluster.fake, "db-");
    assert_eq!(
        pods.iter().map(name).collect::<Vec<_>>(),
        ["db-0", "db-1", "db-2"]
    );
    assert!(
        uids(&pods).iter().all(|uid| !before.contains(uid)),
        "every pod replaced"
    );
    let new_revision =
        cluster.fake.stateful_set("shop", "db").unwrap()["status"]["updateRevision"].clone();
    assert_ne!(new_revision, revision.as_str());
    assert!(
        pods.iter()
            .all(|p| p["metadata"]["labels"]["controller-revision-hash"] == new_revision)
    );
    let history = cluster.ok("rollout history statefulset/db -n shop");
    assert_eq!(
        history,
        "statefulset.apps/db \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n"
    );
    let events = cluster.ok("get events -n shop --field-selector involvedObject.kind=StatefulSet");
    assert_has(&events, "delete Pod db-2 in StatefulSet db successful");
    assert_has(&events, "create Pod db-0 in StatefulSet db successful");
}

#[test]
fn daemon_sets_pin_their_pod_to_the_node_and_replace_it() {
    let cluster = shop();
    let ds = cluster.fake.add_daemon_set("shop", "agent", "cart");
    assert_eq!(ds["status"]["desiredNumberScheduled"], 1);
    assert_eq!(ds["status"]["numberAvailable"], 1);
    let pods = pods_of(&cluster.fake, "agent-");
    assert_eq!(pods.len(), 1);
    let pod = &pods[0];
    assert_eq!(name(pod).len(), "agent-".len() + 5);
    let labels = &pod["metadata"]["labels"];
    assert_eq!(labels["pod-template-generation"], "1");
    let hash = labels["controller-revision-hash"].as_str().unwrap();
    assert_eq!(
        name(&cluster.fake.controller_revisions("shop")[0]),
        format!("agent-{hash}")
    );
    assert_eq!(
        pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"],
        json!({"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["fake-node"]}]}]})
    );
    assert_eq!(pod["spec"]["tolerations"].as_array().unwrap().len(), 6);
    assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "DaemonSet");
    assert_eq!(
        cluster.ok("rollout restart daemonset/agent -n shop"),
        "daemonset.apps/agent restarted\n"
    );
    let status = cluster.ok("rollout status daemonset/agent -n shop --timeout=20s");
    assert!(
        status.ends_with("daemon set \"agent\" successfully rolled out\n"),
        "{status}"
    );
    let after = pods_of(&cluster.fake, "agent-");
    assert_eq!(after.len(), 1);
    assert_ne!(name(&after[0]), name(pod));
    assert_eq!(
        after[0]["metadata"]["labels"]["pod-template-generation"],
        "2"
    );
    assert_ne!(
        after[0]["metadata"]["labels"]["controller-revision-hash"],
        hash
    );
}

#[test]
fn scaling_deleted_pods_and_the_garbage_collector() {
    let cluster = shop();
    cluster.fake.add_deployment("shop", "web", "cart", 1);
    assert_eq!(
        cluster.ok("scale deployment/web -n shop --replicas=3"),
        "deployment.apps/web scaled\n"
    );
    let status = cluster.ok("rollout status deployment/web -n shop --timeout=20s");
    assert!(
        status.ends_with("deployment \"web\" successfully rolled out\n"),
        "{status}"
    );
    assert_eq!(pods_of(&cluster.fake, "web-").len(), 3);
    let scale = cluster.json("get --raw /apis/apps/v1/namespaces/shop/deployments/web/scale");
    assert_eq!(scale["spec"]["replicas"], 3);
    assert_eq!(scale["status"]["selector"], "app=web");
    // A deleted pod of a ReplicaSet comes back under another name.
    let victim = name(&pods_of(&cluster.fake, "web-")[0]).to_owned();
    cluster.ok(&format!("delete pod {victim} -n shop"));
    let pods = pods_of(&cluster.fake, "web-");
    assert_eq!(pods.len(), 3);
    assert!(pods.iter().all(|p| name(p) != victim));
    // Deleting the Deployment takes its ReplicaSet and pods along; orphaning keeps them.
    cluster.fake.add_deployment("shop", "api", "cart", 1);
    assert_eq!(
        cluster.ok("delete deployment web -n shop"),
        "deployment.apps \"web\" deleted\n"
    );
    assert!(pods_of(&cluster.fake, "web-").is_empty());
    cluster.ok("delete deployment api -n shop --cascade=orphan");
    let sets = cluster.fake.replica_sets("shop");
    assert_eq!(sets.len(), 1);
    assert!(name(&sets[0]).starts_with("api-"));
    assert!(sets[0]["metadata"].get("ownerReferences").is_none());
    assert_eq!(pods_of(&cluster.fake, "api-").len(), 1);
}

#[test]
fn a_rollout_whose_pods_admission_refuses_keeps_the_old_pods() {
    let cluster = shop();
    cluster.fake.add_deployment("shop", "web", "cart", 2);
    let before = uids(&pods_of(&cluster.fake, "web-"));
    cluster.ok("delete serviceaccount cart -n shop");
    cluster.ok("rollout restart deployment/web -n shop");
    let events = cluster.ok("get events -n shop --field-selector reason=FailedCreate");
    let new_rs = cluster
        .fake
        .replica_sets("shop")
        .into_iter()
        .find(|rs| rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2")
        .unwrap();
    assert_has(
        &events,
        &format!(
            "Error creating: pods \"{}-\" is forbidden: error looking up service account shop/cart: serviceaccount \"cart\" not found",
            name(&new_rs)
        ),
    );
    assert_eq!(uids(&pods_of(&cluster.fake, "web-")), before);
    let d = cluster.fake.deployment("shop", "web").unwrap();
    let failure = d["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "ReplicaFailure")
        .unwrap();
    assert_eq!(
        (failure["status"].clone(), failure["reason"].clone()),
        (json!("True"), json!("FailedCreate"))
    );
    // Once the ServiceAccount exists again, the ReplicaSet's retry goes through.
    cluster.ok("create serviceaccount cart -n shop");
    let status = cluster.ok("rollout status deployment/web -n shop --timeout=20s");
    assert!(
        status.ends_with("deployment \"web\" successfully rolled out\n"),
        "{status}"
    );
    let pods = pods_of(&cluster.fake, &format!("{}-", name(&new_rs)));
    assert_eq!(pods.len(), 2);
    let d = cluster.fake.deployment("shop", "web").unwrap();
    assert!(
        !d["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "ReplicaFailure")
    );
}

#[test]
fn pod_security_warns_about_templates_and_refuses_their_pods() {
    let cluster = Cluster::start();
    cluster.fake.add_namespace_with_labels(
        "secure",
        &[("pod-security.kubernetes.io/enforce", "restricted")],
    );
    let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: secure}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: app, image: app:1}]\n";
    let file = cluster.dir.path().join("web.yaml");
    std::fs::write(&file, manifest).unwrap();
    // Without an OpenAPI document kubectl cannot validate client-side: --validate=false.
    let output = cluster.kubectl(&["apply", "--validate=false", "-f", file.to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "deployment.apps/web created\n"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("Warning: would violate PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false (container \"app\""),
        "{stderr}"
    );
    let events = cluster.ok("get events -n secure --field-selector reason=FailedCreate");
    assert_has(
        &events,
        "is forbidden: violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false",
    );
    assert!(cluster.fake.pods().is_empty());
    assert_has(
        &cluster.ok("get deployment web -n secure"),
        "web    0/1     0            0",
    );
}
