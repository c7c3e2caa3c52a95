//! `kubectl irsa trust-policy`: generate or extend the trust policy for ServiceAccounts.

use std::io::Read;

use irsa_sts::{Partition, RoleArn};

use crate::cli::{KubeFlags, TrustPolicyArgs};
use crate::cluster;
use crate::error::CliError;
use crate::names;
use crate::trust_policy::{self, Grant, Provider};

pub async fn run(flags: &KubeFlags, args: &TrustPolicyArgs) -> Result<(), CliError> {
    let subjects = args
        .service_accounts
        .iter()
        .map(|spec| names::subject(spec))
        .collect::<Result<Vec<_>, _>>()?;
    let (partition, account) = account(args)?;
    // Read the policy to merge before any network call, so bad input fails fast.
    let existing = args
        .merge
        .as_ref()
        .map(|path| read_policy(path))
        .transpose()?;

    let issuers = if args.issuers.is_empty() {
        let cluster = cluster::connect(flags).await?;
        vec![cluster::discover_issuer(&cluster.client).await?]
    } else {
        args.issuers.clone()
    };
    for issuer in &issuers {
        if let Some(warning) = names::check_issuer(issuer)? {
            eprintln!("Warning: {warning}");
        }
    }
    let grants: Vec<Grant> = issuers
        .iter()
        .map(|issuer| Grant {
            provider: Provider {
                partition,
                account: account.clone(),
                issuer_hostpath: irsa_sts::token::issuer_hostpath(issuer).to_string(),
            },
            subjects: subjects.clone(),
            audience: args.audience.clone(),
        })
        .collect();
    let policy = match existing {
        Some(existing) => trust_policy::merge(existing, &grants)?,
        None => trust_policy::generate(&grants),
    };
    if let Some(warning) = trust_policy::size_warning(&policy) {
        eprintln!("Warning: {warning}");
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&policy).unwrap_or_default()
    );
    Ok(())
}

/// The account (and partition) that owns the OIDC providers.
fn account(args: &TrustPolicyArgs) -> Result<(Partition, String), CliError> {
    if let Some(arn) = &args.role_arn {
        let role: RoleArn = arn.parse()?;
        if let Some(account) = &args.account
            && account != role.account()
        {
            return Err(CliError::Usage(format!(
                "--account {account} differs from the account of --role-arn {arn}: give one of them"
            )));
        }
        return Ok((role.partition(), role.account().to_string()));
    }
    let Some(account) = &args.account else {
        return Err(CliError::Usage(
            "give --role-arn ARN or --account ID: the OIDC provider ARN names the account".into(),
        ));
    };
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CliError::Usage(format!(
            "invalid --account {account:?}: an AWS account ID is 12 digits"
        )));
    }
    let partition = match args.partition.as_str() {
        "aws-cn" => Partition::AwsCn,
        "aws-us-gov" => Partition::AwsUsGov,
        _ => Partition::Aws,
    };
    Ok((partition, account.clone()))
}

fn read_policy(path: &std::path::Path) -> Result<serde_json::Value, CliError> {
    let text = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::Io(format!("cannot read the policy from stdin: {e}")))?;
        text
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| CliError::Usage(format!("cannot read --merge {}: {e}", path.display())))?
    };
    serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "--merge {} is not JSON ({e}): give a trust policy or the output of `aws iam get-role`",
            path.display()
        ))
    })
}
