//! Properties of the editor over generated files: it never panics, and a file configparser
//! reads comes back with every other section as it was and ours holding the new values. The
//! reader here is [`read`], configparser's `_read` over [`parse`]'s lines; the last test
//! hands a sample of the same files to botocore itself.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

const PROFILE: &str = "app";
const VALUES: [(&str, &str); 3] = [
    ("aws_access_key_id", "ASIANEWKEY"),
    ("aws_secret_access_key", "new/secret+value"),
    ("aws_session_token", "new-token=="),
];

type Sections = BTreeMap<String, BTreeMap<String, String>>;

/// What RawConfigParser (strict, no inline comments) makes of the file; `None` where it raises.
fn read(contents: &str) -> Option<Sections> {
    let lines = parse(contents);
    let mut values: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut place: Vec<(String, String, usize)> = Vec::new();
    let mut current: Option<String> = None;
    let mut sections = Sections::new();
    for (index, line) in lines.iter().enumerate() {
        match &line.kind {
            Kind::Header(name) => {
                // strict=True: a section twice is a DuplicateSectionError.
                if sections.insert(name.clone(), BTreeMap::new()).is_some() {
                    return None;
                }
                current = Some(name.clone());
            }
            Kind::Option(key, value) => {
                let section = current.clone()?;
                if place.iter().any(|(s, k, _)| *s == section && k == key) {
                    return None;
                }
                place.push((section, key.clone(), index));
                values.insert(index, vec![value.clone()]);
            }
            Kind::Continuation(open) => values
                .get_mut(open)?
                .push(line.text.trim_matches(is_space).to_string()),
            Kind::Blank => {
                if let Some(open) = line.open {
                    values.get_mut(&open)?.push(String::new());
                }
            }
            Kind::Comment => {}
            Kind::Invalid => return None,
        }
    }
    for (section, key, index) in place {
        let joined = values[&index].join("\n");
        let value = joined.trim_end_matches(is_space).to_string();
        sections.get_mut(&section)?.insert(key, value);
    }
    Some(sections)
}

/// The texts of the lines that are not our keys (or their continuations) in our sections:
/// the lines the editor must keep as they were.
fn others(contents: &str) -> Vec<String> {
    let lines = parse(contents);
    let mut ours = vec![false; lines.len()];
    let mut in_ours = false;
    for (index, line) in lines.iter().enumerate() {
        ours[index] = match &line.kind {
            Kind::Header(name) => {
                in_ours = name == PROFILE;
                false
            }
            Kind::Option(key, _) => in_ours && KEYS.contains(&key.as_str()),
            Kind::Continuation(open) => ours[*open],
            _ => false,
        };
    }
    lines
        .iter()
        .zip(ours)
        .filter(|(_, ours)| !ours)
        .map(|(line, _)| line.text.to_string())
        .collect()
}

fn space() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "", " ", "  ", "\t", "    ", "\u{a0}", "\u{1f}", "\u{3000}",
    ])
    .prop_map(str::to_string)
}

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "app",
        "default",
        " app ",
        "App",
        "app ]",
        "prod",
        "profile app",
        "a=b",
        "x]y",
    ])
    .prop_map(str::to_string)
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "aws_access_key_id",
        "AWS_Secret_Access_Key",
        "aws_session_token",
        "aws_session_token ",
        "region",
        "s3",
        "output",
        "aws_access_key_id2",
    ])
    .prop_map(str::to_string)
}

/// One line of a file, as people write them: headers, keys, values on more lines, comments.
fn line() -> impl Strategy<Value = String> {
    let value = "[a-zA-Z0-9/+=:#; \\[\\]]{0,12}";
    prop_oneof![
        (space(), name(), "( # c| junk)?").prop_map(|(s, n, t)| format!("{s}[{n}]{t}")),
        (
            space(),
            key(),
            prop::sample::select(vec!["=", ":", " = ", " : "]),
            value
        )
            .prop_map(|(s, k, d, v)| format!("{s}{k}{d}{v}")),
        (space(), "[#;]", value).prop_map(|(s, c, v)| format!("{s}{c}{v}")),
        space(),
        (space(), value).prop_map(|(s, v)| format!("{s}  {v}")),
    ]
}

