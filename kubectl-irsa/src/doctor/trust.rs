//! Check 6: a role's trust policy evaluated against a token's claims as IAM evaluates it for
//! `sts:AssumeRoleWithWebIdentity`: an explicit Deny wins, else one Allow statement must match
//! the action, the Federated principal (the provider ARN) and every condition. Conditions: all
//! operators and keys must hold, any value of a key may match; `StringEquals` compares exactly
//! (a `*` is a literal there), `StringLike` globs with `*` and `?`; condition keys are
//! case-insensitive, values are not (but for the `IgnoreCase` operators).

use crate::shell::quote;
use irsa_sts::{Claims, RoleArn};
use serde_json::Value;

use super::Check;
use crate::trust_policy::{ACTION, PolicyError, Provider, unwrap_get_role};

/// What a token presents to IAM.
#[derive(Clone, Debug)]
pub struct Context<'a> {
    pub provider_arn: &'a str,
    /// The issuer without `https://` and trailing slash: the prefix of the condition keys.
    pub hostpath: &'a str,
    pub sub: &'a str,
    pub aud: &'a [String],
}

/// How IAM would answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Allowed {
        statement: usize,
    },
    Denied {
        statement: usize,
    },
    /// No Allow statement matches; the reason names the statement and the condition.
    NoMatch {
        reason: String,
        wildcard_key: Option<String>,
    },
}

/// The policy out of a policy or `aws iam get-role` output, and the role the output names; it
/// must have statements to evaluate.
fn unwrap_policy(value: Value) -> Result<(Value, Option<String>), String> {
    let (policy, role) = unwrap_get_role(value).map_err(|error| match error {
        PolicyError::NotAPolicy(why) => why,
        other => other.to_string(),
    })?;
    match policy.get("Statement") {
        Some(_) => Ok((policy, role)),
        None => Err("no Statement list: give a trust policy or `aws iam get-role` output".into()),
    }
}

/// Evaluates `policy` for `context`.
pub fn evaluate(policy: &Value, context: &Context<'_>) -> Outcome {
    let statements: Vec<&Value> = match policy.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    let mut allowed = None;
    let mut closest: Option<(bool, String, Option<String>)> = None;
    for (index, statement) in statements.iter().enumerate() {
        let deny = statement.get("Effect").and_then(Value::as_str) == Some("Deny");
        if !action_matches(statement) {
            continue;
        }
        let principal = principal_matches(statement, context.provider_arn);
        let conditions = conditions_hold(statement, context);
        match (principal, conditions, deny) {
            (true, Ok(()), true) => return Outcome::Denied { statement: index },
            (true, Ok(()), false) => allowed = allowed.or(Some(index)),
            (_, _, true) => {}
            (false, _, false) => {
                let trusted = strings(statement.pointer("/Principal/Federated"));
                let reason = format!(
                    "statement {index} trusts {}, not {}",
                    quoted(&trusted),
                    context.provider_arn
                );
                if closest.is_none() {
                    closest = Some((false, reason, None));
                }
            }
            (
                true,
                Err(Mismatch {
                    reason,
                    wildcard_key,
                }),
                false,
            ) => {
                if !closest.as_ref().is_some_and(|c| c.0) {
                    closest = Some((true, format!("statement {index}: {reason}"), wildcard_key));
                }
            }
        }
    }
    if let Some(statement) = allowed {
        return Outcome::Allowed { statement };
    }
    let (reason, wildcard_key) = match closest {
        Some((_, reason, wildcard)) => (reason, wildcard),
        None => (format!("no Allow statement grants {ACTION}"), None),
    };
    Outcome::NoMatch {
        reason,
        wildcard_key,
    }
}

fn action_matches(statement: &Value) -> bool {
    let matches = |patterns: Vec<String>| {
        patterns
            .iter()
            .any(|p| glob(&p.to_ascii_lowercase(), &ACTION.to_ascii_lowercase()))
    };
    match (statement.get("Action"), statement.get("NotAction")) {
        (Some(action), _) => matches(strings(Some(action))),
        (None, Some(not_action)) => !matches(strings(Some(not_action))),
        (None, None) => false,
    }
}

