//! The ServiceAccount admission plugin (plugin/pkg/admission/serviceaccount/admission.go in
//! kubernetes/kubernetes): a new pod's ServiceAccount must exist, and its API token is mounted.

use serde_json::{Value, json};

use super::resources::Resource;
use super::state::{Store, str_at};
use super::status::ApiError;

/// The name a mutating admission plugin's refusal gives: the `generateName` prefix when the
/// name is still to be generated (staging/src/k8s.io/apiserver/pkg/admission/errors.go
/// `extractResourceName`: generation happens after mutating admission, in `BeforeCreate`).
/// The fake generates earlier, so a name that is the prefix and five characters counts as
/// generated.
fn admission_name(pod: &Value) -> &str {
    let name = str_at(pod, "/metadata/name");
    let prefix = str_at(pod, "/metadata/generateName");
    if !prefix.is_empty() && name.len() == prefix.len() + 5 && name.starts_with(prefix) {
        prefix
    } else {
        name
    }
}

/// The ServiceAccount admission plugin's check (plugin/pkg/admission/serviceaccount): the
/// pod's ServiceAccount (default `default`) must exist; returns its name.
pub(crate) fn service_account(store: &Store, pod: &Value) -> Result<String, ApiError> {
    let namespace = str_at(pod, "/metadata/namespace");
    let mut sa_name = str_at(pod, "/spec/serviceAccountName").to_owned();
    if sa_name.is_empty() {
        sa_name = str_at(pod, "/spec/serviceAccount").to_owned();
    }
    if sa_name.is_empty() {
        sa_name = "default".to_owned();
    }
    if store
        .get(Resource::ServiceAccount, namespace, &sa_name)
        .is_none()
    {
        return Err(ApiError::admission_forbidden(
            Resource::Pod,
            admission_name(pod),
            &format!(
                "error looking up service account {namespace}/{sa_name}: serviceaccount \"{sa_name}\" not found"
            ),
        ));
    }
    Ok(sa_name)
}

/// Where the ServiceAccount admission plugin mounts the API token.
const API_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The ServiceAccount admission plugin's token mount (plugin/pkg/admission/serviceaccount/
/// admission.go `mountServiceAccountToken`, `TokenVolumeSource`): unless the pod, or else the
/// ServiceAccount, opts out with `automountServiceAccountToken: false`, a projected
/// `kube-api-access-XXXXX` volume (a 3607 s token, the cluster CA, the namespace) is appended
/// and mounted read-only in every init container and container without a mount at its path.
pub(crate) fn mount_api_token(pod: &mut Value, sa: &Value) {
    let opt_out = match pod["spec"]["automountServiceAccountToken"].as_bool() {
        Some(automount) => !automount,
        None => sa["automountServiceAccountToken"] == false,
    };
    if opt_out {
        return;
    }
    let existing = pod["spec"]["volumes"].as_array().and_then(|vs| {
        vs.iter()
            .map(|v| str_at(v, "/name"))
            .find(|n| n.starts_with("kube-api-access-"))
            .map(str::to_owned)
    });
    let name = existing
        .clone()
        .unwrap_or_else(|| super::objects::generated_name("kube-api-access-"));
    let mut needed = false;
    for list in ["initContainers", "containers"] {
        for container in pod["spec"][list].as_array_mut().into_iter().flatten() {
            let mounted = container["volumeMounts"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| str_at(m, "/mountPath") == API_TOKEN_PATH));
            if !mounted {
                if !container["volumeMounts"].is_array() {
                    container["volumeMounts"] = json!([]);
                }
                let mount = json!({"name": name, "readOnly": true, "mountPath": API_TOKEN_PATH});
                container["volumeMounts"]
                    .as_array_mut()
                    .expect("mounts")
                    .push(mount);
                needed = true;
            }
        }
    }
    if existing.is_none() && needed {
        if !pod["spec"]["volumes"].is_array() {
            pod["spec"]["volumes"] = json!([]);
        }
        pod["spec"]["volumes"].as_array_mut().expect("volumes").push(json!({
            "name": name,
            "projected": {"sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ], "defaultMode": 420},
        }));
    }
}
