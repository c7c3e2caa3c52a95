//! `kind: Status` errors with the shapes, reasons and messages the apiserver sends, and the
//! response helpers the fake answers with.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{Value, json};

use super::resources::Resource;
use crate::server::StreamBody;

/// An error the fake answers with a `Status` object.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) code: u16,
    pub(crate) reason: &'static str,
    pub(crate) message: String,
    pub(crate) details: Option<Value>,
}

/// What handlers return: a response, or a Status error.
pub(crate) type Reply = Result<Response<StreamBody>, ApiError>;

impl ApiError {
    fn new(code: u16, reason: &'static str, message: String, details: Option<Value>) -> Self {
        Self {
            code,
            reason,
            message,
            details,
        }
    }

    /// The `Status` object.
    pub(crate) fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status["code"] = json!(self.code);
        status
    }

    /// The response carrying the `Status`.
    pub(crate) fn into_response(self) -> Response<StreamBody> {
        json_response(self.code, &self.to_status())
    }

    /// `404 NotFound`: `serviceaccounts "x" not found`.
    pub(crate) fn not_found(resource: Resource, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", resource.qualified_plural()),
            Some(details(resource, Some(name))),
        )
    }

    /// `404 NotFound` for a namespace that does not exist.
    pub(crate) fn namespace_not_found(namespace: &str) -> Self {
        Self::not_found(Resource::Namespace, namespace)
    }

    /// `404 NotFound` for a path the server does not serve.
    pub(crate) fn no_route() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource".to_owned(),
            Some(json!({})),
        )
    }

    /// `409 AlreadyExists`: `serviceaccounts "x" already exists`.
    pub(crate) fn already_exists(resource: Resource, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", resource.qualified_plural()),
            Some(details(resource, Some(name))),
        )
    }

    /// `409 Conflict` on a stale `resourceVersion`.
    pub(crate) fn stale(resource: Resource, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                resource.qualified_plural()
            ),
            Some(details(resource, Some(name))),
        )
    }

    /// `409 Conflict` from server-side apply: `fields` are `(manager, field path)` pairs.
    pub(crate) fn apply_conflict(
        resource: Resource,
        name: &str,
        fields: &[(String, String)],
    ) -> Self {
        let api_version = resource.api_version();
        let causes: Vec<Value> = fields
            .iter()
            .map(|(manager, field)| {
                json!({
                    "reason": "FieldManagerConflict",
                    "message": format!("conflict with \"{manager}\" using {api_version}"),
                    "field": field,
                })
            })
            .collect();
        let listed: Vec<String> = fields
            .iter()
            .map(|(manager, field)| {
                format!("conflict with \"{manager}\" using {api_version}: {field}")
            })
            .collect();
        let message = if fields.len() == 1 {
            format!("Apply failed with 1 conflict: {}", listed[0])
        } else {
            format!(
                "Apply failed with {} conflicts: {}",
                fields.len(),
                listed.join("\n")
            )
        };
        let mut details = details(resource, Some(name));
        details["causes"] = Value::Array(causes);
        Self::new(409, "Conflict", message, Some(details))
    }

    /// `422 Invalid`: `ServiceAccount "x" is invalid: FIELD: Invalid value: ...`.
    pub(crate) fn invalid(resource: Resource, name: &str, errors: &[FieldError]) -> Self {
        Self::invalid_kind(resource.kind(), resource.group(), name, errors)
    }

    /// `422 Invalid` for an object of `kind` in `group` (which may be a subresource's kind).
    pub(crate) fn invalid_kind(kind: &str, group: &str, name: &str, errors: &[FieldError]) -> Self {
        let rendered: Vec<String> = errors.iter().map(FieldError::render).collect();
        let summary = if rendered.len() == 1 {
            rendered[0].clone()
        } else {
            format!("[{}]", rendered.join(", "))
        };
        let causes: Vec<Value> = errors
            .iter()
            .map(|error| json!({"reason": error.reason, "message": error.body(), "field": error.field}))
            .collect();
        let mut details = json!({"name": name});
        if !group.is_empty() {
            details["group"] = json!(group);
        }
        details["kind"] = json!(kind);
        details["causes"] = Value::Array(causes);
        let qualified = if group.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind}.{group}")
        };
        Self::new(
            422,
            "Invalid",
            format!("{qualified} \"{name}\" is invalid: {summary}"),
            Some(details),
        )
    }

    /// `403 Forbidden`, worded as the RBAC authorizer words it.
    pub(crate) fn forbidden(
        resource: Resource,
        subresource: Option<&str>,
        verb: &str,
        user: &str,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Self {
        let object = match name {
            Some(name) => format!("{} \"{name}\"", resource.qualified_plural()),
            None => resource.qualified_plural(),
        };
        let full_resource = match subresource {
            Some(sub) => format!("{}/{sub}", resource.plural()),
            None => resource.plural().to_owned(),
        };
        let scope = match namespace {
            Some(namespace) => format!("in the namespace \"{namespace}\""),
            None => "at the cluster scope".to_owned(),
        };
        Self::new(
            403,
            "Forbidden",
            format!(
                "{object} is forbidden: User \"{user}\" cannot {verb} resource \"{full_resource}\" \
                 in API group \"{}\" {scope}",
                resource.group()
            ),
            Some(details(resource, name)),
        )
    }

    /// `403 Forbidden` for a non-resource path, as the apiserver words it
    /// (`apierrors.NewForbidden` with an empty resource: `forbidden: User "U" cannot VERB path
    /// "P"`, empty details).
    pub(crate) fn forbidden_path(user: &str, verb: &str, path: &str) -> Self {
        Self::new(
            403,
            "Forbidden",
            format!("forbidden: User \"{user}\" cannot {verb} path \"{path}\""),
            Some(json!({})),
        )
    }

    /// `403 Forbidden` with a message and details made elsewhere.
    pub(crate) fn forbidden_raw(message: String, details: Value) -> Self {
        Self::new(403, "Forbidden", message, Some(details))
    }

    /// `403 Forbidden` from an admission plugin.
    pub(crate) fn admission_forbidden(resource: Resource, name: &str, why: &str) -> Self {
        Self::new(
            403,
            "Forbidden",
            format!(
                "{} \"{name}\" is forbidden: {why}",
                resource.qualified_plural()
            ),
            Some(details(resource, Some(name))),
        )
    }

    /// `422 Invalid` for bad request options (`PatchOptions`), e.g. apply without a manager.
    pub(crate) fn invalid_options(field: &str, detail: &str) -> Self {
        let (reason, body) = if detail.starts_with("is required") {
            ("FieldValueRequired", format!("Required value: {detail}"))
        } else {
            ("FieldValueForbidden", format!("Forbidden: {detail}"))
        };
        Self::new(
            422,
            "Invalid",
            format!("PatchOptions.meta.k8s.io \"\" is invalid: {field}: {body}"),
            Some(json!({
                "group": "meta.k8s.io",
                "kind": "PatchOptions",
                "causes": [{"reason": reason, "message": body, "field": field}],
            })),
        )
    }

    /// `422 Invalid` for a JSON patch that does not apply.
    pub(crate) fn invalid_patch(message: String) -> Self {
        Self::new(422, "Invalid", message, None)
    }

    /// `400 BadRequest` with `message`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message.into(), None)
    }

    /// `405 MethodNotAllowed`.
    pub(crate) fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource".to_owned(),
            Some(json!({})),
        )
    }

    /// `415 UnsupportedMediaType` for a body format the fake does not read.
    pub(crate) fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: \
                 application/json-patch+json, application/merge-patch+json, \
                 application/apply-patch+yaml (got {content_type})"
            ),
            None,
        )
    }

    /// `410 Expired` for a watch from a resource version no longer kept.
    pub(crate) fn expired(resource_version: u64, oldest: u64) -> Self {
        Self::new(
            410,
            "Expired",
            format!("too old resource version: {resource_version} ({oldest})"),
            None,
        )
    }
}

