//! `serve` and `probe` against hostile peers and files: a token file someone else could have
//! chosen, a short token, a FIFO or a device as the token file, a request naming a foreign
//! `Host` (a DNS-rebinding page in a browser on the same machine); and a FIFO as `--policy`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::serving::Serving;
use common::{Pod, Run};
use rustix::fs::{FileType, Mode};
use tests::FakeSts;

const LONG_TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

fn mknod(path: &Path, kind: FileType, device: u64) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        kind,
        Mode::from_raw_mode(0o666),
        device,
    )
    .unwrap();
}

fn write_token(path: &Path, token: &str, mode: u32) {
    std::fs::write(path, token).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
}

/// serve's failed start with `--auth-token-file path`, which must be at once.
fn refused(pod: &Pod, path: &Path) -> Run {
    let start = Instant::now();
    let run = Serving::start(pod, &["--auth-token-file", path.to_str().unwrap()])
        .err()
        .expect("serve must not start");
    assert!(start.elapsed() < Duration::from_secs(5), "at once");
    run
}

#[test]
fn a_token_file_someone_else_could_choose_is_refused() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let dir = pod.dir.path().to_path_buf();
    let fix = "give --auth-token-file (or AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) another path, where serve writes a random token";

    let writable = dir.join("writable");
    write_token(&writable, LONG_TOKEN, 0o666);
    let others = dir.join("others");
    write_token(&others, LONG_TOKEN, 0o600);
    std::os::unix::fs::chown(&others, Some(65534), Some(65534)).unwrap();
    let short = dir.join("short");
    write_token(&short, "guessable-token", 0o600);
    let fifo = dir.join("fifo");
    mknod(&fifo, FileType::Fifo, 0);
    // What /dev/zero is: character device 1,5, endless.
    let zero = dir.join("zero");
    mknod(&zero, FileType::CharacterDevice, rustix::fs::makedev(1, 5));
    let large = dir.join("large");
    write_token(&large, &"a".repeat(20_000), 0o600);
    let shown = |path: &Path| path.display().to_string();
    let cases = [
        (
            &writable,
            format!(
                "the authorization token file {} is writable by group or others (mode 0666), so they choose the token: chmod go-w {}, or {fix}",
                shown(&writable),
                shown(&writable)
            ),
        ),
        (
            &others,
            format!(
                "the authorization token file {} belongs to uid 65534, neither this user nor root, so that user chooses the token: remove it, or {fix}",
                shown(&others)
            ),
        ),
        (
            &short,
            format!(
                "the authorization token in {} has 15 characters, fewer than 32: it could be guessed; write a longer one (printf %s \"$(openssl rand -hex 32)\" > {}), or {fix}",
                shown(&short),
                shown(&short)
            ),
        ),
        (
            &fifo,
            format!(
                "the authorization token file {} is a FIFO, not a regular file: {fix}",
                shown(&fifo)
            ),
        ),
        (
            &zero,
            format!(
                "the authorization token file {} is a character device, not a regular file: {fix}",
                shown(&zero)
            ),
        ),
        (
            &large,
            format!(
                "the authorization token file {} is larger than 16384 bytes, too large for a token: {fix}",
                shown(&large)
            ),
        ),
    ];
    for (path, message) in &cases {
        let run = refused(&pod, path);
        assert_eq!(
            (run.code, run.stderr.as_str()),
            (
                2,
                format!("irsa-credential-process: error: {message}\n").as_str()
            )
        );
    }
    // The same through the variable SDKs read.
    let mut pod = pod;
    pod.extra_env.push((
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE".into(),
        writable.to_str().unwrap().into(),
    ));
    let run = Serving::start(&pod, &[]).err().expect("refused");
    run.fails(2, "is writable by group or others (mode 0666)");
    assert_eq!(sts.calls(), 0, "refused before STS is called");

    // A Secret's file, root's and 0644 behind the kubelet's symlink, is fine.
    let secret = dir.join("..data");
    std::fs::create_dir(&secret).unwrap();
    write_token(&secret.join("auth-token"), LONG_TOKEN, 0o644);
    let link = dir.join("auth-token");
    std::os::unix::fs::symlink("..data/auth-token", &link).unwrap();
    let server = Serving::start(&pod, &["--auth-token-file", link.to_str().unwrap()])
        .unwrap_or_else(|run| panic!("{}", run.stderr));
    assert_eq!(
        server
            .get(server.url(), &[("Authorization", LONG_TOKEN)])
            .status,
        200
    );
}

#[test]
fn probe_refuses_a_fifo_at_once() {
    let pod = Pod::new("http://127.0.0.1:9");
    let fifo = pod.dir.path().join("fifo");
    mknod(&fifo, FileType::Fifo, 0);
    let start = Instant::now();
    let run = pod.run(&[
        "probe",
        "--port",
        "9",
        "--auth-token-file",
        fifo.to_str().unwrap(),
    ]);
    assert!(start.elapsed() < Duration::from_secs(2), "at once");
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            2,
            format!(
                "irsa-credential-process: error: the authorization token file {} is a FIFO, not a regular file: give --auth-token-file (or AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) another path, where serve writes a random token\n",
                fifo.display()
            )
            .as_str()
        )
    );
}

