//! `kubectl irsa version` and `kubectl irsa completion`.

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::Result;
use crate::output::Output;

/// Version, commit and build target, on one line.
pub fn describe(out: Output) -> Result<ExitCode> {
    out.line(format_args!(
        "kubectl-irsa {} (commit {}, {})",
        env!("CARGO_PKG_VERSION"),
        env!("IRSA_COMMIT"),
        env!("IRSA_TARGET")
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The completion script for `shell`, for the `kubectl-irsa` binary.
pub fn completion(shell: clap_complete::Shell, out: Output) -> Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kubectl-irsa", &mut script);
    out.print(&String::from_utf8_lossy(&script))?;
    Ok(ExitCode::SUCCESS)
}
