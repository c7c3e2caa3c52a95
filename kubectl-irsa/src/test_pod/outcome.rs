//! Where the test pod stands, read from its status the way `kubectl describe` shows it: the
//! test container's own state (other containers, such as a mesh's sidecar, may run forever),
//! init containers, the scheduler's condition, and the pod's events. Pure: a `Pod` and its
//! events in, an [`Outcome`] out.

use k8s_openapi::api::core::v1::{ContainerStatus, Event, Pod};

use super::CONTAINER;

/// Why the test container has not run (yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stuck {
    /// The scheduler found no node: its message.
    Unschedulable(String),
    /// The image cannot be pulled, after the kubelet's retries (or at once when the name is
    /// invalid): the reason and message.
    ImagePull { reason: String, message: String },
    /// CreateContainerConfigError (such as runAsNonRoot with an image that runs as root) or
    /// CreateContainerError: the reason and the kubelet's message.
    Config { reason: String, message: String },
    /// A volume cannot be mounted: the event's message.
    Mount(String),
    /// Another waiting reason, with its message.
    Waiting { reason: String, message: String },
    /// Nothing says why.
    Unknown,
}

/// The test container's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Not started; `final_` when waiting longer cannot help.
    Pending {
        stuck: Stuck,
        final_: bool,
    },
    Running,
    /// An init container failed, so the test container never ran.
    InitFailed {
        container: String,
        exit_code: i32,
        reason: String,
    },
    /// The test container exited.
    Terminated {
        exit_code: i32,
        reason: String,
        message: String,
    },
}

/// Reads the pod; `events` are the pod's events (oldest first), for what the status does not
/// carry (mounts, image pull back-off messages).
pub fn observe(pod: &Pod, events: &[Event]) -> Outcome {
    let status = pod.status.clone().unwrap_or_default();
    if let Some(outcome) = failed_init(status.init_container_statuses.as_deref()) {
        return outcome;
    }
    let test = status
        .container_statuses
        .iter()
        .flatten()
        .find(|c| c.name == CONTAINER);
    if let Some(state) = test.and_then(|c| c.state.as_ref()) {
        if let Some(done) = &state.terminated {
            return Outcome::Terminated {
                exit_code: done.exit_code,
                reason: done.reason.clone().unwrap_or_default(),
                message: done.message.clone().unwrap_or_default(),
            };
        }
        if state.running.is_some() {
            return Outcome::Running;
        }
    }
    let waiting = test.and_then(waiting);
    if let Some(outcome @ Outcome::Pending { stuck, .. }) = &waiting
        && !matches!(stuck, Stuck::Waiting { .. })
    {
        return outcome.clone();
    }
    let unschedulable = status.conditions.iter().flatten().find(|c| {
        c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some("Unschedulable")
    });
    if let Some(condition) = unschedulable {
        let message = condition.message.clone().unwrap_or_default();
        return pending(Stuck::Unschedulable(message), false);
    }
    match last_event(events, &["FailedMount", "FailedAttachVolume"]) {
        Some(message) => pending(Stuck::Mount(message), false),
        None => waiting.unwrap_or(pending(Stuck::Unknown, false)),
    }
}

fn pending(stuck: Stuck, final_: bool) -> Outcome {
    Outcome::Pending { stuck, final_ }
}

/// The first init container that exited non-zero (with restartPolicy Never the pod is done).
fn failed_init(statuses: Option<&[ContainerStatus]>) -> Option<Outcome> {
    statuses?.iter().find_map(|status| {
        let done = status.state.as_ref()?.terminated.as_ref()?;
        (done.exit_code != 0).then(|| Outcome::InitFailed {
            container: status.name.clone(),
            exit_code: done.exit_code,
            reason: done.reason.clone().unwrap_or_default(),
        })
    })
}

/// The test container's waiting state, judged: image pulls are final only once the kubelet
/// backs off (ErrImagePull alone is retried), a bad name at once; config errors at once.
fn waiting(status: &ContainerStatus) -> Option<Outcome> {
    let waiting = status.state.as_ref()?.waiting.as_ref()?;
    let reason = waiting.reason.clone().unwrap_or_default();
    let message = waiting.message.clone().unwrap_or_default();
    Some(match reason.as_str() {
        "ImagePullBackOff" | "InvalidImageName" | "ErrImageNeverPull" => {
            pending(Stuck::ImagePull { reason, message }, true)
        }
        "ErrImagePull" => pending(Stuck::ImagePull { reason, message }, false),
        "CreateContainerConfigError" | "CreateContainerError" => {
            pending(Stuck::Config { reason, message }, true)
        }
        "" => return None,
        _ => pending(Stuck::Waiting { reason, message }, false),
    })
}

/// The message of the latest event with one of `reasons`.
fn last_event(events: &[Event], reasons: &[&str]) -> Option<String> {
    events
        .iter()
        .rev()
        .find(|e| e.reason.as_deref().is_some_and(|r| reasons.contains(&r)))
        .map(|e| e.message.clone().unwrap_or_default())
}

/// What a stuck pod's failure says.
pub fn describe(stuck: &Stuck, image: &str) -> String {
    match stuck {
        Stuck::Unschedulable(message) => format!(
            "the pod cannot be scheduled: {message} (free capacity, or change its requests or node selector with --overrides)"
        ),
        Stuck::ImagePull { reason, message } => format!(
            "image {image} cannot be pulled ({reason}{}): check its name and that the nodes can reach its registry (or pass --image, and --image-pull-secret for a private registry)",
            with_message(message)
        ),
        Stuck::Config { reason, message } if message.contains("runAsNonRoot") => format!(
            "the container cannot start ({reason}: {message}): give a non-root runAsUser the image accepts with --overrides"
        ),
        Stuck::Config { reason, message } => {
            format!(
                "the container cannot start ({reason}{})",
                with_message(message)
            )
        }
        Stuck::Mount(message) => format!("a volume cannot be mounted: {message}"),
        Stuck::Waiting { reason, message } => {
            format!(
                "the container is waiting ({reason}{})",
                with_message(message)
            )
        }
        Stuck::Unknown => "Pending (no reason given): check kubectl describe pod".into(),
    }
}

fn with_message(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}
