//! Taking one ServiceAccount out of a trust policy: the inverse of [`super::merge`], as narrow.
//! Only an Allow of `sts:AssumeRoleWithWebIdentity` whose Federated principal is exactly this
//! provider is touched, and in it only the `:sub` values equal to the subject: a list loses
//! that value, a statement left without subject goes. Every other statement stays as it was, in
//! its place. IAM refuses a trust policy without statements (MalformedPolicyDocument), so a
//! change that would leave none is refused here, with the reason.

use serde_json::Value;

use super::{PolicyError, Provider, allows_web_identity, as_strings, one_or_list, unwrap_get_role};

/// What unmerging did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unmerged {
    /// The policy without the subject.
    Removed(Value),
    /// No statement of this provider names the subject exactly: nothing to change.
    Absent,
}

/// Removes `subject` of `provider` from `existing` (a policy or `aws iam get-role` output).
pub fn unmerge(
    existing: Value,
    provider: &Provider,
    subject: &str,
) -> Result<Unmerged, PolicyError> {
    let (mut policy, _) = unwrap_get_role(existing)?;
    let provider_arn = provider.arn();
    let sub_key = format!("{}:sub", provider.issuer_hostpath);
    let mut removed = false;
    let mut emptied = Vec::new();
    for (index, statement) in statements_mut(&mut policy).into_iter().enumerate() {
        if !is_providers(statement, &provider_arn) {
            continue;
        }
        for operator in ["StringEquals", "StringLike"] {
            match remove_from(statement, operator, &sub_key, subject) {
                Removal::None => {}
                Removal::Some => removed = true,
                Removal::Emptied => {
                    removed = true;
                    emptied.push(index);
                }
            }
        }
    }
    if !removed {
        return Ok(Unmerged::Absent);
    }
    emptied.dedup();
    drop_statements(&mut policy, &emptied);
    if statements_mut(&mut policy).is_empty() {
        return Err(PolicyError::WouldBeEmpty {
            subject: subject.to_string(),
        });
    }
    Ok(Unmerged::Removed(policy))
}

enum Removal {
    None,
    Some,
    Emptied,
}

/// Takes `subject` out of `Condition.OPERATOR.KEY`; a value that is not a string or a list of
/// strings is not this tool's to rewrite, and is left alone.
fn remove_from(statement: &mut Value, operator: &str, key: &str, subject: &str) -> Removal {
    let Some(condition) = statement
        .pointer_mut(&format!("/Condition/{operator}"))
        .and_then(Value::as_object_mut)
    else {
        return Removal::None;
    };
    let Some(value) = condition.get(key) else {
        return Removal::None;
    };
    let all_strings = match value {
        Value::String(_) => true,
        Value::Array(list) => list.iter().all(Value::is_string),
        _ => false,
    };
    let mut values = as_strings(value);
    if !all_strings || !values.iter().any(|v| v == subject) {
        return Removal::None;
    }
    values.retain(|v| v != subject);
    if values.is_empty() {
        return Removal::Emptied;
    }
    condition.insert(key.to_string(), one_or_list(values));
    Removal::Some
}

fn is_providers(statement: &Value, provider_arn: &str) -> bool {
    allows_web_identity(statement)
        && statement
            .pointer("/Principal/Federated")
            .map(as_strings)
            .unwrap_or_default()
            == [provider_arn]
}

/// The statements, a lone statement object as a list of one.
fn statements_mut(policy: &mut Value) -> Vec<&mut Value> {
    match policy.get_mut("Statement") {
        Some(Value::Array(list)) => list.iter_mut().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

/// Drops the statements at `indexes` (ascending); a lone statement object becomes an empty list.
fn drop_statements(policy: &mut Value, indexes: &[usize]) {
    let Some(statement) = policy.get_mut("Statement") else {
        return;
    };
    match statement {
        Value::Array(list) => {
            for index in indexes.iter().rev() {
                list.remove(*index);
            }
        }
        Value::Object(_) if indexes == [0] => *statement = Value::Array(Vec::new()),
        _ => {}
    }
}
