//! Writing the files `oidc` produces: all of them or none, each through a temporary file
//! beside it (tempfile), so a failure never leaves a file half-written.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// An output directory must be a directory if it exists.
pub fn check_out_dir(out: &Path) -> Result<()> {
    if out.exists() && !out.is_dir() {
        return Err(Error::Usage(format!(
            "--out {} is not a directory: give a directory",
            out.display()
        )));
    }
    Ok(())
}

/// Writes every `(path, text, mode)`; renames them into place only once all are written.
/// Unrenamed temporary files are removed when dropped.
pub fn write_files(files: &[(PathBuf, String, u32)]) -> Result<()> {
    let mut written = Vec::new();
    for (path, text, mode) in files {
        let failed = |source| Error::Write {
            path: path.clone(),
            source,
        };
        let parent = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|source| Error::Write {
            path: parent.to_path_buf(),
            source,
        })?;
        let mut file = tempfile::Builder::new()
            .prefix(".irsa-")
            .permissions(std::fs::Permissions::from_mode(*mode))
            .tempfile_in(parent)
            .map_err(failed)?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.as_file().sync_all())
            .map_err(failed)?;
        written.push((file, path));
    }
    for (file, path) in written {
        file.persist(path).map_err(|e| Error::Write {
            path: path.clone(),
            source: e.error,
        })?;
    }
    Ok(())
}
