//! The EKS pod identity webhook's mutation of a new pod: web identity (IRSA) for a
//! ServiceAccount annotated with a role ARN, or container credentials (EKS Pod Identity) when
//! an association exists for the ServiceAccount, which takes precedence.
//!
//! Sources, in aws/amazon-eks-pod-identity-webhook: pkg/handler/handler.go
//! (`buildPodPatchConfig`, `getPodSpecPatch`, `addEnvToContainer`, `parsePodAnnotations`,
//! `getContainersToSkip`, `addJitterToDefaultToken`), pkg/cache/cache.go (`addSA`: the
//! annotations, `GetCommonConfigurations`), pkg/containercredentials/config.go, pkg/constants.go
//! and main.go (flag defaults: annotation prefix `eks.amazonaws.com`, audience
//! `sts.amazonaws.com`, the container credentials audience, mount path, volume, token path
//! and full URI, `--aws-default-region` empty unless set).

use serde_json::{Value, json};

use super::FakeKube;
use super::state::{Config, str_at};

const DEFAULT_EXPIRATION: i64 = 86_400;
const DEFAULT_MIN_EXPIRATION: i64 = 79_200;
const MIN_EXPIRATION: i64 = 600;
const FULL_URI: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
const TOKEN_FILE: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";

impl FakeKube {
    /// Records an EKS Pod Identity association of `role_arn` with ServiceAccount
    /// `namespace/service_account`: when the webhook runs, that ServiceAccount's pods get
    /// container credentials (`AWS_CONTAINER_CREDENTIALS_FULL_URI`,
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, the `eks-pod-identity-token` volume with
    /// audience `pods.eks.amazonaws.com`, the `eks.amazonaws.com/pod-identity: enabled` label)
    /// instead of web identity, as the webhook does for identities in its container
    /// credentials config. The role ARN itself never appears in the pod.
    pub fn add_pod_identity_association(
        &self,
        namespace: &str,
        service_account: &str,
        role_arn: &str,
    ) {
        self.shared.config().pod_identity_associations.insert(
            (namespace.to_owned(), service_account.to_owned()),
            role_arn.to_owned(),
        );
    }

    /// Runs the pod identity webhook in the cluster as its `deploy/` manifests do
    /// (deployment-base.yaml, mutatingwebhook.yaml, service.yaml): the configuration
    /// `pod-identity-webhook` calls service `namespace/pod-identity-webhook`, and the Deployment
    /// of that name passes `--annotation-prefix=PREFIX` and `flags` (`--name=value`) in its
    /// command. Injection then follows them as main.go does (the last of a repeated flag wins):
    /// the annotations under the prefix (cache.go, handler.go); `--token-audience`,
    /// `--sts-regional-endpoint` and `--token-expiration` (raised to 600, main.go) for
    /// ServiceAccounts without those annotations (cache.go `addSA`); `--aws-default-region`.
    pub fn run_pod_identity_webhook_in_cluster(
        &self,
        namespace: &str,
        annotation_prefix: &str,
        flags: &[&str],
    ) {
        self.add_service_account(namespace, "pod-identity-webhook", &[]);
        let deployment = webhook_deployment(namespace, annotation_prefix, flags);
        self.add_workload_manifest(namespace, deployment.clone());
        let command = deployment["spec"]["template"]["spec"]["containers"][0]["command"].clone();
        let flag = |name: &str| {
            command
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .rev()
                .find_map(|word| word.strip_prefix(&format!("--{name}=")).map(str::to_owned))
        };
        let mut config = self.shared.config();
        config.webhook_prefix = flag("annotation-prefix").expect("the prefix is passed");
        config.webhook_audience = flag("token-audience").expect("the audience is passed");
        config.webhook_region = flag("aws-default-region");
        config.webhook_regional_sts = flag("sts-regional-endpoint")
            .and_then(|v| parse_bool(&v))
            .unwrap_or(false);
        config.webhook_expiration = flag("token-expiration")
            .and_then(|v| v.parse::<i64>().ok())
            .map_or(DEFAULT_EXPIRATION, |e| e.max(MIN_EXPIRATION));
        drop(config);
        self.store_webhook_configuration(json!({
            "metadata": {"name": super::WEBHOOK_NAME},
            "webhooks": [{
                "name": "pod-identity-webhook.amazonaws.com",
                "failurePolicy": "Ignore",
                "clientConfig": {"service": {"name": "pod-identity-webhook", "namespace": namespace, "path": "/mutate"}},
                "objectSelector": {"matchExpressions": [{"key": "eks.amazonaws.com/skip-pod-identity-webhook", "operator": "DoesNotExist"}]},
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
                "sideEffects": "None",
                "admissionReviewVersions": ["v1beta1"],
            }],
        }));
    }

