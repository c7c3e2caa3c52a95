//! `update` and what it finds at the credentials file's path: devices and FIFOs refused
//! (`AWS_SHARED_CREDENTIALS_FILE=/dev/null` is common), another user's file kept theirs, a
//! dangling symlink written through, and a lock held by someone else waited for only so long,
//! with SIGTERM heard while waiting.

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Pod, Run};
use rustix::fs::{FileType, Mode};
use tests::FakeSts;

const OTHERS: &str =
    "[default]\naws_access_key_id = AKIAHANDWRITTEN\naws_secret_access_key = kept\n";

fn update(pod: &Pod, file: &Path, extra: &[&str]) -> std::process::Command {
    let mut args = vec!["update", "--credentials-file", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    pod.helper(&args)
}

fn mknod(path: &Path, kind: FileType, device: u64) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        kind,
        Mode::from_raw_mode(0o666),
        device,
    )
    .unwrap();
}

#[test]
fn a_device_or_a_fifo_is_refused_before_sts_is_called() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let null = pod.dir.path().join("null");
    // What /dev/null is: character device 1,3.
    mknod(&null, FileType::CharacterDevice, rustix::fs::makedev(1, 3));
    let fifo = pod.dir.path().join("fifo");
    mknod(&fifo, FileType::Fifo, 0);
    let link = pod.dir.path().join("link-to-null");
    std::os::unix::fs::symlink(&null, &link).unwrap();
    for (path, target, kind) in [
        (&null, &null, "character device"),
        (&fifo, &fifo, "FIFO"),
        (&link, &null, "character device"),
    ] {
        let start = Instant::now();
        let run = Run::from(update(&pod, path, &["--once"]).output().unwrap());
        assert!(start.elapsed() < Duration::from_secs(5), "did not hang");
        assert_eq!(
            (run.code, run.stderr.as_str()),
            (
                2,
                format!(
                    "irsa-credential-process: error: will not update the credentials file {}: it is a {kind}, not a regular file; point --credentials-file (or AWS_SHARED_CREDENTIALS_FILE) at a regular file, such as ~/.aws/credentials\n",
                    target.display()
                )
                .as_str()
            )
        );
    }
    let through_env = Run::from(
        pod.helper(&["update", "--once"])
            .env("AWS_SHARED_CREDENTIALS_FILE", &null)
            .output()
            .unwrap(),
    );
    through_env.fails(2, "it is a character device, not a regular file");
    assert!(
        std::fs::symlink_metadata(&null)
            .unwrap()
            .file_type()
            .is_char_device()
    );
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert_eq!(sts.calls(), 0);
}

#[test]
fn another_users_file_keeps_its_owner_and_mode() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let file = pod.dir.path().join("credentials");
    std::fs::write(&file, OTHERS).unwrap();
    // nobody:nogroup, readable by its group: what a shared host's file may be.
    std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let run = Run::from(
        update(&pod, &file, &["--profile", "app", "--once"])
            .output()
            .unwrap(),
    );
    run.ok();
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (65534, 65534, 0o640)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with(OTHERS), "{text}");
    assert!(text.contains(&sts.issued()[0].access_key_id), "{text}");
}

#[test]
fn a_dangling_symlink_is_written_through_and_stays_a_link() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let link = pod.dir.path().join("credentials");
    std::fs::create_dir(pod.dir.path().join("dotfiles")).unwrap();
    let target = pod.dir.path().join("dotfiles/aws-credentials");
    std::os::unix::fs::symlink("dotfiles/aws-credentials", &link).unwrap();
    let run = Run::from(update(&pod, &link, &["--once"]).output().unwrap());
    run.ok();
    assert!(
        run.stderr
            .contains(&format!("wrote profile default to {}", target.display())),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("dotfiles/aws-credentials")
    );
    let meta = std::fs::symlink_metadata(&target).unwrap();
    assert!(meta.is_file());
    assert_eq!(meta.mode() & 0o777, 0o600, "a new file is private");
    let text = std::fs::read_to_string(&target).unwrap();
    assert!(
        text.starts_with("[default]\naws_access_key_id = "),
        "{text}"
    );
}

/// Holds the lock `update` takes on the credentials file's directory, as a stuck writer would.
fn hold_lock(dir: &Path) -> std::fs::File {
    let lock = std::fs::File::open(dir).unwrap();
    lock.lock().unwrap();
    lock
}

#[test]
fn a_held_lock_is_waited_for_ten_seconds_then_named() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let file = pod.dir.path().join("credentials");
    std::fs::write(&file, OTHERS).unwrap();
    let _held = hold_lock(pod.dir.path());
    let start = Instant::now();
    let run = Run::from(update(&pod, &file, &["--once"]).output().unwrap());
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(10) && waited < Duration::from_secs(14),
        "{waited:?}"
    );
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            format!(
                "irsa-credential-process: error: cannot update the credentials file {}: another process has held the lock on {} for 10s; stop it (another update of this file?), then retry\n",
                file.display(),
                pod.dir.path().display()
            )
            .as_str()
        )
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), OTHERS);
}

#[test]
fn sigterm_stops_an_update_waiting_for_the_lock() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let file = pod.dir.path().join("credentials");
    std::fs::write(&file, OTHERS).unwrap();
    let _held = hold_lock(pod.dir.path());
    for once in [false, true] {
        let calls = sts.calls();
        let extra: &[&str] = if once { &["--once"] } else { &[] };
        let child = update(&pod, &file, extra)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while sts.calls() == calls && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Now waiting for the lock.
        std::thread::sleep(Duration::from_millis(300));
        let pid = rustix::process::Pid::from_child(&child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let signalled = Instant::now();
        let output = child.wait_with_output().unwrap();
        assert!(signalled.elapsed() < Duration::from_secs(1), "prompt");
        let stderr = String::from_utf8_lossy(&output.stderr);
        if once {
            // --once keeps SIGTERM's default: it ends the process, nothing written.
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(output.status.signal(), Some(15), "{stderr}");
        } else {
            assert!(output.status.success(), "{stderr}");
            assert_eq!(stderr, "irsa-credential-process: stopping\n");
        }
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), OTHERS);
}

#[test]
fn the_defaults_section_is_not_a_profile() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let file = pod.dir.path().join("credentials");
    let run = Run::from(
        update(&pod, &file, &["--profile", "DEFAULT", "--once"])
            .output()
            .unwrap(),
    );
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            2,
            "irsa-credential-process: error: --profile DEFAULT is the section whose keys botocore gives to every profile in the file: name the profile, such as default or app\n"
        )
    );
    assert!(!file.exists());
}

#[test]
fn a_file_over_4_mib_is_refused_and_left_alone() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let file = pod.dir.path().join("credentials");
    let huge = format!("{OTHERS}{}", "# padding\n".repeat(500_000));
    std::fs::write(&file, &huge).unwrap();
    let run = Run::from(update(&pod, &file, &["--once"]).output().unwrap());
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            format!(
                "irsa-credential-process: error: will not update the credentials file {}: it is larger than 4 MiB; give update a file of its own (--credentials-file)\n",
                file.display()
            )
            .as_str()
        )
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), huge);
}
