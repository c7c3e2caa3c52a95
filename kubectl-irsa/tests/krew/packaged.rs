//! krew/package for every platform the release builds, from prebuilt binaries: this machine
//! builds only x86_64 Linux, so the linux/arm64 and darwin binaries here are files with those
//! platforms' executable headers (ELF EM_AARCH64, Mach-O x86_64 and arm64) and nothing else.
//! What the release job does with the real ones is the same commands, in the same order.

use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

use super::{common::repo, parse, read, render_template, validate, workspace};

/// A file with the executable header of os/arch: a 64-byte ELF header (no program headers, so
/// no interpreter: it passes for static) or a Mach-O 64 header.
fn executable_header(path: &Path, os: &str, arch: &str) {
    let mut bytes = vec![0u8; 64];
    match os {
        "linux" => {
            bytes[..8].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
            bytes[16] = 2; // ET_EXEC
            bytes[18] = if arch == "amd64" { 0x3e } else { 0xb7 };
            bytes[20] = 1; // EV_CURRENT
            bytes[52] = 64; // e_ehsize
        }
        _ => {
            bytes[..4].copy_from_slice(&[0xcf, 0xfa, 0xed, 0xfe]);
            bytes[4] = if arch == "amd64" { 0x07 } else { 0x0c };
            bytes[7] = 0x01; // CPU_ARCH_ABI64
        }
    }
    std::fs::write(path, bytes).unwrap();
}

fn package(args: &[&str]) {
    let output = Command::new(repo().join("krew/package"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "krew/package {args:?}: {stderr}");
}

/// The release job's runs: linux archives from the linux jobs, then darwin from prebuilt
/// binaries, the last with --complete. Its manifest is exactly the bot's rendering of
/// krew/.krew.yaml for the archives it wrote, and SHA256SUMS sums all six.
#[test]
fn every_platform_packaged_renders_the_template_as_the_bot_does() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    let out_arg = out.to_str().unwrap();
    let tag = format!("v{}", workspace().version);
    let platforms = [
        ("linux", "amd64"),
        ("linux", "arm64"),
        ("darwin", "amd64"),
        ("darwin", "arm64"),
    ];
    for (n, (os, arch)) in platforms.into_iter().enumerate() {
        let plugin = dir.path().join(format!("kubectl-irsa-{os}-{arch}"));
        executable_header(&plugin, os, arch);
        let helper = dir.path().join(format!("helper-{os}-{arch}"));
        executable_header(&helper, os, arch);
        let mut args = vec!["--os", os, "--arch", arch, "--tag", &tag, "--out", out_arg];
        args.extend(["--plugin-bin", plugin.to_str().unwrap()]);
        match os {
            "linux" => args.extend(["--helper-bin", helper.to_str().unwrap()]),
            _ => args.push("--no-helper"),
        }
        if n == platforms.len() - 1 {
            args.push("--complete");
        }
        package(&args);
    }

    let sha_of =
        |name: &str| irsa_sts::hex(&Sha256::digest(std::fs::read(out.join(name)).unwrap()));
    let mut names = Vec::new();
    for (os, arch) in platforms {
        names.push(format!("kubectl-irsa_{tag}_{os}_{arch}.tar.gz"));
        if os == "linux" {
            names.push(format!("irsa-credential-process_{tag}_{os}_{arch}.tar.gz"));
        }
    }
    names.sort();
    let sums: String = names
        .iter()
        .map(|name| format!("{}  {name}\n", sha_of(name)))
        .collect();
    assert_eq!(
        std::fs::read_to_string(out.join("SHA256SUMS")).unwrap(),
        sums
    );

    let manifest = std::fs::read_to_string(out.join("irsa.yaml")).unwrap();
    let bot = render_template(&read("krew/.krew.yaml"), &tag, |uri| {
        sha_of(uri.rsplit('/').next().unwrap())
    })
    .unwrap();
    assert_eq!(manifest, bot);
    let errors = validate("irsa", &parse(&manifest), &workspace());
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// Without the darwin archives, --complete refuses, naming the first one missing.
#[test]
fn complete_refuses_a_release_missing_an_archive() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    let output = Command::new(repo().join("krew/package"))
        .args([
            "--plugin-bin",
            "/bin/true",
            "--no-helper",
            "--complete",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let version = &workspace().version;
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr)
            .unwrap()
            .lines()
            .last()
            .unwrap(),
        format!(
            "krew/package: error: --complete: {} has no kubectl-irsa_v{version}_linux_arm64.tar.gz",
            out.display()
        )
    );
}
