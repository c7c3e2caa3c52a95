//! Values printed inside shell commands, quoted so that pasting the command runs what it says.

use std::borrow::Cow;

/// `value` as one shell word: unchanged when it is plain, else single-quoted.
pub fn quote(value: &str) -> Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !value.is_empty() && value.chars().all(plain) {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(format!("'{}'", value.replace('\'', r"'\''")))
    }
}

/// `value` single-quoted whatever it holds, as `export NAME='value'` lines for `eval` write it.
pub fn single_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(quote("https://h/p"), "https://h/p");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(single_quoted("us-east-1"), "'us-east-1'");
        assert_eq!(single_quoted("it's"), r"'it'\''s'");
    }
}
