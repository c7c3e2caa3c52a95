//! The ServiceAccount token signer: an RSA 2048 key generated at start, the `kid` the
//! apiserver derives from it, the OIDC discovery document and JWKS it publishes, and
//! TokenRequest.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A signing key and what the apiserver publishes about it.
pub(crate) struct Signer {
    encoding_key: EncodingKey,
    public_pem: String,
    kid: String,
    n: String,
    e: String,
}

impl Signer {
    /// Generates a fresh RSA 2048 key.
    pub(crate) fn generate() -> Self {
        let mut rng = rsa::rand_core::OsRng;
        let private = RsaPrivateKey::new(&mut rng, 2048).expect("generate an RSA 2048 key");
        let public = RsaPublicKey::from(&private);
        let der = private.to_pkcs1_der().expect("encode the private key");
        let spki = public.to_public_key_der().expect("encode the public key");
        let public_pem = public
            .to_public_key_pem(LineEnding::LF)
            .expect("encode the public key as PEM");
        Self {
            encoding_key: EncodingKey::from_rsa_der(der.as_bytes()),
            public_pem,
            kid: key_id(spki.as_bytes()),
            n: URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        }
    }

    /// The key id: unpadded base64url of the SHA-256 of the DER SubjectPublicKeyInfo.
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub(crate) fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// The key's JWK, as the apiserver serves it.
    pub(crate) fn jwk(&self) -> Value {
        json!({"use": "sig", "kty": "RSA", "kid": self.kid, "alg": "RS256", "n": self.n, "e": self.e})
    }

    /// Signs `claims` with RS256, header `{"alg":"RS256","kid":KID}` (no `typ`, like the apiserver).
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = None;
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding_key).expect("sign a token")
    }
}

/// The kube-apiserver's key id for a DER-encoded SubjectPublicKeyInfo.
pub(crate) fn key_id(spki_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(spki_der))
}

/// The OIDC discovery document for `issuer`, whose keys are at `jwks_uri`.
pub(crate) fn discovery_document(issuer: &str, jwks_uri: &str) -> Value {
    json!({
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    })
}

/// Where the JWKS is when no URI is configured: `ISSUER/openid/v1/jwks`.
pub(crate) fn default_jwks_uri(issuer: &str) -> String {
    format!("{}/openid/v1/jwks", issuer.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_key_quickly_enough() {
        let started = std::time::Instant::now();
        let signer = Signer::generate();
        eprintln!("key generation took {:?}", started.elapsed());
        let started = std::time::Instant::now();
        let token = signer.sign(&json!({"sub": "x"}));
        eprintln!("signing took {:?}", started.elapsed());
        assert_eq!(token.split('.').count(), 3);
        assert_eq!(signer.kid().len(), 43);
    }
}
