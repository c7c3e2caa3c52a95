//! `kubectl irsa doctor`: each link of IRSA as a check with a verdict, one line of evidence and,
//! when it is not a pass, the fix. Collect, then compute: [`gather`] fetches everything into an
//! [`evidence::Evidence`] (the only I/O), and [`judge::judge`] turns it into a [`Report`] with the
//! pure checks of [`account`], [`issuer`], [`pods`] and [`trust`]. This module holds the report
//! model and its two renderings (text and `-o json`).

pub mod account;
pub mod evidence;
pub mod gather;
pub mod issuer;
pub mod judge;
pub mod pods;
pub mod public;
pub mod reach;
pub mod trust;
pub mod webhook_flags;

use serde::Serialize;
use serde_json::{Value, json};

/// The version of the `-o json` schema; bumped only on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// A check's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }

    /// The colour of the label: green, yellow, bold red.
    fn style(self) -> console::Style {
        match self {
            Status::Pass => console::Style::new().green(),
            Status::Warn => console::Style::new().yellow(),
            Status::Fail => console::Style::new().red().bold(),
        }
    }
}

/// One link of the chain, judged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    /// One line: what was seen.
    pub evidence: String,
    /// What to run or change; set on WARN and FAIL.
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(name: &'static str, evidence: impl Into<String>) -> Self {
        Check {
            name,
            status: Status::Pass,
            evidence: one_line(evidence.into()),
            fix: None,
        }
    }

    pub fn warn(name: &'static str, evidence: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            status: Status::Warn,
            fix: Some(one_line(fix.into())),
            ..Check::pass(name, evidence)
        }
    }

    pub fn fail(name: &'static str, evidence: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            status: Status::Fail,
            fix: Some(one_line(fix.into())),
            ..Check::pass(name, evidence)
        }
    }
}

/// Newlines from foreign messages would break the one-line layout.
fn one_line(text: String) -> String {
    if text.contains(['\n', '\r']) {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        text
    }
}

/// What a group of checks is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    Cluster,
    ServiceAccount { namespace: String, name: String },
}

/// The checks about one subject, in the order they ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub subject: Subject,
    pub checks: Vec<Check>,
}

/// Every section of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub sections: Vec<Section>,
}

impl Report {
    fn count(&self, status: Status) -> usize {
        self.checks().filter(|c| c.status == status).count()
    }

    fn checks(&self) -> impl Iterator<Item = &Check> {
        self.sections.iter().flat_map(|s| s.checks.iter())
    }

    /// The worst verdict; a report with no checks passes.
    pub fn verdict(&self) -> Status {
        self.checks()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Pass)
    }

    /// `3 passed, 1 warning, 2 failed`.
    pub fn summary(&self) -> String {
        let warnings = self.count(Status::Warn);
        format!(
            "{} passed, {warnings} warning{}, {} failed",
            self.count(Status::Pass),
            if warnings == 1 { "" } else { "s" },
            self.count(Status::Fail),
        )
    }

    /// The readable report, with ANSI colours when `colour`; the summary line is not included.
    pub fn render_text(&self, colour: bool) -> String {
        let paint = |style: console::Style, text: &str| {
            style.force_styling(colour).apply_to(text).to_string()
        };
        let width = self.checks().map(|c| c.name.len()).max().unwrap_or(0);
        let mut out = String::new();
        for section in &self.sections {
            let title = match &section.subject {
                Subject::Cluster => "Cluster".to_string(),
                Subject::ServiceAccount { namespace, name } => {
                    irsa_sts::text::line(&format!("ServiceAccount {namespace}/{name}")).into_owned()
                }
            };
            out.push_str(&paint(console::Style::new().bold(), &title));
            out.push('\n');
            for check in &section.checks {
                out.push_str(&format!(
                    "  {}  {:<width$}  {}\n",
                    paint(check.status.style(), check.status.label()),
                    check.name,
                    irsa_sts::text::line(&check.evidence),
                ));
                if let Some(fix) = &check.fix {
                    let fix = irsa_sts::text::line(fix);
                    let indent = " ".repeat(width + 10);
                    out.push_str(&format!(
                        "{indent}{} {fix}\n",
                        paint(console::Style::new().cyan(), "fix:")
                    ));
                }
            }
        }
        out
    }

    /// The `-o json` document (schema version [`SCHEMA_VERSION`]).
    pub fn to_json(&self) -> Value {
        let sections: Vec<Value> = self
            .sections
            .iter()
            .map(|section| {
                let mut value = match &section.subject {
                    Subject::Cluster => json!({ "subject": "cluster" }),
                    Subject::ServiceAccount { namespace, name } => json!({
                        "subject": "serviceaccount", "namespace": namespace, "name": name,
                    }),
                };
                value["checks"] = json!(section.checks);
                value
            })
            .collect();
        json!({
            "schemaVersion": SCHEMA_VERSION,
            "verdict": self.verdict(),
            "summary": {
                "pass": self.count(Status::Pass),
                "warn": self.count(Status::Warn),
                "fail": self.count(Status::Fail),
            },
            "sections": sections,
        })
    }
}

/// Colour only on a terminal, and never with `NO_COLOR` set to anything non-empty.
pub fn use_colour(is_terminal: bool, no_colour: Option<&str>) -> bool {
    is_terminal && no_colour.is_none_or(str::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            sections: vec![
                Section {
                    subject: Subject::Cluster,
                    checks: vec![Check::pass("issuer", "https://x agrees")],
                },
                Section {
                    subject: Subject::ServiceAccount {
                        namespace: "shop".into(),
                        name: "cart".into(),
                    },
                    checks: vec![
                        Check::warn("audience", "custom", "add it"),
                        Check::fail("role-arn", "missing\nannotation", "kubectl irsa bind"),
                    ],
                },
            ],
        }
    }

    #[test]
    fn text_report_aligns_and_shows_fixes() {
        let text = report().render_text(false);
        assert_eq!(
            text,
            "Cluster\n  PASS  issuer    https://x agrees\n\
             ServiceAccount shop/cart\n  WARN  audience  custom\n                  fix: add it\n\
             \x20 FAIL  role-arn  missing annotation\n                  fix: kubectl irsa bind\n"
        );
        assert!(!text.contains('\x1b'));
        let coloured = report().render_text(true);
        let red_fail = console::Style::new()
            .red()
            .bold()
            .force_styling(true)
            .apply_to("FAIL")
            .to_string();
        assert!(
            red_fail.starts_with('\x1b') && coloured.contains(&red_fail),
            "{coloured:?}"
        );
        assert_eq!(report().summary(), "1 passed, 1 warning, 1 failed");
        assert_eq!(report().verdict(), Status::Fail);
        assert_eq!(Report::default().verdict(), Status::Pass);
    }

    #[test]
    fn json_report_has_a_stable_schema() {
        let json = report().to_json();
        assert_eq!(json["schemaVersion"], 1);
        assert_eq!(json["verdict"], "FAIL");
        assert_eq!(json["summary"], json!({"pass": 1, "warn": 1, "fail": 1}));
        assert_eq!(json["sections"][0]["subject"], "cluster");
        assert_eq!(
            json["sections"][1]["checks"][1],
            json!({"name": "role-arn", "status": "FAIL", "evidence": "missing annotation", "fix": "kubectl irsa bind"})
        );
        assert_eq!(json["sections"][0]["checks"][0]["fix"], Value::Null);
    }

    #[test]
    fn colour_follows_the_terminal_and_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some("")));
        assert!(!use_colour(true, Some("1")));
        assert!(!use_colour(false, None));
    }
}
