//! `inject --serve`: the helper as a native sidecar. The shape of the pod it writes, and the
//! sidecar's own command and startupProbe run for real against the fault STS, with the app's
//! env then fetching credentials from it.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Cluster, ROLE, Run, env};
use serde_json::{Value, json};
use tests::FakeSts;

const IMAGE: &str = "registry.example.com/irsa-credential-process:0.1.0";
const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: cart, namespace: shop}\nspec:\n  selector: {matchLabels: {app: cart}}\n  template:\n    metadata: {labels: {app: cart}}\n    spec:\n      serviceAccountName: cart\n      initContainers: [{name: migrate, image: migrate}]\n      containers:\n      - name: app\n        image: app\n        securityContext: {runAsUser: 1000, runAsGroup: 3000}\n";

fn inject(cluster: &Cluster, args: &[&str], stdin: &str) -> Run {
    common::with_stdin(
        cluster.plugin(&[&["inject", "-f", "-", "--role-arn", ROLE], args].concat()),
        stdin,
    )
}

fn pod_spec(yaml: &str) -> Value {
    let document: Value = serde_norway::from_str(yaml).unwrap();
    document["spec"]["template"]["spec"].clone()
}

fn mounts(container: &Value) -> Vec<String> {
    container["volumeMounts"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|m| m["mountPath"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_sidecar_holds_the_token_and_the_app_gets_the_endpoint() {
    let cluster = Cluster::start();
    let run = inject(&cluster, &["--serve", IMAGE], DEPLOYMENT);
    let yaml = run.ok().stdout.clone();
    assert!(
        !run.stderr.contains("runAsUser"),
        "the app names its user: {}",
        run.stderr
    );
    let spec = pod_spec(&yaml);
    common::kubernetes_validate(&[serde_norway::from_str(&yaml).unwrap()]);

    let sidecar = &spec["initContainers"][0];
    assert_eq!(
        sidecar["name"], "irsa-credentials",
        "first, so init containers have it too"
    );
    assert_eq!(sidecar["image"], IMAGE);
    assert_eq!(sidecar["restartPolicy"], "Always", "a native sidecar");
    assert_eq!(
        strings(&sidecar["args"]),
        [
            "serve",
            "--port",
            "9121",
            "--auth-token-file",
            "/var/run/irsa/auth-token"
        ]
    );
    assert_eq!(env(sidecar, "AWS_ROLE_ARN").as_deref(), Some(ROLE));
    assert!(mounts(sidecar).contains(&"/var/run/secrets/eks.amazonaws.com/serviceaccount".into()));
    assert!(mounts(sidecar).contains(&"/var/run/irsa".into()));
    assert_eq!(
        sidecar["securityContext"]["runAsUser"], 1000,
        "the app's user reads the 0600 token"
    );
    assert_eq!(sidecar["securityContext"]["runAsGroup"], 3000);
    assert_eq!(sidecar["securityContext"]["readOnlyRootFilesystem"], true);

    for app in [&spec["initContainers"][1], &spec["containers"][0]] {
        assert_eq!(
            env(app, "AWS_CONTAINER_CREDENTIALS_FULL_URI").as_deref(),
            Some("http://127.0.0.1:9121/v1/credentials"),
            "{app}"
        );
        assert_eq!(
            env(app, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").as_deref(),
            Some("/var/run/irsa/auth-token")
        );
        assert_eq!(
            env(app, "AWS_ROLE_ARN"),
            None,
            "the app does not see the role's token"
        );
        assert_eq!(mounts(app), ["/var/run/irsa"]);
        assert_eq!(app["volumeMounts"][0]["readOnly"], true);
    }
    let volumes: Vec<&str> = spec["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(volumes, ["aws-iam-token", "irsa-serve"]);
    assert_eq!(spec["volumes"][1]["emptyDir"]["medium"], "Memory");

    let document: Value = serde_norway::from_str(&yaml).unwrap();
    assert_eq!(
        document["spec"]["template"]["metadata"]["annotations"]["eks.amazonaws.com/skip-containers"],
        "migrate,app",
        "where the EKS webhook runs, it must not hand the app the token"
    );

    let again = inject(&cluster, &["--serve", IMAGE], &yaml);
    assert_eq!(again.ok().stdout, yaml, "injecting twice changes nothing");
}

#[test]
fn serve_after_a_plain_inject_takes_the_token_away_from_the_app() {
    let cluster = Cluster::start();
    let plain = inject(&cluster, &[], DEPLOYMENT);
    let served = inject(&cluster, &["--serve", IMAGE], &plain.ok().stdout);
    let spec = pod_spec(&served.ok().stdout);
    let app = &spec["containers"][0];
    assert_eq!(env(app, "AWS_ROLE_ARN"), None);
    assert_eq!(env(app, "AWS_WEB_IDENTITY_TOKEN_FILE"), None);
    assert_eq!(mounts(app), ["/var/run/irsa"]);
    assert!(env(app, "AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some());
    assert_eq!(
        env(&spec["initContainers"][0], "AWS_ROLE_ARN").as_deref(),
        Some(ROLE)
    );
}

#[test]
fn a_root_app_does_not_make_the_sidecar_root() {
    let cluster = Cluster::start();
    let root = DEPLOYMENT.replace("runAsUser: 1000, runAsGroup: 3000", "runAsUser: 0");
    let spec = pod_spec(&inject(&cluster, &["--serve", IMAGE], &root).ok().stdout);
    let security = &spec["initContainers"][0]["securityContext"];
    assert_eq!(
        security["runAsUser"],
        Value::Null,
        "runAsNonRoot would refuse uid 0"
    );
    assert_eq!(security["runAsNonRoot"], true);
}

#[test]
fn a_pod_without_a_user_gets_a_note() {
    let cluster = Cluster::start();
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: app, namespace: shop}\nspec:\n  serviceAccountName: cart\n  containers: [{name: app, image: app}]\n";
    let run = inject(&cluster, &["--serve", IMAGE], pod);
    run.ok();
    assert!(
        run.stderr.contains("Note: Pod/app: no runAsUser"),
        "{}",
        run.stderr
    );
    let with_pod_user = pod.replace("spec:\n", "spec:\n  securityContext: {runAsUser: 1000}\n");
    let run = inject(&cluster, &["--serve", IMAGE], &with_pod_user);
    assert!(!run.ok().stderr.contains("runAsUser"), "{}", run.stderr);
}

#[test]
fn bad_serve_flags_are_refused() {
    let cluster = Cluster::start();
    inject(&cluster, &["--serve", " "], DEPLOYMENT).fails(2, "--serve needs the image");
    inject(
        &cluster,
        &["--serve", IMAGE, "--serve-port", "0"],
        DEPLOYMENT,
    )
    .fails(2, "--serve-port 0");
    let both = inject(
        &cluster,
        &["--serve", IMAGE, "--credential-process"],
        DEPLOYMENT,
    );
    assert_eq!(both.code, 2, "{}", both.stderr);
    assert!(
        both.stderr.contains("cannot be used with"),
        "{}",
        both.stderr
    );
    let secret = ["--serve-token-secret", "Bad_Name"];
    inject(
        &cluster,
        &[&["--serve", IMAGE][..], &secret].concat(),
        DEPLOYMENT,
    )
    .fails(2, "invalid Secret name \"Bad_Name\"");
    let alone = inject(&cluster, &["--serve-token-secret", "token"], DEPLOYMENT);
    assert_eq!(alone.code, 2, "{}", alone.stderr);
    assert!(alone.stderr.contains("--serve <IMAGE>"), "{}", alone.stderr);
}

/// A free port on 127.0.0.1.
fn free_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port().to_string()
}

/// A manifest's path as it is in the temporary directory that stands for the pod.
fn moved(dir: &Path, text: &str) -> String {
    text.replace("/var/run/irsa", dir.to_str().unwrap())
        .replace("/irsa-credential-process", helper().to_str().unwrap())
}

/// Runs the sidecar's command here as written in the manifest (paths moved into `dir`), with
/// the ServiceAccount token the kubelet would project and `sts` as STS, until its own
/// startupProbe passes (which fails before).
fn run_sidecar(sidecar: &Value, dir: &Path, sts: &FakeSts) -> KillOnDrop {
    let token = dir.join("token");
    let jwt = "header.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6c2hvcDpjYXJ0In0.sig";
    std::fs::write(&token, jwt).unwrap();
    let sidecar_env = |command: &mut Command| {
        command
            .env_clear()
            .env("AWS_ROLE_ARN", env(sidecar, "AWS_ROLE_ARN").unwrap())
            .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token)
            .env("AWS_ENDPOINT_URL_STS", sts.url())
            .env("AWS_REGION", "us-west-2")
            .env("HOSTNAME", "cart-7d9f-abcde");
    };
    let probe_argv: Vec<String> = strings(&sidecar["startupProbe"]["exec"]["command"])
        .iter()
        .map(|word| moved(dir, word))
        .collect();
    let probe = || {
        let mut command = Command::new(&probe_argv[0]);
        command.args(&probe_argv[1..]);
        sidecar_env(&mut command);
        command.output().unwrap()
    };
    let before = probe();
    assert!(!before.status.success(), "ready before the sidecar runs");
    assert!(String::from_utf8_lossy(&before.stderr).contains("not ready"));

    let mut server = Command::new(helper());
    server
        .args(
            strings(&sidecar["args"])
                .iter()
                .map(|word| moved(dir, word)),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    sidecar_env(&mut server);
    let mut server = KillOnDrop(server.spawn().unwrap());
    let start = Instant::now();
    while !probe().status.success() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the startupProbe never passed"
        );
        assert!(server.0.try_wait().unwrap().is_none(), "the sidecar exited");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// The sidecar's command and startupProbe, run here as written in the manifest, then the
/// app's env used to fetch the credentials.
#[test]
fn the_sidecar_command_serves_what_the_app_env_asks_for() {
    let port = free_port();
    let cluster = Cluster::start();
    let run = inject(
        &cluster,
        &["--serve", IMAGE, "--serve-port", &port],
        DEPLOYMENT,
    );
    let spec = pod_spec(&run.ok().stdout);
    let app = &spec["containers"][0];
    let dir = tempfile::tempdir().unwrap();
    let sts = FakeSts::start(vec![]);
    let _server = run_sidecar(&spec["initContainers"][0], dir.path(), &sts);

    let url = env(app, "AWS_CONTAINER_CREDENTIALS_FULL_URI").unwrap();
    let token_file = moved(
        dir.path(),
        &env(app, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").unwrap(),
    );
    let auth = std::fs::read_to_string(token_file).unwrap();
    let mut response = ureq::get(&url)
        .header("Authorization", auth.trim())
        .call()
        .unwrap();
    let body: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(body["AccessKeyId"], sts.issued()[0].access_key_id.as_str());
    assert_eq!(sts.requests()[0].role_arn, ROLE);
}

/// With --serve-token-secret the app gets the token's value, which SDKs from before the token
/// file (late 2023) read: botocore, from the test venv, takes it with the endpoint alone.
#[test]
fn a_token_secret_reaches_sdks_that_read_only_the_value() {
    let port = free_port();
    let cluster = Cluster::start();
    let secret = ["--serve-token-secret", "cart-serve-token"];
    let args = [&["--serve", IMAGE, "--serve-port", &port][..], &secret].concat();
    let run = inject(&cluster, &args, DEPLOYMENT);
    let yaml = run.ok().stdout.clone();
    common::kubernetes_validate(&[serde_norway::from_str(&yaml).unwrap()]);
    let spec = pod_spec(&yaml);
    let url = format!("http://127.0.0.1:{port}/v1/credentials");
    let secret_ref = json!({"secretKeyRef": {"name": "cart-serve-token", "key": "token"}});
    // Only the value: SDKs differ on which of the value and the file wins.
    assert_eq!(
        spec["containers"][0],
        json!({"name": "app", "image": "app",
        "securityContext": {"runAsUser": 1000, "runAsGroup": 3000},
        "env": [
            {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": url},
            {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN", "valueFrom": secret_ref},
        ]})
    );
    assert_eq!(
        spec["volumes"][1],
        json!({"name": "irsa-serve", "secret": {"secretName": "cart-serve-token",
            "items": [{"key": "token", "path": "auth-token"}]}})
    );

    // The kubelet mounts the Secret's token where serve's --auth-token-file points.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("auth-token"),
        "0123456789abcdef0123456789abcdef",
    )
    .unwrap();
    let sts = FakeSts::start(vec![]);
    let _server = run_sidecar(&spec["initContainers"][0], dir.path(), &sts);
    let script = "import botocore.session, json; \
        c = botocore.session.get_session().get_credentials(); \
        print(json.dumps(dict(method=c.method, key=c.get_frozen_credentials().access_key)))";
    let boto = |token: &str| {
        Command::new(tests::venv_bin("python"))
            .args(["-c", script])
            .env_clear()
            .env("HOME", dir.path())
            .env("AWS_CONFIG_FILE", dir.path().join("no-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                dir.path().join("no-credentials"),
            )
            .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", &url)
            .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)
            .output()
            .unwrap()
    };
    let output = boto("0123456789abcdef0123456789abcdef");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();
    let key = sts.issued()[0].access_key_id.clone();
    assert_eq!(seen, json!({"method": "container-role", "key": key}));
    let refused = boto("another-token");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "a wrong token is refused");
    assert!(stderr.contains("403"), "refused by serve: {stderr}");
}

fn helper() -> std::path::PathBuf {
    let path = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("irsa-credential-process");
    assert!(
        path.is_file(),
        "{} is missing: `cargo test --workspace` builds it",
        path.display()
    );
    path
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A pod that Pod Security `restricted` admits is still admitted once injected, with and
/// without --serve (the fake enforces restricted as the apiserver does), and the output
/// validates against the real schema.
#[test]
fn injected_restricted_pods_stay_restricted() {
    let cluster = Cluster::start();
    let restricted = ("pod-security.kubernetes.io/enforce", "restricted");
    cluster
        .fake
        .add_namespace_with_labels("shop", &[restricted]);
    cluster
        .fake
        .add_service_account("shop", "cart", &[("eks.amazonaws.com/role-arn", ROLE)]);
    // The app sets seccomp on its container only, which restricted allows.
    let pod = |name: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n  serviceAccountName: cart\n  securityContext: {{runAsNonRoot: true, runAsUser: 1000}}\n  containers:\n  - name: app\n    image: app\n    securityContext: {{allowPrivilegeEscalation: false, capabilities: {{drop: [ALL]}}, seccompProfile: {{type: RuntimeDefault}}}}\n"
        )
    };
    for (name, args) in [("plain", vec![]), ("served", vec!["--serve", IMAGE])] {
        let run = inject(&cluster, &args, &pod(name));
        let yaml = run.ok().stdout.clone();
        common::kubernetes_validate(&[serde_norway::from_str(&yaml).unwrap()]);
        let file = cluster.dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, &yaml).unwrap();
        // The fake serves no /openapi/v3 for client-side validation; kubernetes-validate did it.
        let args = ["create", "--validate=false", "-f", file.to_str().unwrap()];
        let created = cluster.kubectl_ok(None, &args);
        assert_eq!(created, format!("pod/{name} created\n"));
    }
}
