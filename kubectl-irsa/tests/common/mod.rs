//! A fake cluster and the plugin binary run against it with a temporary kubeconfig.

#![allow(dead_code)] // each test file uses a different part

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;
use tests::fake_kube::{FakeKube, LoggedRequest};

pub const ROLE: &str = "arn:aws:iam::123456789012:role/cart";

pub struct Cluster {
    pub fake: FakeKube,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

impl Cluster {
    pub fn start() -> Cluster {
        let fake = FakeKube::start();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = fake.write_kubeconfig(dir.path());
        Cluster {
            fake,
            dir,
            kubeconfig,
        }
    }

    /// A cluster with ServiceAccount shop/cart bound to [`ROLE`].
    pub fn bound() -> Cluster {
        let cluster = Cluster::start();
        cluster
            .fake
            .add_service_account("shop", "cart", &[("eks.amazonaws.com/role-arn", ROLE)]);
        cluster
    }

    /// `kubectl-irsa ARGS` with only this cluster's kubeconfig in its environment.
    pub fn plugin(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kubectl-irsa"));
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("KUBECONFIG", &self.kubeconfig)
            .args(args);
        command
    }

    /// The real `kubectl` with only this cluster's kubeconfig in its environment, and
    /// `plugin_dir` (where kubectl looks for plugins) first on PATH.
    pub fn kubectl(&self, plugin_dir: Option<&std::path::Path>) -> Command {
        let system = std::env::var_os("PATH").unwrap_or_default();
        let path = std::env::join_paths(
            plugin_dir
                .map(std::path::Path::to_path_buf)
                .into_iter()
                .chain(std::env::split_paths(&system)),
        )
        .unwrap();
        let mut command = Command::new("kubectl");
        command
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("KUBECONFIG", &self.kubeconfig);
        command
    }

    /// The real `kubectl ARGS` (plugins looked up in `plugin_dir` first); asserts it succeeds
    /// and returns its stdout.
    pub fn kubectl_ok(&self, plugin_dir: Option<&std::path::Path>, args: &[&str]) -> String {
        let run = Run::from(self.kubectl(plugin_dir).args(args).output().unwrap());
        run.ok().stdout.clone()
    }

    /// Runs pod `name` of shop/cart through admission (`kubectl run`, so the cluster's webhooks
    /// see it), and waits until it runs.
    pub fn run_pod(&self, name: &str) {
        let overrides = r#"{"spec":{"serviceAccountName":"cart"}}"#;
        let args = [
            "run",
            name,
            "-n",
            "shop",
            "--image=app",
            "--overrides",
            overrides,
        ];
        self.kubectl_ok(None, &args);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.fake.pod("shop", name).unwrap()["status"]["phase"] != "Running" {
            assert!(std::time::Instant::now() < deadline, "pod/{name} never ran");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.plugin(args).stdin(Stdio::null()).output().unwrap())
    }

    /// The requests that changed something (create, patch, update, delete).
    pub fn writes(&self) -> Vec<LoggedRequest> {
        self.fake
            .requests()
            .into_iter()
            .filter(|r| !matches!(r.method.as_str(), "GET" | "HEAD"))
            .collect()
    }

    pub fn annotations(&self, namespace: &str, name: &str) -> serde_json::Value {
        let account = self
            .fake
            .service_account(namespace, name)
            .expect("the ServiceAccount exists");
        account["metadata"]["annotations"].clone()
    }
}

#[allow(unused_imports)] // each test file uses a different part
pub use tests::run::{Run, with_stdin};

/// The repository's root.
pub fn repo() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .into()
}

/// A file of the repository, by its path from the root.
pub fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The value of env variable `name` in a container (as JSON), when it is set.
pub fn env(container: &Value, name: &str) -> Option<String> {
    container["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)?["value"]
        .as_str()
        .map(String::from)
}

/// The statement that lets `sub` of the issuer at `hostpath` assume a role of account
/// 123456789012, as eksctl writes it: a pattern under StringLike, the audience always exact.
pub fn web_identity_statement(hostpath: &str, sub: &str) -> Value {
    let (sub_key, aud_key) = (format!("{hostpath}:sub"), format!("{hostpath}:aud"));
    let condition = if sub.contains(['*', '?']) {
        serde_json::json!({
            "StringLike": { sub_key: sub },
            "StringEquals": { aud_key: "sts.amazonaws.com" },
        })
    } else {
        serde_json::json!({ "StringEquals": { sub_key: sub, aud_key: "sts.amazonaws.com" } })
    };
    serde_json::json!({
        "Effect": "Allow",
        "Principal": { "Federated": format!("arn:aws:iam::123456789012:oidc-provider/{hostpath}") },
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": condition,
    })
}

/// A trust policy document of `statements`.
pub fn trust_policy(statements: Vec<Value>) -> Value {
    serde_json::json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The Kubernetes version the manifests are checked against (k8s-openapi's `v1_33`).
pub const KUBERNETES_VERSION: &str = "1.33.0";

/// Checks `objects` against the real Kubernetes OpenAPI schemas with kubernetes-validate
/// (from PyPI, in the test venv), strictly: an unknown field fails too.
pub fn kubernetes_validate(objects: &[Value]) {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = objects
        .iter()
        .enumerate()
        .map(|(index, object)| {
            let path = dir.path().join(format!("object-{index}.json"));
            std::fs::write(&path, object.to_string()).unwrap();
            path
        })
        .collect();
    let output = Command::new(tests::venv_bin("kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "kubernetes-validate refused:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
