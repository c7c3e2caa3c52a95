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
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
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
        kube::Error::Api(status) if status.is_conflict() => CliError::Cluster(format!(
            "conflict while trying to {verb} {what}: {} (someone changed it meanwhile; run the command again)",
            status.message
        )),
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
