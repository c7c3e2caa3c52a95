//! Admission as a hardened cluster does it: Pod Security from namespace labels, and
//! ResourceQuotas that require requests and limits, with the apiserver's messages, through
//! kube-rs and the real kubectl.

mod fake_common;

use fake_common::{Cluster, api_error, assert_has, client};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use tests::FakeKube;

const ENFORCE: &str = "pod-security.kubernetes.io/enforce";

fn pod(spec: Value) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": "probe"}, "spec": spec})).unwrap()
}

async fn create(fake: &FakeKube, namespace: &str, spec: Value) -> kube::Result<Pod> {
    let api: Api<Pod> = Api::namespaced(client(fake).await, namespace);
    api.create(&PostParams::default(), &pod(spec)).await
}

/// A pod the restricted level admits: what the apiserver's message asks for.
fn restricted_spec() -> Value {
    json!({
        "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "app", "image": "app:1", "securityContext": {
            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
        }}],
    })
}

#[tokio::test]
async fn restricted_refuses_a_plain_pod_with_the_apiservers_message() {
    let fake = FakeKube::start();
    fake.add_namespace_with_labels("secure", &[(ENFORCE, "restricted")]);
    let plain = json!({"containers": [{"name": "app", "image": "app:1"}]});
    let (code, reason, message) = api_error(create(&fake, "secure", plain).await);
    assert_eq!((code, reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        message,
        "pods \"probe\" is forbidden: violates PodSecurity \"restricted:latest\": \
         allowPrivilegeEscalation != false (container \"app\" must set securityContext.allowPrivilegeEscalation=false), \
         unrestricted capabilities (container \"app\" must set securityContext.capabilities.drop=[\"ALL\"]), \
         runAsNonRoot != true (pod or container \"app\" must set securityContext.runAsNonRoot=true), \
         seccompProfile (pod or container \"app\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"
    );
    assert!(fake.pods().is_empty());
    create(&fake, "secure", restricted_spec()).await.unwrap();
}

#[tokio::test]
async fn restricted_names_init_containers_explicit_settings_and_volumes() {
    let fake = FakeKube::start();
    fake.add_namespace_with_labels(
        "secure",
        &[
            (ENFORCE, "restricted"),
            ("pod-security.kubernetes.io/enforce-version", "v1.30"),
        ],
    );
    let mut spec = restricted_spec();
    spec["securityContext"]["runAsUser"] = json!(0);
    spec["initContainers"] = json!([{"name": "init", "image": "init:1", "securityContext": {
        "runAsNonRoot": false, "allowPrivilegeEscalation": true,
        "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN", "NET_ADMIN"]},
        "seccompProfile": {"type": "Unconfined"},
    }}]);
    spec["volumes"] = json!([{"name": "host", "hostPath": {"path": "/etc"}}, {"name": "scratch"}]);
    let (_, _, message) = api_error(create(&fake, "secure", spec).await);
    assert_eq!(
        message,
        "pods \"probe\" is forbidden: violates PodSecurity \"restricted:v1.30\": \
         allowPrivilegeEscalation != false (container \"init\" must set securityContext.allowPrivilegeEscalation=false), \
         unrestricted capabilities (container \"init\" must not include \"NET_ADMIN\", \"SYS_ADMIN\" in securityContext.capabilities.add), \
         restricted volume types (volume \"host\" uses restricted volume type \"hostPath\"), \
         runAsNonRoot != true (container \"init\" must not set securityContext.runAsNonRoot=false), \
         runAsUser=0 (pod must not set runAsUser=0), \
         seccompProfile (container \"init\" must not set securityContext.seccompProfile.type to \"Unconfined\")"
    );
}

