//! The one writer: everything the plugin prints on stdout goes through [`Output`], which
//! returns the write's `io::Result`, so a closed pipe (`| head`) ends the command through `?`
//! and `main` exits quietly with 0, as ripgrep and fd do. Warnings and notes go to stderr
//! through it too, in one place and one form. Also the output formats and kubectl's table.

mod table;

pub use table::{BoundRow, Layout, PodCounts, render_bound};

use std::fmt::Display;
use std::io::{self, Write};

/// `-o` of commands that print objects, as kubectl's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListFormat {
    #[default]
    Table,
    Wide,
    Json,
    Yaml,
    Name,
}

/// `-o` of commands that print a report (whoami, doctor).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReportFormat {
    #[default]
    Text,
    Json,
}

/// Standard output and standard error. Cheap to share: every write locks the stream.
#[derive(Clone, Copy, Debug, Default)]
pub struct Output;

impl Output {
    /// `text` as it is, flushed.
    pub fn print(&self, text: &str) -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()
    }

    /// `text` and a newline.
    pub fn line(&self, text: impl Display) -> io::Result<()> {
        self.print(&format!("{text}\n"))
    }

    /// A JSON value, pretty, with a newline.
    pub fn json(&self, value: &impl serde::Serialize) -> io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        self.line(text)
    }

    /// `Warning: ...` on stderr, as kubectl warns.
    pub fn warn(&self, text: impl Display) {
        self.status(format_args!("Warning: {text}"));
    }

    /// `Note: ...` on stderr.
    pub fn note(&self, text: impl Display) {
        self.status(format_args!("Note: {text}"));
    }

    /// A line on stderr: progress, and what kubectl also says there ("No resources found").
    /// One line, whatever it quotes (a server's message, a file's content): its controls are
    /// escaped. A closed stderr is not worth failing for.
    pub fn status(&self, text: impl Display) {
        let text = text.to_string();
        let _ = writeln!(io::stderr().lock(), "{}", irsa_sts::text::line(&text));
    }
}
