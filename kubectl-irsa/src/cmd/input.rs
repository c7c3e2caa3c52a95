//! Files named on the command line: JSON documents and manifests, `-` meaning stdin. Every
//! read is capped, so that `/dev/zero`, an endless pipe or a huge file ends in an error naming
//! the file and the cap rather than in the OOM killer.

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::manifests;
use crate::trust_policy::strict_json;

/// The most a manifest file (or stdin) may hold: far above any real manifest (etcd refuses
/// objects over 1.5 MiB), far below what a machine misses.
pub const MANIFEST_CAP: u64 = 16 << 20;
/// The most a policy file may hold: a trust policy is at most 4,096 characters and `aws iam
/// get-role` output a few more KB.
pub const POLICY_CAP: u64 = 1 << 20;
/// The most a key file may hold: a PEM public key is a few KB, a bundle of them not much more.
pub const KEY_CAP: u64 = 1 << 20;

/// A JSON file given with `flag`, or stdin for `-`; a duplicate key is refused, since the last
/// one would silently win.
pub fn read_json(flag: &'static str, path: &Path) -> Result<serde_json::Value> {
    let text = read_capped(flag, path, POLICY_CAP)?;
    let shown = shown(path).display();
    strict_json::parse(&text).map_err(|e| {
        Error::Usage(if strict_json::is_duplicate(&e) {
            format!(
                "{flag} {shown}: {e}: JSON readers keep only one of them (serde_json and Python the last), so remove the other"
            )
        } else {
            format!(
                "{flag} {shown} is not JSON ({e}): give a trust policy or the output of `aws iam get-role`"
            )
        })
    })
}

/// The documents of a file, of every .yaml/.yml/.json file in a directory, or of stdin (`-`).
pub fn read_manifests(flag: &'static str, path: &Path) -> Result<Vec<Value>> {
    if path.as_os_str() == "-" {
        let text = read_capped(flag, path, MANIFEST_CAP)?;
        return Ok(manifests::parse(&text, "stdin")?);
    }
    if path.is_dir() {
        let unreadable = |source| Error::Read {
            flag,
            path: path.to_path_buf(),
            source,
        };
        let mut files: Vec<_> = std::fs::read_dir(path)
            .map_err(unreadable)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
            })
            .collect();
        files.sort();
        let mut documents = Vec::new();
        for file in files {
            // Files found in a directory must be regular: a FIFO there would block the read.
            let text = irsa_sts::file::read_regular_text(&file, MANIFEST_CAP)
                .map_err(|e| read_error(flag, &file, e, MANIFEST_CAP))?;
            documents.extend(manifests::parse(&text, &file.display().to_string())?);
        }
        return Ok(documents);
    }
    let text = read_capped(flag, path, MANIFEST_CAP)?;
    Ok(manifests::parse(&text, &path.display().to_string())?)
}

/// At most `cap` bytes of `path` (stdin for `-`) as text.
pub fn read_capped(flag: &'static str, path: &Path, cap: u64) -> Result<String> {
    let bytes = read_capped_bytes(flag, path, cap)?;
    String::from_utf8(bytes).map_err(|_| {
        Error::Usage(format!(
            "{flag} {} is not UTF-8 text: give a YAML or JSON file",
            shown(path).display()
        ))
    })
}

/// At most `cap` bytes of `path` (stdin for `-`). A file named on the command line is read as a
/// stream whatever it is, so `<(command)` works; the cap bounds a device or an endless pipe.
pub fn read_capped_bytes(flag: &'static str, path: &Path, cap: u64) -> Result<Vec<u8>> {
    let read = if path.as_os_str() == "-" {
        irsa_sts::file::read_capped(std::io::stdin().lock(), cap)
    } else {
        std::fs::File::open(path)
            .map_err(Into::into)
            .and_then(|file| irsa_sts::file::read_capped(file, cap))
    };
    read.map_err(|e| read_error(flag, shown(path), e, cap))
}

/// How `path` is named in messages: `-` is stdin.
fn shown(path: &Path) -> &Path {
    if path.as_os_str() == "-" {
        Path::new("- (stdin)")
    } else {
        path
    }
}

/// The one-line error for `path`: the cap in MiB when it was passed.
fn read_error(
    flag: &'static str,
    path: &Path,
    error: irsa_sts::file::FileError,
    cap: u64,
) -> Error {
    use irsa_sts::file::FileError;
    let source = match error {
        FileError::Io(io) => io,
        FileError::TooLarge { .. } => std::io::Error::other(format!(
            "more than {} MiB, the most {flag} reads: split it",
            cap >> 20
        )),
        other => std::io::Error::other(other.to_string()),
    };
    Error::Read {
        flag,
        path: path.to_path_buf(),
        source,
    }
}
