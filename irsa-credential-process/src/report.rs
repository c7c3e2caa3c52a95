//! Messages on stderr, one line each; stdout carries only the credentials or the env lines.

/// Prints notes (with `--verbose`) and warnings. Never given a secret.
#[derive(Clone, Copy, Debug)]
pub struct Reporter {
    pub verbose: bool,
}

impl Reporter {
    /// Said only with `--verbose`.
    pub fn info(&self, message: &str) {
        if self.verbose {
            eprintln!("irsa-credential-process: {message}");
        }
    }

    /// Always said: what a long-running mode does (listening, refreshed), once per event.
    pub fn note(&self, message: &str) {
        eprintln!("irsa-credential-process: {message}");
    }

    pub fn warn(&self, message: &str) {
        eprintln!("irsa-credential-process: warning: {message}");
    }
}