    /// The webhook's `--aws-default-region` (default none): with a region, injection adds
    /// `AWS_DEFAULT_REGION` and `AWS_REGION` to containers that set neither.
    pub fn set_webhook_region(&self, region: Option<&str>) {
        self.shared.config().webhook_region = region.map(str::to_owned);
    }
}

/// deploy/deployment-base.yaml, with the prefix and flags given.
fn webhook_deployment(namespace: &str, annotation_prefix: &str, flags: &[&str]) -> Value {
    let mut command = vec![
        "/webhook".to_owned(),
        "--in-cluster=false".to_owned(),
        format!("--namespace={namespace}"),
        "--service-name=pod-identity-webhook".to_owned(),
        format!("--annotation-prefix={annotation_prefix}"),
        "--token-audience=sts.amazonaws.com".to_owned(),
        "--logtostderr".to_owned(),
    ];
    command.extend(flags.iter().map(|f| (*f).to_owned()));
    let labels = json!({"app": "pod-identity-webhook"});
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "pod-identity-webhook", "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": "pod-identity-webhook",
                    "containers": [{
                        "name": "pod-identity-webhook",
                        "image": "amazon/amazon-eks-pod-identity-webhook:latest",
                        "command": command,
                    }],
                },
            },
        },
    })
}

/// `podPatchConfig`: what to inject.
struct Patch {
    skip: Vec<String>,
    expiration: i64,
    regional_sts: bool,
    audience: String,
    mount_path: &'static str,
    volume: &'static str,
    token_path: &'static str,
    /// Web identity: the role ARN; container credentials: `None`.
    role_arn: Option<String>,
}

/// The annotation `PREFIX/suffix` of `object`, under the webhook's `--annotation-prefix`
/// (cache.go and handler.go read every annotation under it).
fn annotation<'a>(prefix: &str, object: &'a Value, suffix: &str) -> Option<&'a str> {
    let key = format!("{prefix}/{suffix}")
        .replace('~', "~0")
        .replace('/', "~1");
    object
        .pointer(&format!("/metadata/annotations/{key}"))
        .and_then(Value::as_str)
}

/// Go's `strconv.ParseBool`.
fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `ValidateMinTokenExpiration` of a parseable value, else `default`.
fn expiration(value: Option<&str>, default: i64) -> i64 {
    value
        .and_then(|v| v.parse::<i64>().ok())
        .map_or(default, |e| e.max(MIN_EXPIRATION))
}

