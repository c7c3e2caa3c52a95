//! Writing one profile of a shared credentials file and leaving every other byte as it was,
//! comments included: INI crates parse into maps and drop comments and order on write, so this
//! edits lines instead. The lines are read as botocore reads them, since a file botocore
//! cannot parse loses every profile in it for the AWS CLI and boto3: `raw_config_parse`
//! (botocore/configloader.py) hands the file to Python's `configparser.RawConfigParser`, whose
//! `_read` (Lib/configparser.py, 3.11) is mirrored by [`parse`]:
//! - lines end at `\n`, `\r\n` or a lone `\r` (the file is opened in universal-newline mode);
//! - a line whose stripped text starts with `#` or `;` is a comment, wherever it is indented;
//!   there are no inline comments (RawConfigParser's inline_comment_prefixes is None);
//! - a non-blank line indented deeper than the last option or header line, while an option is
//!   open, continues that option's value (`cur_indent_level > indent_level`): an indented
//!   `[name]` or `key = value` there is part of a value, not a header or a key;
//! - a header is `\[(?P<header>.+)\]` matched at the start of the stripped line: the name runs
//!   to the last `]`, spaces kept (`[ default ]` is the profile " default ", not "default");
//! - an option is `key = value` or `key: value`, split at the first `=` or `:`, the key
//!   right-stripped and lower-cased (optionxform).
//!
//! Python strips and indents by `str.isspace`, which is Rust's `char::is_whitespace` plus the
//! separators U+001C..U+001F.

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

/// The keys every SDK reads from a credentials profile.
pub const KEYS: [&str; 3] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// What a line is to configparser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Blank,
    Comment,
    /// `[name]`: the name as configparser keeps it.
    Header(String),
    /// `key = value`: the key lower-cased, and the value (stripped).
    Option(String, String),
    /// More of the value of the option on line `.0` (an index into the lines).
    Continuation(usize),
    /// A line configparser reports as an error (no section yet, no `=` or `:`, no key).
    Invalid,
}

/// One line: its text, its line end ("" on a last line without one), what it is, and
/// configparser's state after it.
#[derive(Clone, Debug)]
pub struct Line<'a> {
    pub text: &'a str,
    pub end: &'a str,
    pub kind: Kind,
    /// The option whose value the following lines may continue (configparser's optname).
    pub open: Option<usize>,
    /// The line whose indentation deeper lines are compared with (its indent_level).
    pub level_line: Option<usize>,
}

/// Python's `str.isspace`.
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `contents` split into lines at `\n`, `\r\n` and `\r`, as Python's universal newlines do.
fn split_lines(contents: &str) -> Vec<(&str, &str)> {
    let mut lines = Vec::new();
    let mut rest = contents;
    while !rest.is_empty() {
        let Some(at) = rest.find(['\r', '\n']) else {
            lines.push((rest, ""));
            break;
        };
        let width = if rest[at..].starts_with("\r\n") { 2 } else { 1 };
        lines.push((&rest[..at], &rest[at..at + width]));
        rest = &rest[at + width..];
    }
    lines
}

/// The lines of `contents`, each classified as configparser's `_read` does.
pub fn parse(contents: &str) -> Vec<Line<'_>> {
    let mut lines: Vec<Line<'_>> = Vec::new();
    let mut in_section = false;
    let mut open: Option<usize> = None;
    let (mut level, mut level_line) = (0usize, None);
    for (index, (text, end)) in split_lines(contents).into_iter().enumerate() {
        let stripped = text.trim_matches(is_space);
        let indent = indent(text).chars().count();
        let kind = if stripped.starts_with(['#', ';']) {
            Kind::Comment
        } else if stripped.is_empty() {
            Kind::Blank
        } else if let Some(option) = open.filter(|_| in_section && indent > level) {
            Kind::Continuation(option)
        } else {
            (level, level_line) = (indent, Some(index));
            let kind = classify(stripped, in_section);
            in_section |= matches!(kind, Kind::Header(_));
            open = match &kind {
                Kind::Option(..) => Some(index),
                Kind::Header(_) => None,
                // An empty key ("= x") leaves configparser's optname "", which is falsy.
                Kind::Invalid if stripped.starts_with(['=', ':']) => None,
                _ => open,
            };
            kind
        };
        lines.push(Line {
            text,
            end,
            kind,
            open,
            level_line,
        });
    }
    lines
}

/// The leading whitespace of a line, as Python counts it.
fn indent(text: &str) -> &str {
    &text[..text.len() - text.trim_start_matches(is_space).len()]
}

/// A stripped line that is not a continuation: a header, an option, or an error.
fn classify(stripped: &str, in_section: bool) -> Kind {
    if let Some(name) = header(stripped) {
        return Kind::Header(name.to_string());
    }
    if !in_section {
        return Kind::Invalid;
    }
    match stripped.find(['=', ':']) {
        Some(at) => {
            let key = stripped[..at].trim_end_matches(is_space);
            if key.is_empty() {
                return Kind::Invalid;
            }
            let value = stripped[at + 1..].trim_matches(is_space);
            Kind::Option(key.to_lowercase(), value.to_string())
        }
        None => Kind::Invalid,
    }
}

