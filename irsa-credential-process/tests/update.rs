//! `update` against the fault STS: one profile of a shared credentials file kept fresh, the rest
//! of the file untouched, and readers never seeing a partial file.

mod common;

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Pod, Run};
use tests::{FakeSts, Reply};

const OTHERS: &str = "# written by hand\n[default]\naws_access_key_id = AKIAHANDWRITTEN\naws_secret_access_key = kept\n\n";

/// The `[name]` section's keys and values.
fn profile(text: &str, name: &str) -> Vec<(String, String)> {
    let header = format!("[{name}]");
    text.lines()
        .skip_while(|line| line.trim() != header)
        .skip(1)
        .take_while(|line| !line.trim_start().starts_with('['))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn update(pod: &Pod, file: &Path, extra: &[&str]) -> std::process::Command {
    let mut args = vec!["update", "--credentials-file", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    pod.helper(&args)
}

#[test]
fn once_writes_the_profile_and_keeps_the_rest_of_the_file() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let file = pod.dir.path().join("credentials");
    std::fs::write(&file, OTHERS).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = Run::from(
        update(&pod, &file, &["--profile", "app", "--once"])
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.contains("wrote profile app"), "{}", run.stderr);

    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with(OTHERS),
        "other profiles kept byte for byte: {text}"
    );
    let issued = &sts.issued()[0];
    let app = profile(&text, "app");
    let expected = [
        ("aws_access_key_id", &issued.access_key_id),
        ("aws_secret_access_key", &issued.secret_access_key),
        ("aws_session_token", &issued.session_token),
    ]
    .map(|(k, v)| (k.to_string(), v.clone()));
    assert_eq!(app, expected);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the file's mode is kept");
    for secret in [&issued.secret_access_key, &issued.session_token] {
        assert!(!run.stderr.contains(secret.as_str()));
    }

    // Again, into AWS_PROFILE's profile: the first one is updated in place, not duplicated.
    let mut pod = pod;
    pod.extra_env.push(("AWS_PROFILE".into(), "app".into()));
    let run = Run::from(update(&pod, &file, &["--once"]).output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.matches("[app]").count(), 1);
    assert_eq!(profile(&text, "app")[0].1, sts.issued()[1].access_key_id);
}

#[test]
fn concurrent_readers_never_see_a_partial_file() {
    // 2 s credentials: a rewrite every second. A large neighbour profile makes a torn write
    // visible.
    let sts = FakeSts::start_with_default(vec![], Reply::expiring_in(Duration::from_secs(2)));
    let pod = Pod::new(&sts.url());
    let file = pod.dir.path().join("credentials");
    let padding: String = (0..4000).map(|i| format!("# note {i}\n")).collect();
    let others = format!("{OTHERS}{padding}");
    std::fs::write(&file, &others).unwrap();
    let child = update(&pod, &file, &["--profile", "app"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (file, others, stop) = (file.clone(), others.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut seen = HashSet::new();
                let mut reads = 0;
                while !stop.load(Ordering::Relaxed) {
                    let Ok(text) = std::fs::read_to_string(&file) else {
                        panic!("the file vanished during a rewrite");
                    };
                    reads += 1;
                    assert!(text.starts_with(&others), "torn read of the other profiles");
                    let app = profile(&text, "app");
                    if app.is_empty() {
                        continue; // before the first write
                    }
                    assert_eq!(app.len(), 3, "torn read of the profile: {app:?}");
                    assert!(text.ends_with('\n'));
                    seen.insert(app[0].1.clone());
                }
                (seen, reads)
            })
        })
        .collect();

    let start = Instant::now();
    while sts.calls() < 5 && start.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    let mut seen = HashSet::new();
    let mut reads = 0;
    for reader in readers {
        let (keys, count) = reader.join().expect("a reader saw a partial file");
        seen.extend(keys);
        reads += count;
    }
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "SIGTERM stops it cleanly: {stderr}"
    );
    assert!(
        sts.calls() >= 5,
        "refreshed ahead of expiry: {} calls",
        sts.calls()
    );
    assert!(
        seen.len() >= 3,
        "readers saw {} generations in {reads} reads",
        seen.len()
    );
    let issued: HashSet<String> = sts.issued().into_iter().map(|c| c.access_key_id).collect();
    assert!(
        seen.is_subset(&issued),
        "only whole, real credentials were read"
    );
}

#[test]
fn a_failed_start_leaves_the_file_alone() {
    let sts = FakeSts::start(vec![Reply::access_denied()]);
    let pod = Pod::new(&sts.url());
    let file = pod.dir.path().join("credentials");
    std::fs::write(&file, OTHERS).unwrap();
    let run = Run::from(update(&pod, &file, &["--once"]).output().unwrap());
    assert_eq!(run.code, 1);
    assert!(run.failure().contains("AccessDenied"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), OTHERS);
}

#[test]
fn bad_input_fails_with_one_line_naming_the_fix() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let file = pod.dir.path().join("credentials");
    let run = Run::from(
        update(&pod, &file, &["--profile", "a]b", "--once"])
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 2);
    assert!(
        run.failure().contains("--profile \"a]b\""),
        "{}",
        run.stderr
    );

    let nowhere = pod.dir.path().join("missing-dir/credentials");
    let run = Run::from(update(&pod, &nowhere, &["--once"]).output().unwrap());
    assert_eq!(run.code, 2);
    assert!(run.failure().contains("does not exist"), "{}", run.stderr);
    assert!(!file.exists() && !nowhere.exists(), "nothing written");
    assert_eq!(sts.calls(), 0, "bad input fails before STS is called");
}

#[test]
fn a_symlinked_file_is_updated_where_it_points() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let target = pod.dir.path().join("dotfiles-credentials");
    std::fs::write(&target, OTHERS).unwrap();
    let link = pod.dir.path().join("credentials");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let run = Run::from(
        update(&pod, &link, &["--profile", "app", "--once"])
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        link.symlink_metadata().unwrap().file_type().is_symlink(),
        "still a link"
    );
    let text = std::fs::read_to_string(&target).unwrap();
    assert!(text.starts_with(OTHERS) && text.contains("[app]"), "{text}");
}
