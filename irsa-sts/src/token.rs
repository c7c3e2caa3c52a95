//! The claims of a projected ServiceAccount token, read without checking the signature: they only
//! explain failures and derive names; STS is what verifies the token.

use serde::{Deserialize, Deserializer};
use time::OffsetDateTime;

/// Why a token could not be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "the token is not a JWT ({0}); it should be the projected ServiceAccount token the kubelet writes"
)]
pub struct TokenError(String);

/// The claims IRSA depends on.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The issuer URL; must equal the IAM OIDC provider's URL byte for byte.
    pub iss: Option<String>,
    /// `system:serviceaccount:NAMESPACE:NAME` for ServiceAccount tokens.
    pub sub: Option<String>,
    /// The audiences; IRSA expects `sts.amazonaws.com`.
    #[serde(default, deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: Option<i64>,
}

impl Claims {
    /// Reads the claims of a compact JWT.
    pub fn decode(token: &str) -> Result<Claims, TokenError> {
        jsonwebtoken::dangerous::insecure_decode_claims(token.trim())
            .map_err(|e| TokenError(e.to_string()))
    }

    /// The issuer as IAM names its OIDC provider: without `https://` and without a trailing slash.
    pub fn issuer_hostpath(&self) -> Option<&str> {
        self.iss.as_deref().map(issuer_hostpath)
    }

    /// `(namespace, name)` when the subject is a ServiceAccount.
    pub fn service_account(&self) -> Option<(&str, &str)> {
        let rest = self
            .sub
            .as_deref()?
            .strip_prefix("system:serviceaccount:")?;
        rest.split_once(':')
    }

    /// When the token expires, if it says.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp(self.exp?).ok()
    }
}

/// An issuer URL as IAM's provider ARN and condition keys spell it.
pub fn issuer_hostpath(issuer: &str) -> &str {
    let without_scheme = issuer.strip_prefix("https://").unwrap_or(issuer);
    without_scheme.strip_suffix('/').unwrap_or(without_scheme)
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(OneOrMany::One(one)) => vec![one],
        Some(OneOrMany::Many(many)) => many,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unsigned compact JWT with the given claims (the signature part is never checked here).
    fn jwt(claims: &str) -> String {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"RS256","kid":"k"}"#),
            b64(claims)
        )
    }

    #[test]
    fn decodes_service_account_claims() {
        let token = jwt(
            r#"{"iss":"https://oidc.eks.us-west-2.amazonaws.com/id/ABC","sub":"system:serviceaccount:shop:cart","aud":["sts.amazonaws.com"],"exp":1800000000}"#,
        );
        let claims = Claims::decode(&format!("{token}\n")).unwrap();
        assert_eq!(
            claims.issuer_hostpath(),
            Some("oidc.eks.us-west-2.amazonaws.com/id/ABC")
        );
        assert_eq!(claims.service_account(), Some(("shop", "cart")));
        assert_eq!(claims.aud, ["sts.amazonaws.com"]);
        assert_eq!(claims.expires_at().unwrap().unix_timestamp(), 1_800_000_000);
    }

    #[test]
    fn audience_may_be_a_single_string_or_absent() {
        let claims = Claims::decode(&jwt(r#"{"aud":"sts.amazonaws.com"}"#)).unwrap();
        assert_eq!(claims.aud, ["sts.amazonaws.com"]);
        let claims = Claims::decode(&jwt(r#"{"sub":"x"}"#)).unwrap();
        assert!(claims.aud.is_empty());
        assert_eq!(claims.service_account(), None);
    }

    #[test]
    fn issuer_hostpath_drops_scheme_and_trailing_slash() {
        assert_eq!(
            issuer_hostpath("https://issuer.example.com/path/"),
            "issuer.example.com/path"
        );
        assert_eq!(
            issuer_hostpath("https://issuer.example.com"),
            "issuer.example.com"
        );
    }

    #[test]
    fn refuses_what_is_not_a_jwt() {
        let err = Claims::decode("not a token").unwrap_err().to_string();
        assert!(err.contains("not a JWT"), "{err}");
    }

    /// JSON string literal, escaped by hand (serde_json is not a dependency here).
    fn json_string(text: &str) -> String {
        let mut out = String::from('"');
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    proptest::proptest! {

        #[test]
        fn arbitrary_text_never_panics(text in proptest::prelude::any::<String>()) {
            let decoded = Claims::decode(&text);
            // A compact JWT has exactly three parts.
            if text.trim().split('.').count() != 3 {
                proptest::prop_assert!(decoded.is_err());
            }
        }

        #[test]
        fn arbitrary_payloads_never_panic(payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&payload);
            let _ = Claims::decode(&format!("eyJhbGciOiJSUzI1NiJ9.{b64}.c2ln"));
        }

        #[test]
        fn claims_decode_to_what_was_encoded(
            iss in proptest::option::of(proptest::prelude::any::<String>()),
            sub in proptest::option::of(proptest::prelude::any::<String>()),
            aud in proptest::collection::vec(proptest::prelude::any::<String>(), 0..3),
            exp in proptest::option::of(proptest::prelude::any::<i64>()),
        ) {
            let mut members = Vec::new();
            if let Some(iss) = &iss { members.push(format!("\"iss\":{}", json_string(iss))); }
            if let Some(sub) = &sub { members.push(format!("\"sub\":{}", json_string(sub))); }
            let aud_json: Vec<String> = aud.iter().map(|a| json_string(a)).collect();
            members.push(format!("\"aud\":[{}]", aud_json.join(",")));
            if let Some(exp) = exp { members.push(format!("\"exp\":{exp}")); }
            let claims = Claims::decode(&jwt(&format!("{{{}}}", members.join(",")))).unwrap();
            proptest::prop_assert_eq!(claims, Claims { iss, sub, aud, exp });
        }
    }
}
