//! `kubectl irsa oidc ...`: the self-hosted issuer kit (documents, thumbprint, provider,
//! apiserver-config, keygen).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::cli::KubeFlags;
use crate::cluster;
use crate::error::{CliError, from_kube};
use crate::names;
use crate::oidc::apiserver::{self, ApiserverConfig, Flavor};
use crate::oidc::documents::{self, DISCOVERY_PATH};
use crate::oidc::keys::{self, PublicKey};
use crate::oidc::s3;
use crate::oidc::{provider, shell_quote, tls};

#[derive(Debug, Args)]
pub struct OidcArgs {
    #[command(subcommand)]
    pub command: OidcCommand,
}

#[derive(Debug, Subcommand)]
pub enum OidcCommand {
    /// Write the discovery document and JWKS of an issuer, ready to upload to S3 or any static
    /// host, and print the upload commands.
    Documents(DocumentsArgs),
    /// Print the SHA-1 thumbprint of the top certificate a host serves, as IAM takes it.
    Thumbprint(ThumbprintArgs),
    /// Print the AWS CLI command and Terraform resource that create the IAM OIDC provider.
    Provider(ProviderArgs),
    /// Print the apiserver settings that make a cluster sign tokens for an issuer.
    ApiserverConfig(ApiserverConfigArgs),
    /// Generate an RSA signing key pair in the formats the apiserver flags take.
    Keygen(KeygenArgs),
}

#[derive(Debug, Args)]
pub struct DocumentsArgs {
    /// The directory to write into: it stands for the issuer URL's root.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// The issuer URL (the apiserver's --service-account-issuer), byte for byte.
    #[arg(long, value_name = "URL")]
    pub issuer: String,

    /// A public key file (repeatable, to keep old keys during a rotation): PEM PUBLIC KEY (as
    /// `ssh-keygen -e -m PKCS8` prints), RSA PUBLIC KEY, a certificate or a private key
    /// [default: the cluster's keys, from /openid/v1/jwks].
    #[arg(long = "public-key", value_name = "FILE")]
    pub public_keys: Vec<PathBuf>,

    /// Also list each key with an empty kid, for tokens from apiservers before 1.16.
    #[arg(long)]
    pub legacy_empty_kid: bool,

    /// Where the JWKS goes under the issuer (its jwks_uri and file name).
    #[arg(long, default_value = "keys.json", value_name = "PATH")]
    pub jwks_path: String,
}

#[derive(Debug, Args)]
pub struct ThumbprintArgs {
    /// The issuer URL, or HOST[:PORT]; for a jwks_uri on another host, give that host.
    #[arg(value_name = "URL")]
    pub url: String,

    /// Show every certificate of the served chain, with its subject and SHA-1.
    #[arg(long)]
    pub all: bool,

    /// Give up on the connection after this long.
    #[arg(long, default_value = "15s", value_name = "DURATION")]
    pub timeout: String,
}

#[derive(Debug, Args)]
pub struct ProviderArgs {
    /// The issuer URL, byte for byte as tokens carry it.
    #[arg(long, value_name = "URL")]
    pub issuer: String,

    /// The client ID: the audience of the tokens (repeatable).
    #[arg(
        long = "audience",
        default_value = "sts.amazonaws.com",
        value_name = "AUDIENCE"
    )]
    pub audiences: Vec<String>,

    /// The thumbprint, 40 hex digits (repeatable) [default: computed from the issuer host].
    #[arg(long = "thumbprint", value_name = "HEX")]
    pub thumbprints: Vec<String>,

    /// Give up on the connection for the thumbprint after this long.
    #[arg(long, default_value = "15s", value_name = "DURATION")]
    pub timeout: String,
}

#[derive(Debug, Args)]
pub struct ApiserverConfigArgs {
    /// The issuer URL the cluster will sign tokens for.
    #[arg(long, value_name = "URL")]
    pub issuer: String,

    /// The directory with sa-signer.key and sa-signer.pub (`oidc keygen` writes them).
    #[arg(long, value_name = "DIR")]
    pub key_dir: PathBuf,

    /// What to print.
    #[arg(long, value_enum, default_value = "kube-apiserver")]
    pub flavor: Flavor,

