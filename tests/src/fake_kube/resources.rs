//! The resources the fake serves, and the discovery documents that announce them.

use serde_json::{Value, json};

/// A resource type the fake serves.
// `ResourceQuota` is the API's own name for the kind.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Resource {
    Namespace,
    ServiceAccount,
    Pod,
    /// `core/v1` events, as the kubelet and the scheduler record them.
    Event,
    ResourceQuota,
    MutatingWebhookConfiguration,
    SelfSubjectReview,
    SelfSubjectAccessReview,
    /// `events.k8s.io/v1` events: the same objects as [`Resource::Event`], converted on read
    /// (one etcd resource behind two APIs, as in the apiserver).
    EventV1,
    /// `apps/v1` workloads and their revisions, which the fake's controllers act on.
    ControllerRevision,
    DaemonSet,
    Deployment,
    ReplicaSet,
    StatefulSet,
}

/// The `apps/v1` resources, in discovery order (alphabetical, as the apiserver lists them).
pub(crate) const APPS: [Resource; 5] = [
    Resource::ControllerRevision,
    Resource::DaemonSet,
    Resource::Deployment,
    Resource::ReplicaSet,
    Resource::StatefulSet,
];

/// Every resource, in discovery order (`apps` first of the groups, as in `/apis`).
pub(crate) const ALL: [Resource; 14] = [
    Resource::Namespace,
    Resource::ServiceAccount,
    Resource::Pod,
    Resource::Event,
    Resource::ResourceQuota,
    Resource::ControllerRevision,
    Resource::DaemonSet,
    Resource::Deployment,
    Resource::ReplicaSet,
    Resource::StatefulSet,
    Resource::MutatingWebhookConfiguration,
    Resource::SelfSubjectReview,
    Resource::SelfSubjectAccessReview,
    Resource::EventV1,
];

impl Resource {
    /// The resource for `(group, version, plural)`, when served.
    pub(crate) fn find(group: &str, version: &str, plural: &str) -> Option<Self> {
        ALL.into_iter()
            .find(|r| r.group() == group && r.version() == version && r.plural() == plural)
    }

    /// The API group; empty for the core group.
    pub(crate) fn group(self) -> &'static str {
        match self {
            Self::Namespace
            | Self::ServiceAccount
            | Self::Pod
            | Self::Event
            | Self::ResourceQuota => "",
            Self::EventV1 => "events.k8s.io",
            Self::ControllerRevision
            | Self::DaemonSet
            | Self::Deployment
            | Self::ReplicaSet
            | Self::StatefulSet => "apps",
            Self::MutatingWebhookConfiguration => "admissionregistration.k8s.io",
            Self::SelfSubjectReview => "authentication.k8s.io",
            Self::SelfSubjectAccessReview => "authorization.k8s.io",
        }
    }

    /// The version served.
    pub(crate) fn version(self) -> &'static str {
        "v1"
    }

    /// `v1` or `GROUP/v1`.
    pub(crate) fn api_version(self) -> String {
        if self.group().is_empty() {
            self.version().to_owned()
        } else {
            format!("{}/{}", self.group(), self.version())
        }
    }

    /// The plural resource name used in paths.
    pub(crate) fn plural(self) -> &'static str {
        match self {
            Self::Namespace => "namespaces",
            Self::ServiceAccount => "serviceaccounts",
            Self::Pod => "pods",
            Self::Event | Self::EventV1 => "events",
            Self::ResourceQuota => "resourcequotas",
            Self::MutatingWebhookConfiguration => "mutatingwebhookconfigurations",
            Self::SelfSubjectReview => "selfsubjectreviews",
            Self::SelfSubjectAccessReview => "selfsubjectaccessreviews",
            Self::ControllerRevision => "controllerrevisions",
            Self::DaemonSet => "daemonsets",
            Self::Deployment => "deployments",
            Self::ReplicaSet => "replicasets",
            Self::StatefulSet => "statefulsets",
        }
    }

    /// The kind.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Self::Namespace => "Namespace",
            Self::ServiceAccount => "ServiceAccount",
            Self::Pod => "Pod",
            Self::Event | Self::EventV1 => "Event",
            Self::ResourceQuota => "ResourceQuota",
            Self::MutatingWebhookConfiguration => "MutatingWebhookConfiguration",
            Self::SelfSubjectReview => "SelfSubjectReview",
            Self::SelfSubjectAccessReview => "SelfSubjectAccessReview",
            Self::ControllerRevision => "ControllerRevision",
            Self::DaemonSet => "DaemonSet",
            Self::Deployment => "Deployment",
            Self::ReplicaSet => "ReplicaSet",
            Self::StatefulSet => "StatefulSet",
        }
    }

    /// `serviceaccounts` or `mutatingwebhookconfigurations.admissionregistration.k8s.io`, as
    /// error messages name the resource.
    pub(crate) fn qualified_plural(self) -> String {
        qualify(self.plural(), self.group())
    }

    /// Whether objects live in a namespace.
    pub(crate) fn namespaced(self) -> bool {
        matches!(
            self,
            Self::ServiceAccount | Self::Pod | Self::Event | Self::ResourceQuota | Self::EventV1
        ) || self.is_apps()
    }

    /// Whether this is an `apps/v1` resource.
    pub(crate) fn is_apps(self) -> bool {
        APPS.contains(&self)
    }

    /// The workloads whose pod template the fake's controllers roll out.
    pub(crate) fn is_workload(self) -> bool {
        self.is_apps() && self != Self::ControllerRevision
    }

    /// Whether objects are stored (reviews are answered, never stored).
    pub(crate) fn stored(self) -> bool {
        !matches!(
            self,
            Self::SelfSubjectReview | Self::SelfSubjectAccessReview
        )
    }

    /// The resource whose objects this one serves ([`Resource::EventV1`] shows the core
    /// events).
    pub(crate) fn storage(self) -> Self {
        match self {
            Self::EventV1 => Self::Event,
            other => other,
        }
    }

    /// An object of [`Resource::storage`] as this resource shows it.
    pub(crate) fn present(self, object: &Value) -> std::borrow::Cow<'_, Value> {
        match self {
            Self::EventV1 => std::borrow::Cow::Owned(super::events::to_v1(object)),
            _ => std::borrow::Cow::Borrowed(object),
        }
    }

    fn discovery_entry(self) -> Value {
        let verbs: &[&str] = if self.stored() {
            &[
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ]
        } else {
            &["create"]
        };
        let mut entry = json!({
            "name": self.plural(),
            "singularName": self.kind().to_lowercase(),
            "namespaced": self.namespaced(),
            "kind": self.kind(),
            "verbs": verbs,
        });
        let short: &[&str] = match self {
            Self::Namespace => &["ns"],
            Self::ServiceAccount => &["sa"],
            Self::Pod => &["po"],
            Self::Event | Self::EventV1 => &["ev"],
            Self::ResourceQuota => &["quota"],
            Self::DaemonSet => &["ds"],
            Self::Deployment => &["deploy"],
            Self::ReplicaSet => &["rs"],
            Self::StatefulSet => &["sts"],
            _ => &[],
        };
        if !short.is_empty() {
            entry["shortNames"] = json!(short);
        }
        if self == Self::Pod || self.is_workload() {
            entry["categories"] = json!(["all"]);
        }
        entry
    }
}

