//! Launches `moto_server` (moto from PyPI, installed by `tests/setup-venv`) on 127.0.0.1: a
//! local STS and IAM speaking the real protocols. moto accepts any web identity token; tests
//! needing a rejection use [`crate::fake_sts::FakeSts`].

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long [`Moto::start`] waits for the server to answer.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The Python virtual environment holding moto, awscli and boto3: `$IRSA_TEST_VENV` when set,
/// else `target/test-venv` under the workspace root.
pub fn venv_dir() -> PathBuf {
    match std::env::var_os("IRSA_TEST_VENV") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("target")
            .join("test-venv"),
    }
}

/// The path of an executable in the venv's `bin` (`moto_server`, `aws`, `python`, ...).
///
/// # Panics
///
/// With one line telling how to create the venv, when the executable is missing.
pub fn venv_bin(name: &str) -> PathBuf {
    let path = venv_dir().join("bin").join(name);
    if !path.is_file() {
        panic!(
            "moto is not installed: run tests/setup-venv (it creates {} with moto[server], \
             awscli and boto3)",
            venv_dir().display()
        );
    }
    path
}

/// A running `moto_server`, killed when dropped.
pub struct Moto {
    child: Child,
    port: u16,
    log_path: PathBuf,
    _log_dir: tempfile::TempDir,
}

impl Moto {
    /// Starts `moto_server -H 127.0.0.1 -p PORT` on a free port and waits (at most 30 s) until
    /// it answers HTTP. Its output goes to a log file ([`Moto::log_path`]).
    ///
    /// # Panics
    ///
    /// When the venv is missing (with setup instructions), or the server exits or does not
    /// answer in time (with the end of its log).
    pub fn start() -> Self {
        let server = venv_bin("moto_server");
        let mut last_log = String::new();
        // A port picked free can be taken before moto binds it: try a few.
        for _ in 0..3 {
            let log_dir = tempfile::Builder::new()
                .prefix("moto-")
                .tempdir()
                .expect("create a temporary directory for the moto log");
            let log_path = log_dir.path().join("moto_server.log");
            let log = File::create(&log_path).expect("create the moto log");
            let port = free_port();
            let child = Command::new(&server)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("PYTHONUNBUFFERED", "1")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone the log handle"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|error| panic!("cannot run {}: {error}", server.display()));
            let mut moto = Self {
                child,
                port,
                log_path,
                _log_dir: log_dir,
            };
            match moto.wait_until_serving() {
                Ok(()) => return moto,
                Err(Exited) => last_log = moto.log(),
                Err(TimedOut) => panic!(
                    "moto_server did not answer on port {port} within {STARTUP_TIMEOUT:?}; its \
                     log:\n{}",
                    moto.log()
                ),
            }
        }
        panic!("moto_server exited before serving, three times; its last log:\n{last_log}");
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port moto listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where moto's stdout and stderr go.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The log so far (empty when unreadable).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    fn wait_until_serving(&mut self) -> Result<(), StartFailure> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return Err(Exited);
            }
            if answers_http(SocketAddr::from(([127, 0, 0, 1], self.port))) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(TimedOut)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum StartFailure {
    Exited,
    TimedOut,
}
use StartFailure::{Exited, TimedOut};

/// A port that was free on 127.0.0.1 a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("find a free port on 127.0.0.1")
        .port()
}

/// Whether an HTTP GET of `/moto-api/` gets any HTTP status line back.
fn answers_http(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = "GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}
