//! Failing before the cluster answers: an unreachable server, a kubeconfig that is missing,
//! broken or a FIFO, an exec credential plugin that is missing, fails, prints garbage, prints
//! without end or hangs. Each is one error line naming the server, file or command and what
//! happened, worded as kubectl words it ("The connection to the server ... was refused - did you
//! specify the right host or port?"; client-go's "getting credentials: exec: executable %s not
//! found"), and the plugin runs once and within its deadline.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tests::Run;
use tests::hostile_kube::{HostileKube, Reply, Route, kubeconfig};

/// The plugin with `args` and only `KUBECONFIG` (when given) in its environment.
fn plugin(kubeconfig: Option<&Path>, args: &[&str]) -> (Run, Duration) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kubectl-irsa"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent-home")
        .args(args)
        .stdin(Stdio::null());
    if let Some(path) = kubeconfig {
        command.env("KUBECONFIG", path);
    }
    let started = Instant::now();
    let output = command.output().unwrap();
    (Run::from(output), started.elapsed())
}

/// A kubeconfig in `dir` for `server` and a user of `user_yaml`.
fn write_kubeconfig(dir: &Path, server: &str, user_yaml: &str) -> PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(&path, kubeconfig(server, user_yaml)).unwrap();
    path
}

/// An executable shell script `name` in `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A user whose credential comes from `command`.
fn exec_user(command: &Path) -> String {
    format!(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
        command.display()
    )
}

#[test]
fn a_refused_connection_names_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_kubeconfig(dir.path(), "https://127.0.0.1:1", "    token: x\n");
    let (run, _) = plugin(Some(&config), &["list", "-n", "shop"]);
    run.fails(1, "");
    assert_eq!(
        run.error_lines(),
        [
            "error: cannot list serviceaccounts in namespace shop: the connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?"
        ]
    );
}

#[test]
fn an_unknown_host_is_named() {
    let dir = tempfile::tempdir().unwrap();
    // .invalid never resolves (RFC 6761).
    let config = write_kubeconfig(
        dir.path(),
        "https://api.cluster.invalid:6443",
        "    token: x\n",
    );
    let (run, _) = plugin(Some(&config), &["list", "-n", "shop"]);
    run.fails(1, "");
    assert_eq!(
        run.error_lines(),
        [
            "error: cannot list serviceaccounts in namespace shop: unable to connect to the server api.cluster.invalid:6443: no such host (check the server of the kubeconfig's cluster)"
        ]
    );
}

#[test]
fn a_missing_kubeconfig_is_named_once() {
    let (run, _) = plugin(Some(Path::new("/nonexistent")), &["list"]);
    run.fails(2, "");
    assert_eq!(
        run.error_lines(),
        [
            "error: cannot find a kubeconfig: KUBECONFIG names only missing files (/nonexistent); set KUBECONFIG or pass --kubeconfig"
        ]
    );
    let (run, _) = plugin(None, &["list", "--kubeconfig", "/nonexistent"]);
    assert_eq!(
        run.error_lines(),
        ["error: cannot read --kubeconfig /nonexistent: No such file or directory (os error 2)"]
    );
}

#[test]
fn a_malformed_kubeconfig_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(&config, "apiVersion: v1\nclusters: [\n  - a: b:\n").unwrap();
    let (run, _) = plugin(Some(&config), &["list"]);
    run.fails(2, "");
    assert_eq!(
        run.error_lines(),
        [format!(
            "error: cannot read {} (named by KUBECONFIG): not a kubeconfig: line 3 column 3: \"-\" is only valid inside a block",
            config.display()
        )]
    );
}

#[test]
fn a_fifo_as_kubeconfig_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("config");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let (run, took) = plugin(None, &["list", "--kubeconfig", fifo.to_str().unwrap()]);
    run.fails(2, "");
    assert_eq!(
        run.error_lines(),
        [format!(
            "error: cannot read --kubeconfig {}: is a FIFO, not a regular file",
            fifo.display()
        )]
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn a_missing_exec_plugin_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("aws-iam-authenticator");
    let config = write_kubeconfig(dir.path(), "https://127.0.0.1:1", &exec_user(&missing));
    let (run, _) = plugin(Some(&config), &["list"]);
    run.fails(1, "");
    assert_eq!(
        run.error_lines(),
        [format!(
            "error: getting credentials: exec: executable {} not found (install it, or fix users[].user.exec.command in the kubeconfig)",
            missing.display()
        )]
    );
}

#[test]
fn a_failing_exec_plugin_speaks_for_itself_then_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let failing = script(
        dir.path(),
        "login",
        "echo 'login: the SSO session expired' >&2\nexit 3",
    );
    let config = write_kubeconfig(dir.path(), "https://127.0.0.1:1", &exec_user(&failing));
    let (run, _) = plugin(Some(&config), &["list"]);
    run.fails(1, "");
    assert_eq!(
        run.stderr,
        format!(
            "login: the SSO session expired\nerror: getting credentials: exec: executable {} failed with exit code 3 (its messages are above; run it yourself to see why)\n",
            failing.display()
        )
    );
}

#[test]
fn garbage_from_an_exec_plugin_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = script(
        dir.path(),
        "login",
        "printf 'Welcome!\\n\\n{\\n  not json\\n'",
    );
    let config = write_kubeconfig(dir.path(), "https://127.0.0.1:1", &exec_user(&garbage));
    let (run, _) = plugin(Some(&config), &["list"]);
    run.fails(1, "");
    assert_eq!(
        run.error_lines(),
        [format!(
            "error: getting credentials: exec: decoding the output of {}: expected value at line 1 column 1 (an ExecCredential is JSON with status.token, or status.clientCertificateData and clientKeyData)",
            garbage.display()
        )]
    );
}

