//! `bind --update-trust`: the role's side of the binding, read and checked before anything is
//! written, applied before the ServiceAccount, undone when the ServiceAccount's write fails.

use std::process::ExitCode;

use aws_sdk_iam::Client;
use irsa_sts::RoleArn;

use crate::binding::Keys;
use crate::cli::BindArgs;
use crate::error::Result;
use crate::identity::IdentityOptions;
use crate::kube_api::{Cluster, DryRun};
use crate::output::Output;
use crate::role_trust::iam::{self, MANAGED_BY, NewRole, SERVICE_ACCOUNT_TAG};
use crate::role_trust::verify::{Verdict, verify};
use crate::role_trust::{self, Change};
use crate::shell::quote;
use crate::trust_policy::Grant;

/// The role's change, decided and shown, not yet made.
pub struct Prepared {
    iam: Client,
    role: RoleArn,
    change: Change,
    spec: NewRole,
    subject: String,
}

/// Reads the role and the provider (2 IAM calls), decides the change and prints its diff.
pub async fn prepare(
    args: &BindArgs,
    role: &RoleArn,
    issuer: &str,
    namespace: &str,
    audience: &str,
    out: Output,
) -> Result<Prepared> {
    // The role's partition picks IAM's (aws-cn, aws-us-gov), whatever region is configured.
    let iam = crate::aws::Aws::load(&args.trust.aws.options())
        .await?
        .iam_in(role.partition());
    let subject = format!("system:serviceaccount:{namespace}:{}", args.name);
    let grant = Grant::new(
        role.partition(),
        role.account(),
        issuer,
        vec![subject.clone()],
        audience,
    );
    let (existing, provider) = tokio::join!(
        iam::read_trust(&iam, role),
        iam::check_provider(&iam, &grant.provider, issuer, audience)
    );
    let trust = &args.trust;
    let change = role_trust::bind_change(
        existing?,
        &grant,
        role,
        trust.create_role,
        trust.trust_policy_quota,
    )?;
    provider?;
    if matches!(change, Change::Create(_)) {
        iam::check_policies(&iam, &trust.attach_policy_arns).await?;
    }
    out.print(&change.diff(role))?;
    let spec = NewRole {
        attach_policy_arns: trust.attach_policy_arns.clone(),
        permissions_boundary: trust.permissions_boundary.clone(),
        max_session_duration: trust.max_session_duration,
        service_account: format!("{namespace}/{}", args.name),
    };
    Ok(Prepared {
        iam,
        role: role.clone(),
        change,
        spec,
        subject,
    })
}

impl Prepared {
    /// Makes the change in IAM, unless this is a dry run; says what changed.
    pub async fn apply(&self, dry_run: DryRun, out: Output) -> Result<()> {
        if dry_run == DryRun::None {
            iam::apply(&self.iam, &self.role, &self.change, &self.spec).await?;
        }
        // IAM has no server-side dry run: either way nothing is written there.
        let suffix = match dry_run {
            DryRun::None => "",
            _ => " (dry run)",
        };
        out.line(self.summary(suffix))?;
        Ok(())
    }

    fn summary(&self, suffix: &str) -> String {
        let (role, subject) = (&self.role, &self.subject);
        match &self.change {
            Change::Unchanged => {
                format!("role {role} unchanged: its trust policy already allows {subject}")
            }
            Change::Update { .. } => format!(
                "role {role} trust policy updated{suffix}: added {subject}, every other statement kept"
            ),
            Change::Create(_) => {
                let spec = &self.spec;
                let mut text = format!(
                    "role {role} created{suffix}: trusting {subject}, tagged {}={} {SERVICE_ACCOUNT_TAG}={}",
                    MANAGED_BY.0, MANAGED_BY.1, spec.service_account
                );
                for arn in &spec.attach_policy_arns {
                    text.push_str(&format!(", {arn} attached"));
                }
                if let Some(boundary) = &spec.permissions_boundary {
                    text.push_str(&format!(", permissions boundary {boundary}"));
                }
                if let Some(seconds) = spec.max_session_duration {
                    text.push_str(&format!(", maximum session {seconds}s"));
                }
                text
            }
        }
    }

    /// Undoes the IAM change after the ServiceAccount's write failed, and says so.
    pub async fn undo(&self, dry_run: DryRun, out: Output) {
        if dry_run != DryRun::None || self.change == Change::Unchanged {
            return;
        }
        let role = &self.role;
        match iam::undo(&self.iam, role, &self.change, &self.spec).await {
            Ok(()) => out.warn(format_args!(
                "the ServiceAccount was not changed, so the change to role {role} was undone"
            )),
            Err(error) => out.warn(format_args!(
                "the ServiceAccount was not changed, and the change to role {role} could not be undone ({error}): it now allows {}",
                self.subject
            )),
        }
    }

    /// `--verify`: the binding proven with a token and STS; exit 1 when STS still refuses.
    pub async fn verify(
        &self,
        cluster: &Cluster,
        args: &BindArgs,
        keys: Keys,
        out: Output,
    ) -> Result<ExitCode> {
        let name = &args.name;
        if args.dry_run.mode != DryRun::None {
            out.note("--verify skipped: a dry run changed nothing to prove");
            return Ok(ExitCode::SUCCESS);
        }
        let options = IdentityOptions {
            role_arn: Some(&self.role),
            keys,
            region: args.trust.aws.region.clone(),
            endpoint_url: None,
        };
        let timeout = args.trust.verify_timeout.get();
        match verify(cluster, name, &options, timeout, out).await {
            Verdict::Proven {
                identity,
                attempts,
                after,
            } => {
                out.line(format_args!(
                    "verified: {}/{name} assumes {} as {} (attempt {attempts}, after {})",
                    cluster.namespace,
                    self.role,
                    identity.credentials.assumed_role_arn,
                    rounded(after)
                ))?;
                Ok(ExitCode::SUCCESS)
            }
            Verdict::Refused {
                error,
                attempts,
                after,
            } => {
                out.line(format_args!(
                    "not verified after {} ({attempts} attempts): the change is made, but STS refuses a token of {}/{name}; try later with kubectl irsa whoami {} -n {}",
                    rounded(after),
                    cluster.namespace,
                    quote(name),
                    quote(&cluster.namespace)
                ))?;
                Err(error)
            }
        }
    }
}

/// A duration to the second, for a message.
fn rounded(duration: std::time::Duration) -> irsa_sts::HumanDuration {
    irsa_sts::HumanDuration::from_secs(duration.as_secs_f64().round() as u64)
}
