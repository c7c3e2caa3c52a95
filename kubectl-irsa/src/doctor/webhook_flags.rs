//! The `webhook-flags` check: the flags of a webhook run in the cluster (read by
//! [`crate::kube_api`] from its Deployment) against the annotation prefix doctor used. Without
//! `--annotation-prefix` doctor uses the webhook's own, so this fails only when the flag names
//! another. Pure.

use super::Check;
use crate::binding::Keys;
use crate::shell::quote;
use crate::webhook::WebhookFlags;

const NAME: &str = "webhook-flags";

/// The check: the webhook at `deployment` watches the prefix the plugin uses (`prefix`).
pub fn check(flags: &WebhookFlags, deployment: &str, prefix: &str) -> Check {
    let watched = flags.prefix();
    let region = flags.region.as_deref().unwrap_or("none");
    let evidence = format!(
        "{deployment} watches {watched} annotations; default audience {}; region {region}",
        flags.audience()
    );
    if watched != prefix {
        return Check::fail(
            NAME,
            format!(
                "{evidence}, but kubectl irsa was given --annotation-prefix {prefix}: those annotations are never read"
            ),
            format!("drop --annotation-prefix, or pass --annotation-prefix {watched}"),
        );
    }
    Check::pass(NAME, evidence)
}

/// The check when the webhook calls a service but its Deployment of that name could not be
/// read: the keys are the defaults, which may not be the webhook's.
pub fn check_unread(service: &str, keys: &Keys) -> Check {
    let namespace = service.split('/').next().unwrap_or_default();
    Check::warn(
        NAME,
        format!(
            "cannot read deployment {service} (named as the webhook's service): assumed it watches {} annotations with default audience {}",
            keys.prefix(),
            keys.default_audience()
        ),
        format!("kubectl auth can-i get deployments -n {}", quote(namespace)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unread_deployment_is_a_warning() {
        let keys = Keys::new("eks.amazonaws.com");
        assert_eq!(
            check_unread("identity/pod-identity-webhook", &keys),
            Check::warn(
                "webhook-flags",
                "cannot read deployment identity/pod-identity-webhook (named as the webhook's service): assumed it watches eks.amazonaws.com annotations with default audience sts.amazonaws.com",
                "kubectl auth can-i get deployments -n identity",
            )
        );
    }

    #[test]
    fn another_prefix_than_the_plugins_fails() {
        let words = ["/webhook", "--annotation-prefix=sts.amazonaws.com"].map(String::from);
        let flags = WebhookFlags::parse(&words);
        let deployment = "identity/pod-identity-webhook";
        assert_eq!(
            check(&flags, deployment, "eks.amazonaws.com"),
            Check::fail(
                "webhook-flags",
                "identity/pod-identity-webhook watches sts.amazonaws.com annotations; default audience sts.amazonaws.com; region none, but kubectl irsa was given --annotation-prefix eks.amazonaws.com: those annotations are never read",
                "drop --annotation-prefix, or pass --annotation-prefix sts.amazonaws.com",
            )
        );
        let defaults = WebhookFlags::default();
        assert_eq!(
            check(&defaults, deployment, "eks.amazonaws.com"),
            Check::pass(
                "webhook-flags",
                "identity/pod-identity-webhook watches eks.amazonaws.com annotations; default audience sts.amazonaws.com; region none"
            )
        );
    }
}
