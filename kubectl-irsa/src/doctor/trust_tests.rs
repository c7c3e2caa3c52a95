use super::*;
use crate::doctor::Status;
use serde_json::json;

const HOST: &str = "oidc.eks.us-west-2.amazonaws.com/id/ABC";
const PROVIDER: &str =
    "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC";
const ROLE: &str = "arn:aws:iam::123456789012:role/cart";

fn policy(operator: &str, sub: serde_json::Value) -> serde_json::Value {
    let mut condition = json!({"StringEquals": {format!("{HOST}:aud"): "sts.amazonaws.com"}});
    condition[operator][format!("{HOST}:sub")] = sub;
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": condition,
    }]})
}

fn aud() -> Vec<String> {
    vec!["sts.amazonaws.com".to_string()]
}

fn context<'a>(sub: &'a str, aud: &'a [String]) -> Context<'a> {
    Context {
        provider_arn: PROVIDER,
        hostpath: HOST,
        sub,
        aud,
    }
}

fn claims(sub: &str, aud: &str) -> Claims {
    Claims {
        iss: Some(format!("https://{HOST}")),
        sub: Some(sub.into()),
        aud: vec![aud.into()],
        exp: None,
    }
}

#[test]
fn globs_like_iam() {
    assert!(glob(
        "system:serviceaccount:team-*:*",
        "system:serviceaccount:team-a:cart"
    ));
    assert!(glob("a?c", "abc"));
    assert!(!glob("a?c", "ac"));
    assert!(glob("*", ""));
    assert!(glob("a*b*c", "aXbYbc"));
    assert!(!glob("a*b", "a:c"));
    assert!(!glob("abc", "abcd"));
}

#[test]
fn string_equals_is_exact() {
    let aud = aud();
    let p = policy("StringEquals", json!("system:serviceaccount:shop:cart"));
    assert_eq!(
        evaluate(&p, &context("system:serviceaccount:shop:cart", &aud)),
        Outcome::Allowed { statement: 0 }
    );
    let Outcome::NoMatch {
        reason,
        wildcard_key,
    } = evaluate(&p, &context("system:serviceaccount:web:cart", &aud))
    else {
        panic!()
    };
    assert!(reason.contains("StringEquals \"oidc.eks.us-west-2.amazonaws.com/id/ABC:sub\" wants \"system:serviceaccount:shop:cart\" but the token has \"system:serviceaccount:web:cart\""), "{reason}");
    assert_eq!(wildcard_key, None);
}

#[test]
fn wildcards_need_string_like() {
    let aud = aud();
    let sub = "system:serviceaccount:team-a:cart";
    let equals = policy("StringEquals", json!("system:serviceaccount:team-*:*"));
    let Outcome::NoMatch {
        reason,
        wildcard_key,
    } = evaluate(&equals, &context(sub, &aud))
    else {
        panic!()
    };
    assert!(reason.contains("use StringLike"), "{reason}");
    assert_eq!(wildcard_key, Some(format!("{HOST}:sub")));
    let like = policy(
        "StringLike",
        json!([
            "system:serviceaccount:other:x",
            "system:serviceaccount:team-*:*"
        ]),
    );
    assert_eq!(
        evaluate(&like, &context(sub, &aud)),
        Outcome::Allowed { statement: 0 }
    );
}

