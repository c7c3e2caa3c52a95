//! The EKS pod identity webhook as the fake calls it: web identity, EKS Pod Identity
//! associations, the webhook's region, variables already set, skipped containers, and the
//! order and reinvocation of mutating webhooks beside a sidecar injector.

mod fake_common;

use fake_common::client;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use tests::FakeKube;
use tests::fake_kube::{SIDECAR_IMAGE, SIDECAR_UID};

const ROLE: &str = "arn:aws:iam::123456789012:role/cart";
const TOKEN_FILE: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";

/// A fake with the webhook and ServiceAccount shop/cart bound to [`ROLE`].
fn bound(annotations: &[(&str, &str)]) -> FakeKube {
    let fake = FakeKube::start();
    fake.preload_pod_identity_webhook();
    let mut all = vec![("eks.amazonaws.com/role-arn", ROLE)];
    all.extend_from_slice(annotations);
    fake.add_service_account("shop", "cart", &all);
    fake
}

async fn create(fake: &FakeKube, pod: Value) -> Value {
    let api: Api<Pod> = Api::namespaced(client(fake).await, "shop");
    let pod: Pod = serde_json::from_value(pod).unwrap();
    let created = api.create(&PostParams::default(), &pod).await.unwrap();
    serde_json::to_value(created).unwrap()
}

fn pod(containers: Value) -> Value {
    json!({"metadata": {"name": "p"}, "spec": {"serviceAccountName": "cart", "containers": containers}})
}

