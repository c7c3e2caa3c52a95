//! `kubectl irsa`: parse, run, map the result to kubectl's exit codes.

mod binding;
mod cli;
mod cmd;
mod doctor;
mod error;
mod identity;
mod injection;
mod kube_api;
mod manifests;
mod names;
mod oidc;
mod output;
mod pod_credentials;
mod progress;
mod shell;
mod test_pod;
mod trust_policy;
mod verdict;
mod webhook;
mod workload;

use std::process::ExitCode;

use clap::Parser;

use output::Output;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let out = Output;
    match cmd::run(cli, out) {
        Ok(code) => code,
        // `| head` closed stdout: the reader has what it wanted.
        Err(error) if error.is_broken_pipe() => ExitCode::SUCCESS,
        Err(error) => {
            out.status(format_args!("error: {error}"));
            ExitCode::from(error.exit_code())
        }
    }
}
