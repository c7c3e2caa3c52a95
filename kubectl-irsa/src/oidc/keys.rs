//! ServiceAccount signing keys: reading public keys in every format the apiserver flags and the
//! usual tools produce, the `kid` the apiserver derives, JWKs, and new key pairs. JWKS documents
//! are read here once, through `jsonwebtoken::jwk`, for `oidc documents` (which republishes the
//! RSA keys) and for doctor (which finds the token's key and verifies the token with it).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde::Deserialize as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The formats this reads, for error messages.
const FORMATS: &str = "give a PEM public key (BEGIN PUBLIC KEY, as `ssh-keygen -e -m PKCS8` prints; BEGIN RSA PUBLIC KEY), an X.509 certificate or an RSA private key";

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

/// An RSA public key and the `kid` tokens signed by its private half carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    pub key: RsaPublicKey,
    pub kid: String,
}

impl PublicKey {
    /// The key with the kid kube-apiserver computes for it.
    pub fn new(key: RsaPublicKey) -> Self {
        let kid = key_id(&spki_der(&key));
        Self { key, kid }
    }

    /// The key as the apiserver's JWKS lists it, with `kid` (which may be empty, for the
    /// duplicate that tokens from apiservers before 1.16, signed without a kid, need).
    pub fn jwk(&self, kid: &str) -> Value {
        json!({
            "use": "sig",
            "kty": "RSA",
            "kid": kid,
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(self.key.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(self.key.e().to_bytes_be()),
        })
    }

    /// PEM `PUBLIC KEY` (PKIX SubjectPublicKeyInfo), the format of --service-account-key-file.
    pub fn to_pem(&self) -> String {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }
}

/// The DER SubjectPublicKeyInfo, encoded as Go's `x509.MarshalPKIXPublicKey` encodes it.
pub fn spki_der(key: &RsaPublicKey) -> Vec<u8> {
    key.to_public_key_der()
        .map(|der| der.as_bytes().to_vec())
        .unwrap_or_default()
}

/// kube-apiserver's key id: the unpadded base64url of the SHA-256 of the DER
/// SubjectPublicKeyInfo.
pub fn key_id(spki_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(spki_der))
}

/// Every key in a PEM file, in order (a file may hold several, as the apiserver allows).
/// Private keys and certificates give their public key.
pub fn parse_pem(bytes: &[u8], source: &str) -> Result<Vec<PublicKey>, KeyError> {
    let text = String::from_utf8_lossy(bytes);
    let blocks = pem::parse_many(text.as_bytes()).unwrap_or_default();
    if blocks.is_empty() {
        let hint = if text.trim_start().starts_with("ssh-rsa ") {
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
    for block in &blocks {
        let key = PublicKey::new(block_key(block, source)?);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok(keys)
}

/// The RSA public key of one PEM block, or why it has none.
fn block_key(block: &pem::Pem, source: &str) -> Result<RsaPublicKey, KeyError> {
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
        "RSA PUBLIC KEY" => RsaPublicKey::from_pkcs1_der(der).map_err(|e| malformed(e.to_string())),
        "CERTIFICATE" => {
            let (_, certificate) =
                x509_parser::parse_x509_certificate(der).map_err(|e| malformed(e.to_string()))?;
            public_from_spki(certificate.public_key().raw).map_err(malformed)
        }
        "PRIVATE KEY" => RsaPrivateKey::from_pkcs8_der(der)
            .map(|key| key.to_public_key())
            .map_err(|e| malformed(e.to_string())),
        "RSA PRIVATE KEY" => RsaPrivateKey::from_pkcs1_der(der)
            .map(|key| key.to_public_key())
            .map_err(|e| malformed(e.to_string())),
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
            "service-account tokens for IAM are signed with RSA keys: give an RSA public key, certificate or private key",
        )),
    }
}

/// The public half of the one private key a PEM file must hold (for
/// --service-account-signing-key-file).
pub fn parse_private_pem(bytes: &[u8], source: &str) -> Result<PublicKey, KeyError> {
    let private = pem::parse_many(bytes)
        .unwrap_or_default()
        .iter()
        .filter(|block| matches!(block.tag(), "PRIVATE KEY" | "RSA PRIVATE KEY"))
        .count();
    let keys = parse_pem(bytes, source)?;
    match (private, keys.as_slice()) {
        (1, [key]) => Ok(key.clone()),
        _ => Err(KeyError::Unsupported {
            input: source.into(),
            what: "not one RSA private key".into(),
            fix: "give a file with one BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY block (`kubectl irsa oidc keygen` writes one)",
        }),
    }
}

