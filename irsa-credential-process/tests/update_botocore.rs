//! `update` on odd but valid credentials files, each result read by botocore itself
//! (`botocore.configloader.raw_config_parse`, from the test venv): every profile botocore read
//! before is read the same after, and ours holds the new credentials. A file botocore cannot
//! parse loses all its profiles for the AWS CLI and boto3, so this is the bar.

mod common;

use std::process::Command;

use common::{Pod, Run};
use serde_json::{Value, json};
use tests::FakeSts;

/// Odd but valid files, by what makes them odd, and the profile `update` writes.
const CORPUS: &[(&str, &str, &str)] = &[
    (
        "indented keys under a header",
        "default",
        "[default]\n  aws_access_key_id = OLD\n  aws_secret_access_key = OLDSECRET\n  region = eu-west-1\n[other]\nregion = x\n",
    ),
    (
        "an indented key after a key continues its value",
        "app",
        "[app]\nregion = us-east-1\n  aws_session_token = part-of-region\n[other]\nk = v\n",
    ),
    (
        "nested s3 settings",
        "app",
        "[app]\ns3 =\n  max_concurrent_requests = 10\n  addressing_style = path\naws_access_key_id = OLD\n",
    ),
    (
        "CR-only line ends",
        "default",
        "[default]\raws_access_key_id = OLD\rregion = x\r[other]\rregion = y\r",
    ),
    (
        "CRLF line ends",
        "app",
        "[other]\r\nregion = y\r\n\r\n[app]\r\naws_session_token = OLD\r\n",
    ),
    (
        "spaces inside the brackets name another profile",
        "default",
        "[ default ]\naws_access_key_id = SPACED\n[other]\nk = v\n",
    ),
    (
        "comments everywhere, and ; in values",
        "app",
        "# top\n; semicolon\n[app] ; after the header\n   # indented comment\naws_access_key_id: OLD ; kept as part of the value by botocore\nregion = x # also\n",
    ),
    (
        "keys in capitals",
        "app",
        "[app]\nAWS_ACCESS_KEY_ID = OLD\nAws_Session_Token = OLDTOKEN\noutput = json\n",
    ),
    (
        "our old value on several lines, a blank line inside",
        "app",
        "[app]\naws_session_token = part1\n  part2\n\n  part3\nregion = r\n[next]\nk = v\n",
    ),
    ("no newline at the end", "app", "[other]\nk = v"),
    ("empty", "app", ""),
    ("only comments", "app", "# nothing yet\n\n"),
    (
        "text after a header's bracket",
        "other",
        "[other] trailing text\nk = v\n[app]\nx = 1\n",
    ),
    (
        "a section indented as a whole after a header-only section",
        "app",
        "[app]\n  [next]\n  k = v\n",
    ),
    (
        "unicode whitespace as indentation",
        "app",
        "[app]\n\u{a0}region = x\n\u{a0}\u{a0}continued\n[next]\nk = v\n",
    ),
];

/// botocore's reading of each file, as JSON (`null` where it raises ConfigParseError).
fn botocore_reads(paths: &[std::path::PathBuf]) -> Vec<Value> {
    let script = r#"
import json, sys
from botocore.configloader import raw_config_parse
from botocore.exceptions import ConfigParseError
out = []
for path in sys.argv[1:]:
    try:
        out.append(raw_config_parse(path))
    except ConfigParseError as e:
        out.append(None)
print(json.dumps(out))
"#;
    let output = Command::new(tests::venv_bin("python"))
        .env("PYTHONUTF8", "1")
        .args(["-c", script])
        .args(paths)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn botocore_reads_every_profile_after_update_as_before() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let mut before_paths = Vec::new();
    let mut after_paths = Vec::new();
    for (index, (what, profile, text)) in CORPUS.iter().enumerate() {
        let before = pod.dir.path().join(format!("{index}.before"));
        let after = pod.dir.path().join(format!("{index}.after"));
        std::fs::write(&before, text).unwrap();
        std::fs::write(&after, text).unwrap();
        let file = after.to_str().unwrap();
        let run = Run::from(
            pod.helper(&[
                "update",
                "--once",
                "--credentials-file",
                file,
                "--profile",
                profile,
            ])
            .output()
            .unwrap(),
        );
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        before_paths.push(before);
        after_paths.push(after);
    }
    let before = botocore_reads(&before_paths);
    let after = botocore_reads(&after_paths);
    let issued = sts.issued();
    for (index, (what, profile, _)) in CORPUS.iter().enumerate() {
        let mut expected = before[index].clone();
        assert!(expected.is_object(), "{what}: botocore reads the original");
        let credentials = &issued[index];
        let ours = expected
            .as_object_mut()
            .unwrap()
            .entry(profile.to_string())
            .or_insert_with(|| json!({}));
        for (key, value) in [
            ("aws_access_key_id", &credentials.access_key_id),
            ("aws_secret_access_key", &credentials.secret_access_key),
            ("aws_session_token", &credentials.session_token),
        ] {
            ours[key] = json!(value);
        }
        assert_eq!(
            after[index],
            expected,
            "{what}: {:?}",
            std::fs::read_to_string(&after_paths[index]).unwrap()
        );
    }
}
