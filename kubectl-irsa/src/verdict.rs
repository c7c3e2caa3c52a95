//! Reading a finished test pod: did it assume the role the ServiceAccount names?

use irsa_sts::RoleArn;

/// How a test pod ended, judged from its exit and logs.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The identity call succeeded as the expected role.
    Pass {
        assumed_arn: String,
        account: String,
    },
    /// A user command exited 0 (its output is not an identity to check).
    CommandSucceeded,
    /// STS answered with this code; `line` is the log line that says so.
    Refused { code: String, line: String },
    /// The pod assumed another role (or none: the node's role, for instance).
    WrongIdentity { assumed_arn: String },
    /// The container failed without a known STS error.
    Failed { last_line: String },
}

/// Judges the logs of a pod whose container exited with `succeeded`; `identity_command` says
/// whether the pod ran the default `aws sts get-caller-identity`.
pub fn judge(logs: &str, succeeded: bool, identity_command: bool, role: &RoleArn) -> Verdict {
    for code in [
        "AccessDenied",
        "InvalidIdentityToken",
        "ExpiredTokenException",
        "IDPRejectedClaim",
        "IDPCommunicationError",
        "RegionDisabledException",
    ] {
        if let Some(line) = logs.lines().find(|line| line.contains(code)) {
            return Verdict::Refused {
                code: code.into(),
                line: line.trim().to_string(),
            };
        }
    }
    if succeeded && !identity_command {
        return Verdict::CommandSucceeded;
    }
    if succeeded && let Some(assumed_arn) = identity_arn(logs) {
        let expected = format!(
            "arn:{}:sts::{}:assumed-role/{}/",
            role.partition(),
            role.account(),
            role.name()
        );
        return if assumed_arn.starts_with(&expected) {
            Verdict::Pass {
                account: role.account().to_string(),
                assumed_arn,
            }
        } else {
            Verdict::WrongIdentity { assumed_arn }
        };
    }
    Verdict::Failed {
        last_line: logs
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("(no logs)")
            .trim()
            .to_string(),
    }
}

/// The `Arn` of `aws sts get-caller-identity --output json` in the logs.
fn identity_arn(logs: &str) -> Option<String> {
    let start = logs.find('{')?;
    let end = logs.rfind('}')?;
    let json: serde_json::Value = serde_json::from_str(logs.get(start..=end)?).ok()?;
    json.get("Arn")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role() -> RoleArn {
        "arn:aws:iam::123456789012:role/cart".parse().unwrap()
    }

    #[test]
    fn passes_only_as_the_annotated_role() {
        let logs = "{\n  \"UserId\": \"AROA:botocore-session-1\",\n  \"Account\": \"123456789012\",\n  \"Arn\": \"arn:aws:sts::123456789012:assumed-role/cart/botocore-session-1\"\n}\n";
        assert_eq!(
            judge(logs, true, true, &role()),
            Verdict::Pass {
                assumed_arn: "arn:aws:sts::123456789012:assumed-role/cart/botocore-session-1"
                    .into(),
                account: "123456789012".into()
            }
        );
        let node = logs.replace("assumed-role/cart/", "assumed-role/eks-node-role/");
        assert!(matches!(
            judge(&node, true, true, &role()),
            Verdict::WrongIdentity { .. }
        ));
    }

    #[test]
    fn names_sts_errors_from_the_logs() {
        let logs = "\nAn error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform sts:AssumeRoleWithWebIdentity\n";
        let Verdict::Refused { code, line } = judge(logs, false, true, &role()) else {
            panic!()
        };
        assert_eq!(code, "AccessDenied");
        assert!(line.starts_with("An error occurred (AccessDenied)"));
        assert!(
            matches!(judge("x (InvalidIdentityToken) y", false, true, &role()), Verdict::Refused { code, .. } if code == "InvalidIdentityToken")
        );
    }

    #[test]
    fn other_failures_keep_the_last_line() {
        assert_eq!(
            judge("a\nboom\n\n", false, true, &role()),
            Verdict::Failed {
                last_line: "boom".into()
            }
        );
        assert_eq!(
            judge("listing", true, false, &role()),
            Verdict::CommandSucceeded
        );
        assert_eq!(
            judge("not json", true, true, &role()),
            Verdict::Failed {
                last_line: "not json".into()
            }
        );
    }
}
