//! A pod's view for the helper: a token file, a cache directory and a clean environment.

#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;

pub mod serving;

pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/cart";
pub const ISSUER: &str = "https://oidc.example.com/id/CLUSTER";
pub const SUBJECT: &str = "system:serviceaccount:shop:cart";

/// A ServiceAccount token as the kubelet projects it; the signature part is not real (STS fakes
/// and moto do not verify it), the claims are.
pub fn token(subject: &str, expires_in_seconds: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let encode = |json: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    let header = encode(r#"{"alg":"RS256","kid":"test-key"}"#.to_string());
    let claims = encode(format!(
        r#"{{"iss":"{ISSUER}","sub":"{subject}","aud":["sts.amazonaws.com"],"exp":{},"iat":{now}}}"#,
        now + expires_in_seconds
    ));
    format!("{header}.{claims}.bm90LWEtcmVhbC1zaWduYXR1cmU")
}

/// A temporary pod: token file, cache directory, and the env the webhook would inject.
pub struct Pod {
    pub dir: tempfile::TempDir,
    pub token: String,
    pub endpoint: String,
    pub extra_env: Vec<(String, String)>,
}

impl Pod {
    pub fn new(endpoint: &str) -> Pod {
        let dir = tempfile::tempdir().unwrap();
        let pod = Pod {
            dir,
            token: token(SUBJECT, 3600),
            endpoint: endpoint.to_string(),
            extra_env: Vec::new(),
        };
        pod.write_token(&pod.token);
        pod
    }

    pub fn token_file(&self) -> PathBuf {
        self.dir.path().join("token")
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    pub fn write_token(&self, token: &str) {
        std::fs::write(self.token_file(), format!("{token}\n")).unwrap();
    }

    /// The helper with exactly the pod's environment (nothing leaks in from this machine).
    pub fn helper(&self, args: &[&str]) -> Command {
        self.helper_under(&[], args)
    }

    /// The helper run by `wrapper` (such as `unshare ... sh -c ...`), in the pod's environment.
    pub fn helper_under(&self, wrapper: &[&str], args: &[&str]) -> Command {
        let helper = env!("CARGO_BIN_EXE_irsa-credential-process");
        let mut command = match wrapper.split_first() {
            Some((program, wrapper_args)) => {
                let mut command = Command::new(program);
                command.args(wrapper_args).arg(helper);
                command
            }
            None => Command::new(helper),
        };
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("HOSTNAME", "cart-5d8f7c9b4-xk2lp")
            .env("AWS_ROLE_ARN", ROLE_ARN)
            .env("AWS_WEB_IDENTITY_TOKEN_FILE", self.token_file())
            .env("AWS_REGION", "us-west-2")
            .env("AWS_ENDPOINT_URL_STS", &self.endpoint)
            .env("IRSA_CACHE_DIR", self.cache_dir())
            .envs(self.extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .args(args);
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.helper(args).output().unwrap())
    }

    pub fn cache_files(&self) -> Vec<PathBuf> {
        json_files(&self.cache_dir())
    }
}

pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect()
}

#[allow(unused_imports)] // each test file uses a different part
pub use tests::run::{Run, with_stdin};

/// Secrets must never reach stderr.
pub fn assert_no_secret_in_stderr(run: &Run, pod: &Pod) {
    let signature = pod.token.rsplit('.').next().unwrap();
    assert!(
        !run.stderr.contains(&pod.token),
        "token leaked: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(signature),
        "token leaked: {}",
        run.stderr
    );
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(&run.stdout) {
        for secret in ["SecretAccessKey", "SessionToken"] {
            let value = json[secret].as_str().unwrap();
            assert!(
                !run.stderr.contains(value),
                "{secret} leaked: {}",
                run.stderr
            );
        }
    }
}
