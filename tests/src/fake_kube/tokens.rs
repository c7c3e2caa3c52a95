//! The ServiceAccount token signer: an RSA 2048 key generated at start, or, once a test asks
//! for it ([`Signer::use_ec`]), an ECDSA P-256 key (as Talos before 1.7 and kubeadm's
//! `encryptionAlgorithm: ECDSA-P256` give a cluster); the `kid` the apiserver derives from
//! it, the OIDC discovery document and JWKS it publishes, and TokenRequest.
//!
//! What the apiserver does, from kubernetes/kubernetes: the kid is the unpadded base64url of
//! the SHA-256 of the DER SubjectPublicKeyInfo, for RSA and ECDSA keys alike
//! (`keyIDFromPublicKey`, pkg/serviceaccount/jwt.go); RSA keys sign RS256 and P-256 keys ES256,
//! with a header of `alg` and `kid` only (`signerFromRSAPrivateKey`,
//! `signerFromECDSAPrivateKey`); the JWKS lists each key as go-jose marshals it: `use`, `kty`,
//! `kid`, `crv`, `alg`, then `x`, `y` (each padded to the curve's size) or `n`, `e`
//! (pkg/serviceaccount/openidmetadata.go).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::pkcs8::EncodePrivateKey as _;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// One signing key and what the apiserver publishes about it.
struct Key {
    encoding_key: EncodingKey,
    algorithm: Algorithm,
    public_pem: String,
    kid: String,
    jwk: Value,
}

impl Key {
    /// A fresh RSA 2048 key.
    fn rsa() -> Self {
        let mut rng = rsa::rand_core::OsRng;
        Self::rsa_from(RsaPrivateKey::new(&mut rng, 2048).expect("generate an RSA 2048 key"))
    }

    /// An RSA key given to the apiserver (`--service-account-signing-key-file`).
    fn rsa_from(private: RsaPrivateKey) -> Self {
        let public = RsaPublicKey::from(&private);
        let der = private.to_pkcs1_der().expect("encode the private key");
        let spki = public.to_public_key_der().expect("encode the public key");
        let kid = key_id(spki.as_bytes());
        let jwk = json!({
            "use": "sig",
            "kty": "RSA",
            "kid": kid,
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        });
        Self {
            encoding_key: EncodingKey::from_rsa_der(der.as_bytes()),
            algorithm: Algorithm::RS256,
            public_pem: public
                .to_public_key_pem(LineEnding::LF)
                .expect("encode the public key as PEM"),
            kid,
            jwk,
        }
    }

    /// A fresh ECDSA P-256 key.
    fn ec_p256() -> Self {
        let private = p256::SecretKey::random(&mut rsa::rand_core::OsRng);
        let public = private.public_key();
        let der = private.to_pkcs8_der().expect("encode the private key");
        let spki = p256::pkcs8::EncodePublicKey::to_public_key_der(&public)
            .expect("encode the public key");
        let point = public.to_encoded_point(false);
        let kid = key_id(spki.as_bytes());
        let jwk = json!({
            "use": "sig",
            "kty": "EC",
            "kid": kid,
            "crv": "P-256",
            "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(point.x().expect("an uncompressed point")),
            "y": URL_SAFE_NO_PAD.encode(point.y().expect("an uncompressed point")),
        });
        Self {
            encoding_key: EncodingKey::from_ec_der(der.as_bytes()),
            algorithm: Algorithm::ES256,
            public_pem: p256::pkcs8::EncodePublicKey::to_public_key_pem(&public, LineEnding::LF)
                .expect("encode the public key as PEM"),
            kid,
            jwk,
        }
    }
}

/// The cluster's signing key: RSA until [`Signer::use_ec`] is called, or the key given with
/// [`Signer::use_rsa_pem`].
pub(crate) struct Signer {
    rsa: Key,
    given: OnceLock<Key>,
    ec: OnceLock<Key>,
    use_ec: AtomicBool,
}

impl Signer {
    /// Generates a fresh RSA 2048 key.
    pub(crate) fn generate() -> Self {
        Self {
            rsa: Key::rsa(),
            given: OnceLock::new(),
            ec: OnceLock::new(),
            use_ec: AtomicBool::new(false),
        }
    }

    /// From now on, signs with an ECDSA P-256 key (generated on the first call) and publishes
    /// it instead of the RSA key.
    pub(crate) fn use_ec(&self) {
        self.ec.get_or_init(Key::ec_p256);
        self.use_ec.store(true, Ordering::SeqCst);
    }

    /// From now on, signs with the RSA private key in `pem` (PKCS#8 or PKCS#1), as an
    /// apiserver started with it as `--service-account-signing-key-file` does.
    pub(crate) fn use_rsa_pem(&self, pem: &str) -> Result<(), String> {
        use rsa::pkcs1::DecodeRsaPrivateKey as _;
        use rsa::pkcs8::DecodePrivateKey as _;
        let private = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|e| format!("not an RSA private key in PEM: {e}"))?;
        self.given
            .set(Key::rsa_from(private))
            .map_err(|_| "a signing key was given already".to_string())
    }

    fn active(&self) -> &Key {
        if let Some(given) = self.given.get() {
            return given;
        }
        match self.ec.get() {
            Some(ec) if self.use_ec.load(Ordering::SeqCst) => ec,
            _ => &self.rsa,
        }
    }

    /// The key id: unpadded base64url of the SHA-256 of the DER SubjectPublicKeyInfo.
    pub(crate) fn kid(&self) -> &str {
        &self.active().kid
    }

    /// The public key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub(crate) fn public_pem(&self) -> &str {
        &self.active().public_pem
    }

    /// The key's JWK, as the apiserver serves it.
    pub(crate) fn jwk(&self) -> Value {
        self.active().jwk.clone()
    }

    /// Signs `claims` with RS256 or ES256, header `{"alg":ALG,"kid":KID}` (no `typ`, like the
    /// apiserver).
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let key = self.active();
        let mut header = Header::new(key.algorithm);
        header.typ = None;
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding_key).expect("sign a token")
    }
}

/// The kube-apiserver's key id for a DER-encoded SubjectPublicKeyInfo.
pub(crate) fn key_id(spki_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(spki_der))
}

/// The OIDC discovery document for `issuer`, whose keys (of `algorithms`) are at `jwks_uri`.
pub(crate) fn discovery_document(issuer: &str, jwks_uri: &str, algorithms: Vec<Value>) -> Value {
    json!({
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algorithms,
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

    #[test]
    fn signs_es256_with_the_p256_key_once_asked() {
        let signer = Signer::generate();
        let rsa_kid = signer.kid().to_owned();
        signer.use_ec();
        assert_ne!(signer.kid(), rsa_kid);
        assert!(
            signer
                .public_pem()
                .starts_with("-----BEGIN PUBLIC KEY-----\n")
        );
        let jwk = signer.jwk();
        let members: Vec<&str> = jwk
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(members, ["use", "kty", "kid", "crv", "alg", "x", "y"]);
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(jwk["x"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        let token = signer.sign(&json!({"sub": "x"}));
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(
            (header.alg, header.kid.as_deref()),
            (Algorithm::ES256, Some(signer.kid()))
        );
        let key = jsonwebtoken::DecodingKey::from_ec_components(
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap(),
        )
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
    }
}
