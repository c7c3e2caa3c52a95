use super::*;
use crate::doctor::Status;
use crate::doctor::evidence::{Fetched, Thumbprint};
use crate::doctor::public::{check_public, check_thumbprint};
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

/// Check 1 with discovery readable and nothing looked up.
fn judged(discovery: Document<'_>, token_iss: Result<&str, &str>) -> Check {
    check_issuer(discovery, token_iss, Access::default())
}

fn discovery(issuer: &str) -> String {
    json!({"issuer": issuer, "jwks_uri": format!("{issuer}/openid/v1/jwks")}).to_string()
}

#[test]
fn issuer_must_equal_the_token_iss_byte_for_byte() {
    let pass = judged(Ok(&discovery(ISSUER)), Ok(ISSUER));
    assert_eq!(pass.status, Status::Pass, "{pass:?}");

    let other = judged(Ok(&discovery(ISSUER)), Ok("https://other.example.com"));
    assert_eq!(other.status, Status::Fail);
    assert!(other.evidence.contains("tokens carry iss"), "{other:?}");
    assert!(other.fix.unwrap().contains("--service-account-issuer"));

    let slash = format!("{ISSUER}/");
    let trailing = judged(Ok(&discovery(&slash)), Ok(&slash));
    assert_eq!(trailing.status, Status::Fail);
    assert!(trailing.evidence.contains("ends with '/'"), "{trailing:?}");
    assert!(trailing.fix.unwrap().contains(&format!("{ISSUER:?}")));

    let http = judged(Ok(&discovery("http://h")), Ok("http://h"));
    assert_eq!(http.status, Status::Fail);
    assert!(
        judged(Err("404"), Ok(ISSUER))
            .fix
            .unwrap()
            .contains("apiserver-config")
    );
    assert_eq!(judged(Ok("[]"), Ok(ISSUER)).status, Status::Fail);
    assert_eq!(
        judged(Ok(&discovery(ISSUER)), Err("forbidden")).status,
        Status::Warn
    );
}

#[test]
fn jwks_must_hold_the_kid_that_verifies_the_token() {
    let (signer, token) = signer();
    let jwks = json!({"keys": [signer.jwk]}).to_string();
    let pass = check_jwks(Ok(&jwks), false, Ok(&token), ISSUER);
    assert_eq!(
        pass,
        Check::pass(
            "jwks",
            format!("kid {} is published and verifies a fresh token", signer.kid)
        )
    );

    let rotated = json!({"keys": [Signer::rsa().jwk]}).to_string();
    let missing = check_jwks(Ok(&rotated), false, Ok(&token), ISSUER);
    assert_eq!(missing.status, Status::Fail);
    assert!(
        missing.evidence.contains("is not in the JWKS"),
        "{missing:?}"
    );
    assert!(missing.fix.unwrap().contains("kubectl irsa oidc documents"));

    // The kid is there, but on another key.
    let other = json!({"keys": [Signer::rsa().jwk_with_kid(&signer.kid)]}).to_string();
    let wrong = check_jwks(Ok(&other), false, Ok(&token), ISSUER);
    assert_eq!(wrong.status, Status::Fail);
    assert!(wrong.evidence.contains("does not verify"), "{wrong:?}");

    let extra =
        json!({"keys": [signer.jwk, signer.jwk_with_kid(""), Signer::rsa().jwk_with_kid("old")]})
            .to_string();
    let warn = check_jwks(Ok(&extra), false, Ok(&token), ISSUER);
    assert_eq!(warn.status, Status::Warn, "{warn:?}");
    assert!(warn.evidence.contains("1 key(s) without kid"), "{warn:?}");
    assert!(warn.evidence.contains("unused key(s) \"old\""), "{warn:?}");

    let broken = check_jwks(Ok("<html>"), false, Ok(&token), ISSUER);
    assert_eq!(
        (
            broken.status,
            broken.evidence.as_str(),
            broken.fix.as_deref()
        ),
        (
            Status::Fail,
            "the cluster's JWKS is not a JWKS (expected value at line 1 column 1)",
            Some(
                "kube-apiserver writes /openid/v1/jwks from its keys itself: find what answers there in its place (a proxy, an aggregated API)"
            )
        )
    );
    assert_eq!(
        check_jwks(Ok("{}"), false, Ok(&token), ISSUER).status,
        Status::Fail
    );
    assert_eq!(
        check_jwks(Err("404"), false, Ok(&token), ISSUER).status,
        Status::Fail
    );
}

#[test]
fn ec_keys_in_the_jwks_do_not_make_it_unreadable() {
    let (rsa, token) = signer();
    let ec = Signer::ec();
    let both = json!({"keys": [rsa.jwk, ec.jwk]}).to_string();
    let check = check_jwks(Ok(&both), false, Ok(&token), ISSUER);
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
    let check = check_jwks(Ok(&both), false, Ok(&ec_token), ISSUER);
    assert!(
        check.evidence.starts_with(
            "kid ec-p256 is published and verifies a fresh token; also unused key(s) "
        ),
        "{check:?}"
    );

    // A key no one can read is named, and republishing is the fix.
    let broken =
        json!({"keys": [rsa.jwk, {"kty": "EC", "kid": "half", "crv": "P-256"}]}).to_string();
    let check = check_jwks(Ok(&broken), false, Ok(&token), ISSUER);
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
}

