//! Kubernetes names and trust-policy subjects, validated before anything is sent.

use crate::error::CliError;

/// A namespace: a DNS-1123 label.
pub fn check_namespace(namespace: &str) -> Result<(), CliError> {
    if is_dns1123_label(namespace) {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "invalid namespace {namespace:?}: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit"
        )))
    }
}

/// A ServiceAccount name: a DNS-1123 subdomain.
pub fn check_service_account(name: &str) -> Result<(), CliError> {
    let valid = !name.is_empty() && name.len() <= 253 && name.split('.').all(is_dns1123_label);
    if valid {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "invalid ServiceAccount name {name:?}: use at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
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

/// `NAMESPACE:NAME` (wildcards `*` and `?` allowed) as the token subject
/// `system:serviceaccount:NAMESPACE:NAME`.
pub fn subject(spec: &str) -> Result<String, CliError> {
    let refuse = |why: &str| {
        CliError::Usage(format!(
            "invalid --service-account {spec:?}: {why}; write NAMESPACE:NAME, such as shop:cart or team-*:*"
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

/// The issuer as IAM needs it: https, and a warning for a trailing slash, which breaks issuer
/// equality with the tokens (`iss` must match the provider URL byte for byte).
pub fn check_issuer(issuer: &str) -> Result<Option<String>, CliError> {
    let Some(rest) = issuer.strip_prefix("https://") else {
        return Err(CliError::Usage(format!(
            "invalid issuer {issuer:?}: IAM OIDC providers need an https:// URL"
        )));
    };
    if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
        return Err(CliError::Usage(format!(
            "invalid issuer {issuer:?}: no host"
        )));
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
    fn issuers_must_be_https_and_trailing_slashes_are_flagged() {
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
