//! The release workflow's `release` and `image` jobs run here step by step, as written: their
//! `run:` blocks under bash -eo pipefail with their `env:`, `gh` and `docker` replaced by
//! recorders. The linux and darwin jobs' outputs (their artifacts) are made by krew/package from
//! files with each platform's executable header: this machine builds x86_64 Linux only.

use super::*;

const OWNER: &str = "kubectl-irsa";

fn job_steps(job: &str) -> Vec<Value> {
    let workflow = workflow(".github/workflows/release.yml");
    workflow["jobs"][job]["steps"]
        .as_sequence()
        .unwrap()
        .clone()
}

/// A file with os/arch's executable header (see krew/packaged.rs), for krew/package.
fn header(path: &Path, os: &str, arch: &str) {
    let mut bytes = vec![0u8; 64];
    if os == "linux" {
        bytes[..8].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
        (bytes[16], bytes[20], bytes[52]) = (2, 1, 64);
        bytes[18] = if arch == "amd64" { 0x3e } else { 0xb7 };
    } else {
        bytes[..4].copy_from_slice(&[0xcf, 0xfa, 0xed, 0xfe]);
        (bytes[4], bytes[7]) = (if arch == "amd64" { 0x07 } else { 0x0c }, 1);
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

struct Runner {
    work: PathBuf,
    fake_bin: PathBuf,
    temp: PathBuf,
}

impl Runner {
    fn new(root: &Path) -> Runner {
        let (work, fake_bin, temp) = (root.join("work"), root.join("fake"), root.join("runner"));
        for dir in [&work, &fake_bin, &temp] {
            std::fs::create_dir_all(dir).unwrap();
        }
        for linked in ["Cargo.toml", "irsa-credential-process"] {
            std::os::unix::fs::symlink(repo().join(linked), work.join(linked)).unwrap();
        }
        // Each call: its arguments on one line; docker login's stdin in its own file.
        for tool in ["gh", "docker"] {
            let script = format!(
                "#!/bin/sh\nprintf '%s\\n' \"{tool} $*\" >> '{log}'\n\
                 case \"$*\" in *--password-stdin*) cat > '{stdin}' ;; esac\n",
                log = root.join("calls").display(),
                stdin = root.join("stdin").display(),
            );
            let path = fake_bin.join(tool);
            std::fs::write(&path, script).unwrap();
            run(Command::new("chmod").arg("755").arg(&path));
        }
        Runner {
            work,
            fake_bin,
            temp,
        }
    }

    /// Runs every `run:` step of a job, as GitHub's bash does, with the repository's scripts
    /// called by their absolute paths (the work directory holds only what the job made).
    fn job(&self, job: &str) {
        for step in job_steps(job) {
            let Some(script) = step["run"].as_str() else {
                continue;
            };
            let mut script = script.to_string();
            for name in SCRIPTS {
                script = script.replace(name, repo().join(name).to_str().unwrap());
            }
            let mut command = Command::new("bash");
            command.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script]);
            let path = std::env::join_paths(
                std::iter::once(self.fake_bin.clone())
                    .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
            )
            .unwrap();
            command
                .current_dir(&self.work)
                .env("PATH", path)
                .env("RUNNER_TEMP", &self.temp)
                .env("GITHUB_REPOSITORY_OWNER", OWNER)
                .env("GITHUB_REPOSITORY", format!("{OWNER}/kubectl-irsa"))
                .env("GITHUB_SERVER_URL", "https://github.com");
            for (name, value) in step["env"].as_mapping().into_iter().flatten() {
                let value = value.as_str().unwrap();
                let inner = value
                    .strip_prefix("${{ ")
                    .and_then(|v| v.strip_suffix(" }}"));
                let value = inner.map_or(value.to_string(), |e| expression(e, ""));
                command.env(name.as_str().unwrap(), value);
            }
            run(&mut command);
        }
    }
}

