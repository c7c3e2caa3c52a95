//! The test pod: one container running `aws sts get-caller-identity` (or the user's command) as
//! the ServiceAccount, labelled so it can be found, with the webhook's additions when asked.

use k8s_openapi::api::core::v1::{Container, EnvVar, Pod, PodSpec};
use kube::api::ObjectMeta;

use crate::error::{Error, Result};
use crate::injection::{self, Injection};

/// Labels that mark the pods this command creates.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kubectl-irsa");
pub const TEST_LABEL: &str = "kubectl-irsa/test";

/// What the pod runs.
pub struct PodPlan<'a> {
    pub service_account: &'a str,
    pub image: &'a str,
    /// The user's command; empty for the identity call.
    pub command: &'a [String],
    /// AWS_DEFAULT_REGION in the container.
    pub region: &'a str,
}

pub fn build(plan: &PodPlan<'_>) -> Pod {
    let suffix: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(5)
        .collect::<String>()
        .to_lowercase();
    let base: String = format!("irsa-test-{}", plan.service_account)
        .chars()
        .take(47)
        .collect();
    let (command, args) = match plan.command.split_first() {
        Some((program, rest)) => (Some(vec![program.clone()]), Some(rest.to_vec())),
        None => (
            None,
            Some(
                ["sts", "get-caller-identity", "--output", "json"]
                    .map(String::from)
                    .to_vec(),
            ),
        ),
    };
    Pod {
        metadata: ObjectMeta {
            name: Some(format!("{}-{suffix}", base.trim_end_matches(['-', '.']))),
            labels: Some(
                [
                    (MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string()),
                    (TEST_LABEL.to_string(), plan.service_account.to_string()),
                ]
                .into(),
            ),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            service_account_name: Some(plan.service_account.to_string()),
            restart_policy: Some("Never".into()),
            containers: vec![Container {
                name: "irsa-test".into(),
                image: Some(plan.image.to_string()),
                command,
                args,
                // Lower precedence than the AWS_REGION a webhook may inject.
                env: Some(vec![EnvVar {
                    name: "AWS_DEFAULT_REGION".into(),
                    value: Some(plan.region.to_string()),
                    value_from: None,
                }]),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}

/// The pod with the webhook's additions, made on its JSON form as for manifests.
pub fn with_injection(pod: Pod, injection: &Injection) -> Result<Pod> {
    let broken = |e: serde_json::Error| Error::Internal {
        what: "cannot build the test pod",
        detail: e.to_string(),
    };
    let mut value = serde_json::to_value(&pod).map_err(broken)?;
    injection::inject(&mut value["spec"], injection, &[]);
    serde_json::from_value(value).map_err(broken)
}

/// Whether the admitted pod's containers carry the token file variable.
pub fn injected(pod: &Pod) -> bool {
    pod.spec.as_ref().is_some_and(|spec| {
        spec.containers.iter().all(|container| {
            container
                .env
                .iter()
                .flatten()
                .any(|e| e.name == injection::TOKEN_FILE_ENV)
        })
    })
}
