//! A role's trust policy changed in IAM by `bind --update-trust` and `unbind --update-trust`.
//!
//! Decided here as pure values first ([`Change`], from the policy read with GetRole and the
//! merge rules of [`crate::trust_policy`]), so everything is validated before IAM is written:
//! the quota, a Deny that would void the change, a change that would leave no statement. Then
//! [`iam`] makes the one write (CreateRole or UpdateAssumeRolePolicy) and can undo it when the
//! cluster's write that follows fails, and [`verify`] proves the result as whoami does.

pub mod iam;
pub mod verify;

use irsa_sts::RoleArn;
use serde_json::Value;

use crate::doctor::trust::{Context, Outcome, evaluate};
use crate::trust_policy::{self, ACTION, Grant, PolicyError, Provider, Unmerged};

/// Why a change to a role's trust is refused before IAM is written.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(
        "role {role} does not exist: pass --create-role to create it trusting this ServiceAccount, or check --role-arn"
    )]
    NoRole { role: String },
    #[error(
        "statement {statement} of the trust policy of {role} denies {ACTION} to {subject}, and a Deny wins over the Allow bind would add: remove or narrow that Deny first"
    )]
    Denied {
        role: String,
        statement: usize,
        subject: String,
    },
    #[error(
        "IAM has no OIDC provider {provider} (the issuer {issuer}), so STS would refuse every token of this cluster: create it first (kubectl irsa oidc provider --issuer {} --apply)",
        crate::shell::quote(issuer)
    )]
    NoProvider { provider: String, issuer: String },
    #[error(
        "the IAM OIDC provider {provider} does not list the audience {audience} as a client ID, so STS would refuse the tokens: add it (kubectl irsa oidc provider --issuer {} --client-id {} --apply)",
        crate::shell::quote(issuer),
        crate::shell::quote(audience)
    )]
    NoClientId {
        provider: String,
        issuer: String,
        audience: String,
    },
}

/// What bind or unbind will do to the role's trust policy.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Create the role with this trust policy.
    Create(Value),
    /// Replace the trust policy `before` by `after`.
    Update { before: Value, after: Value },
    /// The trust policy already says what is wanted.
    Unchanged,
}

impl Change {
    /// The change as `diff -u` of the pretty policies; empty when unchanged.
    pub fn diff(&self, role: &RoleArn) -> String {
        let now = format!("{role} (trust policy now)");
        let then = format!("{role} (trust policy after)");
        match self {
            Change::Create(policy) => {
                trust_policy::diff::unified(None, policy, "/dev/null (no role)", &then)
            }
            Change::Update { before, after } => {
                trust_policy::diff::unified(Some(before), after, &now, &then)
            }
            Change::Unchanged => String::new(),
        }
    }
}

/// The change bind makes to `existing` (the role's trust policy, `None` when there is no role)
/// to add `grant`, checked against the quota and the policy's own Deny statements.
pub fn bind_change(
    existing: Option<Value>,
    grant: &Grant,
    role: &RoleArn,
    create: bool,
    quota: usize,
) -> Result<Change, TrustError> {
    let change = match existing {
        None if create => Change::Create(trust_policy::generate(std::slice::from_ref(grant))),
        None => {
            return Err(TrustError::NoRole {
                role: role.to_string(),
            });
        }
        Some(before) => {
            let after = trust_policy::merge(before.clone(), std::slice::from_ref(grant))?;
            if after == before {
                Change::Unchanged
            } else {
                Change::Update { before, after }
            }
        }
    };
    let policy = match &change {
        Change::Create(policy) | Change::Update { after: policy, .. } => policy,
        Change::Unchanged => return Ok(change),
    };
    trust_policy::check_quota(policy, role.as_str(), quota)?;
    for subject in &grant.subjects {
        if let Outcome::Denied { statement } = outcome(policy, &grant.provider, subject, grant) {
            return Err(TrustError::Denied {
                role: role.to_string(),
                statement,
                subject: subject.clone(),
            });
        }
    }
    Ok(change)
}

/// The change unbind makes to `existing` to remove `subject` of `provider`, and a warning when
/// another statement (a wildcard subject) still lets the ServiceAccount in.
pub fn unbind_change(
    existing: Value,
    provider: &Provider,
    subject: &str,
    audience: &str,
) -> Result<(Change, Option<String>), TrustError> {
    let (before, _) = trust_policy::unwrap_get_role(existing)?;
    let unmerged = trust_policy::unmerge(before.clone(), provider, subject)?;
    let policy = match &unmerged {
        Unmerged::Absent => &before,
        Unmerged::Removed(after) => after,
    };
    let grant = Grant {
        provider: provider.clone(),
        subjects: vec![subject.to_string()],
        audience: audience.to_string(),
    };
    let warning = match outcome(policy, provider, subject, &grant) {
        Outcome::Allowed { statement } => Some(format!(
            "statement {statement} of the trust policy still lets {subject} assume the role (a wildcard subject): narrow it to keep the ServiceAccount out"
        )),
        _ => None,
    };
    let change = match unmerged {
        Unmerged::Absent => Change::Unchanged,
        Unmerged::Removed(after) => Change::Update { before, after },
    };
    Ok((change, warning))
}

fn outcome(policy: &Value, provider: &Provider, subject: &str, grant: &Grant) -> Outcome {
    let provider_arn = provider.arn();
    let aud = [grant.audience.clone()];
    evaluate(
        policy,
        &Context {
            provider_arn: &provider_arn,
            hostpath: &provider.issuer_hostpath,
            sub: subject,
            aud: &aud,
        },
    )
}

#[cfg(test)]
mod tests;
