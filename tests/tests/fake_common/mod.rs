//! Helpers shared by the fake API server's tests: the real `kubectl` against a fake, a kube-rs
//! client for it, and waiting for the fake's state.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Value, json};
use tests::FakeKube;

/// A fake, a kubeconfig for it, and an empty HOME (kubectl caches discovery there).
pub struct Cluster {
    pub fake: FakeKube,
    pub kubeconfig: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Cluster {
    pub fn start() -> Self {
        let fake = FakeKube::start();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = fake.write_kubeconfig(dir.path());
        Self {
            fake,
            kubeconfig,
            dir,
        }
    }

    /// Runs `kubectl --kubeconfig K ARGS` with a clean environment.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new("kubectl")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .expect("run kubectl")
    }

    /// Runs kubectl with `line`'s words, asserting success; returns stdout.
    pub fn ok(&self, line: &str) -> String {
        self.ok_args(&line.split_whitespace().collect::<Vec<_>>())
    }

    /// Runs kubectl, asserting success; returns stdout.
    pub fn ok_args(&self, args: &[&str]) -> String {
        let output = self.kubectl(args);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}\nstdout: {stdout}\nstderr: {stderr}\nrequests: {:#?}",
            output.status,
            self.fake
                .requests()
                .iter()
                .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
                .collect::<Vec<_>>()
        );
        stdout
    }

    /// Runs kubectl with `line`'s words, asserting success; returns stderr.
    pub fn kubectl_stderr(&self, line: &str) -> String {
        let output = self.kubectl(&line.split_whitespace().collect::<Vec<_>>());
        assert!(output.status.success(), "kubectl {line} failed");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// Runs kubectl with `line`'s words, asserting failure; returns stderr.
    pub fn fails(&self, line: &str) -> String {
        self.fails_args(&line.split_whitespace().collect::<Vec<_>>())
    }

    /// Runs kubectl, asserting failure; returns stderr.
    pub fn fails_args(&self, args: &[&str]) -> String {
        let output = self.kubectl(args);
        assert!(!output.status.success(), "kubectl {args:?} succeeded");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    pub fn json(&self, line: &str) -> Value {
        serde_json::from_str(&self.ok(line)).expect("kubectl printed JSON")
    }
}

/// Asserts that `text` contains `part`.
#[track_caller]
pub fn assert_has(text: &str, part: &str) {
    assert!(text.contains(part), "{part:?} not in:\n{text}");
}

/// A kube-rs client for the fake, through the kubeconfig it writes.
pub async fn client(fake: &FakeKube) -> Client {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = Kubeconfig::read_from(fake.write_kubeconfig(dir.path())).unwrap();
    let options = KubeConfigOptions::default();
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

/// The API error's code, reason and message.
pub fn api_error<T: std::fmt::Debug>(result: kube::Result<T>) -> (u16, String, String) {
    match result.unwrap_err() {
        kube::Error::Api(status) => (status.code, status.reason.clone(), status.message.clone()),
        other => panic!("not an API error: {other:?}"),
    }
}

/// Waits (up to 10 s) until `ready` holds for the stored pod; returns the pod.
#[track_caller]
pub fn wait_for_pod(
    fake: &FakeKube,
    namespace: &str,
    name: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(pod) = fake.pod(namespace, name)
            && ready(&pod)
        {
            return pod;
        }
        assert!(
            Instant::now() < deadline,
            "pod {namespace}/{name} never got there: {:#}",
            fake.pod(namespace, name).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The status of container `name` (or init container) of a pod.
pub fn container_status<'a>(pod: &'a Value, name: &str) -> &'a Value {
    ["containerStatuses", "initContainerStatuses"]
        .iter()
        .flat_map(|l| pod["status"][l].as_array().into_iter().flatten())
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no status for container {name}: {pod:#}"))
}

/// Creates pod `name` with `spec` through kube-rs; returns it as the API answered.
pub async fn create_pod(fake: &FakeKube, namespace: &str, name: &str, spec: Value) -> Pod {
    let api: Api<Pod> = Api::namespaced(client(fake).await, namespace);
    let pod = json!({"metadata": {"name": name}, "spec": spec});
    let pod: Pod = serde_json::from_value(pod).unwrap();
    api.create(&PostParams::default(), &pod).await.unwrap()
}

/// A pod spec with container `app` running `image`, never restarted.
pub fn app(image: &str) -> Value {
    json!({"restartPolicy": "Never", "containers": [{"name": "app", "image": image}]})
}

/// The waiting reason of a container, or `""`.
pub fn waiting_reason(pod: &Value, container: &str) -> String {
    container_status(pod, container)["state"]["waiting"]["reason"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// The pod condition of type `kind`.
pub fn condition<'a>(pod: &'a Value, kind: &str) -> &'a Value {
    pod["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == kind)
        .unwrap()
}

/// The events about pod `name`: `(type, reason, message, count)`.
pub fn pod_events(fake: &FakeKube, name: &str) -> Vec<(String, String, String, i64)> {
    fake.events()
        .into_iter()
        .filter(|e| e["involvedObject"]["name"] == name)
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("").to_owned();
            (
                s("type"),
                s("reason"),
                s("message"),
                e["count"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}
