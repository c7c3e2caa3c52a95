//! `kubectl irsa oidc ...`: the self-hosted issuer kit (documents, thumbprint, provider,
//! apiserver-config, keygen), and the verbs that apply it in AWS (provider --apply, publish,
//! setup).

mod apiserver;
mod files;
mod keys;
mod provider_apply;
mod publish;
mod publish_verb;
mod setup;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{DocumentsArgs, OidcArgs, OidcCommand, ProviderArgs, ThumbprintArgs};
use crate::error::{Error, Result};
use crate::kube_api::{Cluster, ConnectOptions, JWKS_PATH};
use crate::names::Issuer;
use crate::oidc::documents::{self, DISCOVERY_PATH};
use crate::oidc::keys::{self as key_files, PublicKey};
use crate::oidc::{provider, s3, tls};
use crate::output::Output;
use files::{check_out_dir, write_files};

pub async fn run(args: &OidcArgs, out: Output) -> Result<ExitCode> {
    match &args.command {
        OidcCommand::Documents(args) => documents(args, out).await,
        OidcCommand::Thumbprint(args) => thumbprint(args, out).await,
        OidcCommand::Provider(args) => provider(args, out).await,
        OidcCommand::ApiserverConfig(args) => apiserver::apiserver_config(args, out).await,
        OidcCommand::Keygen(args) => keys::keygen(args, out),
        OidcCommand::Publish(args) => {
            let request = publish_verb::Request {
                issuer: &args.issuer,
                bucket: &args.bucket,
                create_bucket: args.create_bucket,
                public_keys: &args.public_keys,
                jwks_path: &args.jwks_path,
                no_verify: args.no_verify,
                timeout: args.timeout.get(),
                aws: args.aws.options(),
                kube: args.kube.options(),
            };
            publish_verb::publish(&request, out).await
        }
        OidcCommand::Setup(args) => {
            let request = setup::Request {
                bucket: &args.bucket,
                issuer: args.issuer.as_ref(),
                key_dir: &args.key_dir,
                flavor: args.flavor,
                client_ids: &args.client_ids,
                jwks_path: &args.jwks_path,
                no_verify: args.no_verify,
                timeout: args.timeout,
                aws: args.aws.options(),
                kubeconfig: args.kubeconfig.as_ref(),
                context: args.context.as_ref(),
            };
            setup::setup(&request, out).await
        }
    }
}

fn usage(message: impl ToString) -> Error {
    Error::Usage(message.to_string())
}

/// A trailing slash is legal but breaks issuer equality: say so.
fn warn_about(issuer: &Issuer, out: Output) {
    if let Some(warning) = issuer.warning() {
        out.warn(warning);
    }
}

