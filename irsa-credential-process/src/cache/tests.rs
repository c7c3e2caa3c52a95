//! The cache's unit and property tests: round trips, every kind of miss, locks, hostile files.

use super::*;

/// Valid credentials, whose access key id ends in `id`.
fn credentials(id: &str) -> Credentials {
    Credentials {
        access_key_id: format!("ASIATEST{id:0>12}"),
        secret_access_key: "secret".into(),
        session_token: "token".into(),
        expiration: (OffsetDateTime::now_utc() + time::Duration::hours(1))
            .replace_nanosecond(0)
            .unwrap(),
        account_id: "123456789012".into(),
        assumed_role_arn: "arn:aws:sts::123456789012:assumed-role/app/s".into(),
    }
}

#[test]
fn keys_differ_whenever_an_input_does() {
    assert_eq!(CacheKey::new(&["a", "b"]), CacheKey::new(&["a", "b"]));
    assert_ne!(CacheKey::new(&["a", "b"]), CacheKey::new(&["ab", ""]));
    assert_ne!(CacheKey::new(&["a", "b"]), CacheKey::new(&["a", "c"]));
}

#[test]
fn round_trips_with_private_permissions() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("cache");
    let cache = Cache::open(&dir).unwrap();
    let key = CacheKey::new(&["k"]);
    assert!(cache.read(&key).is_none());
    cache.write(&key, &credentials("AKIA1")).unwrap();
    let read = cache.read(&key).unwrap();
    assert_eq!(read.access_key_id, credentials("AKIA1").access_key_id);
    assert_eq!(
        fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let file_mode = fs::metadata(cache.entry_path(&key))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(file_mode & 0o777, 0o600);
    cache.write(&key, &credentials("AKIA2")).unwrap();
    assert_eq!(
        cache.read(&key).unwrap().access_key_id,
        credentials("AKIA2").access_key_id
    );
    let leftovers = fs::read_dir(&dir).unwrap().filter(|e| {
        e.as_ref()
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".tmp-")
    });
    assert_eq!(leftovers.count(), 0);
}

