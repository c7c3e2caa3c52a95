//! The DaemonSet controller, on the fake's one node: a pod `NAME-xxxxx` there when the
//! template's node selector allows it, labelled `controller-revision-hash: HASH`, and replaced
//! when the template changes.
//!
//! Sources, in kubernetes/kubernetes pkg/controller/daemon: daemon_controller.go (`syncNodes`:
//! the pod is pinned to its node by a `metadata.name` node affinity; `podsShouldBeOnNode`:
//! surplus pods go, oldest kept; `updateDaemonSetStatus`), update.go (`constructHistory` and
//! `snapshot`: revision `NAME-HASH` with `ComputeHash` of the template; `rollingUpdate`: without
//! surge an old pod is deleted when unavailability allows, with surge a new pod starts first
//! and the old one goes once the new one is ready), util/daemonset_util.go
//! (`CreatePodTemplate`: labels `pod-template-generation` and `controller-revision-hash`,
//! `AddOrUpdateDaemonPodTolerations`, `ReplaceDaemonSetPodNodeNameNodeAffinity`). The node is
//! labelled as a kubelet labels itself (`kubernetes.io/hostname`, `kubernetes.io/os`,
//! `kubernetes.io/arch`); node affinity and taints of the template are not evaluated.

use serde_json::{Value, json};

use super::controllers::{self, Ctx, active, int, owned_by, ready};
use super::events::NODE;
use super::hashes;
use super::resources::Resource;
use super::revisions;
use super::state::{Store, str_at};

const COMPONENT: &str = "daemonset-controller";
const HASH_LABEL: &str = "controller-revision-hash";

/// Reconciles every DaemonSet; whether anything changed.
pub(crate) fn sync_all(ctx: &mut Ctx<'_>, store: &mut Store) -> bool {
    let mut changed = false;
    for ds in controllers::all(store, Resource::DaemonSet) {
        changed |= sync_one(ctx, store, &ds);
    }
    changed
}

/// Whether the template's node selector selects the fake's node.
fn should_run(ds: &Value) -> bool {
    let node = json!({
        "kubernetes.io/hostname": NODE,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
    });
    ds["spec"]["template"]["spec"]["nodeSelector"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(key, value)| node[key] == *value)
}

fn sync_one(ctx: &mut Ctx<'_>, store: &mut Store, ds: &Value) -> bool {
    let collision = ds["status"]["collisionCount"]
        .as_u64()
        .and_then(|c| u32::try_from(c).ok());
    let hash = hashes::template_hash(&ds["spec"]["template"], collision);
    let name = revisions::name(str_at(ds, "/metadata/name"), &hash);
    let annotations = ds["metadata"].get("annotations");
    let (revision, mut changed) =
        revisions::ensure(store, ds, &name, (HASH_LABEL, &hash), annotations);
    let pods: Vec<Value> = owned_by(store, Resource::Pod, ds)
        .into_iter()
        .filter(active)
        .collect();
    let is_new = |p: &Value| str_at(p, &format!("/metadata/labels/{HASH_LABEL}")) == hash;
    let (new, old): (Vec<Value>, Vec<Value>) = pods.into_iter().partition(is_new);
    if !should_run(ds) {
        for pod in new.iter().chain(&old) {
            delete(store, ds, pod);
            changed = true;
        }
    } else if new.len() > 1 || old.len() > 1 {
        for pod in new.iter().skip(1).chain(old.iter().skip(1)) {
            delete(store, ds, pod);
        }
        changed = true;
    } else if old.is_empty() && new.is_empty() {
        changed |= create(ctx, store, ds, &hash);
    } else if ds["spec"]["updateStrategy"]["type"] == "RollingUpdate" {
        changed |= roll(ctx, store, ds, &hash, (new.first(), old.first()));
    }
    changed |= update_status(store, ds, &hash);
    let live = vec![str_at(&revision, "/metadata/name").to_owned()];
    changed | revisions::truncate(store, ds, &live)
}

