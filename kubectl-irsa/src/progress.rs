//! Progress while waiting: a spinner on a terminal, plain lines otherwise (CI logs, pipes).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub enum Progress {
    Spinner(ProgressBar),
    /// The last line printed, so that only changes are printed.
    Lines(Mutex<String>),
}

impl Progress {
    pub fn start(message: &str) -> Self {
        if std::io::stderr().is_terminal() {
            let spinner = ProgressBar::new_spinner();
            spinner.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            spinner.enable_steady_tick(Duration::from_millis(120));
            spinner.set_message(message.to_string());
            Progress::Spinner(spinner)
        } else {
            eprintln!("{message}");
            Progress::Lines(Mutex::new(message.to_string()))
        }
    }

    pub fn update(&self, message: &str) {
        match self {
            Progress::Spinner(spinner) => spinner.set_message(message.to_string()),
            Progress::Lines(last) => {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                if *last != message {
                    eprintln!("{message}");
                    *last = message.to_string();
                }
            }
        }
    }

    /// Prints a line on stdout without tearing the spinner.
    pub fn println(&self, line: &str) {
        match self {
            Progress::Spinner(spinner) => spinner.suspend(|| println!("{line}")),
            Progress::Lines(_) => println!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Progress::Spinner(spinner) = self {
            spinner.finish_and_clear();
        }
    }
}
