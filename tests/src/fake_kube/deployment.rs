//! The deployment controller: a ReplicaSet per pod template (`NAME-HASH`, its pods labelled
//! `pod-template-hash=HASH`), rolled to as the strategy says (see [`super::rollout`]), and the
//! Deployment's status and conditions (see [`super::deployment_status`]).
//!
//! Sources, in kubernetes/kubernetes pkg/controller/deployment: deployment_controller.go
//! (`syncDeployment`: paused and scaling events go to `sync`, else the strategy's rollout),
//! sync.go (`getNewReplicaSet`: the template plus the hash label, the selector plus the hash,
//! a controller reference, revision `max(old) + 1`, event `Scaled up replica set NAME from 0
//! to N`, condition `NewReplicaSetCreated`; `calculateStatus`; `isScalingEvent`, `scale`),
//! progress.go (`syncRolloutStatus`: `Progressing` is `ReplicaSetUpdated` while the rollout
//! moves, `NewReplicaSetAvailable` once complete; `ReplicaFailure` is copied from the
//! ReplicaSets) and util/deployment_util.go (`EqualIgnoreHash`, `SetNewReplicaSetAnnotations`,
//! the annotations not copied to ReplicaSets, `DeploymentComplete`, `DeploymentProgressing`).
//! The pod-template-hash is the stand-in of [`super::hashes::template_hash`]. Not modelled:
//! proportional scaling of several live ReplicaSets (their sizes are only re-annotated), hash
//! collisions, progress deadlines running out, rollbacks through the deprecated annotation.

use serde_json::{Map, Value, json};

use super::controllers::{self, owned_by, set_condition};
use super::objects::{self, now};
use super::resources::Resource;
use super::rollout::{self, Strategy};
use super::state::{Store, str_at};
use super::{deployment_status, hashes, patch};

pub(crate) const COMPONENT: &str = "deployment-controller";
pub(crate) const HASH_LABEL: &str = "pod-template-hash";
const REVISION: &str = "deployment.kubernetes.io/revision";
pub(crate) const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
pub(crate) const MAX: &str = "deployment.kubernetes.io/max-replicas";
/// Annotations a Deployment does not pass on to its ReplicaSets (`skipCopyAnnotation`).
const NOT_COPIED: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    DESIRED,
    MAX,
    "deprecated.deployment.rollback.to",
];

/// Reconciles every Deployment; whether anything changed.
pub(crate) fn sync_all(store: &mut Store) -> bool {
    let mut changed = false;
    for deployment in controllers::all(store, Resource::Deployment) {
        changed |= sync_one(store, &deployment);
    }
    changed
}

/// `EqualIgnoreHash`: the ReplicaSet's template, without its hash label, is the Deployment's.
pub(crate) fn same_template(rs: &Value, deployment: &Value) -> bool {
    let mut template = rs["spec"]["template"].clone();
    if let Some(labels) = template["metadata"]["labels"].as_object_mut() {
        labels.shift_remove(HASH_LABEL);
    }
    template == deployment["spec"]["template"]
}

fn revision(rs: &Value) -> i64 {
    str_at(
        rs,
        &format!("/metadata/annotations/{}", REVISION.replace('/', "~1")),
    )
    .parse()
    .unwrap_or(0)
}

fn sync_one(store: &mut Store, before: &Value) -> bool {
    let mut d = before.clone();
    let (mut new, olds): (Vec<Value>, Vec<Value>) = owned_by(store, Resource::ReplicaSet, &d)
        .into_iter()
        .partition(|rs| same_template(rs, &d));
    let new = new.pop();
    paused_conditions(&mut d);
    let revision = olds.iter().map(revision).max().unwrap_or(0) + 1;
    let mut changed = false;
    if let Some(rs) = &new {
        changed |= sync_new_annotations(store, &mut d, rs, revision);
    }
    let strategy = Strategy::new(&d);
    if d["spec"]["paused"] == true || rollout::is_scaling_event(&strategy, new.as_ref(), &olds) {
        changed |= rollout::scale(store, &strategy, new.as_ref(), &olds);
        return changed | deployment_status::write(store, before, &mut d, false);
    }
    changed |= if d["spec"]["strategy"]["type"] == "Recreate" {
        recreate(store, &mut d, new, &olds, revision)
    } else {
        let created = new.is_none();
        let new = new.unwrap_or_else(|| create_new(store, &mut d, &olds, revision));
        created | rollout::rolling(store, &Strategy::new(&d), &new, &olds)
    };
    changed | deployment_status::write(store, before, &mut d, true)
}

