use super::*;
use crate::doctor::Status;
use crate::oidc::keys::PublicKey;
use jsonwebtoken::{EncodingKey, Header};
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use serde_json::json;

const ISSUER: &str = "https://oidc.example.com/id/ABC";

struct Signer {
    token: String,
    key: PublicKey,
}

fn signer() -> Signer {
    let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
    let key = PublicKey::new(private.to_public_key());
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    let der = private.to_pkcs1_der().unwrap();
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    let claims = json!({"iss": ISSUER, "sub": "system:serviceaccount:shop:cart", "aud": ["sts.amazonaws.com"], "exp": exp});
    let token =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_der(der.as_bytes())).unwrap();
    Signer { token, key }
}

fn discovery(issuer: &str) -> String {
    json!({"issuer": issuer, "jwks_uri": format!("{issuer}/openid/v1/jwks")}).to_string()
}

#[test]
fn issuer_must_equal_the_token_iss_byte_for_byte() {
    let pass = check_issuer(Ok(&discovery(ISSUER)), Ok(ISSUER));
    assert_eq!(pass.status, Status::Pass, "{pass:?}");

    let other = check_issuer(Ok(&discovery(ISSUER)), Ok("https://other.example.com"));
    assert_eq!(other.status, Status::Fail);
    assert!(other.evidence.contains("tokens carry iss"), "{other:?}");
    assert!(other.fix.unwrap().contains("--service-account-issuer"));

    let slash = format!("{ISSUER}/");
    let trailing = check_issuer(Ok(&discovery(&slash)), Ok(&slash));
    assert_eq!(trailing.status, Status::Fail);
    assert!(trailing.evidence.contains("ends with '/'"), "{trailing:?}");
    assert!(trailing.fix.unwrap().contains(&format!("{ISSUER:?}")));

    let http = check_issuer(Ok(&discovery("http://h")), Ok("http://h"));
    assert_eq!(http.status, Status::Fail);
    assert!(
        check_issuer(Err("404".into()), Ok(ISSUER))
            .fix
            .unwrap()
            .contains("apiserver-config")
    );
    assert_eq!(check_issuer(Ok("[]"), Ok(ISSUER)).status, Status::Fail);
    assert_eq!(
        check_issuer(Ok(&discovery(ISSUER)), Err("forbidden")).status,
        Status::Warn
    );
}

#[test]
fn jwks_must_hold_the_kid_that_verifies_the_token() {
    let signer = signer();
    let jwks = json!({"keys": [signer.key.jwk(&signer.key.kid)]}).to_string();
    let pass = check_jwks(Ok(&jwks), Ok(&signer.token), ISSUER);
    assert_eq!(pass.status, Status::Pass, "{pass:?}");

    let rotated = signer_jwks_without_kid(&signer);
    let missing = check_jwks(Ok(&rotated), Ok(&signer.token), ISSUER);
    assert_eq!(missing.status, Status::Fail);
    assert!(
        missing.evidence.contains("is not in the JWKS"),
        "{missing:?}"
    );
    assert!(missing.fix.unwrap().contains("kubectl irsa oidc documents"));

    // The kid is there, but on another key.
    let other = signer_other_key_same_kid(&signer);
    let wrong = check_jwks(Ok(&other), Ok(&signer.token), ISSUER);
    assert_eq!(wrong.status, Status::Fail);
    assert!(wrong.evidence.contains("does not verify"), "{wrong:?}");

    let extra = json!({"keys": [signer.key.jwk(&signer.key.kid), signer.key.jwk(""), other_key().jwk("old")]}).to_string();
    let warn = check_jwks(Ok(&extra), Ok(&signer.token), ISSUER);
    assert_eq!(warn.status, Status::Warn, "{warn:?}");
    assert!(warn.evidence.contains("1 key(s) without kid"), "{warn:?}");
    assert!(warn.evidence.contains("unused key(s) \"old\""), "{warn:?}");

    assert_eq!(
        check_jwks(Ok("{}"), Ok(&signer.token), ISSUER).status,
        Status::Fail
    );
    assert_eq!(
        check_jwks(Err("404".into()), Ok(&signer.token), ISSUER).status,
        Status::Fail
    );
}

fn other_key() -> PublicKey {
    PublicKey::new(
        RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024)
            .unwrap()
            .to_public_key(),
    )
}

fn signer_jwks_without_kid(_signer: &Signer) -> String {
    let other = other_key();
    json!({"keys": [other.jwk(&other.kid)]}).to_string()
}

fn signer_other_key_same_kid(signer: &Signer) -> String {
    json!({"keys": [other_key().jwk(&signer.key.kid)]}).to_string()
}

#[test]
fn public_documents_must_match_the_cluster() {
    let key = other_key();
    let jwks = json!({"keys": [key.jwk(&key.kid)]}).to_string();
    let same = check_public(
        ISSUER,
        Some(&jwks),
        Ok(&discovery(ISSUER)),
        Ok(&jwks),
        Some(&key.kid),
    );
    assert_eq!(same.status, Status::Pass, "{same:?}");

    let stale_key = other_key();
    let stale = json!({"keys": [stale_key.jwk(&stale_key.kid)]}).to_string();
    let fail = check_public(
        ISSUER,
        Some(&jwks),
        Ok(&discovery(ISSUER)),
        Ok(&stale),
        Some(&key.kid),
    );
    assert_eq!(fail.status, Status::Fail);
    assert!(fail.evidence.contains("stale upload"), "{fail:?}");

    let both = json!({"keys": [key.jwk(&key.kid), stale_key.jwk(&stale_key.kid)]}).to_string();
    let warn = check_public(
        ISSUER,
        Some(&jwks),
        Ok(&discovery(ISSUER)),
        Ok(&both),
        Some(&key.kid),
    );
    assert_eq!(warn.status, Status::Warn, "{warn:?}");

    let moved = check_public(
        ISSUER,
        Some(&jwks),
        Ok(&discovery("https://x")),
        Ok(&jwks),
        None,
    );
    assert_eq!(moved.status, Status::Fail);
    let unreachable = check_public(ISSUER, None, Err("timeout".into()), Err("x".into()), None);
    assert!(unreachable.evidence.contains("IAM cannot read"));
    assert_eq!(
        check_thumbprint(ISSUER, Ok("ab".repeat(20))).status,
        Status::Pass
    );
    assert_eq!(
        check_thumbprint(ISSUER, Err("refused".into())).status,
        Status::Fail
    );
}
