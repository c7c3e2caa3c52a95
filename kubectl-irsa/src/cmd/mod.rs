//! One module per verb: each wires the domain modules to the cluster and the terminal, and
//! returns the exit code its verdict calls for (0 PASS, 1 FAIL); `Err` is kept for failures to
//! run.

pub mod bind;
pub mod complete;
pub mod doctor;
pub mod exec;
pub mod inject;
mod input;
mod keys;
pub mod list;
pub mod oidc;
pub mod test;
pub mod trust_policy;
pub mod unbind;
pub mod version;
pub mod whoami;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::error::{Error, Result};
use crate::output::Output;

/// Runs the parsed command line on a runtime of two threads (enough for a CLI).
pub fn run(cli: Cli, out: Output) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Internal {
            what: "cannot start the async runtime",
            detail: e.to_string(),
        })?;
    runtime.block_on(dispatch(cli.command, out))
}

async fn dispatch(command: Command, out: Output) -> Result<ExitCode> {
    match command {
        Command::Bind(args) => bind::run(&args, out).await,
        Command::Unbind(args) => unbind::run(&args, out).await,
        Command::List(args) => list::run(&args, out).await,
        Command::TrustPolicy(args) => trust_policy::run(&args, out).await,
        Command::Whoami(args) => whoami::run(&args, out).await,
        Command::Exec(args) => exec::run(&args, out).await,
        Command::Test(args) => test::run(&args, out).await,
        Command::Inject(args) => inject::run(&args, out).await,
        Command::Oidc(args) => oidc::run(&args, out).await,
        Command::Doctor(args) => doctor::run(&args, out).await,
        Command::Version => version::describe(out),
        Command::Completion { shell } => version::completion(shell, out),
        Command::Complete { words } => complete::run(&words, out).await,
    }
}
