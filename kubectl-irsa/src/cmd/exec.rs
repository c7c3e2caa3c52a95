//! `kubectl irsa exec`: run a local command with the ServiceAccount's credentials.

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use crate::cli::ExecArgs;
use crate::error::{Error, Result};
use crate::identity;
use crate::kube_api::Cluster;
use crate::output::Output;
use crate::shell::single_quoted;

pub async fn run(args: &ExecArgs, out: Output) -> Result<ExitCode> {
    let cluster = Cluster::connect(&args.kube.options()).await?;
    let identity = identity::assume(&cluster, &args.name, &args.sts.identity_options()).await?;
    let region = ("AWS_REGION", identity.endpoint.region.clone());
    if args.export {
        out.print(&format!(
            "{}export {}={}\n",
            identity.credentials.export_lines(),
            region.0,
            single_quoted(&region.1)
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some((program, rest)) = args.command.split_first() else {
        return Err(Error::Usage(
            "give the command to run after --, or --export".into(),
        ));
    };
    // Replaces this process, so the command's exit code is the plugin's.
    let source = Command::new(program)
        .args(rest)
        .envs(identity.credentials.environment())
        .env(region.0, region.1)
        .env_remove("AWS_PROFILE")
        .exec();
    Err(Error::Exec {
        program: program.clone(),
        source,
    })
}
