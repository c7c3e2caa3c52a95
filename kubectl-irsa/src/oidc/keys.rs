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
        let tag = block.tag();
        let der = block.contents();
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
        let key = match tag {
            "PUBLIC KEY" => public_from_spki(der).map_err(|e| malformed(e.to_string()))?,
            "RSA PUBLIC KEY" => {
                RsaPublicKey::from_pkcs1_der(der).map_err(|e| malformed(e.to_string()))?
            }
            "CERTIFICATE" => {
                let (_, certificate) = x509_parser::parse_x509_certificate(der)
                    .map_err(|e| malformed(e.to_string()))?;
                public_from_spki(certificate.public_key().raw)
                    .map_err(|e| malformed(e.to_string()))?
            }
            "PRIVATE KEY" => RsaPrivateKey::from_pkcs8_der(der)
                .map_err(|e| malformed(e.to_string()))?
                .to_public_key(),
            "RSA PRIVATE KEY" => RsaPrivateKey::from_pkcs1_der(der)
                .map_err(|e| malformed(e.to_string()))?
                .to_public_key(),
            "ENCRYPTED PRIVATE KEY" => {
                return Err(unsupported(
                    "the private key is encrypted".into(),
                    "give its public key (openssl pkey -pubout -in KEY)",
                ));
            }
            "OPENSSH PRIVATE KEY" => {
                return Err(unsupported(
                    "an OpenSSH private key".into(),
                    "give its public key as `ssh-keygen -e -m PKCS8 -f KEY` prints it",
                ));
            }
            other => {
                return Err(unsupported(
                    format!("a {other} block"),
                    "service-account tokens for IAM are signed with RSA keys: give an RSA public key, certificate or private key",
                ));
            }
        };
        let key = PublicKey::new(key);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok(keys)
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
mod tests {
    use super::*;
    use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};

    /// A fixed key, its PKCS#1 form, and its kid as computed outside Rust:
    /// `openssl rsa -pubin -in k.pub -outform DER | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d =`.
    /// (`ssh-keygen -e -m PKCS8` prints the same PUBLIC KEY block for the key's OpenSSH form.)
    const FIXED_PKIX: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDGehdSNYr27YpnUXWCUKb5NFiR
E9hrYiAUeeqgVAeAThOTHbXkR6jkQrwA+yjbPUqe1NoyHSTafNl+FmvEysN827vT
/VFD6cIBgZ30YWraa4clB0PRxa7mu2oQz8QYL+W8lBjDOS0B2UJpMyVKne8kcCdd
ivfxtDULCmL9lC2pfwIDAQAB
-----END PUBLIC KEY-----
";
    const FIXED_PKCS1: &str = "-----BEGIN RSA PUBLIC KEY-----
