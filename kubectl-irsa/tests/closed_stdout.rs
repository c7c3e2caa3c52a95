//! A reader that stops early (`kubectl irsa ... | head -0`) is not an error: the plugin exits 0
//! quietly, as ripgrep and fd do. Stdout here is a pipe whose read end is already closed, so
//! the first write fails with EPIPE every time (no race with a real `head`). Any other failed
//! write (a full disk: a `/dev/full` made with mknod in a temporary directory) is one error line
//! and exit 1, `--help` and `--version` included.

mod common;

use std::process::Stdio;

use common::{Cluster, ROLE, Run};

/// The plugin with `args`, its stdout a full device (ENOSPC on every write).
fn into_full_device(cluster: &Cluster, args: &[&str]) -> Run {
    let full = cluster.dir.path().join("full");
    if !full.exists() {
        let made = std::process::Command::new("mknod")
            .args([full.to_str().unwrap(), "c", "1", "7"])
            .status()
            .unwrap();
        assert!(made.success(), "mknod (run as root)");
    }
    let output = cluster
        .plugin(args)
        .stdin(Stdio::null())
        .stdout(std::fs::OpenOptions::new().write(true).open(&full).unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    Run::from(output)
}

/// The plugin with `args`, its stdout a pipe nobody reads.
fn into_closed_pipe(cluster: &Cluster, args: &[&str]) -> Run {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = cluster
        .plugin(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    Run::from(output)
}

#[test]
fn printing_verbs_exit_quietly_when_stdout_closes() {
    let cluster = Cluster::bound();
    let manifest = cluster.dir.path().join("pod.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  namespace: shop\nspec:\n  serviceAccountName: cart\n  containers:\n  - name: app\n    image: app\n",
    )
    .unwrap();
    let manifest = manifest.to_str().unwrap();
    let issuer = "https://oidc.example.com/id/X";
    for args in [
        &["inject", "-f", manifest][..],
        &[
            "trust-policy",
            "--service-account",
            "shop:cart",
            "--role-arn",
            ROLE,
            "--issuer",
            issuer,
        ][..],
        &["list", "-A"][..],
        &["doctor", "cart", "-n", "shop"][..],
        &["version"][..],
        &["completion", "bash"][..],
        &["--help"][..],
        &["--version"][..],
        &["list", "--help"][..],
    ] {
        let run = into_closed_pipe(&cluster, args);
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{args:?}");
    }
}

#[test]
fn a_full_disk_is_one_error_line_and_exit_1() {
    let cluster = Cluster::bound();
    let issuer = "https://oidc.example.com/id/X";
    for args in [
        &[
            "trust-policy",
            "--service-account",
            "shop:cart",
            "--role-arn",
            ROLE,
            "--issuer",
            issuer,
        ][..],
        &["list", "-A"][..],
        &["doctor", "cart", "-n", "shop"][..],
        &["version"][..],
        &["completion", "bash"][..],
        &["--help"][..],
        &["--version"][..],
        &["list", "--help"][..],
    ] {
        let run = into_full_device(&cluster, args);
        assert_eq!(
            (run.code, run.stderr.as_str()),
            (
                1,
                "error: cannot write to standard output: No space left on device (os error 28)\n"
            ),
            "{args:?}"
        );
    }
}

#[test]
fn the_same_verbs_print_when_stdout_is_read() {
    let cluster = Cluster::bound();
    let run = cluster.run(&["list", "-A"]);
    assert_eq!(
        run.ok().stdout,
        format!("NAMESPACE   SERVICEACCOUNT   ROLE ARN\nshop        cart             {ROLE}\n")
    );
}
