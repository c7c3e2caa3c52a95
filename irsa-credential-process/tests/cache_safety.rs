//! The cache under stress and abuse: permissions, atomic replacement under concurrent readers,
//! corrupt and foreign files, and directories that cannot be written.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::Pod;
use tests::{FakeSts, Reply};

#[test]
fn cache_directory_is_private_and_entries_are_0600() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    pod.run(&[]).credentials();
    let mode = fs::metadata(pod.cache_dir()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    let files = pod.cache_files();
    assert_eq!(files.len(), 1);
    assert_eq!(
        fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn default_location_is_under_xdg_cache_home() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let xdg = pod.dir.path().join("xdg");
    let mut command = pod.helper(&[]);
    command
        .env_remove("IRSA_CACHE_DIR")
        .env("XDG_CACHE_HOME", &xdg);
    common::Run::from(command.output().unwrap()).credentials();
    assert_eq!(
        common::json_files(&xdg.join("irsa-credential-process")).len(),
        1
    );
}

#[test]
fn readers_never_see_a_partial_entry_while_it_is_replaced() {
    // Credentials inside the refresh window make every run call STS and rewrite the entry.
    let sts = FakeSts::start_with_default(vec![], Reply::expiring_in(Duration::from_secs(600)));
    let pod = Pod::new(&sts.url());
    pod.run(&[]).credentials();
    let entry = pod.cache_files().remove(0);
    let done = AtomicBool::new(false);
    let reads = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut reads = 0;
            while !done.load(Ordering::Relaxed) {
                let bytes = fs::read(&entry).expect("the entry is always there");
                let json: serde_json::Value =
                    serde_json::from_slice(&bytes).expect("always whole JSON");
                assert!(json["AccessKeyId"].is_string());
                reads += 1;
            }
            reads
        });
        for _ in 0..20 {
            pod.run(&[]).credentials();
        }
        done.store(true, Ordering::Relaxed);
        reader.join().unwrap()
    });
    assert_eq!(sts.calls(), 21);
    assert!(
        reads > 20,
        "the reader ran alongside the writers ({reads} reads)"
    );
    let leftovers = fs::read_dir(pod.cache_dir()).unwrap().filter(|e| {
        e.as_ref()
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".tmp-")
    });
    assert_eq!(leftovers.count(), 0, "no temporary files left behind");
}

#[test]
fn a_corrupt_entry_is_a_miss_and_gets_replaced() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let first = pod.run(&[]).access_key_id();
    let entry = pod.cache_files().remove(0);
    fs::write(&entry, b"{\"Key\":\"trunc").unwrap();
    let second = pod.run(&[]);
    assert_ne!(second.access_key_id(), first);
    assert_eq!(sts.calls(), 2);
    assert!(
        !second.stderr.contains("error"),
        "a corrupt cache is not an error: {}",
        second.stderr
    );
    let third = pod.run(&[]);
    assert_eq!(
        third.access_key_id(),
        second.access_key_id(),
        "the rewritten entry serves again"
    );
}

#[test]
fn an_entry_owned_by_someone_else_is_a_miss() {
    if rustix::process::geteuid().as_raw() != 0 {
        eprintln!("needs root to chown; covered by the unit test of loose permissions");
        return;
    }
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let first = pod.run(&[]).access_key_id();
    let entry = pod.cache_files().remove(0);
    rustix::fs::chown(&entry, Some(rustix::fs::Uid::from_raw(65534)), None).unwrap();
    assert_eq!(fs::metadata(&entry).unwrap().uid(), 65534);
    let second = pod.run(&[]).access_key_id();
    assert_ne!(second, first, "a foreign entry is never handed out");
    assert_eq!(
        fs::metadata(&entry).unwrap().uid(),
        0,
        "and is replaced by our own"
    );
}

