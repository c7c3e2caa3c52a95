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
