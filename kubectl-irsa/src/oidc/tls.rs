//! Reading the certificate chain a host serves (the network part of the thumbprint).
//!
//! The handshake accepts whatever chain the host presents: the point is to read it, as
//! `openssl s_client -showcerts` does, not to trust it. Handshake signatures are still checked
//! against the presented certificate, so the chain is the one the peer holds the key for.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The certificates `host:port` serves, in the order served (leaf first), DER-encoded.
pub async fn served_chain(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Vec<Vec<u8>>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(ReadOnly {
        algorithms: provider.signature_verification_algorithms,
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let stream = handshake(host, port, Arc::new(config), timeout)
        .await?
        .map_err(|e| format!("TLS handshake with {host}:{port} failed: {e}"))?;
    let chain: Vec<Vec<u8>> = stream
        .get_ref()
        .1
        .peer_certificates()
        .unwrap_or_default()
        .iter()
        .map(|der| der.to_vec())
        .collect();
    if chain.is_empty() {
        return Err(format!("{host}:{port} presented no certificate"));
    }
    Ok(chain)
}

/// Whether `host:port` serves a chain that verifies against the public roots compiled into the
/// plugin (Mozilla's, as [`irsa_sts::transport::tls_config`] trusts them): the CAs IAM's own
/// trust store also holds, for which IAM needs no thumbprint. `Ok(Err(why))` for a chain they
/// do not verify; `Err` when no handshake could tell (connection refused, timeout).
pub async fn publicly_trusted(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Result<(), String>, String> {
    let config = irsa_sts::transport::tls_config(None).map_err(|e| e.to_string())?;
    match handshake(host, port, config, timeout).await? {
        Ok(_) => Ok(Ok(())),
        // A certificate the public roots refuse is the answer, not a failure.
        Err(error) => match error
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        {
            Some(rustls::Error::InvalidCertificate(why)) => Ok(Err(format!("{why:?}"))),
            _ => Err(format!("TLS handshake with {host}:{port} failed: {error}")),
        },
    }
}

type TlsStream = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// A TLS handshake with `host:port` under `config`, within `timeout`: the stream or the
/// handshake's own error (`Ok`), or why no handshake could happen (`Err`: a bad host name, a
/// refused connection, the timeout).
async fn handshake(
    host: &str,
    port: u16,
    config: Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<std::io::Result<TlsStream>, String> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| format!("{host:?} is not a valid host name"))?;
    let connect = async {
        let tcp = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        Ok(tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await)
    };
    tokio::time::timeout(timeout, connect)
        .await
        .map_err(|_| format!("{host}:{port} did not complete a TLS handshake within {timeout:?}"))?
}

/// Accepts any chain; verifies handshake signatures with the provider's algorithms.
#[derive(Debug)]
struct ReadOnly {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for ReadOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
