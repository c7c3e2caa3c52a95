//! The `scale` subresource of Deployments, ReplicaSets and StatefulSets: an `autoscaling/v1`
//! `Scale` read from the workload, and written back to its `spec.replicas` (get, patch of any
//! kind the main resource takes, update), as `kubectl scale` uses it.
//!
//! Sources, in kubernetes/kubernetes: pkg/registry/apps/deployment/storage/storage.go (and the
//! replicaset and statefulset ones: `ScaleREST`, `scaleFromDeployment`: name, namespace, uid,
//! resource version and creation time; `status.selector` as the selector's string;
//! `scaleUpdatedObjectInfo` applies the new replicas to the workload) and
//! pkg/apis/autoscaling/validation/validation.go (`ValidateScale`: replicas not negative).

use serde_json::{Value, json};

use super::controllers::selector_string;
use super::objects::{self, commit_update};
use super::patch;
use super::router::{Req, Target};
use super::state::{Shared, str_at};
use super::status::{ApiError, FieldError, Reply, json_response};

/// The workload's `Scale`.
fn scale_of(workload: &Value) -> Value {
    let meta = &workload["metadata"];
    let mut status = json!({"replicas": workload["status"]["replicas"].as_i64().unwrap_or(0)});
    let selector = selector_string(&workload["spec"]["selector"]);
    if !selector.is_empty() {
        status["selector"] = json!(selector);
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": workload["spec"]["replicas"]},
        "status": status,
    })
}

/// `GET`, `PATCH` or `PUT` of `.../NAME/scale`.
pub(crate) fn scale(shared: &Shared, req: &Req, target: &Target) -> Reply {
    let name = target.name.clone().unwrap_or_default();
    let namespace = target.namespace.clone().unwrap_or_default();
    let existing = shared
        .store()
        .get(target.resource, &namespace, &name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(target.resource, &name))?;
    let current = scale_of(&existing);
    let wanted = match req.method.as_str() {
        "GET" => return Ok(json_response(200, &current)),
        "PUT" => objects::decode_body(req)?,
        _ => patched(req, current)?,
    };
    let replicas = wanted["spec"]["replicas"].as_i64().unwrap_or(0);
    if replicas < 0 {
        let error = FieldError::invalid_number(
            "spec.replicas",
            replicas,
            "must be greater than or equal to 0",
        );
        return Err(ApiError::invalid_kind(
            "Scale",
            "autoscaling",
            &name,
            &[error],
        ));
    }
    let mut updated = existing.clone();
    updated["spec"]["replicas"] = json!(replicas);
    let workload = Target {
        subresource: None,
        ..target.clone()
    };
    commit_update(shared, req, &workload, &existing, updated.clone(), true)?;
    let stored = shared
        .store()
        .get(target.resource, &namespace, &name)
        .cloned();
    let shown = match stored {
        Some(stored) if !req.dry_run() => stored,
        _ => updated,
    };
    Ok(json_response(200, &scale_of(&shown)))
}

/// A patch of the current `Scale`, by content type.
fn patched(req: &Req, current: Value) -> Result<Value, ApiError> {
    let body = objects::decode_body(req)?;
    match req.media_type().as_str() {
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
            Ok(patch::merge(current, &body))
        }
        "application/json-patch+json" => {
            patch::json_patch(current, &body).map_err(ApiError::invalid_patch)
        }
        "application/apply-patch+yaml" if str_at(&body, "/kind") == "Scale" => {
            Ok(patch::merge(current, &body))
        }
        _ => Err(ApiError::unsupported_media_type(&req.content_type)),
    }
}
