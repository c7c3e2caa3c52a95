//! One small HTTP GET for both binaries: the helper's `probe` asks `serve` on loopback, and the
//! plugin's doctor fetches an issuer's documents over verified HTTPS as IAM does. Built on
//! hyper-util's client and hyper-rustls (already in the tree for the AWS SDK), with what every
//! caller needs around it: one deadline for the whole exchange and a cap on the body. Plain
//! http and https are separate functions, so the helper, which asks only its own loopback,
//! does not link the TLS connector.

use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::StatusCode;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;

/// Why a GET got no answer to judge.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("invalid URL {url:?}: {why}")]
    InvalidUrl { url: String, why: String },
    #[error("cannot connect for GET {url}: {why}")]
    Connect { url: String, why: String },
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
    pub status: StatusCode,
    pub body: Vec<u8>,
}

/// `GET url` over plain http, with `headers`, within `options.timeout`.
pub async fn get(
    url: &str,
    headers: &[(&str, &str)],
    options: &GetOptions,
) -> Result<Response, HttpError> {
    within(
        url,
        options,
        send(HttpConnector::new(), url, headers, options),
    )
    .await
}

/// `GET url` over https verified with `tls`; plain http is refused, as IAM refuses it.
pub async fn get_https(
    url: &str,
    headers: &[(&str, &str)],
    tls: &rustls::ClientConfig,
    options: &GetOptions,
) -> Result<Response, HttpError> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls.clone())
        .https_only()
        .enable_http1()
        .build();
    within(url, options, send(connector, url, headers, options)).await
}

async fn within(
    url: &str,
    options: &GetOptions,
    exchange: impl Future<Output = Result<Response, HttpError>>,
) -> Result<Response, HttpError> {
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
    headers: &[(&str, &str)],
    options: &GetOptions,
) -> Result<Response, HttpError>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let uri: hyper::Uri =
        url.parse()
            .map_err(|e: hyper::http::uri::InvalidUri| HttpError::InvalidUrl {
                url: url.to_string(),
                why: e.to_string(),
            })?;
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
    let response = client.request(request).await.map_err(|e| {
        if e.is_connect() {
            HttpError::Connect {
                url: url.to_string(),
                why: crate::network::describe(&e),
            }
        } else {
            failed(crate::network::describe(&e))
        }
    })?;
    let status = response.status();
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
