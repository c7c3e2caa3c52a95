//! Pod Security admission, from the namespace labels `pod-security.kubernetes.io/enforce`,
//! `enforce-version`, `warn` and `warn-version`.
//!
//! Sources, in kubernetes/pod-security-admission: api/helpers.go (`PolicyToEvaluate`,
//! `ParseLevel`, `ParseVersion`: an invalid level evaluates as `restricted`, an invalid or
//! absent version as `latest`; warn defaults to a stricter enforce level), admission/admission.go
//! (`EvaluatePod`: `violates PodSecurity "LEVEL:VERSION": DETAIL` through
//! `apierrors.NewForbidden`, warnings `would violate PodSecurity ...`; `ValidatePodController`:
//! workload templates are only warned about; `ValidateNamespace`:
//! invalid labels are a 422), policy/checks.go (`ForbiddenDetail`: `reason (detail)` joined
//! with `, `), policy/registry.go (checks run baseline first, then restricted, each group
//! sorted by check ID; a restricted check overrides the baseline check it names) and the
//! policy/check_*.go files cited next to each check. The fake's apiserver is v1.33, so
//! `latest` is 1.33: the 1.34 `hostProbesAndHostLifecycle` check and the 1.35 user-namespace
//! relaxation do not apply. Not modelled: appArmorProfile, procMount, seLinuxOptions, sysctls,
//! windowsHostProcess, the seccomp annotations of versions before 1.19, exemptions, and the
//! warnings about existing pods when a namespace's enforce level is raised.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::resources::Resource;
use super::state::str_at;
use super::status::{ApiError, FieldError};

const ENFORCE: &str = "pod-security.kubernetes.io/enforce";
const ENFORCE_VERSION: &str = "pod-security.kubernetes.io/enforce-version";
const WARN: &str = "pod-security.kubernetes.io/warn";
const WARN_VERSION: &str = "pod-security.kubernetes.io/warn-version";
/// The minor version `latest` means: the fake's apiserver version.
const LATEST_MINOR: u32 = 33;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Privileged,
    Baseline,
    Restricted,
}

/// A level and version: `restricted:latest`, `baseline:v1.24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LevelVersion {
    level: Level,
    /// The minor version; `None` is `latest`.
    minor: Option<u32>,
}

impl LevelVersion {
    fn render(self) -> String {
        let level = match self.level {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        };
        match self.minor {
            Some(minor) => format!("{level}:v1.{minor}"),
            None => format!("{level}:latest"),
        }
    }

    /// The policy version the checks follow (newer than the server is the server's).
    fn effective_minor(self) -> u32 {
        self.minor.map_or(LATEST_MINOR, |m| m.min(LATEST_MINOR))
    }
}

const PRIVILEGED: LevelVersion = LevelVersion {
    level: Level::Privileged,
    minor: None,
};

fn parse_level(value: &str) -> Result<Level, String> {
    match value {
        "privileged" => Ok(Level::Privileged),
        "baseline" => Ok(Level::Baseline),
        "restricted" => Ok(Level::Restricted),
        _ => Err("must be one of privileged, baseline, restricted".to_owned()),
    }
}

fn parse_version(value: &str) -> Result<Option<u32>, String> {
    if value == "latest" {
        return Ok(None);
    }
    let minor = value
        .strip_prefix("v1.")
        .filter(|m| !m.is_empty() && (m == &"0" || !m.starts_with('0')))
        .and_then(|m| m.parse::<u32>().ok());
    minor
        .map(Some)
        .ok_or_else(|| "must be \"latest\" or \"v1.x\"".to_owned())
}

