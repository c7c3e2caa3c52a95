//! A pod's `status` as the kubelet (or, before the pod is bound, the scheduler) writes it.
//!
//! Sources, in kubernetes/kubernetes: pkg/kubelet/kubelet_pods.go (`getPhase`,
//! `generateAPIPodStatus`: conditions `PodReadyToStartContainers`, `Initialized`, `Ready`,
//! `ContainersReady`, `PodScheduled`, in that order), pkg/kubelet/status/generate.go
//! (`GeneratePodInitializedCondition`, `GenerateContainersReadyCondition`,
//! `GeneratePodReadyCondition`: reasons `ContainersNotInitialized`, `ContainersNotReady`,
//! `PodCompleted`, `PodFailed`, messages `containers with incomplete status: [a]`,
//! `containers with unready status: [a b]`), pkg/scheduler/schedule_one.go
//! (`PodScheduled` False, reason `Unschedulable`, the scheduler's message),
//! pkg/apis/core/helper/qos (`GetPodQOS`).

use serde_json::{Value, json};

use super::containers::{Kind, Run, State};
use super::kubelet::PodRuntime;
use super::objects::now;
use super::state::str_at;

/// `getPhase`'s counters.
#[derive(Default)]
struct Counts {
    pending_init: u32,
    failed_init: u32,
    running: u32,
    waiting: u32,
    stopped: u32,
    succeeded: u32,
}

/// Counts the containers as `getPhase` does: a waiting container that ran before is
/// restarting, and counts as stopped (or, for an init container, as its last exit).
fn count(rt: &PodRuntime) -> Counts {
    let mut n = Counts::default();
    for c in &rt.containers {
        let restarting = matches!(c.state, State::Waiting { .. }) && c.last.is_some();
        match (c.kind, &c.state) {
            (Kind::Init, State::Running { .. }) => n.pending_init += 1,
            (Kind::Init, State::Terminated(t)) => n.failed_init += u32::from(t.exit_code != 0),
            (Kind::Init, State::Waiting { .. }) if restarting => {
                n.failed_init += u32::from(c.last.as_ref().is_some_and(|t| t.exit_code != 0));
            }
            (Kind::Init, State::Waiting { .. }) => n.pending_init += 1,
            (Kind::Sidecar, State::Running { .. }) | (Kind::Regular, State::Running { .. }) => {
                n.running += 1;
            }
            (Kind::Sidecar, State::Terminated(_)) => {}
            (Kind::Sidecar, State::Waiting { .. }) if restarting => {}
            (Kind::Sidecar, State::Waiting { .. }) => {
                n.pending_init += 1;
                n.waiting += 1;
            }
            (Kind::Regular, State::Terminated(t)) => {
                n.stopped += 1;
                n.succeeded += u32::from(t.exit_code == 0);
            }
            (Kind::Regular, State::Waiting { .. }) if restarting => n.stopped += 1,
            (Kind::Regular, State::Waiting { .. }) => n.waiting += 1,
        }
    }
    n
}

/// The pod's phase, as `getPhase` computes it from the container states.
fn phase(rt: &PodRuntime) -> &'static str {
    let n = count(rt);
    let regular_started = rt
        .containers
        .iter()
        .any(|c| c.kind == Kind::Regular && c.started_once());
    if n.failed_init > 0 && rt.restart_policy == "Never" {
        return "Failed";
    }
    if (n.pending_init > 0 && !regular_started) || n.waiting > 0 {
        return "Pending";
    }
    if n.running > 0 {
        return "Running";
    }
    if n.stopped == 0 {
        return "Pending";
    }
    if rt.done {
        return if n.stopped == n.succeeded {
            "Succeeded"
        } else {
            "Failed"
        };
    }
    match rt.restart_policy.as_str() {
        "Always" => "Running",
        _ if n.stopped == n.succeeded => "Succeeded",
        "Never" => "Failed",
        _ => "Running",
    }
}

fn condition(kind: &str, up: bool, why: Option<(&str, String)>) -> Value {
    let mut condition = json!({
        "type": kind,
        "status": if up { "True" } else { "False" },
        "lastProbeTime": null,
        "lastTransitionTime": now(),
    });
    if let Some((reason, message)) = why {
        condition["reason"] = json!(reason);
        if !message.is_empty() {
            condition["message"] = json!(message);
        }
    }
    condition
}

/// `[a b]`, as Go prints a `[]string`.
fn go_list(names: &[&str]) -> String {
    format!("[{}]", names.join(" "))
}

