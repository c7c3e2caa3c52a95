//! ControllerRevisions: the template history StatefulSets and DaemonSets keep, one revision per
//! distinct pod template, numbered in order of use.
//!
//! Sources, in kubernetes/kubernetes pkg/controller: history/controller_history.go
//! (`NewControllerRevision`: the template's labels plus `controller.kubernetes.io/hash`, a
//! controller reference, name `PARENT-HASH`; `FindEqualRevisions`; `UpdateControllerRevision`
//! renumbers a revision used again), statefulset/stateful_set_utils.go and daemon/update.go
//! (`getPatch`: `{"spec":{"template":{...,"$patch":"replace"}}}` with sorted keys; daemon
//! `snapshot`: the DaemonSet's annotations and `controller-revision-hash` on the revision),
//! statefulset/stateful_set_control.go and daemon/update.go (`truncateHistory`, `cleanupHistory`:
//! revisions beyond `revisionHistoryLimit` that no pod uses are deleted, oldest first).

use serde_json::{Value, json};

use super::controllers::{self, int, owned_by};
use super::objects;
use super::patch;
use super::resources::Resource;
use super::state::{Store, str_at};

/// The revision data of a workload (`getPatch`).
pub(crate) fn data(workload: &Value) -> Value {
    let mut template = workload["spec"]["template"].clone();
    template["$patch"] = json!("replace");
    json!({"spec": {"template": template}})
}

/// The pod template a revision holds.
pub(crate) fn template(revision: &Value) -> Value {
    let mut template = revision["data"]["spec"]["template"].clone();
    if let Some(map) = template.as_object_mut() {
        map.shift_remove("$patch");
    }
    template
}

/// `ControllerRevisionName`: the parent's name (at most 223 bytes), `-`, the hash.
pub(crate) fn name(parent: &str, hash: &str) -> String {
    let prefix = if parent.len() > 223 {
        &parent[..223]
    } else {
        parent
    };
    format!("{prefix}-{hash}")
}

/// The revision of `owner`'s current template, created (`name`, labelled `hash_label`) or
/// renumbered as the latest when needed; whether anything changed.
pub(crate) fn ensure(
    store: &mut Store,
    owner: &Value,
    name: &str,
    hash_label: (&str, &str),
    annotations: Option<&Value>,
) -> (Value, bool) {
    let revisions = owned_by(store, Resource::ControllerRevision, owner);
    let data = data(owner);
    let latest = revisions
        .iter()
        .map(|r| int(r, "/revision"))
        .max()
        .unwrap_or(0);
    if let Some(found) = revisions.iter().find(|r| r["data"] == data) {
        if int(found, "/revision") == latest {
            return (found.clone(), false);
        }
        let mut renumbered = found.clone();
        renumbered["revision"] = json!(latest + 1);
        let stored = store.put(Resource::ControllerRevision, objects::canonical(renumbered));
        return (stored, true);
    }
    let mut labels = owner["spec"]["template"]["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    labels[hash_label.0] = json!(hash_label.1);
    let mut metadata = json!({"name": name, "labels": labels});
    if let Some(annotations) = annotations.filter(|a| a.is_object()) {
        metadata["annotations"] = annotations.clone();
    }
    metadata["ownerReferences"] = json!([controllers::controller_ref(owner)]);
    let revision = json!({"metadata": metadata, "data": data, "revision": latest + 1});
    let namespace = str_at(owner, "/metadata/namespace");
    let revision = objects::prepare_new(Resource::ControllerRevision, namespace, revision)
        .expect("a valid ControllerRevision");
    let revision = patch::record_update(None, revision, "kube-controller-manager");
    (
        objects::insert_new(store, Resource::ControllerRevision, revision),
        true,
    )
}

/// Deletes the oldest revisions beyond `revisionHistoryLimit` whose names are not `live`.
pub(crate) fn truncate(store: &mut Store, owner: &Value, live: &[String]) -> bool {
    let limit = owner["spec"]["revisionHistoryLimit"].as_i64().unwrap_or(10);
    let mut history: Vec<Value> = owned_by(store, Resource::ControllerRevision, owner)
        .into_iter()
        .filter(|r| !live.iter().any(|l| l == str_at(r, "/metadata/name")))
        .collect();
    history.sort_by_key(|r| int(r, "/revision"));
    let excess = i64::try_from(history.len()).unwrap_or(0) - limit;
    let mut changed = false;
    for revision in history
        .into_iter()
        .take(usize::try_from(excess).unwrap_or(0))
    {
        let (namespace, name) = controllers::key_of(&revision);
        changed |= store
            .remove(Resource::ControllerRevision, &namespace, &name)
            .is_some();
    }
    changed
}
