//! The helper's image (irsa-credential-process/Dockerfile, target `prebuilt`), built with buildah
//! from the static helper and run with podman as a numeric non-root user on a read-only root,
//! with the moto STS on the host network. Needs the static build and podman/buildah as root, so
//! it is ignored by a plain `cargo test`; `tests/run` installs them (apt) and runs this:
//!
//!     cargo static-helper
//!     cargo test -p irsa-credential-process --test image -- --ignored
//!
//! Each test keeps its images in a private storage root under a temporary directory, removed
//! at the end: nothing is pulled, and nothing is left in the machine's container storage.

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{ROLE_ARN, Run, SUBJECT, token};
use tests::{Moto, venv_bin};

const TAG: &str = "localhost/irsa-credential-process:test";
const USER: &str = "65532:65532";
/// Where the EKS pod identity webhook projects the token.
const TOKEN: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";

/// The static helper tests/lib.sh builds (`cargo static-helper`), or IRSA_STATIC_HELPER.
fn static_helper() -> PathBuf {
    std::env::var_os("IRSA_STATIC_HELPER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../target/x86_64-unknown-linux-gnu/release/irsa-credential-process")
        })
}

/// Why this machine cannot run the test, if it cannot.
fn unavailable() -> Option<String> {
    for tool in ["podman", "buildah", "runc"] {
        if !on_path(tool) {
            return Some(format!(
                "{tool} is not installed (apt-get install podman buildah runc; tests/run does)"
            ));
        }
    }
    if !rustix::process::geteuid().is_root() {
        return Some("podman and buildah run here as root only".into());
    }
    let helper = static_helper();
    (!helper.exists())
        .then(|| format!("{} is missing: run `cargo static-helper`", helper.display()))
}

fn on_path(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
}

/// Returns the engine, or prints why the test is skipped. tests/run sets IRSA_REQUIRE_IMAGE
/// once it has installed podman, so there a missing piece fails instead.
fn engine() -> Option<Engine> {
    match unavailable() {
        None => Some(Engine::with_image()),
        Some(reason) if std::env::var_os("IRSA_REQUIRE_IMAGE").is_some() => panic!("{reason}"),
        Some(reason) => {
            eprintln!("skipped: {reason}");
            None
        }
    }
}

/// buildah and podman with the settings that work on this machine (DESIGN.md, Containers) and a
/// storage root of their own.
struct Engine {
    dir: tempfile::TempDir,
}

impl Engine {
    fn with_image() -> Engine {
        let engine = Engine {
            dir: tempfile::tempdir().unwrap(),
        };
        let conf = engine.dir.path().join("containers.conf");
        fs::write(&conf, "[containers]\ndefault_ulimits = []\n").unwrap();
        // The build context holds the binary alone, under the name release CI gives it.
        let context = engine.dir.path().join("context");
        fs::create_dir(&context).unwrap();
        fs::copy(
            static_helper(),
            context.join("irsa-credential-process-linux-amd64"),
        )
        .unwrap();
        let dockerfile = Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile");
        let mut bud = engine.command("buildah");
        bud.args(["bud", "--isolation", "chroot", "--quiet", "--target"])
            .args(["prebuilt", "--build-arg"])
            .args([
                "HELPER=irsa-credential-process-linux-amd64",
                "-t",
                TAG,
                "-f",
            ])
            .arg(dockerfile)
            .arg(&context);
        engine.ok(bud);
        engine
    }

    fn command(&self, program: &str) -> Command {
        let dir = self.dir.path();
        let mut command = Command::new(program);
        command
            .env("CONTAINERS_CONF", dir.join("containers.conf"))
            .arg("--root")
            .arg(dir.join("root"))
            .arg("--runroot")
            .arg(dir.join("run"))
            .args(["--storage-driver", "vfs"]);
        if program == "podman" {
            command
                .args(["--runtime", "runc", "--cgroup-manager", "cgroupfs"])
                .arg("--tmpdir")
                .arg(dir.join("tmp"));
        }
        command
    }

