//! ServiceAccount signing keys: reading public keys in every format the apiserver flags and the
//! usual tools produce, the `kid` the apiserver derives, JWKs, and new key pairs.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
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

/// The keys of a JWKS document (as a cluster serves at /openid/v1/jwks). Each keeps the kid
/// it is published with, which is the kid its tokens carry; empty or missing kids get the
/// computed one. Also returns notes about kids that differ from the computed one.
pub fn parse_jwks(text: &str, source: &str) -> Result<(Vec<PublicKey>, Vec<String>), KeyError> {
    let document: Value = serde_json::from_str(text).map_err(|e| KeyError::Malformed {
        input: source.into(),
        tag: "JWKS".into(),
        reason: e.to_string(),
    })?;
    let Some(entries) = document.get("keys").and_then(Value::as_array) else {
        return Err(KeyError::Malformed {
            input: source.into(),
            tag: "JWKS".into(),
            reason: "no \"keys\" list".into(),
        });
    };
    let lenient = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let mut keys: Vec<PublicKey> = Vec::new();
    let mut notes = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let bad = |reason: String| KeyError::BadJwk {
            input: source.into(),
            index,
            reason,
        };
        let field = |name: &str| entry.get(name).and_then(Value::as_str);
        if field("kty") != Some("RSA") {
            return Err(bad(format!(
                "kty {:?}: only RSA keys are supported; give the keys with --public-key",
                field("kty").unwrap_or("")
            )));
        }
        let number = |name: &str| {
            field(name)
                .and_then(|text| lenient.decode(text).ok())
                .map(|bytes| BigUint::from_bytes_be(&bytes))
                .ok_or_else(|| bad(format!("no base64url {name:?}")))
        };
        let key = RsaPublicKey::new(number("n")?, number("e")?).map_err(|e| bad(e.to_string()))?;
        let mut key = PublicKey::new(key);
        match field("kid") {
            Some(kid) if !kid.is_empty() && kid != key.kid => {
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
        assert!(parse_jwks("{}", "jwks").is_err());
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
