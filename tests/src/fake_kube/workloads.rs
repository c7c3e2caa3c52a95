//! Test helpers for `apps/v1` workloads: Deployments, StatefulSets and DaemonSets created as
//! the apiserver stores them, and what the controllers then make of them, at once (their pods
//! are admitted like any new pod and moved as far as their script goes before the helper
//! returns; later changes roll out step by step, as on a cluster).

use serde_json::{Value, json};

use super::controllers::{self, Pace};
use super::pods::PodScript;
use super::resources::Resource;
use super::state::str_at;
use super::{FakeKube, objects};

/// A workload `name` whose pods are labelled `app=NAME`, run as `service_account` and have one
/// container `app` (image `IMAGE`).
fn manifest(name: &str, service_account: &str, image: &str) -> Value {
    json!({
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "serviceAccountName": service_account,
                    "containers": [{"name": "app", "image": image}],
                },
            },
        },
    })
}

impl FakeKube {
    /// Creates Deployment `name` (pods labelled `app=NAME`, running as `service_account`, one
    /// container `app` with image `app:1`) in `namespace` (created if needed), and runs the
    /// controllers: its ReplicaSet `NAME-HASH` and `replicas` pods `NAME-HASH-xxxxx` (labelled
    /// `pod-template-hash=HASH`) exist when it returns, running as far as
    /// [`FakeKube::set_workload_pod_script`]'s script goes. The ServiceAccount must exist (a
    /// namespace's `default` does): without it the pods fail admission, and the ReplicaSet
    /// says so in a `FailedCreate` event, as on a cluster. Returns the Deployment as stored.
    ///
    /// # Panics
    ///
    /// When the name is invalid or taken.
    pub fn add_deployment(
        &self,
        namespace: &str,
        name: &str,
        service_account: &str,
        replicas: u32,
    ) -> Value {
        let mut deployment = manifest(name, service_account, "app:1");
        deployment["spec"]["replicas"] = json!(replicas);
        self.add_workload(Resource::Deployment, namespace, deployment)
    }

    /// As [`FakeKube::add_deployment`], a StatefulSet: pods `NAME-0` .. `NAME-(N-1)`, created in
    /// order, labelled `controller-revision-hash=NAME-HASH`.
    ///
    /// # Panics
    ///
    /// When the name is invalid or taken.
    pub fn add_stateful_set(
        &self,
        namespace: &str,
        name: &str,
        service_account: &str,
        replicas: u32,
    ) -> Value {
        let mut set = manifest(name, service_account, "app:1");
        set["spec"]["replicas"] = json!(replicas);
        set["spec"]["serviceName"] = json!(name);
        self.add_workload(Resource::StatefulSet, namespace, set)
    }

    /// As [`FakeKube::add_deployment`], a DaemonSet: one pod `NAME-xxxxx` on the fake's node,
    /// labelled `controller-revision-hash=HASH`.
    ///
    /// # Panics
    ///
    /// When the name is invalid or taken.
    pub fn add_daemon_set(&self, namespace: &str, name: &str, service_account: &str) -> Value {
        let set = manifest(name, service_account, "app:1");
        self.add_workload(Resource::DaemonSet, namespace, set)
    }

    /// Creates a Deployment, StatefulSet, DaemonSet or ReplicaSet from `manifest` (its `kind`
    /// says which) in `namespace` (created if needed) as the apiserver would, then runs the
    /// controllers at once; returns the object as stored then.
    ///
    /// # Panics
    ///
    /// When the kind is not one of those, or the apiserver would refuse the object.
    pub fn add_workload_manifest(&self, namespace: &str, manifest: Value) -> Value {
        let kind = str_at(&manifest, "/kind");
        let resource = [
            Resource::Deployment,
            Resource::StatefulSet,
            Resource::DaemonSet,
            Resource::ReplicaSet,
        ]
        .into_iter()
        .find(|r| r.kind() == kind)
        .unwrap_or_else(|| panic!("not a workload kind: {kind:?}"));
        self.add_workload(resource, namespace, manifest)
    }

    fn add_workload(&self, resource: Resource, namespace: &str, manifest: Value) -> Value {
        self.add_namespace(namespace);
        let name = str_at(&manifest, "/metadata/name").to_owned();
        let mut store = self.shared.store();
        assert!(
            store.get(resource, namespace, &name).is_none(),
            "{} {namespace}/{name} exists",
            resource.kind()
        );
        let object = objects::prepare_new(resource, namespace, manifest)
            .unwrap_or_else(|e| panic!("invalid {}: {}", resource.kind(), e.message));
        objects::insert_new(&mut store, resource, object);
        controllers::sync(&self.shared, &mut store, Pace::Instant);
        store
            .get(resource, namespace, &name)
            .cloned()
            .expect("the workload was just stored")
    }

    /// Runs the controllers now, their new pods moved at once as far as their script goes (as
    /// a resync would, e.g. once a missing ServiceAccount exists).
    pub fn reconcile(&self) {
        let mut store = self.shared.store();
        controllers::sync(&self.shared, &mut store, Pace::Instant);
    }

    /// The script of the pods the controllers create from now on (unless [`FakeKube::script_pod`]
    /// names one): [`PodScript::runs`] unless set.
    pub fn set_workload_pod_script(&self, script: PodScript) {
        self.shared.config().workload_pod_script = script;
    }

    /// The stored Deployment, if any.
    pub fn deployment(&self, namespace: &str, name: &str) -> Option<Value> {
        self.stored(Resource::Deployment, namespace, name)
    }

    /// The stored StatefulSet, if any.
    pub fn stateful_set(&self, namespace: &str, name: &str) -> Option<Value> {
        self.stored(Resource::StatefulSet, namespace, name)
    }

    /// The stored DaemonSet, if any.
    pub fn daemon_set(&self, namespace: &str, name: &str) -> Option<Value> {
        self.stored(Resource::DaemonSet, namespace, name)
    }

    /// The ReplicaSets of `namespace`, in name order.
    pub fn replica_sets(&self, namespace: &str) -> Vec<Value> {
        let store = self.shared.store();
        store
            .range(Resource::ReplicaSet, Some(namespace), None)
            .map(|(_, rs)| rs.clone())
            .collect()
    }

    /// The ControllerRevisions of `namespace`, in name order.
    pub fn controller_revisions(&self, namespace: &str) -> Vec<Value> {
        let store = self.shared.store();
        store
            .range(Resource::ControllerRevision, Some(namespace), None)
            .map(|(_, revision)| revision.clone())
            .collect()
    }

    fn stored(&self, resource: Resource, namespace: &str, name: &str) -> Option<Value> {
        self.shared.store().get(resource, namespace, name).cloned()
    }
}