fn qualify(name: &str, group: &str) -> String {
    if group.is_empty() {
        name.to_owned()
    } else {
        format!("{name}.{group}")
    }
}

fn subresource(
    name: &str,
    kind: &str,
    verbs: &[&str],
    group_version: Option<(&str, &str)>,
) -> Value {
    let mut entry = json!({"name": name, "singularName": "", "namespaced": true});
    if let Some((group, version)) = group_version {
        entry["group"] = json!(group);
        entry["version"] = json!(version);
    }
    entry["kind"] = json!(kind);
    entry["verbs"] = json!(verbs);
    entry
}

/// A workload's `scale` (autoscaling/v1, not for DaemonSets) and `status` subresources, in
/// the apiserver's order.
fn workload_subresources(resource: Resource) -> Vec<Value> {
    let mut entries = Vec::new();
    if resource != Resource::DaemonSet {
        entries.push(subresource(
            &format!("{}/scale", resource.plural()),
            "Scale",
            &["get", "patch", "update"],
            Some(("autoscaling", "v1")),
        ));
    }
    entries.push(subresource(
        &format!("{}/status", resource.plural()),
        resource.kind(),
        &["get", "patch", "update"],
        None,
    ));
    entries
}

/// `GET /version`.
pub(crate) fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": "v1.33.1",
        "gitCommit": "8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828",
        "gitTreeState": "clean",
        "buildDate": "2025-05-15T08:19:08Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `GET /api`.
pub(crate) fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

/// The non-core groups, in `/apis` order.
fn groups() -> Vec<&'static str> {
    let mut groups: Vec<&str> = ALL
        .iter()
        .map(|r| r.group())
        .filter(|g| !g.is_empty())
        .collect();
    groups.dedup();
    groups
}

/// `GET /apis`.
pub(crate) fn group_list() -> Value {
    let groups: Vec<Value> = groups()
        .into_iter()
        .map(|group| {
            let gv = json!({"groupVersion": format!("{group}/v1"), "version": "v1"});
            json!({"name": group, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/GROUP` (an `APIGroup`), when served.
pub(crate) fn group(group: &str) -> Option<Value> {
    groups().contains(&group).then(|| {
        let gv = json!({"groupVersion": format!("{group}/v1"), "version": "v1"});
        json!({"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": [gv.clone()], "preferredVersion": gv})
    })
}

/// `GET /api/v1` or `GET /apis/GROUP/VERSION` (an `APIResourceList`), when served.
pub(crate) fn resource_list(group: &str, version: &str) -> Option<Value> {
    if version != "v1" || !(group.is_empty() || groups().contains(&group)) {
        return None;
    }
    let mut resources = Vec::new();
    for resource in ALL.into_iter().filter(|r| r.group() == group) {
        resources.push(resource.discovery_entry());
        match resource {
            Resource::Namespace => {
                let mut status = subresource(
                    "namespaces/status",
                    "Namespace",
                    &["get", "patch", "update"],
                    None,
                );
                status["namespaced"] = json!(false);
                resources.push(status);
            }
            Resource::ServiceAccount => resources.push(subresource(
                "serviceaccounts/token",
                "TokenRequest",
                &["create"],
                Some(("authentication.k8s.io", "v1")),
            )),
            Resource::Pod => {
                resources.push(subresource("pods/log", "Pod", &["get"], None));
                resources.push(subresource(
                    "pods/status",
                    "Pod",
                    &["get", "patch", "update"],
                    None,
                ));
            }
            Resource::ResourceQuota => resources.push(subresource(
                "resourcequotas/status",
                "ResourceQuota",
                &["get", "patch", "update"],
                None,
            )),
            workload if workload.is_workload() => resources.extend(workload_subresources(workload)),
            _ => {}
        }
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }))
}
