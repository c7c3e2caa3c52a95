//! Real AWS clients run the helper as their `credential_process` and complete a call to the moto
//! STS: the aws CLI and boto3 from the test venv (`tests/setup-venv`).

mod common;

use std::process::Command;

use common::{Pod, ROLE_ARN};
use tests::{Moto, venv_bin};

/// A client with an AWS config whose default profile runs the helper. The client does not see
/// AWS_ROLE_ARN or the token file (the helper gets them as flags), as an SDK without web
/// identity support would not use them: the credentials can only come from the helper.
fn client(pod: &Pod, moto: &Moto, program: &str) -> Command {
    let config = pod.dir.path().join("aws-config");
    std::fs::write(
        &config,
        format!(
            "[default]\nregion = us-west-2\ncredential_process = {} --role-arn {ROLE_ARN} --token-file {}\n",
            env!("CARGO_BIN_EXE_irsa-credential-process"),
            pod.token_file().display()
        ),
    )
    .unwrap();
    let mut client = Command::new(venv_bin(program));
    client
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", pod.dir.path())
        .env("IRSA_CACHE_DIR", pod.cache_dir())
        .env("AWS_CONFIG_FILE", &config)
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            pod.dir.path().join("no-credentials"),
        )
        .env("AWS_ENDPOINT_URL", moto.url());
    client
}

#[test]
fn aws_cli_gets_caller_identity_through_the_helper() {
    let moto = Moto::start();
    let pod = Pod::new(&moto.url());
    let output = client(&pod, &moto, "aws")
        .args(["sts", "get-caller-identity", "--output", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "aws failed: {stderr}");
    let identity: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(identity["Account"], "123456789012");
    let arn = identity["Arn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:sts::123456789012:assumed-role/cart/"),
        "{arn}"
    );
    assert_eq!(
        common::json_files(&pod.cache_dir()).len(),
        1,
        "the helper cached"
    );
}

#[test]
fn boto3_gets_caller_identity_through_the_helper() {
    let moto = Moto::start();
    let pod = Pod::new(&moto.url());
    let script = "import boto3, json; s = boto3.session.Session(); \
        print(json.dumps(s.client('sts').get_caller_identity())); \
        c = s.get_credentials(); print(c.method)";
    let output = client(&pod, &moto, "python")
        .args(["-c", script])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "boto3 failed: {stderr}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut lines = stdout.lines();
    let identity: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(identity["Account"], "123456789012");
    assert!(
        identity["Arn"]
            .as_str()
            .unwrap()
            .contains(":assumed-role/cart/")
    );
    assert_eq!(
        lines.next(),
        Some("custom-process"),
        "boto3 used credential_process"
    );
}

#[test]
fn exec_and_env_forms_carry_the_same_credentials() {
    let moto = Moto::start();
    let pod = Pod::new(&moto.url());
    let json = pod.run(&[]).credentials();
    let exec = pod.run(&[
        "exec",
        "--",
        "sh",
        "-c",
        "echo $AWS_ACCESS_KEY_ID $AWS_REGION $AWS_CREDENTIAL_EXPIRATION",
    ]);
    assert_eq!(exec.code, 0, "{}", exec.stderr);
    assert_eq!(
        exec.stdout.trim(),
        format!(
            "{} us-west-2 {}",
            json["AccessKeyId"].as_str().unwrap(),
            json["Expiration"].as_str().unwrap()
        )
    );
    let env = pod.run(&["--format", "env"]);
    let sourced = Command::new("sh")
        .args([
            "-c",
            &format!("{}echo \"$AWS_SECRET_ACCESS_KEY\"", env.stdout),
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(sourced.stdout).unwrap().trim(),
        json["SecretAccessKey"].as_str().unwrap()
    );
}

#[test]
fn exec_of_a_missing_program_fails_clearly() {
    let moto = Moto::start();
    let pod = Pod::new(&moto.url());
    let run = pod.run(&["exec", "--", "/nonexistent/program"]);
    assert!(
        run.failure().contains("cannot run /nonexistent/program"),
        "{}",
        run.stderr
    );
    assert_eq!(run.code, 127);
}
