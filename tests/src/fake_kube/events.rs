//! Events about pods, as the kubelet and the scheduler record them in `core/v1`, and the
//! `events.k8s.io/v1` view of the same objects.
//!
//! The kubelet records through client-go's legacy recorder: `source` is `{component: kubelet,
//! host: NODE}`, `firstTimestamp`/`lastTimestamp`/`count` are set, and a repeat of the same
//! event (same object, type, reason and message) is folded into the first one by the event
//! correlator, which bumps `count` and `lastTimestamp` (client-go tools/record/events_cache.go,
//! `EventCorrelator`). The scheduler records through the events.k8s.io recorder
//! (client-go tools/events), so its events carry `eventTime`, `action`, `reportingComponent`
//! and `reportingInstance` instead, with empty `source` and null timestamps. Names are
//! `OBJECT.HEX(unix nanos)` in both (`makeEvent` in either recorder). The controllers of
//! kube-controller-manager record about their workloads through the legacy recorder too,
//! `source` their name alone and `reportingInstance` empty.

use serde_json::{Value, json};

use super::FakeKube;
use super::objects::{canonical, now, uid};
use super::resources::Resource;
use super::state::{Store, str_at};

/// The node the fake's pods run on.
pub(crate) const NODE: &str = "fake-node";

/// Who records an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reporter {
    /// The kubelet of [`NODE`] (legacy core/v1 recorder).
    Kubelet,
    /// `default-scheduler` (events.k8s.io recorder, action `Scheduling`).
    Scheduler,
    /// A controller of kube-controller-manager (`deployment-controller`,
    /// `replicaset-controller`, ...): the legacy recorder, with no host.
    Controller(&'static str),
}

/// One event about a pod (or, from a controller, its workload), before it is stored.
pub(crate) struct PodEvent<'a> {
    pub(crate) reporter: Reporter,
    /// `Normal` or `Warning`.
    pub(crate) kind: &'static str,
    pub(crate) reason: &'a str,
    pub(crate) message: &'a str,
    /// `spec.containers{NAME}` for container events.
    pub(crate) field_path: Option<String>,
}

impl FakeKube {
    /// Every stored core/v1 event, in namespace then name order.
    pub fn events(&self) -> Vec<Value> {
        let store = self.shared.store();
        store
            .range(Resource::Event, None, None)
            .map(|(_, event)| event.clone())
            .collect()
    }
}

/// Now as a `MicroTime` (RFC 3339 with microseconds), as `eventTime` is written.
fn micro_now() -> String {
    let at = time::OffsetDateTime::now_utc();
    let micros = at.microsecond();
    let whole = super::objects::timestamp(at);
    format!("{}.{micros:06}Z", whole.trim_end_matches('Z'))
}

fn event_name(pod_name: &str) -> String {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    // Two events in the same nanosecond would collide; the recorders accept that risk, the
    // fake adds the remainder of a random draw instead.
    format!("{pod_name}.{:x}", nanos + i128::from(fastrand::u16(..)))
}

fn involved_object(pod: &Value, field_path: Option<&str>) -> Value {
    let mut object = json!({
        "kind": str_at(pod, "/kind"),
        "namespace": str_at(pod, "/metadata/namespace"),
        "name": str_at(pod, "/metadata/name"),
        "uid": str_at(pod, "/metadata/uid"),
        "apiVersion": str_at(pod, "/apiVersion"),
        "resourceVersion": str_at(pod, "/metadata/resourceVersion"),
    });
    if let Some(path) = field_path {
        object["fieldPath"] = json!(path);
    }
    object
}

/// Stores `event` about `pod` (any stored object), or folds it into the identical event the
/// same legacy recorder (kubelet or controller) already stored.
pub(crate) fn record(store: &mut Store, pod: &Value, event: &PodEvent<'_>) {
    let namespace = str_at(pod, "/metadata/namespace").to_owned();
    let pod_uid = str_at(pod, "/metadata/uid");
    let field_path = event.field_path.as_deref();
    if event.reporter != Reporter::Scheduler {
        let same = store
            .range(Resource::Event, Some(&namespace), None)
            .find(|(_, e)| {
                str_at(e, "/involvedObject/uid") == pod_uid
                    && str_at(e, "/involvedObject/fieldPath") == field_path.unwrap_or("")
                    && str_at(e, "/reason") == event.reason
                    && str_at(e, "/message") == event.message
                    && str_at(e, "/type") == event.kind
            })
            .map(|(_, e)| e.clone());
        if let Some(mut existing) = same {
            let count = existing["count"].as_i64().unwrap_or(1) + 1;
            existing["count"] = json!(count);
            existing["lastTimestamp"] = json!(now());
            store.put(Resource::Event, existing);
            return;
        }
    }
    let mut object = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": event_name(str_at(pod, "/metadata/name")), "namespace": namespace, "uid": uid(), "creationTimestamp": now()},
        "involvedObject": involved_object(pod, field_path),
        "reason": event.reason,
        "message": event.message,
    });
    let legacy = |component: &str, host: &str| {
        let at = now();
        let mut source = json!({"component": component});
        if !host.is_empty() {
            source["host"] = json!(host);
        }
        json!({"source": source, "firstTimestamp": at, "lastTimestamp": at, "count": 1,
            "type": event.kind, "eventTime": null, "reportingComponent": component,
            "reportingInstance": host})
    };
    let fields = match event.reporter {
        Reporter::Kubelet => legacy("kubelet", NODE),
        Reporter::Controller(component) => legacy(component, ""),
        Reporter::Scheduler => json!({"source": {}, "firstTimestamp": null,
            "lastTimestamp": null, "type": event.kind, "eventTime": micro_now(),
            "action": "Scheduling", "reportingComponent": "default-scheduler",
            "reportingInstance": "default-scheduler-fake-control-plane"}),
    };
    for (key, value) in fields.as_object().into_iter().flatten() {
        object[key] = value.clone();
    }
    store.put(Resource::Event, canonical(object));
}

/// A core/v1 event as events.k8s.io/v1 shows it: `Convert_core_Event_To_v1_Event` in
/// kubernetes/kubernetes pkg/apis/events/v1/conversion.go.
pub(crate) fn to_v1(event: &Value) -> Value {
    let field = |name: &str| event.get(name).cloned().unwrap_or(Value::Null);
    let mut out = json!({
        "kind": "Event",
        "apiVersion": "events.k8s.io/v1",
        "metadata": field("metadata"),
        "eventTime": field("eventTime"),
    });
    let renamed = [
        ("series", "series"),
        ("reportingComponent", "reportingController"),
        ("reportingInstance", "reportingInstance"),
        ("action", "action"),
        ("reason", "reason"),
        ("involvedObject", "regarding"),
        ("related", "related"),
        ("message", "note"),
        ("type", "type"),
        ("source", "deprecatedSource"),
        ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"),
        ("count", "deprecatedCount"),
    ];
    for (core, v1) in renamed {
        match event.get(core) {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) if map.is_empty() => {}
            Some(value) => out[v1] = value.clone(),
        }
    }
    out
}
