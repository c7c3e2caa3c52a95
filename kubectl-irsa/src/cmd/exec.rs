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
    let (keys, _) = super::keys::resolve(&cluster, &args.sts.prefix, out).await;
    let options = args.sts.identity_options(keys);
    let identity = identity::assume(&cluster, &args.name, &options).await?;
    // Both, as the webhook sets both: botocore and the AWS CLI v1 read only the second.
    let region = identity.endpoint.region.clone();
    let regions = [("AWS_REGION", &region), ("AWS_DEFAULT_REGION", &region)];
    if args.export {
        let mut lines = identity.credentials.export_lines();
        for (name, value) in regions {
            lines.push_str(&format!("export {name}={}\n", single_quoted(value)));
        }
        out.print(&lines)?;
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
        .envs(regions)
        .env_remove("AWS_PROFILE")
        .exec();
    Err(Error::Exec {
        program: program.clone(),
        source,
    })
}
