//! Which annotation keys a command reads and writes, and their defaults: those of the pod
//! identity webhook the cluster runs (its flags, read from its Deployment where the user may),
//! else the webhook's built-in ones; `--annotation-prefix` replaces the prefix only. So `bind`
//! writes what the cluster's webhook reads, and expects the audience it gives, without being
//! told.

use crate::binding::{DEFAULT_AUDIENCE, DEFAULT_PREFIX, Keys};
use crate::cli::PrefixArg;
use crate::kube_api::Cluster;
use crate::output::Output;
use crate::webhook::{self, WebhookFlags};

/// The keys to use, and the webhook's flags when they were read. Says on stderr what the
/// webhook uses when it is not the default, and warns when `--annotation-prefix` is not its
/// prefix.
pub async fn resolve(
    cluster: &Cluster,
    prefix: &PrefixArg,
    out: Output,
) -> (Keys, Option<WebhookFlags>) {
    let found = cluster.pod_identity_webhook().await;
    let keys = webhook::keys(prefix.given(), found.flags.as_ref());
    let Some(flags) = found.flags else {
        return (keys, None);
    };
    let deployment = found
        .webhook
        .ok()
        .flatten()
        .and_then(|w| w.service)
        .unwrap_or_default();
    let watched = Keys::new(flags.prefix());
    if keys.prefix() != watched.prefix() {
        out.warn(format_args!(
            "the pod identity webhook (deployment {deployment}) watches {} annotations, not {}: drop --annotation-prefix",
            watched.prefix(),
            keys.prefix()
        ));
    } else if keys.prefix() != DEFAULT_PREFIX || keys.default_audience() != DEFAULT_AUDIENCE {
        out.note(format_args!(
            "the pod identity webhook (deployment {deployment}) watches {} annotations and gives tokens the audience {} by default",
            keys.prefix(),
            keys.default_audience()
        ));
    }
    (keys, Some(flags))
}