MIGJAoGBAMZ6F1I1ivbtimdRdYJQpvk0WJET2GtiIBR56qBUB4BOE5MdteRHqORC
vAD7KNs9Sp7U2jIdJNp82X4Wa8TKw3zbu9P9UUPpwgGBnfRhatprhyUHQ9HFrua7
ahDPxBgv5byUGMM5LQHZQmkzJUqd7yRwJ12K9/G0NQsKYv2ULal/AgMBAAE=
-----END RSA PUBLIC KEY-----
";
    const FIXED_KID: &str = "sFew14uc4miSwRifDO48tkCjsPtIu0qXC4dts9Vh574";

    fn fresh_key() -> RsaPrivateKey {
        RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap()
    }

    #[test]
    fn kid_of_a_fixed_key_matches_openssl() {
        let pkix = parse_pem(FIXED_PKIX.as_bytes(), "k").unwrap();
        let pkcs1 = parse_pem(FIXED_PKCS1.as_bytes(), "k").unwrap();
        assert_eq!(pkix.len(), 1);
        assert_eq!(pkix[0].kid, FIXED_KID);
        assert_eq!(pkcs1, pkix);
        assert_eq!(pkix[0].to_pem(), FIXED_PKIX);
    }

    #[test]
    fn kid_is_unpadded_base64url_of_sha256_of_the_spki() {
        let key = fresh_key().to_public_key();
        let der = key.to_public_key_der().unwrap();
        let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(der.as_bytes()));
        assert_eq!(PublicKey::new(key).kid, expected);
        assert_eq!(expected.len(), 43);
        assert!(!expected.contains(['=', '+', '/']));
    }

    #[test]
    fn every_format_gives_the_same_key() {
        let private = fresh_key();
        let public = private.to_public_key();
        let expected = PublicKey::new(public.clone());
        let pkix = public.to_public_key_pem(LineEnding::LF).unwrap();
        let pkcs1 = public.to_pkcs1_pem(LineEnding::LF).unwrap();
        let pkcs8_private = private.to_pkcs8_pem(LineEnding::LF).unwrap();
        let pkcs1_private = private.to_pkcs1_pem(LineEnding::LF).unwrap();
        for text in [
            pkix.as_str(),
            pkcs1.as_str(),
            pkcs8_private.as_str(),
            pkcs1_private.as_str(),
        ] {
            let keys = parse_pem(text.as_bytes(), "k").unwrap();
            assert_eq!(keys, vec![expected.clone()], "{text}");
        }
        // Several blocks in one file; the same key twice is listed once.
        let other = PublicKey::new(fresh_key().to_public_key());
        let both = format!("{pkix}{}{pkcs1}", other.to_pem());
        let keys = parse_pem(both.as_bytes(), "k").unwrap();
        assert_eq!(keys, vec![expected, other]);
    }

    #[test]
    fn files_that_are_not_rsa_keys_are_refused_with_a_fix() {
        let error = parse_pem(b"hello", "--public-key notes.txt").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("--public-key notes.txt is not a PEM file")
        );
        let error = parse_pem(b"ssh-rsa AAAAB3Nza me@host\n", "k").unwrap_err();
        assert!(
            error.to_string().contains("ssh-keygen -e -m PKCS8"),
            "{error}"
        );
        let garbage = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        let error = parse_pem(garbage.as_bytes(), "k").unwrap_err();
        assert!(
            error.to_string().contains("PUBLIC KEY block is unreadable"),
            "{error}"
        );
        let ec = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
        let error = parse_pem(ec.as_bytes(), "k").unwrap_err();
        assert!(
            error.to_string().contains("a EC PRIVATE KEY block"),
            "{error}"
        );
        for message in [
            parse_pem(b"", "k").unwrap_err().to_string(),
            parse_pem(ec.as_bytes(), "k").unwrap_err().to_string(),
        ] {
            assert!(!message.contains('\n'), "{message}");
        }
    }

    #[test]
    fn jwks_round_trips_and_keeps_published_kids() {
        let key = PublicKey::new(fresh_key().to_public_key());
        let jwk = key.jwk(&key.kid);
        assert_eq!(jwk["e"], "AQAB");
        let keys: Vec<&str> = jwk
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["use", "kty", "kid", "alg", "n", "e"]);
        let text = json!({"keys": [jwk, key.jwk("")]}).to_string();
        let (parsed, notes) = parse_jwks(&text, "jwks").unwrap();
        assert_eq!(parsed, vec![key.clone()]);
        assert!(notes.is_empty());

        let renamed = json!({"keys": [key.jwk("custom")]}).to_string();
        let (parsed, notes) = parse_jwks(&renamed, "jwks").unwrap();
        assert_eq!(parsed[0].kid, "custom");
        assert_eq!(notes.len(), 1);

        let ec = json!({"keys": [{"kty": "EC", "crv": "P-256"}]}).to_string();
        assert!(
            parse_jwks(&ec, "jwks")
                .unwrap_err()
                .to_string()
                .contains("only RSA")
        );
        let half = json!({"keys": [{"kty": "RSA", "n": "AQAB"}]}).to_string();
        assert_eq!(
            parse_jwks(&half, "jwks").unwrap_err().to_string(),
            "jwks: key 0 of the JWKS is unusable: an RSA key needs base64url \"n\" and \"e\""
        );
        assert_eq!(
            parse_jwks("{}", "jwks").unwrap_err().to_string(),
            "jwks is not a JWKS (no \"keys\" list)"
        );
        let bad_kid = json!({"keys": [{"kty": "RSA", "kid": 7}]}).to_string();
        assert!(
            read_jwks(&bad_kid, "jwks")
                .unwrap_err()
                .to_string()
                .starts_with("jwks: key 0 of the JWKS is unusable: "),
        );
    }

    #[test]
    fn jwks_with_ec_keys_read_and_verify_both_kinds() {
        let (rsa, ec) = (fixtures::Signer::rsa(), fixtures::Signer::ec());
        let text = json!({"keys": [rsa.jwk, ec.jwk, rsa.jwk_with_kid("")]}).to_string();
        let set = read_jwks(&text, "jwks").unwrap();
        let kinds: Vec<(&str, &str)> = set
            .keys
            .iter()
            .map(|k| (key_type(k), published_kid(k)))
            .collect();
        assert_eq!(
            kinds,
            [("RSA", rsa.kid.as_str()), ("EC", "ec-p256"), ("RSA", "")]
        );

        let claims = json!({"sub": "s"});
        let (rsa_token, ec_token) = (rsa.token(&claims), ec.token(&claims));
        assert_eq!(verify(&rsa_token, &set.keys[0]), Ok(()));
        assert_eq!(verify(&ec_token, &set.keys[1]), Ok(()));
        assert!(verify(&rsa_token, &set.keys[1]).is_err());
        assert!(verify(&ec_token, &set.keys[0]).is_err());
        let p521 = json!({"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"});
        assert_eq!(
            verifier(&Jwk::deserialize(&p521).unwrap()).err().as_deref(),
            Some("curve P521 cannot be checked here")
        );

        // oidc documents republishes RSA keys only, and says which entry it cannot.
        let error = parse_jwks(&text, "jwks").unwrap_err().to_string();
        assert_eq!(
            error,
            "jwks: key 1 of the JWKS is unusable: kty \"EC\": only RSA keys are supported; give the keys with --public-key"
        );
    }

    #[test]
    fn generated_keys_load_back() {
        let (private_pem, public) = generate(1024).unwrap();
        assert!(private_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(
            parse_pem(private_pem.as_bytes(), "k").unwrap(),
            vec![public.clone()]
        );
        assert_eq!(
            parse_pem(public.to_pem().as_bytes(), "k").unwrap(),
            vec![public.clone()]
        );
        assert_eq!(
            parse_private_pem(private_pem.as_bytes(), "k").unwrap(),
            public
        );
        let error = parse_private_pem(public.to_pem().as_bytes(), "--key-dir d").unwrap_err();
        assert!(
            error.to_string().contains("not one RSA private key"),
            "{error}"
        );
    }
}