#[tokio::test]
async fn baseline_refuses_host_access_and_allows_the_rest() {
    let fake = FakeKube::start();
    fake.add_namespace_with_labels("base", &[(ENFORCE, "baseline")]);
    let spec = json!({
        "hostNetwork": true, "hostPID": true,
        "containers": [
            {"name": "app", "image": "app:1", "ports": [{"containerPort": 8080, "hostPort": 8080}, {"containerPort": 443, "hostPort": 443}],
             "securityContext": {"privileged": true, "capabilities": {"add": ["NET_ADMIN", "CHOWN"]}}},
            {"name": "side", "image": "side:1", "securityContext": {"privileged": true}},
        ],
        "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
    });
    let (_, _, message) = api_error(create(&fake, "base", spec).await);
    assert_eq!(
        message,
        "pods \"probe\" is forbidden: violates PodSecurity \"baseline:latest\": \
         non-default capabilities (container \"app\" must not include \"NET_ADMIN\" in securityContext.capabilities.add), \
         host namespaces (hostNetwork=true, hostPID=true), \
         hostPath volumes (volume \"host\"), \
         hostPort (container \"app\" uses hostPorts 443, 8080), \
         privileged (containers \"app\", \"side\" must not set securityContext.privileged=true)"
    );
    // Baseline does not ask for what restricted does.
    let plain = json!({"containers": [{"name": "app", "image": "app:1"}]});
    create(&fake, "base", plain).await.unwrap();
}

#[test]
fn kubectl_label_sets_the_level_and_warnings_reach_kubectl() {
    let cluster = Cluster::start();
    cluster.fake.add_namespace("team");
    let out = cluster.ok("label namespace team pod-security.kubernetes.io/enforce=baseline pod-security.kubernetes.io/warn=restricted");
    assert_eq!(out, "namespace/team labeled\n");
    let labels = &cluster.fake.namespace("team").unwrap()["metadata"]["labels"];
    assert_eq!(labels[ENFORCE], "baseline");

    // Baseline admits the pod; the warn level's findings come back as Warning headers.
    let stderr = cluster.kubectl_stderr("run w --image=app:1 --restart=Never -n team");
    assert_eq!(
        stderr,
        "Warning: would violate PodSecurity \"restricted:latest\": \
         allowPrivilegeEscalation != false (container \"w\" must set securityContext.allowPrivilegeEscalation=false), \
         unrestricted capabilities (container \"w\" must set securityContext.capabilities.drop=[\"ALL\"]), \
         runAsNonRoot != true (pod or container \"w\" must set securityContext.runAsNonRoot=true), \
         seccompProfile (pod or container \"w\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")\n"
    );

    cluster.ok("label namespace team pod-security.kubernetes.io/enforce=restricted --overwrite");
    let err = cluster.fails("run r --image=app:1 --restart=Never -n team");
    assert_has(
        &err,
        "Error from server (Forbidden): pods \"r\" is forbidden: violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false",
    );

    let err =
        cluster.fails("label namespace team pod-security.kubernetes.io/enforce=strict --overwrite");
    assert_eq!(
        err,
        "The Namespace \"team\" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"strict\": must be one of privileged, baseline, restricted\n"
    );
}

#[tokio::test]
async fn quotas_require_the_requests_and_limits_they_track() {
    let fake = FakeKube::start();
    fake.add_resource_quota(
        "shop",
        "compute",
        &["limits.cpu", "limits.memory", "requests.cpu", "pods"],
    );
    let spec = json!({
        "initContainers": [{"name": "init", "image": "init:1", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}],
        "containers": [
            {"name": "app", "image": "app:1", "resources": {"requests": {"cpu": "100m"}}},
            {"name": "side", "image": "side:1"},
        ],
    });
    let (code, reason, message) = api_error(create(&fake, "shop", spec).await);
    assert_eq!((code, reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        message,
        "pods \"probe\" is forbidden: failed quota: compute: must specify \
         limits.cpu for: app,side; limits.memory for: app,side; requests.cpu for: side"
    );
    // Limits alone will do: the apiserver defaults requests to them.
    let limited = json!({"containers": [{"name": "app", "image": "app:1", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]});
    let created = create(&fake, "shop", limited).await.unwrap();
    let requests = created.spec.unwrap().containers[0]
        .resources
        .clone()
        .unwrap()
        .requests
        .unwrap();
    assert_eq!(requests["cpu"].0, "1");
    assert_eq!(
        created.status.unwrap().qos_class.as_deref(),
        Some("Guaranteed")
    );
}

#[test]
fn kubectl_lists_quotas() {
    let cluster = Cluster::start();
    cluster
        .fake
        .add_resource_quota("shop", "compute", &["requests.cpu", "limits.memory"]);
    let out = cluster.ok("get quota -n shop");
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["NAME", "AGE", "REQUEST", "LIMIT"], "{out}");
    assert_eq!(lines[1][0], "compute");
    assert_eq!(
        lines[1][2..],
        ["requests.cpu:", "0/1k", "limits.memory:", "0/1Ti"],
        "{out}"
    );
}
