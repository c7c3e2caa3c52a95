//! The pod identity webhook the cluster runs: its configuration, and the flags of its
//! Deployment when it runs in the cluster and these credentials may read it.

use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::Deployment;

use super::{Cluster, KubeError, Scope};
use crate::webhook::{Webhook, WebhookFlags};

/// What the cluster says about its pod identity webhook.
#[derive(Debug)]
pub struct WebhookFound {
    /// Its configuration; an error when the configurations cannot be listed.
    pub webhook: Result<Option<Webhook>, KubeError>,
    /// The flags of its Deployment; `None` when it runs outside the cluster or its Deployment
    /// cannot be read (a user limited to the README's rules may not read it).
    pub flags: Option<WebhookFlags>,
}

impl Cluster {
    /// The pod identity webhook's configuration and, when it calls a service in the cluster,
    /// the flags of the Deployment of that name: one list, then at most one get.
    pub async fn pod_identity_webhook(&self) -> WebhookFound {
        let webhook = self
            .list_cluster::<MutatingWebhookConfiguration>()
            .await
            .map(|configs| Webhook::find(&configs));
        let flags = match &webhook {
            Ok(Some(found)) => self.webhook_flags(found).await,
            _ => None,
        };
        WebhookFound { webhook, flags }
    }

    /// The flags of the Deployment serving `webhook`. Best effort: any failure (most often 403
    /// or 404) is `None`, and the webhook's defaults stand.
    async fn webhook_flags(&self, webhook: &Webhook) -> Option<WebhookFlags> {
        let (namespace, name) = webhook.deployment()?;
        let deployment = self
            .api::<Deployment>(&Scope::Namespace(namespace.into()))
            .get(name)
            .await
            .ok()?;
        WebhookFlags::of_deployment(deployment)
    }
}
