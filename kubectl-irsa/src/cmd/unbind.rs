//! `kubectl irsa unbind`: remove the annotations this tool manages and, with `--update-trust`,
//! this ServiceAccount from the role's trust policy in IAM (read the role, write it: 2 calls).
//! IAM is written first and the cluster last; a refused patch puts the old policy back.

use std::process::ExitCode;

use k8s_openapi::api::core::v1::ServiceAccount;
use serde_json::{Map, Value, json};

use irsa_sts::RoleArn;

use crate::binding::{Binding, Keys};
use crate::cli::UnbindArgs;
use crate::error::{Error, Result};
use crate::kube_api::{Cluster, DryRun, Issuer};
use crate::output::Output;
use crate::role_trust::iam::{self, NewRole};
use crate::role_trust::{self, Change};
use crate::trust_policy::Provider;

pub async fn run(args: &UnbindArgs, out: Output) -> Result<ExitCode> {
    let cluster = Cluster::connect(&args.kube.options()).await?;
    let name = &args.name;
    let Some(existing) = cluster.service_account(name).await? else {
        return Err(Error::Cluster(format!(
            "serviceaccount {}/{name} not found",
            cluster.namespace
        )));
    };
    let (keys, _) = super::keys::resolve(&cluster, &args.prefix, out).await;
    let trust = match args.update_trust {
        true => Some(prepare(&cluster, args, &existing, &keys, out).await?),
        false => None,
    };
    let present = existing.metadata.annotations.unwrap_or_default();
    // A merge patch deletes a key set to null.
    let removals: Map<String, Value> = keys
        .all()
        .into_iter()
        .filter(|key| present.contains_key(key))
        .map(|key| (key, Value::Null))
        .collect();
    if let Some(trust) = &trust {
        trust.apply(args.dry_run.mode, out).await?;
    }
    if removals.is_empty() {
        out.line(format_args!("serviceaccount/{name} unchanged (not bound)"))?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run.mode.sends() {
        let patch = json!({ "metadata": { "annotations": removals } });
        let patched = cluster
            .merge_patch::<ServiceAccount>(name, &patch, args.dry_run.mode)
            .await;
        if let (Err(_), Some(trust)) = (&patched, &trust) {
            trust.undo(args.dry_run.mode, out).await;
        }
        patched?;
    }
    out.line(format_args!(
        "serviceaccount/{name} unbound{}: removed {}",
        args.dry_run.mode.suffix(),
        removals.keys().cloned().collect::<Vec<_>>().join(", ")
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The role's change, decided and shown, not yet made.
struct Prepared {
    iam: aws_sdk_iam::Client,
    role: RoleArn,
    change: Change,
    subject: String,
}

/// Reads the role (1 IAM call), decides the change, prints its diff and any warning.
async fn prepare(
    cluster: &Cluster,
    args: &UnbindArgs,
    account: &ServiceAccount,
    keys: &Keys,
    out: Output,
) -> Result<Prepared> {
    let (name, namespace) = (&args.name, &cluster.namespace);
    let binding = Binding::of(account, keys);
    let role = match (&args.role_arn, binding.role()) {
        (Some(role), _) => role.clone(),
        (None, Some(role)) => role?,
        (None, None) => {
            return Err(Error::Usage(format!(
                "serviceaccount {namespace}/{name} has no {} annotation, so --update-trust does not know the role: pass --role-arn",
                keys.role_arn()
            )));
        }
    };
    let issuer = match &args.issuer {
        Some(issuer) => issuer.to_string(),
        None => match cluster.issuer_or_token(name, &binding.audience).await? {
            Issuer::Discovered(url) | Issuer::FromToken(url) => url,
        },
    };
    let provider = Provider {
        partition: role.partition(),
        account: role.account().to_string(),
        issuer_hostpath: irsa_sts::token::issuer_hostpath(&issuer).to_string(),
    };
    let iam = crate::aws::Aws::load(&args.aws.options())
        .await?
        .iam_in(role.partition());
    let subject = format!("system:serviceaccount:{namespace}:{name}");
    let Some(existing) = iam::read_trust(&iam, &role).await? else {
        return Err(Error::Usage(format!(
            "role {role} does not exist, so no trust policy allows {subject}: drop --update-trust, or check --role-arn"
        )));
    };
    let (change, warning) =
        role_trust::unbind_change(existing, &provider, &subject, &binding.audience)?;
    out.print(&change.diff(&role))?;
    if let Some(warning) = warning {
        out.warn(warning);
    }
    Ok(Prepared {
        iam,
        role,
        change,
        subject,
    })
}

impl Prepared {
    async fn apply(&self, dry_run: DryRun, out: Output) -> Result<()> {
        let (role, subject) = (&self.role, &self.subject);
        if self.change == Change::Unchanged {
            out.line(format_args!(
                "role {role} unchanged: its trust policy does not name {subject}"
            ))?;
            return Ok(());
        }
        if dry_run == DryRun::None {
            iam::apply(&self.iam, role, &self.change, &NewRole::default()).await?;
        }
        let suffix = if dry_run == DryRun::None {
            ""
        } else {
            " (dry run)"
        };
        out.line(format_args!(
            "role {role} trust policy updated{suffix}: removed {subject}, every other statement kept"
        ))?;
        Ok(())
    }

    async fn undo(&self, dry_run: DryRun, out: Output) {
        if dry_run != DryRun::None || self.change == Change::Unchanged {
            return;
        }
        let role = &self.role;
        match iam::undo(&self.iam, role, &self.change, &NewRole::default()).await {
            Ok(()) => out.warn(format_args!(
                "the ServiceAccount was not changed, so role {role}'s trust policy was put back"
            )),
            Err(error) => out.warn(format_args!(
                "the ServiceAccount was not changed, and role {role}'s trust policy could not be put back ({error}): it no longer allows {}",
                self.subject
            )),
        }
    }
}
