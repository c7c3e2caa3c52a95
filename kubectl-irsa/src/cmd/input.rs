//! Files named on the command line: JSON documents and manifests, `-` meaning stdin.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::manifests;

/// A JSON file given with `flag`, or stdin for `-`.
pub fn read_json(flag: &'static str, path: &Path) -> Result<serde_json::Value> {
    let unreadable = |source| Error::Read {
        flag,
        path: path.to_path_buf(),
        source,
    };
    let text = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(unreadable)?;
        text
    } else {
        std::fs::read_to_string(path).map_err(unreadable)?
    };
    serde_json::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "{flag} {} is not JSON ({e}): give a trust policy or the output of `aws iam get-role`",
            path.display()
        ))
    })
}

/// The documents of a file, of every .yaml/.yml/.json file in a directory, or of stdin (`-`).
pub fn read_manifests(flag: &'static str, path: &Path) -> Result<Vec<Value>> {
    let unreadable = |source| Error::Read {
        flag,
        path: path.to_path_buf(),
        source,
    };
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(unreadable)?;
        return Ok(manifests::parse(&text, "stdin")?);
    }
    if path.is_dir() {
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
            documents.extend(read_manifests(flag, &file)?);
        }
        return Ok(documents);
    }
    let text = std::fs::read_to_string(path).map_err(unreadable)?;
    Ok(manifests::parse(&text, &path.display().to_string())?)
}
