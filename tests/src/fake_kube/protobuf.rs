//! Just enough of the Kubernetes protobuf encoding to read the create bodies kubectl sends as
//! protobuf (`create namespace`, `create serviceaccount`, `create token`): the `k8s\0`
//! envelope (`runtime.Unknown`), `ObjectMeta` names, labels and annotations, and a
//! TokenRequest's spec. Anything else is refused (the caller answers 415).

use serde_json::{Map, Value, json};

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The fields of one message, in order.
fn fields(data: &[u8]) -> Option<Vec<(u64, Field<'_>)>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < data.len() {
        let tag = varint(data, &mut pos)?;
        let field = match tag & 7 {
            0 => Field::Varint(varint(data, &mut pos)?),
            1 => {
                pos += 8;
                continue;
            }
            2 => {
                let len = usize::try_from(varint(data, &mut pos)?).ok()?;
                let bytes = data.get(pos..pos.checked_add(len)?)?;
                pos += len;
                Field::Bytes(bytes)
            }
            5 => {
                pos += 4;
                continue;
            }
            _ => return None,
        };
        out.push((tag >> 3, field));
    }
    Some(out)
}

fn string(bytes: &[u8]) -> Option<String> {
    String::from_utf8(bytes.to_vec()).ok()
}

fn string_map(entries: &[&[u8]]) -> Option<Value> {
    let mut map = Map::new();
    for entry in entries {
        let (mut key, mut value) = (String::new(), String::new());
        for (number, field) in fields(entry)? {
            match (number, field) {
                (1, Field::Bytes(b)) => key = string(b)?,
                (2, Field::Bytes(b)) => value = string(b)?,
                _ => {}
            }
        }
        map.insert(key, json!(value));
    }
    Some(Value::Object(map))
}

fn object_meta(data: &[u8]) -> Option<Value> {
    let mut meta = Map::new();
    let (mut labels, mut annotations) = (Vec::new(), Vec::new());
    for (number, field) in fields(data)? {
        match (number, field) {
            (1, Field::Bytes(b)) if !b.is_empty() => {
                meta.insert("name".to_owned(), json!(string(b)?));
            }
            (2, Field::Bytes(b)) if !b.is_empty() => {
                meta.insert("generateName".to_owned(), json!(string(b)?));
            }
            (3, Field::Bytes(b)) if !b.is_empty() => {
                meta.insert("namespace".to_owned(), json!(string(b)?));
            }
            (11, Field::Bytes(b)) => labels.push(b),
            (12, Field::Bytes(b)) => annotations.push(b),
            _ => {}
        }
    }
    if !labels.is_empty() {
        meta.insert("labels".to_owned(), string_map(&labels)?);
    }
    if !annotations.is_empty() {
        meta.insert("annotations".to_owned(), string_map(&annotations)?);
    }
    Some(Value::Object(meta))
}

fn token_request_spec(data: &[u8]) -> Option<Value> {
    let mut audiences = Vec::new();
    let mut spec = Map::new();
    for (number, field) in fields(data)? {
        match (number, field) {
            (1, Field::Bytes(b)) => audiences.push(json!(string(b)?)),
            (3, Field::Bytes(b)) => {
                let mut reference = Map::new();
                for (n, f) in fields(b)? {
                    let key = match n {
                        1 => "kind",
                        2 => "apiVersion",
                        3 => "name",
                        4 => "uid",
                        _ => continue,
                    };
                    if let Field::Bytes(v) = f {
                        reference.insert(key.to_owned(), json!(string(v)?));
                    }
                }
                spec.insert("boundObjectRef".to_owned(), Value::Object(reference));
            }
            (4, Field::Varint(seconds)) => {
                spec.insert("expirationSeconds".to_owned(), json!(seconds as i64));
            }
            _ => {}
        }
    }
    spec.insert("audiences".to_owned(), Value::Array(audiences));
    Some(Value::Object(spec))
}

