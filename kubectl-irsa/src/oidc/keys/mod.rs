//! ServiceAccount signing keys, RSA and ECDSA: reading public keys in every format the
//! apiserver flags and the usual tools produce, the `kid` the apiserver derives, JWKs, and new
//! key pairs. JWKS documents are read in [`jwks`], once, through `jsonwebtoken::jwk`, for
//! `oidc documents` (which republishes the keys) and for doctor (which finds the token's key and
//! verifies the token with it). ECDSA specifics live in [`ec`].
//!
//! kube-apiserver derives a key's `kid` the same way for RSA and ECDSA keys: the unpadded
//! base64url of the SHA-256 of the DER SubjectPublicKeyInfo (`keyIDFromPublicKey` in
//! pkg/serviceaccount/jwt.go of kubernetes/kubernetes).

mod ec;
#[cfg(test)]
pub mod fixtures;
mod jwks;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub use ec::{Curve, EcKey};
#[cfg(test)]
pub use jwks::key_type;
pub use jwks::{parse_jwks, published_kid, read_jwks, verifier, verify};

/// The formats this reads, for error messages.
const FORMATS: &str = "give a PEM public key (BEGIN PUBLIC KEY, as `ssh-keygen -e -m PKCS8` prints; BEGIN RSA PUBLIC KEY), an X.509 certificate, or an RSA or EC (P-256, P-384) private key";

/// Why a key could not be read; `input` names it (such as `--public-key old.pem`).
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{input} is not a PEM file: {FORMATS}{hint}")]
    NotPem { input: String, hint: &'static str },
    #[error("{input}: the {tag} block is unreadable ({reason}): {FORMATS}")]
    Malformed {
        input: String,
        tag: String,
        reason: String,
    },
    #[error("{input}: {what}: {fix}")]
    Unsupported {
        input: String,
        what: String,
        fix: &'static str,
    },
    #[error("{input} is not a JWKS ({reason})")]
    NotJwks { input: String, reason: String },
    #[error("{input}: key {index} of the JWKS is unusable: {reason}")]
    BadJwk {
        input: String,
        index: usize,
        reason: String,
    },
}

/// The public key itself: RSA, or ECDSA on P-256 or P-384.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Material {
    Rsa(RsaPublicKey),
    Ec(EcKey),
}

impl Material {
    /// The DER SubjectPublicKeyInfo, encoded as Go's `x509.MarshalPKIXPublicKey` encodes it.
    pub fn spki_der(&self) -> Vec<u8> {
        match self {
            Material::Rsa(key) => key
                .to_public_key_der()
                .map(|der| der.as_bytes().to_vec())
                .unwrap_or_default(),
            Material::Ec(key) => key.spki_der(),
        }
    }

    /// The algorithm kube-apiserver signs with and publishes for this key: RS256 for every
    /// RSA key, ES256 or ES384 by curve (`algorithmFromPublicKey` in
    /// pkg/serviceaccount/openidmetadata.go).
    pub fn algorithm(&self) -> &'static str {
        match self {
            Material::Rsa(_) => "RS256",
            Material::Ec(key) => key.curve().algorithm(),
        }
    }

    /// `RSA 2048` or `ECDSA P-256`, for messages.
    pub fn describe(&self) -> String {
        match self {
            Material::Rsa(key) => format!("RSA {}", key.size() * 8),
            Material::Ec(key) => format!("ECDSA {}", key.curve().name()),
        }
    }
}

/// A public key and the `kid` tokens signed by its private half carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    pub key: Material,
    pub kid: String,
}

impl PublicKey {
    /// The key with the kid kube-apiserver computes for it.
    pub fn new(key: Material) -> Self {
        let kid = key_id(&key.spki_der());
        Self { key, kid }
    }

