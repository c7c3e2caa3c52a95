//! Why a run failed, and the exit code for it, in one place. Each module keeps its own error
//! (settings, the exchange, the authorization token file, the probe); this type gathers them
//! with their source and adds the failures of the other modes (a port, a file, stdout, exec).
//! The modules it gathers from never import it back, so there is no circle: `probe` returns
//! its own error, and only `process`, `exec`, `serve` and `update` return this one.

use crate::auth_token::AuthTokenError;
use crate::probe::ProbeError;
use crate::settings::SettingsError;
use crate::sts::ExchangeError;

/// Why a run failed; every message names the input or link and the fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    #[error(transparent)]
    AuthToken(#[from] AuthTokenError),
    #[error(transparent)]
    Probe(#[from] ProbeError),
    #[error("cannot listen on {address}: {source}; pick another --port (0 picks a free one)")]
    Listen {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot write the credentials to stdout: {0}")]
    Stdout(#[source] std::io::Error),
    #[error("cannot watch for SIGTERM: {0}")]
    Signals(#[source] std::io::Error),
    #[error("cannot run {command}: {source}")]
    Exec {
        command: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Update(#[from] crate::credentials_file::UpdateError),
}

impl Error {
    /// 2 for bad input (as clap uses for usage), 127 for a command that cannot run (as shells
    /// say), 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Settings(_)
            | Error::AuthToken(AuthTokenError::Invalid { .. })
            | Error::Probe(
                ProbeError::NoTokenFile | ProbeError::AuthToken(AuthTokenError::Invalid { .. }),
            ) => 2,
            Error::Exec { .. } => 127,
            _ => 1,
        }
    }
}