/// `rolloutRecreate`: every old pod goes before the new ReplicaSet is created and scaled up.
fn recreate(
    store: &mut Store,
    d: &mut Value,
    new: Option<Value>,
    olds: &[Value],
    revision: i64,
) -> bool {
    let strategy = Strategy::new(d);
    if rollout::scale_down_all(store, &strategy, olds) {
        return true;
    }
    if rollout::old_pods_running(store, olds) {
        return false;
    }
    let created = new.is_none();
    let new = new.unwrap_or_else(|| create_new(store, d, olds, revision));
    created | rollout::recreate_up(store, &Strategy::new(d), &new, olds)
}

/// `checkPausedConditions`.
fn paused_conditions(d: &mut Value) {
    let mut conditions = conditions(d);
    let current = conditions
        .iter()
        .find(|c| c["type"] == "Progressing")
        .map(|c| str_at(c, "/reason").to_owned());
    if current.as_deref() == Some("ProgressDeadlineExceeded") {
        return;
    }
    let paused = d["spec"]["paused"] == true;
    let was_paused = current.as_deref() == Some("DeploymentPaused");
    let condition = match (paused, was_paused) {
        (true, false) => condition(
            "Progressing",
            "Unknown",
            "DeploymentPaused",
            "Deployment is paused",
        ),
        (false, true) => condition(
            "Progressing",
            "Unknown",
            "DeploymentResumed",
            "Deployment is resumed",
        ),
        _ => return,
    };
    set_condition(&mut conditions, condition);
    d["status"]["conditions"] = json!(conditions);
}

/// `NewDeploymentCondition`.
pub(crate) fn condition(kind: &str, status: &str, reason: &str, message: &str) -> Value {
    let at = now();
    json!({
        "type": kind,
        "status": status,
        "lastUpdateTime": at,
        "lastTransitionTime": at,
        "reason": reason,
        "message": message,
    })
}

