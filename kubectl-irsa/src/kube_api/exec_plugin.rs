//! The kubeconfig's exec credential plugin (`users[].user.exec`, as `aws eks get-token`), run
//! here rather than by kube: kube runs it on a blocking thread with no time limit, reads all of
//! its output, runs it up to three times while building one client, and reports a failure as a
//! `Debug` dump of its output. Here it runs once, within a deadline, its output capped, and
//! each failure is one line naming the command, worded as client-go's
//! (plugin/pkg/client/auth/exec/exec.go: "exec: executable %s not found", "exec: executable %s
//! failed with exit code %d", "decoding stdout"). As in client-go, the plugin's stderr is the
//! user's, so its own explanation shows above ours. The credential it returns is handed to kube
//! as a static token or certificate: the plugin's commands are short.

use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use kube::config::{AuthInfo, ExecConfig, ExecInteractiveMode};
use tokio::io::AsyncReadExt;

/// How long the plugin may run when `--request-timeout` does not say: long enough for a login
/// in a browser, short of hanging forever.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(120);
/// The most an ExecCredential may hold (a token, or a certificate and its key).
pub const OUTPUT_CAP: u64 = 1 << 20;

/// Why the plugin gave no credential.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(
        "getting credentials: exec: executable {command} not found (install it, or fix users[].user.exec.command in the kubeconfig){hint}"
    )]
    NotFound { command: String, hint: String },
    #[error("getting credentials: exec: cannot run {command}: {source}")]
    Start {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "getting credentials: exec: executable {command} failed with {status} (its messages are above; run it yourself to see why)"
    )]
    Failed { command: String, status: String },
    #[error(
        "getting credentials: exec: executable {command} did not finish within {seconds}s (--request-timeout)",
        seconds = after.as_secs()
    )]
    TimedOut { command: String, after: Duration },
    #[error(
        "getting credentials: exec: the output of {command} is larger than 1 MiB: it is not an ExecCredential"
    )]
    TooLarge { command: String },
    #[error(
        "getting credentials: exec: decoding the output of {command}: {detail} (an ExecCredential is JSON with status.token, or status.clientCertificateData and clientKeyData)"
    )]
    Garbled { command: String, detail: String },
}

/// Runs the plugin of `user` within `timeout` and puts the credential it returns in its place.
pub async fn resolve(user: &mut AuthInfo, timeout: Duration) -> Result<(), ExecError> {
    let Some(exec) = user.exec.take() else {
        return Ok(());
    };
    let command = exec.command.clone().unwrap_or_default();
    let output = tokio::time::timeout(timeout, run(&exec, &command))
        .await
        .map_err(|_| ExecError::TimedOut {
            command: command.clone(),
            after: timeout,
        })??;
    let credential = decode(&output).map_err(|detail| ExecError::Garbled {
        command: command.clone(),
        detail,
    })?;
    user.token = credential.token;
    if credential.client_certificate_data.is_some() {
        user.client_certificate_data = credential.client_certificate_data;
        user.client_key_data = credential.client_key_data;
    }
    Ok(())
}

/// The plugin's stdout, once it exited with 0.
async fn run(exec: &ExecConfig, command: &str) -> Result<Vec<u8>, ExecError> {
    let failed = |source| ExecError::Start {
        command: command.to_string(),
        source,
    };
    let mut child = spawn(exec, command)?;
    let mut stdout = Vec::new();
    let pipe = child.stdout.take().expect("stdout is piped");
    let read = pipe
        .take(OUTPUT_CAP + 1)
        .read_to_end(&mut stdout)
        .await
        .map_err(failed)?;
    if read as u64 > OUTPUT_CAP {
        return Err(ExecError::TooLarge {
            command: command.to_string(),
        });
    }
    let status = child.wait().await.map_err(failed)?;
    if !status.success() {
        let status = match status.code() {
            Some(code) => format!("exit code {code}"),
            None => "a signal".to_string(),
        };
        return Err(ExecError::Failed {
            command: command.to_string(),
            status,
        });
    }
    Ok(stdout)
}

/// The plugin started as client-go starts it: its args and env, `KUBERNETES_EXEC_INFO`, the
/// user's stderr, and the user's stdin only when it may ask (interactive and a terminal). It
/// is killed if the deadline drops it.
fn spawn(exec: &ExecConfig, command: &str) -> Result<tokio::process::Child, ExecError> {
    let interactive = exec.interactive_mode != Some(ExecInteractiveMode::Never)
        && std::io::IsTerminal::is_terminal(&std::io::stdin());
    let mut child = tokio::process::Command::new(command);
    child
        .args(exec.args.iter().flatten())
        .envs(
            exec.env
                .iter()
                .flatten()
                .filter_map(|pair| Some((pair.get("name")?.clone(), pair.get("value")?.clone()))),
        )
        .env("KUBERNETES_EXEC_INFO", exec_info(exec, interactive))
        .stdin(if interactive {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    child.spawn().map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => ExecError::NotFound {
            command: command.to_string(),
            hint: exec
                .install_hint
                .as_deref()
                .and_then(|hint| hint.lines().map(str::trim).find(|l| !l.is_empty()))
                .map(|line| format!("; {line}"))
                .unwrap_or_default(),
        },
        _ => ExecError::Start {
            command: command.to_string(),
            source,
        },
    })
}

/// `KUBERNETES_EXEC_INFO`, as client-go sets it.
fn exec_info(exec: &ExecConfig, interactive: bool) -> String {
    let api_version = exec
        .api_version
        .as_deref()
        .unwrap_or("client.authentication.k8s.io/v1");
    let mut spec = serde_json::json!({ "interactive": interactive });
    if exec.provide_cluster_info
        && let Some(cluster) = &exec.cluster
    {
        spec["cluster"] = serde_json::to_value(cluster).unwrap_or_default();
    }
    serde_json::json!({ "apiVersion": api_version, "kind": "ExecCredential", "spec": spec })
        .to_string()
}

/// The credential in the plugin's output (JSON; client-go's decoder also takes YAML).
fn decode(output: &[u8]) -> Result<AuthInfo, String> {
    let text = std::str::from_utf8(output).map_err(|_| "not UTF-8".to_string())?;
    let document: serde_json::Value = serde_json::from_str(text)
        .or_else(|json| {
            serde_norway::from_str::<serde_json::Value>(text)
                .ok()
                .filter(serde_json::Value::is_object)
                .ok_or(json)
        })
        .map_err(|e| e.to_string())?;
    let status = document
        .get("status")
        .filter(|status| status.is_object())
        .ok_or("no status field")?;
    let token = status.get("token").and_then(|t| t.as_str());
    let certificate = status.get("clientCertificateData").and_then(|c| c.as_str());
    let key = status.get("clientKeyData").and_then(|k| k.as_str());
    let credential = match (token, certificate, key) {
        (Some(token), ..) if !token.is_empty() => serde_json::json!({ "token": token }),
        (_, Some(certificate), Some(key)) if !certificate.is_empty() && !key.is_empty() => {
            // PEM in an ExecCredential, base64 of PEM in a kubeconfig.
            let encode = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
            serde_json::json!({
                "client-certificate-data": encode(certificate),
                "client-key-data": encode(key),
            })
        }
        _ => return Err("no token, nor a client certificate and key, in its status".into()),
    };
    serde_json::from_value(credential).map_err(|e| e.to_string())
}