async fn documents(args: &DocumentsArgs, out: Output) -> Result<ExitCode> {
    warn_about(&args.issuer, out);
    let jwks_path = documents::check_jwks_path(&args.jwks_path).map_err(usage)?;
    check_out_dir(&args.out)?;
    let keys = if args.public_keys.is_empty() {
        cluster_keys(&args.kube.options(), out).await?
    } else {
        public_key_files(&args.public_keys)?
    };
    let issuer = args.issuer.as_str();
    let jwks_uri = documents::jwks_uri(issuer, jwks_path);
    let discovery = documents::discovery(issuer, &jwks_uri, &keys);
    let jwks = documents::jwks(&keys, args.legacy_empty_kid);
    let (discovery_file, jwks_file) = (args.out.join(DISCOVERY_PATH), args.out.join(jwks_path));
    write_files(&[
        (
            discovery_file.clone(),
            documents::to_file_text(&discovery),
            0o644,
        ),
        (jwks_file.clone(), documents::to_file_text(&jwks), 0o644),
    ])?;
    let kids: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
    let mut text = format!("Wrote {}\n", discovery_file.display());
    text.push_str(&format!(
        "Wrote {}: {} key{} (kid {}){}\n\n",
        jwks_file.display(),
        keys.len(),
        if keys.len() == 1 { "" } else { "s" },
        kids.join(", "),
        if args.legacy_empty_kid {
            ", each also with an empty kid"
        } else {
            ""
        },
    ));
    for line in s3::publish_instructions(issuer, &args.out, jwks_path) {
        text.push_str(&line);
        text.push('\n');
    }
    out.print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The keys of `--public-key` files, each once.
fn public_key_files(paths: &[PathBuf]) -> Result<Vec<PublicKey>> {
    let mut keys: Vec<PublicKey> = Vec::new();
    for path in paths {
        let bytes = super::input::read_capped_bytes("--public-key", path, super::input::KEY_CAP)?;
        let source = format!("--public-key {}", path.display());
        for key in key_files::parse_pem(&bytes, &source)? {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    Ok(keys)
}

/// The keys the cluster publishes at /openid/v1/jwks.
async fn cluster_keys(options: &ConnectOptions, out: Output) -> Result<Vec<PublicKey>> {
    let cluster = Cluster::connect(options).await?;
    let text = cluster.get_raw(JWKS_PATH).await.map_err(|error| {
        if error.is_not_found() || error.is_forbidden() {
            Error::NotServed {
                path: JWKS_PATH,
                fix: "pass its public keys with --public-key FILE (the apiserver's --service-account-key-file)",
                source: error,
            }
        } else {
            Error::Kube(error)
        }
    })?;
    let source = format!("the cluster's {JWKS_PATH}");
    // The cluster's document is broken, not a file of the user's: say so, and how to go around it.
    let (keys, notes) = key_files::parse_jwks(&text, &source).map_err(|error| {
        Error::Cluster(format!(
            "{error}: pass the public keys with --public-key FILE (the apiserver's --service-account-key-file) instead"
        ))
    })?;
    for note in notes {
        out.note(note);
    }
    if keys.is_empty() {
        return Err(Error::Cluster(format!(
            "{source} lists no keys: pass the public keys with --public-key FILE"
        )));
    }
    Ok(keys)
}

async fn served_chain(url: &str, timeout: Duration) -> Result<(String, Vec<Vec<u8>>)> {
    let (host, port) = provider::host_and_port(url).map_err(usage)?;
    let chain = tls::served_chain(&host, port, timeout).await.map_err(|e| {
        Error::Cluster(format!(
            "{e} (check the URL and that this machine can reach it)"
        ))
    })?;
    Ok((format!("{host}:{port}"), chain))
}

async fn thumbprint(args: &ThumbprintArgs, out: Output) -> Result<ExitCode> {
    let (address, chain) = served_chain(&args.url, args.timeout.get()).await?;
    if !args.all {
        out.line(provider::thumbprint(&chain).unwrap_or_default())?;
        return Ok(ExitCode::SUCCESS);
    }
    let entries = provider::describe_chain(&chain);
    let mut text = format!(
        "{address} serves {} certificate{}, leaf first:\n",
        entries.len(),
        if entries.len() == 1 { "" } else { "s" }
    );
    for (index, entry) in entries.iter().enumerate() {
        text.push_str(&format!(
            "{index}  {}  {}  (issuer: {})\n",
            entry.sha1, entry.subject, entry.issuer
        ));
    }
    if let Some(top) = entries.last() {
        text.push_str(&format!(
            "Thumbprint (the top certificate, {}): {}\n",
            top.subject, top.sha1
        ));
    }
    out.print(&text)?;
    Ok(ExitCode::SUCCESS)
}

async fn provider(args: &ProviderArgs, out: Output) -> Result<ExitCode> {
    warn_about(&args.issuer, out);
    let mut thumbprints = args
        .thumbprints
        .iter()
        .map(|text| provider::normalize_thumbprint(text).map_err(usage))
        .collect::<Result<Vec<_>>>()?;
    if thumbprints.len() > 5 {
        return Err(usage(
            "IAM takes at most 5 thumbprints: give fewer --thumbprint",
        ));
    }
    if thumbprints.is_empty() && !args.apply {
        let (address, chain) = served_chain(args.issuer.as_str(), args.timeout.get()).await?;
        if let Some(top) = provider::describe_chain(&chain).last() {
            out.status(format_args!(
                "Thumbprint of {}, the top certificate {address} serves",
                top.subject
            ));
            thumbprints.push(top.sha1.clone());
        }
    }
    if args.apply {
        return apply_provider(args, &thumbprints, out).await;
    }
    let issuer = args.issuer.as_str().trim_end_matches('/');
    out.print(&format!(
        "{}\n# Terraform:\n{}",
        provider::aws_cli_command(issuer, &args.audiences, &thumbprints),
        provider::terraform(issuer, &args.audiences, &thumbprints)
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// `oidc provider --apply`: the ARN on stdout, what changed (or that nothing did) on stderr.
async fn apply_provider(
    args: &ProviderArgs,
    thumbprints: &[String],
    out: Output,
) -> Result<ExitCode> {
    let aws = crate::aws::Aws::load(&args.aws.options()).await?;
    let issuer = args.issuer.as_str();
    let applied = provider_apply::apply(
        &aws,
        issuer,
        &args.audiences,
        thumbprints,
        args.timeout.get(),
        out,
    )
    .await?;
    if applied.changes.is_empty() {
        out.status(format_args!(
            "The IAM OIDC provider for {} exists with client IDs {}: nothing changed",
            provider::hostpath(issuer),
            applied.client_ids.join(", ")
        ));
    }
    for change in &applied.changes {
        out.status(format_args!("Changed: {change}"));
    }
    if applied.existed && !thumbprints.is_empty() {
        out.note(
            "the provider existed: its thumbprints were left as they are (`aws iam update-open-id-connect-provider-thumbprint` replaces them)",
        );
    }
    out.line(&applied.arn)?;
    Ok(ExitCode::SUCCESS)
}
