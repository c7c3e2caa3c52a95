//! `kubectl irsa`: parse, run, map errors to exit codes.

mod annotations;
mod cli;
mod cluster;
mod cmd;
mod doctor;
mod error;
mod identity;
mod injection;
mod manifests;
mod names;
mod oidc;
mod output;
mod progress;
mod sidecar;
mod trust_policy;
mod verdict;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use error::CliError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Bind(args) => cmd::bind::run(&cli.kube, args).await,
            Command::Unbind(args) => cmd::unbind::run(&cli.kube, args).await,
            Command::List(args) => cmd::list::run(&cli.kube, args).await,
            Command::TrustPolicy(args) => cmd::trust_policy::run(&cli.kube, args).await,
            Command::Whoami(args) => cmd::whoami::run(&cli.kube, args).await,
            Command::Exec(args) => cmd::exec::run(&cli.kube, args).await,
            Command::Test(args) => cmd::test::run(&cli.kube, args).await,
            Command::Inject(args) => cmd::inject::run(&cli.kube, args).await,
            Command::Oidc(args) => cmd::oidc::run(&cli.kube, args).await,
            Command::Doctor(args) => cmd::doctor::run(&cli.kube, args).await,
            Command::Version => {
                println!("{}", cmd::version::describe());
                Ok(())
            }
            Command::Completion { shell } => cmd::version::completion(*shell),
            Command::Complete { words } => cmd::complete::run(&cli.kube, words).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Verdict(verdict)) => {
            if !verdict.is_empty() {
                println!("{verdict}");
            }
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
