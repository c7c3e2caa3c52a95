//! Kubernetes names, trust-policy subjects, account IDs and issuer URLs, validated before
//! anything is sent. The command line parses flags with these, so a bad value is a usage error
//! naming the flag.

use std::fmt;
use std::str::FromStr;

/// A name or URL that cannot be what it stands for; the message says what is allowed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameError(String);

/// A namespace: a DNS-1123 label.
pub fn check_namespace(namespace: &str) -> Result<(), NameError> {
    if is_dns1123_label(namespace) {
        Ok(())
    } else {
        Err(NameError(format!(
            "invalid namespace {namespace:?}: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit"
        )))
    }
}

/// A ServiceAccount name: a DNS-1123 subdomain.
pub fn check_service_account(name: &str) -> Result<(), NameError> {
    let valid = !name.is_empty() && name.len() <= 253 && name.split('.').all(is_dns1123_label);
    if valid {
        Ok(())
    } else {
        Err(NameError(format!(
            "invalid ServiceAccount name {name:?}: use at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
        )))
    }
}

/// A Secret name: a DNS-1123 subdomain (a clap `value_parser`).
pub fn secret(name: &str) -> Result<String, NameError> {
    let valid = !name.is_empty() && name.len() <= 253 && name.split('.').all(is_dns1123_label);
    if valid {
        Ok(name.to_string())
    } else {
        Err(NameError(format!(
            "invalid Secret name {name:?}: use at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
        )))
    }
}

fn is_dns1123_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    let alphanumeric = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    (1..=63).contains(&bytes.len())
        && bytes.iter().all(|b| alphanumeric(b) || *b == b'-')
        && bytes.first().is_some_and(alphanumeric)
        && bytes.last().is_some_and(alphanumeric)
}

/// A namespace flag's value, checked (a clap `value_parser`).
pub fn namespace(text: &str) -> Result<String, NameError> {
    check_namespace(text).map(|()| text.to_string())
}

/// A ServiceAccount argument, checked (a clap `value_parser`).
pub fn service_account(text: &str) -> Result<String, NameError> {
    check_service_account(text).map(|()| text.to_string())
}

/// `NAMESPACE:NAME` (wildcards `*` and `?` allowed) as the token subject
/// `system:serviceaccount:NAMESPACE:NAME`.
pub fn subject(spec: &str) -> Result<String, NameError> {
    let refuse = |why: &str| {
        NameError(format!(
            "{spec:?} is not a subject ({why}): write NAMESPACE:NAME, such as shop:cart or team-*:*"
        ))
    };
    let (namespace, name) = spec.split_once(':').ok_or_else(|| refuse("no ':'"))?;
    for (part, what) in [(namespace, "namespace"), (name, "name")] {
        if part.contains(['*', '?']) {
            let literal = part.replace(['*', '?'], "a");
            let valid = part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.*?".contains(c));
            if !valid || literal.is_empty() {
                return Err(refuse(&format!(
                    "the {what} pattern has characters names cannot have"
                )));
            }
        } else if what == "namespace" {
            check_namespace(part).map_err(|e| refuse(&e.to_string()))?;
        } else {
            check_service_account(part).map_err(|e| refuse(&e.to_string()))?;
        }
    }
    Ok(format!("system:serviceaccount:{namespace}:{name}"))
}

/// A 12-digit AWS account ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountId(String);

impl AccountId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AccountId {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Self, NameError> {
        if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(text.to_string()))
        } else {
            Err(NameError(format!(
                "invalid account {text:?}: an AWS account ID is 12 digits"
            )))
        }
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An issuer URL as IAM takes it: https with a host. Kept byte for byte, since tokens, the
/// discovery document and the IAM provider must agree exactly; a trailing slash is accepted
/// but warned about ([`Issuer::warning`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuer(String);

impl Issuer {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What is legal but breaks issuer equality (a trailing slash).
    pub fn warning(&self) -> Option<String> {
        check_issuer(&self.0).ok().flatten()
    }
}

impl FromStr for Issuer {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Self, NameError> {
        check_issuer(text).map(|_| Issuer(text.to_string()))
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The issuer as IAM needs it: https, and a warning for a trailing slash, which breaks issuer
/// equality with the tokens (`iss` must match the provider URL byte for byte).
pub fn check_issuer(issuer: &str) -> Result<Option<String>, NameError> {
    let Some(rest) = issuer.strip_prefix("https://") else {
        return Err(NameError(format!(
            "invalid issuer {issuer:?}: IAM OIDC providers need an https:// URL"
        )));
    };
    if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
        return Err(NameError(format!("invalid issuer {issuer:?}: no host")));
    }
    Ok(issuer.ends_with('/').then(|| {
        format!("the issuer {issuer:?} ends with '/': tokens, the discovery document and the IAM provider must use the same URL byte for byte, and IAM drops the slash; configure --service-account-issuer without it")
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_and_names_follow_dns_1123() {
        assert!(check_namespace("team-a").is_ok());
        for bad in ["", "Team", "-a", "a-", "a_b", &"a".repeat(64)] {
            assert!(check_namespace(bad).is_err(), "{bad:?}");
        }
        assert!(check_service_account("cart.v2").is_ok());
        for bad in ["", "Cart", "a..b", "a_b", ".a"] {
            assert!(check_service_account(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn subjects_accept_names_and_wildcards() {
        assert_eq!(
            subject("shop:cart").unwrap(),
            "system:serviceaccount:shop:cart"
        );
        assert_eq!(
            subject("team-*:*").unwrap(),
            "system:serviceaccount:team-*:*"
        );
        for bad in ["cart", "Shop:cart", "shop:Cart", "shop:", "te am:*"] {
            let error = subject(bad).unwrap_err().to_string();
            assert!(error.contains("NAMESPACE:NAME"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        assert_eq!(
            "123456789012".parse::<AccountId>().unwrap().as_str(),
            "123456789012"
        );
        for bad in ["1234", "12345678901a", "1234567890123", ""] {
            let error = bad.parse::<AccountId>().unwrap_err().to_string();
            assert!(error.ends_with("an AWS account ID is 12 digits"), "{error}");
        }
    }

    #[test]
    fn issuers_must_be_https_and_trailing_slashes_are_flagged() {
        let slash: Issuer = "https://oidc.example.com/id/X/".parse().unwrap();
        assert_eq!(slash.as_str(), "https://oidc.example.com/id/X/");
        assert!(slash.warning().unwrap().contains("ends with '/'"));
        assert!("http://oidc.example.com".parse::<Issuer>().is_err());
        assert_eq!(check_issuer("https://oidc.example.com/id/X").unwrap(), None);
        assert!(
            check_issuer("https://oidc.example.com/")
                .unwrap()
                .unwrap()
                .contains("ends with '/'")
        );
        assert!(check_issuer("http://oidc.example.com").is_err());
        assert!(check_issuer("https://").is_err());
    }
}
