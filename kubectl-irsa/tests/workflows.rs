//! The GitHub workflows (.github/workflows): valid by GitHub's schema (check-jsonschema's
//! vendored copy of SchemaStore's github-workflow schema), without a zizmor finding above
//! informational (unpinned actions, excessive permissions, template injection, credentials
//! left in the checkout), every repository script they run present and taking the flags they
//! pass, and the release job's steps run here as written, with `gh` and `docker` replaced by
//! recorders. Both linters run offline, from the test venv (tests/setup-venv).

mod common;

use common::{read, repo};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_norway::Value;

const WORKFLOWS: [&str; 2] = [".github/workflows/ci.yml", ".github/workflows/release.yml"];
/// The repository's scripts the workflows may run.
const SCRIPTS: [&str; 3] = ["krew/package", ".ci/run", ".github/release-notes"];

fn venv_bin(name: &str) -> PathBuf {
    let venv = std::env::var_os("IRSA_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/test-venv"));
    let bin = venv.join("bin").join(name);
    assert!(
        bin.is_file(),
        "{} is missing: run tests/setup-venv",
        bin.display()
    );
    bin
}

fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{command:?}: {stderr}");
    output
}

fn workflow(path: &str) -> Value {
    serde_norway::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every step of every job of a workflow: (job id, step).
fn steps(workflow: &Value) -> Vec<(String, Value)> {
    let jobs = workflow["jobs"].as_mapping().unwrap();
    let mut steps = Vec::new();
    for (id, job) in jobs {
        for step in job["steps"].as_sequence().unwrap() {
            steps.push((id.as_str().unwrap().to_string(), step.clone()));
        }
    }
    steps
}

#[test]
fn the_workflows_match_githubs_schema() {
    let output = run(Command::new(venv_bin("check-jsonschema"))
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(WORKFLOWS)
        .current_dir(repo()));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "ok -- validation done\n"
    );
}

/// zizmor's findings above informational, one line each.
fn zizmor(paths: &[&Path]) -> Vec<String> {
    let output = Command::new(venv_bin("zizmor"))
        .args(["--offline", "--persona", "auditor", "--format", "json"])
        .args(paths)
        .output()
        .unwrap();
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("zizmor: {e}: {}", String::from_utf8_lossy(&output.stderr)));
    findings
        .iter()
        .filter(|f| f["determinations"]["severity"] != "Informational")
        .map(|f| format!("{}: {}", f["ident"], f["desc"]))
        .collect()
}

#[test]
fn zizmor_finds_nothing_above_informational() {
    let paths: Vec<PathBuf> = WORKFLOWS.iter().map(|w| repo().join(w)).collect();
    let paths: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    assert_eq!(zizmor(&paths), Vec::<String>::new());
}

/// The same run, offline, does see what it is for.
#[test]
fn zizmor_flags_an_unpinned_action_and_template_injection() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      \
         - uses: actions/checkout@v4\n        with:\n          persist-credentials: false\n      \
         - run: echo \"${{ github.event.head_commit.message }}\"\n",
    )
    .unwrap();
    let findings = zizmor(&[&bad]);
    for ident in ["template-injection", "unpinned-uses"] {
        let found = findings
            .iter()
            .any(|f| f.starts_with(&format!("\"{ident}\"")));
        assert!(found, "{ident}: {findings:#?}");
    }
}

#[test]
fn every_action_is_pinned_by_commit() {
    for path in WORKFLOWS {
        for (job, step) in steps(&workflow(path)) {
            if let Some(uses) = step["uses"].as_str() {
                let (_, sha) = uses.split_once('@').unwrap();
                let pinned = sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit());
                assert!(pinned, "{path} job {job}: {uses} is not pinned by commit");
            }
        }
    }
}

/// The scripts a `run:` calls and the flags it passes them: a command's first word when it is
/// one of SCRIPTS, and the words after it that start with `--`.
fn script_calls(run: &str) -> Vec<(String, Vec<String>)> {
    let joined = run.replace("\\\n", " ");
    let mut calls = Vec::new();
    for command in joined.split(['\n', ';', '|', '&']) {
        let mut words = command.split_whitespace();
        let Some(first) = words.next() else { continue };
        let word = !first.contains(['=', '$', '"']);
        // Binaries the job built (target/) or unpacked (smoke/) are not scripts.
        let built = first.starts_with("target/") || first.starts_with("smoke/");
        if word && first.contains('/') && !built {
            assert!(
                SCRIPTS.contains(&first),
                "a run: calls {first}, not a known script"
            );
            let flags = words
                .filter(|w| w.starts_with("--"))
                .map(String::from)
                .collect();
            calls.push((first.to_string(), flags));
        }
    }
    calls
}

#[test]
fn every_script_the_workflows_run_exists_and_takes_their_flags() {
    let mut called = BTreeMap::<String, Vec<String>>::new();
    for path in WORKFLOWS {
        for (_, step) in steps(&workflow(path)) {
            for (script, flags) in script_calls(step["run"].as_str().unwrap_or_default()) {
                called.entry(script).or_default().extend(flags);
            }
        }
    }
    assert_eq!(
        called.keys().collect::<Vec<_>>(),
        [".ci/run", ".github/release-notes", "krew/package"]
    );
    for (script, flags) in called {
        let path = repo().join(&script);
        let mode = std::os::unix::fs::PermissionsExt::mode(&path.metadata().unwrap().permissions());
        assert!(mode & 0o111 != 0, "{script} is not executable");
        if flags.is_empty() {
            continue;
        }
        let help = run(Command::new(&path).arg("--help")).stdout;
        let help = String::from_utf8(help).unwrap();
        for flag in flags {
            assert!(
                help.contains(&format!("{flag} ")),
                "{script} --help does not name {flag}"
            );
        }
    }
}

/// Values of the expressions the release workflow's steps use.
fn expression(name: &str, arch: &str) -> String {
    match name {
        "github.ref_name" => format!("v{}", env!("CARGO_PKG_VERSION")),
        "matrix.arch" => arch.into(),
        "github.token" => "ghs_not-a-real-token".into(),
        "github.actor" => "octocat".into(),
        "github.repository" => "kubectl-irsa/kubectl-irsa".into(),
        _ => panic!("the test does not know ${{{{ {name} }}}}"),
    }
}

#[path = "workflows/release_job.rs"]
mod release_job;
