//! Object validation, with the apiserver's field paths and messages.

use serde_json::Value;

use super::resources::Resource;
use super::status::FieldError;

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case \
alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. \
'example.com', regex used for validation is \
'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric \
characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or \
'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

const NAME_PART_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', \
and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or \
'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric \
characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. \
'MyValue',  or 'my_value',  or '12345', regex used for validation is \
'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/// Whether `s` is a DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub(crate) fn is_dns_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// Whether `s` is a DNS-1123 subdomain: dot-separated labels, at most 253 characters.
pub(crate) fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            let bytes = label.as_bytes();
            !bytes.is_empty()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
                && bytes[0] != b'-'
                && bytes[bytes.len() - 1] != b'-'
        })
}

fn subdomain_errors(value: &str) -> Vec<&'static str> {
    let mut errors = Vec::new();
    if value.len() > 253 {
        errors.push("must be no more than 253 characters");
    }
    if !is_dns_subdomain(&value[..value.len().min(253)]) || value.is_empty() {
        errors.push(SUBDOMAIN_MSG);
    }
    errors
}

fn label_errors(value: &str) -> Vec<&'static str> {
    let mut errors = Vec::new();
    if value.len() > 63 {
        errors.push("must be no more than 63 characters");
    }
    if !is_dns_label(&value[..value.len().min(63)]) || value.is_empty() {
        errors.push(LABEL_MSG);
    }
    errors
}

fn is_name_part(s: &str) -> bool {
    let bytes = s.as_bytes();
    let alnum = |b: &u8| b.is_ascii_alphanumeric();
    !bytes.is_empty()
        && alnum(&bytes[0])
        && alnum(&bytes[bytes.len() - 1])
        && bytes
            .iter()
            .all(|b| alnum(b) || matches!(b, b'-' | b'_' | b'.'))
}

/// Errors for a qualified name (`[prefix/]name`), as `IsQualifiedName` words them.
fn qualified_name_errors(key: &str) -> Vec<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) if !name.contains('/') => (Some(prefix), name),
        Some(_) => {
            return vec![format!(
                "a qualified name {NAME_PART_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            )];
        }
        None => (None, key),
    };
    let mut errors = Vec::new();
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            errors.push("prefix part must be non-empty".to_owned());
        } else {
            errors.extend(
                subdomain_errors(prefix)
                    .into_iter()
                    .map(|e| format!("prefix part {e}")),
            );
        }
    }
    if name.is_empty() {
        errors.push("name part must be non-empty".to_owned());
    } else if name.len() > 63 {
        errors.push("name part must be no more than 63 characters".to_owned());
    }
    if !name.is_empty() && !is_name_part(name) {
        errors.push(NAME_PART_MSG.to_owned());
    }
    errors
}

/// Validates a complete object of `resource`; empty when valid.
pub(crate) fn validate(resource: Resource, object: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if name.is_empty() {
        errors.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        let problems = if resource == Resource::Namespace {
            label_errors(name)
        } else {
            subdomain_errors(name)
        };
        errors.extend(
            problems
                .into_iter()
                .map(|p| FieldError::invalid("metadata.name", name, p)),
        );
    }
    if let Some(annotations) = object
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    {
        for key in annotations.keys() {
            for problem in qualified_name_errors(&key.to_lowercase()) {
                errors.push(FieldError::invalid("metadata.annotations", key, &problem));
            }
        }
    }
    if let Some(labels) = object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
    {
        for (key, value) in labels {
            for problem in qualified_name_errors(key) {
                errors.push(FieldError::invalid("metadata.labels", key, &problem));
            }
            let value = value.as_str().unwrap_or("");
            if value.len() > 63 {
                errors.push(FieldError::invalid(
                    "metadata.labels",
                    value,
                    "must be no more than 63 characters",
                ));
            }
            if !value.is_empty() && !is_name_part(value) {
                errors.push(FieldError::invalid(
                    "metadata.labels",
                    value,
                    LABEL_VALUE_MSG,
                ));
            }
        }
    }
    if resource == Resource::Pod {
        let containers = object.pointer("/spec/containers").and_then(Value::as_array);
        match containers {
            None => errors.push(FieldError::required("spec.containers", "")),
            Some(list) if list.is_empty() => {
                errors.push(FieldError::required("spec.containers", ""))
            }
            Some(list) => {
                for (i, container) in list.iter().enumerate() {
                    if container
                        .get("image")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .is_empty()
                    {
                        errors.push(FieldError::required(
                            &format!("spec.containers[{i}].image"),
                            "",
                        ));
                    }
                    let cname = container.get("name").and_then(Value::as_str).unwrap_or("");
                    if cname.is_empty() {
                        errors.push(FieldError::required(
                            &format!("spec.containers[{i}].name"),
                            "",
                        ));
                    } else if !is_dns_label(cname) {
                        errors.push(FieldError::invalid(
                            &format!("spec.containers[{i}].name"),
                            cname,
                            LABEL_MSG,
                        ));
                    }
                }
            }
        }
    }
    errors
}

/// Checks that annotations and labels, when present, are maps of strings; returns the
/// decoding error the apiserver would report otherwise.
pub(crate) fn check_string_maps(object: &Value) -> Result<(), String> {
    for field in ["annotations", "labels"] {
        match object.pointer(&format!("/metadata/{field}")) {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                if let Some((_, value)) = map.iter().find(|(_, v)| !v.is_string()) {
                    return Err(format!(
                        "json: cannot unmarshal {} into Go struct field ObjectMeta.metadata.{field} of type string",
                        go_type(value)
                    ));
                }
            }
            Some(other) => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go struct field ObjectMeta.metadata.{field} of type map[string]string",
                    go_type(other)
                ));
            }
        }
    }
    Ok(())
}

fn go_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_dns_label("team-a"));
        assert!(!is_dns_label("Team"));
        assert!(!is_dns_label("a.b"));
        assert!(is_dns_subdomain("a.b-c"));
        assert!(!is_dns_subdomain("Bad_Name"));
        assert!(qualified_name_errors("eks.amazonaws.com/role-arn").is_empty());
        assert_eq!(qualified_name_errors("bad key").len(), 1);
        assert_eq!(qualified_name_errors("a/b/c").len(), 1);
    }
}