/// The enforce and warn policies of a namespace's labels, and the label errors.
fn policy(labels: &Map<String, Value>) -> (LevelVersion, LevelVersion, Vec<FieldError>) {
    let mut errors = Vec::new();
    let label = |key: &str| labels.get(key).and_then(Value::as_str);
    let mut fail = |key: &str, value: &str, why: String| {
        errors.push(FieldError::invalid(
            &format!("metadata.labels[{key}]"),
            value,
            &why,
        ));
    };
    let (mut enforce, mut warn) = (PRIVILEGED, PRIVILEGED);
    let mut enforce_level_set = false;
    if let Some(value) = label(ENFORCE) {
        match parse_level(value) {
            Ok(level) => {
                enforce.level = level;
                enforce_level_set = true;
            }
            Err(why) => {
                enforce.level = Level::Restricted;
                fail(ENFORCE, value, why);
            }
        }
    }
    if let Some(value) = label(ENFORCE_VERSION) {
        enforce.minor = parse_version(value).unwrap_or_else(|why| {
            fail(ENFORCE_VERSION, value, why);
            None
        });
    }
    if let Some(value) = label(WARN) {
        warn.level = parse_level(value).unwrap_or_else(|why| {
            fail(WARN, value, why);
            Level::Privileged
        });
    }
    if let Some(value) = label(WARN_VERSION) {
        warn.minor = parse_version(value).unwrap_or_else(|why| {
            fail(WARN_VERSION, value, why);
            None
        });
    }
    if label(WARN).is_none() && enforce_level_set && enforce.level > warn.level {
        warn.level = enforce.level;
        if label(WARN_VERSION).is_none() {
            warn.minor = enforce.minor;
        }
    }
    (enforce, warn, errors)
}

fn labels(namespace: &Value) -> Map<String, Value> {
    namespace
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// `ValidateNamespace`: a new namespace's Pod Security labels must parse, and so must changed
/// ones on update (422 `Namespace "x" is invalid: metadata.labels[...]: Invalid value: ...`).
pub(crate) fn validate_namespace(namespace: &Value, old: Option<&Value>) -> Result<(), ApiError> {
    let (_, _, errors) = policy(&labels(namespace));
    if errors.is_empty() {
        return Ok(());
    }
    if let Some(old) = old {
        let (_, _, old_errors) = policy(&labels(old));
        let same = old_errors.len() == errors.len()
            && old_errors
                .iter()
                .zip(&errors)
                .all(|(a, b)| a.field == b.field && a.value == b.value);
        if !old_errors.is_empty() && same {
            return Ok(());
        }
    }
    let name = str_at(namespace, "/metadata/name");
    Err(ApiError::invalid(Resource::Namespace, name, &errors))
}

/// Evaluates a new (already mutated) pod against its namespace's policy: a 403 when the
/// enforce level forbids it, else the warnings the warn level gives.
pub(crate) fn admit(namespace: &Value, pod: &Value) -> Result<Vec<String>, ApiError> {
    let (enforce, warn, _) = policy(&labels(namespace));
    let refused = evaluate(enforce, pod);
    if !refused.is_empty() {
        let why = format!(
            "violates PodSecurity \"{}\": {}",
            enforce.render(),
            render(&refused)
        );
        let name = str_at(pod, "/metadata/name");
        return Err(ApiError::admission_forbidden(Resource::Pod, name, &why));
    }
    let warned = evaluate(warn, pod);
    if warned.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![format!(
        "would violate PodSecurity \"{}\": {}",
        warn.render(),
        render(&warned)
    )])
}

/// `ValidatePodController`: a workload's pod template (as a pod) is evaluated on create and on
/// every update at the warn level only (`EvaluatePod` with enforce false): enforcement waits
/// for the pods its controller creates.
pub(crate) fn warn_controller(namespace: &Value, pod: &Value) -> Vec<String> {
    let (_, warn, _) = policy(&labels(namespace));
    let warned = evaluate(warn, pod);
    if warned.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "would violate PodSecurity \"{}\": {}",
        warn.render(),
        render(&warned)
    )]
}

/// `AggregateCheckResult.ForbiddenDetail`.
fn render(findings: &[Finding]) -> String {
    let parts: Vec<String> = findings
        .iter()
        .map(|f| {
            if f.detail.is_empty() {
                f.reason.clone()
            } else {
                format!("{} ({})", f.reason, f.detail)
            }
        })
        .collect();
    parts.join(", ")
}

/// One failed check: `ForbiddenReason` and `ForbiddenDetail`.
pub(crate) struct Finding {
    pub(crate) reason: String,
    pub(crate) detail: String,
}

type Check = fn(&Value, u32) -> Option<Finding>;

/// A check: its ID, level, function, and the restricted check (with the minor version it
/// arrived in) that overrides it at the restricted level.
type Registered = (&'static str, Level, Check, Option<(&'static str, u32)>);

