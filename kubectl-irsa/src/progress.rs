//! Progress while waiting: a spinner on a terminal, plain lines otherwise (CI logs, pipes).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::output::Output;

pub struct Progress {
    shown: Shown,
    out: Output,
}

enum Shown {
    Spinner(ProgressBar),
    /// The last line printed, so that only changes are printed.
    Lines(Mutex<String>),
}

impl Progress {
    pub fn start(message: &str, out: Output) -> Self {
        Progress {
            shown: Shown::start(message, out),
            out,
        }
    }

    pub fn update(&self, message: &str) {
        match &self.shown {
            Shown::Spinner(spinner) => spinner.set_message(message.to_string()),
            Shown::Lines(last) => {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                if *last != message {
                    self.out.status(message);
                    *last = message.to_string();
                }
            }
        }
    }

    /// Prints a line on stdout without tearing the spinner.
    pub fn println(&self, line: &str) -> std::io::Result<()> {
        match &self.shown {
            Shown::Spinner(spinner) => spinner.suspend(|| self.out.line(line)),
            Shown::Lines(_) => self.out.line(line),
        }
    }

    pub fn finish(&self) {
        if let Shown::Spinner(spinner) = &self.shown {
            spinner.finish_and_clear();
        }
    }
}

impl Shown {
    fn start(message: &str, out: Output) -> Self {
        if std::io::stderr().is_terminal() {
            let spinner = ProgressBar::new_spinner();
            spinner.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            spinner.enable_steady_tick(Duration::from_millis(120));
            spinner.set_message(message.to_string());
            Shown::Spinner(spinner)
        } else {
            out.status(message);
            Shown::Lines(Mutex::new(message.to_string()))
        }
    }
}
