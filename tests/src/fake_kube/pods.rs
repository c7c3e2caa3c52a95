//! Pods whose lifecycle a test scripts ([`PodScript`], per container [`ContainerScript`]):
//! admission in the apiserver's order (defaults, the ServiceAccount admission plugin, mutating
//! webhooks, Pod Security, ResourceQuota), then the fake's scheduler and kubelet moving the
//! pod through its script, step by step.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::containers::ContainerScript;
use super::controllers::{self, Pace};
use super::events;
use super::kubelet::{self, Context, PodRuntime};
use super::objects::canonical;
use super::resources::Resource;
use super::state::{Shared, Store, key, lock, str_at};
use super::status::ApiError;
use super::{defaults, pod_security, pod_status, quota, service_accounts, webhooks};

/// A pod phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodPhase {
    /// Not running yet (scheduling, pulling the image, or stuck).
    Pending,
    /// The container runs.
    Running,
    /// The container exited 0.
    Succeeded,
    /// The container exited non-zero.
    Failed,
}

/// Whether the fake mutates a new pod as the EKS pod identity webhook does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Injection {
    /// Inject when the webhook configuration `pod-identity-webhook` exists (see
    /// `FakeKube::preload_pod_identity_webhook`), as a cluster running the webhook does.
    #[default]
    Auto,
    /// Inject as if the webhook configuration existed (`reinvocationPolicy: IfNeeded`).
    Always,
    /// Never call the pod identity webhook (other webhooks still run).
    Never,
}

/// The scheduler's message for a pod no node has room for (pkg/scheduler/framework
/// `FitError.Error` with the preemption post-filter's message).
pub const INSUFFICIENT_CPU: &str = "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.";

/// What happens to a pod after it is created.
///
/// Containers named in [`PodScript::containers`] follow their own script; a sidecar a webhook
/// injected, or a native sidecar, runs forever; another init container exits 0; the other
/// containers follow `phases` (with `logs`, `waiting_reason` and `exit_code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodScript {
    /// The phases the containers go through; the first is at creation, and they stay in the
    /// last one. `[Pending]` keeps them waiting forever.
    pub phases: Vec<PodPhase>,
    /// The time between two steps.
    pub step: Duration,
    /// What `GET .../log` answers once a container following `phases` has started.
    pub logs: String,
    /// The waiting reason of a container stuck in `Pending`, e.g. `ErrImagePull`
    /// (default `ContainerCreating`).
    pub waiting_reason: Option<String>,
    /// The exit code of a `Failed` container (a `Succeeded` one exits 0).
    pub exit_code: i32,
    /// Whether the pod identity webhook is called.
    pub inject: Injection,
    /// Scripts of named containers (init containers, native sidecars or containers).
    pub containers: Vec<(String, ContainerScript)>,
    /// The scheduler's message when no node can take the pod: it stays unscheduled
    /// (`PodScheduled` False, `Unschedulable`) with a `FailedScheduling` event.
    pub unschedulable: Option<String>,
    /// A volume (name, error) the kubelet cannot mount: the containers stay in
    /// `ContainerCreating` and `FailedMount` events repeat.
    pub failed_mount: Option<(String, String)>,
}

impl Default for PodScript {
    /// Pending, Running, then Succeeded, 100 ms apart, with no logs.
    fn default() -> Self {
        Self::succeeds("")
    }
}

impl PodScript {
    /// Pending, Running, then Succeeded with these logs.
    pub fn succeeds(logs: &str) -> Self {
        Self {
            phases: vec![PodPhase::Pending, PodPhase::Running, PodPhase::Succeeded],
            step: Duration::from_millis(100),
            logs: logs.to_owned(),
            waiting_reason: None,
            exit_code: 1,
            inject: Injection::Auto,
            containers: Vec::new(),
            unschedulable: None,
            failed_mount: None,
        }
    }

    /// Pending, then Running for ever: a server, as the pods of workloads are (the default
    /// script of the pods the fake's controllers create).
    pub fn runs() -> Self {
        Self {
            phases: vec![PodPhase::Pending, PodPhase::Running],
            ..Self::succeeds("")
        }
    }

    /// Pending, Running, then Failed with these logs and exit code.
    pub fn fails(logs: &str, exit_code: i32) -> Self {
        Self {
            phases: vec![PodPhase::Pending, PodPhase::Running, PodPhase::Failed],
            exit_code,
            ..Self::succeeds(logs)
        }
    }

