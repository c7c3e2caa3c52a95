//! kube-controller-manager, as far as workloads go: after every write the apiserver accepts,
//! and whenever a pod changes, the garbage collector and the deployment, ReplicaSet,
//! StatefulSet and DaemonSet controllers reconcile until nothing changes (as fast controllers
//! would, between two requests). What each controller does is in its own module; this one holds
//! what they share.
//!
//! Sources, in kubernetes/kubernetes pkg/controller: controller_utils.go (`GetPodFromTemplate`:
//! the template's labels, annotations and finalizers, `generateName` `OWNER-`, a controller
//! reference; `RealPodControl`: events `SuccessfulCreate` `Created pod: NAME`, `FailedCreate`
//! `Error creating: ERROR`, `SuccessfulDelete` `Deleted pod: NAME`; `FilterActivePods`),
//! garbagecollector/garbagecollector.go (dependents whose owners are gone are deleted,
//! background propagation), and staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/
//! controller_ref.go (`NewControllerRef`: `controller` and `blockOwnerDeletion` true).
//! Pods the controllers create go through the same admission as any new pod (the webhooks see
//! the ServiceAccount as it is then); they follow the workload script (see
//! `FakeKube::set_workload_pod_script`) unless their name has one. Not modelled: adoption of
//! orphans matching a selector, hash collisions, terminating pods (deletion is immediate, so
//! a replacement never waits for the old pod to go), `minReadySeconds` (a ready pod is
//! available at once), backoff between retries (a failing controller retries at every pass).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::events::{self, PodEvent, Reporter};
use super::objects::{self, canonical};
use super::pods::{self, PodScript};
use super::resources::Resource;
use super::state::{Shared, Store, str_at};
use super::status::ApiError;
use super::{daemonset, deployment, patch, replicaset, statefulset};

/// How the pods controllers create start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pace {
    /// Step by step, as their script says (the usual way).
    Live,
    /// At once, as far as their script goes (for the test helpers, which run outside the
    /// server and return what a test then sees).
    Instant,
}

/// One reconciliation pass over everything.
pub(crate) struct Ctx<'a> {
    pub(crate) shared: &'a Arc<Shared>,
    pub(crate) pace: Pace,
    /// Owners whose pod creation failed during this pass, with the error: they are not
    /// retried until the next pass (the controllers' rate-limited requeue).
    pub(crate) failed: HashMap<String, String>,
}

/// Runs the controllers until they change nothing more (at most 64 rounds).
pub(crate) fn sync(shared: &Arc<Shared>, store: &mut Store, pace: Pace) {
    let mut ctx = Ctx {
        shared,
        pace,
        failed: HashMap::new(),
    };
    for _ in 0..64 {
        let mut changed = collect_garbage(store);
        changed |= deployment::sync_all(store);
        changed |= replicaset::sync_all(&mut ctx, store);
        changed |= statefulset::sync_all(&mut ctx, store);
        changed |= daemonset::sync_all(&mut ctx, store);
        if !changed {
            return;
        }
    }
}

/// The garbage collector: objects whose every owner was an `apps/v1` object since removed are
/// deleted (pods, ReplicaSets, ControllerRevisions).
fn collect_garbage(store: &mut Store) -> bool {
    let mut doomed = Vec::new();
    for resource in [
        Resource::ReplicaSet,
        Resource::ControllerRevision,
        Resource::Pod,
    ] {
        for (_, object) in store.range(resource, None, None) {
            let owners = object["metadata"]["ownerReferences"].as_array();
            let dangling = owners.is_some_and(|owners| {
                !owners.is_empty()
                    && owners
                        .iter()
                        .all(|o| store.gone.contains(str_at(o, "/uid")))
            });
            if dangling {
                doomed.push((resource, key_of(object)));
            }
        }
    }
    let changed = !doomed.is_empty();
    for (resource, (namespace, name)) in doomed {
        store.remove(resource, &namespace, &name);
    }
    changed
}

