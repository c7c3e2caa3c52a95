//! One version everywhere: the workspace's (Cargo.toml's [workspace.package]), every member's
//! and Cargo.lock's, what both binaries print, the krew manifest krew/package writes (the
//! template takes the tag), and CHANGELOG.md's latest section, which .github/release-notes
//! gives the release.

mod common;

use common::{read, repo};

use std::path::PathBuf;
use std::process::Command;

const MEMBERS: [&str; 4] = [
    "irsa-sts",
    "irsa-credential-process",
    "kubectl-irsa",
    "tests",
];

/// `key = "value"` from the [workspace.package] of the root Cargo.toml.
fn workspace_package(key: &str) -> String {
    let text = read("Cargo.toml");
    let section = text.split("[workspace.package]\n").nth(1).unwrap();
    let prefix = format!("{key} = \"");
    let line = section.lines().find(|l| l.starts_with(&prefix)).unwrap();
    line[prefix.len()..].trim_end_matches('"').to_string()
}

fn version() -> String {
    workspace_package("version")
}

fn stdout(command: &mut Command) -> String {
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{command:?}: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn every_member_and_the_lock_file_have_the_workspace_version() {
    let version = version();
    assert_eq!(env!("CARGO_PKG_VERSION"), version);
    let lock = read("Cargo.lock");
    for member in MEMBERS {
        let manifest = read(&format!("{member}/Cargo.toml"));
        assert!(
            manifest.contains("\nversion.workspace = true\n"),
            "{member}/Cargo.toml"
        );
        let entry = format!("[[package]]\nname = \"{member}\"\nversion = \"{version}\"\n");
        assert!(
            lock.contains(&entry),
            "Cargo.lock has another version of {member}"
        );
    }
}

/// The helper, built next to this test's binary by `cargo test --workspace`.
fn helper() -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let path = deps
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("irsa-credential-process");
    assert!(
        path.is_file(),
        "{}: `cargo test --workspace` builds it",
        path.display()
    );
    path
}

#[test]
fn both_binaries_print_the_workspace_version() {
    let version = version();
    let plugin = stdout(Command::new(env!("CARGO_BIN_EXE_kubectl-irsa")).arg("version"));
    assert!(
        plugin.starts_with(&format!("kubectl-irsa {version} (commit ")),
        "{plugin}"
    );
    let helper = stdout(Command::new(helper()).arg("--version"));
    assert_eq!(helper, format!("irsa-credential-process {version}\n"));
}

#[test]
fn the_krew_manifest_takes_the_version_of_the_tag() {
    let template = read("krew/.krew.yaml");
    assert!(
        template.contains("\n  version: {{ .TagName }}\n"),
        "{template}"
    );
    let dir = tempfile::tempdir().unwrap();
    stdout(
        Command::new(repo().join("krew/package"))
            .args(["--plugin-bin", "/bin/true", "--no-helper", "--out"])
            .arg(dir.path()),
    );
    let manifest = std::fs::read_to_string(dir.path().join("irsa.yaml")).unwrap();
    let manifest: serde_norway::Value = serde_norway::from_str(&manifest).unwrap();
    assert_eq!(
        manifest["spec"]["version"].as_str().unwrap(),
        format!("v{}", version())
    );
}

#[test]
fn the_changelogs_latest_section_is_the_workspace_version() {
    let (version, repository) = (version(), workspace_package("repository"));
    let changelog = read("CHANGELOG.md");
    let latest = changelog.lines().find(|l| l.starts_with("## [")).unwrap();
    assert!(
        latest.starts_with(&format!("## [{version}] - ")),
        "{latest}"
    );
    let link = format!("\n[{version}]: {repository}/releases/tag/v{version}\n");
    assert!(changelog.contains(&link), "CHANGELOG.md lacks {link:?}");

    let notes =
        stdout(Command::new(repo().join(".github/release-notes")).arg(format!("v{version}")));
    let section = changelog.split(latest).nth(1).unwrap();
    let section = section.split(&format!("\n[{version}]: ")).next().unwrap();
    assert_eq!(notes, format!("{}\n", section.trim()));
    assert!(notes.contains("\n### Added\n"), "{notes}");
}

#[test]
fn release_notes_refuse_a_tag_without_a_section() {
    let changelog = repo().join("CHANGELOG.md");
    for (tag, error) in [
        (
            "v9.9.9".to_string(),
            format!(
                "{} has no notes under ## [9.9.9]: write them before tagging v9.9.9",
                changelog.display()
            ),
        ),
        ("0.1".into(), "0.1 is not a tag like v0.1.0".into()),
    ] {
        let output = Command::new(repo().join(".github/release-notes"))
            .arg(&tag)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{tag}");
        assert!(output.stdout.is_empty());
        assert_eq!(
            String::from_utf8(output.stderr).unwrap(),
            format!(".github/release-notes: error: {error}\n")
        );
    }
}
