//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`: the server-side printing kubectl
//! asks for, with the columns the apiserver prints.

use serde_json::{Value, json};

use super::resources::Resource;
use super::state::str_at;

fn column(name: &str, kind: &str, format: &str, description: &str, priority: u8) -> Value {
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
        Resource::Pod => vec![
            name,
            column(
                "Ready",
                "string",
                "",
                "The aggregate readiness state of this pod for accepting traffic.",
                0,
            ),
            column(
                "Status",
                "string",
                "",
                "The aggregate status of the containers in this pod.",
                0,
            ),
            column(
                "Restarts",
                "string",
                "",
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
                0,
            ),
            age,
            column("IP", "string", "", "The IP address assigned to this pod", 1),
            column(
                "Node",
                "string",
                "",
                "The name of the node this pod is running on",
                1,
            ),
            column(
                "Nominated Node",
                "string",
                "",
                "The name of the node where this pod is nominated to run",
                1,
            ),
            column(
                "Readiness Gates",
                "string",
                "",
                "The readiness gates of this pod",
                1,
            ),
        ],
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
        _ => vec![name, column("Created At", "date", "", "", 0)],
    }
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
            let statuses = object
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array);
            let total = object
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let ready = statuses.map_or(0, |s| {
                s.iter().filter(|c| c["ready"] == json!(true)).count()
            });
            let waiting = str_at(object, "/status/containerStatuses/0/state/waiting/reason");
            let terminated = str_at(
                object,
                "/status/containerStatuses/0/state/terminated/reason",
            );
            let status = if object.pointer("/metadata/deletionTimestamp").is_some() {
                "Terminating"
            } else if !waiting.is_empty() {
                waiting
            } else if !terminated.is_empty() {
                terminated
            } else {
                str_at(object, "/status/phase")
            };
            let ip = str_at(object, "/status/podIP");
            let node = str_at(object, "/spec/nodeName");
            vec![
                name,
                json!(format!("{ready}/{total}")),
                json!(status),
                json!("0"),
                age,
                json!(if ip.is_empty() { "<none>" } else { ip }),
                json!(if node.is_empty() { "<none>" } else { node }),
                json!("<none>"),
                json!("<none>"),
            ]
        }
        Resource::MutatingWebhookConfiguration => {
            let hooks = object
                .get("webhooks")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            vec![name, json!(hooks), age]
        }
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
