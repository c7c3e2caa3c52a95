//! `PATCH`: JSON merge patches, strategic merge patches (as merge patches), JSON patches and
//! server-side apply, with a simple model of field ownership (`managedFields`) for the
//! annotations and labels.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::objects::{self, commit_update, now};
use super::router::{Req, Target};
use super::state::str_at;
use super::status::{ApiError, Reply, json_response};

/// The metadata maps whose keys the ownership model tracks.
const TRACKED: [&str; 2] = ["annotations", "labels"];

/// `PATCH` of one object, by content type.
pub(crate) fn patch(shared: &super::state::Shared, req: &Req, target: &Target) -> Reply {
    let name = target.name.clone().unwrap_or_default();
    let namespace = target.namespace.clone().unwrap_or_default();
    let media = req.media_type();
    if req.param("force").is_some() && media != "application/apply-patch+yaml" {
        return Err(ApiError::invalid_options(
            "force",
            "may not be specified for non-apply patch",
        ));
    }
    let body = objects::decode_body(req)?;
    let existing = shared
        .store()
        .get(target.resource, &namespace, &name)
        .cloned();
    if media == "application/apply-patch+yaml" {
        return apply(shared, req, target, existing, body);
    }
    let existing = existing.ok_or_else(|| ApiError::not_found(target.resource, &name))?;
    let updated = match media.as_str() {
        "application/merge-patch+json" => merge(existing.clone(), &body),
        "application/strategic-merge-patch+json" => {
            merge(existing.clone(), &strip_directives(body))
        }
        "application/json-patch+json" => {
            json_patch(existing.clone(), &body).map_err(ApiError::invalid_patch)?
        }
        _ => return Err(ApiError::unsupported_media_type(&req.content_type)),
    };
    let requested_rv = str_at(&updated, "/metadata/resourceVersion");
    if requested_rv != str_at(&existing, "/metadata/resourceVersion") && !requested_rv.is_empty() {
        return Err(ApiError::stale(target.resource, &name));
    }
    commit_update(shared, req, target, &existing, updated, true)
}

/// RFC 7386 JSON merge patch: `null` deletes, objects merge recursively, anything else replaces.
pub(crate) fn merge(target: Value, patch: &Value) -> Value {
    let Value::Object(patch_map) = patch else {
        return patch.clone();
    };
    let mut target_map = match target {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    for (key, value) in patch_map {
        if value.is_null() {
            target_map.shift_remove(key);
        } else {
            let current = target_map.shift_remove(key).unwrap_or(Value::Null);
            target_map.insert(key.clone(), merge(current, value));
        }
    }
    Value::Object(target_map)
}

/// Drops strategic-merge directives (`$patch`, `$setElementOrder/...`, `$retainKeys`).
fn strip_directives(patch: Value) -> Value {
    match patch {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(key, _)| !key.starts_with('$'))
                .map(|(key, value)| (key, strip_directives(value)))
                .collect(),
        ),
        other => other,
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn split_pointer(path: &str) -> Result<(String, String), String> {
    if !path.starts_with('/') {
        return Err(format!("invalid JSON pointer: {path:?}"));
    }
    let (parent, last) = path.rsplit_once('/').expect("a leading slash");
    Ok((parent.to_owned(), unescape(last)))
}

fn missing(op: &str, path: &str) -> String {
    format!(
        "jsonpatch {op} operation does not apply: doc is missing path: \"{path}\": missing value"
    )
}

fn insert_at(
    doc: &mut Value,
    path: &str,
    value: Value,
    op: &str,
    replace: bool,
) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = split_pointer(path)?;
    match doc.pointer_mut(&parent) {
        Some(Value::Object(map)) => {
            if replace && !map.contains_key(&last) {
                return Err(missing(op, path));
            }
            map.insert(last, value);
            Ok(())
        }
        Some(Value::Array(list)) => {
            let index = if last == "-" && !replace {
                list.len()
            } else {
                last.parse::<usize>().map_err(|_| missing(op, path))?
            };
            if replace && index < list.len() {
                list[index] = value;
            } else if !replace && index <= list.len() {
                list.insert(index, value);
            } else {
                return Err(missing(op, path));
            }
            Ok(())
        }
        _ => Err(missing(op, path)),
    }
}

