//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`: the server-side printing kubectl
//! asks for, with the columns the apiserver prints.

use serde_json::{Value, json};

use super::resources::Resource;
use super::state::str_at;

pub(crate) fn column(
    name: &str,
    kind: &str,
    format: &str,
    description: &str,
    priority: u8,
) -> Value {
    json!({"name": name, "type": kind, "format": format, "description": description, "priority": priority})
}

fn columns(resource: Resource) -> Vec<Value> {
    let name = column(
        "Name",
        "string",
        "name",
        "Name must be unique within a namespace.",
        0,
    );
    let age = column(
        "Age",
        "string",
        "",
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
        0,
    );
    match resource {
        Resource::ServiceAccount => vec![
            name,
            column(
                "Secrets",
                "integer",
                "",
                "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
                0,
            ),
            age,
        ],
        Resource::Namespace => vec![
            name,
            column("Status", "string", "", "The status of the namespace", 0),
            age,
        ],
        Resource::Pod => super::pod_table::columns(name, age),
        Resource::MutatingWebhookConfiguration => vec![
            name,
            column(
                "Webhooks",
                "integer",
                "",
                "Webhooks indicates the number of webhooks in the configuration.",
                0,
            ),
            age,
        ],
        Resource::Event | Resource::EventV1 => event_columns(),
        Resource::ResourceQuota => quota_columns(name, age),
        apps if apps.is_apps() => super::workload_table::columns(apps, name, age),
        _ => vec![name, column("Created At", "date", "", "", 0)],
    }
}

/// The quota columns of `AddHandlers` in printers.go.
fn quota_columns(name: Value, age: Value) -> Vec<Value> {
    vec![
        name,
        age,
        column(
            "Request",
            "string",
            "",
            "Request represents a minimum amount of cpu/memory that a container may consume.",
            0,
        ),
        column(
            "Limit",
            "string",
            "",
            "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
            0,
        ),
    ]
}

/// The event columns of `AddHandlers` in kubernetes/kubernetes
/// pkg/printers/internalversion/printers.go (the apiserver prints them all, `Wide`).
fn event_columns() -> Vec<Value> {
    [
        ("Last Seen", "", 0),
        ("Type", "", 0),
        ("Reason", "", 0),
        ("Object", "", 0),
        ("Subobject", "", 1),
        ("Source", "", 1),
        ("Message", "", 0),
        ("First Seen", "", 1),
        ("Count", "", 1),
        ("Name", "name", 1),
    ]
    .into_iter()
    .map(|(name, format, priority)| column(name, "string", format, "", priority))
    .collect()
}

/// An event's row, as `printEvent` (printers.go) writes it.
fn event_cells(event: &Value) -> Vec<Value> {
    let first = match event.get("firstTimestamp").and_then(Value::as_str) {
        Some(at) => age(at),
        None => age(str_at(event, "/eventTime")),
    };
    let mut last = match event.get("lastTimestamp").and_then(Value::as_str) {
        Some(at) => age(at),
        None => first.clone(),
    };
    let mut count = event.get("count").and_then(Value::as_i64).unwrap_or(0);
    if let Some(series) = event.get("series").filter(|s| s.is_object()) {
        last = age(str_at(series, "/lastObservedTime"));
        count = series["count"].as_i64().unwrap_or(count);
    } else if count == 0 {
        count = 1;
    }
    let kind = str_at(event, "/involvedObject/kind").to_lowercase();
    let name = str_at(event, "/involvedObject/name");
    let target = if name.is_empty() {
        kind
    } else {
        format!("{kind}/{name}")
    };
    vec![
        json!(last),
        json!(str_at(event, "/type")),
        json!(str_at(event, "/reason")),
        json!(target),
        json!(str_at(event, "/involvedObject/fieldPath")),
        json!(event_source(event)),
        json!(str_at(event, "/message").trim()),
        json!(first),
        json!(count),
        json!(str_at(event, "/metadata/name")),
    ]
}

