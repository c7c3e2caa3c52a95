//! The plugin's errors: one clear line plus a hint, and kubectl's exit codes.

use crate::trust_policy::PolicyError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input: exit code 2, as for usage errors.
    #[error("{0}")]
    Usage(String),
    /// The cluster said no, or could not be reached.
    #[error("{0}")]
    Cluster(String),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("{0}")]
    Io(String),
    /// STS refused or could not be reached; the message is already explained.
    #[error("{0}")]
    Sts(String),
    /// A test's FAIL verdict, printed on stdout as it is.
    #[error("{0}")]
    Verdict(String),
    /// Ctrl-C: exit code 130, as shells report SIGINT.
    #[error("{0}")]
    Interrupted(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Interrupted(_) => 130,
            _ => 1,
        }
    }
}

impl From<irsa_sts::ArnError> for CliError {
    fn from(error: irsa_sts::ArnError) -> Self {
        CliError::Usage(error.to_string())
    }
}

/// Explains a failed API call on `what` (such as `serviceaccount shop/cart`) while doing `verb`.
pub fn from_kube(error: kube::Error, verb: &str, what: &str) -> CliError {
    match error {
        kube::Error::Api(status) if status.is_forbidden() => CliError::Cluster(format!(
            "forbidden: {} (ask for RBAC permission to {verb} it; check with `kubectl auth can-i {verb} {}`)",
            status.message,
            what.split('/')
                .next()
                .unwrap_or(what)
                .split_whitespace()
                .next()
                .unwrap_or(what),
        )),
        kube::Error::Api(status) if status.is_not_found() => {
            CliError::Cluster(format!("{what} not found: {}", status.message))
        }
        kube::Error::Api(status) if status.is_conflict() || status.is_already_exists() => {
            CliError::Cluster(format!(
                "conflict while trying to {verb} {what}: {} (someone changed it meanwhile; run the command again)",
                status.message
            ))
        }
        kube::Error::Api(status) if status.is_invalid() => CliError::Usage(format!(
            "the cluster refused to {verb} {what}: {}",
            status.message
        )),
        kube::Error::Api(status) => CliError::Cluster(format!(
            "cannot {verb} {what}: {} ({} {})",
            status.message, status.code, status.reason
        )),
        other => CliError::Cluster(format!(
            "cannot {verb} {what}: {other} (check that the cluster is reachable: --context, --kubeconfig, --request-timeout)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(
            kube::core::Status::failure(message, reason)
                .with_code(code)
                .boxed(),
        )
    }

    #[test]
    fn api_statuses_become_clear_errors() {
        let what = "serviceaccount shop/cart";
        let forbidden = from_kube(
            api_error(
                403,
                "Forbidden",
                "serviceaccounts \"cart\" is forbidden: User \"jane\" cannot patch resource",
            ),
            "patch",
            what,
        );
        assert!(
            forbidden
                .to_string()
                .starts_with("forbidden: serviceaccounts \"cart\" is forbidden")
        );
        assert!(
            forbidden
                .to_string()
                .contains("kubectl auth can-i patch serviceaccount")
        );
        assert_eq!(forbidden.exit_code(), 1);

        let conflict = from_kube(
            api_error(409, "Conflict", "the object has been modified"),
            "patch",
            what,
        );
        assert!(
            conflict
                .to_string()
                .contains("someone changed it meanwhile; run the command again")
        );

        let exists = from_kube(
            api_error(
                409,
                "AlreadyExists",
                "serviceaccounts \"cart\" already exists",
            ),
            "create",
            what,
        );
        assert!(
            exists.to_string().contains("run the command again"),
            "{exists}"
        );

        let invalid = from_kube(
            api_error(422, "Invalid", "metadata.name: Invalid value"),
            "create",
            what,
        );
        assert!(
            invalid
                .to_string()
                .contains("the cluster refused to create serviceaccount shop/cart")
        );
        assert_eq!(invalid.exit_code(), 2);

        let missing = from_kube(
            api_error(404, "NotFound", "serviceaccounts \"cart\" not found"),
            "get",
            what,
        );
        assert_eq!(
            missing.to_string(),
            "serviceaccount shop/cart not found: serviceaccounts \"cart\" not found"
        );
    }
}
