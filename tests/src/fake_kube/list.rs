//! `GET` of a collection: label and field selectors, `limit` and `continue` pagination in key
//! order as etcd gives it, `Table`s, and list items written without their kind.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::resources::Resource;
use super::router::{Req, Target};
use super::selectors::Selector;
use super::state::{Shared, str_at};
use super::status::{ApiError, Reply, json_response};
use super::table;

/// `GET` of a collection: `limit` and `continue` paginate in key order, like etcd.
pub(crate) fn list(shared: &Shared, req: &Req, target: &Target) -> Reply {
    let selector = Selector::parse(
        target.resource,
        req.param("labelSelector"),
        req.param("fieldSelector"),
    )?;
    let limit: usize = req.param("limit").and_then(|l| l.parse().ok()).unwrap_or(0);
    let namespace = target.namespace.as_deref();
    let prefix = namespace.map(|ns| format!("{ns}/")).unwrap_or_default();
    let store = shared.store();
    let start = match req.param("continue").filter(|c| !c.is_empty()) {
        Some(token) => Some(format!("{prefix}{}", decode_continue(token)?)),
        None => None,
    };
    let mut page: Vec<&Value> = Vec::new();
    let mut last_key = None;
    let mut remaining = 0usize;
    let filtered = !selector.is_empty();
    for (key, object) in store.range(target.resource.storage(), namespace, start.as_deref()) {
        if filtered && !selector.matches(object) {
            continue;
        }
        if limit == 0 || page.len() < limit {
            page.push(object);
            last_key = Some(key);
        } else {
            remaining += 1;
            if filtered {
                break;
            }
        }
    }
    let rv = store.rv();
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if remaining > 0 {
        let last = last_key
            .map(|k| k.strip_prefix(&prefix).unwrap_or(k))
            .unwrap_or("");
        meta["continue"] = json!(encode_continue(rv, last));
        if selector.is_empty() {
            meta["remainingItemCount"] = json!(remaining);
        }
    }
    if req.wants_table() {
        return Ok(json_response(
            200,
            &table::table(target.resource, &page, meta, req.param("includeObject")),
        ));
    }
    let list = json!({
        "kind": format!("{}List", target.resource.kind()),
        "apiVersion": target.resource.api_version(),
        "metadata": meta,
        "items": [],
    });
    list_response(target.resource, list, &page)
}

/// A list whose items (stored with apiVersion and kind) are written without them, as the
/// apiserver writes list items, and without copying them.
fn list_response(resource: Resource, mut list: Value, items: &[&Value]) -> super::status::Reply {
    if resource != resource.storage() {
        let shown: Vec<Value> = items
            .iter()
            .map(|o| resource.present(o).into_owned())
            .collect();
        let shown: Vec<&Value> = shown.iter().collect();
        return list_response(resource.storage(), list, &shown);
    }
    struct Item<'a>(&'a Value);
    impl serde::Serialize for Item<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap as _;
            let Value::Object(map) = self.0 else {
                return self.0.serialize(serializer);
            };
            let mut out = serializer.serialize_map(None)?;
            for (key, value) in map
                .iter()
                .filter(|(k, _)| *k != "apiVersion" && *k != "kind")
            {
                out.serialize_entry(key, value)?;
            }
            out.end()
        }
    }
    if let Some(map) = list.as_object_mut() {
        map.shift_remove("items");
    }
    let mut body = serde_json::to_vec(&list).expect("serialize a list");
    body.pop(); // The closing brace.
    body.extend_from_slice(b",\"items\":");
    let items: Vec<Item<'_>> = items.iter().map(|v| Item(v)).collect();
    serde_json::to_writer(&mut body, &items).expect("serialize list items");
    body.push(b'}');
    Ok(super::status::bytes_response(200, "application/json", body))
}

fn encode_continue(rv: u64, last_key: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{last_key}\u{0}")});
    URL_SAFE_NO_PAD.encode(token.to_string())
}

fn decode_continue(token: &str) -> Result<String, ApiError> {
    let invalid = |why: &str| ApiError::bad_request(format!("continue key is not valid: {why}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| invalid("incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|_| invalid("invalid continue token"))?;
    if str_at(&value, "/v") != "meta.k8s.io/v1" {
        return Err(invalid("server does not recognize this encoded key"));
    }
    let start = str_at(&value, "/start");
    if start.is_empty() || start.contains("..") {
        return Err(invalid("continue key is not valid"));
    }
    Ok(start.to_owned())
}
