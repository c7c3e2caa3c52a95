//! What one container of a scripted pod does ([`ContainerScript`]), and its state as the
//! kubelet reports it, step by step.
//!
//! The waiting reasons and messages follow kubernetes/kubernetes pkg/kubelet:
//! images/image_manager.go (`EnsureImageExists`/`pullImage`: `ErrImagePull` with the runtime's
//! error, then `ImagePullBackOff` with `Back-off pulling image "IMAGE": ErrImagePull: ERROR`),
//! kuberuntime/kuberuntime_container.go (`startContainer`: `CreateContainerConfigError` and
//! `CreateContainerError` with the error's message), kuberuntime/kuberuntime_manager.go
//! (`doBackOff`: `CrashLoopBackOff` with `back-off 10s restarting failed container=NAME
//! pod=POD_NAMESPACE(UID)`), kubelet_pods.go (`convertToAPIContainerStatuses`: containers not
//! created yet wait with `ContainerCreating`, or `PodInitializing` when the pod has init
//! containers).

use serde_json::{Value, json};

use super::objects::now;

/// How a container gets started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerStart {
    /// It waits `after` steps, then starts.
    Starts {
        /// Steps of waiting before it runs (0: running as soon as it may start).
        after: u32,
    },
    /// It never starts: it waits with this reason and message, and no event is recorded.
    Stuck {
        /// The waiting reason, e.g. `ContainerCreating`.
        reason: String,
        /// The waiting message, if any.
        message: Option<String>,
    },
    /// Its image cannot be pulled: `ErrImagePull` (message: `error`, the runtime's words)
    /// and `ImagePullBackOff` alternate as the kubelet retries, with `Pulling`, `Failed` and
    /// `BackOff` events.
    ImagePullFails {
        /// The runtime's pull error; `None`: containerd's for an image the registry does not
        /// have (`rpc error: code = NotFound desc = failed to pull and unpack image ...`).
        error: Option<String>,
    },
    /// The runtime refuses to create it: `CreateContainerError` with `message`, retried
    /// with a `Failed` event `Error: MESSAGE` each time.
    CreateFails {
        /// The runtime's error.
        message: String,
    },
    /// The kubelet cannot build its configuration: `CreateContainerConfigError` with
    /// `message`, retried likewise (e.g. a missing ConfigMap key).
    ConfigFails {
        /// The kubelet's error.
        message: String,
    },
}

/// What one container does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerScript {
    /// How it starts.
    pub start: ContainerStart,
    /// The steps it runs before it exits; `None`: it never exits.
    pub runs_for: Option<u32>,
    /// Its exit code when it exits.
    pub exit_code: i32,
    /// Its termination reason: `Completed`, `Error`, `OOMKilled`, ...
    pub reason: String,
    /// What `GET .../log?container=NAME` answers once it has started.
    pub logs: String,
}

impl ContainerScript {
    /// Starts after one step, runs one step, then exits with `exit_code` (reason
    /// `Completed` for 0, else `Error`).
    pub fn exits(logs: &str, exit_code: i32) -> Self {
        Self {
            start: ContainerStart::Starts { after: 1 },
            runs_for: Some(1),
            exit_code,
            reason: if exit_code == 0 { "Completed" } else { "Error" }.to_owned(),
            logs: logs.to_owned(),
        }
    }

    /// Starts after one step and never exits.
    pub fn runs_forever(logs: &str) -> Self {
        Self {
            runs_for: None,
            ..Self::exits(logs, 0)
        }
    }

    /// Starts, runs one step, and is killed for exceeding its memory limit (137,
    /// `OOMKilled`).
    pub fn oom_killed(logs: &str) -> Self {
        Self {
            reason: "OOMKilled".to_owned(),
            ..Self::exits(logs, 137)
        }
    }

    /// Its image cannot be pulled (see [`ContainerStart::ImagePullFails`]).
    pub fn image_pull_fails(error: Option<&str>) -> Self {
        Self {
            start: ContainerStart::ImagePullFails {
                error: error.map(str::to_owned),
            },
            ..Self::runs_forever("")
        }
    }

    /// The runtime cannot create it (see [`ContainerStart::CreateFails`]).
    pub fn create_fails(message: &str) -> Self {
        Self {
            start: ContainerStart::CreateFails {
                message: message.to_owned(),
            },
            ..Self::runs_forever("")
        }
    }

    /// The kubelet cannot configure it (see [`ContainerStart::ConfigFails`]).
    pub fn config_fails(message: &str) -> Self {
        Self {
            start: ContainerStart::ConfigFails {
                message: message.to_owned(),
            },
            ..Self::runs_forever("")
        }
    }

    /// Waits forever with `reason`.
    pub fn stuck(reason: &str) -> Self {
        Self {
            start: ContainerStart::Stuck {
                reason: reason.to_owned(),
                message: None,
            },
            ..Self::runs_forever("")
        }
    }

