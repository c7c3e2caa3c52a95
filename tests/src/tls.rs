//! A throwaway PKI for HTTPS fixtures: a self-signed CA and a server certificate it signs.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A freshly generated CA and a server configuration presenting a certificate it signed.
///
/// The server presents the chain `[server certificate, CA certificate]`, as a host behind a
/// private CA usually does, so the top certificate of the served chain is the CA.
pub struct ServerTls {
    /// The CA certificate, PEM-encoded: what a client must trust.
    pub ca_pem: String,
    /// The CA certificate, DER-encoded (for example to compute an IAM thumbprint).
    pub ca_der: Vec<u8>,
    /// The server certificate, PEM-encoded.
    pub server_cert_pem: String,
    /// A rustls (ring) server configuration offering HTTP/1.1 over ALPN.
    pub config: Arc<rustls::ServerConfig>,
}

impl ServerTls {
    /// Generates a CA and a server certificate valid for `dns_names` and for `127.0.0.1`.
    ///
    /// # Panics
    ///
    /// When a name is not a valid DNS name, or key generation fails.
    pub fn generate(dns_names: &[&str]) -> Self {
        let ca_key = KeyPair::generate().expect("generate the CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name = distinguished_name("kubectl-irsa test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).expect("self-sign the CA");
        let issuer = Issuer::new(ca_params, ca_key);

        let mut names: Vec<String> = dns_names.iter().map(|name| (*name).to_owned()).collect();
        names.push("127.0.0.1".to_owned());
        let server_key = KeyPair::generate().expect("generate the server key");
        let mut server_params = CertificateParams::new(names).expect("server certificate names");
        server_params.distinguished_name =
            distinguished_name(dns_names.first().copied().unwrap_or("127.0.0.1"));
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        server_params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        server_params.use_authority_key_identifier_extension = true;
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .expect("sign the server certificate");

        let chain: Vec<CertificateDer<'static>> =
            vec![server_cert.der().clone(), ca_cert.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("rustls protocol versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("rustls server certificate");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];

        Self {
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().to_vec(),
            server_cert_pem: server_cert.pem(),
            config: Arc::new(config),
        }
    }
}

fn distinguished_name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}
