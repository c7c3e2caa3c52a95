//! Every value in a printed command is one shell word: the commands `bind`, `oidc provider`,
//! `oidc documents`, `oidc apiserver-config` and doctor's fix lines print are run through a real
//! shell (bash, with `aws`, `kubectl` and `k3s` replaced by functions printing their arguments)
//! and split by a real shell-words parser (Python's `shlex`), with values an attacker may
//! choose: an IAM role path (IAM allows any of `!` to `~` in one, `$();'` included) and an
//! issuer path the cluster announces.

mod common;

use std::path::Path;
use std::process::Command;

use common::Cluster;

/// A role whose path runs a command when pasted unquoted: IAM paths are
/// `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)` (the Role data type's Path).
const HOSTILE_ROLE: &str = "arn:aws:iam::123456789012:role/$(touch$IFS'pwned-role');x/cart";
/// An issuer path the same way; it passes the issuer check (RFC 3986 allows these in a path).
const HOSTILE_ISSUER: &str = "https://oidc.fake.test/id/$(touch$IFS'pwned-issuer');'x";

/// The words bash gives `aws` and `kubectl` in `script`, run in `dir` (where redirections
/// write), one command per element; asserts nothing else ran.
fn bash_words(dir: &Path, script: &str) -> Vec<Vec<String>> {
    let functions = "aws() { printf 'aws'; printf '\\0%s' \"$@\"; printf '\\n'; }; \
                     kubectl() { printf 'kubectl'; printf '\\0%s' \"$@\"; printf '\\n'; }; \
                     k3s() { printf 'k3s'; printf '\\0%s' \"$@\"; printf '\\n'; }";
    let output = Command::new("bash")
        .current_dir(dir)
        .args([
            "--norc",
            "--noprofile",
            "-c",
            &format!("{functions}\n{script}"),
        ])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut text = String::from_utf8(output.stdout).unwrap();
    // Redirected commands wrote their words into the files they name.
    for file in ["role.json", "trust.json"] {
        if let Ok(written) = std::fs::read_to_string(dir.join(file)) {
            text.push_str(&written);
        }
    }
    let pwned: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("pwned"))
        .collect();
    assert!(pwned.is_empty(), "pasting ran a command: {pwned:?}");
    let mut commands: Vec<Vec<String>> = text
        .lines()
        .map(|line| line.split('\0').map(String::from).collect())
        .collect();
    commands.sort();
    commands
}

