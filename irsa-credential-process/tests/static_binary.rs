//! The static release binary in an empty root: nothing but the binary, the token, /etc/hosts
//! and (for TLS) a CA bundle, as in a scratch image. Needs the static build, so it is ignored
//! by a plain `cargo test`; `tests/run` builds the binary and runs it:
//!
//!     cargo static-helper
//!     cargo test -p irsa-credential-process --test static_binary -- --ignored

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ROLE_ARN, Run, SUBJECT, token};
use tests::{FakeSts, Moto};

fn static_binary() -> PathBuf {
    let path = std::env::var_os("IRSA_STATIC_HELPER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../target/x86_64-unknown-linux-gnu/release/irsa-credential-process")
        });
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo static-helper`",
        path.display()
    );
    path
}

/// An empty root holding only the binary and the token (plus what `extra` adds).
fn empty_root(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    fs::copy(static_binary(), root.path().join("irsa-credential-process")).unwrap();
    fs::write(root.path().join("token"), token(SUBJECT, 3600)).unwrap();
    for (path, content) in extra {
        let path = root.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
    root
}

/// Runs the binary chrooted into `root` with nothing in its environment but `env`.
fn run_in(root: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    Run::from(chrooted(root, env, args).output().unwrap())
}

/// The command that runs the binary chrooted into `root`, with the role and the token file as
/// flags (after the mode, when `args` starts with one).
fn chrooted(root: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let (mode, rest) = match args.split_first() {
        Some((mode, rest)) if !mode.starts_with('-') => (Some(*mode), rest),
        _ => (None, args),
    };
    let pod = ["--role-arn", ROLE_ARN, "--token-file", "/token"];
    let all: Vec<&str> = mode
        .into_iter()
        .chain(pod)
        .chain(rest.iter().copied())
        .collect();
    chrooted_as_is(root, env, &all)
}

/// The command that runs the binary chrooted into `root` with exactly `args`.
fn chrooted_as_is(root: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    // The environment is cleared below, so the programs are found here, on this PATH.
    let mut command = if rustix::process::geteuid().is_root() {
        Command::new(which("chroot"))
    } else {
        let mut unshare = Command::new(which("unshare"));
        unshare.args(["--map-root-user", "chroot"]);
        unshare
    };
    command
        .arg(root)
        .arg("/irsa-credential-process")
        .args(args)
        .env_clear()
        .envs(env.iter().copied());
    command
}

fn which(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
}

#[test]
#[ignore = "needs the static release build; tests/run builds it and runs this"]
fn the_binary_is_static_and_at_most_6_mb() {
    let size = fs::metadata(static_binary()).unwrap().len();
    assert!(
        size <= 6_000_000,
        "{size} bytes: the helper must stay at most 6 MB"
    );
    let output = Command::new("file").arg(static_binary()).output().unwrap();
    let description = String::from_utf8(output.stdout).unwrap();
    assert!(
        description.contains("static-pie linked") || description.contains("statically linked"),
        "{description}"
    );
}

#[test]
#[ignore = "needs the static release build; tests/run builds it and runs this"]
fn answers_in_an_empty_root_resolving_names_from_etc_hosts() {
    let moto = Moto::start();
    let root = empty_root(&[("etc/hosts", "127.0.0.1 localhost sts.pod.test\n")]);
    let endpoint = format!("http://sts.pod.test:{}", moto.port());
    let args = [
        "--endpoint-url",
        &endpoint,
        "--verbose",
        "--cache-dir",
        "/cache",
    ];
    let first = run_in(root.path(), &[], &args);
    let key = first.access_key_id();
    assert!(first.stderr.contains("calling STS"), "{}", first.stderr);
    let second = run_in(root.path(), &[], &args);
    assert_eq!(second.access_key_id(), key);
    assert!(second.stderr.contains("cache hit"), "{}", second.stderr);
}

#[test]
#[ignore = "needs the static release build; tests/run builds it and runs this"]
fn tls_works_in_an_empty_root_with_a_private_ca() {
    let sts = FakeSts::start_tls(vec![], &["sts.pod.test"]);
    let ca = sts.ca_pem().unwrap();
    let root = empty_root(&[("etc/hosts", "127.0.0.1 sts.pod.test\n"), ("ca.pem", &ca)]);
    let endpoint = format!("https://sts.pod.test:{}", sts.port());
    let run = run_in(
        root.path(),
        &[("AWS_CA_BUNDLE", "/ca.pem")],
        &["--endpoint-url", &endpoint],
    );
    run.credentials();
    assert_eq!(sts.calls(), 1);

    // Without the private CA, the embedded public roots must refuse the fake's certificate.
    let refused = run_in(
        root.path(),
        &[],
        &["--endpoint-url", &endpoint, "--no-cache", "--timeout", "5s"],
    );
    assert!(
        refused
            .failure()
            .contains("cannot reach STS at https://sts.pod.test"),
        "{}",
        refused.stderr
    );
}

#[test]
#[ignore = "needs the static release build; tests/run builds it and runs this"]
fn a_name_missing_from_etc_hosts_without_resolv_conf_is_a_clear_error() {
    let root = empty_root(&[("etc/hosts", "127.0.0.1 localhost\n")]);
    let run = run_in(
        root.path(),
        &[],
        &[
            "--endpoint-url",
            "http://sts.unknown.test:1",
            "--timeout",
            "5s",
        ],
    );
    let line = run.failure();
    assert!(
        line.contains("cannot reach STS at http://sts.unknown.test:1")
            && line.contains("sts.unknown.test"),
        "{line}"
    );
}

#[test]
#[ignore = "needs the static release build; tests/run builds it and runs this"]
fn without_home_or_passwd_it_warns_once_and_answers_from_sts() {
    let sts = FakeSts::start(vec![]);
    let root = empty_root(&[]);
    let run = run_in(root.path(), &[], &["--endpoint-url", &sts.url()]);
    run.credentials();
    assert_eq!(run.stderr.matches("warning:").count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("no cache directory"), "{}", run.stderr);
}

#[test]
#[ignore = "needs the static release build; tests/run builds it and runs this"]
fn serves_in_an_empty_root() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let sts = FakeSts::start(vec![]);
    let root = empty_root(&[("etc/hosts", "127.0.0.1 localhost sts.pod.test\n")]);
    let endpoint = format!("http://sts.pod.test:{}", sts.port());
    let args = [
        "serve",
        "--endpoint-url",
        &endpoint,
        "--port",
        "0",
        "--auth-token-file",
        "/auth-token",
    ];
    let mut child = chrooted(root.path(), &[], &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let url = first_line
        .trim()
        .strip_prefix("export AWS_CONTAINER_CREDENTIALS_FULL_URI=")
        .unwrap_or_else(|| panic!("{first_line:?}"))
        .trim_matches('\'');
    let token = fs::read_to_string(root.path().join("auth-token")).unwrap();
    let answer = ureq::get(url)
        .header("Authorization", token.trim())
        .call()
        .map(|mut response| response.body_mut().read_to_string().unwrap());
    // The sidecar's startupProbe, as `kubectl irsa inject --serve` writes it.
    let port = url.split(':').nth(2).unwrap().split('/').next().unwrap();
    let probe = ["probe", "--port", port, "--auth-token-file", "/auth-token"];
    let probed = Run::from(chrooted_as_is(root.path(), &[], &probe).output().unwrap());
    let _ = child.kill();
    let _ = child.wait();
    let body: serde_json::Value = serde_json::from_str(&answer.unwrap()).unwrap();
    assert_eq!(body["AccessKeyId"], sts.issued()[0].access_key_id.as_str());
    assert_eq!(probed.code, 0, "probe: {}", probed.stderr);
}

/// The README's static build, run exactly as written, gives a binary that gets credentials in
/// an empty root. `cargo static-helper` (.cargo/config.toml) carries the getrandom backend cfg:
/// with crt-static alone, the binary aborts there ("could not initialize ThreadRng").
#[test]
#[ignore = "needs the static release build; tests/run builds it and runs this"]
fn the_readmes_static_build_runs_in_an_empty_root() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = fs::read_to_string(repo.join("README.md")).unwrap();
    let command = readme
        .split("To build the static binary:")
        .nth(1)
        .and_then(|rest| rest.split("```sh\n").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("README: a sh block after \"To build the static binary:\"");
    assert_eq!(command, "cargo static-helper\n");
    // As a user runs it: from the checkout, with no RUSTFLAGS (which would replace the alias's).
    // Nor the variables cargo sets for this test (CARGO_PKG_NAME...): ring's build script
    // tracks some, and would make every build here and after it a rebuild.
    let mut cargo = Command::new(env!("CARGO"));
    cargo.arg("static-helper").current_dir(&repo);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.ends_with("RUSTFLAGS") || set_by_cargo_for_a_crate(&name) {
            cargo.env_remove(&*name);
        }
    }
    let built = cargo.output().unwrap();
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(built.status.success(), "cargo static-helper: {stderr}");

    let sts = FakeSts::start(vec![]);
    let root = empty_root(&[("etc/hosts", "127.0.0.1 localhost sts.pod.test\n")]);
    let endpoint = format!("http://sts.pod.test:{}", sts.port());
    let run = run_in(
        root.path(),
        &[],
        &["--endpoint-url", &endpoint, "--no-cache"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.credentials()["AccessKeyId"],
        sts.issued()[0].access_key_id.as_str()
    );
}

