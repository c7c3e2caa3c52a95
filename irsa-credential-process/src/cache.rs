//! The credentials cache: one JSON file per key in a 0700 directory, files 0600, replaced
//! atomically; an exclusive lock per key so that concurrent cold starts make one STS call.
//! Anything odd about a cache file (corrupt, foreign, loose permissions, another key, not a
//! regular file, credentials STS could not have sent) is a miss. Entry and lock are opened
//! without following symlinks and without blocking, so a FIFO or a planted link cannot stall
//! or redirect the helper.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use irsa_sts::Credentials;
use irsa_sts::file::FileError;

/// What a cache entry is for; entries for other inputs are never handed out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheKey(String);

impl CacheKey {
    /// A digest of every input that changes which credentials STS would return.
    pub fn new(parts: &[&str]) -> Self {
        let mut digest = Sha256::new();
        for part in parts {
            // Length-prefixed, so that no two lists of parts give the same bytes.
            digest.update((part.len() as u64).to_le_bytes());
            digest.update(part.as_bytes());
        }
        CacheKey(irsa_sts::hex(&digest.finalize()))
    }

    fn file_stem(&self) -> &str {
        &self.0[..32]
    }
}

/// A cache directory that exists, belongs to this user and is private.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
}

/// Why the cache cannot be used; the helper then warns once and goes to STS.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot use cache directory {dir}: {source}")]
    Io { dir: PathBuf, source: io::Error },
    #[error("cache directory {dir} {why}")]
    Unsafe { dir: PathBuf, why: &'static str },
    #[error(
        "cannot use the cache lock file {path}: it is a {kind}, not a regular file (remove it)"
    )]
    OddLock { path: PathBuf, kind: &'static str },
}

/// The most a cache entry may weigh; real ones are 1 to 3 KB.
const MAX_ENTRY: u64 = 64 * 1024;

/// The on-disk form.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    key: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    #[serde(with = "time::serde::rfc3339")]
    expiration: OffsetDateTime,
    account_id: String,
    assumed_role_arn: String,
}

/// A held lock; released when dropped (the file is closed).
#[derive(Debug)]
pub struct CacheLock {
    _file: File,
}

/// How waiting for another process's STS call ended.
pub enum Waited {
    /// The other process wrote fresh credentials.
    Fresh(Credentials),
    /// This process holds the lock and must call STS.
    Locked(CacheLock),
    /// The lock was not free in time; go on without it.
    TimedOut,
}

impl Cache {
    /// Opens (creating with 0700 if needed) the cache directory.
    pub fn open(dir: &Path) -> Result<Self, CacheError> {
        let io_error = |source| CacheError::Io {
            dir: dir.to_path_buf(),
            source,
        };
        match fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
        {
            Ok(()) => {}
            Err(source) => return Err(io_error(source)),
        }
        let meta = fs::metadata(dir).map_err(io_error)?;
        if meta.uid() != rustix::process::geteuid().as_raw() {
            return Err(CacheError::Unsafe {
                dir: dir.to_path_buf(),
                why: "belongs to another user",
            });
        }
        if meta.permissions().mode() & 0o022 != 0 {
            return Err(CacheError::Unsafe {
                dir: dir.to_path_buf(),
                why: "is writable by others (chmod 700 it)",
            });
        }
        Ok(Cache {
            dir: dir.to_path_buf(),
        })
    }

