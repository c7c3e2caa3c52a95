//! Waiting for the test pod: poll it until the test container ends, cannot start, or time runs
//! out, and stream the test container's logs meanwhile. Other containers (a mesh's sidecar)
//! may run on: the verdict is the test container's.

use std::time::{Duration, Instant};

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};

use crate::error::Result;
use crate::kube_api::{Call, Cluster, KubeError, Scope};
use crate::progress::Progress;
use crate::test_pod::CONTAINER;
use crate::test_pod::outcome::{self, Outcome, Stuck};

const POLL: Duration = Duration::from_millis(250);

/// How the wait for the pod ended.
pub enum Ending {
    /// Waiting longer cannot help (an image that cannot be pulled, a container that cannot be
    /// created).
    Stuck(Stuck),
    /// Still pending at the deadline, for this reason.
    PendingTooLong(Stuck),
    InitFailed {
        container: String,
        exit_code: i32,
        reason: String,
    },
    /// Still running at the deadline.
    TimedOut,
    Finished {
        exit_code: i32,
        reason: String,
        logs: String,
    },
}

/// Polls the pod `name` until the test container ends, cannot start, or `timeout` passes.
pub async fn wait(
    cluster: &Cluster,
    name: &str,
    timeout: Duration,
    progress: &Progress,
) -> Result<Ending> {
    let pods: Api<Pod> = cluster.api(&Scope::Namespace(cluster.namespace.clone()));
    let deadline = Instant::now() + timeout;
    let mut logs: Option<LogStream> = None;
    loop {
        let pod = pods.get(name).await.map_err(|e| {
            let scope = Scope::Namespace(cluster.namespace.clone());
            KubeError::new(Call::on::<Pod>("get", scope, Some(name)), e)
        })?;
        let seen = outcome::observe(&pod, &[]);
        progress.update(&format!("pod/{name}: {}", shown(&pod, &seen)));
        match seen {
            Outcome::Terminated {
                exit_code, reason, ..
            } => {
                let logs = final_logs(&pods, &cluster.namespace, name, logs, progress).await?;
                return Ok(Ending::Finished {
                    exit_code,
                    reason,
                    logs,
                });
            }
            Outcome::InitFailed {
                container,
                exit_code,
                reason,
            } => {
                return Ok(Ending::InitFailed {
                    container,
                    exit_code,
                    reason,
                });
            }
            Outcome::Pending {
                stuck,
                final_: true,
            } => return Ok(Ending::Stuck(stuck)),
            Outcome::Running if logs.is_none() => logs = Some(LogStream::follow(&pods, name)),
            _ => {}
        }
        if let Some(stream) = &mut logs {
            stream.print_new(progress)?;
        }
        if Instant::now() >= deadline {
            return at_deadline(cluster, &pod, name).await;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The ending at the deadline: still running, or pending for the reason the status and the
/// pod's events give.
async fn at_deadline(cluster: &Cluster, pod: &Pod, name: &str) -> Result<Ending> {
    if !matches!(outcome::observe(pod, &[]), Outcome::Pending { .. }) {
        return Ok(Ending::TimedOut);
    }
    // Events are best effort: a user who may not list them still gets the status's reason.
    let events = cluster.pod_events(name).await.unwrap_or_default();
    match outcome::observe(pod, &events) {
        Outcome::Pending { stuck, .. } => Ok(Ending::PendingTooLong(stuck)),
        _ => Ok(Ending::TimedOut),
    }
}

/// The pod's phase and the test container's state, for the progress line.
fn shown(pod: &Pod, seen: &Outcome) -> String {
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Pending".into());
    match seen {
        Outcome::Pending {
            stuck: Stuck::ImagePull { reason, .. } | Stuck::Config { reason, .. },
            ..
        }
        | Outcome::Pending {
            stuck: Stuck::Waiting { reason, .. },
            ..
        } => format!("{phase} ({reason})"),
        Outcome::Pending {
            stuck: Stuck::Unschedulable(_),
            ..
        } => format!("{phase} (Unschedulable)"),
        _ => phase,
    }
}

fn log_params(follow: bool) -> LogParams {
    LogParams {
        container: Some(CONTAINER.into()),
        follow,
        ..LogParams::default()
    }
}

/// The whole log: the followed stream's, or, when the container was never seen running (or
/// the stream broke), the log read once and shown.
async fn final_logs(
    pods: &Api<Pod>,
    namespace: &str,
    name: &str,
    followed: Option<LogStream>,
    progress: &Progress,
) -> Result<String> {
    if let Some(stream) = followed
        && let Some(text) = stream.finish(progress).await?
    {
        return Ok(text);
    }
    // A log that cannot be read (the container gone) leaves the logs empty, but a refused
    // one is said: the verdict needs them.
    let text = match pods.logs(name, &log_params(false)).await {
        Ok(text) => text,
        Err(kube::Error::Api(status)) if status.code == 403 => {
            let call = Call::on::<Pod>("get", Scope::Namespace(namespace.to_string()), Some(name));
            return Err(KubeError::new(call.sub("log"), kube::Error::Api(status)).into());
        }
        Err(_) => String::new(),
    };
    for line in text.lines() {
        progress.println(line)?;
    }
    Ok(text)
}

/// The test container's log, followed in the background and printed line by line.
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
            let Ok(stream) = pods.log_stream(&name, &log_params(true)).await else {
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
