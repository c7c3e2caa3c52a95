//! The command line as a user meets it: each mode's help lists only the flags it reads and ends
//! with examples; typed values and flags in the wrong place are usage errors (exit 2) that name
//! the flag, before anything is read or called.

mod common;

use common::{Pod, Run};

/// Nothing listens here: a usage error must come before any network call.
const NOWHERE: &str = "http://127.0.0.1:9";

fn help(args: &[&str]) -> String {
    let run = Pod::new(NOWHERE).run(args);
    run.ok();
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    run.stdout
}

#[test]
fn each_mode_lists_only_the_flags_it_reads() {
    let probe = help(&["probe", "--help"]);
    for absent in [
        "--role-arn",
        "--token-file",
        "--policy",
        "--duration-seconds",
        "--timeout",
        "--format",
    ] {
        assert!(
            !probe.contains(absent),
            "{absent} in probe's help:\n{probe}"
        );
    }
    assert!(probe.contains("--port") && probe.contains("--auth-token-file"));
    for mode in ["serve", "update", "exec"] {
        let text = help(&[mode, "--help"]);
        assert!(!text.contains("--format"), "{mode}:\n{text}");
        assert!(text.contains("--role-arn"), "{mode}:\n{text}");
        assert!(text.contains("--timeout"), "{mode}:\n{text}");
    }
    assert!(help(&["--help"]).contains("--format"));
}

#[test]
fn every_help_ends_with_examples() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["exec", "--help"],
        &["serve", "--help"],
        &["probe", "--help"],
        &["update", "--help"],
    ] {
        let text = help(args);
        let (_, examples) = text
            .rsplit_once("\nExamples:\n")
            .unwrap_or_else(|| panic!("{args:?}: no Examples:\n{text}"));
        assert!(
            examples
                .lines()
                .any(|line| line.starts_with("  irsa-credential-process")),
            "{args:?}: {examples}"
        );
    }
}

/// A usage error: exit 2, one `error:` line that names `flag`, nothing on stdout.
fn usage_error(run: &Run, flag: &str) {
    run.fails(2, flag);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn a_bad_timeout_is_a_usage_error_naming_the_flag() {
    let pod = Pod::new(NOWHERE);
    for args in [
        &["--timeout", "soon"][..],
        &["--timeout", "0"],
        &["serve", "--timeout", "5 parsecs"],
        &["update", "--once", "--timeout", "0s"],
    ] {
        let run = pod.run(args);
        usage_error(&run, "'--timeout <DURATION>'");
        assert!(
            run.stderr.contains("is not a duration") || run.stderr.contains("no time at all"),
            "{}",
            run.stderr
        );
    }
    let run = pod.run(&["--refresh-before", "soon"]);
    usage_error(
        &run,
        "'--refresh-before <DURATION>': \"soon\" is not a duration",
    );
}

#[test]
fn flags_go_after_the_mode() {
    let pod = Pod::new(NOWHERE);
    let run = pod.run(&["--no-cache", "exec", "--", "true"]);
    usage_error(
        &run,
        "the subcommand 'exec' cannot be used with '--no-cache'",
    );
    let run = pod.run(&["--verbose", "serve"]);
    usage_error(
        &run,
        "the subcommand 'serve' cannot be used with '--verbose'",
    );
    // Modes other than the default print nothing as credentials: --format is not theirs.
    let run = pod.run(&["exec", "--format", "env", "--", "true"]);
    usage_error(&run, "unexpected argument '--format'");
    let run = pod.run(&["probe", "--role-arn", "arn:aws:iam::123456789012:role/cart"]);
    usage_error(&run, "unexpected argument '--role-arn'");
}
