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

/// The issuer as IAM needs it, a warning for a trailing slash aside, which breaks issuer
/// equality with the tokens (`iss` must match the provider URL byte for byte). The rules are
/// kube-apiserver's for the issuer it publishes (`NewOpenIDMetadataProvider`,
/// pkg/serviceaccount/openidmetadata.go: https, no query, no fragment) and IAM's for a provider
/// URL (CreateOpenIDConnectProvider: `https://`, a host, a path but no query, 1 to 255
/// characters); userinfo is refused too, since neither IAM nor a token has any use for it. The
/// host is a DNS name or an address (with a port, which IAM ignores), and the path keeps to the
/// characters RFC 3986 allows in one, so that nothing odd reaches a printed command.
pub fn check_issuer(issuer: &str) -> Result<Option<String>, NameError> {
    let refuse = |why: &str| Err(NameError(format!("invalid issuer {issuer:?}: {why}")));
    let Some(rest) = issuer.strip_prefix("https://") else {
        return refuse("IAM OIDC providers need an https:// URL");
    };
    if issuer.len() > 255 {
        return refuse("longer than the 255 characters IAM takes");
    }
    let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    if issuer.contains('?') {
        return refuse("an issuer may not have a query");
    }
    if issuer.contains('#') {
        return refuse("an issuer may not have a fragment");
    }
    if authority.contains('@') {
        return refuse("no user or password may precede the host");
    }
    if !is_host_and_port(authority) {
        return refuse("no host (give https://HOST[/PATH])");
    }
    let path_char = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/%".contains(c);
    if !path.chars().all(path_char) {
        return refuse("the path has characters a URL path cannot have");
    }
    Ok(issuer.ends_with('/').then(|| {
        format!("the issuer {issuer:?} ends with '/': tokens, the discovery document and the IAM provider must use the same URL byte for byte, and IAM drops the slash; configure --service-account-issuer without it")
    }))
}

/// `HOST[:PORT]`: a DNS name, an IPv4 address or a bracketed IPv6 address.
fn is_host_and_port(authority: &str) -> bool {
    let (host, port) = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => (&authority[..=end], authority[end + 1..].strip_prefix(':')),
            None => return false,
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if authority.starts_with('[') && port.is_none() && !authority.ends_with(']') {
        return false;
    }
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !host.is_empty()
                && host.len() <= 253
                && host.split('.').all(|label| {
                    (1..=63).contains(&label.len())
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
        }
    };
    port_ok && host_ok
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

    #[test]
    fn issuers_have_a_host_and_no_query_fragment_or_userinfo() {
        for good in [
            "https://oidc.example.com",
            "https://127.0.0.1:8443/id/X",
            "https://[::1]:443",
            "https://h/p/a-b_c~d%20e",
        ] {
            assert_eq!(check_issuer(good), Ok(None), "{good}");
        }
        let why = |bad: &str| check_issuer(bad).unwrap_err().to_string();
        assert_eq!(
            why("https://h/p?x=1"),
            r#"invalid issuer "https://h/p?x=1": an issuer may not have a query"#
        );
        assert!(why("https://h#f").ends_with("an issuer may not have a fragment"));
        assert!(why("https://u:p@h").ends_with("no user or password may precede the host"));
        for no_host in [
            "https://",
            "https:///p",
            "https://:443",
            "https://h$(id)",
            "https://a..b",
        ] {
            assert!(
                why(no_host).ends_with("no host (give https://HOST[/PATH])"),
                "{no_host}"
            );
        }
        assert!(why("https://h/a b").ends_with("characters a URL path cannot have"));
        assert!(why("https://h/`id`").ends_with("characters a URL path cannot have"));
        assert!(why("").contains("https://"));
        assert!(why(&format!("https://h/{}", "a".repeat(250))).contains("255"));
    }
}