    pub fn entry_path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.file_stem()))
    }

    /// The cached credentials for `key`, if a trustworthy entry exists (fresh or not).
    pub fn read(&self, key: &CacheKey) -> Option<Credentials> {
        read_entry(&self.entry_path(key), key)
    }

    /// Replaces the entry for `key` atomically: readers see the old file or the new one.
    pub fn write(&self, key: &CacheKey, credentials: &Credentials) -> Result<(), CacheError> {
        let io_error = |source| CacheError::Io {
            dir: self.dir.clone(),
            source,
        };
        let entry = Entry {
            key: key.0.clone(),
            access_key_id: credentials.access_key_id.clone(),
            secret_access_key: credentials.secret_access_key.clone(),
            session_token: credentials.session_token.clone(),
            expiration: credentials.expiration,
            account_id: credentials.account_id.clone(),
            assumed_role_arn: credentials.assumed_role_arn.clone(),
        };
        let json = serde_json::to_vec(&entry).map_err(|e| io_error(io::Error::other(e)))?;
        // tempfile creates the file 0600, in the same directory so that the rename is atomic.
        let mut temporary = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&self.dir)
            .map_err(io_error)?;
        temporary.write_all(&json).map_err(io_error)?;
        temporary
            .persist(self.entry_path(key))
            .map_err(|e| io_error(e.error))?;
        Ok(())
    }

    /// Waits until this process holds the lock for `key`, or another process has written
    /// credentials that `is_fresh` accepts, or `patience` runs out.
    pub fn lock_or_wait(
        &self,
        key: &CacheKey,
        patience: Duration,
        is_fresh: impl Fn(&Credentials) -> bool,
    ) -> Result<Waited, CacheError> {
        let path = self.dir.join(format!("{}.lock", key.file_stem()));
        let file = open_lock(&path).map_err(|error| match error {
            FileError::NotRegular { kind } => CacheError::OddLock { path, kind },
            FileError::Io(source) => CacheError::Io {
                dir: self.dir.clone(),
                source,
            },
            other => CacheError::Io {
                dir: self.dir.clone(),
                source: io::Error::other(other.to_string()),
            },
        })?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Waited::Locked(CacheLock { _file: file })),
                Err(fs::TryLockError::WouldBlock) => {}
                Err(fs::TryLockError::Error(source)) => {
                    return Err(CacheError::Io {
                        dir: self.dir.clone(),
                        source,
                    });
                }
            }
            if let Some(fresh) = self.read(key).filter(|c| is_fresh(c)) {
                return Ok(Waited::Fresh(fresh));
            }
            if started.elapsed() >= patience {
                return Ok(Waited::TimedOut);
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Opens (creating 0600) the lock file: never through a symlink (O_NOFOLLOW: a planted link
/// would make us create its target) and never blocking (O_NONBLOCK: a FIFO without a reader
/// fails at once, one with a reader is refused below).
fn open_lock(path: &Path) -> Result<File, FileError> {
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(flags.bits() as i32)
        .open(path)
        .map_err(|error| match error.raw_os_error() {
            Some(code) if code == rustix::io::Errno::LOOP.raw_os_error() => {
                FileError::NotRegular { kind: "symlink" }
            }
            Some(code) if code == rustix::io::Errno::NXIO.raw_os_error() => {
                FileError::NotRegular { kind: "FIFO" }
            }
            _ => FileError::Io(error),
        })?;
    match irsa_sts::file::kind(&file.metadata()?) {
        None => Ok(file),
        Some(kind) => Err(FileError::NotRegular { kind }),
    }
}

fn read_entry(path: &Path, key: &CacheKey) -> Option<Credentials> {
    let file = irsa_sts::file::open_regular(path, true).ok()?;
    let meta = file.metadata().ok()?;
    let private = meta.permissions().mode() & 0o077 == 0;
    if !private || meta.uid() != rustix::process::geteuid().as_raw() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(MAX_ENTRY + 1).read_to_end(&mut bytes).ok()?;
    parse_entry(&bytes, key, OffsetDateTime::now_utc())
}

/// An entry's credentials, when it is for `key` and passes the check STS answers pass.
fn parse_entry(bytes: &[u8], key: &CacheKey, now: OffsetDateTime) -> Option<Credentials> {
    if bytes.len() as u64 > MAX_ENTRY {
        return None;
    }
    let entry: Entry = serde_json::from_slice(bytes).ok()?;
    if entry.key != key.0 {
        return None;
    }
    let credentials = Credentials {
        access_key_id: entry.access_key_id,
        secret_access_key: entry.secret_access_key,
        session_token: entry.session_token,
        expiration: entry.expiration,
        account_id: entry.account_id,
        assumed_role_arn: entry.assumed_role_arn,
    };
    irsa_sts::answer::check(&credentials, now).ok()?;
    Some(credentials)
}

#[cfg(test)]
mod tests {
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
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

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
}