fn principal_matches(statement: &Value, provider_arn: &str) -> bool {
    match statement.get("Principal") {
        Some(Value::String(star)) => star == "*",
        Some(principal) => strings(principal.get("Federated"))
            .iter()
            .any(|p| p == provider_arn),
        None => false,
    }
}

struct Mismatch {
    reason: String,
    /// The key whose StringEquals value holds a wildcard that would have matched.
    wildcard_key: Option<String>,
}

fn conditions_hold(statement: &Value, context: &Context<'_>) -> Result<(), Mismatch> {
    let Some(conditions) = statement.get("Condition").and_then(Value::as_object) else {
        return Ok(());
    };
    for (operator, keys) in conditions {
        let Some(keys) = keys.as_object() else {
            continue;
        };
        for (key, wanted) in keys {
            condition_holds(operator, key, &strings(Some(wanted)), context)?;
        }
    }
    Ok(())
}

fn condition_holds(
    operator: &str,
    key: &str,
    wanted: &[String],
    context: &Context<'_>,
) -> Result<(), Mismatch> {
    let mismatch = |reason: String| Mismatch {
        reason,
        wildcard_key: None,
    };
    let Some(parsed) = StringOperator::parse(operator) else {
        return Err(mismatch(format!(
            "{operator} on {key:?} cannot be judged here (only String operators on :sub and :aud are)"
        )));
    };
    let present: Vec<&str> = match context_values(key, context) {
        Some(values) => values,
        None if parsed.if_exists || parsed.negated => return Ok(()),
        None => {
            return Err(mismatch(format!(
                "{operator} on {key:?}, a key this cluster's tokens do not present (their keys start with {:?})",
                context.hostpath
            )));
        }
    };
    let any = present
        .iter()
        .any(|have| wanted.iter().any(|want| (parsed.compare)(want, have)));
    if any != parsed.negated {
        return Ok(());
    }
    let reason = format!(
        "{operator} {key:?} {} {} but the token has {}",
        if parsed.negated { "excludes" } else { "wants" },
        quoted(wanted),
        quoted(&present)
    );
    let wildcard = parsed.exact
        && !parsed.negated
        && wanted
            .iter()
            .any(|w| w.contains(['*', '?']) && present.iter().any(|have| glob(w, have)));
    if wildcard {
        return Err(Mismatch {
            reason: format!("{reason}: StringEquals treats * and ? literally; use StringLike"),
            wildcard_key: Some(key.to_string()),
        });
    }
    Err(mismatch(reason))
}

/// A String condition operator taken apart: `[ForAnyValue:|ForAllValues:]String[Not]...[IfExists]`.
struct StringOperator {
    negated: bool,
    if_exists: bool,
    /// `StringEquals` (or `StringNotEquals`): where a `*` is a literal.
    exact: bool,
    /// Whether a wanted value matches a present one.
    compare: fn(&str, &str) -> bool,
}

impl StringOperator {
    /// `None` for operators other than the String ones.
    fn parse(operator: &str) -> Option<StringOperator> {
        let base = operator
            .trim_start_matches("ForAnyValue:")
            .trim_start_matches("ForAllValues:");
        let (base, if_exists) = match base.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (base, false),
        };
        let (negated, positive) = match base.strip_prefix("StringNot") {
            Some(rest) => (true, format!("String{rest}")),
            None => (false, base.to_string()),
        };
        let compare: fn(&str, &str) -> bool = match positive.as_str() {
            "StringEquals" => |want, have| want == have,
            "StringEqualsIgnoreCase" => |want, have| want.eq_ignore_ascii_case(have),
            "StringLike" => glob,
            _ => return None,
        };
        Some(StringOperator {
            negated,
            if_exists,
            exact: positive == "StringEquals",
            compare,
        })
    }
}

/// The values the token presents for a condition key (keys are case-insensitive).
fn context_values<'a>(key: &str, context: &Context<'a>) -> Option<Vec<&'a str>> {
    let (prefix, claim) = key.rsplit_once(':')?;
    if !prefix.eq_ignore_ascii_case(context.hostpath) {
        return None;
    }
    match claim.to_ascii_lowercase().as_str() {
        "sub" => Some(vec![context.sub]),
        "aud" => Some(context.aud.iter().map(String::as_str).collect()),
        _ => None,
    }
}

