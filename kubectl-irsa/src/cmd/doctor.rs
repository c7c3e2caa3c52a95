//! `kubectl irsa doctor`: the flags resolved once into [`Options`], the evidence gathered, the
//! report judged and printed; exit 1 when a check fails.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use super::input::read_json;
use crate::cli::DoctorArgs;
use crate::doctor::gather::{self, Options, Sts};
use crate::doctor::{Report, Status, judge::judge, use_colour};
use crate::error::{Error, Result};
use crate::kube_api::Cluster;
use crate::output::{Output, ReportFormat};

pub async fn run(args: &DoctorArgs, out: Output) -> Result<ExitCode> {
    let options = options(args)?;
    let gathered = async {
        let cluster = Cluster::connect(&args.kube.options()).await?;
        let evidence = gather::gather(&cluster, &options).await?;
        Ok::<_, Error>((cluster, evidence))
    };
    let (cluster, evidence) = tokio::time::timeout(args.timeout.get(), gathered)
        .await
        .map_err(|_| Error::Deadline {
            command: "doctor",
            after: args.timeout,
            what: "the cluster, or an endpoint it checks,",
        })??;
    if args.name.is_none() && evidence.accounts.is_empty() {
        let scope = match args.all_namespaces {
            true => String::new(),
            false => format!(" in {} namespace", cluster.namespace),
        };
        out.status(format_args!(
            "No bound ServiceAccounts found{scope}; name one to check it."
        ));
    }
    let report = judge(&evidence);
    print(&report, args.output, out)?;
    Ok(match report.verdict() {
        Status::Fail => ExitCode::FAILURE,
        Status::Pass | Status::Warn => ExitCode::SUCCESS,
    })
}

/// The flags as doctor's options; the files they name are read here, so a bad one is a usage
/// error before anything is fetched.
fn options(args: &DoctorArgs) -> Result<Options> {
    let trust_policy = args
        .trust_policy
        .as_deref()
        .map(|path| read_json("--trust-policy", path))
        .transpose()?;
    let public = args.check_public.then(|| public_tls(args)).transpose()?;
    Ok(Options {
        name: args.name.clone(),
        all_namespaces: args.all_namespaces,
        prefix: args.prefix.annotation_prefix.clone(),
        trust_policy,
        public,
        assume: args.assume.then(|| Sts {
            region: args.region.clone(),
            endpoint_url: args.endpoint_url.clone(),
        }),
    })
}

/// The TLS configuration for --check-public: the public roots, and --ca-bundle's certificates.
fn public_tls(args: &DoctorArgs) -> Result<std::sync::Arc<rustls::ClientConfig>> {
    use irsa_sts::TransportError;
    let bundle = args
        .ca_bundle
        .as_deref()
        .map(irsa_sts::CaBundle::from_file)
        .transpose();
    let config = bundle.and_then(|bundle| irsa_sts::transport::tls_config(bundle.as_ref()));
    config.map_err(|error| match error {
        TransportError::ReadBundle { path, source } => Error::Read {
            flag: "--ca-bundle",
            path,
            source,
        },
        TransportError::BadBundle { path, why } => Error::Usage(format!(
            "--ca-bundle {} holds no usable PEM certificate ({why}): give a file of -----BEGIN CERTIFICATE----- blocks",
            path.display()
        )),
        other => Error::Transport(other),
    })
}

fn print(report: &Report, format: ReportFormat, out: Output) -> Result<()> {
    match format {
        ReportFormat::Json => out.json(&report.to_json())?,
        ReportFormat::Text => {
            let colour = use_colour(
                std::io::stdout().is_terminal(),
                std::env::var("NO_COLOR").ok().as_deref(),
            );
            out.print(&report.render_text(colour))?;
            out.line(report.summary())?;
        }
    }
    Ok(())
}
