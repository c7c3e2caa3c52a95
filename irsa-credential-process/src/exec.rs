//! `exec`: the credentials in a command's environment, for programs that read only
//! AWS_ACCESS_KEY_ID and friends. The helper replaces itself with the command (no child to
//! wait for, signals go straight to it); the credentials come as in the default mode, cache
//! included.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use irsa_sts::Credentials;

use crate::error::Error;
use crate::process;
use crate::settings::Settings;

/// Obtains the credentials and runs `command` with them; returns only when that fails.
pub fn run(settings: &Settings, command: &[String]) -> Result<(), Error> {
    let credentials = process::obtain(settings)?;
    let source = replace_with(&credentials, command, &settings.endpoint.region);
    Err(Error::Exec {
        command: command.join(" "),
        source,
    })
}

/// Replaces this process with `command`; returns only if that fails. AWS_REGION is the region
/// whose STS issued the credentials, unless the environment already names one.
fn replace_with(credentials: &Credentials, command: &[String], region: &str) -> io::Error {
    let Some((program, args)) = command.split_first() else {
        return io::Error::new(io::ErrorKind::InvalidInput, "no command given");
    };
    let mut child = Command::new(program);
    child.args(args).envs(credentials.environment());
    if std::env::var_os("AWS_REGION").is_none() {
        child.env("AWS_REGION", region);
    }
    child.exec()
}
