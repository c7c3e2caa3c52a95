//! `update`: keeps one profile of a shared credentials file fresh, for tools that read only
//! that file. What it adds to the shared refresh loop is where to write and how: under a lock on
//! the directory, the rest of the file kept as it was.

use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use irsa_sts::{Credentials, rfc3339};

use crate::cli::UpdateArgs;
use crate::error::Error;
use crate::profile_file::{self, KEYS};
use crate::refresh::{Fresh, Refresher, Stop};
use crate::report::Reporter;
use crate::settings::{Settings, SettingsError};
use crate::sts::{self, ExchangeError};

/// `update`'s own settings, validated.
#[derive(Clone, Debug)]
pub struct UpdateConfig {
    pub credentials_file: PathBuf,
    pub profile: String,
    pub once: bool,
}

impl UpdateConfig {
    pub fn resolve(
        args: &UpdateArgs,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        let credentials_file = match args
            .credentials_file
            .clone()
            .or_else(|| env("AWS_SHARED_CREDENTIALS_FILE").map(PathBuf::from))
        {
            Some(path) => path,
            None => dirs::home_dir()
                .map(|home| home.join(".aws").join("credentials"))
                .ok_or_else(|| {
                    SettingsError(
                        "no home directory for ~/.aws/credentials: pass --credentials-file PATH (or set AWS_SHARED_CREDENTIALS_FILE)".into(),
                    )
                })?,
        };
        // A symlink (as dotfile managers make) is followed: its target is updated, not replaced.
        let credentials_file = std::fs::canonicalize(&credentials_file).unwrap_or(credentials_file);
        let parent = credentials_file
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(SettingsError(format!(
                "the directory of --credentials-file {} does not exist: create {} first, or give another path",
                credentials_file.display(),
                parent.display()
            )));
        }
        let profile = args
            .profile
            .clone()
            .or_else(|| env("AWS_PROFILE"))
            .unwrap_or_else(|| "default".into());
        // The characters the Rust SDK accepts in a credentials-file section name.
        let valid = !profile.is_empty()
            && profile
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c));
        if !valid {
            return Err(SettingsError(format!(
                "--profile {profile:?} cannot be a profile name: use letters, digits and _-/.%@:+ only, such as default or app"
            )));
        }
        Ok(UpdateConfig {
            credentials_file,
            profile,
            once: args.once,
        })
    }
}

pub fn run(
    settings: &Settings,
    args: &UpdateArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(), Error> {
    let config = UpdateConfig::resolve(args, env)?;
    let reporter = Reporter {
        verbose: settings.verbose,
    };
    let path = config.credentials_file.display().to_string();
    let written = |fresh: &Fresh| {
        format!(
            "wrote profile {} to {path}; the credentials expire {}",
            config.profile,
            rfc3339(fresh.credentials.expiration)
        )
    };
    // The first write and every refresh's: a failure names the file and the fix.
    let write_profile = |fresh: &Fresh| {
        write(&config, &fresh.credentials).map_err(|source| Error::CredentialsFile {
            path: path.clone(),
            source,
        })
    };
    let runtime = sts::runtime().map_err(ExchangeError::Runtime)?;
    runtime.block_on(async {
        let (refresher, first) = Refresher::start(settings, reporter).await?;
        write_profile(&first)?;
        reporter.note(&written(&first));
        if config.once {
            return Ok(());
        }
        let stop = Stop::listen().map_err(Error::Signals)?;
        let publish = |fresh: &Fresh| {
            write_profile(fresh)?;
            reporter.info(&written(fresh));
            Ok::<(), Error>(())
        };
        refresher.until_stopped(first, stop, publish).await;
        Ok(())
    })
}

/// Read, edit, replace, under a lock on the directory: the rename swaps the file itself, so
/// the file cannot carry the lock, and two writers of different profiles must not lose each
/// other's edit.
fn write(config: &UpdateConfig, credentials: &Credentials) -> std::io::Result<()> {
    let path = &config.credentials_file;
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let lock = File::open(dir)?;
    lock.lock()?;
    let before = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == ErrorKind::NotFound => String::new(),
        Err(error) => return Err(error),
    };
    let values = [
        (KEYS[0], credentials.access_key_id.as_str()),
        (KEYS[1], credentials.secret_access_key.as_str()),
        (KEYS[2], credentials.session_token.as_str()),
    ];
    let after = profile_file::set_profile(&before, &config.profile, &values);
    profile_file::replace(path, &after)
}