#[test]
fn endless_output_from_an_exec_plugin_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let endless = script(dir.path(), "login", "exec yes");
    let config = write_kubeconfig(dir.path(), "https://127.0.0.1:1", &exec_user(&endless));
    let (run, _) = plugin(Some(&config), &["list"]);
    run.fails(1, "");
    assert_eq!(
        run.error_lines(),
        [format!(
            "error: getting credentials: exec: the output of {} is larger than 1 MiB: it is not an ExecCredential",
            endless.display()
        )]
    );
}

#[test]
fn a_hanging_exec_plugin_ends_at_the_request_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let hanging = script(dir.path(), "login", "exec sleep 100");
    let config = write_kubeconfig(dir.path(), "https://127.0.0.1:1", &exec_user(&hanging));
    let (run, took) = plugin(Some(&config), &["list", "--request-timeout", "2s"]);
    run.fails(1, "");
    assert_eq!(
        run.error_lines(),
        [format!(
            "error: getting credentials: exec: executable {} did not finish within 2s (--request-timeout)",
            hanging.display()
        )]
    );
    assert!(took < Duration::from_secs(6), "{took:?}");
}

#[test]
fn a_working_exec_plugin_runs_once_and_its_token_is_sent() {
    let list = r#"{"kind":"ServiceAccountList","apiVersion":"v1","metadata":{},"items":[]}"#;
    let server = HostileKube::start(vec![Route::new(
        "GET",
        "/api/v1/namespaces/shop/serviceaccounts",
        Reply::Json(200, list.into()),
    )]);
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let credential = r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-the-plugin"}}"#;
    let login = script(
        dir.path(),
        "login",
        &format!(
            "echo ran >> {runs}\ncase \"$KUBERNETES_EXEC_INFO\" in *'\"interactive\":false'*) ;; *) exit 9;; esac\necho '{credential}'",
            runs = runs.display()
        ),
    );
    let config = write_kubeconfig(dir.path(), &server.url(), &exec_user(&login));
    let (run, _) = plugin(Some(&config), &["list", "-n", "shop"]);
    run.ok();
    assert_eq!(std::fs::read_to_string(&runs).unwrap(), "ran\n");
    let sent = server.authorizations();
    assert!(!sent.is_empty());
    assert!(
        sent.iter().all(|header| header == "Bearer from-the-plugin"),
        "{sent:?}"
    );
}

#[test]
fn a_server_certificate_the_kubeconfig_does_not_trust_is_named() {
    let tls = tests::tls::ServerTls::generate(&["api.test"]);
    let handler: tests::server::Handler = std::sync::Arc::new(|_| {
        Box::pin(async { tests::server::plain_response(hyper::StatusCode::OK, "{}") })
    });
    let server = tests::server::BackgroundServer::start(handler, Some(tls.config.clone()));
    let dir = tempfile::tempdir().unwrap();
    let config = write_kubeconfig(dir.path(), &server.url(), "    token: x\n");
    let (run, _) = plugin(Some(&config), &["list", "-n", "shop"]);
    run.fails(1, "");
    assert_eq!(
        run.error_lines(),
        [format!(
            "error: cannot list serviceaccounts in namespace shop: unable to connect to the server 127.0.0.1:{}: TLS: invalid peer certificate: UnknownIssuer (check the cluster's certificate-authority in the kubeconfig)",
            server.port()
        )]
    );
}

#[test]
fn missing_files_of_kubeconfig_are_skipped_as_kubectl_skips_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_kubeconfig(dir.path(), "https://127.0.0.1:1", "    token: x\n");
    let list = format!("/nonexistent:{}", config.display());
    let (run, _) = plugin(Some(Path::new(&list)), &["list", "-n", "shop"]);
    run.fails(1, "");
    assert_eq!(
        run.error_lines(),
        [
            "error: cannot list serviceaccounts in namespace shop: the connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?"
        ]
    );
}

#[test]
fn files_the_kubeconfig_names_are_checked_before_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("ca.crt");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let zero = dir.path().join("token");
    let made = Command::new("mknod")
        .args([zero.to_str().unwrap(), "c", "1", "5"])
        .status()
        .unwrap();
    assert!(made.success(), "mknod (run as root)");
    let config = dir.path().join("kubeconfig");
    let text = kubeconfig(
        "https://127.0.0.1:1",
        &format!("    tokenFile: {}\n", zero.display()),
    )
    .replace(
        "    server: https://127.0.0.1:1\n",
        &format!(
            "    server: https://127.0.0.1:1\n    certificate-authority: {}\n",
            fifo.display()
        ),
    );
    std::fs::write(&config, &text).unwrap();
    let (run, took) = plugin(Some(&config), &["list"]);
    run.fails(2, "");
    assert_eq!(
        run.error_lines(),
        [format!(
            "error: cannot read the certificate-authority {} of cluster c in the kubeconfig: is a FIFO, not a regular file",
            fifo.display()
        )]
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    std::fs::write(
        &config,
        text.replace(
            &format!("    certificate-authority: {}\n", fifo.display()),
            "",
        ),
    )
    .unwrap();
    let (run, _) = plugin(Some(&config), &["list"]);
    run.fails(2, "");
    assert_eq!(
        run.error_lines(),
        [format!(
            "error: cannot read the tokenFile {} of user u in the kubeconfig: is a character device, not a regular file",
            zero.display()
        )]
    );
}
