//! `kubectl irsa`: the kubectl plugin. Its verbs arrive with the issues that build them; today it
//! only answers `--help` and `--version`, so that krew and kubectl can already find it.

use clap::Parser;

/// Bind Kubernetes ServiceAccounts to AWS IAM roles (IRSA), prove and diagnose the binding.
#[derive(Parser)]
#[command(name = "kubectl irsa", bin_name = "kubectl irsa", version)]
struct Cli {}

fn main() {
    Cli::parse();
}