/// `(name, value)` of a container's environment.
fn env(pod: &Value, list: &str, index: usize) -> Vec<(String, String)> {
    pod["spec"][list][index]["env"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["value"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn web_identity_with_the_webhooks_region_and_go_bools() {
    let fake = bound(&[
        ("eks.amazonaws.com/sts-regional-endpoints", "True"),
        ("eks.amazonaws.com/token-expiration", "100"),
    ]);
    fake.set_webhook_region(Some("eu-west-1"));
    let containers = json!([
        {"name": "app", "image": "app:1"},
        {"name": "regional", "image": "app:1", "env": [{"name": "AWS_REGION", "value": "us-east-2"}]},
    ]);
    let mut spec = pod(containers);
    spec["spec"]["volumes"] = json!([{"name": "scratch", "emptyDir": {}}]);
    let created = create(&fake, spec).await;
    assert_eq!(
        env(&created, "containers", 0),
        pairs(&[
            ("AWS_STS_REGIONAL_ENDPOINTS", "regional"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ROLE_ARN", ROLE),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", TOKEN_FILE),
        ])
    );
    assert_eq!(
        env(&created, "containers", 1),
        pairs(&[
            ("AWS_REGION", "us-east-2"),
            ("AWS_STS_REGIONAL_ENDPOINTS", "regional"),
            ("AWS_ROLE_ARN", ROLE),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", TOKEN_FILE),
        ])
    );
    // The token volume is added first, with the floor of 600 seconds.
    assert_eq!(
        created["spec"]["volumes"][0],
        json!({"name": "aws-iam-token", "projected": {"sources": [{"serviceAccountToken": {"audience": "sts.amazonaws.com", "expirationSeconds": 600, "path": "token"}}], "defaultMode": 420}})
    );
    assert_eq!(created["spec"]["volumes"][1]["name"], "scratch");
}

#[tokio::test]
async fn variables_already_set_and_skipped_containers_are_left_alone() {
    let fake = bound(&[]);
    let mut spec = pod(json!([
        {"name": "app", "image": "app:1", "env": [{"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/mine"}]},
        {"name": "skipped", "image": "app:1"},
    ]));
    spec["metadata"]["annotations"] = json!({"eks.amazonaws.com/skip-containers": "skipped"});
    spec["spec"]["initContainers"] = json!([{"name": "init", "image": "init:1"}]);
    let created = create(&fake, spec).await;
    // One of the pair is set: neither is added, but the token is mounted.
    assert_eq!(
        env(&created, "containers", 0),
        pairs(&[("AWS_WEB_IDENTITY_TOKEN_FILE", "/mine")])
    );
    // After the ServiceAccount admission plugin's API token mount.
    let api_token = created["spec"]["volumes"][1]["name"].as_str().unwrap();
    assert!(api_token.starts_with("kube-api-access-"), "{api_token}");
    assert_eq!(
        created["spec"]["volumes"][1]["projected"]["sources"][0],
        json!({"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}})
    );
    let api_mount = json!({"name": api_token, "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"});
    assert_eq!(
        created["spec"]["containers"][0]["volumeMounts"],
        json!([api_mount, {"name": "aws-iam-token", "readOnly": true, "mountPath": "/var/run/secrets/eks.amazonaws.com/serviceaccount"}])
    );
    assert!(created["spec"]["containers"][1]["env"].is_null());
    assert_eq!(
        created["spec"]["containers"][1]["volumeMounts"],
        json!([api_mount])
    );
    assert_eq!(
        env(&created, "initContainers", 0),
        pairs(&[
            ("AWS_ROLE_ARN", ROLE),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", TOKEN_FILE)
        ])
    );
    // The webhook's object selector skips labelled pods.
    let mut skipped = pod(json!([{"name": "app", "image": "app:1"}]));
    skipped["metadata"]["name"] = json!("q");
    skipped["metadata"]["labels"] = json!({"eks.amazonaws.com/skip-pod-identity-webhook": "true"});
    let created = create(&fake, skipped).await;
    assert!(created["spec"]["containers"][0]["env"].is_null());
}

#[tokio::test]
async fn a_pod_identity_association_injects_container_credentials_instead() {
    let fake = bound(&[]);
    fake.add_pod_identity_association("shop", "cart", "arn:aws:iam::123456789012:role/assoc");
    let created = create(&fake, pod(json!([{"name": "app", "image": "app:1"}]))).await;
    let token = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token";
    assert_eq!(
        env(&created, "containers", 0),
        pairs(&[
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://169.254.170.23/v1/credentials"
            ),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token),
        ])
    );
    assert_eq!(
        created["metadata"]["labels"]["eks.amazonaws.com/pod-identity"],
        "enabled"
    );
    let volume = &created["spec"]["volumes"][0];
    assert_eq!(volume["name"], "eks-pod-identity-token");
    let projection = &volume["projected"]["sources"][0]["serviceAccountToken"];
    assert_eq!(projection["audience"], "pods.eks.amazonaws.com");
    assert_eq!(projection["path"], "eks-pod-identity-token");
    // The default lifetime gets the webhook's jitter.
    let seconds = projection["expirationSeconds"].as_i64().unwrap();
    assert!((79_200..=86_400).contains(&seconds), "{seconds}");
    assert_eq!(
        created["spec"]["containers"][0]["volumeMounts"][1]["mountPath"],
        "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"
    );
}

#[tokio::test]
async fn an_injected_sidecar_runs_before_the_pod_identity_webhook_is_reinvoked() {
    let fake = bound(&[]);
    fake.add_sidecar_injector(Some("shop"), "istio-proxy");
    let created = create(&fake, pod(json!([{"name": "app", "image": "app:1"}]))).await;
    let sidecar = &created["spec"]["containers"][1];
    assert_eq!(sidecar["name"], "istio-proxy");
    assert_eq!(sidecar["image"], SIDECAR_IMAGE);
    assert_eq!(sidecar["securityContext"]["runAsUser"], SIDECAR_UID);
    // "istio-proxy-sidecar-injector" sorts after "pod-identity-webhook", whose
    // reinvocationPolicy IfNeeded has it called again: the sidecar gets the variables too.
    assert_eq!(
        env(&created, "containers", 1),
        pairs(&[
            ("AWS_ROLE_ARN", ROLE),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", TOKEN_FILE)
        ])
    );

    // Without the pod identity webhook, or with the sidecar skipped, it has none.
    let mut skipped = pod(json!([{"name": "app", "image": "app:1"}]));
    skipped["metadata"]["name"] = json!("q");
    skipped["metadata"]["annotations"] =
        json!({"eks.amazonaws.com/skip-containers": "istio-proxy"});
    let created = create(&fake, skipped).await;
    assert!(created["spec"]["containers"][1]["env"].is_null());
    assert!(!env(&created, "containers", 0).is_empty());
}

#[tokio::test]
async fn injectors_are_listed_and_keep_to_their_namespace() {
    let fake = FakeKube::start();
    fake.add_service_account("shop", "cart", &[]);
    fake.add_namespace("other");
    fake.add_native_sidecar_injector(Some("shop"), "vault-agent");
    let created = create(&fake, pod(json!([{"name": "app", "image": "app:1"}]))).await;
    let init = &created["spec"]["initContainers"][0];
    assert_eq!(
        (init["name"].as_str(), init["restartPolicy"].as_str()),
        (Some("vault-agent"), Some("Always"))
    );
    assert!(init["env"].is_null());
    let api: Api<Pod> = Api::namespaced(client(&fake).await, "other");
    let other: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {"automountServiceAccountToken": false, "containers": [{"name": "app", "image": "app:1"}]}})).unwrap();
    let created = api.create(&PostParams::default(), &other).await.unwrap();
    let spec = created.spec.unwrap();
    assert!(spec.init_containers.is_none());
    // No API token either: the pod opted out.
    assert!(spec.volumes.is_none() && spec.containers[0].volume_mounts.is_none());
    let api: Api<k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration> =
        Api::all(client(&fake).await);
    let config = api.get("vault-agent-sidecar-injector").await.unwrap();
    let hook = &config.webhooks.unwrap()[0];
    assert_eq!(hook.reinvocation_policy.as_deref(), Some("Never"));
}
