//! The baseline Pod Security checks the fake models, and the helpers of all checks, each
//! after its file in kubernetes/pod-security-admission policy/ (named next to it), with the
//! same `ForbiddenReason` and `ForbiddenDetail` wording. Containers are visited as
//! policy/visitor.go `visitContainers` does: init containers, containers, then ephemeral
//! containers.

use std::collections::BTreeSet;

use serde_json::Value;

use super::pod_security::{Finding, join_quote, pluralize, sorted};
use super::state::str_at;

pub(crate) fn containers(pod: &Value) -> impl Iterator<Item = &Value> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(move |list| pod["spec"][list].as_array().into_iter().flatten())
}

pub(crate) fn name(container: &Value) -> String {
    str_at(container, "/name").to_owned()
}

/// The names of the containers for which `bad` holds.
pub(crate) fn bad_containers(pod: &Value, bad: impl Fn(&Value) -> bool) -> Vec<String> {
    containers(pod).filter(|c| bad(c)).map(name).collect()
}

pub(crate) fn finding(reason: &str, detail: String) -> Option<Finding> {
    Some(Finding {
        reason: reason.to_owned(),
        detail,
    })
}

/// `CONTAINER(S) "a", "b"`.
pub(crate) fn named(names: &[String]) -> String {
    format!(
        "{} {}",
        pluralize("container", "containers", names.len()),
        join_quote(names)
    )
}

pub(crate) fn windows(pod: &Value, minor: u32) -> bool {
    // Starting 1.25, pods with spec.os.name windows are exempt from some checks.
    minor >= 25 && str_at(pod, "/spec/os/name") == "windows"
}

/// check_privileged.go `privileged_1_0`.
pub(crate) fn privileged(pod: &Value, _: u32) -> Option<Finding> {
    let bad = bad_containers(pod, |c| c["securityContext"]["privileged"] == true);
    if bad.is_empty() {
        return None;
    }
    finding(
        "privileged",
        format!(
            "{} must not set securityContext.privileged=true",
            named(&bad)
        ),
    )
}

/// check_hostNamespaces.go `hostNamespaces_1_0`.
pub(crate) fn host_namespaces(pod: &Value, _: u32) -> Option<Finding> {
    let set: Vec<String> = ["hostNetwork", "hostPID", "hostIPC"]
        .into_iter()
        .filter(|f| pod["spec"][f] == true)
        .map(|f| format!("{f}=true"))
        .collect();
    if set.is_empty() {
        return None;
    }
    finding("host namespaces", set.join(", "))
}

/// check_hostPorts.go `hostPorts_1_0`.
pub(crate) fn host_ports(pod: &Value, _: u32) -> Option<Finding> {
    // A sets.String of strconv.Itoa values: listed sorted as strings.
    let mut ports = BTreeSet::new();
    let mut bad = Vec::new();
    for c in containers(pod) {
        let host_ports: Vec<i64> = c["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["hostPort"].as_i64())
            .filter(|p| *p != 0)
            .collect();
        if !host_ports.is_empty() {
            bad.push(name(c));
            ports.extend(host_ports.iter().map(i64::to_string));
        }
    }
    if bad.is_empty() {
        return None;
    }
    finding(
        "hostPort",
        format!(
            "{} {} {} {}",
            named(&bad),
            pluralize("uses", "use", bad.len()),
            pluralize("hostPort", "hostPorts", ports.len()),
            sorted(&ports).join(", ")
        ),
    )
}

/// check_hostPathVolumes.go `hostPathVolumes_1_0`.
pub(crate) fn host_path_volumes(pod: &Value, _: u32) -> Option<Finding> {
    let bad: Vec<String> = volumes(pod)
        .filter(|v| v.get("hostPath").is_some_and(|h| !h.is_null()))
        .map(|v| str_at(v, "/name").to_owned())
        .collect();
    if bad.is_empty() {
        return None;
    }
    finding(
        "hostPath volumes",
        format!(
            "{} {}",
            pluralize("volume", "volumes", bad.len()),
            join_quote(&bad)
        ),
    )
}

pub(crate) fn volumes(pod: &Value) -> impl Iterator<Item = &Value> {
    pod["spec"]["volumes"].as_array().into_iter().flatten()
}

/// check_capabilities_baseline.go `capabilities_allowed_1_0`.
const BASELINE_CAPABILITIES: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

pub(crate) fn added(container: &Value) -> impl Iterator<Item = &str> {
    container["securityContext"]["capabilities"]["add"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// check_capabilities_baseline.go `capabilitiesBaseline_1_0`.
pub(crate) fn capabilities_baseline(pod: &Value, _: u32) -> Option<Finding> {
    let mut extra = BTreeSet::new();
    let mut bad = Vec::new();
    for c in containers(pod) {
        let mut found = false;
        for cap in added(c).filter(|cap| !BASELINE_CAPABILITIES.contains(cap)) {
            found = true;
            extra.insert(cap.to_owned());
        }
        if found {
            bad.push(name(c));
        }
    }
    if bad.is_empty() {
        return None;
    }
    finding(
        "non-default capabilities",
        format!(
            "{} must not include {} in securityContext.capabilities.add",
            named(&bad),
            join_quote(&sorted(&extra))
        ),
    )
}

/// `pod` and/or `container(s) "a"`, as the explicit setters are joined with ` and `.
pub(crate) fn setters(pod_bad: bool, containers: &[String]) -> String {
    let mut parts = Vec::new();
    if pod_bad {
        parts.push("pod".to_owned());
    }
    if !containers.is_empty() {
        parts.push(named(containers));
    }
    parts.join(" and ")
}

fn valid_seccomp(profile: &Value) -> bool {
    matches!(str_at(profile, "/type"), "RuntimeDefault" | "Localhost")
}

/// The explicit bad seccomp setters and values shared by both seccomp checks.
pub(crate) fn bad_seccomp(pod: &Value) -> (bool, Vec<String>, BTreeSet<String>) {
    let mut values = BTreeSet::new();
    let pod_profile = &pod["spec"]["securityContext"]["seccompProfile"];
    let pod_bad = pod_profile.is_object() && !valid_seccomp(pod_profile);
    if pod_bad {
        values.insert(str_at(pod_profile, "/type").to_owned());
    }
    let mut explicit = Vec::new();
    for c in containers(pod) {
        let profile = &c["securityContext"]["seccompProfile"];
        if profile.is_object() && !valid_seccomp(profile) {
            explicit.push(name(c));
            values.insert(str_at(profile, "/type").to_owned());
        }
    }
    (pod_bad, explicit, values)
}

pub(crate) fn seccomp_setters_finding(
    pod_bad: bool,
    explicit: &[String],
    values: &BTreeSet<String>,
) -> Option<Finding> {
    finding(
        "seccompProfile",
        format!(
            "{} must not set securityContext.seccompProfile.type to {}",
            setters(pod_bad, explicit),
            join_quote(&sorted(values))
        ),
    )
}

/// check_seccompProfile_baseline.go `seccompProfileBaseline_1_19`.
pub(crate) fn seccomp_baseline(pod: &Value, _: u32) -> Option<Finding> {
    let (pod_bad, explicit, values) = bad_seccomp(pod);
    if !pod_bad && explicit.is_empty() {
        return None;
    }
    seccomp_setters_finding(pod_bad, &explicit, &values)
}
