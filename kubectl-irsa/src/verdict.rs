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
    /// STS refused the token exchange with this code; `line` is the log line that says so.
    Refused { code: String, line: String },
    /// The pod had credentials, but the user's command was denied by the role's permissions
    /// (`line` names the operation).
    CommandDenied { line: String },
    /// The pod assumed another role (or none: the node's role, for instance).
    WrongIdentity { assumed_arn: String },
    /// The container failed without a known STS error.
    Failed { last_line: String },
}

/// Judges the logs of a pod whose container exited with `succeeded`; `identity_command` says
/// whether the pod ran the default `aws sts get-caller-identity`.
pub fn judge(logs: &str, succeeded: bool, identity_command: bool, role: &RoleArn) -> Verdict {
    if let Some(refused) = exchange_refused(logs, identity_command) {
        return refused;
    }
    if !succeeded && let Some(line) = logs.lines().find(|line| line.contains("AccessDenied")) {
        return Verdict::CommandDenied {
            line: line.trim().to_string(),
        };
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

/// Error codes only the token exchange returns.
const EXCHANGE_CODES: [&str; 5] = [
    "InvalidIdentityToken",
    "ExpiredTokenException",
    "IDPRejectedClaim",
    "IDPCommunicationError",
    "RegionDisabledException",
];

/// The refusal of AssumeRoleWithWebIdentity in the logs. `AccessDenied` is the exchange's only
/// when the line names it (botocore: "when calling the AssumeRoleWithWebIdentity operation",
/// the Go SDK: "WebIdentityErr"), or when the command is `get-caller-identity`, which no policy
/// can deny; otherwise it is the user's command being denied.
fn exchange_refused(logs: &str, identity_command: bool) -> Option<Verdict> {
    let refused = |code: &str, line: &str| Verdict::Refused {
        code: code.into(),
        line: line.trim().to_string(),
    };
    for code in EXCHANGE_CODES {
        if let Some(line) = logs.lines().find(|line| line.contains(code)) {
            return Some(refused(code, line));
        }
    }
    // The Go SDK says WebIdentityErr on the line before "caused by: AccessDenied".
    let names_exchange =
        |line: &str| line.contains("AssumeRoleWithWebIdentity") || line.contains("WebIdentityErr");
    let lines: Vec<&str> = logs.lines().collect();
    (0..lines.len())
        .filter(|&i| lines[i].contains("AccessDenied"))
        .find(|&i| {
            identity_command || names_exchange(lines[i]) || (i > 0 && names_exchange(lines[i - 1]))
        })
        .map(|i| refused("AccessDenied", lines[i]))
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
    fn a_denied_command_is_not_a_refused_exchange() {
        let s3 = "\nAn error occurred (AccessDenied) when calling the ListBuckets operation: Access Denied\n";
        assert_eq!(
            judge(s3, false, false, &role()),
            Verdict::CommandDenied {
                line: "An error occurred (AccessDenied) when calling the ListBuckets operation: Access Denied".into()
            }
        );
        let exchange = "An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform sts:AssumeRoleWithWebIdentity";
        assert!(matches!(
            judge(exchange, false, false, &role()),
            Verdict::Refused { code, .. } if code == "AccessDenied"
        ));
        let go = "WebIdentityErr: failed to retrieve credentials\ncaused by: AccessDenied: Not authorized";
        assert!(matches!(
            judge(go, false, false, &role()),
            Verdict::Refused { .. }
        ));
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
