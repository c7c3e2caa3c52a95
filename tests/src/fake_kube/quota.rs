//! ResourceQuota: the objects, the status the quota controller keeps, and the admission check
//! that refuses pods whose containers do not state the requests or limits a quota tracks.
//!
//! Sources: kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/admission/plugin/resourcequota/
//! controller.go (`checkQuotas`: `failed quota: NAME: ERR` through `admission.NewForbidden`,
//! a 403), pkg/quota/v1/evaluator/core/pods.go (`Constraints`, `enforcePodContainerConstraints`,
//! `podComputeUsageHelper`, `validationSet`, `podMatchesScopeFunc`). Usage is not counted: the
//! fake never answers `exceeded quota`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::FakeKube;
use super::objects;
use super::resources::Resource;
use super::state::{Store, str_at};
use super::status::ApiError;

/// The resources a quota tracking them obliges every container to state (pods.go
/// `validationSet`: "it was a mistake, ... do not add more resources to this list").
const VALIDATION_SET: [&str; 6] = [
    "cpu",
    "memory",
    "requests.cpu",
    "requests.memory",
    "limits.cpu",
    "limits.memory",
];

/// What a quota of the fake allows of each resource: far more than any test uses.
fn generous(resource: &str) -> &'static str {
    if resource.contains("memory") || resource.contains("storage") {
        "1Ti"
    } else {
        "1k"
    }
}

impl FakeKube {
    /// Creates ResourceQuota `name` in `namespace` (creating the namespace if needed) whose
    /// `spec.hard` tracks `resources` (`limits.cpu`, `requests.memory`, `pods`, ...) with
    /// amounts no test reaches, and whose status the quota controller has computed. A pod
    /// whose containers or init containers do not set a tracked `cpu`/`memory` request or
    /// limit is then refused with the apiserver's `failed quota` 403.
    ///
    /// # Panics
    ///
    /// When a name is invalid.
    pub fn add_resource_quota(&self, namespace: &str, name: &str, resources: &[&str]) -> Value {
        self.add_namespace(namespace);
        let hard: Map<String, Value> = resources
            .iter()
            .map(|r| ((*r).to_owned(), json!(generous(r))))
            .collect();
        let quota = json!({"metadata": {"name": name}, "spec": {"hard": hard}});
        let quota = objects::prepare_new(Resource::ResourceQuota, namespace, quota)
            .unwrap_or_else(|e| panic!("invalid ResourceQuota: {}", e.message));
        let mut store = self.shared.store();
        objects::insert_new(&mut store, Resource::ResourceQuota, quota)
    }
}

/// The status the quota controller writes shortly after a quota is created: `hard` as in the
/// spec, and (the fake counts nothing) zero `used`.
pub(crate) fn controller_status(quota: &mut Value) {
    let hard = quota
        .pointer("/spec/hard")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let used: Map<String, Value> = hard
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| (k.clone(), json!("0")))
        .collect();
    quota["status"] = json!({"hard": hard, "used": used});
}

/// The quota resources a container's requests and limits count toward
/// (`podComputeUsageHelper`; `pods` is always there).
fn container_usage(container: &Value) -> BTreeSet<String> {
    let mut usage = BTreeSet::from(["pods".to_owned()]);
    let has = |kind: &str, name: &str| {
        container
            .pointer(&format!("/resources/{kind}/{name}"))
            .is_some()
    };
    for name in ["cpu", "memory", "ephemeral-storage"] {
        if has("requests", name) {
            usage.insert(name.to_owned());
            usage.insert(format!("requests.{name}"));
        }
        if has("limits", name) {
            usage.insert(format!("limits.{name}"));
        }
    }
    usage
}

/// Whether a pod is BestEffort: no container or init container requests or limits anything
/// (qos.GetPodQOS).
fn best_effort(pod: &Value) -> bool {
    ["containers", "initContainers"].iter().all(|list| {
        pod["spec"][list].as_array().into_iter().flatten().all(|c| {
            ["requests", "limits"].iter().all(|kind| {
                c.pointer(&format!("/resources/{kind}"))
                    .and_then(Value::as_object)
                    .is_none_or(Map::is_empty)
            })
        })
    })
}

/// Whether a quota's `spec.scopes` select the pod (`podMatchesScopeFunc`).
fn scopes_match(quota: &Value, pod: &Value) -> bool {
    let terminating = pod
        .pointer("/spec/activeDeadlineSeconds")
        .and_then(Value::as_i64)
        .is_some_and(|s| s >= 0);
    quota
        .pointer("/spec/scopes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .all(|scope| match scope.as_str().unwrap_or("") {
            "Terminating" => terminating,
            "NotTerminating" => !terminating,
            "BestEffort" => best_effort(pod),
            "NotBestEffort" => !best_effort(pod),
            _ => false,
        })
}

/// `Constraints`: `must specify RES for: C1,C2; RES2 for: C3`, or nothing missing.
fn constraints(required: &BTreeSet<String>, pod: &Value) -> Option<String> {
    let mut missing: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for list in ["containers", "initContainers"] {
        for container in pod["spec"][list].as_array().into_iter().flatten() {
            let usage = container_usage(container);
            for resource in required.difference(&usage) {
                missing
                    .entry(resource.clone())
                    .or_default()
                    .insert(str_at(container, "/name").to_owned());
            }
        }
    }
    if missing.is_empty() {
        return None;
    }
    let parts: Vec<String> = missing
        .iter()
        .map(|(resource, names)| {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            format!("{resource} for: {}", names.join(","))
        })
        .collect();
    Some(format!("must specify {}", parts.join("; ")))
}

/// The quota admission check of a new pod: every quota of its namespace that matches it and
/// tracks `cpu` or `memory` requests or limits must find them on every container.
pub(crate) fn admit(store: &Store, pod: &Value) -> Result<(), ApiError> {
    let namespace = str_at(pod, "/metadata/namespace");
    let name = str_at(pod, "/metadata/name");
    for (_, quota) in store.range(Resource::ResourceQuota, Some(namespace), None) {
        if !scopes_match(quota, pod) {
            continue;
        }
        let quota_name = str_at(quota, "/metadata/name");
        // The fake's quota controller writes status.hard with every quota (see
        // `controller_status`), so the real plugin's `status unknown for quota` never applies.
        let hard = quota
            .pointer("/status/hard")
            .or_else(|| quota.pointer("/spec/hard"))
            .and_then(Value::as_object);
        let Some(hard) = hard else {
            continue;
        };
        let required: BTreeSet<String> = hard
            .keys()
            .filter(|k| VALIDATION_SET.contains(&k.as_str()))
            .cloned()
            .collect();
        if let Some(error) = constraints(&required, pod) {
            return Err(ApiError::admission_forbidden(
                Resource::Pod,
                name,
                &format!("failed quota: {quota_name}: {error}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_requests_and_limits_are_listed_by_resource_then_container() {
        let pod = json!({"spec": {
            "containers": [
                {"name": "b", "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}},
                {"name": "a", "resources": {}},
            ],
            "initContainers": [{"name": "init", "resources": {"limits": {"memory": "1Mi", "cpu": "1"}}}],
        }});
        let required: BTreeSet<String> = ["limits.cpu", "limits.memory", "pods"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(
            constraints(&required, &pod).unwrap(),
            "must specify limits.cpu for: a; limits.memory for: a,b"
        );
        assert!(best_effort(
            &json!({"spec": {"containers": [{"name": "a"}]}})
        ));
    }
}
