//! The IAM trust policy model: which ServiceAccounts of which clusters may assume a role. Pure
//! values in and out: generation, merging into an existing policy, size checks.
//!
//! The shape is the one eksctl and the Terraform IRSA module produce: one statement per OIDC
//! provider, `Principal.Federated` = the provider ARN, `Action` = `sts:AssumeRoleWithWebIdentity`,
//! `StringEquals` on `ISSUER_HOSTPATH:sub` and `:aud`. Wildcard subjects need `StringLike`, so
//! they get a statement of their own.

use serde_json::{Map, Value, json};

use irsa_sts::Partition;

pub mod diff;
pub mod strict_json;
mod unmerge;

pub use unmerge::{Unmerged, unmerge};

pub const ACTION: &str = "sts:AssumeRoleWithWebIdentity";
/// IAM's default quota for a role trust policy, in characters (white space not counted): "Role
/// trust policy length", quota code L-C07B4B0D, in the IAM User Guide's "IAM and AWS STS
/// quotas" (reference_iam-quotas), whose note says IAM does not count white space when it
/// measures a policy against these quotas.
pub const DEFAULT_QUOTA: usize = 2048;
/// The quota's code in Service Quotas, for the way out.
pub const QUOTA_CODE: &str = "L-C07B4B0D";
/// The most the quota can be raised to.
pub const MAX_QUOTA: usize = 4096;

/// A policy that cannot be generated or merged; the message names the problem and the fix.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("the existing trust policy is not an IAM policy document: {0}")]
    NotAPolicy(String),
    #[error(
        "statement {index} of the existing trust policy uses StringEquals with a wildcard in {key} ({value:?}): StringEquals never matches *, so that subject can never assume the role; use StringLike for it"
    )]
    WildcardUnderStringEquals {
        index: usize,
        key: String,
        value: String,
    },
    #[error(
        "removing {subject} would leave no statement in the trust policy, and IAM refuses a role without one (MalformedPolicyDocument): bind another ServiceAccount to the role first, or delete the role if nothing uses it"
    )]
    WouldBeEmpty { subject: String },
    #[error(
        "the trust policy of {role} would be {size} characters (white space not counted), over the role trust policy quota of {quota}, and IAM would refuse it (LimitExceeded): trust a wildcard subject under StringLike instead of one ServiceAccount at a time (kubectl irsa trust-policy --service-account 'NAMESPACE:*'), bind this ServiceAccount to another role, or have the \"Role trust policy length\" quota ({QUOTA_CODE}) raised in Service Quotas and pass the new value as --trust-policy-quota"
    )]
    OverQuota {
        role: String,
        size: usize,
        quota: usize,
    },
}

/// An IAM OIDC provider: one cluster's issuer in one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    pub partition: Partition,
    pub account: String,
    /// The issuer URL without `https://` and without a trailing slash.
    pub issuer_hostpath: String,
}

impl Provider {
    pub fn arn(&self) -> String {
        format!(
            "arn:{}:iam::{}:oidc-provider/{}",
            self.partition, self.account, self.issuer_hostpath
        )
    }
}

/// What one provider's tokens must carry to assume the role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub provider: Provider,
    /// `system:serviceaccount:NS:NAME` values; `*` and `?` make a subject a pattern.
    pub subjects: Vec<String>,
    pub audience: String,
}

impl Grant {
    /// The grant for `subjects` of the cluster whose tokens carry `issuer`, with the provider in
    /// `account` of `partition`.
    pub fn new(
        partition: Partition,
        account: &str,
        issuer: &str,
        subjects: Vec<String>,
        audience: &str,
    ) -> Self {
        Grant {
            provider: Provider {
                partition,
                account: account.to_string(),
                issuer_hostpath: irsa_sts::token::issuer_hostpath(issuer).to_string(),
            },
            subjects,
            audience: audience.to_string(),
        }
    }
}

/// Whether a subject needs `StringLike`.
pub fn is_pattern(subject: &str) -> bool {
    subject.contains(['*', '?'])
}

/// A fresh trust policy allowing every grant.
pub fn generate(grants: &[Grant]) -> Value {
    let mut policy = json!({ "Version": "2012-10-17", "Statement": [] });
    for grant in grants {
        add_grant(&mut policy, grant);
    }
    policy
}

/// Adds what `grants` need to `existing` without dropping or reordering anything already there.
/// `existing` may be a policy document or what `aws iam get-role` prints.
pub fn merge(existing: Value, grants: &[Grant]) -> Result<Value, PolicyError> {
    let (mut policy, _) = unwrap_get_role(existing)?;
    check(&policy)?;
    for grant in grants {
        add_grant(&mut policy, grant);
    }
    Ok(policy)
}

/// The policy's size as IAM counts it: compact JSON, white space outside strings not counted.
pub fn size(policy: &Value) -> usize {
    serde_json::to_string(policy).map_or(0, |compact| compact.chars().count())
}

/// Refuses, before IAM is called, a policy of `role` over `quota` characters.
pub fn check_quota(policy: &Value, role: &str, quota: usize) -> Result<(), PolicyError> {
    let size = size(policy);
    if size > quota {
        return Err(PolicyError::OverQuota {
            role: role.to_string(),
            size,
            quota,
        });
    }
    Ok(())
}

/// A warning when the policy is over IAM's default quota (or over the maximum).
pub fn size_warning(policy: &Value) -> Option<String> {
    let size = size(policy);
    if size > MAX_QUOTA {
        Some(format!(
            "the trust policy is {size} characters, over IAM's maximum of {MAX_QUOTA}: IAM will refuse it; split the ServiceAccounts across roles or use a wildcard subject"
        ))
    } else if size > DEFAULT_QUOTA {
        Some(format!(
            "the trust policy is {size} characters, over IAM's default quota of {DEFAULT_QUOTA}: ask for the \"Role trust policy length\" quota to be raised (up to {MAX_QUOTA}), or use fewer subjects"
        ))
    } else {
        None
    }
}

