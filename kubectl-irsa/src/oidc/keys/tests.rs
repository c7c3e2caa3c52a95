//! RSA keys in every format, kids, JWKS reading and verification (EC keys: `ec_tests.rs`).

use super::*;
use jsonwebtoken::jwk::Jwk;
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs8::LineEnding;
use serde::Deserialize as _;

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
    assert_eq!(PublicKey::new(Material::Rsa(key)).kid, expected);
    assert_eq!(expected.len(), 43);
    assert!(!expected.contains(['=', '+', '/']));
}

#[test]
fn every_format_gives_the_same_key() {
    let private = fresh_key();
    let public = private.to_public_key();
    let expected = PublicKey::new(Material::Rsa(public.clone()));
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
    let other = PublicKey::new(Material::Rsa(fresh_key().to_public_key()));
    let both = format!("{pkix}{}{pkcs1}", other.to_pem());
    let keys = parse_pem(both.as_bytes(), "k").unwrap();
    assert_eq!(keys, vec![expected, other]);
}

#[test]
fn files_that_are_not_keys_are_refused_with_a_fix() {
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
        error
            .to_string()
            .contains("the EC PRIVATE KEY block is unreadable"),
        "{error}"
    );
    let dsa = "-----BEGIN DSA PRIVATE KEY-----\nAAAA\n-----END DSA PRIVATE KEY-----\n";
    let error = parse_pem(dsa.as_bytes(), "k").unwrap_err();
    assert!(
        error.to_string().contains("a DSA PRIVATE KEY block"),
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
    let key = PublicKey::new(Material::Rsa(fresh_key().to_public_key()));
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
    assert_eq!(
        parse_jwks(&ec, "jwks").unwrap_err().to_string(),
        "jwks: key 0 of the JWKS is unusable: an EC key needs \"crv\", and base64url \"x\" and \"y\""
    );
    let okp = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AA"}]}).to_string();
    assert_eq!(
        parse_jwks(&okp, "jwks").unwrap_err().to_string(),
        "jwks: key 0 of the JWKS is unusable: kty \"OKP\": only RSA and EC keys are supported; give the keys with --public-key"
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

    // oidc documents republishes both kinds; the fixed EC key keeps its published kid.
    let (keys, notes) = parse_jwks(&text, "jwks").unwrap();
    let kids: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(kids, [rsa.kid.as_str(), "ec-p256"]);
    // The same point as jsonwebtoken's own JWK of the key (which has no "use").
    let mut republished = keys[1].jwk("ec-p256");
    republished.as_object_mut().unwrap().remove("use");
    assert_eq!(republished, ec.jwk);
    assert_eq!(notes.len(), 1, "{notes:?}");
}

#[test]
fn generated_keys_load_back() {
    let (private_pem, public) = generate(SigningAlgorithm::Rs256, 1024).unwrap();
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
    assert!(error.to_string().contains("not one private key"), "{error}");
}