/// A file: lines, each ended by `\n`, `\r\n` or `\r` (mixed or not), the last maybe not.
fn file() -> impl Strategy<Value = String> {
    let ends = prop::sample::select(vec!["\n", "\r\n", "\r"]);
    (
        prop::collection::vec((line(), ends), 0..24),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, mixed, last_open)| {
            let first_end = lines.first().map_or("\n", |(_, end)| *end);
            let mut text = String::new();
            let count = lines.len();
            for (index, (line, end)) in lines.into_iter().enumerate() {
                text.push_str(&line);
                if index + 1 < count || !last_open {
                    text.push_str(if mixed { end } else { first_end });
                }
            }
            text
        })
}

fn check(before: &str) -> Result<(), TestCaseError> {
    let after = set_profile(before, PROFILE, &VALUES);
    let has_profile = parse(before)
        .iter()
        .any(|line| line.kind == Kind::Header(PROFILE.to_string()));
    if has_profile {
        prop_assert_eq!(others(&after), others(before), "other lines kept");
    } else {
        prop_assert!(after.starts_with(before), "appended: {:?}", after);
    }
    let Some(mut expected) = read(before) else {
        return Ok(());
    };
    let ours = expected.entry(PROFILE.to_string()).or_default();
    for (key, value) in VALUES {
        ours.insert(key.to_string(), value.to_string());
    }
    prop_assert_eq!(read(&after), Some(expected), "{:?} -> {:?}", before, after);
    prop_assert_eq!(set_profile(&after, PROFILE, &VALUES), after, "idempotent");
    Ok(())
}

proptest! {
    // 2,000 cases by default (2 s); PROPTEST_CASES=200000 for a longer run on demand.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(2000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn files_people_write_keep_their_other_sections(before in file()) {
        check(&before)?;
    }

    #[test]
    fn any_text_is_edited_without_a_panic(before in "[\\[\\]=:#; \ta-z\r\n\u{a0}\u{1c}é]{0,80}") {
        check(&before)?;
    }
}

/// The same generated files, edited, then read by botocore's `raw_config_parse` in one
/// Python run: where botocore reads the file before, it reads it after, with every other
/// profile as it was and ours holding the new values.
#[test]
fn botocore_reads_the_edited_files_as_the_originals_plus_our_profile() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let dir = tempfile::tempdir().unwrap();
    let mut runner = TestRunner::deterministic();
    let strategy = file();
    for index in 0..300 {
        let before = strategy.new_tree(&mut runner).unwrap().current();
        let after = set_profile(&before, PROFILE, &VALUES);
        std::fs::write(dir.path().join(format!("{index}.before")), &before).unwrap();
        std::fs::write(dir.path().join(format!("{index}.after")), &after).unwrap();
    }
    let script = r#"
import json, sys
from botocore.configloader import raw_config_parse
from botocore.exceptions import ConfigParseError
checked = 0
for index in range(300):
    path = f"{sys.argv[1]}/{index}"
    try:
        before = raw_config_parse(path + ".before", parse_subsections=False)
    except ConfigParseError:
        continue
    after = raw_config_parse(path + ".after", parse_subsections=False)
    before.setdefault("app", {}).update(json.loads(sys.argv[2]))
    assert before == after, (open(path + ".before").read(), before, after)
    checked += 1
print(checked)
"#;
    let values: BTreeMap<&str, &str> = VALUES.into_iter().collect();
    let output = std::process::Command::new(::tests::venv_bin("python"))
        .env("PYTHONUTF8", "1")
        .args(["-c", script])
        .arg(dir.path())
        .arg(serde_json::to_string(&values).unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let checked: usize = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!(
        checked >= 50,
        "only {checked} of 300 files were valid to botocore"
    );
}
