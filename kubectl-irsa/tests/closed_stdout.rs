//! A reader that stops early (`kubectl irsa ... | head -0`) is not an error: the plugin exits 0
//! quietly, as ripgrep and fd do. Stdout here is a pipe whose read end is already closed, so
//! the first write fails with EPIPE every time (no race with a real `head`).

mod common;

use std::process::Stdio;

use common::{Cluster, ROLE, Run};

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
    ] {
        let run = into_closed_pipe(&cluster, args);
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{args:?}");
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
