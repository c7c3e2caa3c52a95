//! Reading a file meant to be a small regular file, whatever is really at the path: a FIFO does
//! not block the reader, and a device or an endless file does not fill memory.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("is a {kind}, not a regular file")]
    NotRegular { kind: &'static str },
    #[error("is larger than {cap} bytes")]
    TooLarge { cap: u64 },
}

/// Reads at most `cap` bytes of the regular file at `path` (symlinks followed: the kubelet's
/// projected files are symlinks). Opened non-blocking, so that opening a FIFO returns at once
/// and it is refused before anything waits on it.
pub fn read_regular(path: &Path, cap: u64) -> Result<Vec<u8>, FileError> {
    let file = open_regular(path, false)?;
    read_capped(file, cap)
}

/// [`read_regular`] as UTF-8 text (invalid bytes replaced: callers check the content).
pub fn read_regular_text(path: &Path, cap: u64) -> Result<String, FileError> {
    let bytes = read_regular(path, cap)?;
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Opens `path` for reading, non-blocking, and refuses it unless it is a regular file;
/// with `no_follow`, a symlink at `path` is refused too.
pub fn open_regular(path: &Path, no_follow: bool) -> Result<File, FileError> {
    let mut flags = rustix::fs::OFlags::NONBLOCK;
    if no_follow {
        flags |= rustix::fs::OFlags::NOFOLLOW;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(code) if no_follow && code == rustix::io::Errno::LOOP.raw_os_error() => {
                FileError::NotRegular { kind: "symlink" }
            }
            _ => FileError::Io(e),
        })?;
    let meta = file.metadata()?;
    match kind(&meta) {
        None => Ok(file),
        Some(kind) => Err(FileError::NotRegular { kind }),
    }
}

/// What a non-regular file is, as `ls -l` would tell it; `None` for a regular file.
pub fn kind(meta: &Metadata) -> Option<&'static str> {
    let file_type = meta.file_type();
    Some(if file_type.is_file() {
        return None;
    } else if file_type.is_dir() {
        "directory"
    } else if file_type.is_fifo() {
        "FIFO"
    } else if file_type.is_char_device() {
        "character device"
    } else if file_type.is_block_device() {
        "block device"
    } else if file_type.is_socket() {
        "socket"
    } else if file_type.is_symlink() {
        "symlink"
    } else {
        "special file"
    })
}

/// At most `cap` bytes of `reader` (a file already checked, stdin, a pipe): one byte more is
/// read, so that a longer input is refused rather than cut.
pub fn read_capped(reader: impl Read, cap: u64) -> Result<Vec<u8>, FileError> {
    let mut bytes = Vec::new();
    reader.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(FileError::TooLarge { cap });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "abc").unwrap();
        assert_eq!(read_regular(&file, 3).unwrap(), b"abc");
        let err = read_regular(&file, 2).unwrap_err();
        assert_eq!(err.to_string(), "is larger than 2 bytes");
        let err = read_regular(dir.path(), 10).unwrap_err();
        assert_eq!(err.to_string(), "is a directory, not a regular file");

        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        // Returns at once: nothing holds the FIFO's other end.
        let err = read_regular(&fifo, 10).unwrap_err();
        assert_eq!(err.to_string(), "is a FIFO, not a regular file");

        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read_regular(&link, 3).unwrap(), b"abc");
        let err = open_regular(&link, true).unwrap_err();
        assert_eq!(err.to_string(), "is a symlink, not a regular file");
    }
}
