//! Generic object handling: create, get, replace, delete; metadata that the
//! apiserver fills in; and the final step of every write.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::patch;
use super::pods;
use super::protobuf;
use super::resources::{APPS, Resource};
use super::router::{Req, Target};
use super::state::{Shared, Store, str_at};
use super::status::{self, ApiError, Reply, json_response};
use super::table;
use super::validate;
use super::{apps, pod_security, quota};

/// Now, as the apiserver writes timestamps (RFC 3339, whole seconds, UTC).
pub(crate) fn now() -> String {
    timestamp(time::OffsetDateTime::now_utc())
}

/// A timestamp as the apiserver writes it.
pub(crate) fn timestamp(at: time::OffsetDateTime) -> String {
    let at = at.replace_nanosecond(0).expect("zero nanoseconds");
    at.format(&time::format_description::well_known::Rfc3339)
        .expect("format a timestamp")
}

/// A random version-4 UUID.
pub(crate) fn uid() -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        fastrand::u32(..),
        fastrand::u16(..),
        fastrand::u16(..0x1000),
        8 + fastrand::u8(..4),
        fastrand::u16(..0x1000),
        fastrand::u64(..1 << 48)
    )
}

/// Reads the request body as JSON, or as the protobuf kubectl sends for a few creates.
pub(crate) fn decode_body(req: &Req) -> Result<Value, ApiError> {
    let media = req.media_type();
    if media == "application/vnd.kubernetes.protobuf" {
        return protobuf::decode(&req.body)
            .ok_or_else(|| ApiError::unsupported_media_type(&req.content_type));
    }
    if !(media.is_empty()
        || media == "application/json"
        || media.ends_with("+json")
        || media.ends_with("+yaml"))
    {
        return Err(ApiError::unsupported_media_type(&req.content_type));
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(format!("json: error decoding request body: {e}")))
}

/// Puts the metadata keys in the order the apiserver writes them.
pub(crate) fn canonical(mut object: Value) -> Value {
    const ORDER: [&str; 15] = [
        "name",
        "generateName",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
        "selfLink",
    ];
    if let Some(Value::Object(meta)) = object.get_mut("metadata") {
        let mut ordered = Map::new();
        for key in ORDER {
            if let Some(value) = meta.remove(key) {
                ordered.insert(key.to_owned(), value);
            }
        }
        ordered.append(meta);
        *meta = ordered;
    }
    object
}

/// `names.SimpleNameGenerator`: the prefix and five random characters.
pub(crate) fn generated_name(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let suffix: String = (0..5)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{suffix}")
}

/// `POST` to a collection.
pub(crate) fn create(shared: &Arc<Shared>, req: &Req, target: &Target) -> Reply {
    let body = decode_body(req)?;
    let namespace = target.namespace.clone().unwrap_or_default();
    let object = prepare_new(target.resource, &namespace, body)?;
    let mut store = shared.store();
    let name = str_at(&object, "/metadata/name").to_owned();
    if target.resource.namespaced() && store.get(Resource::Namespace, "", &namespace).is_none() {
        return Err(ApiError::namespace_not_found(&namespace));
    }
    if store.get(target.resource, &namespace, &name).is_some() {
        return Err(ApiError::already_exists(target.resource, &name));
    }
    let mut object = patch::record_update(None, object, &req.field_manager());
    let admitted = if target.resource == Resource::Pod {
        Some(pods::admit(shared, &store, &mut object, req.dry_run())?)
    } else {
        None
    };
    let warnings = admitted.as_ref().map_or_else(
        || apps::warnings(&store, target.resource, &object),
        |a| a.warnings.clone(),
    );
    if req.dry_run() {
        let response = json_response(201, &canonical(object));
        return Ok(status::with_warnings(response, &warnings));
    }
    let stored = insert_new(&mut store, target.resource, object);
    if let Some(admitted) = admitted {
        pods::start(shared, &mut store, &stored, admitted);
    }
    Ok(status::with_warnings(
        json_response(201, &stored),
        &warnings,
    ))
}

