//! The credentials cache: one JSON file per key in a 0700 directory, files 0600, replaced
//! atomically; an exclusive lock per key so that concurrent cold starts make one STS call.
//! Anything odd about a cache file (corrupt, foreign, loose permissions, another key) is a miss.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use irsa_sts::Credentials;

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
}

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
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|source| CacheError::Io {
                dir: self.dir.clone(),
                source,
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

fn read_entry(path: &Path, key: &CacheKey) -> Option<Credentials> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    let private = meta.permissions().mode() & 0o077 == 0;
    if !meta.is_file() || !private || meta.uid() != rustix::process::geteuid().as_raw() {
        return None;
    }
    let entry: Entry = serde_json::from_reader(io::BufReader::new(file)).ok()?;
    if entry.key != key.0 {
        return None;
    }
    Some(Credentials {
        access_key_id: entry.access_key_id,
        secret_access_key: entry.secret_access_key,
        session_token: entry.session_token,
        expiration: entry.expiration,
        account_id: entry.account_id,
        assumed_role_arn: entry.assumed_role_arn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(id: &str) -> Credentials {
        Credentials {
            access_key_id: id.into(),
            secret_access_key: "secret".into(),
            session_token: "token".into(),
            expiration: OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap(),
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
        assert_eq!(cache.read(&key).unwrap(), credentials("AKIA1"));
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
        assert_eq!(cache.read(&key).unwrap().access_key_id, "AKIA2");
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
        assert_eq!(fresh.access_key_id, "AKIA9");
        drop(held);
        assert!(matches!(
            cache
                .lock_or_wait(&key, Duration::from_secs(1), |_| false)
                .unwrap(),
            Waited::Locked(_)
        ));
    }
}
