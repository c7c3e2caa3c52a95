//! `version`, completion scripts, and kubectl's own plugin completion through the
//! kubectl_complete-irsa script.

mod common;

use std::path::Path;

use common::{Cluster, ROLE};

#[test]
fn version_names_the_version_commit_and_target() {
    let cluster = Cluster::start();
    let run = cluster.run(&["version"]);
    let line = run.ok().stdout.trim().to_string();
    assert!(
        line.starts_with(&format!(
            "kubectl-irsa {} (commit ",
            env!("CARGO_PKG_VERSION")
        )),
        "{line}"
    );
    assert!(line.ends_with(", x86_64-unknown-linux-gnu)"), "{line}");
}

#[test]
fn completion_scripts_for_each_shell() {
    let cluster = Cluster::start();
    for (shell, marker) in [
        ("bash", "complete -F _kubectl__irsa"),
        ("zsh", "#compdef kubectl-irsa"),
        ("fish", "complete -c kubectl-irsa"),
    ] {
        let run = cluster.run(&["completion", shell]);
        assert!(
            run.ok().stdout.contains(marker),
            "{shell}: {}",
            &run.stdout[..200.min(run.stdout.len())]
        );
    }
    cluster
        .run(&["completion", "tcsh"])
        .fails(2, "invalid value 'tcsh'");
}

#[test]
fn kubectl_completes_verbs_namespaces_and_service_accounts() {
    let cluster = Cluster::start();
    cluster
        .fake
        .add_service_account("shop", "cart", &[("eks.amazonaws.com/role-arn", ROLE)]);
    // kubectl finds the plugin and its completion script on PATH, as the README installs them
    // (krew links only the plugin; the manifest's caveat copies the script).
    let bin = cluster.dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_kubectl-irsa"), bin.join("kubectl-irsa")).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("kubectl_complete-irsa");
    std::fs::copy(&script, bin.join("kubectl_complete-irsa")).unwrap();
    let complete =
        |words: &[&str]| cluster.kubectl_ok(Some(&bin), &[&["__complete", "irsa"], words].concat());
    assert_eq!(complete(&["tr"]), "trust-policy\n:4\n");
    assert_eq!(complete(&["bind", "-n", "sh"]), "shop\n:4\n");
    assert_eq!(complete(&["whoami", "-n", "shop", "c"]), "cart\n:4\n");
    assert!(complete(&["bind", "--role-"]).contains("--role-arn\n"));
}
