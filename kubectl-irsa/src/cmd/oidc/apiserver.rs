//! `oidc apiserver-config`: the key directory checked, what the cluster trusts today (given,
//! read from its discovery document when it can be, or the distribution's defaults), then the
//! configuration on stdout and what goes with it on stderr.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::ApiserverConfigArgs;
use crate::error::Result;
use crate::kube_api::{Cluster, ConnectError, ConnectOptions, DISCOVERY_PATH, IssuerError};
use crate::oidc::apiserver::advice::{self, Context};
use crate::oidc::apiserver::{
    ApiserverConfig, Flavor, IssuerStage, PUBLIC_KEY_FILE, SIGNING_KEY_FILE, Trusted,
};
use crate::oidc::documents;
use crate::oidc::keys::{self, PublicKey};
use crate::output::Output;

use super::{usage, warn_about};

/// How long reading the cluster's issuer may take when --request-timeout does not say.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn apiserver_config(args: &ApiserverConfigArgs, out: Output) -> Result<ExitCode> {
    render(args, false, out).await
}

/// The configuration on stdout and its advice on stderr; `published` when the documents are
/// published already (setup), so the advice does not ask for them.
pub async fn render(args: &ApiserverConfigArgs, published: bool, out: Output) -> Result<ExitCode> {
    warn_about(&args.issuer, out);
    let jwks_path = documents::check_jwks_path(&args.jwks_path).map_err(usage)?;
    check_existing(args)?;
    let (key_dir, signing) = key_dir(&args.key_dir)?;
    let issuer = args.issuer.as_str();
    let (issuers, unread) = existing_issuers(args, out).await;
    let issuers_known = !issuers.is_empty();
    let given = Trusted {
        issuers,
        key_files: args.existing_key_files.clone(),
        audiences: args.existing_audiences.clone(),
    };
    let before = Trusted::before(args.flavor, given);
    let another = before.issuers.iter().any(|known| known != issuer);
    let stage = args.issuer_stage.unwrap_or(match issuers_known && another {
        true => IssuerStage::Accept,
        false => IssuerStage::Sign,
    });
    let jwks_uri = documents::jwks_uri(issuer, jwks_path);
    let config = ApiserverConfig {
        issuer,
        jwks_uri: &jwks_uri,
        key_dir: &key_dir,
        before: &before,
        stage,
    };
    out.print(&config.render(args.flavor))?;
    let context = Context {
        flavor: args.flavor,
        config: &config,
        issuers_known,
        key_files_given: !args.existing_key_files.is_empty(),
        unread: unread.as_deref(),
        kid: &signing.kid,
        algorithm: signing.key.algorithm(),
        published,
    };
    for line in advice::advice(&context) {
        out.status(line);
    }
    Ok(ExitCode::SUCCESS)
}

/// The --existing-* values make sense for the flavor: a kind config makes a new cluster, and
/// key files are paths the apiserver reads.
fn check_existing(args: &ApiserverConfigArgs) -> Result<()> {
    let given = !args.existing_issuers.is_empty()
        || !args.existing_key_files.is_empty()
        || !args.existing_audiences.is_empty()
        || args.issuer_stage.is_some();
    if args.flavor == Flavor::Kind && given {
        return Err(usage(
            "a kind config creates a new cluster, with nothing to keep: drop the --existing-* and --issuer-stage flags (for a running kind cluster, whose nodes run kubeadm, use --flavor kubeadm)",
        ));
    }
    if let Some(file) = args.existing_key_files.iter().find(|f| !f.starts_with('/')) {
        return Err(usage(format!(
            "invalid --existing-key-file {file:?}: give the absolute path the apiserver reads"
        )));
    }
    if args.existing_issuers.iter().any(String::is_empty) {
        return Err(usage(
            "invalid --existing-issuer \"\": give the issuer the apiserver has",
        ));
    }
    Ok(())
}

/// The key directory as an absolute UTF-8 path, and the key that will sign.
pub(super) fn key_dir(given: &Path) -> Result<(String, PublicKey)> {
    let shown = given.display();
    let dir = std::fs::canonicalize(given).map_err(|e| {
        usage(format!("cannot read --key-dir {shown}: {e} (create the keys with `kubectl irsa oidc keygen --out {shown}`)"))
    })?;
    let signing = key_pair(&dir, given)?;
    let dir = dir.to_str().ok_or_else(|| {
        usage(format!(
            "--key-dir {shown}: the path is not UTF-8; move the keys"
        ))
    })?;
    Ok((dir.to_string(), signing))
}

/// The signing key of the directory, checked against its public key file.
fn key_pair(key_dir: &Path, given: &Path) -> Result<PublicKey> {
    let shown = given.display();
    let read = |name: &str| {
        let path = key_dir.join(name);
        irsa_sts::file::read_regular(&path, super::super::input::KEY_CAP).map_err(|e| {
            usage(format!(
                "cannot read {}: {e} (`kubectl irsa oidc keygen --out {shown}` writes it)",
                path.display()
            ))
        })
    };
    let source = |name: &str| format!("--key-dir {shown}: {name}");
    let signing = keys::parse_private_pem(&read(SIGNING_KEY_FILE)?, &source(SIGNING_KEY_FILE))?;
    let public = keys::parse_pem(&read(PUBLIC_KEY_FILE)?, &source(PUBLIC_KEY_FILE))?;
    if !public.iter().any(|key| key.key == signing.key) {
        return Err(usage(format!(
            "--key-dir {shown}: {PUBLIC_KEY_FILE} does not hold the public key of {SIGNING_KEY_FILE} (kid {}): write it with `openssl pkey -pubout -in {SIGNING_KEY_FILE}`",
            signing.kid,
        )));
    }
    Ok(signing)
}

/// The issuers the cluster has: --existing-issuer, else the one its discovery document
/// announces when the cluster can be read (a kind config makes a new cluster: none). The
/// second value says why the cluster could not be read.
async fn existing_issuers(
    args: &ApiserverConfigArgs,
    out: Output,
) -> (Vec<String>, Option<String>) {
    if !args.existing_issuers.is_empty() || args.flavor == Flavor::Kind {
        return (args.existing_issuers.clone(), None);
    }
    match read_issuer(&args.connect_options()).await {
        Ok(issuer) => {
            out.note(format_args!(
                "the cluster's {DISCOVERY_PATH} announces issuer {issuer:?}"
            ));
            (vec![issuer], None)
        }
        Err(why) => (Vec::new(), Some(why)),
    }
}

/// The issuer the current cluster announces, within --request-timeout or [`READ_TIMEOUT`].
async fn read_issuer(options: &ConnectOptions) -> std::result::Result<String, String> {
    let bound = options.request_timeout.unwrap_or(READ_TIMEOUT);
    let read = async {
        let cluster = Cluster::connect(options)
            .await
            .map_err(|error| match error {
                ConnectError::NoKubeconfig(_) => "no kubeconfig".to_string(),
                other => other.to_string(),
            })?;
        cluster.issuer().await.map_err(|error| match error {
            IssuerError::Forbidden(_) => format!("you may not read {DISCOVERY_PATH}"),
            IssuerError::NotServed(_) => format!("the cluster does not serve {DISCOVERY_PATH}"),
            IssuerError::Unreadable => format!("its {DISCOVERY_PATH} has no issuer"),
            IssuerError::Call(error) => error.to_string(),
            invalid @ IssuerError::Invalid { .. } => invalid.to_string(),
        })
    };
    tokio::time::timeout(bound, read)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", bound.as_secs())))
}
