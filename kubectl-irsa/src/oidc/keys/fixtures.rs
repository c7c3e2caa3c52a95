//! Signing keys for tests, each with the JWK that publishes it: a fresh RSA key, a fixed P-256
//! key (made by openssl, so its kid and JWK are checked against a tool other than this code),
//! and fresh P-256 and P-384 keys.

use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use serde_json::Value;

use super::{Material, PublicKey, SigningAlgorithm};

/// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`, PKCS#8 DER in base64.
pub const EC_PKCS8: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+wyF7NflO4aM3BTUDqSdi7TXGyfCTqm/T5OsGJ+6K+GhRANCAAQeKY61yALOTP/MzhjNkfXDf9/p5vAtWZ0c/5kDcaPSxIQCtbSYur2XAdcsIJs3x26ogJq+YZu8nihJ5anTLUm8";

pub struct Signer {
    key: EncodingKey,
    algorithm: Algorithm,
    /// The kid its tokens carry (the computed one, but for [`Signer::ec`]).
    pub kid: String,
    /// The public key as a JWKS lists it, with `kid`.
    pub jwk: Value,
}

impl Signer {
    /// A fresh 1024-bit RSA key (small, for speed), as kube-apiserver would publish it.
    pub fn rsa() -> Signer {
        let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
        let public = PublicKey::new(Material::Rsa(private.to_public_key()));
        let der = private.to_pkcs1_der().unwrap();
        Signer {
            key: EncodingKey::from_rsa_der(der.as_bytes()),
            algorithm: Algorithm::RS256,
            jwk: public.jwk(&public.kid),
            kid: public.kid,
        }
    }

    /// The fixed P-256 key, with kid `ec-p256` (its JWK made by jsonwebtoken, not by this
    /// crate's keys module).
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

    /// A fresh ECDSA key for ES256 or ES384 from [`super::generate`], as kube-apiserver would
    /// publish it.
    pub fn fresh_ec(algorithm: SigningAlgorithm) -> Signer {
        let (pem, public) = super::generate(algorithm, 0).unwrap();
        let der = pem::parse(pem).unwrap().into_contents();
        Signer {
            key: EncodingKey::from_ec_der(&der),
            algorithm: match algorithm {
                SigningAlgorithm::Es384 => Algorithm::ES384,
                _ => Algorithm::ES256,
            },
            jwk: public.jwk(&public.kid),
            kid: public.kid,
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
