//! The editor on files written by hand: each case as botocore reads it (see the module doc).

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

#[test]
fn cr_only_files_are_lines_and_stay_cr() {
    let before = "[default]\raws_access_key_id = OLD\rregion = x\r";
    assert_eq!(
        set_profile(before, "default", &VALUES),
        "[default]\raws_access_key_id = ASIANEW\rregion = x\raws_secret_access_key = secret-new\raws_session_token = token-new\r"
    );
}

#[test]
fn indented_keys_after_a_key_are_part_of_its_value() {
    // botocore reads "  aws_session_token = x" as more of region's value, not a key.
    let before = "[app]\nregion = x\n  aws_session_token = inside-region\n[next]\nk = v\n";
    assert_eq!(
        set_profile(before, "app", &VALUES),
        "[app]\nregion = x\n  aws_session_token = inside-region\naws_access_key_id = ASIANEW\naws_secret_access_key = secret-new\naws_session_token = token-new\n[next]\nk = v\n"
    );
}

#[test]
fn a_section_indented_as_a_whole_gets_keys_at_its_indentation() {
    let before =
        "[app]\n    region = x\n    aws_access_key_id = OLD\n      continued\n    [next]\n";
    assert_eq!(
        set_profile(before, "app", &VALUES),
        "[app]\n    region = x\n    aws_access_key_id = ASIANEW\n    aws_secret_access_key = secret-new\n    aws_session_token = token-new\n    [next]\n"
    );
    // A header-only section before an indented header: the keys take the header's indentation,
    // so that it stays a header.
    let before = "[app]\n  [next]\n  k = v\n";
    assert_eq!(
        set_profile(before, "app", &VALUES),
        "[app]\n  aws_access_key_id = ASIANEW\n  aws_secret_access_key = secret-new\n  aws_session_token = token-new\n  [next]\n  k = v\n"
    );
}

#[test]
fn spaces_inside_brackets_name_another_profile() {
    // configparser keeps the spaces: "[ default ]" is the profile " default ".
    let before = "[ default ]\nregion = x\n";
    assert_eq!(
        set_profile(before, "default", &VALUES),
        "[ default ]\nregion = x\n\n[default]\naws_access_key_id = ASIANEW\naws_secret_access_key = secret-new\naws_session_token = token-new\n"
    );
}

#[test]
fn old_values_with_continuation_lines_are_replaced_whole() {
    let before = "[app]\naws_session_token = part1\n  part2\n# note\n  part3\n\nregion = x\n";
    assert_eq!(
        set_profile(before, "app", &VALUES),
        "[app]\naws_session_token = token-new\n# note\n\nregion = x\naws_access_key_id = ASIANEW\naws_secret_access_key = secret-new\n"
    );
}

#[test]
fn a_duplicate_section_loses_our_keys_only() {
    let before =
        "[app]\naws_access_key_id = A\n[other]\nx = 1\n[app]\nAWS_SESSION_TOKEN: T\nregion = r\n";
    assert_eq!(
        set_profile(before, "app", &VALUES),
        "[app]\naws_access_key_id = ASIANEW\naws_secret_access_key = secret-new\naws_session_token = token-new\n[other]\nx = 1\n[app]\nregion = r\n"
    );
}

#[test]
fn a_last_line_without_a_newline_gets_one() {
    assert_eq!(
        set_profile("[app]\r\nregion = x", "app", &VALUES),
        "[app]\r\nregion = x\r\naws_access_key_id = ASIANEW\r\naws_secret_access_key = secret-new\r\naws_session_token = token-new\r\n"
    );
    assert_eq!(
        set_profile("[a]\nk = v", "app", &VALUES),
        "[a]\nk = v\n\n[app]\naws_access_key_id = ASIANEW\naws_secret_access_key = secret-new\naws_session_token = token-new\n"
    );
}

#[test]
fn indented_comments_and_comment_like_values_are_kept() {
    let before = "[app]\n   ; indented comment\nregion = x # not a comment to configparser\n";
    let after = set_profile(before, "app", &VALUES);
    assert!(
        after.starts_with(before),
        "everything kept, keys appended: {after}"
    );
}

#[test]
fn a_blank_line_after_a_dropped_line_does_not_merge_into_a_cr_end() {
    // Found by the property suite: "\r" + (dropped line) + "\n" would read as one "\r\n".
    let before = "[app]\n[app]\raws_access_key_id=\n\n[app]\n";
    let after = set_profile(before, "app", &VALUES);
    assert_eq!(
        after,
        "[app]\naws_access_key_id = ASIANEW\naws_secret_access_key = secret-new\naws_session_token = token-new\n[app]\r\r\n[app]\n"
    );
}