#[test]
fn a_fifo_or_a_huge_file_as_policy_is_refused_at_once() {
    let pod = Pod::new("http://127.0.0.1:9");
    let fifo = pod.dir.path().join("policy");
    mknod(&fifo, FileType::Fifo, 0);
    let start = Instant::now();
    let run = pod.run(&["--policy", &format!("file://{}", fifo.display())]);
    assert!(start.elapsed() < Duration::from_secs(2), "at once");
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            2,
            format!(
                "irsa-credential-process: error: cannot read --policy file {}: is a FIFO, not a regular file; give a readable JSON file or the JSON itself\n",
                fifo.display()
            )
            .as_str()
        )
    );
    let huge = pod.dir.path().join("huge.json");
    std::fs::write(&huge, format!("[{}0]", "0,".repeat(40_000))).unwrap();
    let run = pod.run(&["--policy", &format!("file://{}", huge.display())]);
    run.fails(
        2,
        &format!(
            "cannot read --policy file {}: is larger than 65536 bytes",
            huge.display()
        ),
    );
}

/// One raw HTTP/1.1 request with exactly the `Host` given: status line and body.
fn raw(port: u16, method: &str, path: &str, host: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Content-Length: 0\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

#[test]
fn only_loopback_hosts_are_answered() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    let server = Serving::start(&pod, &["--imds"]).unwrap_or_else(|run| panic!("{}", run.stderr));
    let port: u16 = server
        .url()
        .trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let token = server.auth_token();
    let auth = [("Authorization", token.as_str())];
    let ttl = [("X-aws-ec2-metadata-token-ttl-seconds", "60")];
    let refused_body = r#"{"code":"InvalidHost","message":"only requests to 127.0.0.1, [::1] or localhost are answered"}"#;
    for host in [
        format!("rebind.example:{port}"),
        "rebind.example".to_string(),
        format!("127.0.0.1.nip.io:{port}"),
        format!("localhost.rebind.example:{port}"),
        format!("10.0.0.1:{port}"),
    ] {
        let credentials = raw(port, "GET", "/v1/credentials", &host, &auth);
        assert_eq!(credentials, (403, refused_body.to_string()), "{host}");
        let imds = raw(port, "PUT", "/latest/api/token", &host, &ttl);
        assert_eq!(imds, (403, refused_body.to_string()), "{host}");
    }
    for host in [
        format!("127.0.0.1:{port}"),
        "127.0.0.1".to_string(),
        format!("127.0.0.2:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        // A port-forward's local port.
        "localhost:8080".to_string(),
    ] {
        let (status, body) = raw(port, "GET", "/v1/credentials", &host, &auth);
        assert_eq!(status, 200, "{host}: {body}");
        assert!(body.contains("AccessKeyId"), "{body}");
        assert_eq!(raw(port, "PUT", "/latest/api/token", &host, &ttl).0, 200);
    }
    // An absolute-form target names the host too.
    let absolute = raw(
        port,
        "GET",
        &format!("http://rebind.example:{port}/v1/credentials"),
        &format!("127.0.0.1:{port}"),
        &auth,
    );
    assert_eq!(absolute.0, 403);
    let run = server.stop();
    assert!(
        run.stderr.contains(&format!(
            "irsa-credential-process: warning: refused GET /v1/credentials: Host \"rebind.example:{port}\" is not a loopback name or address (a web page rebinding its DNS name to this machine?); clients must use 127.0.0.1, [::1] or localhost\n"
        )),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(&token), "the token is never logged");
}

#[test]
fn a_huge_token_or_credentials_file_is_refused_under_a_small_address_space() {
    let sts = FakeSts::start(vec![]);
    let pod = Pod::new(&sts.url());
    // 8 GiB, sparse: reading it whole could never fit in 256 MiB.
    let huge = pod.dir.path().join("huge");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(8 << 30)
        .unwrap();
    let limited = ["prlimit", "--as=268435456", "--"];
    let path = huge.to_str().unwrap();
    let serve = Run::from(
        pod.helper_under(
            &limited,
            &["serve", "--port", "0", "--auth-token-file", path],
        )
        .output()
        .unwrap(),
    );
    serve.fails(2, "is larger than 16384 bytes, too large for a token");
    let update = Run::from(
        pod.helper_under(&limited, &["update", "--once", "--credentials-file", path])
            .output()
            .unwrap(),
    );
    update.fails(1, "it is larger than 4 MiB");
    assert_eq!(
        std::fs::metadata(&huge).unwrap().len(),
        8 << 30,
        "left alone"
    );
}