/// The policy document out of a policy or of `aws iam get-role` output, and the role's ARN when
/// the output names it. A document without `Statement` is accepted (an empty policy).
pub fn unwrap_get_role(value: Value) -> Result<(Value, Option<String>), PolicyError> {
    let role_arn = value
        .pointer("/Role/Arn")
        .and_then(Value::as_str)
        .map(str::to_string);
    let document = match value.pointer("/Role/AssumeRolePolicyDocument") {
        // `aws iam get-role` decodes the document; the raw API URL-encodes it as a string.
        Some(Value::String(text)) => strict_json::parse(text)
            .map_err(|e| PolicyError::NotAPolicy(format!("AssumeRolePolicyDocument: {e}")))?,
        Some(document) => document.clone(),
        None => value,
    };
    if !document.is_object() {
        return Err(PolicyError::NotAPolicy("expected a JSON object".into()));
    }
    match document.get("Statement") {
        None | Some(Value::Array(_)) | Some(Value::Object(_)) => Ok((document, role_arn)),
        Some(_) => Err(PolicyError::NotAPolicy(
            "Statement must be a list or an object".into(),
        )),
    }
}

/// Refuses a policy that already holds a subject that can never match.
fn check(policy: &Value) -> Result<(), PolicyError> {
    for (index, statement) in statements(policy).iter().enumerate() {
        let Some(equals) = statement
            .pointer("/Condition/StringEquals")
            .and_then(Value::as_object)
        else {
            continue;
        };
        for (key, values) in equals {
            if !key.ends_with(":sub") {
                continue;
            }
            for value in as_strings(values) {
                if is_pattern(&value) {
                    return Err(PolicyError::WildcardUnderStringEquals {
                        index,
                        key: key.clone(),
                        value,
                    });
                }
            }
        }
    }
    Ok(())
}

fn statements(policy: &Value) -> Vec<&Value> {
    match policy.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

fn add_grant(policy: &mut Value, grant: &Grant) {
    let (patterns, exact): (Vec<&String>, Vec<&String>) =
        grant.subjects.iter().partition(|s| is_pattern(s));
    for (operator, subjects) in [("StringEquals", exact), ("StringLike", patterns)] {
        if !subjects.is_empty() {
            add_subjects(policy, grant, operator, &subjects);
        }
    }
}

/// Appends `subjects` to the statement for this provider and operator, or adds that statement.
fn add_subjects(policy: &mut Value, grant: &Grant, operator: &str, subjects: &[&String]) {
    let provider_arn = grant.provider.arn();
    let sub_key = format!("{}:sub", grant.provider.issuer_hostpath);
    let aud_key = format!("{}:aud", grant.provider.issuer_hostpath);
    let statements = statement_list(policy);
    let existing = statements.iter_mut().find(|statement| {
        allows_web_identity(statement)
            && statement
                .pointer("/Principal/Federated")
                .map(as_strings)
                .unwrap_or_default()
                == [provider_arn.clone()]
            && statement
                .pointer(&format!("/Condition/{operator}"))
                .and_then(|c| c.get(&sub_key))
                .is_some()
    });
    match existing {
        Some(statement) => {
            let condition = statement
                .pointer_mut(&format!("/Condition/{operator}"))
                .and_then(Value::as_object_mut)
                .expect("found by this key above");
            let mut values = as_strings(&condition[&sub_key]);
            for subject in subjects {
                if !values.contains(subject) {
                    values.push((*subject).clone());
                }
            }
            condition.insert(sub_key, one_or_list(values));
        }
        None => {
            let mut condition = Map::new();
            let mut by_operator = Map::new();
            by_operator.insert(sub_key, one_or_list(dedup(subjects)));
            if operator == "StringEquals" {
                by_operator.insert(aud_key, Value::String(grant.audience.clone()));
                condition.insert(operator.into(), Value::Object(by_operator));
            } else {
                condition.insert(operator.into(), Value::Object(by_operator));
                condition.insert("StringEquals".into(), json!({ aud_key: grant.audience }));
            }
            statements.push(json!({
                "Effect": "Allow",
                "Principal": { "Federated": provider_arn },
                "Action": ACTION,
                "Condition": condition,
            }));
        }
    }
}

/// The statements as a mutable list, turning a lone statement object into a list of one.
fn statement_list(policy: &mut Value) -> &mut Vec<Value> {
    let object = policy.as_object_mut().expect("checked to be an object");
    let statement = object.entry("Statement").or_insert_with(|| json!([]));
    if !statement.is_array() {
        *statement = Value::Array(vec![statement.take()]);
    }
    statement.as_array_mut().expect("made a list above")
}

fn allows_web_identity(statement: &Value) -> bool {
    statement.get("Effect").and_then(Value::as_str) == Some("Allow")
        && statement
            .get("Action")
            .map(as_strings)
            .is_some_and(|actions| actions.iter().any(|a| a == ACTION || a == "sts:*"))
}

fn as_strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(one) => vec![one.clone()],
        Value::Array(list) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn dedup(subjects: &[&String]) -> Vec<String> {
    let mut unique: Vec<String> = Vec::new();
    for subject in subjects {
        if !unique.contains(subject) {
            unique.push((*subject).clone());
        }
    }
    unique
}

fn one_or_list(mut values: Vec<String>) -> Value {
    if values.len() == 1 {
        Value::String(values.remove(0))
    } else {
        json!(values)
    }
}

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod unmerge_tests;
