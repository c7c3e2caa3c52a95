//! irsa-credential-process/Dockerfile, checked against the workspace it builds. Its `prebuilt`
//! target is built and run with buildah and podman by irsa-credential-process/tests/image.rs;
//! the `builder` stage pulls a Rust image, which cannot be done here, so this holds it to the
//! facts it depends on: the workspace's toolchain and sources, the static build tests/run
//! tests, and empty final images that run the binary as a numeric non-root user.

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

#[test]
fn dockerfile_builds_the_static_helper_into_an_empty_image() {
    let stages = dockerfile_stages();
    assert_eq!(stages.len(), 3, "{stages:#?}");
    let (builder, prebuilt, image) = (&stages[0], &stages[1], &stages[2]);

    // The builder: the workspace's toolchain, its sources, and the build tests/lib.sh runs.
    let rust = workspace_package("rust-version");
    assert_eq!(builder[0], format!("FROM rust:{rust}-bookworm AS builder"));
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
        .chain(["Cargo.toml", "Cargo.lock", ".cargo"])
    {
        assert!(
            copied.contains(needed),
            "the builder does not copy {needed}: {copied:?}"
        );
    }
    let run = builder.iter().find_map(|i| i.strip_prefix("RUN ")).unwrap();
    assert_eq!(
        run,
        r#"cargo "static-helper-$(uname -m)" --locked && cp "target/$(uname -m)-unknown-linux-gnu/release/irsa-credential-process" /irsa-credential-process"#
    );
    assert!(
        read("tests/lib.sh").contains(r#"cargo "static-helper-$(uname -m)" "$@""#),
        "tests/lib.sh builds the helper as the Dockerfile does"
    );

    // The images: nothing but the binary (prebuilt, or the builder's), run as a numeric
    // non-root user, in exec form (there is no shell to run a command string).
    assert_eq!(
        prebuilt[..4],
        [
            "FROM scratch AS prebuilt",
            "ARG TARGETARCH",
            "ARG HELPER=irsa-credential-process-linux-${TARGETARCH}",
            "COPY ${HELPER} /irsa-credential-process",
        ]
    );
    assert_eq!(
        image[..2],
        [
            "FROM scratch AS image",
            "COPY --from=builder /irsa-credential-process /irsa-credential-process",
        ]
    );
    for stage in [prebuilt, image] {
        assert_eq!(
            stage[stage.len() - 2..],
            [
                "USER 65532:65532",
                r#"ENTRYPOINT ["/irsa-credential-process"]"#
            ]
        );
        assert!(
            !stage.iter().any(|i| i.starts_with("RUN ")),
            "scratch has no shell: {stage:#?}"
        );
    }
}

/// `cargo static-helper-<arch>` (.cargo/config.toml) builds the helper static, with the
/// getrandom backend an empty root needs, for each architecture release CI builds.
#[test]
fn the_static_build_alias_holds_both_flags_for_each_architecture() {
    let config = read(".cargo/config.toml");
    assert!(
        config.contains(r#"static-helper = "static-helper-x86_64""#),
        "{config}"
    );
    for arch in ["x86_64", "aarch64"] {
        let target = format!("{arch}-unknown-linux-gnu");
        let alias = format!(
            r#"static-helper-{arch} = [
    "build", "--release", "--target", "{target}", "-p", "irsa-credential-process",
    "--config", "target.{target}.rustflags = ['-C', 'target-feature=+crt-static', '--cfg', 'getrandom_backend=\"linux_getrandom\"']",
]"#
        );
        assert!(config.contains(&alias), "{config}\nlacks\n{alias}");
    }
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
