//! The credentials cache: one JSON file per key in a 0700 directory, files 0600, replaced
//! atomically; an exclusive lock per key so that concurrent cold starts make one STS call.
//! Anything odd about a cache file (corrupt, foreign, loose permissions, another key, not a
//! regular file, credentials STS could not have sent) is a miss. Entry and lock are opened
//! without following symlinks and without blocking, so a FIFO or a planted link cannot stall
//! or redirect the helper.

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
    let bytes = irsa_sts::file::read_capped(file, MAX_ENTRY).ok()?;
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
mod tests;
