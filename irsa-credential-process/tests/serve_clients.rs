//! Real AWS clients take their credentials from `serve` and `update` and complete a call to the
//! moto STS: the aws CLI and boto3 from the test venv, and the AWS SDK for Rust (aws-config's
//! default chain, in the `sdk-caller-identity` binary of the tests crate).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::Pod;
use common::serving::Serving;
use tests::{Moto, venv_bin};

/// A client process with no AWS credentials of its own: no web identity env, no config or
/// credentials file; only `env` can lead it to credentials.
fn client(program: PathBuf, pod: &Pod, moto: &Moto, env: &[(String, String)]) -> Command {
    let mut client = Command::new(program);
    client
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", pod.dir.path())
        .env("AWS_CONFIG_FILE", pod.dir.path().join("no-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            pod.dir.path().join("no-credentials"),
        )
        .env("AWS_DEFAULT_REGION", "us-west-2")
        .env("AWS_REGION", "us-west-2")
        .env("AWS_ENDPOINT_URL", moto.url())
        .envs(env.iter().map(|(k, v)| (k, v)));
    client
}

fn caller_identity(mut command: Command) -> serde_json::Value {
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "client failed: {stderr}");
    serde_json::from_slice(&output.stdout).unwrap()
}

fn assert_assumed_cart(identity: &serde_json::Value) {
    assert_eq!(identity["Account"], "123456789012");
    let arn = identity["Arn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:sts::123456789012:assumed-role/cart/"),
        "{arn}"
    );
}

fn serving(pod: &Pod, args: &[&str]) -> Serving {
    Serving::start(pod, args).unwrap_or_else(|run| panic!("serve did not start: {}", run.stderr))
}

#[test]
fn aws_cli_uses_the_container_credentials_endpoint() {
    let moto = Moto::start();
    let pod = Pod::new(&moto.url());
    let server = serving(&pod, &[]);
    let mut aws = client(venv_bin("aws"), &pod, &moto, &server.env);
    aws.args(["sts", "get-caller-identity", "--output", "json"]);
    assert_assumed_cart(&caller_identity(aws));
}

#[test]
fn boto3_uses_the_container_credentials_endpoint() {
    let moto = Moto::start();
    let pod = Pod::new(&moto.url());
    let server = serving(&pod, &[]);
    let script = "import boto3, json; s = boto3.session.Session(); \
        c = s.get_credentials(); \
        print(json.dumps(dict(s.client('sts').get_caller_identity(), method=c.method, \
        key=c.get_frozen_credentials().access_key)))";
    let mut python = client(venv_bin("python"), &pod, &moto, &server.env);
    python.args(["-c", script]);
    let identity = caller_identity(python);
    assert_assumed_cart(&identity);
    assert_eq!(identity["method"], "container-role");
    assert_eq!(identity["key"], server.credentials().json()["AccessKeyId"]);
}

/// SDKs from before the token file (late 2023) read the token's value instead, as
/// `export AWS_CONTAINER_AUTHORIZATION_TOKEN="$(cat FILE)"` gives it: botocore has since 1.5.27.
#[test]
fn boto3_takes_the_token_value_as_older_sdks_do() {
    let moto = Moto::start();
    let pod = Pod::new(&moto.url());
    let server = serving(&pod, &[]);
    let env = [
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI".to_string(),
            server.url().to_string(),
        ),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN".to_string(),
            server.auth_token(),
        ),
    ];
    let script = "import boto3, json; s = boto3.session.Session(); \
        print(json.dumps(dict(s.client('sts').get_caller_identity(), \
        method=s.get_credentials().method)))";
    let mut python = client(venv_bin("python"), &pod, &moto, &env);
    python.args(["-c", script]);
    let identity = caller_identity(python);
    assert_assumed_cart(&identity);
    assert_eq!(identity["method"], "container-role");
}

#[test]
fn the_rust_sdk_uses_the_container_credentials_endpoint() {
    let moto = Moto::start();
    let pod = Pod::new(&moto.url());
    let server = serving(&pod, &[]);
    let program = std::env::current_exe()
        .unwrap()
        .parent() // deps
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("sdk-caller-identity");
    assert!(
        program.is_file(),
        "{} is missing: build it with `cargo build -p tests --bin sdk-caller-identity` (cargo test --workspace does)",
        program.display()
    );
    let output = client(program, &pod, &moto, &server.env).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut lines = stdout.lines();
    let arn = lines.next().unwrap();
    assert!(
        arn.starts_with("arn:aws:sts::123456789012:assumed-role/cart/"),
        "{arn}"
    );
    assert_eq!(
        lines.next().unwrap(),
        server.credentials().json()["AccessKeyId"],
        "signed with the served credentials"
    );
}

#[test]
fn aws_cli_uses_the_imds_endpoint() {
    let moto = Moto::start();
    let pod = Pod::new(&moto.url());
    let server = serving(&pod, &["--imds", "--verbose"]);
    let imds_only: Vec<(String, String)> = server
        .env
        .iter()
        .filter(|(name, _)| name == "AWS_EC2_METADATA_SERVICE_ENDPOINT")
        .cloned()
        .collect();
    let mut aws = client(venv_bin("aws"), &pod, &moto, &imds_only);
    aws.args(["sts", "get-caller-identity", "--output", "json"]);
    assert_assumed_cart(&caller_identity(aws));
    let log = server.stop().stderr;
    assert!(log.contains("PUT /latest/api/token 200"), "{log}");
    assert!(
        log.contains("GET /latest/meta-data/iam/security-credentials/cart 200"),
        "{log}"
    );
}

#[test]
fn aws_cli_reads_the_profile_that_update_writes() {
    let moto = Moto::start();
    let pod = Pod::new(&moto.url());
    let file = pod.dir.path().join("credentials");
    std::fs::write(&file, "[default]\nregion = us-west-2\n").unwrap();
    let path = file.to_str().unwrap();
    let run = pod.run(&[
        "update",
        "--credentials-file",
        path,
        "--profile",
        "app",
        "--once",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let env = [
        ("AWS_SHARED_CREDENTIALS_FILE".to_string(), path.to_string()),
        ("AWS_PROFILE".to_string(), "app".to_string()),
    ];
    let mut aws = client(venv_bin("aws"), &pod, &moto, &env);
    aws.args(["sts", "get-caller-identity", "--output", "json"]);
    assert_assumed_cart(&caller_identity(aws));
}
