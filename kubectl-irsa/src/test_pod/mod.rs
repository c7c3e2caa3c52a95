//! The test pod `kubectl irsa test` runs: one container calling `aws sts get-caller-identity`
//! (or the user's command) as the ServiceAccount, built so that real admission accepts it. It
//! meets Pod Security `restricted` (non-root user, no privilege escalation, all capabilities
//! dropped, RuntimeDefault seccomp), has small requests and limits for namespaces with a
//! ResourceQuota, a writable HOME for an arbitrary uid, a Linux node selector, and label
//! values valid for any ServiceAccount name. Pure: values in, a `Pod` out.

pub mod outcome;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, LocalObjectReference, Pod,
    PodSecurityContext, PodSpec, ResourceRequirements, SeccompProfile, SecurityContext, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::ObjectMeta;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::injection::{self, Injection};
use crate::pod_credentials::{self, Source};

/// Labels that mark the pods this command creates.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kubectl-irsa");
pub const TEST_LABEL: &str = "kubectl-irsa/test";
/// The container whose exit and logs make the verdict.
pub const CONTAINER: &str = "irsa-test";
/// The image: the official AWS CLI, pinned so a test means the same thing tomorrow.
pub const DEFAULT_IMAGE: &str = "public.ecr.aws/aws-cli/aws-cli:2.22.0";
/// The user the container runs as unless the namespace assigns one (OpenShift): not root,
/// since the AWS CLI image's own user is root and `runAsNonRoot` refuses it.
pub const DEFAULT_UID: i64 = 65532;
/// Where HOME is: an emptyDir, since the image's HOME belongs to root.
const HOME: &str = "/tmp";

/// What the pod runs, and how.
pub struct PodPlan<'a> {
    pub service_account: &'a str,
    pub image: &'a str,
    /// The user's command; empty for the identity call.
    pub command: &'a [String],
    /// AWS_REGION and AWS_DEFAULT_REGION in the container; `None` leaves the region to the
    /// webhook.
    pub region: Option<&'a str>,
    /// The uid (and gid) to run as.
    pub uid: i64,
    pub image_pull_secrets: &'a [String],
}

pub fn build(plan: &PodPlan<'_>) -> Pod {
    let labels = BTreeMap::from([
        (MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string()),
        (TEST_LABEL.to_string(), label_value(plan.service_account)),
    ]);
    Pod {
        metadata: ObjectMeta {
            name: Some(pod_name(plan.service_account)),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        spec: Some(spec(plan)),
        ..Pod::default()
    }
}

fn spec(plan: &PodPlan<'_>) -> PodSpec {
    PodSpec {
        service_account_name: Some(plan.service_account.to_string()),
        restart_policy: Some("Never".into()),
        node_selector: Some(BTreeMap::from([(
            "kubernetes.io/os".to_string(),
            "linux".to_string(),
        )])),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(plan.uid),
            run_as_group: Some(plan.uid),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                ..SeccompProfile::default()
            }),
            ..PodSecurityContext::default()
        }),
        containers: vec![container(plan)],
        volumes: Some(vec![Volume {
            name: "home".into(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(Quantity("64Mi".into())),
                ..EmptyDirVolumeSource::default()
            }),
            ..Volume::default()
        }]),
        image_pull_secrets: (!plan.image_pull_secrets.is_empty()).then(|| {
            plan.image_pull_secrets
                .iter()
                .map(|name| LocalObjectReference { name: name.clone() })
                .collect()
        }),
        ..PodSpec::default()
    }
}

fn container(plan: &PodPlan<'_>) -> Container {
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
    let mut env = vec![env_var("HOME", HOME)];
    if let Some(region) = plan.region {
        env.push(env_var("AWS_REGION", region));
        env.push(env_var("AWS_DEFAULT_REGION", region));
    }
    let quantities = |cpu: &str, memory: &str| {
        BTreeMap::from([
            ("cpu".to_string(), Quantity(cpu.into())),
            ("memory".to_string(), Quantity(memory.into())),
        ])
    };
    Container {
        name: CONTAINER.into(),
        image: Some(plan.image.to_string()),
        command,
        args,
        env: Some(env),
        resources: Some(ResourceRequirements {
            requests: Some(quantities("50m", "128Mi")),
            limits: Some(quantities("500m", "256Mi")),
            ..ResourceRequirements::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: "home".into(),
            mount_path: HOME.into(),
            ..VolumeMount::default()
        }]),
        ..Container::default()
    }
}

fn env_var(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        value_from: None,
    }
}

/// `irsa-test-NAME-xxxxx`, at most 63 characters (a DNS label, as pod names in practice).
fn pod_name(service_account: &str) -> String {
    let suffix: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(5)
        .collect::<String>()
        .to_lowercase();
    let base: String = format!("irsa-test-{service_account}")
        .chars()
        .take(57)
        .collect();
    format!("{}-{suffix}", base.trim_end_matches(['-', '.']))
}

/// A label value for any ServiceAccount name: the name itself when it fits the 63 characters
/// of a label value, else its start and a hash of the whole, so it stays unique.
pub fn label_value(service_account: &str) -> String {
    if service_account.len() <= 63 {
        return service_account.to_string();
    }
    let hash = irsa_sts::hex(&Sha256::digest(service_account.as_bytes()));
    let start = service_account[..52].trim_end_matches(['-', '.']);
    format!("{start}-{}", &hash[..10])
}

/// The first uid of an OpenShift namespace's range (annotation
/// `openshift.io/sa.scc.uid-range`, such as `1000680000/10000`): restricted-v2 refuses any
/// other.
pub fn namespace_uid(annotations: &BTreeMap<String, String>) -> Option<i64> {
    let range = annotations.get("openshift.io/sa.scc.uid-range")?;
    range.split(['/', '-']).next()?.trim().parse().ok()
}

/// The pod with the webhook's additions (`--inject`), made on its JSON form as for manifests.
pub fn with_injection(pod: &mut Value, injection: &Injection) {
    injection::inject(&mut pod["spec"], injection, &[]);
}

/// `overrides` merged into `pod` as a JSON merge patch (RFC 7386), as `kubectl run
/// --overrides` merges: objects merge key by key, `null` removes, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    let Some(patch) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    let Some(object) = target.as_object_mut() else {
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            object.remove(key);
        } else {
            merge(object.entry(key).or_insert(Value::Null), value);
        }
    }
}

/// Where the admitted pod's credentials come from, as its containers' env shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE: IRSA. The SDKs take it before container
    /// credentials when a container carries both.
    WebIdentity,
    /// AWS_CONTAINER_CREDENTIALS_FULL_URI: EKS Pod Identity (the webhook injects it instead of
    /// web identity when the ServiceAccount has an association), or a credentials sidecar.
    Container,
    None,
}

/// What the admitted pod will use, read as [`pod_credentials::source`] reads any pod.
pub fn credentials(pod: &Pod) -> Credentials {
    match pod_credentials::source(pod) {
        Source::WebIdentity(_) | Source::Sidecar(_) => Credentials::WebIdentity,
        Source::PodIdentity { .. } | Source::Endpoint { .. } => Credentials::Container,
        Source::None => Credentials::None,
    }
}

/// The value of `name` in the test container's env, when the pod sets it literally.
pub fn env_value(pod: &Pod, name: &str) -> Option<String> {
    pod.spec
        .iter()
        .flat_map(|spec| &spec.containers)
        .find(|c| c.name == CONTAINER)?
        .env
        .iter()
        .flatten()
        .find(|e| e.name == name)?
        .value
        .clone()
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
