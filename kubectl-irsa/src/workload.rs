//! Which workload re-creates a pod, read from its metadata alone (no API call), and the
//! commands that re-create pods: pods keep the identity the webhook gave them at creation, so a
//! changed binding reaches them only when they are re-created. Pure.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::shell::quote;

/// The label the deployment controller puts on a ReplicaSet and its pods; the ReplicaSet is
/// named `DEPLOYMENT-HASH` (pkg/controller/deployment/sync.go of kubernetes/kubernetes).
const TEMPLATE_HASH: &str = "pod-template-hash";

/// What re-creates a pod.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Workload {
    /// A Deployment, StatefulSet or DaemonSet (`kind` in kubectl's lower case), which
    /// `kubectl rollout restart` re-creates.
    Rollout { kind: &'static str, name: String },
    /// Another controller (a ReplicaSet of its own, a Job): a deleted pod is created again.
    Controller { kind: String, name: String },
    /// No controller: a deleted pod is gone.
    Bare,
}

/// The workload of `pod`, from its controller reference. A ReplicaSet named `NAME-HASH` whose
/// pod carries `pod-template-hash=HASH` belongs to the Deployment `NAME`: read without asking
/// the API for the ReplicaSet.
pub fn workload(pod: &ObjectMeta) -> Workload {
    let references = pod.owner_references.iter().flatten();
    let Some(owner) = references
        .clone()
        .find(|r| r.controller == Some(true))
        .or_else(|| references.clone().next())
    else {
        return Workload::Bare;
    };
    let rollout = |kind, name: &str| Workload::Rollout {
        kind,
        name: name.to_string(),
    };
    match owner.kind.as_str() {
        "StatefulSet" => rollout("statefulset", &owner.name),
        "DaemonSet" => rollout("daemonset", &owner.name),
        "Deployment" => rollout("deployment", &owner.name),
        "ReplicaSet" => {
            let hash = pod.labels.as_ref().and_then(|l| l.get(TEMPLATE_HASH));
            match hash.and_then(|hash| owner.name.strip_suffix(&format!("-{hash}"))) {
                Some(deployment) if !deployment.is_empty() => rollout("deployment", deployment),
                _ => Workload::Controller {
                    kind: "replicaset".into(),
                    name: owner.name.clone(),
                },
            }
        }
        kind => Workload::Controller {
            kind: kind.to_lowercase(),
            name: owner.name.clone(),
        },
    }
}

impl std::fmt::Display for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Workload::Rollout { kind, name } => write!(f, "{kind}/{name}"),
            Workload::Controller { kind, name } => write!(f, "{kind}/{name}"),
            Workload::Bare => f.write_str("no controller"),
        }
    }
}

/// The commands that re-create `pods` (of `namespace`): one `kubectl rollout restart` for every
/// Deployment, StatefulSet and DaemonSet among their workloads, one `kubectl delete pod` for
/// the pods another controller re-creates, and for bare pods a delete and a create from their
/// manifests; joined with `; `.
pub fn restart(namespace: &str, pods: &[&ObjectMeta]) -> String {
    // Names come from the API server: each is one shell word, whatever it sent.
    let namespace = quote(namespace);
    let mut rollouts: Vec<String> = Vec::new();
    let (mut controlled, mut bare) = (Vec::new(), Vec::new());
    for pod in pods {
        let name = quote(pod.name.as_deref().unwrap_or_default()).into_owned();
        match workload(pod) {
            rollout @ Workload::Rollout { .. } => {
                rollouts.push(quote(&rollout.to_string()).into_owned())
            }
            Workload::Controller { .. } => controlled.push(name),
            Workload::Bare => bare.push(name),
        }
    }
    rollouts.sort();
    rollouts.dedup();
    let mut commands = Vec::new();
    if !rollouts.is_empty() {
        commands.push(format!(
            "kubectl rollout restart {} -n {namespace}",
            rollouts.join(" ")
        ));
    }
    if !controlled.is_empty() {
        commands.push(format!(
            "kubectl delete pod -n {namespace} {}",
            controlled.join(" ")
        ));
    }
    if !bare.is_empty() {
        commands.push(format!(
            "kubectl delete pod -n {namespace} {} and create {} again from {}",
            bare.join(" "),
            if bare.len() == 1 { "it" } else { "them" },
            if bare.len() == 1 {
                "its manifest"
            } else {
                "their manifests"
            },
        ));
    }
    commands.join("; ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn owned(kind: &str, name: &str, hash: Option<&str>) -> ObjectMeta {
        let mut value = json!({"metadata": {"name": "p", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": "u", "controller": true},
        ]}});
        if let Some(hash) = hash {
            value["metadata"]["labels"] = json!({ "pod-template-hash": hash });
        }
        serde_json::from_value(value["metadata"].clone()).unwrap()
    }

    #[test]
    fn workloads_are_read_from_owner_references() {
        let rollout = |kind: &'static str, name: &str| Workload::Rollout {
            kind,
            name: name.into(),
        };
        assert_eq!(
            workload(&owned("ReplicaSet", "web-5d4f8c7b9", Some("5d4f8c7b9"))),
            rollout("deployment", "web")
        );
        assert_eq!(
            workload(&owned("ReplicaSet", "web-5d4f8c7b9", None)),
            Workload::Controller {
                kind: "replicaset".into(),
                name: "web-5d4f8c7b9".into()
            }
        );
        assert_eq!(
            workload(&owned("StatefulSet", "db", None)),
            rollout("statefulset", "db")
        );
        assert_eq!(
            workload(&owned("DaemonSet", "agent", None)),
            rollout("daemonset", "agent")
        );
        assert_eq!(
            workload(&owned("Job", "backup", None)).to_string(),
            "job/backup"
        );
        assert_eq!(workload(&ObjectMeta::default()), Workload::Bare);
    }

    #[test]
    fn restarts_are_one_command_per_kind_of_owner() {
        let named = |mut pod: ObjectMeta, name: &str| {
            pod.name = Some(name.into());
            pod
        };
        let pods = [
            named(owned("ReplicaSet", "web-abc", Some("abc")), "web-abc-1"),
            named(owned("ReplicaSet", "web-abc", Some("abc")), "web-abc-2"),
            named(owned("StatefulSet", "db", None), "db-0"),
            named(owned("Job", "backup", None), "backup-x"),
            named(ObjectMeta::default(), "debug"),
        ];
        let pods: Vec<&ObjectMeta> = pods.iter().collect();
        assert_eq!(
            restart("shop", &pods),
            "kubectl rollout restart deployment/web statefulset/db -n shop; \
             kubectl delete pod -n shop backup-x; \
             kubectl delete pod -n shop debug and create it again from its manifest"
        );
    }

    #[test]
    fn names_from_a_hostile_api_server_stay_one_word() {
        let mut pod = owned("StatefulSet", "db;$(id)", None);
        pod.name = Some("x'y".into());
        let bare = ObjectMeta {
            name: Some("$(id)".into()),
            ..ObjectMeta::default()
        };
        assert_eq!(
            restart("sh op", &[&pod, &bare]),
            r#"kubectl rollout restart 'statefulset/db;$(id)' -n 'sh op'; kubectl delete pod -n 'sh op' '$(id)' and create it again from its manifest"#
        );
    }
}
