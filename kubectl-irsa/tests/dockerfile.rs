//! irsa-credential-process/Dockerfile, checked against the workspace it builds. There is no
//! Docker engine here to build it, so this holds it to the facts the image depends on: the
//! workspace's toolchain and sources, the static build tests/run tests, and an empty final image
//! that runs the binary as a numeric non-root user.

mod common;

use common::{read, repo};

use std::collections::BTreeSet;

/// `key = "value"` from the `[workspace.package]` section of the root Cargo.toml.
fn workspace_package(key: &str) -> String {
    let text = read("Cargo.toml");
    let section = text.split("[workspace.package]").nth(1).unwrap();
    let prefix = format!("{key} = \"");
    let line = section
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap();
    line.trim_end_matches('"').to_string()
}

/// The Dockerfile's instructions, continuation lines joined and comments dropped, by stage.
fn dockerfile_stages() -> Vec<Vec<String>> {
    let text = read("irsa-credential-process/Dockerfile");
    let mut stages: Vec<Vec<String>> = Vec::new();
    let mut pending = String::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        let instruction = std::mem::take(&mut pending) + line;
        if instruction.starts_with("FROM ") {
            stages.push(Vec::new());
        }
        stages
            .last_mut()
            .expect("FROM comes first")
            .push(instruction);
    }
    stages
}

/// The single-quoted value of `name='...'` in tests/lib.sh.
fn lib_sh(name: &str) -> String {
    let text = read("tests/lib.sh");
    let prefix = format!("{name}='");
    let line = text.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap();
    line.trim_end_matches('\'').to_string()
}

#[test]
fn dockerfile_builds_the_static_helper_into_an_empty_image() {
    let stages = dockerfile_stages();
    assert_eq!(stages.len(), 2, "{stages:#?}");
    let (builder, image) = (&stages[0], &stages[1]);

    // The builder: the workspace's toolchain, its sources, and the build tests/run does.
    let rust = workspace_package("rust-version");
    assert_eq!(builder[0], format!("FROM rust:{rust}-bookworm AS builder"));
    let workdir = builder
        .iter()
        .find_map(|i| i.strip_prefix("WORKDIR "))
        .unwrap();
    let mut copied = BTreeSet::new();
    for copy in builder.iter().filter_map(|i| i.strip_prefix("COPY ")) {
        let words: Vec<&str> = copy.split_whitespace().collect();
        for source in &words[..words.len() - 1] {
            assert!(
                repo().join(source).exists(),
                "COPY {source}: not in the repository"
            );
            copied.insert(source.to_string());
        }
    }
    let members = cargo_toml_members();
    for needed in members
        .iter()
        .map(String::as_str)
        .chain(["Cargo.toml", "Cargo.lock"])
    {
        assert!(
            copied.contains(needed),
            "the builder does not copy {needed}: {copied:?}"
        );
    }
    let run = builder.iter().find_map(|i| i.strip_prefix("RUN ")).unwrap();
    let rustflags = lib_sh("static_rustflags");
    assert!(
        run.starts_with(&format!("RUSTFLAGS='{rustflags}' cargo build ")),
        "{run}"
    );
    for flag in [
        "--locked",
        "--release",
        "--target x86_64-unknown-linux-gnu",
        "-p irsa-credential-process",
    ] {
        assert!(run.contains(flag), "{run} lacks {flag}");
    }

    // The image: nothing but the binary, run as a numeric non-root user, in exec form (there is
    // no shell to run a command string).
    assert_eq!(image[0], "FROM scratch");
    let built =
        format!("{workdir}/target/x86_64-unknown-linux-gnu/release/irsa-credential-process");
    assert_eq!(
        image[1],
        format!("COPY --from=builder {built} /irsa-credential-process")
    );
    let user = image.iter().find_map(|i| i.strip_prefix("USER ")).unwrap();
    let ids: Vec<u32> = user.split(':').map(|id| id.parse().unwrap()).collect();
    assert!(
        ids.len() == 2 && ids.iter().all(|&id| id != 0),
        "USER {user}"
    );
    assert_eq!(
        image.last().unwrap(),
        r#"ENTRYPOINT ["/irsa-credential-process"]"#
    );
    assert!(
        !image.iter().any(|i| i.starts_with("RUN ")),
        "scratch has no shell: {image:#?}"
    );
}

fn cargo_toml_members() -> Vec<String> {
    let text = read("Cargo.toml");
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("members = ["))
        .unwrap();
    line.trim_end_matches(']')
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_string())
        .collect()
}

/// `kubectl irsa inject --serve` runs `/irsa-credential-process probe` as the sidecar's
/// startupProbe: the image must hold the helper there.
#[test]
fn the_image_puts_the_helper_where_the_sidecar_probe_runs_it() {
    let dockerfile = read("irsa-credential-process/Dockerfile");
    assert!(
        dockerfile.contains(r#"ENTRYPOINT ["/irsa-credential-process"]"#),
        "{dockerfile}"
    );
}
