//! `update`: keeps one profile of a shared credentials file fresh, for tools that read only
//! that file. What it adds to the shared refresh loop is where to write and how: under a lock on
//! the directory, the rest of the file kept as it was.

use std::path::PathBuf;

use irsa_sts::{Credentials, rfc3339};

use crate::cli::UpdateArgs;
use crate::credentials_file::{self, UpdateError};
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
        // A symlink (as dotfile managers make) is followed, a dangling one too: its target is
        // written, and the link stays.
        let credentials_file = credentials_file::target(&credentials_file).map_err(|e| {
            SettingsError(format!(
                "cannot follow --credentials-file {}: {e}; give the path of a regular file",
                credentials_file.display()
            ))
        })?;
        // Checked again at each write; here, it fails before STS is called.
        credentials_file::check_kind(&credentials_file)
            .map_err(|e| SettingsError(e.to_string()))?;
        let parent = credentials_file::directory(&credentials_file);
        if !parent.is_dir() {
            return Err(SettingsError(format!(
                "the directory of --credentials-file {} does not exist: create {} first, or give another path",
                credentials_file.display(),
                parent.display()
            )));
        }
        let profile = profile(
            args.profile
                .clone()
                .or_else(|| env("AWS_PROFILE"))
                .unwrap_or_else(|| "default".into()),
        )?;
        Ok(UpdateConfig {
            credentials_file,
            profile,
            once: args.once,
        })
    }
}

/// `profile` if it can be a section of the credentials file that botocore reads as a profile.
fn profile(profile: String) -> Result<String, SettingsError> {
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
    // configparser's section of defaults (Lib/configparser.py, default_section): botocore
    // would hand its keys to every other profile of the file, and find no profile DEFAULT.
    if profile == "DEFAULT" {
        return Err(SettingsError(
            "--profile DEFAULT is the section whose keys botocore gives to every profile in the file: name the profile, such as default or app".into(),
        ));
    }
    Ok(profile)
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
    let runtime = sts::runtime().map_err(ExchangeError::Runtime)?;
    runtime.block_on(async {
        // A long-running update listens from the start, so that a stop while it waits for STS
        // or the lock ends it cleanly; --once keeps the default: a signal ends it at once.
        let mut stop = if config.once {
            None
        } else {
            Some(Stop::listen().map_err(Error::Signals)?)
        };
        let start = async {
            let (refresher, first) = Refresher::start(settings, reporter).await?;
            write(&config, first.clone()).await?;
            reporter.note(&written(&first));
            Ok::<_, Error>((refresher, first))
        };
        let Some(stop_signal) = stop.as_mut() else {
            start.await?;
            return Ok(());
        };
        let (refresher, first) = tokio::select! {
            started = start => started?,
            () = stop_signal.received() => {
                reporter.note("stopping");
                return Ok(());
            }
        };
        let (config, written) = (&config, &written);
        let publish = |fresh: Fresh| async move {
            write(config, fresh.clone()).await?;
            reporter.info(&written(&fresh));
            Ok::<(), Error>(())
        };
        refresher
            .until_stopped(first, stop.expect("listened"), publish)
            .await;
        Ok(())
    })
}

/// Sets the profile's keys in the file, leaving every other line as it was.
async fn write(config: &UpdateConfig, fresh: Fresh) -> Result<(), UpdateError> {
    let credentials: &Credentials = &fresh.credentials;
    let values = [
        (KEYS[0], credentials.access_key_id.as_str()),
        (KEYS[1], credentials.secret_access_key.as_str()),
        (KEYS[2], credentials.session_token.as_str()),
    ];
    credentials_file::edit(&config.credentials_file, |before| {
        profile_file::set_profile(before, &config.profile, &values)
    })
    .await
}
