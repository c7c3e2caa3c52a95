//! `probe`: asks a running `serve` for credentials, as a client would, for a startupProbe. Its
//! own mode because it needs no role, token or STS: only the port and the token file. The GET
//! is irsa-sts's bounded one, over plain http on loopback.

use std::path::PathBuf;
use std::time::Duration;

use hyper::StatusCode;
use irsa_sts::http::{self, GetOptions, HttpError};

use crate::auth_token::{self, AuthTokenError, CREDENTIALS_PATH};
use crate::cli::ProbeArgs;
use crate::sts;

/// The whole probe, connection included, must answer within this.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// A credentials document is about 1.5 kB; a larger answer is not `serve`'s.
const MAX_BODY: usize = 16 * 1024;

/// Why the probe says no: `serve` is not ready (yet), exit 1; or the probe cannot ask, exit 2
/// for a missing or unusable token file (see `error.rs`).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("probe needs the token file serve uses: pass --auth-token-file PATH")]
    NoTokenFile,
    #[error(transparent)]
    AuthToken(#[from] AuthTokenError),
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("not ready: {} is not written yet: serve has no credentials yet (its log says why)", path.display())]
    NoToken { path: PathBuf },
    #[error("not ready: {0}")]
    NoAnswer(#[from] HttpError),
    #[error("not ready: {url} answered {status}")]
    Status { url: String, status: StatusCode },
}

/// Ready when `GET /v1/credentials` with the token answers 200: serve holds valid credentials.
/// A connection alone would pass while the first STS call runs.
pub fn run(args: &ProbeArgs, env: impl Fn(&str) -> Option<String>) -> Result<(), ProbeError> {
    let token_file = auth_token::given_path(args.auth_token_file.as_ref(), env)
        .ok_or(ProbeError::NoTokenFile)?;
    let Some(token) = auth_token::existing(&token_file)? else {
        return Err(ProbeError::NoToken { path: token_file });
    };
    let url = format!("http://127.0.0.1:{}{CREDENTIALS_PATH}", args.port);
    let options = GetOptions {
        timeout: PROBE_TIMEOUT,
        max_body: MAX_BODY,
        user_agent: "irsa-credential-process probe",
    };
    let headers = [("authorization", token.as_str())];
    let answer = sts::runtime()
        .map_err(ProbeError::Runtime)?
        .block_on(http::get(&url, &headers, &options))?;
    if answer.status == StatusCode::OK {
        return Ok(());
    }
    Err(ProbeError::Status {
        url,
        status: answer.status,
    })
}