    /// The key as the apiserver's JWKS lists it, with `kid` (which may be empty, for the
    /// duplicate that tokens from apiservers before 1.16, signed without a kid, need). The
    /// members come in go-jose's order (`use`, `kty`, `kid`, `crv`, `alg`, then the key).
    pub fn jwk(&self, kid: &str) -> Value {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        match &self.key {
            Material::Rsa(key) => json!({
                "use": "sig",
                "kty": "RSA",
                "kid": kid,
                "alg": "RS256",
                "n": b64(&key.n().to_bytes_be()),
                "e": b64(&key.e().to_bytes_be()),
            }),
            Material::Ec(key) => {
                let (x, y) = key.coordinates();
                json!({
                    "use": "sig",
                    "kty": "EC",
                    "kid": kid,
                    "crv": key.curve().name(),
                    "alg": key.curve().algorithm(),
                    "x": b64(x),
                    "y": b64(y),
                })
            }
        }
    }

    /// PEM `PUBLIC KEY` (PKIX SubjectPublicKeyInfo), the format of --service-account-key-file.
    pub fn to_pem(&self) -> String {
        let block = pem::Pem::new("PUBLIC KEY", self.key.spki_der());
        pem::encode_config(
            &block,
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        )
    }
}

/// kube-apiserver's key id: the unpadded base64url of the SHA-256 of the DER
/// SubjectPublicKeyInfo.
pub fn key_id(spki_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(spki_der))
}

/// Every key in a PEM file, in order (a file may hold several, as the apiserver allows).
/// Private keys and certificates give their public key; `EC PARAMETERS` blocks (which
/// `openssl ecparam -genkey` writes before the key) are skipped.
pub fn parse_pem(bytes: &[u8], source: &str) -> Result<Vec<PublicKey>, KeyError> {
    let text = String::from_utf8_lossy(bytes);
    let blocks = pem::parse_many(text.as_bytes()).unwrap_or_default();
    if blocks.is_empty() {
        let start = text.trim_start();
        let hint = if start.starts_with("ssh-") || start.starts_with("ecdsa-sha2-") {
            " (this is an OpenSSH public key: convert it with `ssh-keygen -e -m PKCS8 -f FILE`)"
        } else {
            ""
        };
        return Err(KeyError::NotPem {
            input: source.into(),
            hint,
        });
    }
    let mut keys = Vec::new();
    for block in blocks.iter().filter(|block| block.tag() != "EC PARAMETERS") {
        let key = PublicKey::new(block_key(block, source)?);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    if keys.is_empty() {
        return Err(KeyError::Unsupported {
            input: source.into(),
            what: "only EC PARAMETERS, no key".into(),
            fix: FORMATS,
        });
    }
    Ok(keys)
}

/// The public key of one PEM block, or why it has none.
fn block_key(block: &pem::Pem, source: &str) -> Result<Material, KeyError> {
    let (tag, der) = (block.tag(), block.contents());
    let malformed = |reason: String| KeyError::Malformed {
        input: source.into(),
        tag: tag.into(),
        reason,
    };
    let unsupported = |what: String, fix: &'static str| KeyError::Unsupported {
        input: source.into(),
        what,
        fix,
    };
    match tag {
        "PUBLIC KEY" => public_from_spki(der).map_err(malformed),
        "RSA PUBLIC KEY" => RsaPublicKey::from_pkcs1_der(der)
            .map(Material::Rsa)
            .map_err(|e| malformed(e.to_string())),
        "CERTIFICATE" => {
            let (_, certificate) =
                x509_parser::parse_x509_certificate(der).map_err(|e| malformed(e.to_string()))?;
            public_from_spki(certificate.public_key().raw).map_err(malformed)
        }
        "PRIVATE KEY" => public_from_pkcs8(der).map_err(malformed),
        "RSA PRIVATE KEY" => RsaPrivateKey::from_pkcs1_der(der)
            .map(|key| Material::Rsa(key.to_public_key()))
            .map_err(|e| malformed(e.to_string())),
        "EC PRIVATE KEY" => EcKey::from_sec1_private(der)
            .map(Material::Ec)
            .map_err(malformed),
        "ENCRYPTED PRIVATE KEY" => Err(unsupported(
            "the private key is encrypted".into(),
            "give its public key (openssl pkey -pubout -in KEY)",
        )),
        "OPENSSH PRIVATE KEY" => Err(unsupported(
            "an OpenSSH private key".into(),
            "give its public key as `ssh-keygen -e -m PKCS8 -f KEY` prints it",
        )),
        other => Err(unsupported(
            format!("a {other} block"),
            "service-account tokens are signed with RSA or ECDSA (P-256, P-384) keys: give a public key, certificate or private key",
        )),
    }
}