pub(crate) fn conditions(d: &Value) -> Vec<Value> {
    d["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn annotation_pointer(key: &str) -> String {
    format!("/metadata/annotations/{}", key.replace('/', "~1"))
}

/// `SetNewReplicaSetAnnotations`: the Deployment's annotations, the revision, and for a new
/// ReplicaSet its replica annotations; whether anything changed.
fn new_rs_annotations(
    strategy: &Strategy,
    d: &Value,
    rs: &mut Value,
    revision: i64,
    exists: bool,
) -> bool {
    let before = rs["metadata"]["annotations"].clone();
    let mut annotations = before.as_object().cloned().unwrap_or_default();
    for (key, value) in d["metadata"]["annotations"]
        .as_object()
        .into_iter()
        .flatten()
    {
        if !NOT_COPIED.contains(&key.as_str()) {
            annotations.insert(key.clone(), value.clone());
        }
    }
    let old: i64 = annotations
        .get(REVISION)
        .and_then(Value::as_str)
        .map_or(Some(0), |r| r.parse().ok())
        .unwrap_or(i64::MAX);
    if old < revision {
        annotations.insert(REVISION.to_owned(), json!(revision.to_string()));
    }
    if !exists {
        strategy.replica_annotations(&mut annotations);
    }
    rs["metadata"]["annotations"] = Value::Object(annotations);
    rs["metadata"]["annotations"] != before
}

/// The existing new ReplicaSet's annotations and `minReadySeconds`; the Deployment's revision
/// and, when it has none, a `FoundNewReplicaSet` condition.
fn sync_new_annotations(store: &mut Store, d: &mut Value, rs: &Value, revision: i64) -> bool {
    let mut updated = rs.clone();
    let changed_annotations =
        new_rs_annotations(&Strategy::new(d), d, &mut updated, revision, true);
    let min_ready = d["spec"].get("minReadySeconds").cloned();
    if updated["spec"].get("minReadySeconds").cloned() != min_ready {
        match min_ready {
            Some(value) => updated["spec"]["minReadySeconds"] = value,
            None => {
                updated["spec"]
                    .as_object_mut()
                    .map(|s| s.shift_remove("minReadySeconds"));
            }
        }
    }
    if changed_annotations || updated != *rs {
        return rollout::update(store, rs, updated);
    }
    let revision = str_at(rs, &annotation_pointer(REVISION)).to_owned();
    d["metadata"]["annotations"][REVISION] = json!(revision);
    let mut conditions = conditions(d);
    if d["spec"].get("progressDeadlineSeconds").is_some()
        && !conditions.iter().any(|c| c["type"] == "Progressing")
    {
        let message = format!("Found new replica set \"{}\"", str_at(rs, "/metadata/name"));
        set_condition(
            &mut conditions,
            condition("Progressing", "True", "FoundNewReplicaSet", &message),
        );
        d["status"]["conditions"] = json!(conditions);
    }
    false
}

/// `getNewReplicaSet` when the template has no ReplicaSet yet: creates it.
fn create_new(store: &mut Store, d: &mut Value, olds: &[Value], revision: i64) -> Value {
    let collision = d["status"]["collisionCount"]
        .as_u64()
        .and_then(|c| u32::try_from(c).ok());
    let mut template = d["spec"]["template"].clone();
    let hash = hashes::template_hash(&template, collision);
    template["metadata"]["labels"][HASH_LABEL] = json!(hash);
    let mut selector = d["spec"]["selector"].clone();
    selector["matchLabels"][HASH_LABEL] = json!(hash);
    let (namespace, name) = controllers::key_of(d);
    let mut spec = Map::new();
    spec.insert("replicas".to_owned(), json!(0));
    if let Some(min_ready) = d["spec"].get("minReadySeconds") {
        spec.insert("minReadySeconds".to_owned(), min_ready.clone());
    }
    spec.insert("selector".to_owned(), selector);
    spec.insert("template".to_owned(), template.clone());
    let mut rs = json!({
        "metadata": {
            "name": format!("{name}-{hash}"),
            "labels": template["metadata"]["labels"],
            "ownerReferences": [controllers::controller_ref(d)],
        },
        "spec": spec,
    });
    let strategy = Strategy::new(d);
    let replicas = strategy.new_rs_replicas(olds, &rs);
    rs["spec"]["replicas"] = json!(replicas);
    new_rs_annotations(&strategy, d, &mut rs, revision, false);
    let rs = objects::prepare_new(Resource::ReplicaSet, &namespace, rs)
        .expect("a valid ReplicaSet for a valid Deployment");
    let rs = patch::record_update(None, rs, "kube-controller-manager");
    let rs = objects::insert_new(store, Resource::ReplicaSet, rs);
    let rs_name = str_at(&rs, "/metadata/name").to_owned();
    if replicas > 0 {
        let message = format!("Scaled up replica set {rs_name} from 0 to {replicas}");
        controllers::record(
            store,
            d,
            COMPONENT,
            ("Normal", "ScalingReplicaSet"),
            &message,
        );
    }
    d["metadata"]["annotations"][REVISION] = json!(revision.to_string());
    if d["spec"].get("progressDeadlineSeconds").is_some() {
        let mut conditions = conditions(d);
        let message = format!("Created new replica set \"{rs_name}\"");
        set_condition(
            &mut conditions,
            condition("Progressing", "True", "NewReplicaSetCreated", &message),
        );
        d["status"]["conditions"] = json!(conditions);
    }
    rs
}
