//! `probe`: asks a running `serve` for credentials, as a client would, for a startupProbe.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, HOST};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::{CREDENTIALS_PATH, auth_token, token_file_given};
use crate::cli::ProbeArgs;
use crate::provider::RunError;
use crate::settings::SettingsError;
use crate::sts;

/// The whole probe, connection included, must answer within this.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Ready when `GET /v1/credentials` with the token answers 200 (the body is not read): serve
/// holds valid credentials. A connection alone would pass while the first STS call runs.
pub fn probe(args: &ProbeArgs, env: impl Fn(&str) -> Option<String>) -> Result<(), RunError> {
    let Some(token_file) = token_file_given(args.auth_token_file.as_ref(), env) else {
        return Err(RunError::Settings(SettingsError(
            "probe needs the token file serve uses: pass --auth-token-file PATH".into(),
        )));
    };
    let Some(token) = auth_token::existing(&token_file)? else {
        return Err(RunError::NotReady(format!(
            "{} is not written yet: serve has no credentials yet (its log says why)",
            token_file.display()
        )));
    };
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let asked = async {
        let stream = TcpStream::connect(address)
            .await
            .map_err(|e| format!("nothing accepts connections on {address}: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("{address}: {e}"))?;
        tokio::spawn(connection);
        let request = Request::get(CREDENTIALS_PATH)
            .header(HOST, address.to_string())
            .header(AUTHORIZATION, token.as_str())
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("{address}: {e}"))?;
        match response.status() {
            StatusCode::OK => Ok(()),
            status => Err(format!(
                "http://{address}{CREDENTIALS_PATH} answered {status}"
            )),
        }
    };
    sts::runtime()?.block_on(async {
        match tokio::time::timeout(PROBE_TIMEOUT, asked).await {
            Ok(answer) => answer.map_err(RunError::NotReady),
            Err(_) => Err(RunError::NotReady(format!(
                "http://{address}{CREDENTIALS_PATH} did not answer within {PROBE_TIMEOUT:?}"
            ))),
        }
    })
}