#[test]
fn corrupt_mismatched_loose_or_linked_entries_are_misses() {
    let root = tempfile::tempdir().unwrap();
    let cache = Cache::open(root.path()).unwrap();
    let key = CacheKey::new(&["k"]);
    let path = cache.entry_path(&key);

    cache.write(&key, &credentials("AKIA1")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    assert!(
        cache.read(&key).is_none(),
        "group-readable entry must be a miss"
    );

    fs::write(&path, b"{\"Key\": trunc").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    assert!(cache.read(&key).is_none(), "corrupt entry must be a miss");

    let other = CacheKey::new(&["other"]);
    cache.write(&other, &credentials("AKIA3")).unwrap();
    fs::remove_file(&path).unwrap();
    fs::copy(cache.entry_path(&other), &path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    assert!(
        cache.read(&key).is_none(),
        "another key's entry must be a miss"
    );

    fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(cache.entry_path(&other), &path).unwrap();
    assert!(cache.read(&key).is_none(), "a symlink must be a miss");
}

#[test]
fn refuses_a_directory_others_can_write() {
    let root = tempfile::tempdir().unwrap();
    fs::set_permissions(root.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let error = Cache::open(root.path()).unwrap_err().to_string();
    assert!(error.contains("writable by others"), "{error}");
}

#[test]
fn a_second_locker_waits_and_then_sees_fresh_credentials() {
    let root = tempfile::tempdir().unwrap();
    let cache = Cache::open(root.path()).unwrap();
    let key = CacheKey::new(&["k"]);
    let Waited::Locked(held) = cache
        .lock_or_wait(&key, Duration::from_secs(1), |_| true)
        .unwrap()
    else {
        panic!("the first locker gets the lock");
    };
    // Same process, separate open file description: flock treats it as another locker.
    let waited = cache
        .lock_or_wait(&key, Duration::from_millis(50), |_| true)
        .unwrap();
    assert!(matches!(waited, Waited::TimedOut));
    cache.write(&key, &credentials("AKIA9")).unwrap();
    let Waited::Fresh(fresh) = cache
        .lock_or_wait(&key, Duration::from_secs(1), |_| true)
        .unwrap()
    else {
        panic!("a waiter sees the fresh entry");
    };
    assert_eq!(fresh.access_key_id, credentials("AKIA9").access_key_id);
    drop(held);
    assert!(matches!(
        cache
            .lock_or_wait(&key, Duration::from_secs(1), |_| false)
            .unwrap(),
        Waited::Locked(_)
    ));
}

fn entry_json(key: &CacheKey, access_key_id: &str, expiration: &str) -> String {
    format!(
        r#"{{"Key":"{}","AccessKeyId":"{access_key_id}","SecretAccessKey":"s","SessionToken":"t","Expiration":"{expiration}","AccountId":"123456789012","AssumedRoleArn":"arn:aws:sts::123456789012:assumed-role/app/s"}}"#,
        key.0
    )
}

#[test]
fn entries_sts_could_not_have_sent_are_misses() {
    let key = CacheKey::new(&["k"]);
    let now = OffsetDateTime::now_utc();
    let soon = irsa_sts::rfc3339(now + time::Duration::hours(1));
    let good = entry_json(&key, "ASIAGOOD000000000001", &soon);
    assert!(parse_entry(good.as_bytes(), &key, now).is_some());
    for forged in [
        entry_json(&key, "ASIAGOOD000000000001", "9999-12-31T23:59:59Z"),
        entry_json(&key, "ASIAGOOD000000000001", "1970-01-01T00:00:00Z"),
        entry_json(&key, "ASIA'$(touch x)'0000", &soon),
        entry_json(&key, "", &soon),
        good.replace(r#""SessionToken":"t""#, r#""SessionToken":"t\n[x]""#),
        format!("{good}{}", " ".repeat(MAX_ENTRY as usize)),
    ] {
        assert!(
            parse_entry(forged.as_bytes(), &key, now).is_none(),
            "{forged:.200}"
        );
    }
}

fn mkfifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
}

#[test]
fn a_fifo_entry_or_lock_never_blocks_and_a_linked_lock_is_not_followed() {
    let root = tempfile::tempdir().unwrap();
    let cache = Cache::open(root.path()).unwrap();
    let key = CacheKey::new(&["k"]);
    mkfifo(&cache.entry_path(&key));
    assert!(
        cache.read(&key).is_none(),
        "a FIFO entry is a miss, at once"
    );
    cache.write(&key, &credentials("AKIA1")).unwrap();
    assert!(
        cache.read(&key).is_some(),
        "and is replaced by the next write"
    );

    let lock = root.path().join(format!("{}.lock", key.file_stem()));
    mkfifo(&lock);
    let error = cache.lock_or_wait(&key, Duration::from_secs(1), |_| false);
    let expected = format!(
        "cannot use the cache lock file {}: it is a FIFO, not a regular file (remove it)",
        lock.display()
    );
    assert_eq!(error.err().map(|e| e.to_string()), Some(expected));

    fs::remove_file(&lock).unwrap();
    let target = root.path().join("elsewhere");
    std::os::unix::fs::symlink(&target, &lock).unwrap();
    let error = cache.lock_or_wait(&key, Duration::from_secs(1), |_| false);
    assert!(error.is_err_and(|e| e.to_string().contains("it is a symlink")));
    assert!(!target.exists(), "the link's target must not be created");
}

proptest::proptest! {

    #[test]
    fn arbitrary_bytes_are_never_an_entry(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1024)) {
        let key = CacheKey::new(&["k"]);
        proptest::prop_assert!(parse_entry(&bytes, &key, OffsetDateTime::now_utc()).is_none());
    }

    /// An entry is a hit exactly when its key matches and its fields pass the answer check.
    #[test]
    fn entries_are_hits_only_when_sts_could_have_sent_them(
        access_key_id in "[A-Z0-9]{16,24}|[ -~]{0,24}",
        secret in "[A-Za-z0-9+/]{40}|[ -~]{0,8}",
        expires_in in -100_000i64..100_000,
        same_key in proptest::prelude::any::<bool>(),
    ) {
        let key = CacheKey::new(&["k"]);
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let entry_key = if same_key { key.clone() } else { CacheKey::new(&["other"]) };
        let expiration = now + time::Duration::seconds(expires_in);
        let json = serde_json::json!({
            "Key": entry_key.0, "AccessKeyId": access_key_id, "SecretAccessKey": secret,
            "SessionToken": "dG9rZW4=", "Expiration": irsa_sts::rfc3339(expiration),
            "AccountId": "123456789012",
            "AssumedRoleArn": "arn:aws:sts::123456789012:assumed-role/app/s",
        });
        let parsed = parse_entry(json.to_string().as_bytes(), &key, now);
        let valid = same_key
            && access_key_id.len() >= 16
            && access_key_id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && !secret.is_empty()
            && secret.chars().all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c))
            && (1..=12 * 3600 + 15 * 60).contains(&expires_in);
        proptest::prop_assert_eq!(parsed.is_some(), valid);
    }
}
