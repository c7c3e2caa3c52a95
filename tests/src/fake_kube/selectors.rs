//! Label and field selectors, as list and watch filter with them.

use serde_json::Value;

use super::resources::Resource;
use super::status::ApiError;

#[derive(Debug, Clone)]
enum LabelTerm {
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

#[derive(Debug, Clone)]
struct FieldTerm {
    field: String,
    value: String,
    equal: bool,
}

/// A parsed `labelSelector` and `fieldSelector`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selector {
    labels: Vec<LabelTerm>,
    fields: Vec<FieldTerm>,
    /// Whose selectable fields the field terms name.
    resource: Option<Resource>,
}

impl Selector {
    /// Parses the selectors of a list or watch of `resource`.
    pub(crate) fn parse(
        resource: Resource,
        label_selector: Option<&str>,
        field_selector: Option<&str>,
    ) -> Result<Self, ApiError> {
        let mut selector = Self {
            resource: Some(resource),
            ..Self::default()
        };
        if let Some(text) = label_selector.filter(|s| !s.trim().is_empty()) {
            for term in split_terms(text) {
                selector.labels.push(parse_label_term(term.trim())?);
            }
        }
        if let Some(text) = field_selector.filter(|s| !s.trim().is_empty()) {
            for term in text.split(',') {
                let (field, value, equal) = if let Some((f, v)) = term.split_once("!=") {
                    (f, v, false)
                } else if let Some((f, v)) = term.split_once("==") {
                    (f, v, true)
                } else if let Some((f, v)) = term.split_once('=') {
                    (f, v, true)
                } else {
                    return Err(ApiError::bad_request(format!(
                        "invalid selector: '{text}'; can't understand '{term}'"
                    )));
                };
                let field = field.trim();
                if !supported_field(resource, field) {
                    return Err(ApiError::bad_request(format!(
                        "field label not supported: {field}"
                    )));
                }
                selector.fields.push(FieldTerm {
                    field: field.to_owned(),
                    value: value.trim().to_owned(),
                    equal,
                });
            }
        }
        Ok(selector)
    }

    /// Whether there is no selector at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    /// Whether `object` matches.
    pub(crate) fn matches(&self, object: &Value) -> bool {
        let labels = object
            .pointer("/metadata/labels")
            .and_then(Value::as_object);
        let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
        let labels_match = self.labels.iter().all(|term| match term {
            LabelTerm::Exists(key) => label(key).is_some(),
            LabelTerm::NotExists(key) => label(key).is_none(),
            LabelTerm::In(key, values) => label(key).is_some_and(|v| values.iter().any(|x| x == v)),
            LabelTerm::NotIn(key, values) => {
                label(key).is_none_or(|v| !values.iter().any(|x| x == v))
            }
        });
        labels_match
            && self.fields.iter().all(|term| {
                let actual = field_value(self.resource, object, &term.field);
                (actual == term.value) == term.equal
            })
    }
}

fn supported_field(resource: Resource, field: &str) -> bool {
    matches!(field, "metadata.name" | "metadata.namespace")
        || (resource == Resource::Pod
            && matches!(
                field,
                "spec.serviceAccountName"
                    | "spec.nodeName"
                    | "spec.restartPolicy"
                    | "spec.schedulerName"
                    | "status.phase"
                    | "status.podIP"
                    | "status.nominatedNodeName"
            ))
        || (resource == Resource::Namespace && field == "status.phase")
        // pkg/registry/apps/replicaset/strategy.go `ReplicaSetToSelectableFields`.
        || (resource == Resource::ReplicaSet && field == "status.replicas")
        || (resource == Resource::Event && EVENT_FIELDS.contains(&field))
        || (resource == Resource::EventV1 && event_v1_field(field).is_some())
}

