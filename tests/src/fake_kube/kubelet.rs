//! The fake's scheduler and kubelet: what happens to a pod after it is stored, one step at a
//! time. Init containers run one after the other (a native sidecar only has to start), then
//! the containers together; a container that exits is restarted as the pod's
//! `restartPolicy` says (shown as `CrashLoopBackOff`); once the containers of a pod that will
//! not restart them have all exited, its native sidecars are stopped.
//!
//! Sources, in kubernetes/kubernetes pkg/kubelet: kuberuntime/kuberuntime_container.go
//! (`startContainer`: events `Created container: NAME`, `Started container NAME`,
//! `Error: MESSAGE`), kuberuntime/security_context_others.go (`verifyRunAsNonRoot`),
//! images/image_manager.go (pull events), kuberuntime/kuberuntime_manager.go (`doBackOff`),
//! kubelet_pods.go (`getPhase`), util/format/pod.go (`NAME_NAMESPACE(UID)`),
//! volumemanager and operationexecutor (`MountVolume.SetUp failed for volume "V" : ERROR`),
//! and the scheduler's `Scheduled`/`FailedScheduling` events (pkg/scheduler/schedule_one.go).

use std::collections::HashMap;

use super::containers::{ContainerScript, ContainerStart, Kind, Run, State, Terminated};
use super::events::{NODE, PodEvent, Reporter};
use super::objects::now;
use super::pods::{PodPhase, PodScript};
use super::state::str_at;
use serde_json::Value;

/// The user an image runs as (its config's `USER`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ImageUser {
    Uid(i64),
    Name(String),
}

/// What the fake keeps about a running pod besides the object.
#[derive(Debug, Clone)]
pub(crate) struct PodRuntime {
    pub(crate) script: PodScript,
    pub(crate) containers: Vec<Run>,
    /// The pod's `NAME_NAMESPACE(UID)`.
    pub(crate) full_name: String,
    pub(crate) restart_policy: String,
    /// Steps taken since creation.
    pub(crate) ticks: u32,
    /// Whether the pod is terminal (its containers will not run again).
    pub(crate) done: bool,
}

impl PodRuntime {
    /// Whether no further step can change the pod or record an event.
    pub(crate) fn settled(&self) -> bool {
        if self.script.unschedulable.is_some() || self.done {
            return true;
        }
        self.script.failed_mount.is_none()
            && self
                .containers
                .iter()
                .filter(|c| c.age.is_some())
                .all(|c| container_settled(c, &self.restart_policy))
    }
}

/// Whether a container that may start will not change again by itself.
fn container_settled(c: &Run, policy: &str) -> bool {
    match (&c.script.start, &c.state) {
        (ContainerStart::Stuck { .. }, _) => true,
        (ContainerStart::Starts { .. }, State::Running { .. }) => c.script.runs_for.is_none(),
        (ContainerStart::Starts { .. }, State::Terminated(t)) => !restarts(c, policy, t.exit_code),
        (ContainerStart::Starts { .. }, State::Waiting { reason, .. }) => {
            reason == "CrashLoopBackOff"
        }
        _ => false,
    }
}

/// An event the kubelet or scheduler wants recorded.
pub(crate) struct Emitted {
    pub(crate) reporter: Reporter,
    pub(crate) kind: &'static str,
    pub(crate) reason: String,
    pub(crate) message: String,
    pub(crate) field_path: Option<String>,
}

impl Emitted {
    pub(crate) fn as_event(&self) -> PodEvent<'_> {
        PodEvent {
            reporter: self.reporter,
            kind: self.kind,
            reason: &self.reason,
            message: &self.message,
            field_path: self.field_path.clone(),
        }
    }
}

/// The script of a container the test did not script: an injected sidecar or a native
/// sidecar never exits, an init container exits 0, and containers follow the pod's phases.
fn default_script(script: &PodScript, kind: Kind, injected: bool, image: &str) -> ContainerScript {
    if injected || kind == Kind::Sidecar {
        return ContainerScript::runs_forever("");
    }
    if kind == Kind::Init {
        return ContainerScript::exits("", 0);
    }
    let phases = &script.phases;
    let Some(start) = phases.iter().position(|p| *p != PodPhase::Pending) else {
        let reason = script
            .waiting_reason
            .clone()
            .unwrap_or_else(|| "ContainerCreating".to_owned());
        let message = super::kubelet_failures::stuck_message(&reason, image);
        return ContainerScript {
            start: ContainerStart::Stuck { reason, message },
            ..ContainerScript::runs_forever(&script.logs)
        };
    };
    let end = phases
        .iter()
        .position(|p| matches!(p, PodPhase::Succeeded | PodPhase::Failed));
    let exit_code = match end.map(|e| phases[e]) {
        Some(PodPhase::Failed) => script.exit_code,
        _ => 0,
    };
    let runs_for = end.map(|e| u32::try_from(e.saturating_sub(start)).unwrap_or(u32::MAX));
    ContainerScript::exits(&script.logs, exit_code)
        .with_steps(u32::try_from(start).unwrap_or(u32::MAX), runs_for)
}