/// An RSA key out of a DER SubjectPublicKeyInfo, saying so when it holds another algorithm.
fn public_from_spki(der: &[u8]) -> Result<RsaPublicKey, String> {
    RsaPublicKey::from_public_key_der(der).map_err(|error| {
        match rsa::pkcs8::spki::SubjectPublicKeyInfoRef::try_from(der) {
            Ok(info) if info.algorithm.oid != rsa::pkcs1::ALGORITHM_OID => format!(
                "not an RSA key (algorithm {}); IAM-bound tokens here are signed RS256",
                info.algorithm.oid
            ),
            _ => error.to_string(),
        }
    })
}

/// A JWKS as published, each entry read as a [`Jwk`]. Any key type reads (kube-apiserver may
/// publish EC keys beside RSA ones); what a caller cannot use is its own business. `source`
/// names the document in errors.
pub fn read_jwks(text: &str, source: &str) -> Result<JwkSet, KeyError> {
    let not_jwks = |reason: String| KeyError::NotJwks {
        input: source.into(),
        reason,
    };
    let document: Value = serde_json::from_str(text).map_err(|e| not_jwks(e.to_string()))?;
    let Some(entries) = document.get("keys").and_then(Value::as_array) else {
        return Err(not_jwks("no \"keys\" list".into()));
    };
    let keys = entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            Jwk::deserialize(entry).map_err(|e| KeyError::BadJwk {
                input: source.into(),
                index,
                reason: e.to_string(),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(JwkSet { keys })
}

/// The kid a key is published with; empty when it has none (keys for tokens from apiservers
/// before 1.16, which signed without one).
pub fn published_kid(jwk: &Jwk) -> &str {
    jwk.common.key_id.as_deref().unwrap_or("")
}

/// The key's `kty`, as published.
pub fn key_type(jwk: &Jwk) -> &str {
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => "RSA",
        AlgorithmParameters::EllipticCurve(_) => "EC",
        AlgorithmParameters::OctetKey(_) => "oct",
        AlgorithmParameters::OctetKeyPair(_) => "OKP",
        AlgorithmParameters::Other(other) => other
            .fields
            .get("kty")
            .and_then(Value::as_str)
            .unwrap_or(""),
        _ => "",
    }
}

/// The key and algorithm that verify tokens signed by `jwk`'s private half, as STS accepts
/// them: RS256 for RSA keys, ES256 or ES384 for EC keys on P-256 or P-384. `Err` says why a
/// key cannot be used.
pub fn verifier(jwk: &Jwk) -> Result<(DecodingKey, Algorithm), String> {
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P384 => {
            Algorithm::ES384
        }
        AlgorithmParameters::EllipticCurve(ec) => {
            return Err(format!("curve {:?} cannot be checked here", ec.curve));
        }
        _ => {
            return Err(format!(
                "kty {:?} without the parameters of an RSA, P-256 or P-384 key",
                key_type(jwk)
            ));
        }
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    Ok((key, algorithm))
}

/// Verifies the signature (and expiry) of `token` with `jwk`. Audience and issuer are the
/// callers' business.
pub fn verify(token: &str, jwk: &Jwk) -> Result<(), String> {
    let (key, algorithm) = verifier(jwk)?;
    let mut validation = Validation::new(algorithm);
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The RSA keys of a JWKS document (as a cluster serves at /openid/v1/jwks), for
/// republishing. Each keeps the kid it is published with, which is the kid its tokens carry;
/// empty or missing kids get the computed one. Also returns notes about kids that differ from
/// the computed one.
pub fn parse_jwks(text: &str, source: &str) -> Result<(Vec<PublicKey>, Vec<String>), KeyError> {
    let mut keys: Vec<PublicKey> = Vec::new();
    let mut notes = Vec::new();
    for (index, jwk) in read_jwks(text, source)?.keys.iter().enumerate() {
        let key = rsa_key(jwk).map_err(|reason| KeyError::BadJwk {
            input: source.into(),
            index,
            reason,
        })?;
        let mut key = PublicKey::new(key);
        match published_kid(jwk) {
            "" => {}
            kid if kid != key.kid => {
                notes.push(format!(
                    "{source}: key {index} is published with kid {kid:?}, not {:?} as kube-apiserver computes it; keeping {kid:?}, which its tokens carry",
                    key.kid
                ));
                key.kid = kid.to_string();
            }
            _ => {}
        }
        if !keys.iter().any(|k| k.key == key.key) {
            keys.push(key);
        }
    }
    Ok((keys, notes))
}

/// The RSA public key of a JWK; `n` and `e` may be padded or not.
fn rsa_key(jwk: &Jwk) -> Result<RsaPublicKey, String> {
    let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
        return Err(match key_type(jwk) {
            "RSA" => "an RSA key needs base64url \"n\" and \"e\"".into(),
            kty => {
                format!("kty {kty:?}: only RSA keys are supported; give the keys with --public-key")
            }
        });
    };
    let lenient = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let number = |name: &str, text: &str| {
        lenient
            .decode(text)
            .map(|bytes| BigUint::from_bytes_be(&bytes))
            .map_err(|_| format!("no base64url {name:?}"))
    };
    RsaPublicKey::new(number("n", &rsa.n)?, number("e", &rsa.e)?).map_err(|e| e.to_string())
}

/// A new signing key: the private key as PEM `PRIVATE KEY` (PKCS#8, for
/// --service-account-signing-key-file) and its public key.
pub fn generate(bits: usize) -> Result<(String, PublicKey), String> {
    let mut rng = rsa::rand_core::OsRng;
    let private = RsaPrivateKey::new(&mut rng, bits).map_err(|e| e.to_string())?;
    let pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| e.to_string())?;
    Ok((pem.to_string(), PublicKey::new(private.to_public_key())))
}

