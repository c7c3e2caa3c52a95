//! The restricted Pod Security checks the fake models, each after its file in
//! kubernetes/pod-security-admission policy/ (named next to it), with the same
//! `ForbiddenReason` and `ForbiddenDetail` wording.

use std::collections::BTreeSet;

use serde_json::Value;

use super::pod_security::{Finding, join_quote, pluralize, sorted};
use super::pod_security_checks::{
    added, bad_containers, bad_seccomp, containers, finding, name, named, seccomp_setters_finding,
    setters, volumes, windows,
};
use super::state::str_at;

/// check_capabilities_restricted.go `capabilitiesRestricted_1_22` (and `_1_25`).
pub(crate) fn capabilities_restricted(pod: &Value, minor: u32) -> Option<Finding> {
    if minor < 22 || windows(pod, minor) {
        return None;
    }
    let (mut missing_drop, mut adding) = (Vec::new(), Vec::new());
    let mut forbidden = BTreeSet::new();
    for c in containers(pod) {
        let caps = &c["securityContext"]["capabilities"];
        if !caps.is_object() {
            missing_drop.push(name(c));
            continue;
        }
        let drops_all = caps["drop"]
            .as_array()
            .is_some_and(|d| d.iter().any(|v| v == "ALL"));
        if !drops_all {
            missing_drop.push(name(c));
        }
        let mut found = false;
        for cap in added(c).filter(|cap| *cap != "NET_BIND_SERVICE") {
            found = true;
            forbidden.insert(cap.to_owned());
        }
        if found {
            adding.push(name(c));
        }
    }
    let mut details = Vec::new();
    if !missing_drop.is_empty() {
        details.push(format!(
            "{} must set securityContext.capabilities.drop=[\"ALL\"]",
            named(&missing_drop)
        ));
    }
    if !adding.is_empty() {
        details.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            named(&adding),
            join_quote(&sorted(&forbidden))
        ));
    }
    if details.is_empty() {
        return None;
    }
    finding("unrestricted capabilities", details.join("; "))
}

/// check_allowPrivilegeEscalation.go `allowPrivilegeEscalation_1_8` (and `_1_25`).
pub(crate) fn allow_privilege_escalation(pod: &Value, minor: u32) -> Option<Finding> {
    if minor < 8 || windows(pod, minor) {
        return None;
    }
    let bad = bad_containers(pod, |c| {
        c["securityContext"]["allowPrivilegeEscalation"] != false
    });
    if bad.is_empty() {
        return None;
    }
    finding(
        "allowPrivilegeEscalation != false",
        format!(
            "{} must set securityContext.allowPrivilegeEscalation=false",
            named(&bad)
        ),
    )
}

/// check_restrictedVolumes.go `restrictedVolumes_1_0`: the allowed inline sources, and the
/// names of the others in the order of its `switch`. A volume without a source is an
/// emptyDir (SetDefaults_Volume).
const ALLOWED_VOLUMES: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];
const RESTRICTED_VOLUMES: [&str; 21] = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

/// check_restrictedVolumes.go `restrictedVolumes_1_0`.
pub(crate) fn restricted_volumes(pod: &Value, _: u32) -> Option<Finding> {
    let mut bad = Vec::new();
    let mut types = BTreeSet::new();
    for volume in volumes(pod) {
        let source = |key: &str| volume.get(key).is_some_and(|v| !v.is_null());
        let sources: Vec<&String> = volume
            .as_object()
            .into_iter()
            .flat_map(|m| m.keys())
            .filter(|k| *k != "name" && source(k))
            .collect();
        if sources.is_empty() || ALLOWED_VOLUMES.iter().any(|a| source(a)) {
            continue;
        }
        bad.push(str_at(volume, "/name").to_owned());
        let kind = RESTRICTED_VOLUMES
            .iter()
            .find(|r| source(r))
            .copied()
            .unwrap_or("unknown");
        types.insert(kind.to_owned());
    }
    if bad.is_empty() {
        return None;
    }
    finding(
        "restricted volume types",
        format!(
            "{} {} {} {} {}",
            pluralize("volume", "volumes", bad.len()),
            join_quote(&bad),
            pluralize("uses", "use", bad.len()),
            pluralize(
                "restricted volume type",
                "restricted volume types",
                types.len()
            ),
            join_quote(&sorted(&types))
        ),
    )
}

/// check_runAsNonRoot.go `runAsNonRoot1_0` (the 1.35 user-namespace relaxation is newer than
/// the fake's apiserver).
pub(crate) fn run_as_non_root(pod: &Value, _: u32) -> Option<Finding> {
    let pod_value = &pod["spec"]["securityContext"]["runAsNonRoot"];
    let pod_bad = *pod_value == false;
    let pod_true = *pod_value == true;
    let explicit = bad_containers(pod, |c| c["securityContext"]["runAsNonRoot"] == false);
    let implicit = bad_containers(pod, |c| {
        !c["securityContext"]["runAsNonRoot"].is_boolean() && !pod_true
    });
    if pod_bad || !explicit.is_empty() {
        return finding(
            "runAsNonRoot != true",
            format!(
                "{} must not set securityContext.runAsNonRoot=false",
                setters(pod_bad, &explicit)
            ),
        );
    }
    if implicit.is_empty() {
        return None;
    }
    finding(
        "runAsNonRoot != true",
        format!(
            "pod or {} must set securityContext.runAsNonRoot=true",
            named(&implicit)
        ),
    )
}

/// check_runAsUser.go `runAsUser1_23`.
pub(crate) fn run_as_user(pod: &Value, minor: u32) -> Option<Finding> {
    if minor < 23 {
        return None;
    }
    let pod_bad = pod["spec"]["securityContext"]["runAsUser"] == 0;
    let explicit = bad_containers(pod, |c| c["securityContext"]["runAsUser"] == 0);
    if !pod_bad && explicit.is_empty() {
        return None;
    }
    finding(
        "runAsUser=0",
        format!("{} must not set runAsUser=0", setters(pod_bad, &explicit)),
    )
}

/// check_seccompProfile_restricted.go `seccompProfileRestricted_1_19` (and `_1_25`).
pub(crate) fn seccomp_restricted(pod: &Value, minor: u32) -> Option<Finding> {
    if minor < 19 || windows(pod, minor) {
        return None;
    }
    let (pod_bad, explicit, values) = bad_seccomp(pod);
    if pod_bad || !explicit.is_empty() {
        return seccomp_setters_finding(pod_bad, &explicit, &values);
    }
    let pod_set = pod["spec"]["securityContext"]["seccompProfile"].is_object();
    let implicit = bad_containers(pod, |c| {
        !c["securityContext"]["seccompProfile"].is_object() && !pod_set
    });
    if implicit.is_empty() {
        return None;
    }
    finding(
        "seccompProfile",
        format!(
            "pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
            named(&implicit)
        ),
    )
}
