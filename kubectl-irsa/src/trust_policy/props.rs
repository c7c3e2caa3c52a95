//! Properties of reading and merging trust policies over generated input: the strict reader and
//! the merge never panic, whatever the text or document; a merge leaves every statement that is
//! not this provider's as it was, in its place, and never drops one; merging twice is merging
//! once.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

const HOST: &str = "oidc.example.com/id/X";
const PROVIDER: &str = "arn:aws:iam::123456789012:oidc-provider/oidc.example.com/id/X";

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z:*?/ ]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[A-Za-z]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Statements shaped like real ones, this provider's among them, and some odd values.
fn statement() -> impl Strategy<Value = Value> {
    let effect = prop::sample::select(vec![json!("Allow"), json!("Deny"), json!(1)]);
    let principal = prop::sample::select(vec![
        json!("*"),
        json!({"Federated": PROVIDER}),
        json!({"Federated": [PROVIDER, "arn:aws:iam::1:oidc-provider/b"]}),
        json!({"Service": "ec2.amazonaws.com"}),
        json!(null),
    ]);
    let action = prop::sample::select(vec![
        json!(ACTION),
        json!("sts:*"),
        json!(["sts:AssumeRole", ACTION]),
        json!(7),
    ]);
    let sub = prop::sample::select(vec![
        json!("system:serviceaccount:a:b"),
        json!(["system:serviceaccount:a:b", "system:serviceaccount:c:d"]),
        json!(3),
        json!({"x": 1}),
    ]);
    let operator =
        prop::sample::select(vec!["StringEquals", "StringLike", "ForAnyValue:StringLike"]);
    (effect, principal, action, operator, sub, any_json()).prop_map(
        |(effect, principal, action, operator, sub, extra)| {
            json!({
                "Effect": effect, "Principal": principal, "Action": action,
                "Condition": {operator: {format!("{HOST}:sub"): sub, format!("{HOST}:aud"): "sts.amazonaws.com"}},
                "Extra": extra,
            })
        },
    )
}

fn grant(subjects: Vec<String>) -> Grant {
    Grant::new(
        Partition::Aws,
        "123456789012",
        &format!("https://{HOST}"),
        subjects,
        "sts.amazonaws.com",
    )
}

fn subject() -> impl Strategy<Value = String> {
    "(a|c|team-\\*):(b|d|\\*)".prop_map(|s| format!("system:serviceaccount:{s}"))
}

fn statements_of(policy: &Value) -> Vec<Value> {
    match &policy["Statement"] {
        Value::Array(list) => list.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

proptest! {

    #[test]
    fn reading_any_text_never_panics(text in "[\\[\\]{}\",:a-z0-9 ]{0,60}") {
        let _ = strict_json::parse(&text);
    }

    #[test]
    fn strict_reading_agrees_with_serde_json_without_duplicates(value in any_json()) {
        let text = serde_json::to_string(&value).unwrap();
        prop_assert_eq!(strict_json::parse(&text).unwrap(), value);
    }

    #[test]
    fn merging_any_document_never_panics(document in any_json(), subjects in prop::collection::vec(subject(), 1..3)) {
        let _ = merge(document.clone(), &[grant(subjects.clone())]);
        let wrapped = json!({"Role": {"AssumeRolePolicyDocument": document}});
        let _ = merge(wrapped, &[grant(subjects)]);
    }

    #[test]
    fn merge_keeps_every_other_statement(
        statements in prop::collection::vec(statement(), 0..5),
        subjects in prop::collection::vec(subject(), 1..3),
    ) {
        let policy = json!({"Version": "2012-10-17", "Statement": statements});
        let grants = [grant(subjects)];
        let Ok(merged) = merge(policy.clone(), &grants) else {
            // Only a wildcard under StringEquals is refused.
            return Ok(());
        };
        let (before, after) = (statements_of(&policy), statements_of(&merged));
        prop_assert!(after.len() >= before.len());
        for (old, new) in before.iter().zip(&after) {
            if old != new {
                // Only an Allow of this provider is extended, and only in its :sub values.
                prop_assert_eq!(&old["Principal"]["Federated"], &json!(PROVIDER));
                prop_assert_eq!(&old["Effect"], "Allow");
                let mut without_sub = new.clone();
                for operator in ["StringEquals", "StringLike"] {
                    if let Some(c) = without_sub["Condition"][operator].as_object_mut() {
                        c.remove(&format!("{HOST}:sub"));
                    }
                }
                let mut old_without_sub = old.clone();
                for operator in ["StringEquals", "StringLike"] {
                    if let Some(c) = old_without_sub["Condition"][operator].as_object_mut() {
                        c.remove(&format!("{HOST}:sub"));
                    }
                }
                prop_assert_eq!(without_sub, old_without_sub);
            }
        }
        let twice = merge(merged.clone(), &grants).unwrap();
        prop_assert_eq!(twice, merged);
    }
}