    /// `podman run` of the image as the pods run it: the numeric user, a read-only root, the
    /// host network (where moto listens), the token mounted read-only.
    /// `options` go to `podman run`, before the image.
    fn run(&self, token: &Path, options: &[&str]) -> Command {
        let mut run = self.command("podman");
        run.args(["run", "--rm", "--network", "host", "--ulimit", "host"])
            .args(["--read-only", "--user", USER, "-v"])
            .arg(format!("{}:{TOKEN}:ro", token.display()))
            .args(["-e", &format!("AWS_ROLE_ARN={ROLE_ARN}")])
            .args(["-e", &format!("AWS_WEB_IDENTITY_TOKEN_FILE={TOKEN}")]);
        run.args(options).arg(TAG);
        run
    }

    fn ok(&self, command: Command) -> Run {
        let run = tests::run::run(command);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        run
    }

    /// The token file a pod would have, readable by the image's user.
    fn token(&self) -> PathBuf {
        let path = self.dir.path().join("token");
        fs::write(&path, token(SUBJECT, 3600)).unwrap();
        path
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Containers and images go with the storage root; removing them first lets podman
        // release what it holds under the run root.
        let _ = self.command("podman").args(["rm", "-af"]).output();
        let _ = self.command("podman").args(["rmi", "-af"]).output();
    }
}

#[test]
#[ignore = "needs podman, buildah and the static build; tests/run installs and runs them"]
fn the_image_holds_the_static_helper_alone_run_as_65532() {
    let Some(engine) = engine() else { return };
    let oci = engine.dir.path().join("oci");
    let mut save = engine.command("podman");
    save.args(["save", "--format", "oci-dir", "-o"])
        .arg(&oci)
        .arg(TAG);
    engine.ok(save);
    let files = layer_files(&oci);
    let size = fs::metadata(static_helper()).unwrap().len();
    assert_eq!(
        files,
        [format!("-rwxr-xr-x 0/0 {size} irsa-credential-process")]
    );

    let mut inspect = engine.command("podman");
    inspect
        .args(["image", "inspect", TAG, "--format"])
        .arg("{{.Size}} {{.Config.User}} {{json .Config.Entrypoint}} {{.Os}}/{{.Architecture}}");
    let described = engine.ok(inspect).stdout;
    let image_size: u64 = described.split(' ').next().unwrap().parse().unwrap();
    assert_eq!(
        described,
        format!("{image_size} {USER} [\"/irsa-credential-process\"] linux/amd64\n")
    );
    assert!(image_size <= 6_000_000, "{image_size} bytes");
    eprintln!("image: {image_size} bytes (the helper: {size} bytes)");
}

/// Every entry of every layer of the saved OCI image, as `tar -tv` lists it (mode, owner, size,
/// path; the date dropped).
fn layer_files(oci: &Path) -> Vec<String> {
    let index: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(oci.join("index.json")).unwrap()).unwrap();
    let blob = |digest: &serde_json::Value| {
        let digest = digest.as_str().unwrap().strip_prefix("sha256:").unwrap();
        oci.join("blobs/sha256").join(digest)
    };
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(blob(&index["manifests"][0]["digest"])).unwrap())
            .unwrap();
    let mut files = Vec::new();
    for layer in manifest["layers"].as_array().unwrap() {
        let mut tar = Command::new("tar");
        tar.arg("-tvf").arg(blob(&layer["digest"]));
        let listing = tests::run::run(tar);
        assert_eq!(listing.code, 0, "{}", listing.stderr);
        for line in listing.stdout.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            files.push(format!(
                "{} {} {} {}",
                words[0], words[1], words[2], words[5]
            ));
        }
    }
    files
}

/// The aws CLI on the host, with no credentials but what `env` leads it to.
fn aws_cli(moto: &Moto, home: &Path, env: &[(&str, String)]) -> Command {
    let mut aws = Command::new(venv_bin("aws"));
    aws.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
        .env("AWS_DEFAULT_REGION", "us-west-2")
        .env("AWS_ENDPOINT_URL", moto.url())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["sts", "get-caller-identity", "--output", "json"]);
    aws
}

fn assert_assumed_cart(run: &Run) {
    assert_eq!(run.code, 0, "{}", run.stderr);
    let identity: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(identity["Account"], "123456789012");
    let arn = identity["Arn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:sts::123456789012:assumed-role/cart/"),
        "{arn}"
    );
}