/// Checks a new object's kind, namespace and name, and fills in the metadata the apiserver sets.
pub(crate) fn prepare_new(
    resource: Resource,
    namespace: &str,
    mut object: Value,
) -> Result<Value, ApiError> {
    if !object.is_object() {
        return Err(ApiError::bad_request(
            "Object 'Kind' is missing in the request body",
        ));
    }
    let kind = str_at(&object, "/kind");
    if !kind.is_empty() && kind != resource.kind() {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({}) does not match the expected API version ({})",
            str_at(&object, "/apiVersion"),
            resource.api_version()
        )));
    }
    validate::check_string_maps(&object).map_err(ApiError::bad_request)?;
    let body_namespace = str_at(&object, "/metadata/namespace");
    if resource.namespaced() && !body_namespace.is_empty() && body_namespace != namespace {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    if !object.get("metadata").is_some_and(Value::is_object) {
        object["metadata"] = json!({});
    }
    let meta = &mut object["metadata"];
    if str_at(meta, "/name").is_empty() {
        let prefix = str_at(meta, "/generateName").to_owned();
        if !prefix.is_empty() {
            meta["name"] = json!(generated_name(&prefix));
        }
    }
    if resource.namespaced() {
        meta["namespace"] = json!(namespace);
    } else if let Some(map) = meta.as_object_mut() {
        map.remove("namespace");
    }
    for field in [
        "resourceVersion",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "managedFields",
    ] {
        if let Some(map) = meta.as_object_mut() {
            map.remove(field);
        }
    }
    meta["uid"] = json!(uid());
    meta["creationTimestamp"] = json!(now());
    let mut object = with_type(resource, object);
    if resource == Resource::Namespace {
        object["spec"] = json!({"finalizers": ["kubernetes"]});
        object["status"] = json!({"phase": "Active"});
    }
    server_fields(resource, &mut object, None)?;
    Ok(object)
}

/// What the apiserver keeps or checks on every write of a resource: a namespace's
/// `kubernetes.io/metadata.name` label and Pod Security labels, a quota's status (the quota
/// controller's), then validation.
fn server_fields(
    resource: Resource,
    object: &mut Value,
    existing: Option<&Value>,
) -> Result<(), ApiError> {
    let name = str_at(object, "/metadata/name").to_owned();
    match resource {
        Resource::Namespace => {
            object["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
        }
        Resource::ResourceQuota => quota::controller_status(object),
        _ => {}
    }
    let mut errors = apps::prepare(resource, object, existing);
    errors.extend(validate::validate(resource, object));
    if !errors.is_empty() {
        return Err(ApiError::invalid(resource, &name, &errors));
    }
    if resource == Resource::Namespace {
        pod_security::validate_namespace(object, existing)?;
    }
    Ok(())
}

/// `object` with `apiVersion` and `kind` first.
fn with_type(resource: Resource, object: Value) -> Value {
    let mut typed = Map::new();
    typed.insert("apiVersion".to_owned(), json!(resource.api_version()));
    typed.insert("kind".to_owned(), json!(resource.kind()));
    if let Value::Object(map) = object {
        for (key, value) in map {
            if key != "apiVersion" && key != "kind" {
                typed.insert(key, value);
            }
        }
    }
    Value::Object(typed)
}

/// Stores a new, prepared object; a new namespace also gets its `default` ServiceAccount, as
/// the ServiceAccount controller of a real cluster creates it.
pub(crate) fn insert_new(store: &mut Store, resource: Resource, object: Value) -> Value {
    let stored = store.put(resource, canonical(object));
    if resource == Resource::Namespace {
        let namespace = str_at(&stored, "/metadata/name").to_owned();
        if store
            .get(Resource::ServiceAccount, &namespace, "default")
            .is_none()
        {
            let sa = json!({"metadata": {"name": "default"}});
            let sa = prepare_new(Resource::ServiceAccount, &namespace, sa)
                .expect("a valid default ServiceAccount");
            store.put(Resource::ServiceAccount, canonical(sa));
        }
    }
    stored
}

/// `GET` of one object.
pub(crate) fn get(shared: &Shared, req: &Req, target: &Target) -> Reply {
    let name = target.name.as_deref().unwrap_or_default();
    let namespace = target.namespace.as_deref().unwrap_or_default();
    let store = shared.store();
    let stored = store
        .get(target.resource.storage(), namespace, name)
        .ok_or_else(|| ApiError::not_found(target.resource, name))?;
    let object = target.resource.present(stored);
    if req.wants_table() {
        let meta = json!({"resourceVersion": store.rv().to_string()});
        return Ok(json_response(
            200,
            &table::table(target.resource, &[stored], meta, req.param("includeObject")),
        ));
    }
    Ok(json_response(200, &object))
}

/// `PUT` of one object.
pub(crate) fn replace(shared: &Shared, req: &Req, target: &Target) -> Reply {
    let body = decode_body(req)?;
    validate::check_string_maps(&body).map_err(ApiError::bad_request)?;
    let name = target.name.clone().unwrap_or_default();
    let namespace = target.namespace.clone().unwrap_or_default();
    let body_name = str_at(&body, "/metadata/name");
    if body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    let existing = shared
        .store()
        .get(target.resource, &namespace, &name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(target.resource, &name))?;
    let requested_rv = str_at(&body, "/metadata/resourceVersion");
    if !requested_rv.is_empty() && requested_rv != str_at(&existing, "/metadata/resourceVersion") {
        return Err(ApiError::stale(target.resource, &name));
    }
    let mut updated = with_type(target.resource, body);
    if let Some(status) = existing.get("status") {
        updated["status"] = status.clone();
    }
    commit_update(shared, req, target, &existing, updated, true)
}

/// Validates and stores a changed object (keeping what clients may not change), unless the
/// change is a no-op (the apiserver then keeps the resource version) or a dry run.
pub(crate) fn commit_update(
    shared: &Shared,
    req: &Req,
    target: &Target,
    existing: &Value,
    mut updated: Value,
    track_update: bool,
) -> Reply {
    let name = str_at(existing, "/metadata/name").to_owned();
    if str_at(&updated, "/metadata/name") != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            str_at(&updated, "/metadata/name")
        )));
    }
    validate::check_string_maps(&updated).map_err(ApiError::bad_request)?;
    for field in [
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "generation",
    ] {
        match existing["metadata"].get(field) {
            Some(value) => updated["metadata"][field] = value.clone(),
            None => {
                if let Some(map) = updated["metadata"].as_object_mut() {
                    map.remove(field);
                }
            }
        }
    }
    updated["apiVersion"] = existing["apiVersion"].clone();
    updated["kind"] = existing["kind"].clone();
    server_fields(target.resource, &mut updated, Some(existing))?;
    if track_update {
        updated = patch::record_update(Some(existing), updated, &req.field_manager());
    }
    updated["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"].clone();
    let updated = canonical(updated);
    let mut store = shared.store();
    let warnings = apps::warnings(&store, target.resource, &updated);
    let answer = |object: &Value| status::with_warnings(json_response(200, object), &warnings);
    if patch::same_ignoring_managed_fields(existing, &updated) {
        return Ok(answer(existing));
    }
    if req.dry_run() {
        return Ok(answer(&updated));
    }
    let namespace = str_at(existing, "/metadata/namespace");
    let current = store.get(target.resource, namespace, &name);
    if current.map(|c| &c["metadata"]["resourceVersion"])
        != Some(&existing["metadata"]["resourceVersion"])
    {
        return Err(ApiError::stale(target.resource, &name));
    }
    Ok(answer(&store.put(target.resource, updated)))
}

