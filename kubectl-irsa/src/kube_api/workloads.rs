//! The pods of a ServiceAccount, and restarting their workloads as `kubectl rollout restart`
//! does (a new `kubectl.kubernetes.io/restartedAt` annotation on the pod template rolls every
//! pod); which workload owns a pod is [`crate::workload`]'s business.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, ObjectMeta, Patch, PatchParams};

use super::{Call, Cluster, DryRun, FIELD_MANAGER, KubeError, Scope};

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

    /// Rolls the workload's pods, as `kubectl rollout restart` does.
    /// `kind` is `deployment`, `statefulset` or `daemonset`, as [`workload::Workload`] names it.
    pub async fn restart(&self, kind: &str, name: &str, dry_run: DryRun) -> Result<(), KubeError> {
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
        let (call, result) = match kind {
            "deployment" => (
                Call::on::<Deployment>("patch", scope, Some(name)),
                Api::<Deployment>::namespaced(client, ns)
                    .patch(name, &params, &Patch::Merge(&patch))
                    .await
                    .map(drop),
            ),
            "statefulset" => (
                Call::on::<StatefulSet>("patch", scope, Some(name)),
                Api::<StatefulSet>::namespaced(client, ns)
                    .patch(name, &params, &Patch::Merge(&patch))
                    .await
                    .map(drop),
            ),
            _ => (
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
