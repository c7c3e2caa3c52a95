//! Unmerge (unbind's change to a trust policy) and the quota check, by example and by property:
//! taking out what merge put in gives back the policy merge started from, and no other
//! statement ever moves or changes.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

const HOST: &str = "oidc.example.com/id/X";
const PROVIDER: &str = "arn:aws:iam::123456789012:oidc-provider/oidc.example.com/id/X";
const CART: &str = "system:serviceaccount:shop:cart";

fn provider() -> Provider {
    Provider {
        partition: Partition::Aws,
        account: "123456789012".into(),
        issuer_hostpath: HOST.into(),
    }
}

fn grant(subject: &str) -> Grant {
    Grant {
        provider: provider(),
        subjects: vec![subject.to_string()],
        audience: "sts.amazonaws.com".into(),
    }
}

fn ec2() -> Value {
    json!({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
}

fn web_identity(provider: &str, host: &str, sub: Value) -> Value {
    json!({
        "Effect": "Allow", "Principal": {"Federated": provider}, "Action": ACTION,
        "Condition": {"StringEquals": {format!("{host}:sub"): sub, format!("{host}:aud"): "sts.amazonaws.com"}},
    })
}

fn policy(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[test]
fn a_subject_leaves_a_list_and_the_last_one_takes_its_statement() {
    let two = policy(vec![
        ec2(),
        web_identity(
            PROVIDER,
            HOST,
            json!([CART, "system:serviceaccount:shop:api"]),
        ),
    ]);
    let Unmerged::Removed(one) = unmerge(two, &provider(), CART).unwrap() else {
        panic!("cart was there")
    };
    assert_eq!(
        one,
        policy(vec![
            ec2(),
            web_identity(PROVIDER, HOST, json!("system:serviceaccount:shop:api"))
        ])
    );
    let Unmerged::Removed(none) =
        unmerge(one, &provider(), "system:serviceaccount:shop:api").unwrap()
    else {
        panic!("api was there")
    };
    assert_eq!(none, policy(vec![ec2()]));
}

#[test]
fn another_clusters_statement_and_patterns_are_not_touched() {
    let other = "arn:aws:iam::123456789012:oidc-provider/other.example.com";
    let existing = policy(vec![
        web_identity(other, "other.example.com", json!(CART)),
        json!({"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": ACTION,
               "Condition": {"StringLike": {format!("{HOST}:sub"): "system:serviceaccount:shop:*"}}}),
    ]);
    assert_eq!(
        unmerge(existing, &provider(), CART).unwrap(),
        Unmerged::Absent
    );
}

#[test]
fn a_change_leaving_no_statement_is_refused() {
    let existing =
        json!({"Version": "2012-10-17", "Statement": web_identity(PROVIDER, HOST, json!(CART))});
    let error = unmerge(existing, &provider(), CART).unwrap_err();
    assert_eq!(
        error.to_string(),
        "removing system:serviceaccount:shop:cart would leave no statement in the trust policy, and IAM refuses a role without one (MalformedPolicyDocument): bind another ServiceAccount to the role first, or delete the role if nothing uses it"
    );
}

#[test]
fn get_role_output_is_unwrapped_as_merge_unwraps_it() {
    let document = policy(vec![ec2(), web_identity(PROVIDER, HOST, json!(CART))]);
    let text = serde_json::to_string(&document).unwrap();
    let output = json!({"Role": {"Arn": "arn:aws:iam::123456789012:role/cart", "AssumeRolePolicyDocument": text}});
    assert_eq!(
        unmerge(output, &provider(), CART).unwrap(),
        Unmerged::Removed(policy(vec![ec2()]))
    );
}

#[test]
fn the_quota_counts_characters_without_white_space_and_names_the_way_out() {
    let small = policy(vec![ec2()]);
    assert!(check_quota(&small, "arn:aws:iam::1:role/r", DEFAULT_QUOTA).is_ok());
    let compact = serde_json::to_string(&small).unwrap().chars().count();
    // Pretty printing adds white space that IAM does not count.
    assert!(serde_json::to_string_pretty(&small).unwrap().len() > compact);
    assert!(check_quota(&small, "r", compact).is_ok());
    let error = check_quota(&small, "arn:aws:iam::1:role/r", compact - 1).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "the trust policy of arn:aws:iam::1:role/r would be {compact} characters (white space not counted), over the role trust policy quota of {}, and IAM would refuse it (LimitExceeded): trust a wildcard subject under StringLike instead of one ServiceAccount at a time (kubectl irsa trust-policy --service-account 'NAMESPACE:*'), bind this ServiceAccount to another role, or have the \"Role trust policy length\" quota (L-C07B4B0D) raised in Service Quotas and pass the new value as --trust-policy-quota",
            compact - 1
        )
    );
}

fn any_statement() -> impl Strategy<Value = Value> {
    let other = "arn:aws:iam::123456789012:oidc-provider/other.example.com";
    prop_oneof![
        Just(ec2()),
        Just(web_identity(other, "other.example.com", json!(CART))),
        Just(web_identity(
            PROVIDER,
            HOST,
            json!("system:serviceaccount:a:b")
        )),
        Just(web_identity(
            PROVIDER,
            HOST,
            json!(["system:serviceaccount:a:b", "system:serviceaccount:c:d"])
        )),
        Just(
            json!({"Effect": "Deny", "Principal": {"Federated": PROVIDER}, "Action": ACTION,
                    "Condition": {"StringEquals": {format!("{HOST}:sub"): CART}}})
        ),
    ]
}

proptest! {
    #[test]
    fn unmerge_takes_back_exactly_what_merge_added(
        statements in prop::collection::vec(any_statement(), 1..5),
        subject in "system:serviceaccount:(shop|x):(cart|y)",
    ) {
        let before = policy(statements);
        prop_assume!(unmerge(before.clone(), &provider(), &subject).unwrap() == Unmerged::Absent);
        let merged = merge(before.clone(), &[grant(&subject)]).unwrap();
        prop_assert_eq!(unmerge(merged, &provider(), &subject).unwrap(), Unmerged::Removed(before));
    }

    #[test]
    fn unmerge_leaves_every_other_statement_in_its_place(
        statements in prop::collection::vec(any_statement(), 1..6),
    ) {
        let before = policy(statements.clone());
        let after = match unmerge(before, &provider(), "system:serviceaccount:a:b") {
            Ok(Unmerged::Removed(after)) => after,
            Ok(Unmerged::Absent) | Err(PolicyError::WouldBeEmpty { .. }) => return Ok(()),
            Err(other) => panic!("{other}"),
        };
        let kept: Vec<&Value> = statements
            .iter()
            .filter(|s| s[ "Condition"]["StringEquals"][format!("{HOST}:sub")] != json!("system:serviceaccount:a:b")
                || s["Effect"] == "Deny")
            .collect();
        let after = after["Statement"].as_array().unwrap();
        prop_assert_eq!(after.len(), kept.len());
        for (old, new) in kept.iter().zip(after) {
            if *old != new {
                // Only the list with a:b lost it.
                prop_assert_eq!(&new["Condition"]["StringEquals"][format!("{HOST}:sub")], &json!("system:serviceaccount:c:d"));
            }
        }
    }
}