/// `rollingUpdate` on one node with at most one old and one new pod.
fn roll(
    ctx: &mut Ctx<'_>,
    store: &mut Store,
    ds: &Value,
    hash: &str,
    (new, old): (Option<&Value>, Option<&Value>),
) -> bool {
    let Some(old) = old else {
        return false;
    };
    let update = &ds["spec"]["updateStrategy"]["rollingUpdate"];
    let surge = match &update["maxSurge"] {
        Value::String(percent) => i64::from(percent.trim_end_matches('%') != "0"),
        other => other.as_i64().unwrap_or(0),
    };
    match new {
        Some(new) if ready(new) => {
            delete(store, ds, old);
            true
        }
        Some(_) => false,
        None if surge > 0 => create(ctx, store, ds, hash),
        None => {
            delete(store, ds, old);
            true
        }
    }
}

fn delete(store: &mut Store, ds: &Value, pod: &Value) {
    let (namespace, name) = controllers::key_of(pod);
    store.remove(Resource::Pod, &namespace, &name);
    let message = format!("Deleted pod: {name}");
    controllers::record(
        store,
        ds,
        COMPONENT,
        ("Normal", "SuccessfulDelete"),
        &message,
    );
}

/// `CreatePodTemplate` with the node affinity of `syncNodes`, then the pod.
fn create(ctx: &mut Ctx<'_>, store: &mut Store, ds: &Value, hash: &str) -> bool {
    let uid = str_at(ds, "/metadata/uid").to_owned();
    if ctx.failed.contains_key(&uid) {
        return false;
    }
    let mut template = ds["spec"]["template"].clone();
    let labels = &mut template["metadata"]["labels"];
    if !labels.is_object() {
        *labels = json!({});
    }
    labels["pod-template-generation"] = json!(int(ds, "/metadata/generation").to_string());
    labels[HASH_LABEL] = json!(hash);
    let spec = &mut template["spec"];
    let mut tolerations = spec["tolerations"].as_array().cloned().unwrap_or_default();
    let mut wanted = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if spec["hostNetwork"] == true {
        wanted.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    for (key, effect) in wanted {
        if !tolerations
            .iter()
            .any(|t| t["key"] == key && t["effect"] == effect)
        {
            tolerations.push(json!({"key": key, "operator": "Exists", "effect": effect}));
        }
    }
    spec["tolerations"] = json!(tolerations);
    let terms =
        json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [NODE]}]}]);
    spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] =
        json!({"nodeSelectorTerms": terms});
    match controllers::create_pod(ctx, store, ds, &template, None) {
        Ok(pod) => {
            let message = format!("Created pod: {}", str_at(&pod, "/metadata/name"));
            controllers::record(
                store,
                ds,
                COMPONENT,
                ("Normal", "SuccessfulCreate"),
                &message,
            );
            true
        }
        Err(error) => {
            let message = format!("Error creating: {}", error.message);
            controllers::record(store, ds, COMPONENT, ("Warning", "FailedCreate"), &message);
            ctx.failed.insert(uid, error.message);
            false
        }
    }
}

/// `updateDaemonSetStatus` for the one node (its oldest pod counts).
fn update_status(store: &mut Store, ds: &Value, hash: &str) -> bool {
    let (namespace, name) = controllers::key_of(ds);
    let Some(before) = store.get(Resource::DaemonSet, &namespace, &name).cloned() else {
        return false;
    };
    let pods: Vec<Value> = owned_by(store, Resource::Pod, &before)
        .into_iter()
        .filter(active)
        .collect();
    let desired = i64::from(should_run(&before));
    let scheduled = i64::from(!pods.is_empty());
    let oldest = pods.first();
    let ready_count = i64::from(oldest.is_some_and(ready) && desired == 1);
    let updated = i64::from(
        desired == 1
            && oldest.is_some_and(|p| str_at(p, &format!("/metadata/labels/{HASH_LABEL}")) == hash),
    );
    let mut status = json!({
        "currentNumberScheduled": desired * scheduled,
        "numberMisscheduled": (1 - desired) * scheduled,
        "desiredNumberScheduled": desired,
        "numberReady": ready_count,
        "observedGeneration": before["metadata"]["generation"],
    });
    for (field, count) in [
        ("updatedNumberScheduled", updated),
        ("numberAvailable", ready_count),
        ("numberUnavailable", desired - ready_count),
    ] {
        if count > 0 {
            status[field] = json!(count);
        }
    }
    let mut after = before.clone();
    after["status"] = status;
    controllers::put_changed(store, Resource::DaemonSet, &before, after)
}
