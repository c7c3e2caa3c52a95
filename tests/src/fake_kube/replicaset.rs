//! The ReplicaSet controller: as many active pods as `spec.replicas`, and the status counting
//! them.
//!
//! Sources, in kubernetes/kubernetes pkg/controller/replicaset: replica_set.go
//! (`manageReplicas`: create the missing pods, stopping at the first error as
//! `slowStartBatch` does, or delete the surplus, ranked by `getPodsToDelete`), and
//! replica_set_utils.go (`calculateStatus`: `replicas`, `fullyLabeledReplicas`,
//! `readyReplicas`, `availableReplicas`, `observedGeneration`, and a `ReplicaFailure`
//! condition, reason `FailedCreate`, while creating fails); pkg/controller/controller_utils.go
//! (`ActivePods` ranking: unscheduled, pending, not ready, then newer pods go first).

use serde_json::{Value, json};

use super::controllers::{self, Ctx, active, int, owned_by, ready};
use super::objects::now;
use super::resources::Resource;
use super::state::{Store, str_at};

const COMPONENT: &str = "replicaset-controller";

/// Reconciles every ReplicaSet; whether anything changed.
pub(crate) fn sync_all(ctx: &mut Ctx<'_>, store: &mut Store) -> bool {
    let mut changed = false;
    for rs in controllers::all(store, Resource::ReplicaSet) {
        changed |= sync_one(ctx, store, &rs);
    }
    changed
}

fn sync_one(ctx: &mut Ctx<'_>, store: &mut Store, rs: &Value) -> bool {
    let pods: Vec<Value> = owned_by(store, Resource::Pod, rs)
        .into_iter()
        .filter(active)
        .collect();
    let diff = i64::try_from(pods.len()).unwrap_or(i64::MAX) - int(rs, "/spec/replicas");
    let uid = str_at(rs, "/metadata/uid").to_owned();
    let mut changed = false;
    if diff < 0 && !ctx.failed.contains_key(&uid) {
        let template = rs["spec"]["template"].clone();
        for _ in 0..-diff {
            match controllers::create_pod(ctx, store, rs, &template, None) {
                Ok(pod) => {
                    let message = format!("Created pod: {}", str_at(&pod, "/metadata/name"));
                    controllers::record(
                        store,
                        rs,
                        COMPONENT,
                        ("Normal", "SuccessfulCreate"),
                        &message,
                    );
                    changed = true;
                }
                Err(error) => {
                    let message = format!("Error creating: {}", error.message);
                    controllers::record(
                        store,
                        rs,
                        COMPONENT,
                        ("Warning", "FailedCreate"),
                        &message,
                    );
                    ctx.failed.insert(uid.clone(), error.message);
                    break;
                }
            }
        }
    } else if diff > 0 {
        for pod in pods_to_delete(pods, diff) {
            let (namespace, name) = controllers::key_of(&pod);
            store.remove(Resource::Pod, &namespace, &name);
            let message = format!("Deleted pod: {name}");
            controllers::record(
                store,
                rs,
                COMPONENT,
                ("Normal", "SuccessfulDelete"),
                &message,
            );
            changed = true;
        }
    }
    let error = ctx.failed.get(&uid).cloned();
    changed | update_status(store, rs, error.as_deref())
}

/// The `diff` pods to delete first (`getPodsToDelete` with the `ActivePods` order).
fn pods_to_delete(mut pods: Vec<Value>, diff: i64) -> Vec<Value> {
    let phase_rank = |pod: &Value| match str_at(pod, "/status/phase") {
        "Pending" => 0,
        "Running" => 2,
        _ => 1,
    };
    pods.sort_by(|a, b| {
        let key = |p: &Value| {
            (
                !str_at(p, "/spec/nodeName").is_empty(),
                phase_rank(p),
                ready(p),
            )
        };
        key(a)
            .cmp(&key(b))
            .then_with(|| controllers::creation_order(b).cmp(&controllers::creation_order(a)))
    });
    pods.truncate(usize::try_from(diff).unwrap_or(0));
    pods
}

/// `calculateStatus` and `updateReplicaSetStatus`.
fn update_status(store: &mut Store, rs: &Value, error: Option<&str>) -> bool {
    let Some(current) = store
        .get(
            Resource::ReplicaSet,
            str_at(rs, "/metadata/namespace"),
            str_at(rs, "/metadata/name"),
        )
        .cloned()
    else {
        return false;
    };
    let pods: Vec<Value> = owned_by(store, Resource::Pod, &current)
        .into_iter()
        .filter(active)
        .collect();
    let template_labels = current["spec"]["template"]["metadata"]["labels"].clone();
    let fully = pods
        .iter()
        .filter(|p| {
            template_labels
                .as_object()
                .into_iter()
                .flatten()
                .all(|(k, v)| p["metadata"]["labels"][k] == *v)
        })
        .count();
    let ready_count = pods.iter().filter(|p| ready(p)).count();
    let mut status = json!({"replicas": pods.len()});
    for (field, count) in [
        ("fullyLabeledReplicas", fully),
        ("readyReplicas", ready_count),
        ("availableReplicas", ready_count),
    ] {
        if count > 0 {
            status[field] = json!(count);
        }
    }
    status["observedGeneration"] = current["metadata"]["generation"].clone();
    let mut conditions: Vec<Value> = current["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let failing = conditions.iter().any(|c| c["type"] == "ReplicaFailure");
    match error {
        Some(message) if !failing => conditions.push(json!({
            "type": "ReplicaFailure",
            "status": "True",
            "lastTransitionTime": now(),
            "reason": "FailedCreate",
            "message": message,
        })),
        None if failing => conditions.retain(|c| c["type"] != "ReplicaFailure"),
        _ => {}
    }
    if !conditions.is_empty() {
        status["conditions"] = json!(conditions);
    }
    let mut updated = current.clone();
    updated["status"] = status;
    controllers::put_changed(store, Resource::ReplicaSet, &current, updated)
}