/// Plans the run of a newly admitted pod; `injected` names the sidecars webhooks added.
pub(crate) fn plan(pod: &Value, script: PodScript, injected: &[String]) -> PodRuntime {
    let has_init = pod["spec"]["initContainers"]
        .as_array()
        .is_some_and(|c| !c.is_empty());
    let waiting = if has_init {
        "PodInitializing"
    } else {
        "ContainerCreating"
    };
    let mut containers = Vec::new();
    for (list, regular) in [("initContainers", false), ("containers", true)] {
        for container in pod["spec"][list].as_array().into_iter().flatten() {
            let name = str_at(container, "/name");
            let kind = match (regular, str_at(container, "/restartPolicy")) {
                (true, _) => Kind::Regular,
                (false, "Always") => Kind::Sidecar,
                (false, _) => Kind::Init,
            };
            let image = str_at(container, "/image");
            let own = script.containers.iter().find(|(n, _)| n == name);
            let container_script = own.map_or_else(
                || default_script(&script, kind, injected.iter().any(|i| i == name), image),
                |(_, s)| s.clone(),
            );
            containers.push(Run::new(name, image, kind, container_script, waiting));
        }
    }
    PodRuntime {
        script,
        containers,
        full_name: format!(
            "{}_{}({})",
            str_at(pod, "/metadata/name"),
            str_at(pod, "/metadata/namespace"),
            str_at(pod, "/metadata/uid")
        ),
        restart_policy: str_at(pod, "/spec/restartPolicy").to_owned(),
        ticks: 0,
        done: false,
    }
}

/// What a step needs to know about the pod besides its runtime.
pub(crate) struct Context<'a> {
    pub(crate) pod: &'a Value,
    pub(crate) users: &'a HashMap<String, ImageUser>,
}

fn kubelet(kind: &'static str, reason: &str, message: String, field_path: String) -> Emitted {
    Emitted {
        reporter: Reporter::Kubelet,
        kind,
        reason: reason.to_owned(),
        message,
        field_path: Some(field_path),
    }
}

/// The first step, at creation: the scheduler's decision.
pub(crate) fn schedule(rt: &PodRuntime, pod: &Value) -> Vec<Emitted> {
    let (kind, reason, message) = match &rt.script.unschedulable {
        Some(message) => ("Warning", "FailedScheduling", message.clone()),
        None => (
            "Normal",
            "Scheduled",
            format!(
                "Successfully assigned {}/{} to {NODE}",
                str_at(pod, "/metadata/namespace"),
                str_at(pod, "/metadata/name")
            ),
        ),
    };
    vec![Emitted {
        reporter: Reporter::Scheduler,
        kind,
        reason: reason.to_owned(),
        message,
        field_path: None,
    }]
}

/// Advances the pod one step; returns the events to record.
pub(crate) fn step(rt: &mut PodRuntime, ctx: &Context<'_>) -> Vec<Emitted> {
    let tick = rt.ticks;
    rt.ticks += 1;
    if rt.script.unschedulable.is_some() || rt.done {
        return Vec::new();
    }
    if let Some((volume, error)) = &rt.script.failed_mount {
        if !tick.is_multiple_of(10) {
            return Vec::new();
        }
        return vec![Emitted {
            reporter: Reporter::Kubelet,
            kind: "Warning",
            reason: "FailedMount".to_owned(),
            message: format!("MountVolume.SetUp failed for volume \"{volume}\" : {error}"),
            field_path: None,
        }];
    }
    let mut events = Vec::new();
    let policy = rt.restart_policy.clone();
    let mut initialized = true;
    for index in 0..rt.containers.len() {
        let kind = rt.containers[index].kind;
        if kind == Kind::Regular {
            continue;
        }
        let c = &mut rt.containers[index];
        let done = c.terminated().is_some_and(|t| t.exit_code == 0) && kind == Kind::Init;
        if done {
            continue;
        }
        events.extend(advance(c, ctx, &policy, &rt.full_name));
        let ok = match kind {
            Kind::Sidecar => c.running(),
            _ => c.terminated().is_some_and(|t| t.exit_code == 0),
        };
        if !ok {
            initialized = false;
            if policy == "Never" && c.terminated().is_some_and(|t| t.exit_code != 0) {
                rt.done = true;
            }
            break;
        }
    }
    if initialized && !rt.done {
        for c in rt.containers.iter_mut().filter(|c| c.kind == Kind::Regular) {
            events.extend(advance(c, ctx, &policy, &rt.full_name));
        }
        events.extend(finish(rt));
    }
    events
}

