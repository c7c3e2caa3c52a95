//! krew/package: the release archive it writes, its sum in SHA256SUMS and in the manifest copy,
//! and the plugin installed from that archive the way krew installs it (files moved into
//! store/irsa/VERSION, a relative symlink in bin), then run by the real kubectl.

mod common;

use common::repo;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn archive_name() -> String {
    format!("kubectl-irsa_v{}_linux_amd64.tar.gz", version())
}

fn package<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Command::new(repo().join("krew/package"))
        .args(args)
        .output()
        .unwrap()
}

fn succeeds(output: Output) -> Output {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "krew/package failed: {stderr}");
    output
}

fn sha256_hex(bytes: &[u8]) -> String {
    irsa_sts::hex(&Sha256::digest(bytes))
}

/// A stripped copy of the test build of the plugin: the release profile strips too, and the
/// archive of a 46 MB binary takes seconds to compress where the unstripped one takes half a
/// minute.
fn plugin_binary(dir: &Path) -> PathBuf {
    let copy = dir.join("kubectl-irsa");
    let plugin = env!("CARGO_BIN_EXE_kubectl-irsa");
    let stripped = Command::new("strip")
        .arg("-o")
        .arg(&copy)
        .arg(plugin)
        .status()
        .is_ok_and(|s| s.success());
    if !stripped {
        std::fs::copy(plugin, &copy).unwrap();
    }
    copy
}

/// `tar -tv` of an archive: (mode, owner/group, name) per entry.
fn entries(archive: &Path) -> Vec<(String, String, String)> {
    let output = Command::new("tar")
        .args(["--list", "--verbose", "--numeric-owner", "-zf"])
        .arg(archive)
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [mode, owner, _size, _date, _time, name] = fields[..] else {
                panic!("unexpected tar line {line:?}")
            };
            (mode.into(), owner.into(), name.into())
        })
        .collect()
}

fn entry(mode: &str, name: &str) -> (String, String, String) {
    (mode.into(), "0/0".into(), name.into())
}

/// Installs the archive as krew does for this platform of the manifest: extracts it, applies
/// each `files` operation into store/NAME/VERSION, and links bin/kubectl-NAME to `bin`.
fn krew_install(manifest: &serde_norway::Value, archive: &Path, root: &Path) -> PathBuf {
    let name = manifest["metadata"]["name"].as_str().unwrap();
    let version = manifest["spec"]["version"].as_str().unwrap();
    let platform = linux_amd64(manifest);
    let staging = root.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let extracted = Command::new("tar")
        .arg("-xzf")
        .arg(archive)
        .arg("-C")
        .arg(&staging)
        .status()
        .unwrap();
    assert!(extracted.success());
    let install_dir = root.join("store").join(name).join(version);
    std::fs::create_dir_all(&install_dir).unwrap();
    for op in platform["files"].as_sequence().unwrap() {
        let (from, to) = (op["from"].as_str().unwrap(), op["to"].as_str().unwrap());
        // krew's direct move; a glob would need krew's glob move, which this does not copy.
        assert!(!from.contains(['*', '?', '[']), "glob in files: {from}");
        let source = staging.join(from);
        assert!(source.is_file(), "{from} is not in the archive");
        let target = match to {
            "." => install_dir.join(source.file_name().unwrap()),
            to => install_dir.join(to),
        };
        std::fs::rename(&source, &target).unwrap();
    }
    let bin_dir = root.join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let link = bin_dir.join(format!("kubectl-{}", name.replace('-', "_")));
    let bin = platform["bin"].as_str().unwrap();
    let relative = Path::new("../store").join(name).join(version).join(bin);
    std::os::unix::fs::symlink(relative, &link).unwrap();
    link
}

fn linux_amd64(manifest: &serde_norway::Value) -> &serde_norway::Value {
    let platforms = manifest["spec"]["platforms"].as_sequence().unwrap();
    let labels = |p: &serde_norway::Value| {
        let labels = &p["selector"]["matchLabels"];
        (labels["os"].as_str() == Some("linux")) && (labels["arch"].as_str() == Some("amd64"))
    };
    platforms.iter().find(|p| labels(p)).unwrap()
}

/// The directory of the real kubectl on PATH.
fn kubectl_dir() -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .find(|dir| dir.join("kubectl").is_file())
        .expect("kubectl on PATH")
}

