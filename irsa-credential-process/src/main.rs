//! `irsa-credential-process`: parse, resolve the settings, dispatch to the mode, map the
//! result to the exit code. Nothing else lives here, and no module imports from it.

mod auth_token;
mod cache;
mod cli;
mod credentials_file;
mod error;
mod exec;
mod output;
mod probe;
mod process;
mod profile_file;
mod refresh;
mod report;
mod serve;
mod settings;
mod sts;
mod update;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::Error;
use crate::settings::Settings;

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("irsa-credential-process: error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    let env = |name: &str| std::env::var(name).ok();
    match cli.command {
        None => process::run(&Settings::resolve(&cli.options, env)?, cli.format),
        Some(Command::Exec(args)) => {
            exec::run(&Settings::resolve(&args.options, env)?, &args.command)
        }
        Some(Command::Serve(args)) => {
            serve::run(&Settings::resolve(&args.options, env)?, &args, env)
        }
        Some(Command::Update(args)) => {
            update::run(&Settings::resolve(&args.options, env)?, &args, env)
        }
        // A probe needs no role or token: it asks the server.
        Some(Command::Probe(args)) => Ok(probe::run(&args, env)?),
    }
}