/// `line` split by Python's `shlex.split` (POSIX rules).
fn shlex(line: &str) -> Vec<String> {
    let output = Command::new(tests::venv_bin("python"))
        .args([
            "-c",
            "import json, shlex, sys; print(json.dumps(shlex.split(sys.argv[1])))",
            line,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn words(text: &str) -> Vec<String> {
    text.split(' ').map(String::from).collect()
}

#[test]
fn bind_prints_commands_whose_values_are_one_word_each() {
    let cluster = Cluster::start();
    cluster.fake.add_namespace("shop");
    cluster.fake.set_issuer(HOSTILE_ISSUER);
    let run = cluster.run(&["bind", "cart", "-n", "shop", "--role-arn", HOSTILE_ROLE]);
    let stdout = &run.ok().stdout;
    let lines: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("  aws "))
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let (create, merge) = (format!("aws {}", lines[0]), format!("aws {}", lines[1]));
    let start = stdout.find("needs:\n").unwrap() + "needs:\n".len();
    let pretty = &stdout[start..stdout.find("\n\nCreate the role").unwrap()];
    let compact =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(pretty).unwrap()).unwrap();
    assert!(
        compact.contains("oidc-provider/oidc.fake.test/id/$(touch$IFS'pwned-issuer');'x"),
        "{compact}"
    );

    let mut expected_create =
        words("aws iam create-role --role-name cart --assume-role-policy-document");
    expected_create.push(compact);
    assert_eq!(shlex(&create), expected_create);
    let hostile = |text: &str| {
        text.replace("ROLE", HOSTILE_ROLE)
            .replace("ISSUER", HOSTILE_ISSUER)
    };
    let merge_words: Vec<String> = words(
        "aws iam get-role --role-name cart > role.json && \
         kubectl irsa trust-policy --merge role.json --role-arn ROLE --service-account shop:cart --issuer ISSUER > trust.json && \
         aws iam update-assume-role-policy --role-name cart --policy-document file://trust.json",
    )
    .iter()
    .map(|w| hostile(w))
    .collect();
    assert_eq!(shlex(&merge), merge_words);

    let dir = tempfile::tempdir().unwrap();
    let ran = bash_words(dir.path(), &format!("{create}\n{merge}"));
    let command = |text: &str| -> Vec<String> { text.split(' ').map(hostile).collect() };
    let mut expected = vec![
        expected_create,
        command("aws iam get-role --role-name cart"),
        command(
            "kubectl irsa trust-policy --merge role.json --role-arn ROLE --service-account shop:cart --issuer ISSUER",
        ),
        command(
            "aws iam update-assume-role-policy --role-name cart --policy-document file://trust.json",
        ),
    ];
    expected.sort();
    assert_eq!(ran, expected);
}

#[test]
fn oidc_commands_keep_hostile_paths_in_one_word() {
    let cluster = Cluster::start();
    let thumbprint = "a9993e364706816aba3e25717850c26c9cd0d89d";
    let run = cluster.run(&[
        "oidc",
        "provider",
        "--issuer",
        HOSTILE_ISSUER,
        "--thumbprint",
        thumbprint,
    ]);
    let stdout = &run.ok().stdout;
    let command = &stdout[..stdout.find("\n# Terraform").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        bash_words(dir.path(), command),
        [vec![
            "aws",
            "iam",
            "create-open-id-connect-provider",
            "--url",
            HOSTILE_ISSUER,
            "--client-id-list",
            "sts.amazonaws.com",
            "--thumbprint-list",
            thumbprint,
        ]]
    );

    // An S3 issuer's prefix and an output directory with a space reach `aws s3 cp` whole.
    let issuer = "https://irsa-oidc.s3.eu-west-1.amazonaws.com/$(touch$IFS'pwned-s3')";
    let key = cluster.dir.path().join("sa.pub");
    std::fs::write(&key, cluster.fake.signing_public_key_pem()).unwrap();
    let out = cluster.dir.path().join("out dir;$(touch pwned-out)");
    let run = cluster.run(&[
        "oidc",
        "documents",
        "--issuer",
        issuer,
        "--public-key",
        key.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let script: Vec<&str> = run
        .ok()
        .stdout
        .lines()
        .filter(|l| l.starts_with("aws "))
        .collect();
    assert_eq!(script.len(), 5, "{}", run.stdout);
    let ran = bash_words(dir.path(), &script.join("\n"));
    let site = out.to_str().unwrap();
    let copies: Vec<&Vec<String>> = ran.iter().filter(|c| c[2] == "cp").collect();
    assert_eq!(
        copies[0][3],
        format!("{site}/.well-known/openid-configuration")
    );
    assert_eq!(
        copies[0][4],
        "s3://irsa-oidc/$(touch$IFS'pwned-s3')/.well-known/openid-configuration"
    );
    assert_eq!(copies[1][3], format!("{site}/keys.json"));
    assert_eq!(
        copies[1][4],
        "s3://irsa-oidc/$(touch$IFS'pwned-s3')/keys.json"
    );
}

#[test]
fn doctors_fix_line_keeps_a_role_from_get_role_output_in_one_word() {
    let cluster = Cluster::bound();
    let hostpath = tests::fake_kube::DEFAULT_ISSUER.trim_start_matches("https://");
    // The role's policy trusts another ServiceAccount: doctor prints the merge command.
    let statement = common::web_identity_statement(hostpath, "system:serviceaccount:web:cart");
    let get_role = serde_json::json!({"Role": {
        "Arn": HOSTILE_ROLE,
        "AssumeRolePolicyDocument": common::trust_policy(vec![statement]),
    }});
    let file = cluster.dir.path().join("role.json");
    std::fs::write(&file, get_role.to_string()).unwrap();
    let run = cluster.run(&[
        "doctor",
        "cart",
        "-n",
        "shop",
        "--trust-policy",
        file.to_str().unwrap(),
        "-o",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let trust = report["sections"][1]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "trust")
        .unwrap()
        .clone();
    let fix = trust["fix"].as_str().unwrap().replace("FILE", "role.json");
    let dir = tempfile::tempdir().unwrap();
    let mut expected = vec![
        words(&format!(
            "kubectl irsa trust-policy --service-account shop:cart --role-arn {HOSTILE_ROLE} --merge role.json"
        )),
        words(
            "aws iam update-assume-role-policy --role-name cart --policy-document file://trust.json",
        ),
    ];
    expected.sort();
    assert_eq!(bash_words(dir.path(), &fix), expected);
}

#[test]
fn apiserver_config_keeps_a_hostile_issuer_in_one_word() {
    let cluster = Cluster::start();
    let keys = cluster.dir.path().join("key dir");
    cluster
        .run(&["oidc", "keygen", "--out", keys.to_str().unwrap()])
        .ok();
    let old = "https://kubernetes.default.svc.cluster.local";
    let run = cluster.run(&[
        "oidc",
        "apiserver-config",
        "--issuer",
        HOSTILE_ISSUER,
        "--key-dir",
        keys.to_str().unwrap(),
        "--flavor",
        "k3s",
        "--existing-issuer",
        old,
    ]);
    let stdout = &run.ok().stdout;
    let command = &stdout[stdout.find("k3s server").unwrap()..];
    let command = &command[..command.find("\n\n").unwrap_or(command.len())];
    let dir = tempfile::tempdir().unwrap();
    let keys = keys.to_str().unwrap();
    let arg = |value: String| format!("--kube-apiserver-arg={value}");
    assert_eq!(
        bash_words(dir.path(), command),
        [vec![
            "k3s".to_string(),
            "server".to_string(),
            arg(format!("service-account-issuer+={HOSTILE_ISSUER}")),
            arg(format!("service-account-key-file+={keys}/sa-signer.pub")),
            arg(format!(
                "service-account-signing-key-file={keys}/sa-signer.key"
            )),
            arg(format!("api-audiences+={HOSTILE_ISSUER}")),
        ]]
    );
}
