//! Fetching the issuer's documents from the issuer URL itself, as IAM does (`--check-public`):
//! a verified HTTPS GET trusting the public roots and, for a private CA, `--ca-bundle`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::oidc::provider::host_and_port;

/// The most a document may weigh.
const MAX_BODY: usize = 1 << 20;

/// A TLS client configuration trusting the public roots and the PEM certificates of `ca_bundle`.
pub fn tls_config(ca_bundle: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        // A root the webpki parser rejects is skipped, as every client does.
        let _ = roots.add(der.clone());
    }
    if let Some(path) = ca_bundle {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read --ca-bundle {}: {e}", path.display()))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("--ca-bundle {} is not PEM: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "--ca-bundle {} holds no BEGIN CERTIFICATE block",
                path.display()
            ));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("--ca-bundle {}: {e}", path.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// `GET url` over verified HTTPS; the body when the answer is 200.
pub async fn get(
    url: &str,
    config: Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<String, String> {
    tokio::time::timeout(timeout, get_inner(url, config))
        .await
        .map_err(|_| format!("{url} did not answer within {timeout:?}"))?
}

async fn get_inner(url: &str, config: Arc<rustls::ClientConfig>) -> Result<String, String> {
    let (host, port) = host_and_port(url)?;
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| format!("invalid URL {url:?}: {e}"))?;
    let name = ServerName::try_from(host.clone())
        .map_err(|_| format!("{host:?} is not a valid host name"))?;
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS with {host}:{port} failed: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("HTTP with {host}:{port} failed: {e}"))?;
    tokio::spawn(connection);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let authority = uri.authority().map_or(host.as_str(), |a| a.as_str());
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::USER_AGENT, "kubectl-irsa")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("GET {url} failed: {e}"))?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| format!("reading {url} failed: {e}"))?
        .to_bytes();
    if !status.is_success() {
        return Err(format!("GET {url} answered {status}"));
    }
    String::from_utf8(body.to_vec()).map_err(|_| format!("{url} is not UTF-8 text"))
}