    /// Pending forever, waiting with `reason` (e.g. `ErrImagePull`), or `ContainerCreating`.
    pub fn stuck_pending(reason: Option<&str>) -> Self {
        Self {
            phases: vec![PodPhase::Pending],
            waiting_reason: reason.map(str::to_owned),
            ..Self::succeeds("")
        }
    }

    /// Never scheduled: the scheduler says `message` (e.g. [`INSUFFICIENT_CPU`]).
    pub fn unschedulable(message: &str) -> Self {
        Self {
            unschedulable: Some(message.to_owned()),
            ..Self::stuck_pending(None)
        }
    }

    /// Scheduled, but volume `volume` never mounts: `error` is the volume plugin's, e.g.
    /// `secret "creds" not found`.
    pub fn failed_mount(volume: &str, error: &str) -> Self {
        Self {
            failed_mount: Some((volume.to_owned(), error.to_owned())),
            ..Self::stuck_pending(None)
        }
    }

    /// This script with another time between steps.
    pub fn with_step(mut self, step: Duration) -> Self {
        self.step = step;
        self
    }

    /// This script with another injection rule.
    pub fn with_injection(mut self, inject: Injection) -> Self {
        self.inject = inject;
        self
    }

    /// This script with container `name` following `script`.
    pub fn with_container(mut self, name: &str, script: ContainerScript) -> Self {
        self.containers.retain(|(n, _)| n != name);
        self.containers.push((name.to_owned(), script));
        self
    }
}

/// A pod that passed admission.
pub(crate) struct Admitted {
    pub(crate) runtime: PodRuntime,
    /// The events of the first step, recorded once the pod is stored.
    pub(crate) events: Vec<kubelet::Emitted>,
    /// Warnings for the client (`Warning` headers).
    pub(crate) warnings: Vec<String>,
}

/// The script a new pod follows: its own, the next queued one, or the default. A dry run
/// only looks: it has no side effects on the apiserver (staging/src/k8s.io/apiserver/pkg/
/// registry/rest/create.go), so the queued script stays for the pod really created.
fn script_for(shared: &Shared, name: &str, dry_run: bool) -> PodScript {
    let mut config = shared.config();
    if let Some(script) = config.pod_scripts.get(name) {
        return script.clone();
    }
    let queued = if dry_run {
        config.next_pod_scripts.front().cloned()
    } else {
        config.next_pod_scripts.pop_front()
    };
    queued.unwrap_or_else(|| config.default_pod_script.clone())
}

/// Admits a new pod in the apiserver's order: defaults, ServiceAccount, mutating webhooks,
/// Pod Security, ResourceQuota; then plans its run and writes its first status.
pub(crate) fn admit(
    shared: &Shared,
    store: &Store,
    pod: &mut Value,
    dry_run: bool,
) -> Result<Admitted, ApiError> {
    let script = script_for(shared, str_at(pod, "/metadata/name"), dry_run);
    admit_scripted(shared, store, pod, script)
}

/// [`admit`], for a pod that follows `script`.
pub(crate) fn admit_scripted(
    shared: &Shared,
    store: &Store,
    pod: &mut Value,
    script: PodScript,
) -> Result<Admitted, ApiError> {
    defaults::pod(pod);
    let sa_name = service_accounts::service_account(store, pod)?;
    pod["spec"]["serviceAccountName"] = json!(sa_name);
    pod["spec"]["serviceAccount"] = json!(sa_name);
    let namespace = str_at(pod, "/metadata/namespace").to_owned();
    if let Some(sa) = store.get(Resource::ServiceAccount, &namespace, &sa_name) {
        service_accounts::mount_api_token(pod, sa);
    }
    let injected = webhooks::mutate(shared, store, pod, script.inject);
    defaults::pod(pod);
    let namespace = store
        .get(Resource::Namespace, "", str_at(pod, "/metadata/namespace"))
        .cloned()
        .unwrap_or(Value::Null);
    let warnings = pod_security::admit(&namespace, pod)?;
    quota::admit(store, pod)?;
    let mut runtime = kubelet::plan(pod, script, &injected);
    if runtime.script.unschedulable.is_none() {
        pod["spec"]["nodeName"] = json!(events::NODE);
    }
    let users = shared.config().image_users.clone();
    let mut events = kubelet::schedule(&runtime, pod);
    events.extend(kubelet::step(&mut runtime, &Context { pod, users: &users }));
    pod["status"] = pod_status::status(&runtime, pod);
    Ok(Admitted {
        runtime,
        events,
        warnings,
    })
}

