//! A pod's row in `kubectl get pods`: `printPod` in kubernetes/kubernetes
//! pkg/printers/internalversion/printers.go (the `READY` count with started native sidecars,
//! `STATUS` from the first unfinished init container or the last container with a reason,
//! `Init:N/M`, `Init:REASON`, `NotReady`, `Terminating`, and the restarts).

use serde_json::{Value, json};

use super::state::str_at;
use super::table::column;

fn statuses<'a>(pod: &'a Value, list: &str) -> &'a [Value] {
    pod["status"][list].as_array().map_or(&[], Vec::as_slice)
}

/// Whether the init container `name` is a native sidecar.
fn restartable(pod: &Value, name: &str) -> bool {
    pod["spec"]["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| str_at(c, "/name") == name && str_at(c, "/restartPolicy") == "Always")
}

/// `Init:...` while an init container has not finished, with the sidecar counts.
fn init_reason(
    pod: &Value,
    total: &mut usize,
    ready: &mut usize,
    (restarts, sidecar_restarts): (&mut i64, &mut i64),
) -> Option<String> {
    let init = statuses(pod, "initContainerStatuses");
    let count = pod["spec"]["initContainers"].as_array().map_or(0, Vec::len);
    for (i, c) in init.iter().enumerate() {
        let restarted = c["restartCount"].as_i64().unwrap_or(0);
        *restarts += restarted;
        if restartable(pod, str_at(c, "/name")) {
            *sidecar_restarts += restarted;
            if c["started"] == true {
                *total += 1;
                if c["ready"] == true {
                    *ready += 1;
                }
            }
            continue;
        }
        let terminated = &c["state"]["terminated"];
        let waiting = str_at(c, "/state/waiting/reason");
        if terminated.is_object() && terminated["exitCode"] == 0 {
            continue;
        }
        if terminated.is_object() {
            let reason = str_at(terminated, "/reason");
            return Some(if reason.is_empty() {
                format!("Init:ExitCode:{}", terminated["exitCode"])
            } else {
                format!("Init:{reason}")
            });
        }
        if !waiting.is_empty() && waiting != "PodInitializing" {
            return Some(format!("Init:{waiting}"));
        }
        return Some(format!("Init:{i}/{count}"));
    }
    None
}

/// The status from the containers, walked from the last one, with the ready ones counted.
fn containers_reason(pod: &Value, reason: &mut String, ready: &mut usize, restarts: &mut i64) {
    let mut running = false;
    for c in statuses(pod, "containerStatuses").iter().rev() {
        *restarts += c["restartCount"].as_i64().unwrap_or(0);
        let waiting = str_at(c, "/state/waiting/reason");
        let terminated = &c["state"]["terminated"];
        if !waiting.is_empty() {
            waiting.clone_into(reason);
        } else if terminated.is_object() && !str_at(terminated, "/reason").is_empty() {
            str_at(terminated, "/reason").clone_into(reason);
        } else if terminated.is_object() {
            *reason = format!("ExitCode:{}", terminated["exitCode"]);
        } else if c["ready"] == true && c["state"]["running"].is_object() {
            running = true;
            *ready += 1;
        }
    }
    if reason == "Completed" && running {
        let ready_condition = condition(pod, "Ready");
        *reason = if ready_condition {
            "Running"
        } else {
            "NotReady"
        }
        .to_owned();
    }
}

fn condition(pod: &Value, kind: &str) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == kind && c["status"] == "True")
}

/// `N`, or `N (AGE ago)` after the last restart.
fn restarts_cell(pod: &Value, restarts: i64) -> String {
    let last = ["initContainerStatuses", "containerStatuses"]
        .iter()
        .flat_map(|l| statuses(pod, l))
        .filter_map(|c| {
            c.pointer("/lastState/terminated/finishedAt")
                .and_then(Value::as_str)
        })
        .max();
    match last {
        Some(at) if restarts != 0 => format!("{restarts} ({} ago)", super::table::age(at)),
        _ => restarts.to_string(),
    }
}

/// The `Ready`, `Status`, `Restarts`, `IP`, `Node`, `Nominated Node` and `Readiness Gates`
/// cells (name and age are added by the caller).
pub(crate) fn cells(pod: &Value) -> Vec<Value> {
    let mut total = pod["spec"]["containers"].as_array().map_or(0, Vec::len);
    let (mut ready, mut restarts, mut sidecar_restarts) = (0usize, 0i64, 0i64);
    let mut reason = str_at(pod, "/status/reason").to_owned();
    if reason.is_empty() {
        reason = str_at(pod, "/status/phase").to_owned();
    }
    let counters = (&mut restarts, &mut sidecar_restarts);
    let init = init_reason(pod, &mut total, &mut ready, counters);
    let initializing = init.is_some();
    if let Some(init) = init {
        reason = init;
    }
    if !initializing || condition(pod, "Initialized") {
        // Once initialized, only the native sidecars' restarts count among the init ones.
        restarts = sidecar_restarts;
        containers_reason(pod, &mut reason, &mut ready, &mut restarts);
    }
    let phase = str_at(pod, "/status/phase");
    let deleting = pod.pointer("/metadata/deletionTimestamp").is_some();
    if deleting && !matches!(phase, "Succeeded" | "Failed") {
        reason = "Terminating".to_owned();
    }
    let none = |s: &str| json!(if s.is_empty() { "<none>" } else { s });
    vec![
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_cell(pod, restarts)),
        none(str_at(pod, "/status/podIP")),
        none(str_at(pod, "/spec/nodeName")),
        json!("<none>"),
        json!("<none>"),
    ]
}

/// The pod columns of `AddHandlers` in printers.go.
pub(crate) fn columns(name: Value, age: Value) -> Vec<Value> {
    vec![
        name,
        column(
            "Ready",
            "string",
            "",
            "The aggregate readiness state of this pod for accepting traffic.",
            0,
        ),
        column(
            "Status",
            "string",
            "",
            "The aggregate status of the containers in this pod.",
            0,
        ),
        column(
            "Restarts",
            "string",
            "",
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            0,
        ),
        age,
        column("IP", "string", "", "The IP address assigned to this pod", 1),
        column(
            "Node",
            "string",
            "",
            "The name of the node this pod is running on",
            1,
        ),
        column(
            "Nominated Node",
            "string",
            "",
            "The name of the node where this pod is nominated to run",
            1,
        ),
        column(
            "Readiness Gates",
            "string",
            "",
            "The readiness gates of this pod",
            1,
        ),
    ]
}
