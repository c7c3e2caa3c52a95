//! Waiting for the test pod: poll its status until it ends, cannot start, or time runs out,
//! and stream its logs meanwhile.

use std::time::{Duration, Instant};

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};

use crate::error::Result;
use crate::kube_api::{Call, KubeError, Scope};
use crate::progress::Progress;

const POLL: Duration = Duration::from_millis(250);
const IMAGE_PULL_ERRORS: [&str; 4] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
];

/// How the wait for the pod ended.
pub enum Ending {
    ImagePull(String),
    PendingTooLong(String),
    TimedOut,
    Finished { succeeded: bool, logs: String },
}

/// The phase and the first container's waiting reason.
fn observe(pod: Pod) -> (String, String) {
    let status = pod.status.unwrap_or_default();
    let phase = status.phase.unwrap_or_else(|| "Pending".into());
    let reason = status
        .container_statuses
        .iter()
        .flatten()
        .find_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
        .unwrap_or_default();
    (phase, reason)
}

/// Polls `name` until it ends, cannot start, or `timeout` passes.
pub async fn wait(
    pods: &Api<Pod>,
    namespace: &str,
    name: &str,
    timeout: Duration,
    progress: &Progress,
) -> Result<Ending> {
    let deadline = Instant::now() + timeout;
    let mut logs: Option<LogStream> = None;
    loop {
        let pod = pods.get(name).await.map_err(|e| {
            let call = Call::on::<Pod>("get", Scope::Namespace(namespace.into()), Some(name));
            KubeError::new(call, e)
        })?;
        let (phase, reason) = observe(pod);
        let shown = if reason.is_empty() {
            String::new()
        } else {
            format!(" ({reason})")
        };
        progress.update(&format!("pod/{name}: {phase}{shown}"));
        if IMAGE_PULL_ERRORS.contains(&reason.as_str()) {
            return Ok(Ending::ImagePull(reason));
        }
        if phase == "Running" && logs.is_none() {
            logs = Some(LogStream::follow(pods, name));
        }
        if let Some(stream) = &mut logs {
            stream.print_new(progress)?;
        }
        if phase == "Succeeded" || phase == "Failed" {
            let logs = final_logs(pods, name, logs, progress).await?;
            let succeeded = phase == "Succeeded";
            return Ok(Ending::Finished { succeeded, logs });
        }
        if Instant::now() >= deadline {
            return Ok(match phase.as_str() {
                "Pending" if reason.is_empty() => Ending::PendingTooLong("no reason given".into()),
                "Pending" => Ending::PendingTooLong(reason),
                _ => Ending::TimedOut,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The whole log: the followed stream's, or, when the pod was never seen running (or the
/// stream broke), the log read once and shown.
async fn final_logs(
    pods: &Api<Pod>,
    name: &str,
    followed: Option<LogStream>,
    progress: &Progress,
) -> Result<String> {
    if let Some(stream) = followed
        && let Some(text) = stream.finish(progress).await?
    {
        return Ok(text);
    }
    let text = pods
        .logs(name, &LogParams::default())
        .await
        .unwrap_or_default();
    for line in text.lines() {
        progress.println(line)?;
    }
    Ok(text)
}

/// The container's log, followed in the background and printed line by line as it arrives.
struct LogStream {
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    task: tokio::task::JoinHandle<bool>,
    seen: String,
}

impl LogStream {
    fn follow(pods: &Api<Pod>, name: &str) -> Self {
        let (sender, lines) = tokio::sync::mpsc::unbounded_channel();
        let pods = pods.clone();
        let name = name.to_string();
        let task = tokio::spawn(async move {
            let params = LogParams {
                follow: true,
                ..LogParams::default()
            };
            let Ok(stream) = pods.log_stream(&name, &params).await else {
                return false;
            };
            let mut stream = stream.lines();
            while let Some(line) = stream.next().await {
                let Ok(line) = line else { return false };
                if sender.send(line).is_err() {
                    return false;
                }
            }
            true
        });
        LogStream {
            lines,
            task,
            seen: String::new(),
        }
    }

    fn print_new(&mut self, progress: &Progress) -> std::io::Result<()> {
        while let Ok(line) = self.lines.try_recv() {
            progress.println(&line)?;
            self.seen.push_str(&line);
            self.seen.push('\n');
        }
        Ok(())
    }

    /// Waits briefly for the stream to end; `None` when it did not end cleanly.
    async fn finish(mut self, progress: &Progress) -> std::io::Result<Option<String>> {
        let ended = tokio::time::timeout(Duration::from_secs(5), &mut self.task).await;
        self.print_new(progress)?;
        Ok(match ended {
            Ok(Ok(true)) => Some(self.seen),
            _ => {
                self.task.abort();
                None
            }
        })
    }
}
