//! The shared credentials file as `update` finds it on disk: where a path really leads
//! (symlinks followed, a dangling one included, so that the link stays a link), what is there
//! (only a regular file is ever read or replaced: `AWS_SHARED_CREDENTIALS_FILE=/dev/null` is a
//! common idiom, and a rename over it would replace the machine's /dev/null), a bounded wait
//! for the directory lock, and a replacement that keeps the file's owner and mode.

use std::fs::{File, Metadata, TryLockError};
use std::io::{self, ErrorKind, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use irsa_sts::file::{self, FileError};

/// A credentials file is a few kB; one with thousands of profiles stays far below this.
pub const MAX_SIZE: u64 = 4 << 20;
/// Writers hold the lock for milliseconds: a wait this long means a stuck process.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);
const LOCK_POLL: Duration = Duration::from_millis(50);
/// As the kernel's limit on symlinks in one path lookup.
const MAX_LINKS: usize = 40;

/// Why the credentials file was not updated; each message names the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(
        "will not update the credentials file {path}: it is a {kind}, not a regular file; point --credentials-file (or AWS_SHARED_CREDENTIALS_FILE) at a regular file, such as ~/.aws/credentials"
    )]
    NotRegular { path: String, kind: &'static str },
    #[error(
        "cannot update the credentials file {path}: another process has held the lock on {dir} for {}s; stop it (another update of this file?), then retry", LOCK_WAIT.as_secs()
    )]
    Locked { path: String, dir: String },
    #[error(
        "will not update the credentials file {path}: it belongs to uid {uid} gid {gid}, and this process cannot give the new file that owner ({source}); run update as that user"
    )]
    Owner {
        path: String,
        uid: u32,
        gid: u32,
        source: io::Error,
    },
    #[error(
        "will not update the credentials file {path}: it is larger than {} MiB; give update a file of its own (--credentials-file)", MAX_SIZE >> 20
    )]
    TooLarge { path: String },
    #[error(
        "will not update the credentials file {path}: it is not UTF-8 text; fix or move it, or give update another file (--credentials-file)"
    )]
    NotText { path: String },
    #[error(
        "cannot update the credentials file {path}: {source}; it must be in a writable directory (--credentials-file or AWS_SHARED_CREDENTIALS_FILE)"
    )]
    Io { path: String, source: io::Error },
}

/// The file `path` leads to through any symlinks, whether or not it exists yet: a dangling
/// link is written through, as `echo > link` would.
pub fn target(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&current)?;
                // Relative targets are relative to the link's directory; absolute ones replace.
                current = directory(&current).join(link);
            }
            Ok(_) => return Ok(current),
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(current),
            Err(error) => return Err(error),
        }
    }
    Err(io::Error::from_raw_os_error(
        rustix::io::Errno::LOOP.raw_os_error(),
    ))
}

/// The directory `path` is in ("." for a bare name).
pub fn directory(path: &Path) -> &Path {
    path.parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Refuses anything but a regular file at `path` (which [`target`] resolved); nothing there
/// is fine: it will be created.
pub fn check_kind(path: &Path) -> Result<(), UpdateError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => match file::kind(&meta) {
            None => Ok(()),
            Some(kind) => Err(not_regular(path, kind)),
        },
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
        Err(source) => Err(io_error(path, source)),
    }
}

/// Edits the file at `path` (a [`target`]) with `edit`, under a lock on its directory waited
/// for at most [`LOCK_WAIT`]: the rename swaps the file itself, so the file cannot carry the
/// lock, and two writers of different profiles must not lose each other's edit.
pub async fn edit(path: &Path, edit: impl FnOnce(&str) -> String) -> Result<(), UpdateError> {
    // A directory only, opened without blocking: never a FIFO swapped in since the start.
    let flags = rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::NONBLOCK;
    let lock = File::options()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(directory(path))
        .map_err(|source| io_error(path, source))?;
    wait_for_lock(&lock, path).await?;
    let (before, meta) = match read(path)? {
        Some((text, meta)) => (text, Some(meta)),
        None => (String::new(), None),
    };
    replace(path, &edit(&before), meta.as_ref())
}

/// Polls the lock, so that the runtime goes on hearing signals while it waits.
async fn wait_for_lock(lock: &File, path: &Path) -> Result<(), UpdateError> {
    let start = Instant::now();
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(source)) => return Err(io_error(path, source)),
        }
        if start.elapsed() >= LOCK_WAIT {
            return Err(UpdateError::Locked {
                path: path.display().to_string(),
                dir: directory(path).display().to_string(),
            });
        }
        tokio::time::sleep(LOCK_POLL).await;
    }
}

/// The text and metadata of the regular file at `path`, `None` when there is none. Opened
/// without following a symlink (one swapped in since [`target`] is refused) and non-blocking,
/// and read up to [`MAX_SIZE`].
fn read(path: &Path) -> Result<Option<(String, Metadata)>, UpdateError> {
    let file = match file::open_regular(path, true) {
        Ok(file) => file,
        Err(FileError::Io(error)) if error.kind() == ErrorKind::NotFound => return Ok(None),
        Err(FileError::NotRegular { kind }) => return Err(not_regular(path, kind)),
        Err(FileError::Io(source)) => return Err(io_error(path, source)),
        Err(FileError::TooLarge { .. }) => return Err(too_large(path)),
    };
    let meta = file.metadata().map_err(|source| io_error(path, source))?;
    let bytes = match file::read_capped(file, MAX_SIZE) {
        Ok(bytes) => bytes,
        Err(FileError::TooLarge { .. }) => return Err(too_large(path)),
        Err(FileError::Io(source)) => return Err(io_error(path, source)),
        Err(FileError::NotRegular { kind }) => return Err(not_regular(path, kind)),
    };
    let text = String::from_utf8(bytes).map_err(|_| UpdateError::NotText {
        path: path.display().to_string(),
    })?;
    Ok(Some((text, meta)))
}

/// Replaces `path` with `contents` in one rename, so that a reader sees the old file or the
/// new one, never a mix. The new file gets the old one's owner and mode (a file another user
/// reads must stay readable to them); a new file is 0600.
fn replace(path: &Path, contents: &str, before: Option<&Metadata>) -> Result<(), UpdateError> {
    let failed = |source| io_error(path, source);
    let mut temp = tempfile::NamedTempFile::new_in(directory(path)).map_err(failed)?;
    if let Some(before) = before {
        let created = temp.as_file().metadata().map_err(failed)?;
        if (created.uid(), created.gid()) != (before.uid(), before.gid()) {
            std::os::unix::fs::fchown(temp.as_file(), Some(before.uid()), Some(before.gid()))
                .map_err(|source| UpdateError::Owner {
                    path: path.display().to_string(),
                    uid: before.uid(),
                    gid: before.gid(),
                    source,
                })?;
        }
        let mode = std::fs::Permissions::from_mode(before.mode() & 0o777);
        temp.as_file().set_permissions(mode).map_err(failed)?;
    }
    temp.write_all(contents.as_bytes()).map_err(failed)?;
    temp.as_file().sync_all().map_err(failed)?;
    temp.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

fn not_regular(path: &Path, kind: &'static str) -> UpdateError {
    UpdateError::NotRegular {
        path: path.display().to_string(),
        kind,
    }
}

fn too_large(path: &Path) -> UpdateError {
    UpdateError::TooLarge {
        path: path.display().to_string(),
    }
}

fn io_error(path: &Path, source: io::Error) -> UpdateError {
    UpdateError::Io {
        path: path.display().to_string(),
        source,
    }
}
