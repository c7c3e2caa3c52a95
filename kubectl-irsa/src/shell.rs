//! Values printed inside shell commands, quoted so that pasting the command runs what it says.
//! Every printed command goes through [`quote`]: values come from IAM (role paths may hold any
//! of `!` to `~`), from the cluster (issuers, names) and from files, none of them trusted.

use std::borrow::Cow;

/// `value` as one shell word: unchanged when it is plain, else single-quoted. A leading `=` is
/// quoted too: zsh expands `=cmd` to the command's path.
pub fn quote(value: &str) -> Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !value.is_empty() && !value.starts_with('=') && value.chars().all(plain) {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(single_quoted(value))
    }
}

/// `value` single-quoted whatever it holds, as `export NAME='value'` lines for `eval` write it.
pub fn single_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(quote("https://h/p"), "https://h/p");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("=ls"), "'=ls'");
        assert_eq!(quote("a=b"), "a=b");
        assert_eq!(single_quoted("us-east-1"), "'us-east-1'");
        assert_eq!(single_quoted("it's"), r"'it'\''s'");
    }

    /// What bash makes of `words` quoted and joined with spaces: one argument each, or not.
    fn through_bash(words: &[String]) -> Vec<String> {
        let line: Vec<String> = words.iter().map(|w| quote(w).into_owned()).collect();
        let script = format!("printf '%s\\0' {}", line.join(" "));
        let output = std::process::Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &script])
            .env_clear()
            .output()
            .unwrap();
        assert!(output.status.success(), "{script}");
        let text = String::from_utf8(output.stdout).unwrap();
        text.split_terminator('\0').map(String::from).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

        /// Any value (no NUL, which no argument can hold) comes back from bash as itself, one
        /// word, with nothing expanded or run.
        #[test]
        fn bash_reads_every_quoted_value_back(
            words in prop::collection::vec("[^\0]{0,12}|[$()`'\"\\\\;&|<>*?~={}! \t\n#-]{0,8}", 1..40),
        ) {
            prop_assert_eq!(through_bash(&words), words);
        }
    }
}