    /// Where the JWKS is under the issuer, as given to `oidc documents`.
    #[arg(long, default_value = "keys.json", value_name = "PATH")]
    pub jwks_path: String,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The directory to write sa-signer.key and sa-signer.pub into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// The RSA key size: 2048, 3072 or 4096.
    #[arg(long, default_value_t = 2048)]
    pub bits: usize,

    /// Replace an existing key pair.
    #[arg(long)]
    pub force: bool,
}

pub async fn run(flags: &KubeFlags, args: &OidcArgs) -> Result<(), CliError> {
    match &args.command {
        OidcCommand::Documents(args) => documents(flags, args).await,
        OidcCommand::Thumbprint(args) => thumbprint(args).await,
        OidcCommand::Provider(args) => provider(args).await,
        OidcCommand::ApiserverConfig(args) => apiserver_config(args),
        OidcCommand::Keygen(args) => keygen(args),
    }
}

fn usage(message: impl ToString) -> CliError {
    CliError::Usage(message.to_string())
}

/// The issuer, refused unless https; a warning for a trailing slash.
fn check_issuer(issuer: &str) -> Result<(), CliError> {
    if let Some(warning) = names::check_issuer(issuer)? {
        eprintln!("Warning: {warning}");
    }
    Ok(())
}

async fn documents(flags: &KubeFlags, args: &DocumentsArgs) -> Result<(), CliError> {
    check_issuer(&args.issuer)?;
    let jwks_path = documents::check_jwks_path(&args.jwks_path).map_err(usage)?;
    check_out_dir(&args.out)?;
    let keys = if args.public_keys.is_empty() {
        cluster_keys(flags).await?
    } else {
        let mut keys: Vec<PublicKey> = Vec::new();
        for path in &args.public_keys {
            let source = format!("--public-key {}", path.display());
            let bytes =
                std::fs::read(path).map_err(|e| usage(format!("cannot read {source}: {e}")))?;
            for key in keys::parse_pem(&bytes, &source).map_err(usage)? {
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        keys
    };
    let jwks_uri = documents::jwks_uri(&args.issuer, jwks_path);
    let discovery = documents::discovery(&args.issuer, &jwks_uri);
    let jwks = documents::jwks(&keys, args.legacy_empty_kid);
    write_files(&[
        (
            args.out.join(DISCOVERY_PATH),
            documents::to_file_text(&discovery),
            0o644,
        ),
        (
            args.out.join(jwks_path),
            documents::to_file_text(&jwks),
            0o644,
        ),
    ])?;

    println!("Wrote {}", args.out.join(DISCOVERY_PATH).display());
    let kids: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
    println!(
        "Wrote {}: {} key{} (kid {}){}",
        args.out.join(jwks_path).display(),
        keys.len(),
        if keys.len() == 1 { "" } else { "s" },
        kids.join(", "),
        if args.legacy_empty_kid {
            ", each also with an empty kid"
        } else {
            ""
        },
    );
    println!();
    for line in s3::publish_instructions(&args.issuer, &args.out, jwks_path) {
        println!("{line}");
    }
    Ok(())
}

/// The keys the cluster publishes at /openid/v1/jwks.
async fn cluster_keys(flags: &KubeFlags) -> Result<Vec<PublicKey>, CliError> {
    const PATH: &str = "/openid/v1/jwks";
    let cluster = cluster::connect(flags).await?;
    let request = http::Request::get(PATH)
        .body(Vec::new())
        .map_err(|e| CliError::Cluster(e.to_string()))?;
    let text = cluster.client.request_text(request).await.map_err(|error| match error {
        kube::Error::Api(status) if status.is_not_found() || status.is_forbidden() => usage(format!(
            "the cluster does not serve {PATH} ({}): pass its public keys with --public-key FILE (the apiserver's --service-account-key-file)",
            status.message
        )),
        other => from_kube(other, "get", PATH),
    })?;
    let source = format!("the cluster's {PATH}");
    let (keys, notes) =
        keys::parse_jwks(&text, &source).map_err(|e| CliError::Cluster(e.to_string()))?;
    for note in notes {
        eprintln!("Note: {note}");
    }
    if keys.is_empty() {
        return Err(CliError::Cluster(format!(
            "{source} lists no keys: pass the public keys with --public-key FILE"
        )));
    }
    Ok(keys)
}

fn parse_timeout(text: &str) -> Result<Duration, CliError> {
    humantime::parse_duration(text.trim())
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| usage(format!("invalid --timeout {text:?}: write it as 15s or 1m")))
}

async fn served_chain(url: &str, timeout: &str) -> Result<(String, Vec<Vec<u8>>), CliError> {
    let timeout = parse_timeout(timeout)?;
    let (host, port) = provider::host_and_port(url).map_err(usage)?;
    let chain = tls::served_chain(&host, port, timeout).await.map_err(|e| {
        CliError::Io(format!(
            "{e} (check the URL and that this machine can reach it)"
        ))
    })?;
    Ok((format!("{host}:{port}"), chain))
}

async fn thumbprint(args: &ThumbprintArgs) -> Result<(), CliError> {
    let (address, chain) = served_chain(&args.url, &args.timeout).await?;
    if !args.all {
        println!("{}", provider::thumbprint(&chain).unwrap_or_default());
        return Ok(());
    }
    let entries = provider::describe_chain(&chain);
    println!(
        "{address} serves {} certificate{}, leaf first:",
        entries.len(),
        if entries.len() == 1 { "" } else { "s" }
    );
    for (index, entry) in entries.iter().enumerate() {
        println!(
            "{index}  {}  {}  (issuer: {})",
            entry.sha1, entry.subject, entry.issuer
        );
    }
    if let Some(top) = entries.last() {
        println!(
            "Thumbprint (the top certificate, {}): {}",
            top.subject, top.sha1
        );
    }
    Ok(())
}

async fn provider(args: &ProviderArgs) -> Result<(), CliError> {
    check_issuer(&args.issuer)?;
    for audience in &args.audiences {
        if audience.is_empty() || audience.len() > 255 || audience.contains(char::is_whitespace) {
            return Err(usage(format!(
                "invalid --audience {audience:?}: give 1 to 255 characters without spaces, such as sts.amazonaws.com"
            )));
        }
    }
    let mut thumbprints = args
        .thumbprints
        .iter()
        .map(|text| provider::normalize_thumbprint(text).map_err(usage))
        .collect::<Result<Vec<_>, _>>()?;
    if thumbprints.len() > 5 {
        return Err(usage(
            "IAM takes at most 5 thumbprints: give fewer --thumbprint",
        ));
    }
    if thumbprints.is_empty() {
        let (address, chain) = served_chain(&args.issuer, &args.timeout).await?;
        let entries = provider::describe_chain(&chain);
        if let Some(top) = entries.last() {
            eprintln!(
                "Thumbprint of {}, the top certificate {address} serves",
                top.subject
            );
            thumbprints.push(top.sha1.clone());
        }
    }
    let issuer = args.issuer.trim_end_matches('/');
    print!(
        "{}",
        provider::aws_cli_command(issuer, &args.audiences, &thumbprints)
    );
    println!();
    println!("# Terraform:");
    print!(
        "{}",
        provider::terraform(issuer, &args.audiences, &thumbprints)
    );
    Ok(())
}

fn apiserver_config(args: &ApiserverConfigArgs) -> Result<(), CliError> {
    check_issuer(&args.issuer)?;
    let jwks_path = documents::check_jwks_path(&args.jwks_path).map_err(usage)?;
    let shown = args.key_dir.display();
    let key_dir = std::fs::canonicalize(&args.key_dir).map_err(|e| {
        usage(format!("cannot read --key-dir {shown}: {e} (create the keys with `kubectl irsa oidc keygen --out {shown}`)"))
    })?;
    let read = |name: &str| {
        let path = key_dir.join(name);
        std::fs::read(&path).map_err(|e| {
            usage(format!(
                "cannot read {}: {e} (`kubectl irsa oidc keygen --out {shown}` writes it)",
                path.display()
            ))
        })
    };
    let source = |name: &str| format!("--key-dir {shown}: {name}");
    let signing = keys::parse_private_pem(
        &read(apiserver::SIGNING_KEY_FILE)?,
        &source(apiserver::SIGNING_KEY_FILE),
    )
    .map_err(usage)?;
    let public = keys::parse_pem(
        &read(apiserver::PUBLIC_KEY_FILE)?,
        &source(apiserver::PUBLIC_KEY_FILE),
    )
    .map_err(usage)?;
    if !public.iter().any(|key| key.key == signing.key) {
        return Err(usage(format!(
            "--key-dir {shown}: {} does not hold the public key of {} (kid {}): write it with `openssl pkey -pubout -in {}`",
            apiserver::PUBLIC_KEY_FILE,
            apiserver::SIGNING_KEY_FILE,
            signing.kid,
            apiserver::SIGNING_KEY_FILE
        )));
    }
    let key_dir = key_dir.to_str().ok_or_else(|| {
        usage(format!(
            "--key-dir {shown}: the path is not UTF-8; move the keys"
        ))
    })?;
    let jwks_uri = documents::jwks_uri(&args.issuer, jwks_path);
    let config = ApiserverConfig {
        issuer: &args.issuer,
        jwks_uri: &jwks_uri,
        key_dir,
    };
    print!("{}", config.render(args.flavor));
    eprintln!(
        "Note: tokens will carry kid {}; publish the matching documents with `kubectl irsa oidc documents --issuer {} --public-key {} --out DIR`.",
        signing.kid,
        args.issuer,
        shell_quote(&format!("{key_dir}/{}", apiserver::PUBLIC_KEY_FILE)),
    );
    if args.flavor != Flavor::Kind {
        eprintln!(
            "Note: on an existing cluster, also keep its current issuer as a second --service-account-issuer (and in --api-audiences) so tokens already handed out stay valid."
        );
    }
    Ok(())
}

fn keygen(args: &KeygenArgs) -> Result<(), CliError> {
    let bits = args.bits;
    if ![2048, 3072, 4096].contains(&bits) {
        return Err(usage(format!(
            "invalid --bits {bits}: use 2048, 3072 or 4096"
        )));
    }
    check_out_dir(&args.out)?;
    let private_path = args.out.join(apiserver::SIGNING_KEY_FILE);
    let public_path = args.out.join(apiserver::PUBLIC_KEY_FILE);
    if !args.force {
        for path in [&private_path, &public_path] {
            if path.exists() {
                return Err(usage(format!(
                    "{} exists: pass --force to replace the key pair (tokens it signed stop verifying), or choose another --out",
                    path.display()
                )));
            }
        }
    }
    let (private_pem, public) = keys::generate(bits)
        .map_err(|e| CliError::Io(format!("cannot generate an RSA {bits} key: {e}")))?;
    write_files(&[
        (private_path.clone(), private_pem, 0o600),
        (public_path.clone(), public.to_pem(), 0o644),
    ])?;
    println!(
        "Wrote {} (RSA {bits} private key, PKCS#8, mode 0600): for --service-account-signing-key-file",
        private_path.display()
    );
    println!(
        "Wrote {} (public key, kid {}): for --service-account-key-file",
        public_path.display(),
        public.kid
    );
    println!(
        "To rotate later, append the old public key to the new sa-signer.pub and publish both."
    );
    Ok(())
}

/// An output directory must be a directory if it exists.
fn check_out_dir(out: &Path) -> Result<(), CliError> {
    if out.exists() && !out.is_dir() {
        return Err(usage(format!(
            "--out {} is not a directory: give a directory",
            out.display()
        )));
    }
    Ok(())
}

/// Writes each file through a temporary file beside it, and renames them all into place only
/// once every one is written: a failure leaves no file half-written.
fn write_files(files: &[(PathBuf, String, u32)]) -> Result<(), CliError> {
    let mut written: Vec<(PathBuf, &Path)> = Vec::new();
    let result = (|| {
        for (path, text, mode) in files {
            let parent = path.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(parent)
                .map_err(|e| CliError::Io(format!("cannot create {}: {e}", parent.display())))?;
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let temp = parent.join(format!(
                ".{name}.tmp-{}-{}",
                std::process::id(),
                fastrand::u32(..)
            ));
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(*mode)
                .open(&temp)
                .map_err(|e| CliError::Io(format!("cannot write {}: {e}", path.display())))?;
            written.push((temp, path));
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| CliError::Io(format!("cannot write {}: {e}", path.display())))?;
        }
        for (temp, path) in &written {
            std::fs::rename(temp, path)
                .map_err(|e| CliError::Io(format!("cannot write {}: {e}", path.display())))?;
        }
        Ok(())
    })();
    if result.is_err() {
        for (temp, _) in &written {
            let _ = std::fs::remove_file(temp);
        }
    }
    result
}