#[test]
fn an_unwritable_cache_directory_warns_once_and_still_answers() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    // A regular file where the directory's parent should be: no user, root included, can
    // create the directory (as on a read-only root filesystem).
    let blocker = pod.dir.path().join("not-a-dir");
    fs::write(&blocker, b"").unwrap();
    let cache_dir = blocker.join("cache");
    for _ in 0..2 {
        let run = pod.run(&["--cache-dir", cache_dir.to_str().unwrap()]);
        run.credentials();
        let warnings = run
            .stderr
            .lines()
            .filter(|l| l.contains("warning:"))
            .count();
        assert_eq!(warnings, 1, "{}", run.stderr);
        assert!(
            run.stderr.contains("cannot use cache directory"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(sts.calls(), 2);
}

#[test]
fn a_read_only_filesystem_is_not_an_error() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    fs::create_dir(pod.cache_dir()).unwrap();
    let cache_dir = pod.cache_dir();
    let run = if rustix::process::geteuid().is_root() {
        // Root writes through any mode bits: mount a read-only filesystem over the cache
        // directory instead, in a mount namespace of the helper's own.
        let mount = "mount -t tmpfs -o ro,mode=0700 tmpfs \"$1\" && shift && exec \"$@\"";
        let unshare = [
            "/usr/bin/unshare",
            "--mount",
            "/bin/sh",
            "-c",
            mount,
            "sh",
            cache_dir.to_str().unwrap(),
        ];
        common::Run::from(pod.helper_under(&unshare, &[]).output().unwrap())
    } else {
        fs::set_permissions(&cache_dir, fs::Permissions::from_mode(0o500)).unwrap();
        pod.run(&[])
    };
    run.credentials();
    assert_eq!(run.stderr.matches("warning:").count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("Read-only file system") || run.stderr.contains("Permission denied"),
        "{}",
        run.stderr
    );
    assert_eq!(sts.calls(), 1);
}

/// `mkfifo path`, as a hostile user would leave one.
fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Runs the helper with a watchdog: a blocked helper is killed at 20 s, and the test fails.
fn run_bounded(pod: &Pod, args: &[&str]) -> common::Run {
    let started = std::time::Instant::now();
    let output = pod.helper_under(&["timeout", "20"], args).output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    common::Run::from(output)
}

#[test]
fn a_forged_entry_is_a_miss_not_a_permanent_hit() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let first = pod.run(&[]).access_key_id();
    let entry = pod.cache_files().remove(0);
    let honest = fs::read_to_string(&entry).unwrap();
    let expiration = serde_json::from_str::<serde_json::Value>(&honest).unwrap()["Expiration"]
        .as_str()
        .unwrap()
        .to_string();
    let forgeries = [
        honest.replace(&expiration, "9999-12-31T23:59:59Z"),
        honest.replace(&first, "ASIA'$(touch x)'0000"),
        honest.replace(&first, "ASIAFORGED\\n[evil]"),
    ];
    for (round, forged) in forgeries.iter().enumerate() {
        fs::write(&entry, forged).unwrap();
        let run = pod.run(&[]);
        let fresh = run.access_key_id();
        assert_ne!(fresh, first, "{forged}");
        assert_eq!(
            sts.calls(),
            round + 2,
            "a forged entry sends the helper to STS"
        );
        assert_eq!(run.stderr, "", "a forged entry is a quiet miss");
        assert!(
            !fs::read_to_string(&entry).unwrap().contains("9999"),
            "and is replaced"
        );
    }
}

#[test]
fn a_fifo_as_entry_or_lock_never_blocks_and_a_linked_lock_is_not_followed() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    pod.run(&[]).credentials();
    let entry = pod.cache_files().remove(0);
    let lock = entry.with_extension("lock");
    assert!(lock.exists(), "{}", lock.display());

    // A FIFO entry is a miss at once, and the new entry replaces it.
    fs::remove_file(&entry).unwrap();
    mkfifo(&entry);
    run_bounded(&pod, &[]).credentials();
    assert!(fs::metadata(&entry).unwrap().is_file());

    // A FIFO lock: no cache this time, said once, and the credentials still come.
    fs::remove_file(&entry).unwrap();
    fs::remove_file(&lock).unwrap();
    mkfifo(&lock);
    let run = run_bounded(&pod, &[]);
    run.credentials();
    assert_eq!(
        run.stderr,
        format!(
            "irsa-credential-process: warning: cannot use the cache lock file {}: it is a FIFO, not a regular file (remove it); calling STS without a cache (set --cache-dir or IRSA_CACHE_DIR to a writable directory, or --no-cache)\n",
            lock.display()
        )
    );

    // A symlinked lock is not followed: its target is never created.
    fs::remove_file(&lock).unwrap();
    let target = pod.dir.path().join("planted");
    std::os::unix::fs::symlink(&target, &lock).unwrap();
    let run = run_bounded(&pod, &[]);
    run.credentials();
    assert!(
        run.stderr.contains("it is a symlink, not a regular file"),
        "{}",
        run.stderr
    );
    assert!(!target.exists(), "the link's target must not be created");
}

#[test]
fn a_lock_held_forever_delays_the_helper_only_boundedly() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    pod.run(&["--no-cache"]).credentials();
    // A first run makes the lock file; then another process holds it and never lets go.
    pod.run(&[]).credentials();
    let entry = pod.cache_files().remove(0);
    let lock = entry.with_extension("lock");
    fs::remove_file(&entry).unwrap();
    let mut holder = std::process::Command::new("flock")
        .arg(&lock)
        .args(["sleep", "60"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let run = pod.run(&["--timeout", "2s"]);
    let waited = started.elapsed();
    let _ = holder.kill();
    let _ = holder.wait();
    run.credentials();
    assert_eq!(
        run.stderr,
        "irsa-credential-process: warning: the cache lock stayed busy; calling STS anyway\n"
    );
    // The patience is the STS deadline plus 5 s.
    assert!(
        waited >= Duration::from_secs(7) && waited < Duration::from_secs(12),
        "{waited:?}"
    );
}