/// `command` as one line of an AWS config (botocore splits it as a shell would, without one).
fn command_line(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| {
            let word = word.to_str().unwrap();
            assert!(!word.contains([' ', '"', '\'']), "{word}");
            word.to_string()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
#[ignore = "needs podman, buildah and the static build; tests/run installs and runs them"]
fn runs_read_only_as_the_aws_clis_credential_process() {
    let Some(engine) = engine() else { return };
    let moto = Moto::start();
    let token = engine.token();

    // Alone: the JSON credential_process prints, and one warning (no writable cache directory
    // on a read-only root with no HOME, so every call goes to STS).
    let mut alone = engine.run(&token, &[]);
    alone.args(["--endpoint-url", &moto.url()]);
    let run = engine.ok(alone);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["Version"], 1);
    assert_eq!(json["AccountId"], "123456789012");
    assert!(
        json["AccessKeyId"].as_str().unwrap().starts_with("ASIA"),
        "{json}"
    );
    assert_eq!(
        run.stderr,
        "irsa-credential-process: warning: cannot use cache directory /.cache/irsa-credential-process: \
         Read-only file system (os error 30); calling STS without a cache (set --cache-dir or \
         IRSA_CACHE_DIR to a writable directory, or --no-cache)\n"
    );

    // As the credential_process of the aws CLI on the host.
    let mut process = engine.run(&token, &[]);
    process.args(["--endpoint-url", &moto.url(), "--no-cache"]);
    let home = engine.dir.path();
    let config = home.join("aws-config");
    fs::write(
        &config,
        format!(
            "[default]\ncredential_process = {}\n",
            command_line(&process)
        ),
    )
    .unwrap();
    let conf = home.join("containers.conf").display().to_string();
    let env = [
        ("AWS_CONFIG_FILE", config.display().to_string()),
        ("CONTAINERS_CONF", conf),
    ];
    assert_assumed_cart(&tests::run::run(aws_cli(&moto, home, &env)));
}

/// A `serve` container on the host network; removed (with `podman rm -f`) when dropped.
struct Served<'a> {
    engine: &'a Engine,
    child: Child,
    url: String,
}

impl Drop for Served<'_> {
    fn drop(&mut self) {
        let _ = self
            .engine
            .command("podman")
            .args(["rm", "-f", "irsa-serve"])
            .output();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve --port 0` writing its auth token into `auth` (mounted at /var/run/irsa), and
/// reads the URL from its first line.
fn serve<'a>(engine: &'a Engine, moto: &Moto, auth: &Path) -> Served<'a> {
    let volume = format!("{}:/var/run/irsa", auth.display());
    let mut run = engine.run(&engine.token(), &["-v", &volume, "--name", "irsa-serve"]);
    run.args([
        "serve",
        "--port",
        "0",
        "--auth-token-file",
        "/var/run/irsa/auth-token",
    ])
    .args(["--endpoint-url", &moto.url()])
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    let mut child = run.spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("export AWS_CONTAINER_CREDENTIALS_FULL_URI=")
        .unwrap_or_else(|| panic!("{first:?}"))
        .trim_matches('\'')
        .to_string();
    Served { engine, child, url }
}

#[test]
#[ignore = "needs podman, buildah and the static build; tests/run installs and runs them"]
fn serves_the_aws_cli_and_answers_its_probe() {
    let Some(engine) = engine() else { return };
    let moto = Moto::start();
    let auth = engine.dir.path().join("irsa");
    fs::create_dir(&auth).unwrap();
    std::os::unix::fs::chown(&auth, Some(65532), Some(65532)).unwrap();
    let served = serve(&engine, &moto, &auth);

    // The sidecar's startupProbe, as `kubectl irsa inject --serve` writes it, in a second
    // container sharing the token's volume.
    let port = served
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    let volume = format!("{}:/var/run/irsa:ro", auth.display());
    let mut probe = engine.run(&engine.token(), &["-v", &volume]);
    probe.args([
        "probe",
        "--port",
        port,
        "--auth-token-file",
        "/var/run/irsa/auth-token",
    ]);
    let probed = engine.ok(probe);
    assert_eq!((probed.stdout.as_str(), probed.stderr.as_str()), ("", ""));

    let token_file = auth.join("auth-token").display().to_string();
    let env = [
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", served.url.clone()),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_file),
    ];
    assert_assumed_cart(&tests::run::run(aws_cli(&moto, engine.dir.path(), &env)));
}
