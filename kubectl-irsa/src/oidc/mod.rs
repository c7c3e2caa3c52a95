//! The self-hosted issuer kit: signing keys and their `kid`, the discovery document and JWKS,
//! publishing on S3, the IAM provider's thumbprint and commands, and apiserver settings.
//!
//! Everything here but [`tls`] is pure: values in, values out.

pub mod apiserver;
pub mod documents;
pub mod keys;
pub mod provider;
pub mod s3;
pub mod tls;

use std::borrow::Cow;

/// `value` as one shell word: unchanged when it is plain, else single-quoted.
pub fn shell_quote(value: &str) -> Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !value.is_empty() && value.chars().all(plain) {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(format!("'{}'", value.replace('\'', r"'\''")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("https://h/p"), "https://h/p");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
