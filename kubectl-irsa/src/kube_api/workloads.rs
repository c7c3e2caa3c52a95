//! The workloads that own pods, and restarting them as `kubectl rollout restart` does (a new
//! `kubectl.kubernetes.io/restartedAt` annotation on the pod template rolls every pod). Pods
//! keep the identity the webhook gave them at creation, so a changed binding reaches running
//! pods only through a restart.

use std::collections::BTreeSet;
use std::fmt;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, ObjectMeta, Patch, PatchParams};

use super::{Call, Cluster, DryRun, FIELD_MANAGER, KubeError, Scope};

/// A workload `kubectl rollout restart` can restart.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Workload {
    Deployment(String),
    StatefulSet(String),
    DaemonSet(String),
}

impl fmt::Display for Workload {
    /// `deployment/web`, as `kubectl rollout restart` takes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Workload::Deployment(name) => write!(f, "deployment/{name}"),
            Workload::StatefulSet(name) => write!(f, "statefulset/{name}"),
            Workload::DaemonSet(name) => write!(f, "daemonset/{name}"),
        }
    }
}

/// Who owns the pods: the workloads to restart, and the pods no restartable workload owns
/// (bare pods, Jobs), which must be re-created by hand.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owners {
    pub workloads: BTreeSet<Workload>,
    pub others: Vec<String>,
}

impl Cluster {
    /// The metadata of the pods of the current namespace that run as `account`.
    pub async fn pods_using(&self, account: &str) -> Result<Vec<ObjectMeta>, KubeError> {
        let scope = Scope::Namespace(self.namespace.clone());
        let params = ListParams::default().fields(&format!("spec.serviceAccountName={account}"));
        let list = self
            .api::<Pod>(&scope)
            .list_metadata(&params)
            .await
            .map_err(|e| KubeError::new(Call::on::<Pod>("list", scope, None), e))?;
        Ok(list.items.into_iter().map(|item| item.metadata).collect())
    }

    /// The workloads that own `pods` (a ReplicaSet's Deployment), in the current namespace.
    pub async fn owners(&self, pods: &[ObjectMeta]) -> Result<Owners, KubeError> {
        let mut owners = Owners::default();
        for pod in pods {
            let controller = pod
                .owner_references
                .iter()
                .flatten()
                .find(|owner| owner.controller == Some(true));
            let workload = match controller.map(|o| (o.kind.as_str(), o.name.clone())) {
                Some(("StatefulSet", name)) => Some(Workload::StatefulSet(name)),
                Some(("DaemonSet", name)) => Some(Workload::DaemonSet(name)),
                Some(("ReplicaSet", name)) => self.deployment_of(&name).await?,
                _ => None,
            };
            match workload {
                Some(workload) => {
                    owners.workloads.insert(workload);
                }
                None => owners.others.push(pod.name.clone().unwrap_or_default()),
            }
        }
        Ok(owners)
    }

    /// The Deployment that owns the ReplicaSet `name`, if one does.
    async fn deployment_of(&self, name: &str) -> Result<Option<Workload>, KubeError> {
        let scope = Scope::Namespace(self.namespace.clone());
        let replica_set = self
            .api::<ReplicaSet>(&scope)
            .get_metadata_opt(name)
            .await
            .map_err(|e| KubeError::new(Call::on::<ReplicaSet>("get", scope, Some(name)), e))?;
        Ok(replica_set
            .and_then(|rs| rs.metadata.owner_references)
            .into_iter()
            .flatten()
            .find(|owner| owner.controller == Some(true) && owner.kind == "Deployment")
            .map(|owner| Workload::Deployment(owner.name)))
    }

    /// Rolls the workload's pods, as `kubectl rollout restart` does.
    pub async fn restart(&self, workload: &Workload, dry_run: DryRun) -> Result<(), KubeError> {
        let at = irsa_sts::rfc3339(time::OffsetDateTime::now_utc());
        let patch = serde_json::json!({ "spec": { "template": { "metadata": { "annotations": {
            "kubectl.kubernetes.io/restartedAt": at,
        }}}}});
        let params = PatchParams {
            dry_run: dry_run == DryRun::Server,
            field_manager: Some(FIELD_MANAGER.into()),
            ..PatchParams::default()
        };
        let scope = Scope::Namespace(self.namespace.clone());
        let client = self.client.clone();
        let ns = self.namespace.as_str();
        let (call, result) = match workload {
            Workload::Deployment(name) => (
                Call::on::<Deployment>("patch", scope, Some(name)),
                Api::<Deployment>::namespaced(client, ns)
                    .patch(name, &params, &Patch::Merge(&patch))
                    .await
                    .map(drop),
            ),
            Workload::StatefulSet(name) => (
                Call::on::<StatefulSet>("patch", scope, Some(name)),
                Api::<StatefulSet>::namespaced(client, ns)
                    .patch(name, &params, &Patch::Merge(&patch))
                    .await
                    .map(drop),
            ),
            Workload::DaemonSet(name) => (
                Call::on::<DaemonSet>("patch", scope, Some(name)),
                Api::<DaemonSet>::namespaced(client, ns)
                    .patch(name, &params, &Patch::Merge(&patch))
                    .await
                    .map(drop),
            ),
        };
        result.map_err(|e| KubeError::new(call, e))
    }
}
