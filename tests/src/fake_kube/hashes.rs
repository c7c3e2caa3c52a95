//! The hashes controllers name ReplicaSets and ControllerRevisions with, and label pods with.
//!
//! Sources, in kubernetes/kubernetes: pkg/controller/controller_utils.go (`ComputeHash`: FNV-1a
//! 32 over `hashutil.DeepHashObject` of the pod template, then the collision count as 8 little
//! endian bytes, then `rand.SafeEncodeString` of the decimal sum), pkg/controller/history/
//! controller_history.go (`HashControllerRevision`: FNV-1 32 over the revision's raw data, then
//! the probe in decimal, then `SafeEncodeString`), and staging/src/k8s.io/apimachinery/pkg/util/
//! rand/rand.go (`SafeEncodeString` and its alphabet).
//!
//! `DeepHashObject` hashes the `spew` dump of the Go struct, which JSON cannot reproduce: the
//! fake's [`template_hash`] hashes the template's JSON with sorted keys instead (a stable stand-in
//! with the same shape and alphabet, so `NAME-HASH` looks and behaves as on a cluster, but the
//! value differs). [`revision_hash`] is the real algorithm: a StatefulSet's revision data is
//! Go's `json.Marshal` of a map (sorted keys), which [`go_json`] writes.

use serde_json::Value;

/// The alphabet of `rand.SafeEncodeString` (no vowels, no 0, 1 or 3).
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `rand.SafeEncodeString`: each character mapped into [`ALPHANUMS`].
pub(crate) fn safe_encode(text: &str) -> String {
    text.chars()
        .map(|c| ALPHANUMS[(c as usize) % ALPHANUMS.len()] as char)
        .collect()
}

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// FNV-1a, 32 bits (Go's `fnv.New32a`).
fn fnv1a(data: &[u8]) -> u32 {
    data.iter().fold(FNV_OFFSET, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(FNV_PRIME)
    })
}

/// FNV-1, 32 bits (Go's `fnv.New32`).
fn fnv1(data: &[u8]) -> u32 {
    data.iter().fold(FNV_OFFSET, |hash, byte| {
        hash.wrapping_mul(FNV_PRIME) ^ u32::from(*byte)
    })
}

/// The `pod-template-hash` of a Deployment's template (and a DaemonSet's revision), as
/// `ComputeHash` shapes it; the template is hashed as sorted JSON (see the module header).
pub(crate) fn template_hash(template: &Value, collision_count: Option<u32>) -> String {
    let mut data = go_json(template).into_bytes();
    if let Some(count) = collision_count {
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&count.to_le_bytes());
        data.extend_from_slice(&bytes);
    }
    safe_encode(&fnv1a(&data).to_string())
}

/// `HashControllerRevision` of a revision whose raw data is `data`, probed with `probe` (the
/// StatefulSet's collision count).
pub(crate) fn revision_hash(data: &str, probe: Option<i64>) -> String {
    let mut bytes = data.as_bytes().to_vec();
    if let Some(probe) = probe {
        bytes.extend_from_slice(probe.to_string().as_bytes());
    }
    safe_encode(&fnv1(&bytes).to_string())
}

/// Go's `json.Marshal` of a decoded document: compact, object keys sorted, and `<`, `>`, `&`,
/// U+2028 and U+2029 escaped as `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`.
pub(crate) fn go_json(value: &Value) -> String {
    let mut out = String::new();
    write_go_json(value, &mut out);
    out
}

fn write_go_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(key, out);
                out.push(':');
                write_go_json(&map[key.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(item, out);
            }
            out.push(']');
        }
        Value::String(text) => write_go_string(text, out),
        other => out.push_str(&other.to_string()),
    }
}

fn write_go_string(text: &str, out: &mut String) {
    let quoted = serde_json::to_string(text).expect("serialize a string");
    for c in quoted.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_encodings() {
        // Digits map to 4-9 and b, c, d, f: the look of every pod-template-hash.
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
        assert_eq!(fnv1(b"a"), 0x050c_5d7e);
        assert_eq!(
            go_json(&json!({"b": [1, "<x>"], "a": {"d": null, "c": true}})),
            r#"{"a":{"c":true,"d":null},"b":[1,"\u003cx\u003e"]}"#
        );
        let hash = template_hash(&json!({"metadata": {"labels": {"app": "web"}}}), None);
        assert!(hash.chars().all(|c| "456789bcdf".contains(c)), "{hash}");
        assert_ne!(
            hash,
            template_hash(&json!({"metadata": {"labels": {"app": "web"}}}), Some(1))
        );
    }
}
