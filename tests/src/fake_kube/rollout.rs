//! How the deployment controller moves replicas between a Deployment's ReplicaSets: the rolling
//! update within `maxSurge` and `maxUnavailable`, the recreate strategy, scaling events, and
//! the revision history limit.
//!
//! Sources, in kubernetes/kubernetes pkg/controller/deployment: rolling.go (`rolloutRolling`,
//! `reconcileNewReplicaSet`, `reconcileOldReplicaSets`, `cleanupUnhealthyReplicas`,
//! `scaleDownOldReplicaSetsForRollingUpdate`), recreate.go (`rolloutRecreate`,
//! `oldPodsRunning`), sync.go (`scale`, `isScalingEvent`, `scaleReplicaSet`: event
//! `Scaled up|down replica set NAME from A to B`, `cleanupDeployment`) and
//! util/deployment_util.go (`ResolveFenceposts`: surge rounded up, unavailability down, never
//! both zero; `MaxUnavailable`, `MaxSurge`, `NewRSNewReplicas`, `IsSaturated`,
//! `FindActiveOrLatest`, `SetReplicasAnnotations`).

use serde_json::{Map, Value, json};

use super::apps;
use super::controllers::{self, active, int, owned_by};
use super::deployment::{COMPONENT, DESIRED, MAX};
use super::resources::Resource;
use super::state::{Store, str_at};

/// A Deployment's size and strategy, resolved.
pub(crate) struct Strategy {
    deployment: Value,
    pub(crate) replicas: i64,
    surge: i64,
    unavailable: i64,
    rolling: bool,
}

/// An `IntOrString` (`3` or `"25%"`) of `total`, rounded up or down.
fn resolve(value: &Value, total: i64, round_up: bool) -> i64 {
    match value {
        Value::String(text) => {
            let percent: i64 = text.trim_end_matches('%').parse().unwrap_or(0);
            if round_up {
                (percent * total + 99) / 100
            } else {
                percent * total / 100
            }
        }
        other => other.as_i64().unwrap_or(0),
    }
}

impl Strategy {
    pub(crate) fn new(d: &Value) -> Self {
        let replicas = int(d, "/spec/replicas");
        let rolling = d["spec"]["strategy"]["type"] != "Recreate";
        let update = &d["spec"]["strategy"]["rollingUpdate"];
        let surge = resolve(&update["maxSurge"], replicas, true);
        let mut unavailable = resolve(&update["maxUnavailable"], replicas, false);
        if surge == 0 && unavailable == 0 {
            unavailable = 1;
        }
        Self {
            deployment: d.clone(),
            replicas,
            surge,
            unavailable,
            rolling,
        }
    }

    /// `MaxUnavailable`.
    pub(crate) fn max_unavailable(&self) -> i64 {
        if !self.rolling || self.replicas == 0 {
            0
        } else {
            self.unavailable.min(self.replicas)
        }
    }

    fn max_surge(&self) -> i64 {
        if self.rolling { self.surge } else { 0 }
    }

    /// `SetReplicasAnnotations`: `desired-replicas` and `max-replicas`.
    pub(crate) fn replica_annotations(&self, annotations: &mut Map<String, Value>) {
        annotations.insert(DESIRED.to_owned(), json!(self.replicas.to_string()));
        let max = self.replicas + self.max_surge();
        annotations.insert(MAX.to_owned(), json!(max.to_string()));
    }

    /// `NewRSNewReplicas`.
    pub(crate) fn new_rs_replicas(&self, olds: &[Value], new: &Value) -> i64 {
        let have = int(new, "/spec/replicas");
        if !self.rolling {
            return self.replicas;
        }
        let current: i64 = olds.iter().map(|rs| int(rs, "/spec/replicas")).sum::<i64>() + have;
        let max_total = self.replicas + self.max_surge();
        if current >= max_total {
            return have;
        }
        have + (max_total - current).min(self.replicas - have)
    }
}

/// The stored version of a ReplicaSet (the controller's cache, kept up to date).
fn fresh(store: &Store, rs: &Value) -> Value {
    let (namespace, name) = controllers::key_of(rs);
    store
        .get(Resource::ReplicaSet, &namespace, &name)
        .cloned()
        .unwrap_or_else(|| rs.clone())
}