/// Signing keys for tests, each with the JWK that publishes it: a fresh RSA key, and a fixed
/// P-256 key (EC keys cannot be made here without another dependency).
#[cfg(test)]
pub mod fixtures {
    use base64::Engine as _;
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use rsa::RsaPrivateKey;
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use serde_json::Value;

    use super::PublicKey;

    /// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`, PKCS#8 DER in base64.
    const EC_PKCS8: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+wyF7NflO4aM3BTUDqSdi7TXGyfCTqm/T5OsGJ+6K+GhRANCAAQeKY61yALOTP/MzhjNkfXDf9/p5vAtWZ0c/5kDcaPSxIQCtbSYur2XAdcsIJs3x26ogJq+YZu8nihJ5anTLUm8";

    pub struct Signer {
        key: EncodingKey,
        algorithm: Algorithm,
        /// The kid its tokens carry (the computed one for RSA keys).
        pub kid: String,
        /// The public key as a JWKS lists it, with `kid`.
        pub jwk: Value,
    }

    impl Signer {
        /// A fresh 1024-bit RSA key (small, for speed), as kube-apiserver would publish it.
        pub fn rsa() -> Signer {
            let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
            let public = PublicKey::new(private.to_public_key());
            let der = private.to_pkcs1_der().unwrap();
            Signer {
                key: EncodingKey::from_rsa_der(der.as_bytes()),
                algorithm: Algorithm::RS256,
                jwk: public.jwk(&public.kid),
                kid: public.kid,
            }
        }

        /// The fixed P-256 key, with kid `ec-p256`.
        pub fn ec() -> Signer {
            let der = base64::engine::general_purpose::STANDARD
                .decode(EC_PKCS8)
                .unwrap();
            let key = EncodingKey::from_ec_der(&der);
            let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
            jwk.common.key_id = Some("ec-p256".into());
            Signer {
                key,
                algorithm: Algorithm::ES256,
                kid: "ec-p256".into(),
                jwk: serde_json::to_value(jwk).unwrap(),
            }
        }

        /// The JWK published under another kid (empty: none).
        pub fn jwk_with_kid(&self, kid: &str) -> Value {
            let mut jwk = self.jwk.clone();
            jwk["kid"] = kid.into();
            jwk
        }

        /// A token with `claims` (an hour's `exp` added when missing), signed with the kid.
        pub fn token(&self, claims: &Value) -> String {
            let mut claims = claims.clone();
            if claims.get("exp").is_none() {
                claims["exp"] = (time::OffsetDateTime::now_utc().unix_timestamp() + 3600).into();
            }
            let mut header = Header::new(self.algorithm);
            header.kid = Some(self.kid.clone());
            jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
        }
    }
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