/// Stops the native sidecars once no container will run again (the kubelet's termination of
/// restartable init containers, with its `Killing` event).
fn finish(rt: &mut PodRuntime) -> Vec<Emitted> {
    let regular: Vec<&Run> = rt
        .containers
        .iter()
        .filter(|c| c.kind == Kind::Regular)
        .collect();
    let all_exited = regular.iter().all(|c| c.terminated().is_some());
    let all_zero = regular
        .iter()
        .all(|c| c.terminated().is_some_and(|t| t.exit_code == 0));
    let terminal = all_exited
        && (rt.restart_policy == "Never" || (rt.restart_policy == "OnFailure" && all_zero));
    if !terminal {
        return Vec::new();
    }
    rt.done = true;
    let mut events = Vec::new();
    for c in rt.containers.iter_mut().filter(|c| c.kind == Kind::Sidecar) {
        if c.running() {
            c.stop();
            events.push(kubelet(
                "Normal",
                "Killing",
                format!("Stopping container {}", c.name),
                field_path(c),
            ));
        }
    }
    events
}

fn field_path(c: &Run) -> String {
    match c.kind {
        Kind::Regular => format!("spec.containers{{{}}}", c.name),
        Kind::Init | Kind::Sidecar => format!("spec.initContainers{{{}}}", c.name),
    }
}

/// Whether an exited container is restarted: always for a sidecar or under `Always`, after
/// a failure under `OnFailure`, and after a failure of an init container unless `Never`.
fn restarts(c: &Run, policy: &str, exit_code: i32) -> bool {
    match c.kind {
        Kind::Sidecar => true,
        Kind::Init => exit_code != 0 && policy != "Never",
        Kind::Regular => policy == "Always" || (policy == "OnFailure" && exit_code != 0),
    }
}

/// One step of one container.
fn advance(c: &mut Run, ctx: &Context<'_>, policy: &str, pod: &str) -> Vec<Emitted> {
    if let Some(t) = c.terminated().cloned() {
        if !restarts(c, policy, t.exit_code) {
            return Vec::new();
        }
        c.last = Some(t);
        c.restarts += 1;
        c.state = State::Waiting {
            reason: "CrashLoopBackOff".to_owned(),
            message: Some(format!(
                "back-off 10s restarting failed container={} pod={pod}",
                c.name
            )),
        };
        let message = format!(
            "Back-off restarting failed container {} in pod {pod}",
            c.name
        );
        return vec![kubelet("Warning", "BackOff", message, field_path(c))];
    }
    if matches!(&c.state, State::Waiting { reason, .. } if reason == "CrashLoopBackOff") {
        return Vec::new();
    }
    let age = c.age.map_or(0, |a| a + 1);
    c.age = Some(age);
    match c.script.start.clone() {
        ContainerStart::Stuck { reason, message } => {
            c.state = State::Waiting { reason, message };
            Vec::new()
        }
        ContainerStart::Starts { after } => starts(c, ctx, age, after),
        ContainerStart::ImagePullFails { error } => {
            let error = error.unwrap_or_else(|| super::kubelet_failures::not_found(&c.image));
            super::kubelet_failures::pull_fails(c, age, &error)
        }
        ContainerStart::CreateFails { message } => {
            super::kubelet_failures::create_fails(c, ctx, age, "CreateContainerError", &message)
        }
        ContainerStart::ConfigFails { message } => super::kubelet_failures::create_fails(
            c,
            ctx,
            age,
            "CreateContainerConfigError",
            &message,
        ),
    }
}

/// A container that starts after `after` steps and may exit after running.
fn starts(c: &mut Run, ctx: &Context<'_>, age: u32, after: u32) -> Vec<Emitted> {
    if let State::Running { started_at } = &c.state {
        if c.script.runs_for.is_some_and(|n| age >= after + n) {
            c.state = State::Terminated(Terminated {
                exit_code: c.script.exit_code,
                reason: c.script.reason.clone(),
                started_at: started_at.clone(),
                finished_at: now(),
                container_id: c.container_id.clone(),
            });
        }
        return Vec::new();
    }
    if age < after {
        return Vec::new();
    }
    let mut events = Vec::new();
    if age == after {
        events.extend(super::kubelet_failures::pulled(c, ctx));
    }
    if let Err(why) = super::kubelet_failures::verify_run_as_non_root(c, ctx) {
        c.state = State::Waiting {
            reason: "CreateContainerConfigError".to_owned(),
            message: Some(why.clone()),
        };
        events.push(kubelet(
            "Warning",
            "Failed",
            format!("Error: {why}"),
            field_path(c),
        ));
        return events;
    }
    events.push(kubelet(
        "Normal",
        "Created",
        format!("Created container: {}", c.name),
        field_path(c),
    ));
    events.push(kubelet(
        "Normal",
        "Started",
        format!("Started container {}", c.name),
        field_path(c),
    ));
    let started_at = now();
    c.state = State::Running {
        started_at: started_at.clone(),
    };
    if c.script.runs_for == Some(0) {
        c.state = State::Terminated(Terminated {
            exit_code: c.script.exit_code,
            reason: c.script.reason.clone(),
            started_at: started_at.clone(),
            finished_at: started_at,
            container_id: c.container_id.clone(),
        });
    }
    events
}

/// The event helpers other kubelet modules use.
pub(crate) fn container_event(
    c: &Run,
    kind: &'static str,
    reason: &str,
    message: String,
) -> Emitted {
    kubelet(kind, reason, message, field_path(c))
}
