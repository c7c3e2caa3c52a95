//! A Deployment's status as the deployment controller writes it: the replica counts from its
//! ReplicaSets and the `Available`, `Progressing` and `ReplicaFailure` conditions.
//!
//! Sources, in kubernetes/kubernetes pkg/controller/deployment: sync.go (`calculateStatus`:
//! counts summed over the ReplicaSets, `Available` from `MaxUnavailable`), progress.go
//! (`syncRolloutStatus`: `Progressing` is `ReplicaSetUpdated` while the rollout moves,
//! `NewReplicaSetAvailable` once complete; `getReplicaFailures`) and util/deployment_util.go
//! (`DeploymentComplete`, `DeploymentProgressing`).

use serde_json::{Map, Value, json};

use super::controllers::{self, int, owned_by, set_condition};
use super::deployment::{condition, conditions, same_template};
use super::resources::Resource;
use super::rollout::Strategy;
use super::state::{Store, str_at};

/// `calculateStatus`, and with `rollout` the conditions of `syncRolloutStatus`; stores the
/// Deployment (its revision annotation and status) when it changed.
pub(crate) fn write(
    store: &mut Store,
    before: &Value,
    d: &mut Value,
    rollout_conditions: bool,
) -> bool {
    let all = owned_by(store, Resource::ReplicaSet, d);
    let new = all.iter().find(|rs| same_template(rs, d)).cloned();
    let sum = |field: &str| all.iter().map(|rs| int(rs, field)).sum::<i64>();
    let available = sum("/status/availableReplicas");
    let unavailable = (sum("/spec/replicas") - available).max(0);
    let mut status = Map::new();
    status.insert(
        "observedGeneration".to_owned(),
        d["metadata"]["generation"].clone(),
    );
    let updated = new.as_ref().map_or(0, |rs| int(rs, "/status/replicas"));
    for (field, value) in [
        ("replicas", sum("/status/replicas")),
        ("updatedReplicas", updated),
        ("readyReplicas", sum("/status/readyReplicas")),
        ("availableReplicas", available),
        ("unavailableReplicas", unavailable),
    ] {
        if value != 0 {
            status.insert(field.to_owned(), json!(value));
        }
    }
    let mut status = Value::Object(status);
    let mut conditions = conditions(d);
    let strategy = Strategy::new(d);
    let (kind, reason, message) = if available >= strategy.replicas - strategy.max_unavailable() {
        (
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    } else {
        (
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    };
    set_condition(
        &mut conditions,
        condition("Available", kind, reason, message),
    );
    if rollout_conditions {
        progress_conditions(d, &status, new.as_ref(), &mut conditions);
        failure_condition(&all, new.as_ref(), &mut conditions);
    }
    if !conditions.is_empty() {
        status["conditions"] = json!(conditions);
    }
    if let Some(count) = d["status"].get("collisionCount") {
        status["collisionCount"] = count.clone();
    }
    d["status"] = status;
    controllers::put_changed(store, Resource::Deployment, before, d.clone())
}

/// The `Progressing` condition of `syncRolloutStatus`.
fn progress_conditions(
    d: &Value,
    status: &Value,
    new: Option<&Value>,
    conditions: &mut Vec<Value>,
) {
    if d["spec"].get("progressDeadlineSeconds").is_none() {
        conditions.retain(|c| c["type"] != "Progressing");
        return;
    }
    let current = conditions
        .iter()
        .find(|c| c["type"] == "Progressing")
        .cloned();
    let count = |s: &Value, f: &str| int(s, &format!("/{f}"));
    let replicas = int(d, "/spec/replicas");
    let complete_before = count(status, "replicas") == count(status, "updatedReplicas")
        && current
            .as_ref()
            .is_some_and(|c| c["reason"] == "NewReplicaSetAvailable");
    if complete_before {
        return;
    }
    let subject = match new {
        Some(rs) => format!("ReplicaSet \"{}\"", str_at(rs, "/metadata/name")),
        None => format!("Deployment \"{}\"", str_at(d, "/metadata/name")),
    };
    let old = &d["status"];
    let complete = count(status, "updatedReplicas") == replicas
        && count(status, "replicas") == replicas
        && count(status, "availableReplicas") == replicas
        && count(status, "observedGeneration") >= int(d, "/metadata/generation");
    let progressing = count(status, "updatedReplicas") > count(old, "updatedReplicas")
        || count(status, "replicas") - count(status, "updatedReplicas")
            < count(old, "replicas") - count(old, "updatedReplicas")
        || count(status, "readyReplicas") > count(old, "readyReplicas")
        || count(status, "availableReplicas") > count(old, "availableReplicas");
    if complete {
        let message = format!("{subject} has successfully progressed.");
        set_condition(
            conditions,
            condition("Progressing", "True", "NewReplicaSetAvailable", &message),
        );
    } else if progressing {
        let mut updated = condition(
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            &format!("{subject} is progressing."),
        );
        if let Some(current) = current.filter(|c| c["status"] == "True") {
            updated["lastTransitionTime"] = current["lastTransitionTime"].clone();
        }
        conditions.retain(|c| c["type"] != "Progressing");
        conditions.push(updated);
    }
}

/// `getReplicaFailures`: the new ReplicaSet's `ReplicaFailure`, else an old one's.
fn failure_condition(all: &[Value], new: Option<&Value>, conditions: &mut Vec<Value>) {
    let failure = |rs: &Value| {
        rs["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "ReplicaFailure")
            .cloned()
    };
    let found = new
        .and_then(failure)
        .or_else(|| all.iter().find_map(failure));
    match found {
        Some(c) => set_condition(
            conditions,
            json!({
                "type": "ReplicaFailure",
                "status": c["status"],
                "lastUpdateTime": c["lastTransitionTime"],
                "lastTransitionTime": c["lastTransitionTime"],
                "reason": c["reason"],
                "message": c["message"],
            }),
        ),
        None => conditions.retain(|c| c["type"] != "ReplicaFailure"),
    }
}
