//! `oidc provider --apply` (and setup's provider step): the IAM OIDC provider of an issuer,
//! created when missing, given the client IDs it lacks when it exists.
//!
//! Calls: ListOpenIDConnectProviders, then GetOpenIDConnectProvider when one matches (its
//! client IDs): an existing, complete provider costs those 2 reads and no write. The thumbprint
//! is looked at only when a provider is created, and only where IAM needs one (a private CA).

use std::time::Duration;

use irsa_sts::Partition;

use crate::aws::{Aws, Call, Context};
use crate::error::Result;
use crate::oidc::provider::{self, Thumbprints};
use crate::oidc::{s3, tls};
use crate::output::Output;

use super::usage;

/// What the provider step did.
#[derive(Debug)]
pub struct Applied {
    pub arn: String,
    /// What changed, one line each (empty: nothing).
    pub changes: Vec<String>,
    /// The client IDs the provider has now.
    pub client_ids: Vec<String>,
    /// Whether the provider existed before.
    pub existed: bool,
}

/// Creates the provider for `issuer` or completes its client IDs. `thumbprints` are the ones
/// given (normalized); empty lets [`thumbprints_for`] decide.
pub async fn apply(
    aws: &Aws,
    issuer: &str,
    client_ids: &[String],
    thumbprints: &[String],
    timeout: Duration,
    out: Output,
) -> Result<Applied> {
    let iam = iam_for(aws, issuer);
    let hostpath = provider::hostpath(issuer);
    let listed = iam
        .list_open_id_connect_providers()
        .send()
        .await
        .context(Call::iam("ListOpenIDConnectProviders", "*"))?;
    let arns = listed
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|entry| entry.arn());
    if let Some(arn) = provider::find_arn(arns, hostpath) {
        return complete(&iam, arn, client_ids).await;
    }
    let chosen = thumbprints_for(issuer, thumbprints, timeout).await?;
    let url = format!("https://{hostpath}");
    let mut create = iam
        .create_open_id_connect_provider()
        .url(&url)
        .set_client_id_list(Some(client_ids.to_vec()));
    if !chosen.list().is_empty() {
        create = create.set_thumbprint_list(Some(chosen.list()));
    }
    let created = create
        .send()
        .await
        .context(Call::iam("CreateOpenIDConnectProvider", &url))?;
    let arn = created
        .open_id_connect_provider_arn()
        .unwrap_or_default()
        .to_string();
    out.status(chosen.describe());
    Ok(Applied {
        changes: vec![format!(
            "created the IAM OIDC provider {arn} (client IDs {})",
            client_ids.join(", ")
        )],
        arn,
        client_ids: client_ids.to_vec(),
        existed: false,
    })
}

/// IAM of the issuer's partition when its S3 hostname names one (a cn-north-1 bucket's
/// provider lives in aws-cn's IAM), else of the configured region's.
fn iam_for(aws: &Aws, issuer: &str) -> aws_sdk_iam::Client {
    match s3::S3Issuer::parse(issuer) {
        Some(s3) if s3.china => aws.iam_in(Partition::AwsCn),
        Some(s3) => match s3.region {
            Some(region) => aws.iam_in(Partition::of_region(&region)),
            None => aws.iam_in(Partition::Aws),
        },
        None => aws.iam(),
    }
}

/// Adds the client IDs the existing provider `arn` lacks.
async fn complete(iam: &aws_sdk_iam::Client, arn: &str, client_ids: &[String]) -> Result<Applied> {
    let found = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
        .context(Call::iam("GetOpenIDConnectProvider", arn))?;
    let mut present = found.client_id_list().to_vec();
    let mut changes = Vec::new();
    for id in provider::missing_client_ids(&present, client_ids) {
        iam.add_client_id_to_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .client_id(&id)
            .send()
            .await
            .context(Call::iam("AddClientIDToOpenIDConnectProvider", arn))?;
        changes.push(format!("added client ID {id} to {arn}"));
        present.push(id);
    }
    Ok(Applied {
        arn: arn.to_string(),
        changes,
        client_ids: present,
        existed: true,
    })
}

/// The thumbprints a new provider gets: the given ones; none for S3 or a host whose chain a
/// public CA signs (IAM verifies those itself); else the top certificate's.
async fn thumbprints_for(issuer: &str, given: &[String], timeout: Duration) -> Result<Thumbprints> {
    if !given.is_empty() {
        return Ok(Thumbprints::Given(given.to_vec()));
    }
    if s3::S3Issuer::parse(issuer).is_some() {
        return Ok(Thumbprints::S3);
    }
    let (host, port) = provider::host_and_port(issuer).map_err(usage)?;
    let address = format!("{host}:{port}");
    let unreachable = |e: String| {
        crate::error::Error::Cluster(format!(
            "{e}: cannot tell whether IAM needs a thumbprint for {address}; check that this machine reaches it, or give --thumbprint"
        ))
    };
    match tls::publicly_trusted(&host, port, timeout)
        .await
        .map_err(unreachable)?
    {
        Ok(()) => Ok(Thumbprints::PublicCa { address }),
        Err(why) => {
            let chain = tls::served_chain(&host, port, timeout)
                .await
                .map_err(unreachable)?;
            let top = provider::describe_chain(&chain)
                .pop()
                .ok_or_else(|| unreachable("no certificate".into()))?;
            Ok(Thumbprints::PrivateCa { address, top, why })
        }
    }
}