/// IAM's StringLike: `*` matches any run of characters, `?` exactly one.
pub fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn quoted<T: AsRef<str>>(values: &[T]) -> String {
    match values {
        [] => "nothing".into(),
        [one] => format!("{:?}", one.as_ref()),
        many => format!(
            "one of [{}]",
            many.iter()
                .map(|v| format!("{:?}", v.as_ref()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The name of check 6.
const NAME: &str = "trust";

/// Check 6 for a ServiceAccount: `document` is the `--trust-policy` file's JSON, `role` the
/// ServiceAccount's role (the get-role output's ARN wins), `claims` those of a fresh token.
pub fn check_trust(
    document: &Value,
    role: Option<&RoleArn>,
    claims: &Claims,
    namespace: &str,
    name: &str,
) -> Check {
    let (policy, role) = match policy_and_role(document, role, namespace, name) {
        Ok(found) => found,
        Err(check) => return check,
    };
    let (Some(iss), Some(sub)) = (claims.iss.as_deref(), claims.sub.as_deref()) else {
        return Check::fail(
            NAME,
            "the token has no iss or sub claim",
            "check the apiserver's --service-account-issuer",
        );
    };
    let provider = Provider {
        partition: role.partition(),
        account: role.account().to_string(),
        issuer_hostpath: irsa_sts::token::issuer_hostpath(iss).to_string(),
    };
    let provider_arn = provider.arn();
    let context = Context {
        provider_arn: &provider_arn,
        hostpath: &provider.issuer_hostpath,
        sub,
        aud: &claims.aud,
    };
    let outcome = evaluate(&policy, &context);
    outcome_check(outcome, &context, &role, namespace, name)
}

/// The policy out of `document`, and the role it belongs to: the get-role output's ARN, else
/// the ServiceAccount's. `Err` is the failed check.
fn policy_and_role(
    document: &Value,
    role: Option<&RoleArn>,
    namespace: &str,
    name: &str,
) -> Result<(Value, RoleArn), Check> {
    let (policy, get_role_arn) = unwrap_policy(document.clone()).map_err(|why| {
        Check::fail(
            NAME,
            format!("--trust-policy is not a trust policy: {why}"),
            "pass the policy JSON or the output of `aws iam get-role --role-name NAME`",
        )
    })?;
    let role = match (get_role_arn.map(|arn| arn.parse::<RoleArn>()), role) {
        (Some(Ok(arn)), _) => arn,
        (Some(Err(error)), _) => {
            return Err(Check::fail(
                NAME,
                error.to_string(),
                "check the get-role output",
            ));
        }
        (None, Some(role)) => role.clone(),
        (None, None) => {
            return Err(Check::fail(
                NAME,
                "no valid role ARN gives the provider's account and partition",
                format!(
                    "bind a role first: kubectl irsa bind {name} -n {namespace} --role-arn ARN"
                ),
            ));
        }
    };
    Ok((policy, role))
}

/// IAM's answer as a check, with the fix for a refusal.
fn outcome_check(
    outcome: Outcome,
    context: &Context<'_>,
    role: &RoleArn,
    namespace: &str,
    name: &str,
) -> Check {
    match outcome {
        Outcome::Allowed { statement } => Check::pass(
            NAME,
            format!(
                "statement {statement} lets {} (aud {}) assume {role}",
                context.sub,
                context.aud.join(",")
            ),
        ),
        Outcome::Denied { statement } => Check::fail(
            NAME,
            format!("statement {statement} explicitly denies {}", context.sub),
            format!(
                "remove or narrow the Deny statement {statement} of {}'s trust policy",
                role.name()
            ),
        ),
        Outcome::NoMatch {
            reason,
            wildcard_key: Some(key),
        } => Check::fail(
            NAME,
            reason,
            format!(
                "move {key:?} from StringEquals to StringLike in {}'s trust policy",
                role.name()
            ),
        ),
        Outcome::NoMatch { reason, .. } => Check::fail(
            NAME,
            reason,
            format!(
                "kubectl irsa trust-policy --service-account {} --role-arn {} --merge FILE > trust.json && aws iam update-assume-role-policy --role-name {} --policy-document file://trust.json",
                quote(&format!("{namespace}:{name}")),
                quote(role.as_str()),
                quote(role.name())
            ),
        ),
    }
}

#[cfg(test)]
#[path = "trust_tests.rs"]
mod tests;