#[test]
fn the_archive_installs_as_krew_installs_it_and_kubectl_runs_it() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = plugin_binary(dir.path());
    let out = dir.path().join("dist");
    let args = [
        OsStr::new("--os"),
        "linux".as_ref(),
        "--arch".as_ref(),
        "amd64".as_ref(),
        "--plugin-bin".as_ref(),
        plugin.as_os_str(),
        "--no-helper".as_ref(),
    ];
    succeeds(package(
        &[&args[..], &["--out".as_ref(), out.as_os_str()]].concat(),
    ));

    // What it writes.
    let written: BTreeSet<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let archive_name = archive_name();
    assert_eq!(
        written,
        BTreeSet::from([
            "SHA256SUMS".into(),
            "irsa.yaml".into(),
            archive_name.clone()
        ])
    );

    // The sum, in SHA256SUMS and in the manifest, which has this one platform (krew.rs renders
    // all four and holds them to krew's rules).
    let archive = out.join(&archive_name);
    let sha = sha256_hex(&std::fs::read(&archive).unwrap());
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    assert_eq!(sums, format!("{sha}  {archive_name}\n"));
    let copy = std::fs::read_to_string(out.join("irsa.yaml")).unwrap();
    let manifest: serde_norway::Value = serde_norway::from_str(&copy).unwrap();
    let platforms = manifest["spec"]["platforms"].as_sequence().unwrap();
    assert_eq!(platforms.len(), 1, "{copy}");
    assert_eq!(
        linux_amd64(&manifest)["sha256"].as_str(),
        Some(sha.as_str())
    );
    assert!(!copy.contains("{{"), "{copy}");

    // The archive: exactly these entries, owned by root, binaries executable.
    assert_eq!(
        entries(&archive),
        [
            entry("-rwxr-xr-x", "kubectl-irsa"),
            entry("-rwxr-xr-x", "kubectl_complete-irsa"),
            entry("-rw-r--r--", "LICENSE"),
        ]
    );

    // Installed as krew would, with kubectl's PATH holding krew's bin and kubectl only.
    let root = dir.path().join("krew");
    let link = krew_install(&manifest, &archive, &root);
    let store = root.join("store/irsa").join(format!("v{}", version()));
    assert_eq!(
        std::fs::read(store.join("kubectl-irsa")).unwrap(),
        std::fs::read(&plugin).unwrap()
    );
    assert_eq!(
        std::fs::read(store.join("LICENSE")).unwrap(),
        std::fs::read(repo().join("LICENSE")).unwrap()
    );
    let path = std::env::join_paths([root.join("bin"), kubectl_dir()]).unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, "").unwrap();
    let kubectl = |args: &[&str]| {
        let output = Command::new("kubectl")
            .env_clear()
            .env("PATH", &path)
            .env("HOME", dir.path())
            .env("KUBECONFIG", &kubeconfig)
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "kubectl {args:?}: {stderr}{stdout}"
        );
        stdout
    };
    let plugins = kubectl(&["plugin", "list"]);
    assert!(plugins.lines().any(|l| Path::new(l) == link), "{plugins}");
    let help = kubectl(&["irsa", "--help"]);
    for verb in [
        "bind",
        "unbind",
        "list",
        "trust-policy",
        "test",
        "whoami",
        "exec",
        "oidc",
        "inject",
        "doctor",
        "version",
        "completion",
    ] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{verb} "))),
            "{verb}: {help}"
        );
    }
    let line = kubectl(&["irsa", "version"]);
    assert!(
        line.starts_with(&format!("kubectl-irsa {} (commit ", version())),
        "{line}"
    );

    // The manifest's caveat, run as written, gives kubectl the completion script.
    let caveats = manifest["spec"]["caveats"].as_str().unwrap();
    let command: String = caveats
        .lines()
        .filter(|l| l.starts_with("  "))
        .map(|l| l.trim().trim_end_matches('\\'))
        .collect::<Vec<_>>()
        .join(" ");
    let copied = Command::new("sh")
        .args(["-c", &command])
        .env("KREW_ROOT", &root)
        .status()
        .unwrap();
    assert!(copied.success(), "{command}");
    assert_eq!(kubectl(&["__complete", "irsa", "tr"]), "trust-policy\n:4\n");
}