/// The key of a DER SubjectPublicKeyInfo: RSA or ECDSA, saying so when it holds another
/// algorithm.
fn public_from_spki(der: &[u8]) -> Result<Material, String> {
    let info = rsa::pkcs8::spki::SubjectPublicKeyInfoRef::try_from(der)
        .map_err(|e| format!("not a SubjectPublicKeyInfo: {e}"))?;
    let oid = info.algorithm.oid;
    if ec::is_ec_algorithm(oid) {
        return EcKey::from_spki(der).map(Material::Ec);
    }
    if oid != rsa::pkcs1::ALGORITHM_OID {
        return Err(format!(
            "neither an RSA nor an EC key (algorithm {oid}); service-account tokens are signed RS256, ES256 or ES384"
        ));
    }
    RsaPublicKey::from_public_key_der(der)
        .map(Material::Rsa)
        .map_err(|e| e.to_string())
}

/// The public half of a PKCS#8 private key, RSA or ECDSA.
fn public_from_pkcs8(der: &[u8]) -> Result<Material, String> {
    let info = rsa::pkcs8::PrivateKeyInfo::try_from(der).map_err(|e| e.to_string())?;
    if ec::is_ec_algorithm(info.algorithm.oid) {
        return EcKey::from_pkcs8(der).map(Material::Ec);
    }
    RsaPrivateKey::from_pkcs8_der(der)
        .map(|key| Material::Rsa(key.to_public_key()))
        .map_err(|e| e.to_string())
}

/// The public half of the one private key a PEM file must hold (for
/// --service-account-signing-key-file).
pub fn parse_private_pem(bytes: &[u8], source: &str) -> Result<PublicKey, KeyError> {
    let private = pem::parse_many(bytes)
        .unwrap_or_default()
        .iter()
        .filter(|block| {
            matches!(
                block.tag(),
                "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY"
            )
        })
        .count();
    let keys = parse_pem(bytes, source)?;
    match (private, keys.as_slice()) {
        (1, [key]) => Ok(key.clone()),
        _ => Err(KeyError::Unsupported {
            input: source.into(),
            what: "not one private key".into(),
            fix: "give a file with one BEGIN PRIVATE KEY, BEGIN RSA PRIVATE KEY or BEGIN EC PRIVATE KEY block (`kubectl irsa oidc keygen` writes one)",
        }),
    }
}

/// The algorithm a new signing key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// RSA, of the given size in bits.
    Rs256,
    /// ECDSA on P-256.
    Es256,
    /// ECDSA on P-384.
    Es384,
}

/// A new signing key: the private key as PEM `PRIVATE KEY` (PKCS#8, for
/// --service-account-signing-key-file) and its public key. `bits` sizes RSA keys.
pub fn generate(algorithm: SigningAlgorithm, bits: usize) -> Result<(String, PublicKey), String> {
    let (pem, key) = match algorithm {
        SigningAlgorithm::Rs256 => {
            let private =
                RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits).map_err(|e| e.to_string())?;
            let pem = private
                .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
                .map_err(|e| e.to_string())?;
            (pem.to_string(), Material::Rsa(private.to_public_key()))
        }
        SigningAlgorithm::Es256 => ec_key(ec::generate(Curve::P256)?),
        SigningAlgorithm::Es384 => ec_key(ec::generate(Curve::P384)?),
    };
    Ok((pem, PublicKey::new(key)))
}

fn ec_key((pem, key): (String, EcKey)) -> (String, Material) {
    (pem, Material::Ec(key))
}

#[cfg(test)]
mod ec_tests;
#[cfg(test)]
mod tests;