/// `DELETE` of one object; deleting a namespace deletes what it holds.
pub(crate) fn delete(shared: &Shared, req: &Req, target: &Target) -> Reply {
    let name = target.name.clone().unwrap_or_default();
    let namespace = target.namespace.clone().unwrap_or_default();
    let mut store = shared.store();
    let existing = store
        .get(target.resource, &namespace, &name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(target.resource, &name))?;
    let mut answer = existing.clone();
    if target.resource == Resource::Pod {
        answer["metadata"]["deletionTimestamp"] = json!(now());
        answer["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        answer = canonical(answer);
    }
    // DeleteOptions may come as a body too (kube-rs sends them so).
    let options: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let dry_in_body = options["dryRun"]
        .as_array()
        .is_some_and(|d| d.iter().any(|v| v == "All"));
    if req.dry_run() || dry_in_body {
        return Ok(json_response(200, &answer));
    }
    if is_orphaning(req, &options) {
        super::controllers::orphan(&mut store, &existing);
    }
    if target.resource == Resource::Namespace {
        let held = [
            Resource::Pod,
            Resource::ServiceAccount,
            Resource::Event,
            Resource::ResourceQuota,
        ];
        for resource in held.into_iter().chain(APPS) {
            let names: Vec<String> = store
                .range(resource, Some(&name), None)
                .map(|(_, o)| str_at(o, "/metadata/name").to_owned())
                .collect();
            for inner in names {
                store.remove(resource, &name, &inner);
            }
        }
    }
    store.remove(target.resource, &namespace, &name);
    Ok(json_response(200, &answer))
}

/// Whether a delete asks to orphan the dependents (`propagationPolicy: Orphan`, in the query
/// or the `DeleteOptions` body, or the deprecated `orphanDependents: true`).
fn is_orphaning(req: &Req, options: &Value) -> bool {
    req.param("propagationPolicy") == Some("Orphan")
        || options["propagationPolicy"] == "Orphan"
        || options["orphanDependents"] == true
}
