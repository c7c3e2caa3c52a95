//! The StatefulSet controller: pods `NAME-0` .. `NAME-(N-1)`, each labelled with its revision
//! (`controller-revision-hash: NAME-HASH`), created in order, and replaced from the highest
//! ordinal down when the template changes.
//!
//! Sources, in kubernetes/kubernetes pkg/controller/statefulset: stateful_set_control.go
//! (`getStatefulSetRevisions` with the collision count as the hash probe; `updateStatefulSet`:
//! with `OrderedReady` each missing pod waits for the previous one to be running and ready,
//! surplus pods go from the highest ordinal, one at a time; a rolling update deletes the
//! highest pod not at the update revision once all are healthy, down to the partition;
//! `completeRollingUpdate`), stateful_set_utils.go (`newVersionedStatefulSetPod`,
//! `initIdentity`: hostname, subdomain, labels `statefulset.kubernetes.io/pod-name` and
//! `apps.kubernetes.io/pod-index`), stateful_pod_control.go (`recordPodEvent`: `create Pod P in
//! StatefulSet S successful`, `... failed error: E`). Not modelled: volume claim templates,
//! `maxUnavailable`, `minReadySeconds`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::controllers::{self, Ctx, active, int, owned_by, ready};
use super::hashes;
use super::resources::Resource;
use super::revisions;
use super::state::{Store, str_at};

const COMPONENT: &str = "statefulset-controller";
const REVISION_LABEL: &str = "controller-revision-hash";

/// Reconciles every StatefulSet; whether anything changed.
pub(crate) fn sync_all(ctx: &mut Ctx<'_>, store: &mut Store) -> bool {
    let mut changed = false;
    for set in controllers::all(store, Resource::StatefulSet) {
        changed |= sync_one(ctx, store, &set);
    }
    changed
}

fn sync_one(ctx: &mut Ctx<'_>, store: &mut Store, set: &Value) -> bool {
    let collision = int(set, "/status/collisionCount");
    let data = revisions::data(set);
    let hash = hashes::revision_hash(&hashes::go_json(&data), Some(collision));
    let name = revisions::name(str_at(set, "/metadata/name"), &hash);
    let label = ("controller.kubernetes.io/hash", hash.as_str());
    let (update, mut changed) = revisions::ensure(store, set, &name, label, None);
    let update = str_at(&update, "/metadata/name").to_owned();
    let mut current = str_at(set, "/status/currentRevision").to_owned();
    let namespace = str_at(set, "/metadata/namespace");
    if current.is_empty()
        || store
            .get(Resource::ControllerRevision, namespace, &current)
            .is_none()
    {
        current.clone_from(&update);
    }
    changed |= manage(ctx, store, set, (&current, &update));
    changed |= update_status(store, set, (&current, &update));
    changed | revisions::truncate(store, set, &[current, update])
}

fn ordinal(set: &Value, pod: &Value) -> Option<i64> {
    let prefix = format!("{}-", str_at(set, "/metadata/name"));
    str_at(pod, "/metadata/name")
        .strip_prefix(&prefix)?
        .parse()
        .ok()
}

fn healthy(pod: &Value) -> bool {
    str_at(pod, "/status/phase") == "Running" && ready(pod)
}

fn event(store: &mut Store, set: &Value, verb: &str, pod: &str, error: Option<&str>) {
    let set_name = str_at(set, "/metadata/name");
    let title = format!("{}{}", verb[..1].to_uppercase(), &verb[1..]);
    match error {
        None => {
            let message = format!("{verb} Pod {pod} in StatefulSet {set_name} successful");
            let reason = format!("Successful{title}");
            controllers::record(store, set, COMPONENT, ("Normal", &reason), &message);
        }
        Some(error) => {
            let message =
                format!("{verb} Pod {pod} in StatefulSet {set_name} failed error: {error}");
            let reason = format!("Failed{title}");
            controllers::record(store, set, COMPONENT, ("Warning", &reason), &message);
        }
    }
}

/// `newVersionedStatefulSetPod` and its creation; whether it was created.
fn create(ctx: &mut Ctx<'_>, store: &mut Store, set: &Value, ord: i64, revision: &str) -> bool {
    let namespace = str_at(set, "/metadata/namespace");
    let mut template = match store.get(Resource::ControllerRevision, namespace, revision) {
        Some(stored) => revisions::template(stored),
        None => set["spec"]["template"].clone(),
    };
    let name = format!("{}-{ord}", str_at(set, "/metadata/name"));
    let labels = &mut template["metadata"]["labels"];
    if !labels.is_object() {
        *labels = json!({});
    }
    labels["statefulset.kubernetes.io/pod-name"] = json!(name);
    labels["apps.kubernetes.io/pod-index"] = json!(ord.to_string());
    labels[REVISION_LABEL] = json!(revision);
    template["spec"]["hostname"] = json!(name);
    let service = str_at(set, "/spec/serviceName");
    if !service.is_empty() {
        template["spec"]["subdomain"] = json!(service);
    }
    let uid = str_at(set, "/metadata/uid").to_owned();
    match controllers::create_pod(ctx, store, set, &template, Some(name.clone())) {
        Ok(_) => {
            event(store, set, "create", &name, None);
            true
        }
        Err(error) => {
            event(store, set, "create", &name, Some(&error.message));
            ctx.failed.insert(uid, error.message);
            false
        }
    }
}