#[test]
fn the_release_and_image_jobs_run_as_written() {
    let root = tempfile::tempdir().unwrap();
    let runner = Runner::new(root.path());
    let tag = expression("github.ref_name", "");
    let dist = runner.work.join("dist");
    std::fs::create_dir_all(&dist).unwrap();

    // The linux jobs' artifacts (dist/*.tar.gz of each, merged) and the darwin jobs' binaries
    // (bin/ARTIFACT/kubectl-irsa, as download-artifact lays out several artifacts).
    for arch in ["amd64", "arm64"] {
        let (job_out, plugin, helper) = (
            root.path().join(arch),
            root.path().join("p"),
            root.path().join("h"),
        );
        header(&plugin, "linux", arch);
        header(&helper, "linux", arch);
        run(Command::new(repo().join("krew/package"))
            .args([
                "--os",
                "linux",
                "--arch",
                arch,
                "--tag",
                &tag,
                "--plugin-bin",
            ])
            .args([
                &plugin,
                &PathBuf::from("--helper-bin"),
                &helper,
                &PathBuf::from("--out"),
                &job_out,
            ]));
        for entry in std::fs::read_dir(&job_out).unwrap() {
            let path = entry.unwrap().path();
            if path.to_str().unwrap().ends_with(".tar.gz") {
                std::fs::copy(&path, dist.join(path.file_name().unwrap())).unwrap();
            }
        }
        let darwin = runner
            .work
            .join(format!("bin/bin-darwin-{arch}/kubectl-irsa"));
        header(&darwin, "darwin", arch);
    }

    runner.job("release");
    let calls = std::fs::read_to_string(root.path().join("calls")).unwrap();
    let mut assets: Vec<String> = ["kubectl-irsa", "irsa-credential-process"]
        .iter()
        .flat_map(|name| {
            let platforms = if *name == "kubectl-irsa" { 4 } else { 2 };
            ["linux_amd64", "linux_arm64", "darwin_amd64", "darwin_arm64"][..platforms]
                .iter()
                .map(move |p| {
                    format!(
                        "dist/{name}_{tag}_{p}.tar.gz",
                        tag = expression("github.ref_name", "")
                    )
                })
        })
        .collect();
    assets.sort();
    let notes = runner.temp.join("notes.md");
    assert_eq!(
        calls,
        format!(
            "gh release create {tag} --verify-tag --title {tag} --notes-file {} {} dist/SHA256SUMS dist/irsa.yaml\n",
            notes.display(),
            assets.join(" ")
        )
    );
    let section = run(Command::new(repo().join(".github/release-notes")).arg(&tag)).stdout;
    assert_eq!(std::fs::read(&notes).unwrap(), section);
    let manifest = std::fs::read_to_string(dist.join("irsa.yaml")).unwrap();
    assert_eq!(manifest.matches("    sha256: ").count(), 4, "{manifest}");
    assert!(!manifest.contains(&"0".repeat(64)), "{manifest}");
    assert_eq!(
        std::fs::read_to_string(dist.join("SHA256SUMS"))
            .unwrap()
            .lines()
            .count(),
        6
    );

    std::fs::remove_file(root.path().join("calls")).unwrap();
    runner.job("image");
    let image = format!("ghcr.io/{OWNER}/irsa-credential-process:{tag}");
    assert_eq!(
        std::fs::read_to_string(root.path().join("calls")).unwrap(),
        format!(
            "docker login ghcr.io --username octocat --password-stdin\n\
             docker buildx create --use --name release\n\
             docker buildx build --push --platform linux/amd64,linux/arm64 \
             --file irsa-credential-process/Dockerfile --target prebuilt \
             --label org.opencontainers.image.source=https://github.com/{OWNER}/kubectl-irsa \
             --label org.opencontainers.image.version={tag} \
             --label org.opencontainers.image.licenses=Apache-2.0 --tag {image} context\n\
             docker buildx imagetools inspect {image}\n\
             docker run --rm --platform linux/amd64 {image} --version\n"
        )
    );
    let token = expression("github.token", "");
    assert_eq!(
        std::fs::read_to_string(root.path().join("stdin")).unwrap(),
        token
    );
    // The context holds what the Dockerfile's prebuilt stage copies, for both platforms.
    let dockerfile = read("irsa-credential-process/Dockerfile");
    assert!(dockerfile.contains("\nFROM scratch AS prebuilt\nARG TARGETARCH\nARG HELPER=irsa-credential-process-linux-${TARGETARCH}\nCOPY ${HELPER} /irsa-credential-process\n"), "{dockerfile}");
    for arch in ["amd64", "arm64"] {
        let copied = runner
            .work
            .join(format!("context/irsa-credential-process-linux-{arch}"));
        let expected = root.path().join("expected");
        header(&expected, "linux", arch);
        assert_eq!(
            std::fs::read(copied).unwrap(),
            std::fs::read(&expected).unwrap()
        );
    }
}

/// What the release job downloads is what the build jobs upload.
#[test]
fn the_artifacts_downloaded_are_those_uploaded() {
    let names = |job: &str, key: &str| -> Vec<String> {
        job_steps(job)
            .iter()
            .filter_map(|s| s["with"][key].as_str().map(String::from))
            .collect()
    };
    assert_eq!(names("linux", "name"), ["dist-linux-${{ matrix.arch }}"]);
    assert_eq!(names("darwin", "name"), ["bin-darwin-${{ matrix.arch }}"]);
    assert_eq!(names("darwin", "path"), ["target/release/kubectl-irsa"]);
    assert_eq!(
        names("release", "pattern"),
        ["dist-linux-*", "bin-darwin-*"]
    );
    assert_eq!(names("image", "pattern"), ["dist-linux-*"]);
}

/// krew-release-bot renders the template krew/package renders (krew.rs holds the two to one
/// rendering), once the index has the plugin.
#[test]
fn the_krew_job_renders_the_template_krew_package_renders() {
    let workflow = workflow(".github/workflows/release.yml");
    let job = &workflow["jobs"]["krew"];
    assert_eq!(
        job["if"].as_str(),
        Some("vars.KREW_INDEX_HAS_IRSA == 'true'")
    );
    let steps = job["steps"].as_sequence().unwrap();
    let bot = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .unwrap()
                .starts_with("rajatjindal/krew-release-bot@")
        })
        .unwrap();
    let template = bot["with"]["krew_template_file"].as_str().unwrap();
    assert_eq!(template, "krew/.krew.yaml");
    assert!(read("krew/package").contains("awk -v tag=\"$tag\" -v template=krew/.krew.yaml"));
}
