//! `kubectl irsa`: parse, run, map the result to kubectl's exit codes.

mod aws;
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
mod role_trust;
mod shell;
mod test_pod;
mod trust_policy;
mod verdict;
mod webhook;
mod workload;

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use output::Output;

fn main() -> ExitCode {
    let out = Output;
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return parse_failure(&error, out),
    };
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

/// `--help` and `--version` print, checked as every other write to stdout (a full disk is an
/// error, a closed pipe is not); a usage error is one `error:` line, as every other error.
fn parse_failure(error: &clap::Error, out: Output) -> ExitCode {
    let code = u8::try_from(error.exit_code()).unwrap_or(2);
    if !matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        match error.kind() {
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = error.print();
            }
            _ => out.status(format_args!("error: {}", cli::usage_line(error))),
        }
        return ExitCode::from(code);
    }
    match error.print() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            out.status(format_args!("error: {}", error::Error::Output(e)));
            ExitCode::FAILURE
        }
    }
}