/// `formatEventSource` (printers.go): `component, host`, else the reporting controller and
/// instance.
fn event_source(event: &Value) -> String {
    let component = str_at(event, "/source/component");
    let host = str_at(event, "/source/host");
    let (first, second) = if component.is_empty() {
        (
            str_at(event, "/reportingComponent"),
            str_at(event, "/reportingInstance"),
        )
    } else {
        (component, host)
    };
    if second.is_empty() {
        first.to_owned()
    } else {
        format!("{first}, {second}")
    }
}

/// A quota's `Request` and `Limit` cells, as `printResourceQuota` (printers.go) writes them.
fn quota_cells(quota: &Value) -> (String, String) {
    let empty = serde_json::Map::new();
    let hard = quota
        .pointer("/status/hard")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut names: Vec<&String> = hard.keys().collect();
    names.sort();
    let (mut requests, mut limits) = (Vec::new(), Vec::new());
    for name in names {
        let used = quota
            .pointer(&format!("/status/used/{name}"))
            .and_then(Value::as_str)
            .unwrap_or("0");
        let cell = format!("{name}: {used}/{}", hard[name].as_str().unwrap_or(""));
        if name.split('.').next() == Some("limits") && name.contains('.') {
            limits.push(cell);
        } else {
            requests.push(cell);
        }
    }
    (requests.join(", "), limits.join(", "))
}

fn cells(resource: Resource, object: &Value) -> Vec<Value> {
    let name = json!(str_at(object, "/metadata/name"));
    let created = str_at(object, "/metadata/creationTimestamp");
    let age = json!(age(created));
    match resource {
        Resource::ServiceAccount => {
            let secrets = object
                .get("secrets")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            vec![name, json!(secrets), age]
        }
        Resource::Namespace => vec![name, json!(str_at(object, "/status/phase")), age],
        Resource::Pod => {
            let mut cells = super::pod_table::cells(object);
            cells.insert(0, name);
            cells.insert(4, age);
            cells
        }
        Resource::MutatingWebhookConfiguration => {
            let hooks = object
                .get("webhooks")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            vec![name, json!(hooks), age]
        }
        Resource::Event | Resource::EventV1 => event_cells(object),
        Resource::ResourceQuota => {
            let (requests, limits) = quota_cells(object);
            vec![name, age, json!(requests), json!(limits)]
        }
        apps if apps.is_apps() => super::workload_table::cells(apps, object),
        _ => vec![name, json!(created)],
    }
}

/// A `Table` of `objects`; rows carry `PartialObjectMetadata` unless `includeObject` says
/// `Object` or `None`.
pub(crate) fn table(
    resource: Resource,
    objects: &[&Value],
    list_meta: Value,
    include: Option<&str>,
) -> Value {
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let mut row = json!({"cells": cells(resource, object)});
            match include {
                Some("None") => {}
                Some("Object") => row["object"] = (*object).clone(),
                _ => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": object["metadata"],
                    })
                }
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": columns(resource),
        "rows": rows,
    })
}

/// The age of an RFC 3339 timestamp, as `kubectl get` prints it (`HumanDuration`).
pub(crate) fn age(created: &str) -> String {
    let Ok(at) =
        time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
    else {
        return "<unknown>".to_owned();
    };
    let seconds = (time::OffsetDateTime::now_utc() - at)
        .whole_seconds()
        .max(0);
    human_duration(seconds)
}

fn human_duration(seconds: i64) -> String {
    let (minutes, hours) = (seconds / 60, seconds / 3600);
    if seconds < 120 {
        format!("{seconds}s")
    } else if minutes < 10 {
        if seconds % 60 == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{}s", seconds % 60)
        }
    } else if minutes < 180 {
        format!("{minutes}m")
    } else if hours < 8 {
        if minutes % 60 == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{}m", minutes % 60)
        }
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        if hours % 24 == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{}h", hours / 24, hours % 24)
        }
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        let days = hours / 24 % 365;
        if days == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{days}d", hours / 24 / 365)
        }
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn ages() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(185), "3m5s");
        assert_eq!(human_duration(3600 * 3 + 60), "3h1m");
        assert_eq!(human_duration(86400 * 3), "3d");
    }
}
