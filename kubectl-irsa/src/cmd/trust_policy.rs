//! `kubectl irsa trust-policy`: generate or extend the trust policy for ServiceAccounts.

use std::process::ExitCode;

use irsa_sts::Partition;

use super::input::read_json;
use crate::cli::TrustPolicyArgs;
use crate::doctor::trust::{Context, Outcome, evaluate};
use crate::error::{Error, Result};
use crate::kube_api::{Cluster, DISCOVERY_PATH, Issuer};
use crate::output::Output;
use crate::trust_policy::{self, ACTION, Grant};

pub async fn run(args: &TrustPolicyArgs, out: Output) -> Result<ExitCode> {
    let (partition, account) = account(args)?;
    // Read the policy to merge before any network call, so bad input fails fast.
    let existing = args
        .merge
        .as_deref()
        .map(|path| read_json("--merge", path))
        .transpose()?;
    let issuers: Vec<String> = if args.issuers.is_empty() {
        let cluster = Cluster::connect(&args.kube.options()).await?;
        // Where discovery is forbidden, the iss of a token of the namespace's default account.
        match cluster.issuer_or_token("default", &args.audience).await? {
            Issuer::Discovered(url) => vec![url],
            Issuer::FromToken(url) => {
                out.note(format_args!(
                    "you may not read {DISCOVERY_PATH}, so the issuer is read from a token's iss: {url}"
                ));
                vec![url]
            }
        }
    } else {
        for warning in args.issuers.iter().filter_map(|issuer| issuer.warning()) {
            out.warn(warning);
        }
        args.issuers.iter().map(ToString::to_string).collect()
    };
    let grants: Vec<Grant> = issuers
        .iter()
        .map(|issuer| {
            let subjects = args.service_accounts.clone();
            Grant::new(partition, &account, issuer, subjects, &args.audience)
        })
        .collect();
    let policy = match existing {
        Some(existing) => {
            let merged = trust_policy::merge(existing, &grants)?;
            for warning in denials(&merged, &grants) {
                out.warn(warning);
            }
            merged
        }
        None => trust_policy::generate(&grants),
    };
    if let Some(warning) = trust_policy::size_warning(&policy) {
        out.warn(warning);
    }
    out.json(&policy)?;
    Ok(ExitCode::SUCCESS)
}

/// A warning for each subject that an explicit Deny of the merged policy still blocks: IAM
/// lets a Deny win over any Allow, so the statement just added would never take effect.
/// Judged as doctor judges a token (its `sub` and `aud`; a pattern subject is judged as its
/// own text).
fn denials(policy: &serde_json::Value, grants: &[Grant]) -> Vec<String> {
    let mut warnings = Vec::new();
    for grant in grants {
        let provider_arn = grant.provider.arn();
        let aud = [grant.audience.clone()];
        for sub in &grant.subjects {
            let context = Context {
                provider_arn: &provider_arn,
                hostpath: &grant.provider.issuer_hostpath,
                sub,
                aud: &aud,
            };
            if let Outcome::Denied { statement } = evaluate(policy, &context) {
                warnings.push(format!(
                    "statement {statement} of the --merge policy denies {ACTION} to {sub} of {provider_arn}, and a Deny wins over the Allow added: remove or narrow that Deny"
                ));
            }
        }
    }
    warnings
}

/// The account (and partition) that owns the OIDC providers.
fn account(args: &TrustPolicyArgs) -> Result<(Partition, String)> {
    match (&args.role_arn, &args.account) {
        (Some(role), Some(account)) if account.as_str() != role.account() => {
            Err(Error::Usage(format!(
                "--account {account} differs from the account of --role-arn {role}: give one of them"
            )))
        }
        (Some(role), _) => Ok((role.partition(), role.account().to_string())),
        (None, Some(account)) => Ok((args.partition, account.to_string())),
        (None, None) => Err(Error::Usage(
            "give --role-arn ARN or --account ID: the OIDC provider ARN names the account".into(),
        )),
    }
}