#[test]
fn the_archive_is_reproducible() {
    // Two copies of one binary with different mtimes, packaged into two directories.
    let dir = tempfile::tempdir().unwrap();
    let sums: Vec<String> = ["a", "b"]
        .iter()
        .enumerate()
        .map(|(n, name)| {
            let binary = dir.path().join(name);
            std::fs::copy("/bin/true", &binary).unwrap();
            let mtime = std::time::SystemTime::UNIX_EPOCH
                + std::time::Duration::from_secs(1_000_000 * n as u64);
            std::fs::File::options()
                .write(true)
                .open(&binary)
                .unwrap()
                .set_modified(mtime)
                .unwrap();
            let out = dir.path().join(format!("out-{name}"));
            let args = [
                OsStr::new("--plugin-bin"),
                binary.as_os_str(),
                "--no-helper".as_ref(),
                "--out".as_ref(),
                out.as_os_str(),
            ];
            succeeds(package(&args));
            std::fs::read_to_string(out.join("SHA256SUMS")).unwrap()
        })
        .collect();
    assert_eq!(sums[0], sums[1]);
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("v{}", version());
    let license = repo().join("LICENSE");
    let license = license.to_str().unwrap();
    for (args, expected) in [
        (vec!["--bogus"], "unknown argument --bogus (see krew/package --help)".to_string()),
        (vec!["--out"], "--out needs a value".into()),
        (vec!["--plugin-bin", "/nonexistent/kubectl-irsa"], "/nonexistent/kubectl-irsa: no such file".into()),
        (vec!["--plugin-bin", license, "--no-helper"], format!("{license} is not a linux/amd64 executable")),
        (vec!["--helper-bin", "/bin/true", "--no-helper"], "--helper-bin and --no-helper exclude each other".into()),
        (
            vec!["--plugin-bin", "/bin/true", "--helper-bin", "/bin/true"],
            "/bin/true is dynamically linked; the helper ships static (build_static_helper in tests/lib.sh)".into(),
        ),
        (
            vec!["--plugin-bin", "/bin/true", "--no-helper", "--tag", "v9.9.9"],
            format!("--tag v9.9.9, but Cargo.toml has version {}: tag {tag}, or bump [workspace.package] version first", version()),
        ),
        (vec!["--os", "windows"], "--os windows: expected linux or darwin".into()),
        (vec!["--arch", "386"], "--arch 386: expected amd64 or arm64".into()),
        (vec!["--os", "darwin", "--helper-bin", "/bin/true"], "--helper-bin with --os darwin: the helper ships for linux only".into()),
        (
            vec!["--os", "darwin", "--arch", "arm64"],
            "this machine is linux/amd64, not darwin/arm64: pass --plugin-bin (and --helper-bin or --no-helper)".into(),
        ),
        (vec!["--arch", "arm64", "--plugin-bin", "/bin/true", "--no-helper"], "/bin/true is not a linux/arm64 executable".into()),
        (vec!["--os", "darwin", "--plugin-bin", "/bin/true"], "/bin/true is not a darwin/amd64 executable".into()),
    ] {
        let out = dir.path().join("out");
        let args = [vec!["--out", out.to_str().unwrap()], args].concat();
        let output = package(&args);
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr, format!("krew/package: error: {expected}\n"), "{args:?}");
        assert!(output.stdout.is_empty());
    }
    assert!(
        !dir.path().join("out").exists(),
        "bad input must write nothing"
    );
}

#[test]
#[ignore = "needs the static release build of irsa-credential-process (tests/run builds it)"]
fn the_helper_archive_holds_the_static_helper() {
    let helper = repo().join("target/x86_64-unknown-linux-gnu/release/irsa-credential-process");
    let dir = tempfile::tempdir().unwrap();
    let args = [
        OsStr::new("--plugin-bin"),
        "/bin/true".as_ref(),
        "--helper-bin".as_ref(),
        helper.as_os_str(),
        "--out".as_ref(),
        dir.path().as_os_str(),
    ];
    succeeds(package(&args));
    let name = format!("irsa-credential-process_v{}_linux_amd64.tar.gz", version());
    let archive = dir.path().join(&name);
    assert_eq!(
        entries(&archive),
        [
            entry("-rwxr-xr-x", "irsa-credential-process"),
            entry("-rw-r--r--", "LICENSE")
        ]
    );
    let sums = std::fs::read_to_string(dir.path().join("SHA256SUMS")).unwrap();
    let sha = sha256_hex(&std::fs::read(&archive).unwrap());
    assert!(
        sums.lines().any(|line| line == format!("{sha}  {name}")),
        "{sums}"
    );
}

/// The release workflow's linux job step "The packaged binaries run here", run as written on
/// what krew/package wrote from this machine's binaries.
#[test]
#[ignore = "needs the static release build of irsa-credential-process (tests/run builds it)"]
fn the_release_jobs_smoke_step_runs_the_packaged_binaries() {
    let workflow: serde_norway::Value =
        serde_norway::from_str(&common::read(".github/workflows/release.yml")).unwrap();
    let steps = workflow["jobs"]["linux"]["steps"].as_sequence().unwrap();
    let step = steps
        .iter()
        .find(|s| s["name"].as_str() == Some("The packaged binaries run here"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let helper = repo().join("target/x86_64-unknown-linux-gnu/release/irsa-credential-process");
    let plugin = plugin_binary(dir.path());
    let dist = dir.path().join("dist");
    let args = [
        OsStr::new("--os"),
        "linux".as_ref(),
        "--arch".as_ref(),
        "amd64".as_ref(),
        "--plugin-bin".as_ref(),
        plugin.as_os_str(),
        "--helper-bin".as_ref(),
        helper.as_os_str(),
        "--out".as_ref(),
        dist.as_os_str(),
    ];
    succeeds(package(&args));
    let summary = dir.path().join("summary");
    let output = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
        .arg(step["run"].as_str().unwrap())
        .current_dir(dir.path())
        .env("TAG", format!("v{}", version()))
        .env("ARCH", "amd64")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let [plugin_line, helper_line, glibc_line] = lines[..] else {
        panic!("{stdout}")
    };
    assert!(
        plugin_line.starts_with(&format!("kubectl-irsa {} (commit ", version())),
        "{stdout}"
    );
    assert_eq!(
        helper_line,
        format!("irsa-credential-process {}", version())
    );
    assert!(
        glibc_line.starts_with("kubectl-irsa linux/amd64 needs GLIBC 2.")
            && glibc_line.ends_with(" or newer"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(summary).unwrap(),
        format!("{glibc_line}\n")
    );
}
