//! The HTTP client for STS, built to work inside a scratch image: CA roots are compiled in (plus a
//! PEM bundle for private CAs), and names resolve from `/etc/hosts` and `/etc/resolv.conf` in
//! Rust, without the NSS modules that glibc's resolver loads at run time.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::dns::{DnsFuture, ResolveDns, ResolveDnsError};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// A CA bundle that cannot be used; the message names the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(
        "cannot read the CA bundle {path}: {source}; point --ca-bundle (or AWS_CA_BUNDLE / SSL_CERT_FILE) at a readable PEM file"
    )]
    ReadBundle {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the CA bundle {path} holds no usable PEM certificate ({why}); it must contain -----BEGIN CERTIFICATE----- blocks"
    )]
    BadBundle { path: PathBuf, why: String },
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    #[error("cannot set up name resolution: {0}; check /etc/resolv.conf")]
    Dns(String),
}

/// Extra CA certificates, checked once so that a bad file is a clear error, never a panic later.
#[derive(Clone, Debug, Default)]
pub struct CaBundle {
    pem: Vec<u8>,
}

impl CaBundle {
    /// Reads and checks a PEM bundle.
    pub fn from_file(path: &Path) -> Result<Self, TransportError> {
        let pem = std::fs::read(path).map_err(|source| TransportError::ReadBundle {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |why: String| TransportError::BadBundle {
            path: path.to_path_buf(),
            why,
        };
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no certificate found".into()));
        }
        let mut store = rustls::RootCertStore::empty();
        for cert in certs {
            store.add(cert).map_err(|e| bad(e.to_string()))?;
        }
        Ok(CaBundle { pem })
    }
}

impl CaBundle {
    /// The bundle's certificates (checked by [`CaBundle::from_file`]).
    fn certificates(&self) -> impl Iterator<Item = CertificateDer<'static>> + '_ {
        CertificateDer::pem_slice_iter(&self.pem).filter_map(Result::ok)
    }
}

/// A rustls configuration trusting the embedded roots and `extra`, for HTTPS outside the AWS
/// SDK (see [`crate::http`]).
pub fn tls_config(extra: Option<&CaBundle>) -> Result<Arc<rustls::ClientConfig>, TransportError> {
    let mut roots = rustls::RootCertStore::empty();
    // A root the webpki parser rejects is skipped, as every client does.
    let _ =
        roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    for cert in extra.into_iter().flat_map(CaBundle::certificates) {
        roots
            .add(cert)
            .map_err(|e| TransportError::Tls(e.to_string()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// An HTTPS (and plain HTTP) client trusting the embedded roots and `extra`.
pub fn http_client(extra: Option<&CaBundle>) -> Result<SharedHttpClient, TransportError> {
    let embedded: Vec<pem::Pem> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|der| pem::Pem::new("CERTIFICATE", der.as_ref()))
        .collect();
    let mut trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(pem::encode_many(&embedded));
    if let Some(extra) = extra {
        trust = trust.with_pem_certificate(extra.pem.clone());
    }
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| TransportError::Tls(e.to_string()))?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .tls_context(context)
        .build_with_resolver(HostsThenDns::new()?))
}

/// Resolves from `/etc/hosts` first, then the name servers of `/etc/resolv.conf`; with no
/// `/etc/resolv.conf` (a scratch image) only `/etc/hosts` answers.
#[derive(Clone, Debug)]
struct HostsThenDns {
    resolver: Arc<TokioResolver>,
}

impl HostsThenDns {
    fn new() -> Result<Self, TransportError> {
        let mut builder = TokioResolver::builder_tokio().unwrap_or_else(|_| {
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(Vec::new()),
                TokioRuntimeProvider::default(),
            )
        });
        builder.options_mut().use_hosts_file = ResolveHosts::Always;
        let resolver = builder
            .build()
            .map_err(|e| TransportError::Dns(e.to_string()))?;
        Ok(HostsThenDns {
            resolver: Arc::new(resolver),
        })
    }
}

/// One line, as `host` and Go's resolver say it; hickory's own message dumps the whole query.
fn dns_failure(name: &str, error: &hickory_resolver::net::NetError) -> String {
    use hickory_resolver::net::NetError;
    if error.is_nx_domain() || error.is_no_records_found() {
        return format!("no such host {name}");
    }
    let why = match error {
        NetError::Timeout => "the name server did not answer".to_string(),
        NetError::NoConnections => "no name server to ask (check /etc/resolv.conf)".to_string(),
        other => crate::network::one_line(&other.to_string()),
    };
    format!("DNS lookup failed for {name}: {why}")
}

impl ResolveDns for HostsThenDns {
    fn resolve_dns<'a>(&'a self, name: &'a str) -> DnsFuture<'a> {
        DnsFuture::new(async move {
            let found = self
                .resolver
                .lookup_ip(name)
                .await
                .map_err(|e| ResolveDnsError::new(dns_failure(name, &e)))?;
            Ok(found.iter().collect::<Vec<IpAddr>>())
        })
    }
}
