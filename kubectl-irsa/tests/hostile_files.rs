//! Files and streams the plugin reads, when they are hostile: a device that never ends, an
//! endless pipe on stdin or behind a FIFO, a FIFO where a regular file is meant, YAML merge keys.
//! Each read is capped with one error line naming the input and the cap, and holds under a
//! small address-space limit (`prlimit --as`), so an endless input can never reach the OOM
//! killer. Devices and FIFOs are made in temporary directories, never taken from /dev.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Cluster, ROLE};
use serde_json::Value;

/// Address space for the plugin: enough for its runtime, far too little for an uncapped read of
/// an endless input.
const ADDRESS_SPACE: &str = "--as=268435456";

fn mknod(path: &Path, file_type: rustix::fs::FileType, dev: u64) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        file_type,
        rustix::fs::Mode::from_raw_mode(0o600),
        dev,
    )
    .unwrap();
}

/// A character device reading as endless zeros (1:5, what /dev/zero is), made in `dir`.
fn zero_device(dir: &Path) -> PathBuf {
    let path = dir.join("zero.yaml");
    mknod(
        &path,
        rustix::fs::FileType::CharacterDevice,
        rustix::fs::makedev(1, 5),
    );
    path
}

/// The plugin under `prlimit`, with this cluster's kubeconfig.
fn limited(cluster: &Cluster, args: &[&str]) -> Command {
    let plugin = cluster.plugin(args);
    let mut command = Command::new("prlimit");
    command
        .env_clear()
        .envs(plugin.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .arg(ADDRESS_SPACE)
        .arg(plugin.get_program())
        .args(plugin.get_args());
    command
}

fn fails_with(run: &common::Run, line: &str) {
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, format!("error: {line}\n"));
}

/// Runs `command` with endless zeros written to its stdin until it closes it.
fn with_endless_stdin(mut command: Command) -> common::Run {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let block = vec![b'a'; 1 << 16];
        while stdin.write_all(&block).is_ok() {}
    });
    let run = common::Run::from(child.wait_with_output().unwrap());
    writer.join().unwrap();
    run
}

#[test]
fn endless_manifests_are_capped() {
    let cluster = Cluster::start();
    let zero = zero_device(cluster.dir.path());
    let shown = zero.display();
    let inject = ["inject", "--role-arn", ROLE, "-f"];
    let run = tests::run::run(limited(
        &cluster,
        &[&inject[..], &[zero.to_str().unwrap()]].concat(),
    ));
    fails_with(
        &run,
        &format!("cannot read -f {shown}: more than 16 MiB, the most -f reads: split it"),
    );

    let run = with_endless_stdin(limited(&cluster, &[&inject[..], &["-"]].concat()));
    fails_with(
        &run,
        "cannot read -f - (stdin): more than 16 MiB, the most -f reads: split it",
    );

    // A FIFO named on the command line is read as a stream (so `-f <(command)` works), capped.
    let fifo = cluster.dir.path().join("pipe.yaml");
    mknod(&fifo, rustix::fs::FileType::Fifo, 0);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut pipe = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            let block = vec![b'a'; 1 << 16];
            while pipe.write_all(&block).is_ok() {}
        })
    };
    let run = tests::run::run(limited(
        &cluster,
        &[&inject[..], &[fifo.to_str().unwrap()]].concat(),
    ));
    writer.join().unwrap();
    fails_with(
        &run,
        &format!(
            "cannot read -f {}: more than 16 MiB, the most -f reads: split it",
            fifo.display()
        ),
    );
}

#[test]
fn a_fifo_in_a_manifest_directory_is_refused_at_once() {
    let cluster = Cluster::start();
    let dir = cluster.dir.path().join("manifests");
    std::fs::create_dir(&dir).unwrap();
    let fifo = dir.join("pod.yaml");
    mknod(&fifo, rustix::fs::FileType::Fifo, 0);
    // Nothing writes to it: a blocking read would hang here forever.
    let run = cluster.run(&["inject", "--role-arn", ROLE, "-f", dir.to_str().unwrap()]);
    fails_with(
        &run,
        &format!(
            "cannot read -f {}: is a FIFO, not a regular file",
            fifo.display()
        ),
    );
}