fn fresh_all(store: &Store, list: &[Value]) -> Vec<Value> {
    list.iter().map(|rs| fresh(store, rs)).collect()
}

/// A ReplicaSet update as the apiserver takes it (its generation follows its spec).
pub(crate) fn update(store: &mut Store, before: &Value, mut after: Value) -> bool {
    let _ = apps::prepare(Resource::ReplicaSet, &mut after, Some(before));
    controllers::put_changed(store, Resource::ReplicaSet, before, after)
}

/// `scaleReplicaSetAndRecordEvent`.
fn scale_rs(store: &mut Store, strategy: &Strategy, rs: &Value, to: i64) -> bool {
    let rs = fresh(store, rs);
    let from = int(&rs, "/spec/replicas");
    if from == to {
        return false;
    }
    let mut updated = rs.clone();
    updated["spec"]["replicas"] = json!(to);
    let mut annotations = updated["metadata"]["annotations"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    strategy.replica_annotations(&mut annotations);
    updated["metadata"]["annotations"] = Value::Object(annotations);
    update(store, &rs, updated);
    let direction = if from < to { "up" } else { "down" };
    let message = format!(
        "Scaled {direction} replica set {} from {from} to {to}",
        str_at(&rs, "/metadata/name")
    );
    controllers::record(
        store,
        &strategy.deployment,
        COMPONENT,
        ("Normal", "ScalingReplicaSet"),
        &message,
    );
    true
}

fn desired_annotation(rs: &Value) -> Option<i64> {
    rs["metadata"]["annotations"][DESIRED]
        .as_str()?
        .parse()
        .ok()
}

fn active_sets(new: Option<&Value>, olds: &[Value]) -> Vec<Value> {
    olds.iter()
        .chain(new)
        .filter(|rs| int(rs, "/spec/replicas") > 0)
        .cloned()
        .collect()
}

/// `isScalingEvent`: an active ReplicaSet was annotated for another size.
pub(crate) fn is_scaling_event(strategy: &Strategy, new: Option<&Value>, olds: &[Value]) -> bool {
    active_sets(new, olds)
        .iter()
        .filter_map(desired_annotation)
        .any(|desired| desired != strategy.replicas)
}

/// `scale`: the one active (or latest) ReplicaSet takes the whole size; a saturated new one
/// leaves the old ones none; several live ones are only re-annotated (see the module header of
/// [`super::deployment`]).
pub(crate) fn scale(
    store: &mut Store,
    strategy: &Strategy,
    new: Option<&Value>,
    olds: &[Value],
) -> bool {
    let active = active_sets(new, olds);
    let latest = match active.len() {
        0 => new.cloned().or_else(|| olds.last().cloned()),
        1 => Some(active[0].clone()),
        _ => None,
    };
    if let Some(rs) = latest {
        return scale_rs(store, strategy, &rs, strategy.replicas);
    }
    let saturated = new.is_some_and(|rs| {
        int(rs, "/spec/replicas") == strategy.replicas
            && desired_annotation(rs) == Some(strategy.replicas)
            && int(rs, "/status/availableReplicas") >= strategy.replicas
    });
    if saturated {
        return scale_down_all(store, strategy, olds);
    }
    let mut changed = false;
    for rs in active {
        let mut updated = fresh(store, &rs);
        let mut annotations = updated["metadata"]["annotations"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        strategy.replica_annotations(&mut annotations);
        updated["metadata"]["annotations"] = Value::Object(annotations);
        changed |= update(store, &rs, updated);
    }
    changed
}

/// `rolloutRolling` once the new ReplicaSet exists: scale it up, else old ones down, else clean
/// up the history of a complete rollout.
pub(crate) fn rolling(store: &mut Store, strategy: &Strategy, new: &Value, olds: &[Value]) -> bool {
    let new = fresh(store, new);
    let want = strategy.replicas;
    let have = int(&new, "/spec/replicas");
    if have != want {
        let to = if have > want {
            want
        } else {
            strategy.new_rs_replicas(&fresh_all(store, olds), &new)
        };
        if scale_rs(store, strategy, &new, to) {
            return true;
        }
    }
    if reconcile_old(store, strategy, &new, olds) {
        return true;
    }
    cleanup(store, strategy, olds)
}

/// `reconcileOldReplicaSets`: unhealthy old replicas first, then as many as availability allows.
fn reconcile_old(store: &mut Store, strategy: &Strategy, new: &Value, olds: &[Value]) -> bool {
    let olds = fresh_all(store, olds);
    let old_count: i64 = olds.iter().map(|rs| int(rs, "/spec/replicas")).sum();
    if old_count == 0 {
        return false;
    }
    let all_count = old_count + int(new, "/spec/replicas");
    let min_available = strategy.replicas - strategy.max_unavailable();
    let new_unavailable = int(new, "/spec/replicas") - int(new, "/status/availableReplicas");
    let max_scaled_down = all_count - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return false;
    }
    let mut cleaned = 0;
    for rs in &olds {
        let (replicas, available) = (
            int(rs, "/spec/replicas"),
            int(rs, "/status/availableReplicas"),
        );
        if cleaned >= max_scaled_down || replicas == 0 || replicas == available {
            continue;
        }
        let count = (max_scaled_down - cleaned).min(replicas - available);
        scale_rs(store, strategy, rs, replicas - count);
        cleaned += count;
    }
    let olds = fresh_all(store, &olds);
    let available: i64 = olds
        .iter()
        .chain(std::iter::once(new))
        .map(|rs| int(rs, "/status/availableReplicas"))
        .sum();
    let mut scaled = 0;
    if available > min_available {
        let total = available - min_available;
        for rs in &olds {
            let replicas = int(rs, "/spec/replicas");
            if scaled >= total || replicas == 0 {
                continue;
            }
            let count = replicas.min(total - scaled);
            scale_rs(store, strategy, rs, replicas - count);
            scaled += count;
        }
    }
    cleaned + scaled > 0
}

/// `scaleDownOldReplicaSetsForRecreate`.
pub(crate) fn scale_down_all(store: &mut Store, strategy: &Strategy, olds: &[Value]) -> bool {
    let mut changed = false;
    for rs in fresh_all(store, olds) {
        if int(&rs, "/spec/replicas") > 0 {
            changed |= scale_rs(store, strategy, &rs, 0);
        }
    }
    changed
}

/// `oldPodsRunning`: an old ReplicaSet still has pods that are not terminal.
pub(crate) fn old_pods_running(store: &Store, olds: &[Value]) -> bool {
    olds.iter()
        .any(|rs| owned_by(store, Resource::Pod, rs).iter().any(active))
}

/// `scaleUpNewReplicaSetForRecreate`, then the history cleanup of a complete rollout.
pub(crate) fn recreate_up(
    store: &mut Store,
    strategy: &Strategy,
    new: &Value,
    olds: &[Value],
) -> bool {
    if scale_rs(store, strategy, new, strategy.replicas) {
        return true;
    }
    cleanup(store, strategy, olds)
}

/// `cleanupDeployment` (when the Deployment's status says it is complete): the oldest empty
/// ReplicaSets beyond `revisionHistoryLimit` are deleted.
fn cleanup(store: &mut Store, strategy: &Strategy, olds: &[Value]) -> bool {
    let d = &strategy.deployment;
    let complete = ["updatedReplicas", "replicas", "availableReplicas"]
        .iter()
        .all(|f| int(d, &format!("/status/{f}")) == strategy.replicas)
        && int(d, "/status/observedGeneration") >= int(d, "/metadata/generation");
    let Some(limit) = d["spec"]["revisionHistoryLimit"].as_i64() else {
        return false;
    };
    if !complete {
        return false;
    }
    let olds = fresh_all(store, olds);
    let excess = i64::try_from(olds.len()).unwrap_or(0) - limit;
    let mut cleanable: Vec<&Value> = olds
        .iter()
        .filter(|rs| int(rs, "/spec/replicas") == 0 && int(rs, "/status/replicas") == 0)
        .collect();
    cleanable.sort_by_key(|rs| {
        str_at(
            rs,
            "/metadata/annotations/deployment.kubernetes.io~1revision",
        )
        .parse::<i64>()
        .unwrap_or(0)
    });
    let mut changed = false;
    for rs in cleanable
        .into_iter()
        .take(usize::try_from(excess).unwrap_or(0))
    {
        let (namespace, name) = controllers::key_of(rs);
        changed |= store
            .remove(Resource::ReplicaSet, &namespace, &name)
            .is_some();
    }
    changed
}
