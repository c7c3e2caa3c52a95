//! JWKS documents, read once through `jsonwebtoken::jwk`: for doctor, which finds a token's key
//! and verifies the token with it (RS256, ES256, ES384, as STS and kube-apiserver use them),
//! and for `oidc documents`, which republishes a cluster's RSA and EC keys.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rsa::{BigUint, RsaPublicKey};
use serde::Deserialize as _;
use serde_json::Value;

use super::{Curve, EcKey, KeyError, Material, PublicKey};

/// A JWKS as published, each entry read as a [`Jwk`]. Any key type reads (kube-apiserver
/// publishes EC keys beside RSA ones); what a caller cannot use is its own business. `source`
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

/// The RSA and EC keys of a JWKS document (as a cluster serves at /openid/v1/jwks), for
/// republishing. Each keeps the kid it is published with, which is the kid its tokens carry;
/// empty or missing kids get the computed one. Also returns notes about kids that differ from
/// the computed one.
pub fn parse_jwks(text: &str, source: &str) -> Result<(Vec<PublicKey>, Vec<String>), KeyError> {
    let mut keys: Vec<PublicKey> = Vec::new();
    let mut notes = Vec::new();
    for (index, jwk) in read_jwks(text, source)?.keys.iter().enumerate() {
        let material = jwk_key(jwk).map_err(|reason| KeyError::BadJwk {
            input: source.into(),
            index,
            reason,
        })?;
        let mut key = PublicKey::new(material);
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

/// The public key of a JWK; base64url members may be padded or not.
fn jwk_key(jwk: &Jwk) -> Result<Material, String> {
    let lenient = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let bytes = |name: &str, text: &str| {
        lenient
            .decode(text)
            .map_err(|_| format!("no base64url {name:?}"))
    };
    match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            let number = |name, text| bytes(name, text).map(|b| BigUint::from_bytes_be(&b));
            RsaPublicKey::new(number("n", &rsa.n)?, number("e", &rsa.e)?)
                .map(Material::Rsa)
                .map_err(|e| e.to_string())
        }
        AlgorithmParameters::EllipticCurve(ec) => {
            let name = serde_json::to_value(&ec.curve).unwrap_or_default();
            let name = name.as_str().unwrap_or_default();
            let curve = Curve::from_name(name).ok_or_else(|| {
                format!("curve {name}: only P-256 (ES256) and P-384 (ES384) keys are supported")
            })?;
            EcKey::from_coordinates(curve, &bytes("x", &ec.x)?, &bytes("y", &ec.y)?)
                .map(Material::Ec)
        }
        _ => Err(match key_type(jwk) {
            "RSA" => "an RSA key needs base64url \"n\" and \"e\"".into(),
            "EC" => "an EC key needs \"crv\", and base64url \"x\" and \"y\"".into(),
            kty => format!(
                "kty {kty:?}: only RSA and EC keys are supported; give the keys with --public-key"
            ),
        }),
    }
}