/// SECTCRE `\[(?P<header>.+)\]`, matched at the start: the name runs to the last `]`.
fn header(stripped: &str) -> Option<&str> {
    let rest = stripped.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    (close > 0).then(|| &rest[..close])
}

/// What happens to each line of the file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Keep,
    Drop,
    /// The line becomes `key = value` for `values[.0]`, at its own indentation.
    Set(usize),
}

/// `contents` with `[profile]` holding `values` (for [`KEYS`]). Existing keys are replaced in
/// place (continuation lines of their old values dropped), missing ones added at the end of
/// the profile's first section, a missing profile appended to the file. Nothing else changes:
/// other profiles, other keys, comments, blank lines, line ends. Copies of our keys that
/// botocore would refuse as duplicates (a second section of the same name, a key twice) are
/// dropped, so that the values written are the ones every reader sees.
pub fn set_profile(contents: &str, profile: &str, values: &[(&str, &str); 3]) -> String {
    let lines = parse(contents);
    let newline = lines
        .iter()
        .map(|line| line.end)
        .find(|end| !end.is_empty())
        .unwrap_or("\n");
    let Some(first) = lines
        .iter()
        .position(|line| line.kind == Kind::Header(profile.to_string()))
    else {
        return append_profile(contents, &lines, profile, values, newline);
    };
    let (actions, written) = plan(&lines, profile, first);
    let (after, indent) = insertion_point(&lines, first);
    let mut out = String::with_capacity(contents.len() + 2048);
    for (index, line) in lines.iter().enumerate() {
        match actions[index] {
            // A blank "\n" line right after a dropped line that followed a "\r" end would
            // merge with it into one "\r\n" end: the blank line keeps its place as "\r\n".
            Action::Keep if line.text.is_empty() && line.end == "\n" && out.ends_with('\r') => {
                out.push_str("\r\n");
            }
            Action::Keep => {
                out.push_str(line.text);
                out.push_str(line.end);
            }
            Action::Drop => {}
            Action::Set(key) => {
                let (name, value) = values[key];
                out.push_str(&format!("{}{name} = {value}", self::indent(line.text)));
                out.push_str(if line.end.is_empty() {
                    newline
                } else {
                    line.end
                });
            }
        }
        if index == after && written.contains(&false) {
            if actions[index] == Action::Keep && line.end.is_empty() {
                out.push_str(newline);
            }
            for (key, (name, value)) in values.iter().enumerate() {
                if !written[key] {
                    out.push_str(&format!("{indent}{name} = {value}{newline}"));
                }
            }
        }
    }
    out
}

/// Which lines become our keys (the first of each in the first section) and which go (their
/// continuations, and our keys anywhere else in sections named `profile`); which keys exist.
fn plan(lines: &[Line<'_>], profile: &str, first: usize) -> (Vec<Action>, [bool; 3]) {
    let mut actions = vec![Action::Keep; lines.len()];
    let mut written = [false; 3];
    let mut section: Option<usize> = None;
    for (index, line) in lines.iter().enumerate() {
        match &line.kind {
            Kind::Header(name) => section = (name == profile).then_some(index),
            Kind::Option(key, _) if section.is_some() => {
                let Some(slot) = KEYS.iter().position(|k| k == key) else {
                    continue;
                };
                actions[index] = if section == Some(first) && !written[slot] {
                    written[slot] = true;
                    Action::Set(slot)
                } else {
                    Action::Drop
                };
            }
            Kind::Continuation(open) if actions[*open] != Action::Keep => {
                actions[index] = Action::Drop;
            }
            _ => {}
        }
    }
    (actions, written)
}

/// Where the first section's missing keys go: after its last line that is not a comment or
/// blank (or its header), at an indentation configparser reads as a new option there and that
/// leaves the next header a header.
fn insertion_point<'a>(lines: &[Line<'a>], first: usize) -> (usize, &'a str) {
    let end = lines[first + 1..]
        .iter()
        .position(|line| matches!(line.kind, Kind::Header(_)))
        .map_or(lines.len(), |at| first + 1 + at);
    let after = (first + 1..end)
        .rev()
        .find(|&at| !matches!(lines[at].kind, Kind::Blank | Kind::Comment))
        .unwrap_or(first);
    let at_level = lines[after]
        .level_line
        .map_or("", |line| indent(lines[line].text));
    let indent = match lines[after].open {
        // Not deeper than the open option's line: else the new key would continue its value.
        Some(_) => at_level,
        // No option open: any indentation is a new key; the next header's keeps it a header.
        None => lines.get(end).map_or(at_level, |next| indent(next.text)),
    };
    (after, indent)
}

/// The file with `[profile]` and its keys added at the end, after a blank line.
fn append_profile(
    contents: &str,
    lines: &[Line<'_>],
    profile: &str,
    values: &[(&str, &str); 3],
    newline: &str,
) -> String {
    let mut out = contents.to_string();
    if let Some(last) = lines.last() {
        if last.end.is_empty() {
            out.push_str(newline);
        }
        if last.kind != Kind::Blank {
            out.push_str(newline);
        }
    }
    out.push_str(&format!("[{profile}]{newline}"));
    for (name, value) in values {
        out.push_str(&format!("{name} = {value}{newline}"));
    }
    out
}
