//! The shared secret a client of `serve` must present in `Authorization`, kept in a 0600 file
//! that the client reads through AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, and the path it is
//! presented at. `serve` writes the file and `probe` reads it, so both find it here by the same
//! rule, and refuse the same bad files; neither mode imports the other.

use std::io::{ErrorKind, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use irsa_sts::file::{self, FileError};

/// Why the token file cannot be used; the message names the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum AuthTokenError {
    #[error(
        "cannot use the authorization token file {path}: {source}; give --auth-token-file (or AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) a path in a writable directory"
    )]
    Unusable {
        path: String,
        source: std::io::Error,
    },
    /// Bad input (exit 2): what is wrong with the file says how to fix it.
    #[error("{}", problem.message(path))]
    Invalid { path: String, problem: Problem },
}

/// What makes a token file unfit: whoever can write it chooses the token, and a token that
/// can be guessed lets any local process take the credentials.
#[derive(Debug)]
pub enum Problem {
    /// A newline, a space or a non-ASCII byte.
    Unsendable,
    NotRegular(&'static str),
    TooLarge,
    TooShort(usize),
    OtherOwner(u32),
    Writable(u32),
}

impl Problem {
    fn message(&self, path: &str) -> String {
        let fix = "give --auth-token-file (or AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) another path, where serve writes a random token";
        match self {
            Problem::Unsendable => format!(
                "the authorization token file {path} holds a newline, a space or a non-ASCII byte, which SDKs cannot send in the Authorization header: write the token alone, such as printf %s TOKEN > {path}"
            ),
            Problem::NotRegular(kind) => format!(
                "the authorization token file {path} is a {kind}, not a regular file: {fix}"
            ),
            Problem::TooLarge => format!(
                "the authorization token file {path} is larger than {MAX_FILE} bytes, too large for a token: {fix}"
            ),
            Problem::TooShort(length) => format!(
                "the authorization token in {path} has {length} characters, fewer than {MIN_LENGTH}: it could be guessed; write a longer one (printf %s \"$(openssl rand -hex 32)\" > {path}), or {fix}"
            ),
            Problem::OtherOwner(uid) => format!(
                "the authorization token file {path} belongs to uid {uid}, neither this user nor root, so that user chooses the token: remove it, or {fix}"
            ),
            Problem::Writable(mode) => format!(
                "the authorization token file {path} is writable by group or others (mode {mode:04o}), so they choose the token: chmod go-w {path}, or {fix}"
            ),
        }
    }
}

/// A token shorter than this is refused: our own are 64 characters, and so are those of
/// `openssl rand -hex 32`, which the README suggests for a Secret.
pub const MIN_LENGTH: usize = 32;
/// SDKs send the whole file in a header: anything near this is not a token.
pub const MAX_FILE: u64 = 16 * 1024;

/// The path of the container credentials endpoint, where the token is presented.
pub const CREDENTIALS_PATH: &str = "/v1/credentials";

/// Random bytes in a generated token (64 hex digits).
const TOKEN_BYTES: usize = 32;

/// `--auth-token-file`, else AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, as the client reads it.
pub fn given_path(flag: Option<&PathBuf>, env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    flag.cloned().or_else(|| {
        env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
            .filter(|path| !path.trim().is_empty())
            .map(PathBuf::from)
    })
}

/// The token in `path` when the file has one (a restarted server keeps its clients working),
/// else a new random token, written there atomically with mode 0600.
#[cfg(test)]
fn load_or_create(path: &Path) -> Result<String, AuthTokenError> {
    match existing(path)? {
        Some(token) => Ok(token),
        None => create(path),
    }
}

/// The token `path` holds; `None` when the file is missing or empty. The file must be a
/// regular file (symlinks followed: a Secret's volume links its files), opened without blocking
/// (a FIFO is refused at once), owned by this user or root and writable by no one else, and
/// hold a token SDKs can send that is too long to guess.
pub fn existing(path: &Path) -> Result<Option<String>, AuthTokenError> {
    let invalid = |problem| AuthTokenError::Invalid {
        path: path.display().to_string(),
        problem,
    };
    let unusable = |source| AuthTokenError::Unusable {
        path: path.display().to_string(),
        source,
    };
    let file = match file::open_regular(path, false) {
        Ok(file) => file,
        Err(FileError::Io(error)) if error.kind() == ErrorKind::NotFound => return Ok(None),
        Err(FileError::Io(source)) => return Err(unusable(source)),
        Err(FileError::NotRegular { kind }) => return Err(invalid(Problem::NotRegular(kind))),
        Err(FileError::TooLarge { .. }) => return Err(invalid(Problem::TooLarge)),
    };
    let meta = file.metadata().map_err(unusable)?;
    if meta.uid() != rustix::process::geteuid().as_raw() && meta.uid() != 0 {
        return Err(invalid(Problem::OtherOwner(meta.uid())));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(invalid(Problem::Writable(meta.mode() & 0o7777)));
    }
    let bytes = match file::read_capped(file, MAX_FILE) {
        Ok(bytes) => bytes,
        Err(FileError::TooLarge { .. }) => return Err(invalid(Problem::TooLarge)),
        Err(FileError::Io(source)) => return Err(unusable(source)),
        Err(FileError::NotRegular { kind }) => return Err(invalid(Problem::NotRegular(kind))),
    };
    if bytes.is_empty() {
        return Ok(None);
    }
    // SDKs send the file's bytes as they are: a newline would make every request fail.
    if !bytes.iter().all(u8::is_ascii_graphic) {
        return Err(invalid(Problem::Unsendable));
    }
    if bytes.len() < MIN_LENGTH {
        return Err(invalid(Problem::TooShort(bytes.len())));
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// A new random token, written to `path` atomically with mode 0600.
pub fn create(path: &Path) -> Result<String, AuthTokenError> {
    let failed = |source: std::io::Error| AuthTokenError::Unusable {
        path: path.display().to_string(),
        source,
    };
    let token = random_hex::<TOKEN_BYTES>().map_err(failed)?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    // tempfile creates the file 0600; the rename makes it appear whole.
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
    file.write_all(token.as_bytes()).map_err(failed)?;
    file.persist(path).map_err(|e| failed(e.error))?;
    Ok(token)
}

/// `N` random bytes from the kernel, as hex: a token no one can guess.
pub fn random_hex<const N: usize>() -> Result<String, std::io::Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    Ok(irsa_sts::hex(&bytes))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn creates_a_private_random_token_and_keeps_it_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let first = load_or_create(&path).unwrap();
        assert_eq!(first.len(), 2 * TOKEN_BYTES);
        assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load_or_create(&path).unwrap(), first);
        let other = load_or_create(&dir.path().join("other")).unwrap();
        assert_ne!(other, first);
    }

    #[test]
    fn takes_a_token_someone_else_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let token = "from-a-secret-0123456789abcdef-0123456789";
        std::fs::write(&path, token).unwrap();
        assert_eq!(load_or_create(&path).unwrap(), token);
    }

    #[test]
    fn refuses_a_token_that_sdks_could_not_send() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        for bad in ["with-newline\n", "a b", "tab\there"] {
            std::fs::write(&path, bad).unwrap();
            let error = load_or_create(&path).unwrap_err().to_string();
            assert!(error.contains("printf %s"), "{bad:?}: {error}");
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                bad,
                "left as it was"
            );
        }
    }

    #[test]
    fn an_unwritable_place_names_the_file_and_the_fix() {
        let error = load_or_create(Path::new("/nonexistent/dir/token"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("/nonexistent/dir/token"), "{error}");
        assert!(error.contains("--auth-token-file"), "{error}");
    }
}