fn remove_at(doc: &mut Value, path: &str, op: &str) -> Result<Value, String> {
    let (parent, last) = split_pointer(path)?;
    match doc.pointer_mut(&parent) {
        Some(Value::Object(map)) => map.shift_remove(&last).ok_or_else(|| missing(op, path)),
        Some(Value::Array(list)) => match last.parse::<usize>() {
            Ok(index) if index < list.len() => Ok(list.remove(index)),
            _ => Err(missing(op, path)),
        },
        _ => Err(missing(op, path)),
    }
}

/// RFC 6902 JSON patch (add, remove, replace, test, move, copy).
pub(crate) fn json_patch(mut doc: Value, patch: &Value) -> Result<Value, String> {
    let ops = patch
        .as_array()
        .ok_or("json: cannot unmarshal object into Go value of type jsonpatch.Patch")?;
    for op in ops {
        let kind = str_at(op, "/op");
        let path = str_at(op, "/path");
        let value = op.get("value").cloned();
        match kind {
            "add" => insert_at(&mut doc, path, value.ok_or("missing value")?, kind, false)?,
            "replace" => insert_at(&mut doc, path, value.ok_or("missing value")?, kind, true)?,
            "remove" => {
                remove_at(&mut doc, path, kind)?;
            }
            "test" => {
                if doc.pointer(&pointer_of(path)) != value.as_ref() {
                    return Err(format!("testing value {path} failed: test failed"));
                }
            }
            "move" | "copy" => {
                let from = str_at(op, "/from");
                let moved = if kind == "move" {
                    remove_at(&mut doc, from, kind)?
                } else {
                    doc.pointer(&pointer_of(from))
                        .cloned()
                        .ok_or_else(|| missing(kind, from))?
                };
                insert_at(&mut doc, path, moved, kind, false)?;
            }
            other => return Err(format!("Unexpected kind: {other}")),
        }
    }
    Ok(doc)
}

/// A JSON pointer as `serde_json::Value::pointer` reads it (it unescapes `~1` and `~0` itself).
fn pointer_of(path: &str) -> String {
    path.to_owned()
}

