//! The two documents a self-hosted issuer publishes: the OIDC discovery document and the JWKS.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::keys::PublicKey;

/// Where the discovery document lives, under the issuer.
pub const DISCOVERY_PATH: &str = ".well-known/openid-configuration";

/// The discovery document, as kube-apiserver serves it: `id_token_signing_alg_values_supported`
/// lists the algorithm of every key, sorted and once each (`getAlgs` in
/// pkg/serviceaccount/openidmetadata.go).
pub fn discovery(issuer: &str, jwks_uri: &str, keys: &[PublicKey]) -> Value {
    let algorithms: BTreeSet<&str> = keys.iter().map(|key| key.key.algorithm()).collect();
    json!({
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algorithms,
    })
}

/// The JWKS; with `legacy_empty_kid`, each key is listed a second time with an empty kid, for
/// tokens from apiservers before 1.16, which signed without one.
pub fn jwks(keys: &[PublicKey], legacy_empty_kid: bool) -> Value {
    let mut entries: Vec<Value> = keys.iter().map(|key| key.jwk(&key.kid)).collect();
    if legacy_empty_kid {
        entries.extend(keys.iter().map(|key| key.jwk("")));
    }
    json!({ "keys": entries })
}

/// `ISSUER/PATH`, without doubling the slash of an issuer that ends with one.
pub fn jwks_uri(issuer: &str, jwks_path: &str) -> String {
    format!("{}/{jwks_path}", issuer.trim_end_matches('/'))
}

/// A JWKS path relative to the issuer: plain segments, no `..`, nothing a URL would need
/// escaped. Returns it without a leading slash.
pub fn check_jwks_path(path: &str) -> Result<&str, String> {
    let trimmed = path.trim_start_matches('/');
    let refuse = |why: &str| {
        format!(
            "invalid --jwks-path {path:?}: {why}; give a path under the issuer such as keys.json or openid/v1/jwks"
        )
    };
    if trimmed.is_empty() {
        return Err(refuse("it is empty"));
    }
    let safe = |c: char| c.is_ascii_alphanumeric() || "-._~/".contains(c);
    if !trimmed.chars().all(safe) {
        return Err(refuse(
            "use letters, digits, '-', '.', '_', '~' and '/' only",
        ));
    }
    if trimmed
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(refuse("empty, '.' and '..' segments are not allowed"));
    }
    if trimmed == DISCOVERY_PATH {
        return Err(refuse("that is where the discovery document goes"));
    }
    Ok(trimmed)
}

/// A document as written to disk: pretty JSON and a final newline.
pub fn to_file_text(document: &Value) -> String {
    let mut text = serde_json::to_string_pretty(document).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::keys;

    const PKIX: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDGehdSNYr27YpnUXWCUKb5NFiR
E9hrYiAUeeqgVAeAThOTHbXkR6jkQrwA+yjbPUqe1NoyHSTafNl+FmvEysN827vT
/VFD6cIBgZ30YWraa4clB0PRxa7mu2oQz8QYL+W8lBjDOS0B2UJpMyVKne8kcCdd
ivfxtDULCmL9lC2pfwIDAQAB
-----END PUBLIC KEY-----
";

    #[test]
    fn discovery_document_has_the_fields_iam_reads() {
        let issuer = "https://oidc.example.com/cluster-1";
        let uri = jwks_uri(issuer, "keys.json");
        assert_eq!(uri, "https://oidc.example.com/cluster-1/keys.json");
        assert_eq!(
            jwks_uri("https://h/", "keys.json"),
            "https://h/keys.json",
            "no double slash"
        );
        let rsa = keys::parse_pem(PKIX.as_bytes(), "k").unwrap();
        let document = discovery(issuer, &uri, &rsa);
        assert_eq!(
            document,
            json!({
                "issuer": issuer,
                "jwks_uri": uri,
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            })
        );
        assert!(to_file_text(&document).ends_with("}\n"));

        // Every algorithm in use, sorted, once each.
        let p384 = keys::generate(keys::SigningAlgorithm::Es384, 0).unwrap().1;
        let p256 = keys::generate(keys::SigningAlgorithm::Es256, 0).unwrap().1;
        let mixed = [p384.clone(), rsa[0].clone(), p256, p384];
        assert_eq!(
            discovery(issuer, &uri, &mixed)["id_token_signing_alg_values_supported"],
            json!(["ES256", "ES384", "RS256"])
        );
    }

    #[test]
    fn jwks_lists_each_key_and_the_legacy_duplicate_on_request() {
        let key = keys::parse_pem(PKIX.as_bytes(), "k").unwrap().remove(0);
        let plain = jwks(std::slice::from_ref(&key), false);
        assert_eq!(
            plain,
            json!({"keys": [{
                "use": "sig",
                "kty": "RSA",
                "kid": "sFew14uc4miSwRifDO48tkCjsPtIu0qXC4dts9Vh574",
                "alg": "RS256",
                "n": "xnoXUjWK9u2KZ1F1glCm-TRYkRPYa2IgFHnqoFQHgE4Tkx215Eeo5EK8APso2z1KntTaMh0k2nzZfhZrxMrDfNu70_1RQ-nCAYGd9GFq2muHJQdD0cWu5rtqEM_EGC_lvJQYwzktAdlCaTMlSp3vJHAnXYr38bQ1Cwpi_ZQtqX8",
                "e": "AQAB",
            }]})
        );
        let legacy = jwks(std::slice::from_ref(&key), true);
        let kids: Vec<&str> = legacy["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(kids, [key.kid.as_str(), ""]);
        assert_eq!(legacy["keys"][0]["n"], legacy["keys"][1]["n"]);
    }

    #[test]
    fn jwks_paths_stay_under_the_issuer() {
        assert_eq!(check_jwks_path("keys.json").unwrap(), "keys.json");
        assert_eq!(
            check_jwks_path("/openid/v1/jwks").unwrap(),
            "openid/v1/jwks"
        );
        for bad in [
            "",
            "/",
            "../keys.json",
            "a//b",
            "a b",
            "keys.json?x=1",
            DISCOVERY_PATH,
        ] {
            let error = check_jwks_path(bad).unwrap_err();
            assert!(error.contains("--jwks-path"), "{bad:?}: {error}");
        }
    }
}
