//! One small HTTP GET for both binaries: the helper's `probe` asks `serve` on loopback, and the
//! plugin's doctor fetches an issuer's documents over verified HTTPS as IAM does. Built on
//! hyper-util's client and hyper-rustls (already in the tree for the AWS SDK), with what every
//! caller needs around it: one deadline for the whole exchange and a cap on the body.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;

/// Why a GET got no answer to judge.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("invalid URL {url:?}: {why}")]
    InvalidUrl { url: String, why: String },
    #[error("{url} needs TLS, and this request has no TLS configuration")]
    NoTls { url: String },
    #[error("GET {url} failed: {detail}")]
    Failed { url: String, detail: String },
    #[error("{url} did not answer within {after:?}")]
    TimedOut { url: String, after: Duration },
    #[error("{url} sent more than {limit} bytes")]
    TooLarge { url: String, limit: usize },
}

/// How to make the request.
#[derive(Clone, Debug)]
pub struct GetOptions {
    /// For https URLs; `None` allows plain http only.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Connection, request and body together.
    pub timeout: Duration,
    /// The most the body may weigh.
    pub max_body: usize,
    /// The User-Agent, naming the binary that asks.
    pub user_agent: &'static str,
}

/// An answer, whatever its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// `GET url` with `headers`, within `options.timeout`.
pub async fn get(
    url: &str,
    headers: &[(&str, &str)],
    options: &GetOptions,
) -> Result<Response, HttpError> {
    let uri: hyper::Uri =
        url.parse()
            .map_err(|e: hyper::http::uri::InvalidUri| HttpError::InvalidUrl {
                url: url.to_string(),
                why: e.to_string(),
            })?;
    let exchange = async {
        match (&options.tls, uri.scheme_str()) {
            (Some(tls), _) => {
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(rustls::ClientConfig::clone(tls))
                    .https_or_http()
                    .enable_http1()
                    .build();
                send(connector, url, uri, headers, options).await
            }
            (None, Some("https")) => Err(HttpError::NoTls {
                url: url.to_string(),
            }),
            (None, _) => send(HttpConnector::new(), url, uri, headers, options).await,
        }
    };
    tokio::time::timeout(options.timeout, exchange)
        .await
        .map_err(|_| HttpError::TimedOut {
            url: url.to_string(),
            after: options.timeout,
        })?
}

async fn send<C>(
    connector: C,
    url: &str,
    uri: hyper::Uri,
    headers: &[(&str, &str)],
    options: &GetOptions,
) -> Result<Response, HttpError>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let failed = |detail: String| HttpError::Failed {
        url: url.to_string(),
        detail,
    };
    let client: Client<C, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let mut request =
        hyper::Request::get(uri).header(hyper::header::USER_AGENT, options.user_agent);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Empty::new())
        .map_err(|e| failed(e.to_string()))?;
    let response = client
        .request(request)
        .await
        .map_err(|e| failed(source_chain(&e)))?;
    let status = response.status().as_u16();
    let max_body = options.max_body;
    let body = Limited::new(response.into_body(), max_body)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                HttpError::TooLarge {
                    url: url.to_string(),
                    limit: max_body,
                }
            } else {
                failed(e.to_string())
            }
        })?
        .to_bytes()
        .to_vec();
    Ok(Response { status, body })
}

/// The client's own message says only "client error (Connect)"; the cause is in its sources.
fn source_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
