//! Bad input: one clear line naming the input and the fix, a non-zero exit, nothing on stdout,
//! no secret anywhere.

mod common;

use common::{Pod, assert_no_secret_in_stderr};

/// Nothing listens here: bad input must fail before any network call.
const NOWHERE: &str = "http://127.0.0.1:9";

#[test]
fn missing_environment_names_the_variable() {
    let pod = Pod::new(NOWHERE);
    for (variable, expected) in [
        ("AWS_ROLE_ARN", "AWS_ROLE_ARN is not set"),
        (
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE is not set",
        ),
    ] {
        let mut command = pod.helper(&[]);
        command.env_remove(variable);
        let run = common::Run::from(command.output().unwrap());
        assert!(run.failure().contains(expected), "{}", run.stderr);
        assert_eq!(run.code, 2);
    }
}

#[test]
fn invalid_values_name_the_input() {
    let pod = Pod::new(NOWHERE);
    for (args, expected) in [
        (
            &["--session-name", "no spaces allowed"][..],
            "invalid role session name",
        ),
        (
            &["--duration-seconds", "100000"],
            "--duration-seconds 100000 is out of range",
        ),
        (&["--endpoint-url", "ftp://x"], "invalid endpoint URL"),
        (&["--region", "Not A Region"], "invalid region"),
    ] {
        let run = pod.run(args);
        assert!(run.failure().contains(expected), "{args:?}: {}", run.stderr);
        assert_eq!(run.code, 2);
    }
}

#[test]
fn a_bad_role_arn_names_the_flag_or_the_variable() {
    let pod = Pod::new(NOWHERE);
    // The flag is parsed by clap: a usage error that names it.
    let run = pod.run(&["--role-arn", "arn:aws:iam::123:role/x"]);
    run.fails(
        2,
        "invalid value 'arn:aws:iam::123:role/x' for '--role-arn <ARN>': invalid role ARN",
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);

    let mut command = pod.helper(&[]);
    command.env("AWS_ROLE_ARN", "arn:aws:iam::123:role/x");
    let run = common::Run::from(command.output().unwrap());
    assert!(
        run.failure()
            .contains("AWS_ROLE_ARN: invalid role ARN \"arn:aws:iam::123:role/x\""),
        "{}",
        run.stderr
    );
    assert_eq!(run.code, 2);
}

#[test]
fn token_file_problems_are_explained() {
    let pod = Pod::new(NOWHERE);
    std::fs::remove_file(pod.token_file()).unwrap();
    let run = pod.run(&[]);
    let line = run.failure();
    assert!(
        line.contains("cannot read the token file")
            && line.contains("projected ServiceAccount token"),
        "{line}"
    );
    assert_eq!(run.code, 1);

    pod.write_token("  ");
    let run = pod.run(&[]);
    assert!(run.failure().contains("is empty"), "{}", run.stderr);
}

#[test]
fn unreachable_sts_is_explained_without_leaking_the_token() {
    let pod = Pod::new(NOWHERE);
    let run = pod.run(&["--timeout", "5s"]);
    let line = run.failure();
    assert!(
        line.contains("cannot reach STS at http://127.0.0.1:9"),
        "{line}"
    );
    assert_no_secret_in_stderr(&run, &pod);
}

#[test]
fn a_bad_ca_bundle_is_an_error_not_a_crash() {
    let pod = Pod::new(NOWHERE);
    let bundle = pod.dir.path().join("ca.pem");
    std::fs::write(&bundle, "not a certificate").unwrap();
    let run = pod.run(&["--ca-bundle", bundle.to_str().unwrap()]);
    assert!(
        run.failure().contains("holds no usable PEM certificate"),
        "{}",
        run.stderr
    );
}

#[test]
fn verbose_output_never_prints_secrets() {
    let sts = tests::FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let first = pod.run(&["--verbose"]);
    first.credentials();
    assert!(first.stderr.contains("calling STS at"), "{}", first.stderr);
    assert_no_secret_in_stderr(&first, &pod);
    let second = pod.run(&["--verbose"]);
    assert!(second.stderr.contains("cache hit"), "{}", second.stderr);
    assert_no_secret_in_stderr(&second, &pod);
}

/// The token file replaced by `make`; the helper must answer at once, in bounded memory.
fn token_refused(make: &dyn Fn(&std::path::Path), what: &str) {
    let pod = Pod::new(NOWHERE);
    std::fs::remove_file(pod.token_file()).unwrap();
    make(&pod.token_file());
    let started = std::time::Instant::now();
    // 256 MiB of address space: reading /dev/zero to the end would not fit.
    let run = common::Run::from(
        pod.helper_under(&["timeout", "20", "prlimit", "--as=268435456", "--"], &[])
            .output()
            .unwrap(),
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!(
            "irsa-credential-process: error: the token file {} (AWS_WEB_IDENTITY_TOKEN_FILE) {what}: point AWS_WEB_IDENTITY_TOKEN_FILE at the projected ServiceAccount token, a regular file of about 1 KB\n",
            pod.token_file().display()
        )
    );
}

fn shell(command: &str, path: &std::path::Path) {
    let status = std::process::Command::new("sh")
        .args(["-c", command, "sh"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "{command}");
}

#[test]
fn a_token_file_that_is_no_token_is_refused_at_once() {
    token_refused(
        &|p| shell("mkfifo \"$1\"", p),
        "is a FIFO, not a regular file",
    );
    // /dev/zero's numbers, made in the temporary directory (never the real /dev entry);
    // mknod needs root.
    if rustix::process::geteuid().is_root() {
        token_refused(
            &|p| shell("mknod \"$1\" c 1 5", p),
            "is a character device, not a regular file",
        );
    }
    token_refused(
        &|p| shell("truncate -s 1G \"$1\"", p),
        "is larger than 65536 bytes",
    );
    token_refused(
        &|p| std::fs::create_dir(p).unwrap(),
        "is a directory, not a regular file",
    );
}