    /// This script, starting after `after` steps and running `runs_for` steps.
    pub fn with_steps(mut self, after: u32, runs_for: Option<u32>) -> Self {
        self.start = ContainerStart::Starts { after };
        self.runs_for = runs_for;
        self
    }
}

/// A container's place in the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A regular init container: runs to completion before the next one.
    Init,
    /// An init container with `restartPolicy: Always`: a native sidecar.
    Sidecar,
    /// A container of `spec.containers`.
    Regular,
}

/// A terminated state.
#[derive(Debug, Clone)]
pub(crate) struct Terminated {
    pub(crate) exit_code: i32,
    pub(crate) reason: String,
    pub(crate) started_at: String,
    pub(crate) finished_at: String,
    pub(crate) container_id: String,
}

/// A container's current state.
#[derive(Debug, Clone)]
pub(crate) enum State {
    Waiting {
        reason: String,
        message: Option<String>,
    },
    Running {
        started_at: String,
    },
    Terminated(Terminated),
}

/// One container of a running pod, as the fake's kubelet tracks it.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) name: String,
    pub(crate) image: String,
    pub(crate) kind: Kind,
    pub(crate) script: ContainerScript,
    /// Steps since it became eligible to start (`None`: not yet).
    pub(crate) age: Option<u32>,
    pub(crate) state: State,
    pub(crate) last: Option<Terminated>,
    pub(crate) restarts: u32,
    pub(crate) container_id: String,
}

impl Run {
    /// A container that has not been created, waiting with `reason`.
    pub(crate) fn new(
        name: &str,
        image: &str,
        kind: Kind,
        script: ContainerScript,
        reason: &str,
    ) -> Self {
        Self {
            name: name.to_owned(),
            image: image.to_owned(),
            kind,
            script,
            age: None,
            state: State::Waiting {
                reason: reason.to_owned(),
                message: None,
            },
            last: None,
            restarts: 0,
            container_id: format!(
                "containerd://{:016x}{:016x}{:016x}{:016x}",
                fastrand::u64(..),
                fastrand::u64(..),
                fastrand::u64(..),
                fastrand::u64(..)
            ),
        }
    }

    pub(crate) fn running(&self) -> bool {
        matches!(self.state, State::Running { .. })
    }

    pub(crate) fn terminated(&self) -> Option<&Terminated> {
        match &self.state {
            State::Terminated(t) => Some(t),
            _ => None,
        }
    }

    /// Whether it has run (its logs exist).
    pub(crate) fn started_once(&self) -> bool {
        self.running() || self.terminated().is_some() || self.last.is_some()
    }

    /// Stops it as the kubelet stops a sidecar once the pod is done: it exits 0.
    pub(crate) fn stop(&mut self) {
        if let State::Running { started_at } = &self.state {
            self.state = State::Terminated(Terminated {
                exit_code: 0,
                reason: "Completed".to_owned(),
                started_at: started_at.clone(),
                finished_at: now(),
                container_id: self.container_id.clone(),
            });
        }
    }

    /// The container's status, as `convertToAPIContainerStatuses` writes it.
    pub(crate) fn status(&self) -> Value {
        let state = state_json(&self.state);
        let last = self
            .last
            .as_ref()
            .map_or_else(|| json!({}), |t| state_json(&State::Terminated(t.clone())));
        let created = self.started_once();
        let ready = self.running();
        let mut status = json!({
            "name": self.name,
            "state": state,
            "lastState": last,
            "ready": ready,
            "restartCount": self.restarts,
            "image": self.image,
            "imageID": if created { image_id(&self.image) } else { String::new() },
        });
        if created {
            status["containerID"] = json!(self.container_id);
        }
        status["started"] = json!(ready);
        status
    }
}

fn state_json(state: &State) -> Value {
    match state {
        State::Waiting { reason, message } => {
            let mut waiting = json!({"reason": reason});
            if let Some(message) = message {
                waiting["message"] = json!(message);
            }
            json!({"waiting": waiting})
        }
        State::Running { started_at } => json!({"running": {"startedAt": started_at}}),
        State::Terminated(t) => json!({"terminated": {
            "exitCode": t.exit_code,
            "reason": t.reason,
            "startedAt": t.started_at,
            "finishedAt": t.finished_at,
            "containerID": t.container_id,
        }}),
    }
}

/// A digest-pinned reference for an image, as the runtime reports it.
fn image_id(image: &str) -> String {
    let without_digest = image.split('@').next().unwrap_or(image);
    let (path, last) = without_digest
        .rsplit_once('/')
        .map_or(("", without_digest), |(p, l)| (p, l));
    let name = last.split(':').next().unwrap_or(last);
    let repository = if path.is_empty() {
        format!("docker.io/library/{name}")
    } else if path.contains('.') || path.contains(':') || path == "localhost" {
        format!("{path}/{name}")
    } else {
        format!("docker.io/{path}/{name}")
    };
    format!("{repository}@sha256:{:064x}", 0)
}