/// The usual recipe for a static Rust binary, crt-static alone, is refused by the helper's
/// build script with the way to the safe build, rather than giving a binary that aborts in an
/// empty root. `cargo check` in a target dir of its own: the script fails before codegen.
#[test]
#[ignore = "builds in a target dir of its own (about 40 s); tests/run runs this"]
fn crt_static_alone_is_refused_with_the_safe_command() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = tempfile::tempdir().unwrap();
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["check", "--target", "x86_64-unknown-linux-gnu"])
        .args(["-p", "irsa-credential-process", "--message-format", "short"])
        .current_dir(&repo)
        .env("CARGO_TARGET_DIR", target.path())
        .env("RUSTFLAGS", "-C target-feature=+crt-static");
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if set_by_cargo_for_a_crate(&name) || name == "CARGO_ENCODED_RUSTFLAGS" {
            cargo.env_remove(&*name);
        }
    }
    let built = cargo.output().unwrap();
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(!built.status.success(), "{stderr}");
    assert!(
        stderr.contains("error: irsa-credential-process@0.1.0: a static glibc build needs --cfg getrandom_backend=\"linux_getrandom\" too, or the helper aborts in an empty root: build it with `cargo static-helper` (RUSTFLAGS unset)\n"),
        "{stderr}"
    );
}

fn set_by_cargo_for_a_crate(name: &str) -> bool {
    [
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_BIN_",
        "CARGO_TARGET_TMPDIR",
    ]
    .iter()
    .any(|prefix| name.starts_with(prefix))
        || [
            "CARGO_CRATE_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_RUSTC_CURRENT_DIR",
        ]
        .contains(&name)
}