/// `getContainersToSkip`: the annotation read as one CSV record (fields are not trimmed).
fn containers_to_skip(prefix: &str, pod: &Value) -> Vec<String> {
    annotation(prefix, pod, "skip-containers")
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.split(',')
                .map(|s| s.trim_matches('"').to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `buildPodPatchConfig`: container credentials when an association exists, else web identity
/// when the ServiceAccount has a role ARN, else nothing.
fn patch_config(config: &Config, pod: &Value, sa: &Value) -> Option<Patch> {
    let namespace = str_at(pod, "/metadata/namespace").to_owned();
    let sa_name = str_at(pod, "/spec/serviceAccountName").to_owned();
    let prefix = config.webhook_prefix.as_str();
    let annotation = |object, suffix| annotation(prefix, object, suffix);
    let regional_sts = annotation(sa, "sts-regional-endpoints")
        .and_then(parse_bool)
        .unwrap_or(config.webhook_regional_sts);
    let sa_expiration = expiration(
        annotation(sa, "token-expiration"),
        config.webhook_expiration,
    );
    let pod_expiration = expiration(annotation(pod, "token-expiration"), sa_expiration);
    let skip = containers_to_skip(prefix, pod);
    if config
        .pod_identity_associations
        .contains_key(&(namespace, sa_name))
    {
        let mut expiration = pod_expiration;
        if expiration == DEFAULT_EXPIRATION {
            expiration = DEFAULT_MIN_EXPIRATION
                + fastrand::i64(0..=DEFAULT_EXPIRATION - DEFAULT_MIN_EXPIRATION);
        }
        return Some(Patch {
            skip,
            expiration,
            regional_sts,
            audience: "pods.eks.amazonaws.com".to_owned(),
            mount_path: "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount",
            volume: "eks-pod-identity-token",
            token_path: "eks-pod-identity-token",
            role_arn: None,
        });
    }
    let role_arn = annotation(sa, "role-arn")?;
    Some(Patch {
        skip,
        expiration: pod_expiration,
        regional_sts,
        audience: annotation(sa, "audience")
            .unwrap_or(&config.webhook_audience)
            .to_owned(),
        mount_path: "/var/run/secrets/eks.amazonaws.com/serviceaccount",
        volume: "aws-iam-token",
        token_path: "token",
        role_arn: Some(role_arn.to_owned()),
    })
}

/// Mutates `pod` as the webhook does for ServiceAccount `sa`; returns whether it changed.
pub(crate) fn mutate(config: &Config, pod: &mut Value, sa: &Value) -> bool {
    let Some(patch) = patch_config(config, pod, sa) else {
        return false;
    };
    let before = pod.clone();
    let mut token_file = format!("{}/{}", patch.mount_path, patch.token_path);
    let os = |key: &str| str_at(pod, &format!("/spec/nodeSelector/{key}")) == "windows";
    if os("beta.kubernetes.io~1os") || os("kubernetes.io~1os") {
        token_file = format!("C:{}", token_file.replace('/', "\\"));
    }
    for list in ["initContainers", "containers"] {
        let Some(containers) = pod["spec"].get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for container in containers {
            if !patch.skip.iter().any(|s| s == str_at(container, "/name")) {
                add_env(
                    container,
                    &token_file,
                    &patch,
                    config.webhook_region.as_deref(),
                );
            }
        }
    }
    if patch.role_arn.is_none() {
        pod["metadata"]["labels"]["eks.amazonaws.com/pod-identity"] = json!("enabled");
    }
    let volume = json!({
        "name": patch.volume,
        "projected": {"sources": [{"serviceAccountToken": {
            "audience": patch.audience,
            "expirationSeconds": patch.expiration,
            "path": patch.token_path,
        }}], "defaultMode": 420},
    });
    match pod["spec"].get_mut("volumes").and_then(Value::as_array_mut) {
        // The patch adds at /spec/volumes/0.
        Some(volumes) => {
            if !volumes.iter().any(|v| str_at(v, "/name") == patch.volume) {
                volumes.insert(0, volume);
            }
        }
        None => pod["spec"]["volumes"] = json!([volume]),
    }
    *pod != before
}

/// `addEnvToContainer`: never overwrites; the credential variables come as a pair, added
/// only when neither of the pair is set; both region variables only when neither is set.
fn add_env(container: &mut Value, token_file: &str, patch: &Patch, region: Option<&str>) {
    let names: Vec<String> = container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| str_at(e, "/name").to_owned())
        .collect();
    let defined = |keys: &[&str]| names.iter().any(|n| keys.contains(&n.as_str()));
    let credentials_defined = match patch.role_arn {
        Some(_) => defined(&["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]),
        None => defined(&[FULL_URI, TOKEN_FILE]),
    };
    let region_defined = defined(&["AWS_REGION", "AWS_DEFAULT_REGION"]);
    let sts_defined = defined(&["AWS_STS_REGIONAL_ENDPOINTS"]);
    let mut env: Vec<(&str, String)> = Vec::new();
    if !(credentials_defined && region_defined && sts_defined) {
        if !sts_defined && patch.regional_sts {
            env.push(("AWS_STS_REGIONAL_ENDPOINTS", "regional".to_owned()));
        }
        if let Some(region) = region.filter(|_| !region_defined) {
            env.push(("AWS_DEFAULT_REGION", region.to_owned()));
            env.push(("AWS_REGION", region.to_owned()));
        }
        if !credentials_defined {
            match &patch.role_arn {
                Some(role) => {
                    env.push(("AWS_ROLE_ARN", role.clone()));
                    env.push(("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.to_owned()));
                }
                None => {
                    env.push((FULL_URI, "http://169.254.170.23/v1/credentials".to_owned()));
                    env.push((TOKEN_FILE, token_file.to_owned()));
                }
            }
        }
    } else {
        // "Container has necessary env variables already present": nothing at all changes.
        return;
    }
    if !env.is_empty() {
        if !container["env"].is_array() {
            container["env"] = json!([]);
        }
        let vars = container["env"].as_array_mut().expect("an env list");
        vars.extend(env.into_iter().map(|(n, v)| json!({"name": n, "value": v})));
    }
    let mounted = container["volumeMounts"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| str_at(m, "/name") == patch.volume));
    if !mounted {
        if !container["volumeMounts"].is_array() {
            container["volumeMounts"] = json!([]);
        }
        container["volumeMounts"]
            .as_array_mut()
            .expect("a mount list")
            .push(json!({"name": patch.volume, "readOnly": true, "mountPath": patch.mount_path}));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_bools_and_expirations() {
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("yes"), None);
        assert_eq!(expiration(Some("100"), 5), 600);
        assert_eq!(expiration(Some("nope"), 5), 5);
        assert_eq!(expiration(Some("200000"), 5), 200_000);
    }
}
