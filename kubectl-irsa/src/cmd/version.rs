//! `kubectl irsa version` and `kubectl irsa completion`.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::CliError;

/// Version, commit and build target, on one line.
pub fn describe() -> String {
    format!(
        "kubectl-irsa {} (commit {}, {})",
        env!("CARGO_PKG_VERSION"),
        env!("IRSA_COMMIT"),
        env!("IRSA_TARGET")
    )
}

/// Prints the completion script for `shell`, for the `kubectl-irsa` binary. A reader that stops
/// early (`| head`) is not an error.
pub fn completion(shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kubectl-irsa", &mut script);
    match std::io::stdout().write_all(&script) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::Io(format!(
            "cannot write the completion script: {error}"
        ))),
        _ => Ok(()),
    }
}