/// The selectable fields of a core/v1 event, from `ToSelectableFields` in
/// kubernetes/kubernetes pkg/registry/core/event/strategy.go.
const EVENT_FIELDS: [&str; 11] = [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

/// The core/v1 field an events.k8s.io/v1 field selector names: the label conversion of
/// kubernetes/kubernetes pkg/apis/events/v1/conversion.go (`regarding.*` is `involvedObject.*`,
/// `reportingController` is `reportingComponent`, `deprecatedSource` is `source`).
pub(crate) fn event_v1_field(field: &str) -> Option<String> {
    if let Some(rest) = field.strip_prefix("regarding.") {
        let core = format!("involvedObject.{rest}");
        return EVENT_FIELDS.contains(&core.as_str()).then_some(core);
    }
    match field {
        "reason" | "type" => Some(field.to_owned()),
        "reportingController" => Some("reportingComponent".to_owned()),
        "deprecatedSource" => Some("source".to_owned()),
        _ => None,
    }
}

fn field_value(resource: Option<Resource>, object: &Value, field: &str) -> String {
    if resource == Some(Resource::EventV1)
        && let Some(core) = event_v1_field(field)
    {
        return field_value(Some(Resource::Event), object, &core);
    }
    if matches!(resource, Some(Resource::Event)) {
        // `source` is the source component, else the reporting controller (strategy.go).
        let component = |o: &Value| {
            let source = super::state::str_at(o, "/source/component");
            if source.is_empty() {
                super::state::str_at(o, "/reportingComponent").to_owned()
            } else {
                source.to_owned()
            }
        };
        if field == "source" {
            return component(object);
        }
    }
    let pointer = format!("/{}", field.replace('.', "/"));
    match object.pointer(&pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// Whether a `metav1.LabelSelector` (`matchLabels`, `matchExpressions` with `In`, `NotIn`,
/// `Exists`, `DoesNotExist`) selects `labels`; an empty selector selects everything
/// (apimachinery pkg/apis/meta/v1/helpers.go `LabelSelectorAsSelector`).
pub(crate) fn label_selector_matches(
    selector: &Value,
    labels: &serde_json::Map<String, Value>,
) -> bool {
    let label = |key: &str| labels.get(key).and_then(Value::as_str);
    let match_labels = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .all(|(k, v)| label(k) == v.as_str());
    let expressions = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e["key"].as_str().unwrap_or("");
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            match e["operator"].as_str().unwrap_or("") {
                "In" => label(key).is_some_and(|v| values.contains(&v)),
                "NotIn" => label(key).is_none_or(|v| !values.contains(&v)),
                "Exists" => label(key).is_some(),
                "DoesNotExist" => label(key).is_none(),
                _ => false,
            }
        });
    match_labels && expressions
}

/// Splits on commas outside parentheses.
fn split_terms(text: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                terms.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&text[start..]);
    terms
}

fn parse_label_term(term: &str) -> Result<LabelTerm, ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "unable to parse requirement: invalid label selector: {term}"
        ))
    };
    if let Some(key) = term.strip_prefix('!') {
        return Ok(LabelTerm::NotExists(key.trim().to_owned()));
    }
    if let Some((key, value)) = term.split_once("!=") {
        return Ok(LabelTerm::NotIn(
            key.trim().to_owned(),
            vec![value.trim().to_owned()],
        ));
    }
    if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
        return Ok(LabelTerm::In(
            key.trim().to_owned(),
            vec![value.trim().to_owned()],
        ));
    }
    for (word, not) in [(" notin ", true), (" in ", false)] {
        if let Some((key, rest)) = term.split_once(word) {
            let inner = rest
                .trim()
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(bad)?;
            let values = inner.split(',').map(|v| v.trim().to_owned()).collect();
            let key = key.trim().to_owned();
            return Ok(if not {
                LabelTerm::NotIn(key, values)
            } else {
                LabelTerm::In(key, values)
            });
        }
    }
    if term.is_empty() || term.contains(' ') {
        return Err(bad());
    }
    Ok(LabelTerm::Exists(term.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects() {
        let pod = json!({"metadata": {"name": "p", "labels": {"app": "x"}}, "spec": {"serviceAccountName": "sa"}});
        let s = |l: Option<&str>, f: Option<&str>| Selector::parse(Resource::Pod, l, f).unwrap();
        assert!(s(Some("app=x"), Some("spec.serviceAccountName=sa")).matches(&pod));
        assert!(!s(Some("app in (y,z)"), None).matches(&pod));
        assert!(s(Some("app notin (y,z),!tier"), None).matches(&pod));
        assert!(!s(None, Some("metadata.name!=p")).matches(&pod));
        assert!(Selector::parse(Resource::ServiceAccount, None, Some("spec.x=1")).is_err());
    }
}