fn details(resource: Resource, name: Option<&str>) -> Value {
    let mut details = json!({});
    if let Some(name) = name {
        details["name"] = json!(name);
    }
    if !resource.group().is_empty() {
        details["group"] = json!(resource.group());
    }
    details["kind"] = json!(resource.plural());
    details
}

/// One field validation error, as `field.Error` renders it.
#[derive(Debug, Clone)]
pub(crate) struct FieldError {
    /// The field path, e.g. `metadata.name`.
    pub(crate) field: String,
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueForbidden`, ...
    pub(crate) reason: &'static str,
    /// The bad value, quoted as Go's `%#v` would (strings quoted, numbers bare), or none.
    pub(crate) value: Option<String>,
    /// The explanation.
    pub(crate) detail: String,
}

impl FieldError {
    /// An `Invalid value` error for a string value.
    pub(crate) fn invalid(field: &str, value: &str, detail: &str) -> Self {
        Self {
            field: field.to_owned(),
            reason: "FieldValueInvalid",
            value: Some(format!("{value:?}")),
            detail: detail.to_owned(),
        }
    }

    /// An `Invalid value` error for a number.
    pub(crate) fn invalid_number(field: &str, value: i64, detail: &str) -> Self {
        Self {
            field: field.to_owned(),
            reason: "FieldValueInvalid",
            value: Some(value.to_string()),
            detail: detail.to_owned(),
        }
    }

    /// A `Required value` error.
    pub(crate) fn required(field: &str, detail: &str) -> Self {
        Self {
            field: field.to_owned(),
            reason: "FieldValueRequired",
            value: None,
            detail: detail.to_owned(),
        }
    }

    fn body(&self) -> String {
        match (self.reason, &self.value) {
            ("FieldValueRequired", _) => format!("Required value: {}", self.detail),
            (_, Some(value)) => format!("Invalid value: {value}: {}", self.detail),
            (_, None) => format!("Invalid value: {}", self.detail),
        }
    }

    fn render(&self) -> String {
        format!("{}: {}", self.field, self.body())
    }
}

/// Adds `Warning: 299 - "TEXT"` headers, as the apiserver's warning recorder does
/// (staging/src/k8s.io/apiserver/pkg/endpoints/filters/warning.go, net.NewWarningHeader).
pub(crate) fn with_warnings(
    mut response: Response<StreamBody>,
    warnings: &[String],
) -> Response<StreamBody> {
    for warning in warnings {
        let quoted = warning.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(value) = HeaderValue::from_str(&format!("299 - \"{quoted}\"")) {
            response.headers_mut().append("warning", value);
        }
    }
    response
}

/// A JSON response with the given status.
pub(crate) fn json_response(code: u16, body: &Value) -> Response<StreamBody> {
    bytes_response(
        code,
        "application/json",
        serde_json::to_vec(body).expect("serialize JSON"),
    )
}

/// A response with the given status, content type and body.
pub(crate) fn bytes_response(code: u16, content_type: &str, body: Vec<u8>) -> Response<StreamBody> {
    let mut response = Response::new(Full::new(Bytes::from(body)).boxed());
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("text/plain")),
    );
    response
}
