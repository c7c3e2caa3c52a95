//! The command line's shape: clap's own consistency checks, each verb's flags, and the
//! `Examples:` of every help page, each of which must parse.

use clap::CommandFactory;

use super::*;

#[test]
fn cli_is_well_formed() {
    Cli::command().debug_assert();
}

/// Every (sub)command, with its path from the top, such as `kubectl irsa oidc keygen`.
fn commands() -> Vec<(String, clap::Command)> {
    fn walk(path: String, command: clap::Command, found: &mut Vec<(String, clap::Command)>) {
        let shown = command
            .get_subcommands()
            .filter(|c| !c.is_hide_set() && c.get_name() != "help");
        for sub in shown {
            walk(format!("{path} {}", sub.get_name()), sub.clone(), found);
        }
        found.push((path, command));
    }
    let mut found = Vec::new();
    let mut top = Cli::command();
    top.build();
    walk("kubectl irsa".into(), top, &mut found);
    found
}

/// Shell words, for examples: single and double quotes, no expansions.
fn words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quote, mut in_word) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => (quote, in_word) = (Some(c), true),
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                }
                in_word = false;
            }
            (None, c) => (word.push(c), in_word = true).1,
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[test]
fn every_help_ends_with_examples_that_parse() {
    let mut parsed = 0;
    for (path, mut command) in commands() {
        let help = command.render_long_help().to_string();
        let (_, examples) = help
            .split_once("\nExamples:\n")
            .unwrap_or_else(|| panic!("`{path} --help` has no Examples: section:\n{help}"));
        let lines: Vec<&str> = examples
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .filter_map(|line| line.find("kubectl irsa ").map(|start| &line[start..]))
            .collect();
        assert!(!lines.is_empty(), "`{path}` shows no kubectl irsa example");
        for line in lines {
            // The command ends where a pipe, a redirection or a substitution does.
            let command_line = line.split(['|', '>', ')']).next().unwrap_or(line);
            let mut argv = words(command_line);
            argv.splice(0..2, ["kubectl irsa".to_string()]);
            if let Err(error) = Cli::try_parse_from(&argv) {
                panic!("example of `{path}` does not parse: {line}\n{error}");
            }
            parsed += 1;
        }
    }
    assert!(parsed >= 30, "only {parsed} examples");
}

#[test]
fn cluster_flags_only_where_a_cluster_is_used() {
    for (path, command) in commands() {
        let has_namespace = command
            .get_arguments()
            .any(|a| a.get_long() == Some("namespace"));
        let offline = [
            "kubectl irsa",
            "kubectl irsa version",
            "kubectl irsa completion",
            "kubectl irsa oidc",
            "kubectl irsa oidc keygen",
            "kubectl irsa oidc thumbprint",
            "kubectl irsa oidc provider",
            // These two read the cluster only for its control plane's flags: no namespace.
            "kubectl irsa oidc apiserver-config",
            "kubectl irsa oidc setup",
        ];
        assert_eq!(
            has_namespace,
            !offline.contains(&path.as_str()),
            "{path}: -n/--namespace shown: {has_namespace}"
        );
    }
}

#[test]
fn bad_values_are_usage_errors_naming_the_flag() {
    let error = |args: &[&str]| {
        let mut argv = vec!["kubectl irsa"];
        argv.extend(args);
        Cli::try_parse_from(argv).unwrap_err()
    };
    for (args, flag) in [
        (
            &["list", "--request-timeout", "soon"][..],
            "--request-timeout",
        ),
        (&["test", "cart", "--timeout", "0"][..], "--timeout"),
        (
            &[
                "bind",
                "Cart",
                "--role-arn",
                "arn:aws:iam::123456789012:role/a",
            ][..],
            "SERVICEACCOUNT",
        ),
        (
            &["whoami", "cart", "--role-arn", "arn:aws:iam::1234:role/a"][..],
            "--role-arn",
        ),
        (
            &[
                "trust-policy",
                "--service-account",
                "cart",
                "--account",
                "123456789012",
            ][..],
            "--service-account",
        ),
        (
            &[
                "bind",
                "cart",
                "--role-name",
                "a",
                "--account",
                "12",
                "--partition",
                "aws",
            ][..],
            "--account",
        ),
        (
            &[
                "trust-policy",
                "--service-account",
                "a:b",
                "--account",
                "123456789012",
                "--partition",
                "mars",
            ][..],
            "--partition",
        ),
        (
            &["oidc", "provider", "--issuer", "http://oidc.example.com"][..],
            "--issuer",
        ),
        (&["list", "-n", "Shop"][..], "--namespace"),
    ] {
        let error = error(args);
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::ValueValidation,
            "{args:?}"
        );
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains(flag), "{args:?}: {error}");
    }
}

#[test]
fn completion_lists_the_shells_it_accepts() {
    let mut command = Cli::command();
    let help = command
        .find_subcommand_mut("completion")
        .unwrap()
        .render_help()
        .to_string();
    for shell in ["bash", "elvish", "fish", "powershell", "zsh"] {
        assert!(help.contains(shell), "{shell} missing from:\n{help}");
    }
}