#[test]
fn the_thumbprint_is_the_jwks_hosts_and_said_to_matter_for_private_cas_only() {
    let read = |sha1: Fetched<String>| Thumbprint {
        url: "https://keys.example.net/jwks.json".into(),
        sha1,
    };
    assert_eq!(
        check_thumbprint(&read(Ok("ab".repeat(20)))),
        Check::pass(
            "thumbprint",
            format!(
                "the top CA of keys.example.net, which serves the JWKS, has SHA-1 {}: IAM checks it only for a chain to a CA it does not trust (private or self-signed); since 2023 it ignores the thumbprint for public CAs and S3",
                "ab".repeat(20)
            )
        )
    );
    assert_eq!(
        check_thumbprint(&read(Err("refused".into()))),
        Check::fail(
            "thumbprint",
            "refused",
            "check that https://keys.example.net/jwks.json is reachable over https from here: kubectl irsa oidc thumbprint https://keys.example.net/jwks.json"
        )
    );
}

const DENIED: &str = "403 Forbidden (forbidden: User \"jane\" cannot get path \"/.well-known/openid-configuration\")";

fn denied() -> Access<'static> {
    Access {
        discovery_denied: true,
        token_denied: true,
        resolved: None,
    }
}

#[test]
fn discovery_denied_to_these_credentials_asks_for_the_binding_not_apiserver_flags() {
    assert_eq!(
        check_issuer(Err(DENIED), Ok(ISSUER), denied()),
        Check::warn(
            "issuer",
            format!(
                "discovery is not readable with these credentials ({DENIED}); a fresh token's iss is {ISSUER}"
            ),
            format!("to compare it with discovery: {DISCOVERY_BINDING}"),
        )
    );
    assert_eq!(
        DISCOVERY_BINDING,
        "kubectl create clusterrolebinding oidc-reviewer --clusterrole=system:service-account-issuer-discovery --group=system:authenticated (or one of your groups)"
    );
    // The token's iss is judged as the issuer would be.
    let internal = "https://kubernetes.default.svc";
    let check = check_issuer(Err(DENIED), Ok(internal), denied());
    assert_eq!(
        check,
        Check::fail(
            "issuer",
            format!(
                "https://kubernetes.default.svc: kubernetes.default.svc is a cluster-internal name, so IAM cannot fetch the discovery document and keys from it (read from a fresh token: discovery is not readable with these credentials ({DENIED}))"
            ),
            reach::PUBLISH,
        )
    );
    assert_eq!(
        check_issuer(Err(DENIED), Err("no token: 403"), denied()),
        Check::warn(
            "issuer",
            format!(
                "discovery is not readable with these credentials ({DENIED}), and no token tells the issuer: no token: 403"
            ),
            format!(
                "{DISCOVERY_BINDING}; or allow creating serviceaccounts/token (kubectl auth can-i create serviceaccounts/token)"
            ),
        )
    );
    let (_, token) = signer();
    assert_eq!(
        check_jwks(Err("403 Forbidden"), true, Ok(&token), ISSUER),
        Check::warn(
            "jwks",
            "the cluster's JWKS is not readable with these credentials (403 Forbidden): its keys are not compared with a token",
            format!("to compare them: {DISCOVERY_BINDING}"),
        )
    );
}

#[test]
fn issuers_iam_cannot_reach_fail_the_issuer_check() {
    let kind = "https://kubernetes.default.svc.cluster.local";
    let check = judged(Ok(&discovery(kind)), Ok(kind));
    assert_eq!(check, reach::check(kind, None).unwrap());
    assert_eq!(check.fix.as_deref(), Some(reach::PUBLISH));
    let resolved: [IpAddr; 1] = ["93.184.215.14".parse().unwrap()];
    let access = Access {
        discovery_denied: false,
        token_denied: false,
        resolved: Some(Ok(&resolved)),
    };
    assert_eq!(
        check_issuer(Ok(&discovery(ISSUER)), Ok(ISSUER), access),
        Check::pass(
            "issuer",
            format!("discovery and a fresh token agree on {ISSUER}")
        )
    );
    let access = Access {
        discovery_denied: false,
        token_denied: false,
        resolved: Some(Err("no such host")),
    };
    assert_eq!(
        check_issuer(Ok(&discovery(ISSUER)), Ok(ISSUER), access).status,
        Status::Fail
    );
}

#[test]
fn rbac_advice_only_when_the_token_request_was_refused() {
    let failed = "cannot request a token for shop/cart: an error on the server (\"{}\") has prevented the request from succeeding (500 InternalError)";
    let access = |token_denied| Access {
        discovery_denied: false,
        token_denied,
        resolved: None,
    };
    let check = check_issuer(Ok(&discovery(ISSUER)), Err(failed), access(false));
    assert_eq!(
        check,
        Check::warn(
            "issuer",
            format!("discovery announces {ISSUER:?}; no token to compare it with: {failed}"),
            "look at the apiserver's log: TokenRequest failed there (it needs --service-account-signing-key-file and --service-account-issuer), then run doctor again",
        )
    );
    let check = check_issuer(Ok(&discovery(ISSUER)), Err(DENIED), access(true));
    assert_eq!(
        check.fix.as_deref(),
        Some(
            "allow creating serviceaccounts/token (kubectl auth can-i create serviceaccounts/token), then run doctor again"
        )
    );
}
