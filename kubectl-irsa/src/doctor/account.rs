//! Checks 4 and 5: a ServiceAccount's annotations, and the pod identity webhook that injects its
//! pods (what the pods themselves carry is [`super::pods`]). Pure: objects in, checks out.

use crate::shell::quote;
use std::collections::BTreeMap;

use irsa_sts::{Partition, RoleArn};

use super::Check;
use super::evidence::Fetched;
use crate::binding::{Keys, MIN_TOKEN_EXPIRATION};
use crate::webhook::Webhook;

/// Check 4: the role annotation is there and a valid ARN, of the issuer's partition when the
/// issuer is an EKS one. Returns the role when valid.
pub fn check_role_arn(
    annotations: &BTreeMap<String, String>,
    keys: &Keys,
    issuer: Option<&str>,
    namespace: &str,
    name: &str,
) -> (Check, Option<RoleArn>) {
    const NAME: &str = "role-arn";
    let (name, namespace) = (quote(name), quote(namespace));
    let bind = format!("kubectl irsa bind {name} -n {namespace} --role-arn ARN --overwrite");
    let Some(text) = annotations.get(&keys.role_arn()) else {
        let check = Check::fail(
            NAME,
            format!(
                "no {} annotation: the webhook injects nothing",
                keys.role_arn()
            ),
            format!("kubectl irsa bind {name} -n {namespace} --role-arn ARN"),
        );
        return (check, None);
    };
    let role: RoleArn = match text.trim().parse() {
        Ok(role) => role,
        Err(error) => return (Check::fail(NAME, error.to_string(), bind), None),
    };
    if text.trim() != text {
        return (
            Check::fail(NAME, format!("{text:?} has white space around it"), bind),
            None,
        );
    }
    if let Some(region) = issuer.and_then(eks_region) {
        let expected = Partition::of_region(region);
        if expected != role.partition() {
            let check = Check::fail(
                NAME,
                format!(
                    "{role} is in partition {}, but the cluster runs in {region} (partition {expected})",
                    role.partition()
                ),
                bind.replace("ARN", &format!("arn:{expected}:iam::ACCOUNT:role/NAME")),
            );
            return (check, None);
        }
    }
    (Check::pass(NAME, role.to_string()), Some(role))
}

/// The region of an EKS issuer (`https://oidc.eks.REGION.amazonaws.com[.cn]/id/ID`).
pub(super) fn eks_region(issuer: &str) -> Option<&str> {
    let host = issuer.strip_prefix("https://")?.split('/').next()?;
    let rest = host.strip_prefix("oidc.eks.")?;
    rest.strip_suffix(".amazonaws.com")
        .or_else(|| rest.strip_suffix(".amazonaws.com.cn"))
}

/// Check 4: the audience tokens will be requested for.
pub fn check_audience(
    annotations: &BTreeMap<String, String>,
    keys: &Keys,
    namespace: &str,
    name: &str,
) -> Check {
    const NAME: &str = "audience";
    let remove = format!(
        "kubectl annotate serviceaccount {} -n {} {}",
        quote(name),
        quote(namespace),
        quote(&format!("{}-", keys.audience()))
    );
    let default = keys.default_audience();
    match annotations.get(&keys.audience()).map(String::as_str) {
        None => Check::pass(NAME, format!("{default} (the default)")),
        Some(audience) if audience == default => Check::pass(NAME, default),
        Some(audience) if audience.trim().is_empty() => {
            Check::fail(NAME, format!("{} is empty", keys.audience()), remove)
        }
        Some(audience) => Check::warn(
            NAME,
            format!(
                "{audience:?} instead of {default}: the IAM provider's client IDs and the trust policy's :aud must list it"
            ),
            format!(
                "{remove} (or: aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn PROVIDER_ARN --client-id {})",
                quote(audience)
            ),
        ),
    }
}

/// Check 4: the token lifetime annotation, read as the webhook reads it (Go's `ParseInt`, then
/// raised to the floor; see [`crate::binding::Binding`]).
pub fn check_expiration(
    annotations: &BTreeMap<String, String>,
    keys: &Keys,
    namespace: &str,
    name: &str,
) -> Check {
    const NAME: &str = "token-expiration";
    let key = keys.token_expiration();
    let set = |seconds: i64| {
        format!(
            "kubectl annotate serviceaccount {} -n {} --overwrite {}",
            quote(name),
            quote(namespace),
            quote(&format!("{key}={seconds}"))
        )
    };
    let default = keys.default_expiration();
    match annotations.get(&key) {
        None => Check::pass(NAME, format!("{default} s (the default)")),
        Some(text) => match text.parse::<i64>() {
            Err(_) => Check::fail(
                NAME,
                format!("{key}={text:?} is not a number of seconds: the webhook ignores it"),
                set(default),
            ),
            Ok(seconds) if seconds < MIN_TOKEN_EXPIRATION => Check::warn(
                NAME,
                format!("{seconds} s: the webhook raises it to {MIN_TOKEN_EXPIRATION} s"),
                set(MIN_TOKEN_EXPIRATION),
            ),
            Ok(seconds) => Check::pass(NAME, format!("{seconds} s")),
        },
    }
}

/// Check 5, cluster-wide: `found` from [`Webhook::find`]; `ready` says whether its service has
/// ready endpoints (`None` when there is no in-cluster service to ask about).
pub fn check_webhook(found: &Fetched<Option<Webhook>>, ready: Option<&Fetched<bool>>) -> Check {
    const NAME: &str = "webhook";
    let inject = "inject pods yourself: kubectl irsa inject -f MANIFEST | kubectl apply -f - (or install amazon-eks-pod-identity-webhook)";
    let webhook = match found {
        Err(why) => {
            return Check::warn(
                NAME,
                format!("cannot list mutatingwebhookconfigurations: {why}"),
                "kubectl auth can-i list mutatingwebhookconfigurations",
            );
        }
        Ok(None) => {
            return Check::warn(
                NAME,
                "no pod identity webhook configuration: new pods are not injected",
                inject,
            );
        }
        Ok(Some(webhook)) => webhook,
    };
    let config = &webhook.config;
    let Some(service) = &webhook.service else {
        return Check::pass(
            NAME,
            format!("{config} (served outside the cluster, as on EKS)"),
        );
    };
    match ready {
        None | Some(Ok(true)) => Check::pass(NAME, format!("{config}, service {service}")),
        Some(Ok(false)) => Check::fail(
            NAME,
            format!(
                "{config} calls service {service}, which has no ready endpoints: pods are created uninjected (failurePolicy Ignore)"
            ),
            format!(
                "kubectl get pods -n {} and fix the webhook's deployment",
                quote(service.split('/').next().unwrap_or_default())
            ),
        ),
        Some(Err(why)) => Check::pass(
            NAME,
            format!("{config}, service {service} (its endpoints could not be read: {why})"),
        ),
    }
}

#[cfg(test)]
#[path = "account_tests.rs"]
mod tests;