/// Moves an admitted pod through its script at once, until nothing would change any more
/// (at most 64 steps): a pod that has been running for a while when a test looks.
pub(crate) fn fast_forward(shared: &Shared, pod: &mut Value, admitted: &mut Admitted) {
    let users = shared.config().image_users.clone();
    for _ in 0..64 {
        if admitted.runtime.settled() {
            break;
        }
        let context = Context { pod, users: &users };
        let emitted = kubelet::step(&mut admitted.runtime, &context);
        admitted.events.extend(emitted);
    }
    pod["status"] = pod_status::status(&admitted.runtime, pod);
}

/// Records the first step's events of a stored pod, remembers its runtime, and moves it
/// through its script.
pub(crate) fn start(shared: &Arc<Shared>, store: &mut Store, pod: &Value, admitted: Admitted) {
    let namespace = str_at(pod, "/metadata/namespace").to_owned();
    let name = str_at(pod, "/metadata/name").to_owned();
    let uid = str_at(pod, "/metadata/uid").to_owned();
    for event in &admitted.events {
        events::record(store, pod, &event.as_event());
    }
    let runtime = admitted.runtime;
    let step = runtime.script.step;
    let settled = runtime.settled();
    store.pods.insert(key(&namespace, &name), runtime);
    // Without a runtime (a test's own thread, for a pod made at once), the pod stays as it is.
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if settled {
        return;
    }
    let shared = Arc::clone(shared);
    handle.spawn(async move {
        loop {
            tokio::time::sleep(step).await;
            if !tick(&shared, &namespace, &name, &uid) {
                return;
            }
        }
    });
}

/// One step of a stored pod; false once the pod is gone or nothing will change any more. A
/// changed pod wakes the controllers up (a ready pod lets a rollout go on).
fn tick(shared: &Arc<Shared>, namespace: &str, name: &str, uid: &str) -> bool {
    let mut store = lock(&shared.store);
    let Some(current) = store.get(Resource::Pod, namespace, name).cloned() else {
        return false;
    };
    if str_at(&current, "/metadata/uid") != uid {
        return false;
    }
    let Some(mut runtime) = store.pods.get(&key(namespace, name)).cloned() else {
        return false;
    };
    let users = shared.config().image_users.clone();
    let emitted = kubelet::step(
        &mut runtime,
        &Context {
            pod: &current,
            users: &users,
        },
    );
    let mut updated = current.clone();
    updated["status"] = pod_status::status(&runtime, &current);
    pod_status::keep_transition_times(&mut updated["status"], &current["status"]);
    let settled = runtime.settled();
    store.pods.insert(key(namespace, name), runtime);
    let changed = updated != current;
    let stored = if changed {
        store.put(Resource::Pod, canonical(updated))
    } else {
        current
    };
    for event in emitted {
        events::record(&mut store, &stored, &event.as_event());
    }
    if changed {
        controllers::sync(shared, &mut store, Pace::Live);
    }
    !settled
}

/// Adds a pod in a fixed phase, without a script (for tests that count pods).
pub(crate) fn static_pod(
    namespace: &str,
    name: &str,
    service_account: &str,
    phase: PodPhase,
) -> Value {
    let mut pod = json!({
        "metadata": {"name": name},
        "spec": {
            "serviceAccountName": service_account,
            "serviceAccount": service_account,
            "containers": [{"name": name, "image": "busybox"}],
            "restartPolicy": "Never",
        },
    });
    pod = super::objects::prepare_new(Resource::Pod, namespace, pod).expect("a valid pod");
    defaults::pod(&mut pod);
    pod["spec"]["nodeName"] = json!(events::NODE);
    let script = PodScript {
        phases: vec![phase],
        ..PodScript::default()
    };
    let mut runtime = kubelet::plan(&pod, script, &[]);
    let users = std::collections::HashMap::new();
    let _ = kubelet::step(
        &mut runtime,
        &Context {
            pod: &pod,
            users: &users,
        },
    );
    pod["status"] = pod_status::status(&runtime, &pod);
    pod
}