/// The modelled checks in registry order (baseline IDs sorted, then restricted IDs sorted),
/// with their level and the restricted check that overrides them from a version on.
const CHECKS: [Registered; 12] = [
    (
        "capabilities_baseline",
        Level::Baseline,
        super::pod_security_checks::capabilities_baseline,
        Some(("capabilities_restricted", 22)),
    ),
    (
        "hostNamespaces",
        Level::Baseline,
        super::pod_security_checks::host_namespaces,
        None,
    ),
    (
        "hostPathVolumes",
        Level::Baseline,
        super::pod_security_checks::host_path_volumes,
        Some(("restrictedVolumes", 0)),
    ),
    (
        "hostPorts",
        Level::Baseline,
        super::pod_security_checks::host_ports,
        None,
    ),
    (
        "privileged",
        Level::Baseline,
        super::pod_security_checks::privileged,
        None,
    ),
    (
        "seccompProfile_baseline",
        Level::Baseline,
        super::pod_security_checks::seccomp_baseline,
        Some(("seccompProfile_restricted", 19)),
    ),
    (
        "allowPrivilegeEscalation",
        Level::Restricted,
        super::pod_security_restricted::allow_privilege_escalation,
        None,
    ),
    (
        "capabilities_restricted",
        Level::Restricted,
        super::pod_security_restricted::capabilities_restricted,
        None,
    ),
    (
        "restrictedVolumes",
        Level::Restricted,
        super::pod_security_restricted::restricted_volumes,
        None,
    ),
    (
        "runAsNonRoot",
        Level::Restricted,
        super::pod_security_restricted::run_as_non_root,
        None,
    ),
    (
        "runAsUser",
        Level::Restricted,
        super::pod_security_restricted::run_as_user,
        None,
    ),
    (
        "seccompProfile_restricted",
        Level::Restricted,
        super::pod_security_restricted::seccomp_restricted,
        None,
    ),
];

/// `checkRegistry.EvaluatePod`: the failed checks of `pod` at `policy`.
fn evaluate(policy: LevelVersion, pod: &Value) -> Vec<Finding> {
    if policy.level == Level::Privileged {
        return Vec::new();
    }
    let minor = policy.effective_minor();
    CHECKS
        .iter()
        .filter(|(_, level, _, _)| *level <= policy.level)
        .filter(|(_, _, _, overridden)| {
            policy.level != Level::Restricted || overridden.is_none_or(|(_, since)| minor < since)
        })
        .filter_map(|(_, _, check, _)| check(pod, minor))
        .collect()
}

/// `joinQuote`: `"a", "b"`.
pub(crate) fn join_quote<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let inner: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    format!("\"{}\"", inner.join("\", \""))
}

/// `pluralize`.
pub(crate) fn pluralize<'a>(singular: &'a str, plural: &'a str, count: usize) -> &'a str {
    if count == 1 { singular } else { plural }
}

/// The sorted list of a set, as `sets.String.List()` gives it.
pub(crate) fn sorted(set: &BTreeSet<String>) -> Vec<String> {
    set.iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ns(labels: Value) -> Value {
        json!({"metadata": {"name": "n", "labels": labels}})
    }

    #[test]
    fn policies_from_labels() {
        let (enforce, warn, errors) = policy(&labels(&ns(json!({ENFORCE: "baseline"}))));
        assert_eq!(enforce.render(), "baseline:latest");
        assert_eq!(warn.render(), "baseline:latest");
        assert!(errors.is_empty());
        let (enforce, _, errors) = policy(&labels(&ns(
            json!({ENFORCE: "bogus", ENFORCE_VERSION: "v1.024"}),
        )));
        assert_eq!(enforce.render(), "restricted:latest");
        assert_eq!(errors.len(), 2);
        let (enforce, _, _) = policy(&labels(&ns(
            json!({ENFORCE: "restricted", ENFORCE_VERSION: "v1.24"}),
        )));
        assert_eq!(enforce.render(), "restricted:v1.24");
        let err = validate_namespace(&ns(json!({ENFORCE: "bogus"})), None).unwrap_err();
        assert_eq!(
            err.message,
            "Namespace \"n\" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"bogus\": must be one of privileged, baseline, restricted"
        );
    }
}
