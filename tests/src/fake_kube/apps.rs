//! The apiserver's handling of `apps/v1` objects on every write: defaults, the registry
//! strategies (generation and status), validation, and Pod Security warnings about templates.
//!
//! Sources, in kubernetes/kubernetes: pkg/apis/apps/v1/defaults.go (`SetDefaults_Deployment`:
//! 1 replica, `RollingUpdate` with 25% / 25%, 10 revisions, a 600 s progress deadline;
//! `SetDefaults_StatefulSet`: `OrderedReady`, `RollingUpdate` with partition 0, `Retain` claims;
//! `SetDefaults_DaemonSet`: `RollingUpdate` with maxUnavailable 1, maxSurge 0;
//! `SetDefaults_ReplicaSet`), pkg/apis/core/v1/defaults.go (`SetDefaults_PodSpec` and
//! `SetDefaults_Container` for the template; a template's zero `creationTimestamp` is written
//! `null`), pkg/registry/apps/{deployment,replicaset,statefulset,daemonset}/strategy.go
//! (`PrepareForCreate`: generation 1 and an empty status; `PrepareForUpdate`: the status is
//! kept and the generation bumped when the spec changes, or for a Deployment its
//! annotations too) and pkg/apis/apps/validation/validation.go (a selector is required, must
//! select the template's labels, and is immutable), and pod-security-admission
//! `ValidatePodController` for the warnings.

use serde_json::{Map, Value, json};

use super::resources::Resource;
use super::state::{Store, str_at};
use super::status::FieldError;
use super::{defaults, pod_security, selectors, validate};

fn default(object: &mut Value, field: &str, value: Value) {
    if object.get(field).is_none_or(Value::is_null) {
        object[field] = value;
    }
}

/// The defaults of a pod template (`SetDefaults_PodSpec`, `SetDefaults_Container`, ports'
/// `TCP`), and the `creationTimestamp: null` its metadata is written with.
pub(crate) fn template_defaults(template: &mut Value) {
    if !template.get("metadata").is_some_and(Value::is_object) {
        template["metadata"] = json!({});
    }
    if let Some(meta) = template["metadata"].as_object_mut() {
        meta.entry("creationTimestamp").or_insert(Value::Null);
    }
    let spec = &mut template["spec"];
    default(spec, "restartPolicy", json!("Always"));
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, "dnsPolicy", json!("ClusterFirst"));
    default(spec, "securityContext", json!({}));
    default(spec, "schedulerName", json!("default-scheduler"));
    for list in ["initContainers", "containers"] {
        let containers = spec.get_mut(list).and_then(Value::as_array_mut);
        for container in containers.into_iter().flatten() {
            defaults::container(container, true);
            let ports = container.get_mut("ports").and_then(Value::as_array_mut);
            for port in ports.into_iter().flatten() {
                default(port, "protocol", json!("TCP"));
            }
        }
    }
}

/// The `apps/v1` defaults of a workload's spec.
fn spec_defaults(resource: Resource, spec: &mut Value) {
    match resource {
        Resource::Deployment => {
            default(spec, "replicas", json!(1));
            let strategy = &mut spec["strategy"];
            default(strategy, "type", json!("RollingUpdate"));
            if strategy["type"] == "RollingUpdate" {
                default(strategy, "rollingUpdate", json!({}));
                default(
                    &mut strategy["rollingUpdate"],
                    "maxUnavailable",
                    json!("25%"),
                );
                default(&mut strategy["rollingUpdate"], "maxSurge", json!("25%"));
            }
            default(spec, "revisionHistoryLimit", json!(10));
            default(spec, "progressDeadlineSeconds", json!(600));
        }
        Resource::StatefulSet => {
            default(spec, "podManagementPolicy", json!("OrderedReady"));
            let strategy = &mut spec["updateStrategy"];
            if str_at(strategy, "/type").is_empty() {
                strategy["type"] = json!("RollingUpdate");
                default(strategy, "rollingUpdate", json!({}));
            }
            if strategy["type"] == "RollingUpdate" && strategy["rollingUpdate"].is_object() {
                default(&mut strategy["rollingUpdate"], "partition", json!(0));
            }
            default(spec, "persistentVolumeClaimRetentionPolicy", json!({}));
            let policy = &mut spec["persistentVolumeClaimRetentionPolicy"];
            default(policy, "whenDeleted", json!("Retain"));
            default(policy, "whenScaled", json!("Retain"));
            default(spec, "replicas", json!(1));
            default(spec, "revisionHistoryLimit", json!(10));
        }
        Resource::DaemonSet => {
            let strategy = &mut spec["updateStrategy"];
            default(strategy, "type", json!("RollingUpdate"));
            if strategy["type"] == "RollingUpdate" {
                default(strategy, "rollingUpdate", json!({}));
                default(&mut strategy["rollingUpdate"], "maxUnavailable", json!(1));
                default(&mut strategy["rollingUpdate"], "maxSurge", json!(0));
            }
            default(spec, "revisionHistoryLimit", json!(10));
        }
        Resource::ReplicaSet => default(spec, "replicas", json!(1)),
        _ => {}
    }
}

