//! `oidc keygen`: a signing key pair, RSA or ECDSA, in the formats the apiserver flags take.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::KeygenArgs;
use crate::error::{Error, Result};
use crate::oidc::apiserver;
use crate::oidc::keys::{self, PublicKey, SigningAlgorithm};
use crate::output::Output;

use super::files::{check_out_dir, write_files};
use super::usage;

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
    let public = write_pair(&private_path, &public_path, args.algorithm, bits)?;
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

/// Generates a key pair and writes it: the private key mode 0600, both or neither.
pub fn write_pair(
    private_path: &Path,
    public_path: &Path,
    algorithm: SigningAlgorithm,
    bits: usize,
) -> Result<PublicKey> {
    let (private_pem, public) =
        keys::generate(algorithm, bits).map_err(|detail| Error::Internal {
            what: "cannot generate a key",
            detail,
        })?;
    write_files(&[
        (private_path.to_path_buf(), private_pem, 0o600),
        (public_path.to_path_buf(), public.to_pem(), 0o644),
    ])?;
    Ok(public)
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
