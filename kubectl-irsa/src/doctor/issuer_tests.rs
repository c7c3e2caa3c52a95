use super::*;
use crate::doctor::Status;
use crate::oidc::keys::fixtures::Signer;
use serde_json::json;

const ISSUER: &str = "https://oidc.example.com/id/ABC";

/// A key and a token it signed, as the cluster issues it.
fn signer() -> (Signer, String) {
    let signer = Signer::rsa();
    let claims = json!({"iss": ISSUER, "sub": "system:serviceaccount:shop:cart", "aud": ["sts.amazonaws.com"]});
    let token = signer.token(&claims);
    (signer, token)
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
        check_issuer(Err("404"), Ok(ISSUER))
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
    let (signer, token) = signer();
    let jwks = json!({"keys": [signer.jwk]}).to_string();
    let pass = check_jwks(Ok(&jwks), Ok(&token), ISSUER);
    assert_eq!(
        pass,
        Check::pass(
            "jwks",
            format!("kid {} is published and verifies a fresh token", signer.kid)
        )
    );

    let rotated = json!({"keys": [Signer::rsa().jwk]}).to_string();
    let missing = check_jwks(Ok(&rotated), Ok(&token), ISSUER);
    assert_eq!(missing.status, Status::Fail);
    assert!(
        missing.evidence.contains("is not in the JWKS"),
        "{missing:?}"
    );
    assert!(missing.fix.unwrap().contains("kubectl irsa oidc documents"));

    // The kid is there, but on another key.
    let other = json!({"keys": [Signer::rsa().jwk_with_kid(&signer.kid)]}).to_string();
    let wrong = check_jwks(Ok(&other), Ok(&token), ISSUER);
    assert_eq!(wrong.status, Status::Fail);
    assert!(wrong.evidence.contains("does not verify"), "{wrong:?}");

    let extra =
        json!({"keys": [signer.jwk, signer.jwk_with_kid(""), Signer::rsa().jwk_with_kid("old")]})
            .to_string();
    let warn = check_jwks(Ok(&extra), Ok(&token), ISSUER);
    assert_eq!(warn.status, Status::Warn, "{warn:?}");
    assert!(warn.evidence.contains("1 key(s) without kid"), "{warn:?}");
    assert!(warn.evidence.contains("unused key(s) \"old\""), "{warn:?}");

    assert_eq!(
        check_jwks(Ok("{}"), Ok(&token), ISSUER).status,
        Status::Fail
    );
    assert_eq!(
        check_jwks(Err("404"), Ok(&token), ISSUER).status,
        Status::Fail
    );
}

#[test]
fn ec_keys_in_the_jwks_do_not_make_it_unreadable() {
    let (rsa, token) = signer();
    let ec = Signer::ec();
    let both = json!({"keys": [rsa.jwk, ec.jwk]}).to_string();
    let check = check_jwks(Ok(&both), Ok(&token), ISSUER);
    assert_eq!(
        check.evidence,
        format!(
            "kid {} is published and verifies a fresh token; also unused key(s) \"ec-p256\"",
            rsa.kid
        )
    );
    assert_eq!(check.status, Status::Warn);

    // A cluster signing with its EC key is verified too.
    let ec_token = ec.token(&json!({"iss": ISSUER}));
    let check = check_jwks(Ok(&both), Ok(&ec_token), ISSUER);
    assert!(
        check.evidence.starts_with(
            "kid ec-p256 is published and verifies a fresh token; also unused key(s) "
        ),
        "{check:?}"
    );

    // A key no one can read is named, and republishing is the fix.
    let broken =
        json!({"keys": [rsa.jwk, {"kty": "EC", "kid": "half", "crv": "P-256"}]}).to_string();
    let check = check_jwks(Ok(&broken), Ok(&token), ISSUER);
    assert_eq!(check.status, Status::Warn);
    assert!(
        check.evidence.ends_with(
            "also unreadable key(s) \"half\" (kty \"EC\" without the parameters of an RSA, P-256 or P-384 key)"
        ),
        "{check:?}"
    );
    assert!(
        check
            .fix
            .unwrap()
            .starts_with("publish the signing key's public half")
    );
}

/// Check 3 when the issuer host serves the right discovery document and `public` as JWKS.
fn served(cluster: &str, public: &str, kid: Option<&str>) -> Check {
    check_public(
        ISSUER,
        Some(cluster),
        Ok(&discovery(ISSUER)),
        Ok(public),
        kid,
    )
}

#[test]
fn public_documents_must_match_the_cluster() {
    let key = Signer::rsa();
    let jwks = json!({"keys": [key.jwk]}).to_string();
    assert_eq!(
        served(&jwks, &jwks, Some(&key.kid)),
        Check::pass(
            "public",
            format!("{ISSUER} serves the same discovery issuer and 1 key(s) as the cluster")
        )
    );

    let stale_key = Signer::rsa();
    let stale = json!({"keys": [stale_key.jwk]}).to_string();
    let fail = served(&jwks, &stale, Some(&key.kid));
    assert_eq!(fail.status, Status::Fail);
    assert!(fail.evidence.contains("stale upload"), "{fail:?}");

    let both = json!({"keys": [key.jwk, stale_key.jwk]}).to_string();
    let warn = served(&jwks, &both, Some(&key.kid));
    assert_eq!(warn.status, Status::Warn, "{warn:?}");
    assert_eq!(
        warn.evidence,
        format!(
            "the public JWKS and the cluster's differ in kid(s) {:?}",
            stale_key.kid
        )
    );

    let moved = check_public(
        ISSUER,
        Some(&jwks),
        Ok(&discovery("https://x")),
        Ok(&jwks),
        None,
    );
    assert_eq!(moved.status, Status::Fail);
    let unreachable = check_public(ISSUER, None, Err("timeout"), Err("x"), None);
    assert!(unreachable.evidence.contains("IAM cannot read"));
    let garbage = served(&jwks, "<html>", None);
    assert_eq!(garbage.status, Status::Fail);
    assert!(
        garbage
            .evidence
            .starts_with("the public JWKS is not a JWKS (expected value"),
        "{garbage:?}"
    );
    // EC keys are compared as RSA keys are.
    let ec = Signer::ec();
    let mixed = json!({"keys": [key.jwk, ec.jwk]}).to_string();
    let same = served(&mixed, &mixed, Some(&ec.kid));
    assert_eq!(same.status, Status::Pass, "{same:?}");
    assert_eq!(
        served(&jwks, &mixed, Some(&key.kid)).evidence,
        "the public JWKS and the cluster's differ in kid(s) \"ec-p256\""
    );
    assert_eq!(
        check_thumbprint(ISSUER, Ok("ab".repeat(20))).status,
        Status::Pass
    );
    assert_eq!(
        check_thumbprint(ISSUER, Err("refused".into())).status,
        Status::Fail
    );
}