fn delete(store: &mut Store, set: &Value, pod: &Value) {
    let (namespace, name) = controllers::key_of(pod);
    store.remove(Resource::Pod, &namespace, &name);
    event(store, set, "delete", &name, None);
}

/// `updateStatefulSet`: create, scale down, then roll, one pod at a time when ordered.
fn manage(
    ctx: &mut Ctx<'_>,
    store: &mut Store,
    set: &Value,
    (current, update): (&str, &str),
) -> bool {
    let replicas = int(set, "/spec/replicas");
    let ordered = str_at(set, "/spec/podManagementPolicy") != "Parallel";
    let partition = int(set, "/spec/updateStrategy/rollingUpdate/partition");
    let pods: BTreeMap<i64, Value> = owned_by(store, Resource::Pod, set)
        .into_iter()
        .filter_map(|pod| ordinal(set, &pod).map(|ord| (ord, pod)))
        .collect();
    let mut changed = false;
    for ord in 0..replicas {
        match pods.get(&ord) {
            None if ctx.failed.contains_key(str_at(set, "/metadata/uid")) => return changed,
            None => {
                let revision = if ord < partition { current } else { update };
                changed |= create(ctx, store, set, ord, revision);
                if ordered {
                    return changed;
                }
            }
            Some(pod) if !active(pod) => {
                delete(store, set, pod);
                if ordered {
                    return true;
                }
                changed = true;
            }
            Some(pod) if ordered && !healthy(pod) => return changed,
            Some(_) => {}
        }
    }
    let all_healthy = pods.values().all(healthy);
    for (_, pod) in pods.range(replicas..).rev() {
        if ordered && !all_healthy {
            return changed;
        }
        delete(store, set, pod);
        if ordered {
            return true;
        }
        changed = true;
    }
    if set["spec"]["updateStrategy"]["type"] != "RollingUpdate" || changed {
        return changed;
    }
    for ord in (partition.max(0)..replicas).rev() {
        let Some(pod) = pods.get(&ord) else { continue };
        if str_at(pod, &format!("/metadata/labels/{REVISION_LABEL}")) != update {
            delete(store, set, pod);
            return true;
        }
        if !healthy(pod) {
            return false;
        }
    }
    false
}

/// The StatefulSet's status from its pods, and `completeRollingUpdate`.
fn update_status(store: &mut Store, set: &Value, (current, update): (&str, &str)) -> bool {
    let (namespace, name) = controllers::key_of(set);
    let Some(before) = store.get(Resource::StatefulSet, &namespace, &name).cloned() else {
        return false;
    };
    let pods: Vec<Value> = owned_by(store, Resource::Pod, &before)
        .into_iter()
        .filter(|p| ordinal(&before, p).is_some() && active(p))
        .collect();
    let at = |revision: &str| {
        pods.iter()
            .filter(|p| str_at(p, &format!("/metadata/labels/{REVISION_LABEL}")) == revision)
            .count()
    };
    let ready_count = pods.iter().filter(|p| ready(p)).count();
    let (mut current_name, mut current_count) = (current.to_owned(), at(current));
    let updated = at(update);
    let rolling = before["spec"]["updateStrategy"]["type"] == "RollingUpdate";
    if rolling && updated == pods.len() && ready_count == pods.len() {
        current_name = update.to_owned();
        current_count = updated;
    }
    let mut status = json!({
        "observedGeneration": before["metadata"]["generation"],
        "replicas": pods.len(),
    });
    for (field, count) in [
        ("readyReplicas", ready_count),
        ("currentReplicas", current_count),
        ("updatedReplicas", updated),
    ] {
        if count > 0 {
            status[field] = json!(count);
        }
    }
    status["currentRevision"] = json!(current_name);
    status["updateRevision"] = json!(update);
    status["collisionCount"] = json!(int(&before, "/status/collisionCount"));
    status["availableReplicas"] = json!(ready_count);
    let mut after = before.clone();
    after["status"] = status;
    controllers::put_changed(store, Resource::StatefulSet, &before, after)
}