fn tracked_keys(object: &Value, field: &str) -> BTreeSet<String> {
    object
        .pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn owned(entry: &Value, field: &str) -> BTreeSet<String> {
    entry
        .pointer(&format!("/fieldsV1/f:metadata/f:{field}"))
        .and_then(Value::as_object)
        .map(|m| {
            m.keys()
                .filter_map(|k| k.strip_prefix("f:"))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn entry(
    manager: &str,
    operation: &str,
    api_version: &str,
    fields: &[BTreeSet<String>; 2],
) -> Value {
    let mut metadata = Map::new();
    for (field, keys) in TRACKED.iter().zip(fields) {
        if !keys.is_empty() {
            let set: Map<String, Value> =
                keys.iter().map(|k| (format!("f:{k}"), json!({}))).collect();
            metadata.insert(format!("f:{field}"), Value::Object(set));
        }
    }
    let mut entry = Map::new();
    if !manager.is_empty() {
        entry.insert("manager".to_owned(), json!(manager));
    }
    entry.insert("operation".to_owned(), json!(operation));
    entry.insert("apiVersion".to_owned(), json!(api_version));
    entry.insert("time".to_owned(), json!(now()));
    entry.insert("fieldsType".to_owned(), json!("FieldsV1"));
    entry.insert("fieldsV1".to_owned(), json!({"f:metadata": metadata}));
    Value::Object(entry)
}

fn managed(object: &Value) -> Vec<Value> {
    object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Rebuilds `managedFields`: `owner_of(entry, field)` gives each existing entry's new keys,
/// and `(manager, operation)` gets `mine`.
fn rebuild(
    object: &mut Value,
    entries: Vec<Value>,
    manager: &str,
    operation: &str,
    mine: [BTreeSet<String>; 2],
) {
    let api_version = str_at(object, "/apiVersion").to_owned();
    let mut result: Vec<Value> = Vec::new();
    let mut placed = false;
    for existing in entries {
        let is_mine = existing
            .get("manager")
            .and_then(Value::as_str)
            .unwrap_or("")
            == manager
            && str_at(&existing, "/operation") == operation;
        if is_mine {
            placed = true;
            if mine.iter().any(|s| !s.is_empty()) {
                result.push(entry(manager, operation, &api_version, &mine));
            }
        } else if TRACKED.iter().any(|f| !owned(&existing, f).is_empty()) {
            result.push(existing);
        }
    }
    if !placed && mine.iter().any(|s| !s.is_empty()) {
        result.push(entry(manager, operation, &api_version, &mine));
    }
    if result.is_empty() {
        if let Some(map) = object["metadata"].as_object_mut() {
            map.shift_remove("managedFields");
        }
    } else {
        object["metadata"]["managedFields"] = Value::Array(result);
    }
}

/// Records an update by `manager`: it takes the keys whose values it set or changed, and
/// removed keys leave every owner.
pub(crate) fn record_update(before: Option<&Value>, mut after: Value, manager: &str) -> Value {
    let entries = managed(before.unwrap_or(&Value::Null));
    let mut mine: [BTreeSet<String>; 2] = Default::default();
    let mut changed: [BTreeSet<String>; 2] = Default::default();
    let mut present: [BTreeSet<String>; 2] = Default::default();
    for (i, field) in TRACKED.iter().enumerate() {
        present[i] = tracked_keys(&after, field);
        for key in &present[i] {
            let pointer = format!(
                "/metadata/{field}/{}",
                key.replace('~', "~0").replace('/', "~1")
            );
            if before.and_then(|b| b.pointer(&pointer)) != after.pointer(&pointer) {
                changed[i].insert(key.clone());
            }
        }
    }
    let mut kept = Vec::new();
    for mut existing in entries {
        let is_mine = existing
            .get("manager")
            .and_then(Value::as_str)
            .unwrap_or("")
            == manager
            && str_at(&existing, "/operation") == "Update";
        for (i, field) in TRACKED.iter().enumerate() {
            let keys: BTreeSet<String> = owned(&existing, field)
                .into_iter()
                .filter(|k| present[i].contains(k) && (is_mine || !changed[i].contains(k)))
                .collect();
            if is_mine {
                mine[i] = keys.clone();
            }
            set_owned(&mut existing, field, &keys);
        }
        kept.push(existing);
    }
    for i in 0..TRACKED.len() {
        mine[i].extend(changed[i].iter().cloned());
    }
    rebuild(&mut after, kept, manager, "Update", mine);
    after
}

fn set_owned(entry: &mut Value, field: &str, keys: &BTreeSet<String>) {
    let set: Map<String, Value> = keys.iter().map(|k| (format!("f:{k}"), json!({}))).collect();
    entry["fieldsV1"]["f:metadata"][format!("f:{field}")] = Value::Object(set);
}

/// Whether two objects differ only in `managedFields`.
pub(crate) fn same_ignoring_managed_fields(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.shift_remove("managedFields");
        }
        v
    };
    strip(a) == strip(b)
}

/// Server-side apply (`application/apply-patch+yaml`; the body must be JSON here).
fn apply(
    shared: &super::state::Shared,
    req: &Req,
    target: &Target,
    existing: Option<Value>,
    applied: Value,
) -> Reply {
    let manager = req.param("fieldManager").unwrap_or("").to_owned();
    if manager.is_empty() {
        return Err(ApiError::invalid_options(
            "fieldManager",
            "is required for apply patch",
        ));
    }
    let force = req.param("force") == Some("true");
    let name = target.name.clone().unwrap_or_default();
    if str_at(&applied, "/metadata/name") != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            str_at(&applied, "/metadata/name")
        )));
    }
    if str_at(&applied, "/kind") != target.resource.kind()
        || str_at(&applied, "/apiVersion") != target.resource.api_version()
    {
        return Err(ApiError::bad_request(format!(
            "invalid object type: {}, Kind={}",
            str_at(&applied, "/apiVersion"),
            str_at(&applied, "/kind")
        )));
    }
    let Some(existing) = existing else {
        // Applying to a missing object creates it.
        let namespace = target.namespace.clone().unwrap_or_default();
        let mut object = objects::prepare_new(target.resource, &namespace, applied.clone())?;
        let mut fields: [BTreeSet<String>; 2] = Default::default();
        for (i, field) in TRACKED.iter().enumerate() {
            fields[i] = tracked_keys(&applied, field);
        }
        rebuild(&mut object, Vec::new(), &manager, "Apply", fields);
        let mut store = shared.store();
        if target.resource.namespaced()
            && store
                .get(super::resources::Resource::Namespace, "", &namespace)
                .is_none()
        {
            return Err(ApiError::namespace_not_found(&namespace));
        }
        if req.dry_run() {
            return Ok(json_response(201, &objects::canonical(object)));
        }
        return Ok(json_response(
            201,
            &objects::insert_new(&mut store, target.resource, object),
        ));
    };
    let entries = managed(&existing);
    let mut conflicts = Vec::new();
    let mut fields: [BTreeSet<String>; 2] = Default::default();
    for (i, field) in TRACKED.iter().enumerate() {
        fields[i] = tracked_keys(&applied, field);
        for key in &fields[i] {
            let pointer = format!(
                "/metadata/{field}/{}",
                key.replace('~', "~0").replace('/', "~1")
            );
            if existing.pointer(&pointer) == applied.pointer(&pointer) {
                continue;
            }
            for other in &entries {
                let other_manager = other.get("manager").and_then(Value::as_str).unwrap_or("");
                let same = other_manager == manager && str_at(other, "/operation") == "Apply";
                if !same && owned(other, field).contains(key) {
                    conflicts.push((other_manager.to_owned(), format!(".metadata.{field}.{key}")));
                }
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(ApiError::apply_conflict(target.resource, &name, &conflicts));
    }
    let mut updated = existing.clone();
    let mut kept = Vec::new();
    let mut previously_applied: [BTreeSet<String>; 2] = Default::default();
    for mut other in entries {
        let other_manager = other.get("manager").and_then(Value::as_str).unwrap_or("");
        let same = other_manager == manager && str_at(&other, "/operation") == "Apply";
        for (i, field) in TRACKED.iter().enumerate() {
            let keys = owned(&other, field);
            if same {
                previously_applied[i] = keys;
            } else if force {
                let left: BTreeSet<String> = keys.difference(&fields[i]).cloned().collect();
                set_owned(&mut other, field, &left);
            }
        }
        kept.push(other);
    }
    for (i, field) in TRACKED.iter().enumerate() {
        let others: BTreeSet<String> = kept
            .iter()
            .filter(|e| {
                !(e.get("manager").and_then(Value::as_str).unwrap_or("") == manager
                    && str_at(e, "/operation") == "Apply")
            })
            .flat_map(|e| owned(e, field))
            .collect();
        for key in previously_applied[i].difference(&fields[i]) {
            if others.contains(key) {
                continue;
            }
            if let Some(map) = updated["metadata"]
                .get_mut(*field)
                .and_then(Value::as_object_mut)
            {
                map.shift_remove(key);
            }
        }
        if let Some(values) = applied
            .pointer(&format!("/metadata/{field}"))
            .and_then(Value::as_object)
        {
            for (key, value) in values {
                updated["metadata"][*field][key] = value.clone();
            }
        }
    }
    for (key, value) in applied.as_object().into_iter().flatten() {
        if !matches!(key.as_str(), "apiVersion" | "kind" | "metadata" | "status") {
            let current = updated.get(key).cloned().unwrap_or(Value::Null);
            updated[key] = merge(current, value);
        }
    }
    rebuild(&mut updated, kept, &manager, "Apply", fields);
    commit_update(shared, req, target, &existing, updated, false)
}
