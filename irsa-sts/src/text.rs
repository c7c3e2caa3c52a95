//! Text from outside (a cluster, a file, STS, a token's claims) shown on a terminal as text and
//! on one line, never run by it, in both binaries: kubectl escapes
//! `ESC` as `^[` and `CR` as `\r` in what it prints (cli-runtime printers/terminal.go,
//! `EscapeTerminal`, kubernetes issue 101695); here every other control character is made
//! visible too, and a newline in a line that must stay one line is shown as `\n`.

use std::borrow::Cow;

/// `text` as one line: controls (newline included) escaped, tabs kept.
pub fn line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\t' && c.is_control()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => out.push(c),
            '\u{1b}' => out.push_str("^["),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The first line of `text`, cut at `max_chars` (with `…`), as [`line`] shows it: an outside
/// message that is long or spans lines never reaches the user whole.
pub fn first_line(text: &str, max_chars: usize) -> String {
    let first = text.lines().next().unwrap_or_default();
    let mut short: String = first.chars().take(max_chars).collect();
    if short.len() < first.len() {
        short.push('…');
    }
    line(&short).into_owned()
}

#[cfg(test)]
mod tests {
    use super::line;

    #[test]
    fn controls_are_shown_not_run() {
        assert_eq!(line("plain\ttext"), "plain\ttext");
        assert_eq!(line("\u{1b}]0;owned\u{7}red"), "^[]0;owned\\x07red");
        assert_eq!(line("a\r\nb"), "a\\r\\nb");
        assert_eq!(line("\u{9b}31m\u{7f}"), "\\x9b31m\\x7f");
    }
}
