//! `kubectl irsa exec`: run a local command with the ServiceAccount's credentials.

use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::cli::{ExecArgs, KubeFlags};
use crate::cluster;
use crate::cmd::whoami;
use crate::error::CliError;
use crate::identity;
use crate::names;

pub async fn run(flags: &KubeFlags, args: &ExecArgs) -> Result<(), CliError> {
    names::check_service_account(&args.name)?;
    let cluster = cluster::connect(flags).await?;
    let identity = identity::assume(&cluster, &args.name, &whoami::options(&args.sts)).await?;
    let region = ("AWS_REGION", identity.endpoint.region.clone());
    if args.export {
        println!(
            "{}export {}='{}'",
            identity.credentials.export_lines(),
            region.0,
            region.1
        );
        return Ok(());
    }
    let Some((program, rest)) = args.command.split_first() else {
        return Err(CliError::Usage(
            "give the command to run after --, or --export".into(),
        ));
    };
    // Replaces this process, so the command's exit code is the plugin's.
    let error = Command::new(program)
        .args(rest)
        .envs(identity.credentials.environment())
        .env(region.0, region.1)
        .env_remove("AWS_PROFILE")
        .exec();
    Err(CliError::Usage(format!("cannot run {program}: {error}")))
}