/// A workload's status as `PrepareForCreate` leaves it (the zero status, as Go writes it).
fn empty_status(resource: Resource) -> Value {
    match resource {
        Resource::ReplicaSet => json!({"replicas": 0}),
        Resource::StatefulSet => json!({"replicas": 0, "availableReplicas": 0}),
        Resource::DaemonSet => json!({
            "currentNumberScheduled": 0,
            "numberMisscheduled": 0,
            "desiredNumberScheduled": 0,
            "numberReady": 0,
        }),
        _ => json!({}),
    }
}

/// Defaults, the registry strategy and validation of an `apps/v1` object being created
/// (`existing` is `None`) or updated; returns the validation errors.
pub(crate) fn prepare(
    resource: Resource,
    object: &mut Value,
    existing: Option<&Value>,
) -> Vec<FieldError> {
    if !resource.is_workload() {
        return Vec::new();
    }
    if !object.get("spec").is_some_and(Value::is_object) {
        object["spec"] = json!({});
    }
    spec_defaults(resource, &mut object["spec"]);
    if object["spec"].get("template").is_some_and(Value::is_object) {
        template_defaults(&mut object["spec"]["template"]);
    }
    match existing {
        None => {
            object["metadata"]["generation"] = json!(1);
            object["status"] = empty_status(resource);
        }
        Some(old) => {
            object["status"] = old.get("status").cloned().unwrap_or(Value::Null);
            let annotations = resource == Resource::Deployment
                && old.pointer("/metadata/annotations") != object.pointer("/metadata/annotations");
            if old["spec"] != object["spec"] || annotations {
                let generation = old["metadata"]["generation"].as_i64().unwrap_or(0);
                object["metadata"]["generation"] = json!(generation + 1);
            }
        }
    }
    validate_workload(resource, object, existing)
}

/// Go's `%#v` of a `map[string]string`.
fn go_map(map: Option<&Map<String, Value>>) -> String {
    let mut pairs: Vec<String> = map
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k:?}:{:?}", v.as_str().unwrap_or("")))
        .collect();
    pairs.sort();
    format!("map[string]string{{{}}}", pairs.join(", "))
}

fn validate_workload(
    resource: Resource,
    object: &Value,
    existing: Option<&Value>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let selector = &object["spec"]["selector"];
    let labels = object.pointer("/spec/template/metadata/labels");
    let selects = |s: &Value| {
        s.get("matchLabels")
            .is_some_and(|m| m.as_object().is_some_and(|m| !m.is_empty()))
            || s["matchExpressions"]
                .as_array()
                .is_some_and(|e| !e.is_empty())
    };
    if !selector.is_object() {
        errors.push(FieldError::required("spec.selector", ""));
    } else if !selects(selector) {
        errors.push(FieldError {
            field: "spec.selector".to_owned(),
            reason: "FieldValueInvalid",
            value: Some(format!("{selector}")),
            detail: format!(
                "empty selector is invalid for {}",
                match resource {
                    Resource::StatefulSet => "statefulset",
                    Resource::DaemonSet => "daemonset",
                    _ => "deployment",
                }
            ),
        });
    } else if !selectors::label_selector_matches(
        selector,
        labels.and_then(Value::as_object).unwrap_or(&Map::new()),
    ) {
        errors.push(FieldError {
            field: "spec.template.metadata.labels".to_owned(),
            reason: "FieldValueInvalid",
            value: Some(go_map(labels.and_then(Value::as_object))),
            detail: "`selector` does not match template `labels`".to_owned(),
        });
    }
    if let Some(old) = existing
        && old["spec"]["selector"] != *selector
    {
        errors.push(FieldError {
            field: "spec.selector".to_owned(),
            reason: "FieldValueInvalid",
            value: Some(format!("{selector}")),
            detail: "field is immutable".to_owned(),
        });
    }
    let pod = template_pod(object);
    for mut error in validate::validate(Resource::Pod, &pod) {
        if let Some(rest) = error.field.strip_prefix("spec.") {
            error.field = format!("spec.template.spec.{rest}");
            errors.push(error);
        }
    }
    errors
}

/// A workload's pod template as a pod (what Pod Security and validation look at).
pub(crate) fn template_pod(object: &Value) -> Value {
    let template = &object["spec"]["template"];
    json!({
        "metadata": {
            "name": str_at(object, "/metadata/name"),
            "namespace": str_at(object, "/metadata/namespace"),
            "labels": template.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
            "annotations": template.pointer("/metadata/annotations").cloned().unwrap_or(json!({})),
        },
        "spec": template.get("spec").cloned().unwrap_or(json!({})),
    })
}

/// Pod Security's warnings about a workload's template (none for other objects).
pub(crate) fn warnings(store: &Store, resource: Resource, object: &Value) -> Vec<String> {
    if !resource.is_workload() {
        return Vec::new();
    }
    let namespace = store
        .get(
            Resource::Namespace,
            "",
            str_at(object, "/metadata/namespace"),
        )
        .cloned()
        .unwrap_or(Value::Null);
    pod_security::warn_controller(&namespace, &template_pod(object))
}
