//! The IAM calls of a trust change: read the role and the provider, make the one write, and undo
//! it when the cluster's write that follows fails. Each call is named for its error (the IAM
//! action a policy must allow), and counted by the tests' fake IAM: bind reads 2 and writes 1,
//! unbind reads 1 and writes 1.

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;
use irsa_sts::RoleArn;
use serde_json::Value;

use super::{Change, TrustError};
use crate::aws::{AwsError, Call, Context};
use crate::error::{Error, Result};
use crate::trust_policy::{PolicyError, Provider, strict_json};

/// The tag that marks a role this tool created.
pub const MANAGED_BY: (&str, &str) = ("managed-by", "kubectl-irsa");
/// The tag naming the ServiceAccount the role was created for (`NAMESPACE/NAME`).
pub const SERVICE_ACCOUNT_TAG: &str = "kubectl-irsa/service-account";

/// What `--create-role` gives the new role besides its trust policy.
#[derive(Clone, Debug, Default)]
pub struct NewRole {
    pub attach_policy_arns: Vec<String>,
    pub permissions_boundary: Option<String>,
    pub max_session_duration: Option<i32>,
    /// `NAMESPACE/NAME`.
    pub service_account: String,
}

impl From<TrustError> for Error {
    fn from(error: TrustError) -> Self {
        match error {
            TrustError::Policy(policy) => Error::Policy(policy),
            other => Error::Usage(other.to_string()),
        }
    }
}