/// The garbage collector's orphaning (garbagecollector.go `orphanDependents`): the dependents
/// of a deleted object lose their owner references to it and stay.
pub(crate) fn orphan(store: &mut Store, owner: &Value) {
    let uid = str_at(owner, "/metadata/uid").to_owned();
    let namespace = str_at(owner, "/metadata/namespace").to_owned();
    for resource in [
        Resource::ReplicaSet,
        Resource::ControllerRevision,
        Resource::Pod,
    ] {
        let dependents: Vec<Value> = store
            .range(resource, Some(&namespace), None)
            .map(|(_, o)| o)
            .filter(|o| {
                o["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid.as_str()))
            })
            .cloned()
            .collect();
        for mut dependent in dependents {
            let refs = dependent["metadata"]["ownerReferences"]
                .as_array_mut()
                .expect("owner references");
            refs.retain(|r| r["uid"] != uid.as_str());
            if refs.is_empty()
                && let Some(meta) = dependent["metadata"].as_object_mut()
            {
                meta.shift_remove("ownerReferences");
            }
            store.put(resource, dependent);
        }
    }
}

/// `(namespace, name)` of an object.
pub(crate) fn key_of(object: &Value) -> (String, String) {
    (
        str_at(object, "/metadata/namespace").to_owned(),
        str_at(object, "/metadata/name").to_owned(),
    )
}

/// Every stored object of `resource`.
pub(crate) fn all(store: &Store, resource: Resource) -> Vec<Value> {
    store
        .range(resource, None, None)
        .map(|(_, object)| object.clone())
        .collect()
}

/// The objects of `resource` that `owner` controls, oldest first.
pub(crate) fn owned_by(store: &Store, resource: Resource, owner: &Value) -> Vec<Value> {
    let uid = str_at(owner, "/metadata/uid");
    let mut owned: Vec<Value> = store
        .range(resource, Some(str_at(owner, "/metadata/namespace")), None)
        .map(|(_, object)| object)
        .filter(|object| controller_uid(object) == Some(uid))
        .cloned()
        .collect();
    owned.sort_by_key(creation_order);
    owned
}

/// The uid of an object's controller, if it has one.
pub(crate) fn controller_uid(object: &Value) -> Option<&str> {
    object["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["controller"] == true)
        .map(|o| str_at(o, "/uid"))
}

/// Creation time, then resource version: the order objects were created in.
pub(crate) fn creation_order(object: &Value) -> (String, u64) {
    let rv = str_at(object, "/metadata/resourceVersion")
        .parse()
        .unwrap_or(0);
    (str_at(object, "/metadata/creationTimestamp").to_owned(), rv)
}

/// `NewControllerRef`.
pub(crate) fn controller_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": str_at(owner, "/apiVersion"),
        "kind": str_at(owner, "/kind"),
        "name": str_at(owner, "/metadata/name"),
        "uid": str_at(owner, "/metadata/uid"),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// An integer field, 0 when absent.
pub(crate) fn int(object: &Value, pointer: &str) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// Stores `after` when it differs from `before`; whether it did.
pub(crate) fn put_changed(
    store: &mut Store,
    resource: Resource,
    before: &Value,
    after: Value,
) -> bool {
    if *before == after {
        return false;
    }
    store.put(resource, canonical(after));
    true
}

/// Records an event about `object` from controller `component`.
pub(crate) fn record(
    store: &mut Store,
    object: &Value,
    component: &'static str,
    (kind, reason): (&'static str, &str),
    message: &str,
) {
    let event = PodEvent {
        reporter: Reporter::Controller(component),
        kind,
        reason,
        message,
        field_path: None,
    };
    events::record(store, object, &event);
}

/// Whether a pod counts for its controller (`IsPodActive`: not terminal, not being deleted).
pub(crate) fn active(pod: &Value) -> bool {
    !matches!(str_at(pod, "/status/phase"), "Succeeded" | "Failed")
        && pod["metadata"].get("deletionTimestamp").is_none()
}

/// `IsPodReady`: the `Ready` condition is true.
pub(crate) fn ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// The script of a pod a controller creates.
fn script(ctx: &Ctx<'_>, name: &str) -> PodScript {
    let config = ctx.shared.config();
    config
        .pod_scripts
        .get(name)
        .cloned()
        .unwrap_or_else(|| config.workload_pod_script.clone())
}

/// Creates a pod of `owner` from `template` (`GetPodFromTemplate`), named `name` or generated
/// from `OWNER-`, through admission; it then starts as the pass's [`Pace`] says.
pub(crate) fn create_pod(
    ctx: &mut Ctx<'_>,
    store: &mut Store,
    owner: &Value,
    template: &Value,
    name: Option<String>,
) -> Result<Value, ApiError> {
    let (namespace, owner_name) = key_of(owner);
    let mut meta = json!({"generateName": format!("{owner_name}-")});
    if let Some(name) = name {
        meta["name"] = json!(name);
    }
    for field in ["labels", "annotations", "finalizers"] {
        if let Some(value) = template["metadata"].get(field).filter(|v| !v.is_null()) {
            meta[field] = value.clone();
        }
    }
    meta["ownerReferences"] = json!([controller_ref(owner)]);
    let pod = json!({"metadata": meta, "spec": template["spec"]});
    if store.get(Resource::Namespace, "", &namespace).is_none() {
        return Err(ApiError::namespace_not_found(&namespace));
    }
    let pod = objects::prepare_new(Resource::Pod, &namespace, pod)?;
    let name = str_at(&pod, "/metadata/name").to_owned();
    if store.get(Resource::Pod, &namespace, &name).is_some() {
        return Err(ApiError::already_exists(Resource::Pod, &name));
    }
    let mut pod = patch::record_update(None, pod, "kube-controller-manager");
    let script = script(ctx, &name);
    let mut admitted = pods::admit_scripted(ctx.shared, store, &mut pod, script)?;
    if ctx.pace == Pace::Instant {
        pods::fast_forward(ctx.shared, &mut pod, &mut admitted);
    }
    let stored = objects::insert_new(store, Resource::Pod, pod);
    pods::start(ctx.shared, store, &stored, admitted);
    Ok(stored)
}

/// Sets a condition as `SetCondition` / `SetDeploymentCondition` do: nothing when the status
/// and reason are the same; the transition time kept when the status is.
pub(crate) fn set_condition(conditions: &mut Vec<Value>, mut condition: Value) {
    let kind = condition["type"].clone();
    if let Some(current) = conditions.iter().find(|c| c["type"] == kind) {
        if current["status"] == condition["status"] && current["reason"] == condition["reason"] {
            return;
        }
        if current["status"] == condition["status"] {
            condition["lastTransitionTime"] = current["lastTransitionTime"].clone();
        }
    }
    conditions.retain(|c| c["type"] != kind);
    conditions.push(condition);
}

/// A label selector as `LabelSelectorAsSelector(...).String()` writes it: requirements sorted
/// by key, `k=v`, `k in (a,b)`, `k notin (a)`, `k`, `!k`.
pub(crate) fn selector_string(selector: &Value) -> String {
    let mut terms: Vec<(String, String)> = Vec::new();
    for (key, value) in selector["matchLabels"].as_object().into_iter().flatten() {
        terms.push((
            key.clone(),
            format!("{key}={}", value.as_str().unwrap_or("")),
        ));
    }
    for expression in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = str_at(expression, "/key").to_owned();
        let mut values: Vec<&str> = expression["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        let term = match str_at(expression, "/operator") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.clone(),
            _ => format!("!{key}"),
        };
        terms.push((key, term));
    }
    terms.sort();
    terms
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(",")
}