#[test]
fn audience_principal_keys_and_denies() {
    let p = policy("StringEquals", json!("system:serviceaccount:shop:cart"));
    let wrong_aud = vec!["other".to_string()];
    let Outcome::NoMatch { reason, .. } =
        evaluate(&p, &context("system:serviceaccount:shop:cart", &wrong_aud))
    else {
        panic!()
    };
    assert!(
        reason.contains(":aud\" wants \"sts.amazonaws.com\""),
        "{reason}"
    );

    let aud = aud();
    let other_provider = Context {
        provider_arn: "arn:aws:iam::123456789012:oidc-provider/other",
        ..context("system:serviceaccount:shop:cart", &aud)
    };
    let Outcome::NoMatch { reason, .. } = evaluate(&p, &other_provider) else {
        panic!()
    };
    assert!(reason.contains("statement 0 trusts"), "{reason}");

    // Keys are case-insensitive; IfExists passes on absent keys; Deny wins.
    let mut mixed = p.clone();
    mixed["Statement"][0]["Condition"] = json!({
        "StringEquals": {format!("{}:SUB", HOST.to_uppercase()): "system:serviceaccount:shop:cart"},
        "StringEqualsIfExists": {format!("{HOST}:amr"): "x"},
    });
    assert_eq!(
        evaluate(&mixed, &context("system:serviceaccount:shop:cart", &aud)),
        Outcome::Allowed { statement: 0 }
    );
    let mut denied = p.clone();
    let deny = json!({"Effect": "Deny", "Principal": "*", "Action": "sts:*", "Condition": {"StringNotLike": {format!("{HOST}:sub"): "system:serviceaccount:prod:*"}}});
    denied["Statement"].as_array_mut().unwrap().push(deny);
    assert_eq!(
        evaluate(&denied, &context("system:serviceaccount:shop:cart", &aud)),
        Outcome::Denied { statement: 1 }
    );
    let other_action = json!({"Statement": {"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": "sts:AssumeRole"}});
    assert!(matches!(
        evaluate(&other_action, &context("x", &aud)),
        Outcome::NoMatch { .. }
    ));
}

#[test]
fn trust_check_names_the_condition_and_the_fix() {
    let role: RoleArn = ROLE.parse().unwrap();
    let p = policy("StringEquals", json!("system:serviceaccount:web:cart"));
    let check = check_trust(
        &p,
        Some(&role),
        &claims("system:serviceaccount:shop:cart", "sts.amazonaws.com"),
        "shop",
        "cart",
    );
    assert_eq!(check.status, Status::Fail);
    assert!(
        check.evidence.starts_with("statement 0: StringEquals"),
        "{check:?}"
    );
    assert!(check.fix.unwrap().starts_with("kubectl irsa trust-policy --service-account shop:cart --role-arn arn:aws:iam::123456789012:role/cart --merge FILE"));

    let get_role = json!({"Role": {"Arn": ROLE, "AssumeRolePolicyDocument": policy("StringLike", json!("system:serviceaccount:sh?p:*"))}});
    let pass = check_trust(
        &get_role,
        None,
        &claims("system:serviceaccount:shop:cart", "sts.amazonaws.com"),
        "shop",
        "cart",
    );
    assert_eq!(pass.status, Status::Pass, "{pass:?}");

    let wildcard = policy("StringEquals", json!("system:serviceaccount:shop:*"));
    let fail = check_trust(
        &wildcard,
        Some(&role),
        &claims("system:serviceaccount:shop:cart", "sts.amazonaws.com"),
        "shop",
        "cart",
    );
    assert!(
        fail.fix
            .unwrap()
            .contains("from StringEquals to StringLike")
    );
    let none = check_trust(&p, None, &claims("x", "y"), "shop", "cart");
    assert!(none.fix.unwrap().contains("kubectl irsa bind cart -n shop"));
    assert_eq!(
        check_trust(&json!({}), Some(&role), &claims("x", "y"), "shop", "cart").status,
        Status::Fail
    );
}

#[test]
fn the_fix_line_quotes_a_role_from_get_role_output() {
    // IAM role paths take any of `!` to `~`: a get-role output may name such a role.
    let hostile = "arn:aws:iam::123456789012:role/$(touch$IFS'x');/cart";
    let p = policy("StringEquals", json!("system:serviceaccount:web:cart"));
    let get_role = json!({"Role": {"Arn": hostile, "AssumeRolePolicyDocument": p}});
    let check = check_trust(
        &get_role,
        None,
        &claims("system:serviceaccount:shop:cart", "sts.amazonaws.com"),
        "shop",
        "cart",
    );
    assert_eq!(
        check.fix.unwrap(),
        r#"kubectl irsa trust-policy --service-account shop:cart --role-arn 'arn:aws:iam::123456789012:role/$(touch$IFS'\''x'\'');/cart' --merge FILE > trust.json && aws iam update-assume-role-policy --role-name cart --policy-document file://trust.json"#
    );
}
