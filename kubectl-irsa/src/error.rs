//! The plugin's error: every way a command can fail to run, each keeping its source, and the
//! exit code kubectl would use (2 for bad input, 1 for the rest, 130 for Ctrl-C). A verdict
//! (a test or doctor FAIL) is not an error: commands return it as an exit code.

use std::path::PathBuf;

use crate::kube_api::{ConnectError, IssuerError, KubeError};
use crate::manifests::ManifestError;
use crate::names::NameError;
use crate::oidc::keys::KeyError;
use crate::trust_policy::PolicyError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input found after parsing: a combination of flags, a value the cluster holds.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Name(#[from] NameError),
    #[error(transparent)]
    Arn(#[from] irsa_sts::ArnError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// A failed API call.
    #[error(transparent)]
    Kube(#[from] KubeError),
    /// A failed API call whose cause the command knows how to fix.
    #[error("{source}; {hint}")]
    Hinted {
        #[source]
        source: KubeError,
        hint: String,
    },
    #[error(transparent)]
    Issuer(#[from] IssuerError),
    /// The cluster does not serve a document (or not to this user): the user must give what it
    /// holds, as `fix` says.
    #[error("the cluster does not serve {path} ({}): {fix}", source.status().map_or(String::new(), |s| s.message.clone()))]
    NotServed {
        path: &'static str,
        fix: &'static str,
        #[source]
        source: KubeError,
    },
    /// The cluster answered, but not with what IRSA needs (no token, no keys).
    #[error("{0}")]
    Cluster(String),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Key(#[from] KeyError),
    /// STS refused or could not be reached; the message explains the broken link.
    #[error(transparent)]
    Sts(#[from] irsa_sts::Explained),
    #[error(transparent)]
    Endpoint(#[from] irsa_sts::EndpointError),
    #[error(transparent)]
    Transport(#[from] irsa_sts::TransportError),
    /// A file given on the command line that cannot be read.
    #[error("cannot read {flag} {}: {source}", path.display())]
    Read {
        flag: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file or directory this command writes.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Standard output is gone or full; a closed pipe ends the program quietly (see main).
    #[error("cannot write to standard output: {0}")]
    Output(#[from] std::io::Error),
    /// A program `exec` was asked to run.
    #[error("cannot run {program}: {source}")]
    Exec {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// Something that works everywhere else failed here (a runtime, a TLS setup).
    #[error("{what}: {detail}")]
    Internal { what: &'static str, detail: String },
    /// The command's own deadline (`--timeout` of test and doctor) passed.
    #[error(
        "{command} did not finish within {after} (--timeout): {what} is too slow; raise --timeout, or set --request-timeout to see which request hangs"
    )]
    Deadline {
        command: &'static str,
        after: irsa_sts::HumanDuration,
        what: &'static str,
    },
    /// An IAM or S3 call failed; the message names the action and the fix.
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
    /// Ctrl-C: the message says what was left behind.
    #[error("{0}")]
    Interrupted(String),
}

impl Error {
    /// kubectl's exit codes: 2 for usage errors, 130 after SIGINT, 1 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_)
            | Error::Name(_)
            | Error::Arn(_)
            | Error::Manifest(_)
            | Error::Key(_)
            | Error::Endpoint(_)
            | Error::Read { .. }
            | Error::NotServed { .. }
            | Error::Issuer(IssuerError::NotServed(_) | IssuerError::Forbidden(_)) => 2,
            Error::Kube(error) if error.is_invalid() => 2,
            Error::Connect(ConnectError::Client(_) | ConnectError::Exec(_)) => 1,
            Error::Connect(_) => 2,
            Error::Interrupted(_) => 130,
            _ => 1,
        }
    }

    /// Whether this is a closed standard output (`| head`), which is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(error) if error.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