#[test]
fn policy_and_key_files_are_capped_smaller() {
    let cluster = Cluster::start();
    let zero = zero_device(cluster.dir.path());
    let path = zero.to_str().unwrap();
    let policy = [
        "trust-policy",
        "--role-arn",
        ROLE,
        "--service-account",
        "shop:cart",
        "--issuer",
        tests::fake_kube::DEFAULT_ISSUER,
        "--merge",
        path,
    ];
    let run = tests::run::run(limited(&cluster, &policy));
    fails_with(
        &run,
        &format!("cannot read --merge {path}: more than 1 MiB, the most --merge reads: split it"),
    );

    let out = cluster.dir.path().join("out");
    let documents = [
        "oidc",
        "documents",
        "--issuer",
        tests::fake_kube::DEFAULT_ISSUER,
        "--public-key",
        path,
        "--out",
        out.to_str().unwrap(),
    ];
    let run = tests::run::run(limited(&cluster, &documents));
    fails_with(
        &run,
        &format!(
            "cannot read --public-key {path}: more than 1 MiB, the most --public-key reads: split it"
        ),
    );
    assert!(!out.exists());
}

#[test]
fn yaml_merge_keys_are_resolved_as_kubectl_resolves_them() {
    let cluster = Cluster::start();
    // The container's name and image come from the anchor; its own ports stay.
    let manifest = "\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
x-app: &app
  name: app
  image: nginx
  env: [{name: MODE, value: anchored}]
spec:
  serviceAccountName: cart
  containers:
  - <<: *app
    ports: [{containerPort: 80}]
";
    let run = common::with_stdin(
        cluster.plugin(&["inject", "--role-arn", ROLE, "-f", "-"]),
        manifest,
    );
    let pod: Value = serde_norway::from_str(&run.ok().stdout).unwrap();
    let container = &pod["spec"]["containers"][0];
    assert_eq!(container["name"], "app");
    assert_eq!(container["image"], "nginx");
    assert_eq!(container["ports"][0]["containerPort"], 80);
    assert!(container.get("<<").is_none(), "{container}");
    assert_eq!(common::env(container, "MODE").as_deref(), Some("anchored"));
    assert_eq!(
        common::env(container, "AWS_ROLE_ARN").as_deref(),
        Some(ROLE)
    );
    assert_eq!(
        container["volumeMounts"][0]["name"], "aws-iam-token",
        "the container under the merge key gets the mount: {container}"
    );
    // A merge key that is not a mapping cannot be resolved: refused in one line.
    let bad = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - <<: 3\n    name: app\n";
    let run = common::with_stdin(
        cluster.plugin(&["inject", "--role-arn", ROLE, "-f", "-"]),
        bad,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: stdin is not valid YAML or JSON: expected a mapping or list of mappings for merging, but found scalar\n"
    );
}

#[test]
fn a_yaml_alias_bomb_is_refused_in_one_line() {
    let cluster = Cluster::start();
    // Nine levels of nine aliases: 9^10 strings once expanded.
    let mut lines = vec![r#"a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]"#.to_string()];
    for level in 1..10 {
        let aliases = vec![format!("*a{}", level - 1); 9].join(", ");
        lines.push(format!("a{level}: &a{level} [{aliases}]"));
    }
    let bomb = cluster.dir.path().join("bomb.yaml");
    std::fs::write(&bomb, lines.join("\n")).unwrap();
    let path = bomb.to_str().unwrap();
    let run = tests::run::run(limited(
        &cluster,
        &["inject", "--role-arn", ROLE, "-f", path],
    ));
    fails_with(
        &run,
        &format!("{path} is not valid YAML or JSON: repetition limit exceeded"),
    );
}
