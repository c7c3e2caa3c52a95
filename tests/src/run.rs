//! A finished run of one of the project's binaries, and the assertions every test makes on it:
//! success, a one-line error, the credential_process contract.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Exit code and both streams, as text.
#[derive(Clone, Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

/// Runs `command` with no stdin.
pub fn run(mut command: Command) -> Run {
    Run::from(command.stdin(Stdio::null()).output().unwrap())
}

/// Runs `command` with `input` on its stdin.
pub fn with_stdin(mut command: Command, input: &str) -> Run {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let written = child.stdin.take().unwrap().write_all(input.as_bytes());
    // A command that fails on its flags exits without reading stdin: not the test's concern.
    if let Err(error) = written {
        assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "{error}");
    }
    Run::from(child.wait_with_output().unwrap())
}

/// The prefixes of an error line: the plugin's (`error: `, as kubectl's) and the helper's.
const ERROR_PREFIXES: [&str; 2] = ["error: ", "irsa-credential-process: error: "];

impl Run {
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "failed: {}\n{}", self.stderr, self.stdout);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }

    /// The lines of stderr that report an error.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|line| ERROR_PREFIXES.iter().any(|p| line.starts_with(p)))
            .collect()
    }

    /// A failure: the exit code, and exactly one error line, which contains `expected`.
    pub fn fails(&self, code: i32, expected: &str) -> &Self {
        assert_eq!(
            self.code, code,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        let errors = self.error_lines();
        assert_eq!(errors.len(), 1, "{}", self.stderr);
        assert!(
            errors[0].contains(expected),
            "missing {expected:?} in {}",
            errors[0]
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }

    /// A failure with nothing on stdout and the error as the last line of stderr (warnings may
    /// precede it); returns that line.
    pub fn failure(&self) -> &str {
        assert_ne!(self.code, 0, "expected a failure, got {}", self.stdout);
        assert!(
            self.stdout.is_empty(),
            "stdout must stay empty on failure: {}",
            self.stdout
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        let last = self.stderr.lines().last().unwrap_or_default();
        assert!(
            ERROR_PREFIXES.iter().any(|p| last.starts_with(p)),
            "{}",
            self.stderr
        );
        last
    }

    /// The credential_process JSON, after checking the contract: exit 0, one line, nothing
    /// else, every field, an RFC 3339 UTC expiration.
    pub fn credentials(&self) -> serde_json::Value {
        assert_eq!(self.code, 0, "helper failed: {}", self.stderr);
        assert!(
            self.stdout.ends_with('\n') && self.stdout.lines().count() == 1,
            "{:?}",
            self.stdout
        );
        let json: serde_json::Value = serde_json::from_str(&self.stdout).unwrap();
        assert_eq!(json["Version"], 1);
        for field in [
            "AccessKeyId",
            "SecretAccessKey",
            "SessionToken",
            "Expiration",
            "AccountId",
        ] {
            assert!(json[field].is_string(), "{field} missing in {json}");
        }
        let expiration = json["Expiration"].as_str().unwrap();
        assert!(
            expiration.ends_with('Z') && expiration.len() == 20,
            "{expiration}"
        );
        json
    }

    pub fn access_key_id(&self) -> String {
        self.credentials()["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_string()
    }
}
