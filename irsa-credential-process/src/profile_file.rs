//! Writing one profile of a shared credentials file (INI) and leaving the rest of the file as
//! it was, comments included: INI crates parse into maps and drop comments and order on
//! write, so this edits lines instead.

use std::io::Write;
use std::path::Path;

/// The keys every SDK reads from a credentials profile.
pub const KEYS: [&str; 3] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// `contents` with `[profile]` holding `values` (for [`KEYS`]): existing keys are replaced in
/// place, missing ones appended to the section, a missing section appended to the file. Other
/// lines, other keys of the profile, and other profiles are kept, as are CRLF line endings.
pub fn set_profile(contents: &str, profile: &str, values: &[(&str, &str); 3]) -> String {
    let newline = if contents.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let mut out: Vec<String> = Vec::new();
    let mut in_section = false;
    let mut found_section = false;
    let mut written = [false; 3];
    let append_missing = |out: &mut Vec<String>, written: &mut [bool; 3]| {
        // Before the blank lines that separate the section from the next one.
        let mut at = out.len() - out.iter().rev().take_while(|l| l.trim().is_empty()).count();
        for (index, (key, value)) in values.iter().enumerate() {
            if !written[index] {
                out.insert(at, format!("{key} = {value}"));
                written[index] = true;
                at += 1;
            }
        }
    };
    for line in contents.lines() {
        if let Some(name) = section_name(line) {
            if in_section {
                append_missing(&mut out, &mut written);
            }
            in_section = name == profile;
            found_section |= in_section;
            out.push(line.to_string());
            continue;
        }
        if in_section && let Some(index) = key_index(line, values) {
            if !written[index] {
                out.push(format!("{} = {}", values[index].0, values[index].1));
                written[index] = true;
            }
            // A duplicate of a key already written is dropped: SDKs would read either.
            continue;
        }
        out.push(line.to_string());
    }
    if in_section {
        append_missing(&mut out, &mut written);
    }
    if !found_section {
        if out.last().is_some_and(|l| !l.trim().is_empty()) {
            out.push(String::new());
        }
        out.push(format!("[{profile}]"));
        out.extend(values.iter().map(|(key, value)| format!("{key} = {value}")));
    }
    let mut text = out.join(newline);
    text.push_str(newline);
    text
}

/// `[name]`, with spaces inside and a comment after it allowed (as botocore and the Rust SDK
/// read it), else `None`.
fn section_name(line: &str) -> Option<&str> {
    let (name, after) = line.trim_start().strip_prefix('[')?.split_once(']')?;
    let after = after.trim_start();
    (after.is_empty() || after.starts_with(['#', ';'])).then(|| name.trim())
}

/// Which of `values` the line sets: `key = value` or botocore's `key: value`. An indented line
/// continues the previous value and sets nothing.
fn key_index(line: &str, values: &[(&str, &str); 3]) -> Option<usize> {
    if line.starts_with([' ', '\t']) {
        return None;
    }
    let key = &line[..line.find(['=', ':'])?];
    let key = key.trim();
    values
        .iter()
        .position(|(name, _)| name.eq_ignore_ascii_case(key))
}

/// Replaces `path` with `contents` in one rename, mode 0600, so that a reader sees the old file
/// or the new one, never a mix.
pub fn replace(path: &Path, contents: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(contents.as_bytes())?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUES: [(&str, &str); 3] = [
        ("aws_access_key_id", "ASIANEW"),
        ("aws_secret_access_key", "secret-new"),
        ("aws_session_token", "token-new"),
    ];

    #[test]
    fn a_new_file_gets_the_profile() {
        assert_eq!(
            set_profile("", "app", &VALUES),
            "[app]\naws_access_key_id = ASIANEW\naws_secret_access_key = secret-new\naws_session_token = token-new\n"
        );
    }

    #[test]
    fn other_profiles_comments_and_keys_are_kept() {
        let before = "# managed by hand\n[default]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n\n[app]\nregion = eu-west-1 ; kept\naws_access_key_id=ASIAOLD\naws_session_token = old\naws_session_token = older\n\n[last]\nx = 1\n";
        let after = set_profile(before, "app", &VALUES);
        assert_eq!(
            after,
            "# managed by hand\n[default]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n\n[app]\nregion = eu-west-1 ; kept\naws_access_key_id = ASIANEW\naws_session_token = token-new\naws_secret_access_key = secret-new\n\n[last]\nx = 1\n"
        );
        assert_eq!(set_profile(&after, "app", &VALUES), after, "idempotent");
    }

    #[test]
    fn a_missing_profile_is_appended_after_a_blank_line() {
        let after = set_profile("[default]\naws_access_key_id = A", "app", &VALUES);
        assert!(
            after.starts_with("[default]\naws_access_key_id = A\n\n[app]\n"),
            "{after}"
        );
    }

    #[test]
    fn a_comment_after_a_header_still_starts_a_section() {
        let before = "[default]\naws_access_key_id = D\n[other] # note\naws_access_key_id = O\n";
        let after = set_profile(before, "default", &VALUES);
        assert!(
            after.ends_with("[other] # note\naws_access_key_id = O\n"),
            "the other profile is untouched: {after}"
        );
        assert!(after.starts_with("[default]\naws_access_key_id = ASIANEW\naws_secret_access_key = secret-new\naws_session_token = token-new\n[other]"), "{after}");
    }

    #[test]
    fn colon_keys_are_replaced_not_duplicated_and_continuations_kept() {
        let before = "[app]\naws_access_key_id: OLD\ns3 =\n  aws_session_token = nested\n";
        let after = set_profile(before, "app", &VALUES);
        assert_eq!(
            after,
            "[app]\naws_access_key_id = ASIANEW\ns3 =\n  aws_session_token = nested\naws_secret_access_key = secret-new\naws_session_token = token-new\n"
        );
    }

    #[test]
    fn crlf_files_stay_crlf() {
        let after = set_profile("[default]\r\nregion = x\r\n", "app", &VALUES);
        assert_eq!(
            after.matches("\r\n").count(),
            after.matches('\n').count(),
            "{after:?}"
        );
        assert!(after.starts_with("[default]\r\nregion = x\r\n\r\n[app]\r\n"));
    }

    #[test]
    fn the_last_section_gets_its_missing_keys_at_its_end() {
        let after = set_profile("[app]\naws_access_key_id = OLD\n", "app", &VALUES);
        assert_eq!(
            after,
            "[app]\naws_access_key_id = ASIANEW\naws_secret_access_key = secret-new\naws_session_token = token-new\n"
        );
    }
}