/// The `Initialized`, `Ready` and `ContainersReady` conditions.
fn readiness(rt: &PodRuntime, phase: &str) -> [Value; 3] {
    let incomplete: Vec<&str> = rt
        .containers
        .iter()
        .filter(|c| match c.kind {
            Kind::Init => c.terminated().is_none_or(|t| t.exit_code != 0),
            Kind::Sidecar => !c.started_once(),
            Kind::Regular => false,
        })
        .map(|c| c.name.as_str())
        .collect();
    let has_init = rt.containers.iter().any(|c| c.kind != Kind::Regular);
    let initialized = if phase == "Succeeded" || incomplete.is_empty() {
        let why = (has_init && phase == "Succeeded").then(|| ("PodCompleted", String::new()));
        condition("Initialized", true, why)
    } else {
        let message = format!(
            "containers with incomplete status: {}",
            go_list(&incomplete)
        );
        condition(
            "Initialized",
            false,
            Some(("ContainersNotInitialized", message)),
        )
    };
    let unready: Vec<&str> = rt
        .containers
        .iter()
        .filter(|c| c.kind != Kind::Init && !c.running())
        .map(|c| c.name.as_str())
        .collect();
    let why = match phase {
        "Succeeded" => Some(("PodCompleted", String::new())),
        "Failed" => Some(("PodFailed", String::new())),
        _ if !unready.is_empty() => Some((
            "ContainersNotReady",
            format!("containers with unready status: {}", go_list(&unready)),
        )),
        _ => None,
    };
    let ready = why.is_none();
    [
        initialized,
        condition("Ready", ready, why.clone()),
        condition("ContainersReady", ready, why),
    ]
}

/// `GetPodQOS`: BestEffort without any request or limit, Guaranteed when every container
/// limits cpu and memory to its requests, else Burstable.
pub(crate) fn qos_class(pod: &Value) -> &'static str {
    let containers: Vec<&Value> = ["initContainers", "containers"]
        .iter()
        .flat_map(|l| pod["spec"][l].as_array().into_iter().flatten())
        .collect();
    let empty = |c: &Value, kind: &str| {
        c["resources"][kind]
            .as_object()
            .is_none_or(serde_json::Map::is_empty)
    };
    if containers
        .iter()
        .all(|c| empty(c, "requests") && empty(c, "limits"))
    {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        ["cpu", "memory"].iter().all(|r| {
            let limit = &c["resources"]["limits"][r];
            !limit.is_null() && c["resources"]["requests"][r] == *limit
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// The status of a pod the scheduler cannot place.
fn unscheduled(pod: &Value, message: &str) -> Value {
    json!({
        "phase": "Pending",
        "conditions": [condition("PodScheduled", false, Some(("Unschedulable", message.to_owned())))],
        "qosClass": qos_class(pod),
    })
}

/// The pod's status now.
pub(crate) fn status(rt: &PodRuntime, pod: &Value) -> Value {
    if let Some(message) = &rt.script.unschedulable {
        return unscheduled(pod, message);
    }
    let phase = phase(rt);
    let sandbox = rt.script.failed_mount.is_none();
    let [initialized, ready, containers_ready] = readiness(rt, phase);
    let statuses = |kinds: &[Kind]| -> Vec<Value> {
        rt.containers
            .iter()
            .filter(|c| kinds.contains(&c.kind))
            .map(Run::status)
            .collect()
    };
    let mut status = json!({
        "phase": phase,
        "conditions": [
            condition("PodReadyToStartContainers", sandbox, None),
            initialized,
            ready,
            containers_ready,
            condition("PodScheduled", true, None),
        ],
        "hostIP": "10.0.0.10",
        "hostIPs": [{"ip": "10.0.0.10"}],
    });
    if sandbox {
        status["podIP"] = json!("10.244.0.17");
        status["podIPs"] = json!([{"ip": "10.244.0.17"}]);
    }
    status["startTime"] = json!(str_at(pod, "/metadata/creationTimestamp"));
    let init = statuses(&[Kind::Init, Kind::Sidecar]);
    if !init.is_empty() {
        status["initContainerStatuses"] = json!(init);
    }
    status["containerStatuses"] = json!(statuses(&[Kind::Regular]));
    status["qosClass"] = json!(qos_class(pod));
    status
}

/// Keeps the `lastTransitionTime` of the conditions whose status did not change.
pub(crate) fn keep_transition_times(status: &mut Value, before: &Value) {
    let Some(conditions) = status["conditions"].as_array_mut() else {
        return;
    };
    for condition in conditions {
        let same = before["conditions"].as_array().and_then(|old| {
            old.iter()
                .find(|o| o["type"] == condition["type"] && o["status"] == condition["status"])
        });
        if let Some(old) = same {
            condition["lastTransitionTime"] = old["lastTransitionTime"].clone();
        }
    }
}
