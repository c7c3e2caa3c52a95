//! Check 5, per ServiceAccount: whether its running pods get credentials and how
//! ([`check_injection`]), and whether the web identity they carry is the ServiceAccount's
//! current binding ([`check_pods`]): the webhook injects at pod creation only, so pods started
//! before `bind --overwrite` keep the old role until restarted. Pure: pods and the binding in,
//! checks out; what a pod carries is read by [`super::credentials`].

use k8s_openapi::api::core::v1::Pod;

use super::Check;
use crate::binding::Binding;
use crate::injection::TOKEN_FILE_ENV;
use crate::pod_credentials::{self as credentials, Env, FULL_URI_ENV, Source, Token, WebIdentity};
use crate::workload;

/// The most pods a check names; the others are counted.
const NAMED: usize = 5;

fn metadata<'a>(
    pods: &[&'a Pod],
) -> Vec<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta> {
    pods.iter().map(|pod| &pod.metadata).collect()
}

fn name_of(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

fn is_running(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
}

/// The first [`NAMED`] items joined with `separator`, and a count of the rest.
fn named(items: &[String], separator: &str) -> String {
    match items.len() {
        n if n <= NAMED => items.join(separator),
        n => format!("{} and {} more", items[..NAMED].join(separator), n - NAMED),
    }
}

/// The ServiceAccount the checks are about.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    /// The role annotation's key (under the webhook's prefix).
    pub role_key: &'a str,
    /// Whether a pod identity webhook is configured, to inject pods that are re-created.
    pub webhook: bool,
}

/// How many running pods get credentials each way.
#[derive(Default)]
struct Tally<'a> {
    web_identity: usize,
    sidecar: usize,
    pod_identity: Vec<String>,
    endpoints: Vec<String>,
    missing: Vec<&'a Pod>,
}