/// The role's trust policy (GetRole), `None` when there is no such role.
pub async fn read_trust(iam: &Client, role: &RoleArn) -> Result<Option<Value>> {
    let call = Call::iam("GetRole", role.as_str());
    let output = match iam
        .get_role()
        .role_name(role.name())
        .send()
        .await
        .context(call)
    {
        Ok(output) => output,
        Err(error) if error.is_not_found() => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let text = output
        .role()
        .map(|role| role.assume_role_policy_document().unwrap_or_default())
        .unwrap_or_default();
    Ok(Some(parse_document(text).map_err(TrustError::from)?))
}

/// IAM returns the document URL-encoded (RFC 3986), as its API reference says of every policy
/// document it returns, and botocore decodes it with `unquote` (a `+` stays a `+`); a document
/// that is already JSON is taken as it is.
fn parse_document(text: &str) -> Result<Value, PolicyError> {
    let decoded = if text.trim_start().starts_with('{') {
        text.to_string()
    } else {
        percent_decode(text).ok_or_else(|| {
            PolicyError::NotAPolicy("GetRole returned a document that is not URL-encoded".into())
        })?
    };
    strict_json::parse(&decoded)
        .map_err(|e| PolicyError::NotAPolicy(format!("the role's AssumeRolePolicyDocument: {e}")))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let (mut out, mut index) = (Vec::with_capacity(bytes.len()), 0);
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(index + 1..index + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                index += 3;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Checks that IAM has the provider and that it accepts `audience` (GetOpenIDConnectProvider).
pub async fn check_provider(
    iam: &Client,
    provider: &Provider,
    issuer: &str,
    audience: &str,
) -> Result<()> {
    let arn = provider.arn();
    let call = Call::iam("GetOpenIDConnectProvider", &arn);
    let answer = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .context(call);
    let output = match answer {
        Ok(output) => output,
        Err(error) if error.is_not_found() => {
            let issuer = issuer.to_string();
            return Err(TrustError::NoProvider {
                provider: arn,
                issuer,
            }
            .into());
        }
        Err(error) => return Err(error.into()),
    };
    if !output.client_id_list().iter().any(|id| id == audience) {
        return Err(TrustError::NoClientId {
            provider: arn,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
        }
        .into());
    }
    Ok(())
}

/// Checks that each policy to attach exists (GetPolicy), so that a mistyped ARN fails before
/// CreateRole rather than after it, with a role to delete.
pub async fn check_policies(iam: &Client, arns: &[String]) -> Result<()> {
    for arn in arns {
        let call = Call::iam("GetPolicy", arn);
        iam.get_policy()
            .policy_arn(arn)
            .send()
            .await
            .context(call)?;
    }
    Ok(())
}

/// Makes the change in IAM (one write, and one per policy to attach for a new role).
pub async fn apply(iam: &Client, role: &RoleArn, change: &Change, spec: &NewRole) -> Result<()> {
    match change {
        Change::Create(policy) => create(iam, role, policy, spec).await,
        Change::Update { after, .. } => update(iam, role, after).await.map_err(Error::from),
        Change::Unchanged => Ok(()),
    }
}

/// Undoes [`apply`] after a later step failed: the old policy back, or the new role deleted.
pub async fn undo(iam: &Client, role: &RoleArn, change: &Change, spec: &NewRole) -> Result<()> {
    match change {
        Change::Create(_) => delete(iam, role, &spec.attach_policy_arns).await,
        Change::Update { before, .. } => update(iam, role, before).await.map_err(Error::from),
        Change::Unchanged => Ok(()),
    }
}

async fn update(iam: &Client, role: &RoleArn, policy: &Value) -> Result<(), AwsError> {
    let document = serde_json::to_string(policy).unwrap_or_default();
    let call = Call::iam("UpdateAssumeRolePolicy", role.as_str()).policy(&document);
    iam.update_assume_role_policy()
        .role_name(role.name())
        .policy_document(&document)
        .send()
        .await
        .context(call)
        .map(|_| ())
}

async fn create(iam: &Client, role: &RoleArn, policy: &Value, spec: &NewRole) -> Result<()> {
    let document = serde_json::to_string(policy).unwrap_or_default();
    let tag = |key: &str, value: &str| Tag::builder().key(key).value(value).build();
    let tags = [
        tag(MANAGED_BY.0, MANAGED_BY.1),
        tag(SERVICE_ACCOUNT_TAG, &spec.service_account),
    ];
    let mut request = iam
        .create_role()
        .role_name(role.name())
        .path(path(role))
        .assume_role_policy_document(&document)
        .description(format!(
            "IRSA role of ServiceAccount {}, created by kubectl-irsa",
            spec.service_account
        ))
        .set_permissions_boundary(spec.permissions_boundary.clone())
        .set_max_session_duration(spec.max_session_duration);
    for tag in tags {
        request = request.tags(tag.map_err(|e| Error::Internal {
            what: "cannot build an IAM tag",
            detail: e.to_string(),
        })?);
    }
    let call = Call::iam("CreateRole", role.as_str()).policy(&document);
    request.send().await.context(call)?;
    for (index, arn) in spec.attach_policy_arns.iter().enumerate() {
        if let Err(error) = attach(iam, role, arn).await {
            // Nothing half-done: the role goes with what was attached to it, or the user is
            // told that it stayed.
            if let Err(undo) = delete(iam, role, &spec.attach_policy_arns[..index]).await {
                return Err(Error::Cluster(format!(
                    "{error}; and role {role}, created just before, could not be deleted ({undo}): detach its policies and delete it (aws iam delete-role --role-name {})",
                    crate::shell::quote(role.name())
                )));
            }
            return Err(error.into());
        }
    }
    Ok(())
}

async fn attach(iam: &Client, role: &RoleArn, policy_arn: &str) -> Result<(), AwsError> {
    let call = Call::iam("AttachRolePolicy", role.as_str());
    iam.attach_role_policy()
        .role_name(role.name())
        .policy_arn(policy_arn)
        .send()
        .await
        .context(call)
        .map(|_| ())
}

async fn delete(iam: &Client, role: &RoleArn, attached: &[String]) -> Result<()> {
    for policy_arn in attached {
        let call = Call::iam("DetachRolePolicy", role.as_str());
        iam.detach_role_policy()
            .role_name(role.name())
            .policy_arn(policy_arn)
            .send()
            .await
            .context(call)?;
    }
    let call = Call::iam("DeleteRole", role.as_str());
    iam.delete_role()
        .role_name(role.name())
        .send()
        .await
        .context(call)?;
    Ok(())
}

/// The role's path, from its ARN: `arn:...:role/team/cart` is in `/team/`.
fn path(role: &RoleArn) -> String {
    let after = role
        .as_str()
        .split_once(":role")
        .map_or("/", |(_, rest)| rest);
    match after.rfind('/') {
        Some(end) if end > 0 => after[..=end].to_string(),
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_read_url_encoded_or_plain() {
        let plain = r#"{"Version":"2012-10-17","Statement":[{"Sid":"a b+c"}]}"#;
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Sid%22%3A%22a%20b%2Bc%22%7D%5D%7D";
        assert_eq!(
            parse_document(encoded).unwrap(),
            parse_document(plain).unwrap()
        );
        assert!(parse_document("%7B%2").is_err());
    }

    #[test]
    fn the_path_comes_from_the_arn() {
        let role = |arn: &str| arn.parse::<RoleArn>().unwrap();
        assert_eq!(path(&role("arn:aws:iam::123456789012:role/cart")), "/");
        assert_eq!(
            path(&role("arn:aws:iam::123456789012:role/team/a/cart")),
            "/team/a/"
        );
    }
}