/// `SelfSubjectAccessReviewSpec`: `resourceAttributes` (1) and `nonResourceAttributes` (2)
/// (k8s.io/api authorization/v1 generated.proto).
fn access_review_spec(data: &[u8]) -> Option<Value> {
    let mut spec = Map::new();
    for (number, field) in fields(data)? {
        let (name, keys): (&str, &[&str]) = match number {
            1 => (
                "resourceAttributes",
                &[
                    "namespace",
                    "verb",
                    "group",
                    "version",
                    "resource",
                    "subresource",
                    "name",
                ],
            ),
            2 => ("nonResourceAttributes", &["path", "verb"]),
            _ => continue,
        };
        let Field::Bytes(b) = field else {
            continue;
        };
        let mut attributes = Map::new();
        for (n, f) in fields(b)? {
            let key = usize::try_from(n)
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| keys.get(i));
            if let (Some(key), Field::Bytes(v)) = (key, f) {
                attributes.insert((*key).to_owned(), json!(string(v)?));
            }
        }
        spec.insert(name.to_owned(), Value::Object(attributes));
    }
    Some(Value::Object(spec))
}

/// Decodes a `k8s\0`-framed protobuf body of a Namespace, ServiceAccount, TokenRequest,
/// SelfSubjectReview or SelfSubjectAccessReview into the equivalent JSON object (the fields
/// the fake uses).
pub(crate) fn decode(body: &[u8]) -> Option<Value> {
    let unknown = body.strip_prefix(b"k8s\0")?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), None);
    for (number, field) in fields(unknown)? {
        match (number, field) {
            (1, Field::Bytes(type_meta)) => {
                for (n, f) in fields(type_meta)? {
                    match (n, f) {
                        (1, Field::Bytes(b)) => api_version = string(b)?,
                        (2, Field::Bytes(b)) => kind = string(b)?,
                        _ => {}
                    }
                }
            }
            (2, Field::Bytes(b)) => raw = Some(b),
            _ => {}
        }
    }
    let mut object = Map::new();
    object.insert("apiVersion".to_owned(), json!(api_version));
    object.insert("kind".to_owned(), json!(kind));
    object.insert("metadata".to_owned(), json!({}));
    for (number, field) in fields(raw?)? {
        match (kind.as_str(), number, field) {
            (_, 1, Field::Bytes(b)) => {
                object.insert("metadata".to_owned(), object_meta(b)?);
            }
            ("TokenRequest", 2, Field::Bytes(b)) => {
                object.insert("spec".to_owned(), token_request_spec(b)?);
            }
            ("ServiceAccount", 4, Field::Varint(v)) => {
                object.insert("automountServiceAccountToken".to_owned(), json!(v != 0));
            }
            ("SelfSubjectAccessReview", 2, Field::Bytes(b)) => {
                object.insert("spec".to_owned(), access_review_spec(b)?);
            }
            (
                "Namespace"
                | "ServiceAccount"
                | "TokenRequest"
                | "SelfSubjectReview"
                | "SelfSubjectAccessReview",
                _,
                _,
            ) => {}
            _ => return None,
        }
    }
    Some(Value::Object(object))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_kubectl_sends() {
        let namespace = b"k8s\x00\n\x0f\n\x02v1\x12\tNamespace\x12\x1b\n\x13\n\x03foo\x12\x00\x1a\x00\"\x00*\x002\x008\x00B\x00\x12\x00\x1a\x02\n\x00\x1a\x00\"\x00";
        let value = decode(namespace).unwrap();
        assert_eq!(value["kind"], "Namespace");
        assert_eq!(value["metadata"]["name"], "foo");
        let token = b"k8s\x00\n(\n\x18authentication.k8s.io/v1\x12\x0cTokenRequest\x12 \n\x10\n\x00\x12\x00\x1a\x00\"\x00*\x002\x008\x00B\x00\x12\x06\n\x01a \x90\x1c\x1a\x04\n\x00\x12\x00\x1a\x00\"\x00";
        let value = decode(token).unwrap();
        assert_eq!(value["spec"]["audiences"], json!(["a"]));
        assert_eq!(value["spec"]["expirationSeconds"], 3600);
    }
}