impl<'a> Tally<'a> {
    fn of(running: &[&'a Pod]) -> Self {
        let mut tally = Tally::default();
        for pod in running {
            match credentials::source(pod) {
                Source::WebIdentity(_) => tally.web_identity += 1,
                Source::Sidecar(_) => tally.sidecar += 1,
                Source::PodIdentity { uri } => tally.pod_identity.push(uri),
                Source::Endpoint { uri } => tally.endpoints.push(uri),
                Source::None => tally.missing.push(pod),
            }
        }
        tally
    }

    /// `1 with AWS_WEB_IDENTITY_TOKEN_FILE, 1 through the irsa-credentials sidecar, ...`.
    fn parts(&self) -> Vec<String> {
        let mut parts = Vec::new();
        if self.web_identity > 0 {
            parts.push(format!("{} with {TOKEN_FILE_ENV}", self.web_identity));
        }
        if self.sidecar > 0 {
            parts.push(format!(
                "{} through the {} sidecar (kubectl irsa inject --serve)",
                self.sidecar,
                crate::injection::sidecar::NAME
            ));
        }
        if let Some(uri) = self.pod_identity.first() {
            parts.push(format!(
                "{} with EKS Pod Identity ({FULL_URI_ENV}={uri})",
                self.pod_identity.len()
            ));
        }
        if let Some(uri) = self.endpoints.first() {
            parts.push(format!(
                "{} with container credentials from {uri}",
                self.endpoints.len()
            ));
        }
        parts
    }
}

/// Check 5: every running pod (already filtered to the ServiceAccount) carries credentials env
/// in some container or init container; containers added by other webhooks (a mesh's proxy)
/// need none. Pods with EKS Pod Identity are warned about: they do not use the role annotation.
pub fn check_injection(pods: &[Pod], context: Context<'_>) -> Check {
    const NAME: &str = "injection";
    let running: Vec<&Pod> = pods.iter().filter(|p| is_running(p)).collect();
    if running.is_empty() {
        return Check::pass(NAME, "no running pods to look at");
    }
    let tally = Tally::of(&running);
    let total = running.len();
    if !tally.missing.is_empty() {
        return uninjected(&tally.missing, total, context);
    }
    let evidence = match tally.parts().as_slice() {
        [_] if tally.web_identity == total => {
            format!("{total} running pod(s), all with {TOKEN_FILE_ENV}")
        }
        parts => format!(
            "{total} running pod(s), all with credentials: {}",
            parts.join(", ")
        ),
    };
    if tally.pod_identity.is_empty() {
        return Check::pass(NAME, evidence);
    }
    let Context {
        namespace,
        name,
        role_key,
        ..
    } = context;
    Check::warn(
        NAME,
        format!(
            "{evidence}: those use the role of the ServiceAccount's Pod Identity association, not its {role_key} annotation (the webhook prefers an association)"
        ),
        format!(
            "to use the annotation's role, delete the association (aws eks list-pod-identity-associations --cluster-name CLUSTER --namespace {namespace} --service-account {name}, then aws eks delete-pod-identity-association) and restart the pods; else remove the annotation"
        ),
    )
}

/// Check 5 when some running pods carry no credentials env.
fn uninjected(missing: &[&Pod], total: usize, context: Context<'_>) -> Check {
    let names: Vec<String> = missing.iter().map(|pod| name_of(pod)).collect();
    let fix = if context.webhook {
        format!(
            "restart them so the webhook injects them: {}",
            workload::restart(context.namespace, &metadata(missing))
        )
    } else {
        "inject their manifests and re-apply: kubectl irsa inject -f MANIFEST | kubectl apply -f -"
            .to_string()
    };
    Check::fail(
        "injection",
        format!(
            "{} of {total} running pod(s) have neither {TOKEN_FILE_ENV} nor {FULL_URI_ENV} (started before the binding or the webhook): {}",
            missing.len(),
            named(&names, ", ")
        ),
        fix,
    )
}

/// What differs between the web identity a pod carries and the binding; empty when it is the
/// binding's. Values from references (a ConfigMap, a Secret) are not compared.
pub fn differences(identity: &WebIdentity, binding: &Binding) -> Vec<String> {
    let mut found = Vec::new();
    match (&identity.role_arn, &binding.role_arn) {
        (Env::Unset, _) => found.push(format!("no {}", credentials::ROLE_ARN_ENV)),
        (Env::Literal(carried), Some(bound)) if carried != bound => found.push(format!(
            "{} {carried}, not {bound}",
            credentials::ROLE_ARN_ENV
        )),
        _ => {}
    }
    match (&identity.token, &identity.token_file) {
        (Some(Token::Missing), Env::Literal(file)) => found.push(format!(
            "{TOKEN_FILE_ENV} {file} is no projected ServiceAccount token of the pod"
        )),
        (Some(Token::Projected { audience }), _)
            if audience.as_ref() != Some(&binding.audience) =>
        {
            found.push(format!(
                "token audience {}, not {}",
                audience.as_deref().unwrap_or("(the apiserver's)"),
                binding.audience
            ));
        }
        _ => {}
    }
    found
}

/// Check 7: the running pods with a web identity carry the ServiceAccount's current binding
/// (role, token audience, a projected token at the token file); those that do not are named
/// with their workloads and the command that re-creates them.
pub fn check_pods(pods: &[Pod], binding: &Binding, context: Context<'_>) -> Check {
    const NAME: &str = "pods";
    let compared: Vec<(&Pod, WebIdentity)> = pods
        .iter()
        .filter(|pod| is_running(pod))
        .filter_map(|pod| match credentials::source(pod) {
            Source::WebIdentity(identity) | Source::Sidecar(identity) => Some((pod, identity)),
            _ => None,
        })
        .collect();
    if compared.is_empty() {
        return Check::pass(NAME, "no running pods with a web identity to compare");
    }
    let stale: Vec<(&Pod, String)> = compared
        .iter()
        .filter_map(|(pod, identity)| {
            let found = differences(identity, binding);
            let workload = workload::workload(&pod.metadata);
            let line = format!("{} ({workload}): {}", name_of(pod), found.join(", "));
            (!found.is_empty()).then_some((*pod, line))
        })
        .collect();
    if stale.is_empty() {
        return Check::pass(
            NAME,
            format!(
                "{} running pod(s) carry the current binding (role, token audience and file)",
                compared.len()
            ),
        );
    }
    let lines: Vec<String> = stale.iter().map(|(_, line)| line.clone()).collect();
    let pods: Vec<&Pod> = stale.iter().map(|(pod, _)| *pod).collect();
    Check::fail(
        NAME,
        format!(
            "{} of {} running pod(s) carry an older binding: {}",
            stale.len(),
            compared.len(),
            named(&lines, "; ")
        ),
        restart_fix(&pods, context),
    )
}

/// How stale pods get the current binding.
fn restart_fix(pods: &[&Pod], context: Context<'_>) -> String {
    if context.webhook {
        format!(
            "re-create them so the webhook injects the current binding: {} (the webhook never overwrites env: if their manifests set {} themselves, change it there)",
            workload::restart(context.namespace, &metadata(pods)),
            credentials::ROLE_ARN_ENV
        )
    } else {
        format!(
            "set {} in their manifests to the binding's, or inject the original manifests again: kubectl irsa inject -f MANIFEST | kubectl apply -f -",
            credentials::ROLE_ARN_ENV
        )
    }
}

#[cfg(test)]
#[path = "pods_tests.rs"]
mod tests;
