//! The defaults the apiserver fills into a new pod before admission, from
//! kubernetes/kubernetes pkg/apis/core/v1/defaults.go (`SetDefaults_Pod`,
//! `SetDefaults_PodSpec`, `SetDefaults_Container`), plus the priority admission plugin's
//! `priority: 0`.

use serde_json::{Value, json};

use super::state::str_at;

/// Fills the defaults of a pod's spec and containers.
pub(crate) fn pod(pod: &mut Value) {
    let spec = &mut pod["spec"];
    for (field, default) in [
        ("restartPolicy", json!("Always")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("dnsPolicy", json!("ClusterFirst")),
        ("securityContext", json!({})),
        ("schedulerName", json!("default-scheduler")),
        ("enableServiceLinks", json!(true)),
        ("preemptionPolicy", json!("PreemptLowerPriority")),
        ("priority", json!(0)),
    ] {
        if spec.get(field).is_none_or(Value::is_null) {
            spec[field] = default;
        }
    }
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        if let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) {
            for container in containers {
                self::container(container, list != "ephemeralContainers");
            }
        }
    }
}

/// `SetDefaults_Container`, and `SetDefaults_Pod`'s "requests default to limits" (only for
/// containers and init containers).
pub(crate) fn container(container: &mut Value, requests_from_limits: bool) {
    if str_at(container, "/imagePullPolicy").is_empty() {
        container["imagePullPolicy"] = json!(pull_policy(str_at(container, "/image")));
    }
    if str_at(container, "/terminationMessagePath").is_empty() {
        container["terminationMessagePath"] = json!("/dev/termination-log");
    }
    if str_at(container, "/terminationMessagePolicy").is_empty() {
        container["terminationMessagePolicy"] = json!("File");
    }
    if !container.get("resources").is_some_and(Value::is_object) {
        container["resources"] = json!({});
    }
    let Some(limits) = container
        .pointer("/resources/limits")
        .and_then(Value::as_object)
        .cloned()
    else {
        return;
    };
    if !requests_from_limits {
        return;
    }
    let resources = &mut container["resources"];
    if !resources.get("requests").is_some_and(Value::is_object) {
        resources["requests"] = json!({});
    }
    let requests = resources["requests"]
        .as_object_mut()
        .expect("a requests map");
    for (name, quantity) in limits {
        requests.entry(name).or_insert(quantity);
    }
}

/// `Always` for an image whose tag is `latest` (or absent: ParseImageName's default tag),
/// else `IfNotPresent`; an image pinned by digest has no tag.
pub(crate) fn pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, tag)) if tag != "latest" => "IfNotPresent",
        _ => "Always",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policies_and_requests() {
        assert_eq!(pull_policy("busybox"), "Always");
        assert_eq!(pull_policy("busybox:latest"), "Always");
        assert_eq!(pull_policy("registry:5000/busybox"), "Always");
        assert_eq!(pull_policy("registry:5000/busybox:1.36"), "IfNotPresent");
        assert_eq!(pull_policy("busybox@sha256:00"), "IfNotPresent");
        let mut p = json!({"spec": {"containers": [{"name": "a", "image": "x:1", "resources": {"limits": {"cpu": "1"}, "requests": {"memory": "1Mi"}}}]}});
        pod(&mut p);
        assert_eq!(
            p["spec"]["containers"][0]["resources"]["requests"],
            json!({"memory": "1Mi", "cpu": "1"})
        );
        assert_eq!(p["spec"]["securityContext"], json!({}));
    }
}
