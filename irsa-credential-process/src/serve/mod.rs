//! `serve`: the credentials over HTTP on loopback, for SDKs that cannot run a process or read a
//! token. The container credentials contract (AWS_CONTAINER_CREDENTIALS_FULL_URI with
//! AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) always; IMDSv2 with `--imds`. This file starts the
//! server (listen, first credentials, token file, env lines) and hands the refresh loop a
//! channel to publish into; `routes` and `imds` answer the requests.

mod host;
mod imds;
mod routes;

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use irsa_sts::rfc3339;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth_token::{self, AuthTokenError, CREDENTIALS_PATH};
use crate::cache::Cache;
use crate::cli::ServeArgs;
use crate::error::Error;
use crate::refresh::{Fresh, Refresher, Stop};
use crate::report::Reporter;
use crate::settings::{CacheDir, Settings, SettingsError};
use crate::sts::{self, ExchangeError};

/// A connection that sends no complete request head within this is closed.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `serve`'s own settings, validated.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub port: u16,
    pub auth_token_file: PathBuf,
    /// The token file defaults into the cache directory, which may not exist yet.
    pub token_in_cache_dir: Option<PathBuf>,
    pub imds: bool,
}

impl ServeConfig {
    pub fn resolve(
        args: &ServeArgs,
        settings: &Settings,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let mut token_in_cache_dir = None;
        let auth_token_file = match (
            auth_token::given_path(args.auth_token_file.as_ref(), env),
            &settings.cache_dir,
        ) {
            (Some(path), _) => path,
            (None, CacheDir::At(dir)) => {
                token_in_cache_dir = Some(dir.clone());
                dir.join("serve-token")
            }
            (None, CacheDir::Off | CacheDir::Undetermined) => {
                return Err(SettingsError(
                    "serve needs a file for its authorization token: pass --auth-token-file PATH (or set AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE), since there is no cache directory to put it in".into(),
                ));
            }
        };
        Ok(ServeConfig {
            port: args.port,
            auth_token_file,
            token_in_cache_dir,
            imds: args.imds,
        })
    }
}

/// What every request handler sees.
pub struct Shared {
    pub auth_token: String,
    pub credentials: watch::Receiver<Fresh>,
    pub role_arn: String,
    pub role_name: String,
    pub imds: Option<imds::Sessions>,
    pub reporter: Reporter,
}

pub fn run(
    settings: &Settings,
    args: &ServeArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(), Error> {
    let config = ServeConfig::resolve(args, settings, env)?;
    let reporter = Reporter {
        verbose: settings.verbose,
    };
    sts::runtime().map_err(ExchangeError::Runtime)?.block_on(async {
        // Fail fast: a port in use, an STS refusal or an unwritable token file stops the start.
        let (ipv4, ipv6) = listen(config.port, reporter).await?;
        let port = ipv4.local_addr().map_or(config.port, |a| a.port());
        let existing_token = auth_token::existing(&config.auth_token_file)?;
        let (refresher, first) = Refresher::start(settings, reporter).await?;
        let auth_token = match existing_token {
            Some(token) => token,
            None => create_auth_token(&config)?,
        };
        // Before the env lines: whoever reads them may stop the server at once.
        let stop = Stop::listen().map_err(Error::Signals)?;

        let base = format!("http://127.0.0.1:{port}");
        print_env(&base, &config);
        reporter.note(&format!(
            "serving credentials for {} on {base}{CREDENTIALS_PATH}{}; they expire {}",
            settings.role_arn,
            if config.imds { " and IMDSv2" } else { "" },
            rfc3339(first.credentials.expiration)
        ));
        if config.imds {
            reporter.warn(
                "--imds answers any process that reaches this loopback, without the Authorization token; use it only where every process in the pod may have these credentials",
            );
        }
        let (publisher, credentials) = watch::channel(first.clone());
        let shared = Arc::new(Shared {
            auth_token,
            credentials,
            role_arn: settings.role_arn.to_string(),
            role_name: settings.role_arn.name().to_string(),
            imds: config.imds.then(imds::Sessions::default),
            reporter,
        });
        tokio::spawn(accept(ipv4, shared.clone()));
        if let Some(ipv6) = ipv6 {
            tokio::spawn(accept(ipv6, shared.clone()));
        }
        let publish = |fresh: Fresh| {
            publisher.send_replace(fresh);
            std::future::ready(Ok::<(), std::convert::Infallible>(()))
        };
        refresher.until_stopped(first, stop, publish).await;
        Ok(())
    })
}

/// A new token in the token file; the default file lives in the cache directory, made here
/// (0700) when it does not exist yet.
fn create_auth_token(config: &ServeConfig) -> Result<String, AuthTokenError> {
    if let Some(dir) = &config.token_in_cache_dir {
        Cache::open(dir).map_err(|e| AuthTokenError::Unusable {
            path: config.auth_token_file.display().to_string(),
            source: std::io::Error::other(e),
        })?;
    }
    auth_token::create(&config.auth_token_file)
}

/// 127.0.0.1 must work; [::1] is added on the same port where the host has IPv6.
async fn listen(
    port: u16,
    reporter: Reporter,
) -> Result<(TcpListener, Option<TcpListener>), Error> {
    let ipv4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let ipv4 = TcpListener::bind(ipv4)
        .await
        .map_err(|source| Error::Listen {
            address: ipv4.to_string(),
            source,
        })?;
    let port = ipv4.local_addr().map_or(port, |a| a.port());
    let ipv6 = match TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).await {
        Ok(listener) => Some(listener),
        Err(error) => {
            reporter.info(&format!("not listening on [::1]:{port}: {error}"));
            None
        }
    };
    Ok((ipv4, ipv6))
}

/// The lines to `eval` (or to copy into the app's env), on stdout; nothing secret.
fn print_env(base: &str, config: &ServeConfig) {
    // Single quotes for `eval`; a quote inside is closed, escaped and reopened.
    let token_file = config
        .auth_token_file
        .display()
        .to_string()
        .replace('\'', "'\\''");
    let mut lines = format!(
        "export AWS_CONTAINER_CREDENTIALS_FULL_URI='{base}{CREDENTIALS_PATH}'\nexport AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE='{token_file}'\n"
    );
    if config.imds {
        lines.push_str(&format!(
            "export AWS_EC2_METADATA_SERVICE_ENDPOINT='{base}/'\n"
        ));
    }
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (run detached) must not stop the server.
    let _ = stdout
        .write_all(lines.as_bytes())
        .and_then(|()| stdout.flush());
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors, say: wait instead of spinning.
                shared.reporter.warn(&format!("accept failed: {error}"));
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| routes::handle(request, shared.clone()));
            // A client that hangs up mid-request is its own business.
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
