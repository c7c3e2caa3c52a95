//! Which annotation keys a command reads and writes: `--annotation-prefix` when given, else
//! those of the pod identity webhook the cluster runs (its `--annotation-prefix` and
//! `--token-audience`, read from its Deployment where the user may), else the webhook's
//! defaults. So `bind` writes what the cluster's webhook reads without being told.

use crate::binding::{DEFAULT_AUDIENCE, DEFAULT_PREFIX, Keys};
use crate::cli::PrefixArg;
use crate::kube_api::Cluster;
use crate::output::Output;
use crate::webhook::WebhookFlags;

/// The keys to use, and the webhook's flags when they were read.
pub async fn resolve(
    cluster: &Cluster,
    prefix: &PrefixArg,
    out: Output,
) -> (Keys, Option<WebhookFlags>) {
    if let Some(given) = prefix.given() {
        return (Keys::new(given), None);
    }
    let found = cluster.pod_identity_webhook().await;
    let Some(flags) = found.flags else {
        return (Keys::new(DEFAULT_PREFIX), None);
    };
    let keys = flags.keys();
    if keys.prefix() != DEFAULT_PREFIX || keys.default_audience() != DEFAULT_AUDIENCE {
        let deployment = found
            .webhook
            .ok()
            .flatten()
            .and_then(|w| w.service)
            .unwrap_or_default();
        out.note(format_args!(
            "using annotation prefix {} and default audience {}, the flags of the pod identity webhook (deployment {deployment}); --annotation-prefix overrides them",
            keys.prefix(),
            keys.default_audience()
        ));
    }
    (keys, Some(flags))
}
