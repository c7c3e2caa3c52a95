//! `oidc apiserver-config` and `oidc keygen`: the signing keys and the apiserver settings that
//! use them.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::{ApiserverConfigArgs, KeygenArgs};
use crate::error::{Error, Result};
use crate::oidc::apiserver::{self, ApiserverConfig, Flavor, PUBLIC_KEY_FILE, SIGNING_KEY_FILE};
use crate::oidc::documents;
use crate::oidc::keys::{self, PublicKey, SigningAlgorithm};
use crate::output::Output;
use crate::shell::quote;

use super::files::{check_out_dir, write_files};
use super::{usage, warn_about};

pub fn apiserver_config(args: &ApiserverConfigArgs, out: Output) -> Result<ExitCode> {
    warn_about(&args.issuer, out);
    let jwks_path = documents::check_jwks_path(&args.jwks_path).map_err(usage)?;
    let shown = args.key_dir.display();
    let key_dir = std::fs::canonicalize(&args.key_dir).map_err(|e| {
        usage(format!("cannot read --key-dir {shown}: {e} (create the keys with `kubectl irsa oidc keygen --out {shown}`)"))
    })?;
    let signing = key_pair(&key_dir, &args.key_dir)?;
    let key_dir = key_dir.to_str().ok_or_else(|| {
        usage(format!(
            "--key-dir {shown}: the path is not UTF-8; move the keys"
        ))
    })?;
    let issuer = args.issuer.as_str();
    let jwks_uri = documents::jwks_uri(issuer, jwks_path);
    let config = ApiserverConfig {
        issuer,
        jwks_uri: &jwks_uri,
        key_dir,
    };
    out.print(&config.render(args.flavor))?;
    out.note(format_args!(
        "tokens will carry kid {}; publish the matching documents with `kubectl irsa oidc documents --issuer {} --public-key {} --out DIR`.",
        signing.kid,
        quote(issuer),
        quote(&format!("{key_dir}/{PUBLIC_KEY_FILE}")),
    ));
    if args.flavor != Flavor::Kind {
        out.note(
            "on an existing cluster, also keep its current issuer as a second --service-account-issuer (and in --api-audiences) so tokens already handed out stay valid.",
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The signing key of the directory, checked against its public key file.
fn key_pair(key_dir: &Path, given: &Path) -> Result<PublicKey> {
    let shown = given.display();
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

pub fn keygen(args: &KeygenArgs, out: Output) -> Result<ExitCode> {
    let bits = key_bits(args)?;
    check_out_dir(&args.out)?;
    let private_path = args.out.join(apiserver::SIGNING_KEY_FILE);
    let public_path = args.out.join(apiserver::PUBLIC_KEY_FILE);
    if !args.force
        && let Some(existing) = [&private_path, &public_path]
            .into_iter()
            .find(|p| p.exists())
    {
        return Err(usage(format!(
            "{} exists: pass --force to replace the key pair (tokens it signed stop verifying), or choose another --out",
            existing.display()
        )));
    }
    let (private_pem, public) =
        keys::generate(args.algorithm, bits).map_err(|detail| Error::Internal {
            what: "cannot generate a key",
            detail,
        })?;
    write_files(&[
        (private_path.clone(), private_pem, 0o600),
        (public_path.clone(), public.to_pem(), 0o644),
    ])?;
    out.print(&format!(
        "Wrote {} ({} private key, PKCS#8, mode 0600): for --service-account-signing-key-file\n\
         Wrote {} (public key for {}, kid {}): for --service-account-key-file\n\
         To rotate later, append the old public key to the new sa-signer.pub and publish both.\n",
        private_path.display(),
        public.key.describe(),
        public_path.display(),
        public.key.algorithm(),
        public.kid
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The RSA key size: `--bits` (2048 unless given) for RS256; ECDSA keys take none.
fn key_bits(args: &KeygenArgs) -> Result<usize> {
    match (args.algorithm, args.bits) {
        (SigningAlgorithm::Rs256, None) => Ok(2048),
        (SigningAlgorithm::Rs256, Some(bits)) if [2048, 3072, 4096].contains(&bits) => Ok(bits),
        (SigningAlgorithm::Rs256, Some(bits)) => Err(usage(format!(
            "invalid --bits {bits}: use 2048, 3072 or 4096"
        ))),
        (_, None) => Ok(0),
        (_, Some(_)) => Err(usage(
            "--bits sizes RSA keys: an ECDSA key's size is its curve's (ES256: P-256, ES384: P-384)",
        )),
    }
}
