//! `irsa-credential-process`: parse, run, map errors to exit codes.

mod cache;
mod cli;
mod output;
mod profile_file;
mod provider;
mod refresh;
mod report;
mod serve;
mod settings;
mod sts;
mod update;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match provider::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("irsa-credential-process: error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
