use irsa_sts::Partition;
use serde_json::json;

use super::*;

const HOST: &str = "oidc.example.com/id/X";
const ROLE: &str = "arn:aws:iam::123456789012:role/cart";
const CART: &str = "system:serviceaccount:shop:cart";

fn role() -> RoleArn {
    ROLE.parse().unwrap()
}

fn grant() -> Grant {
    Grant::new(
        Partition::Aws,
        "123456789012",
        &format!("https://{HOST}"),
        vec![CART.into()],
        "sts.amazonaws.com",
    )
}

fn ec2() -> Value {
    json!({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
}

#[test]
fn a_missing_role_is_created_only_when_asked() {
    let error = bind_change(None, &grant(), &role(), false, 2048).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "role {ROLE} does not exist: pass --create-role to create it trusting this ServiceAccount, or check --role-arn"
        )
    );
    let Change::Create(policy) = bind_change(None, &grant(), &role(), true, 2048).unwrap() else {
        panic!("a role to create")
    };
    assert_eq!(policy, trust_policy::generate(&[grant()]));
}

#[test]
fn merging_twice_changes_nothing_the_second_time() {
    let before = json!({"Version": "2012-10-17", "Statement": [ec2()]});
    let Change::Update { after, .. } =
        bind_change(Some(before.clone()), &grant(), &role(), false, 2048).unwrap()
    else {
        panic!("an update")
    };
    assert_eq!(after["Statement"][0], ec2());
    assert_eq!(
        bind_change(Some(after), &grant(), &role(), false, 2048).unwrap(),
        Change::Unchanged
    );
}

#[test]
fn a_deny_that_would_void_the_binding_is_refused() {
    let deny = json!({"Effect": "Deny", "Principal": {"Federated": grant().provider.arn()}, "Action": ACTION});
    let before = json!({"Version": "2012-10-17", "Statement": [deny]});
    let error = bind_change(Some(before), &grant(), &role(), false, 2048).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("statement 0 of the trust policy of arn:aws:iam::123456789012:role/cart denies sts:AssumeRoleWithWebIdentity to system:serviceaccount:shop:cart"),
        "{error}"
    );
}

#[test]
fn over_the_quota_is_refused_before_iam() {
    let before = json!({"Version": "2012-10-17", "Statement": [ec2()]});
    let error = bind_change(Some(before), &grant(), &role(), false, 200).unwrap_err();
    assert!(matches!(
        error,
        TrustError::Policy(PolicyError::OverQuota { quota: 200, .. })
    ));
}

#[test]
fn unbinding_warns_when_a_wildcard_still_lets_the_account_in() {
    let provider = grant().provider;
    let wildcard = json!({"Effect": "Allow", "Principal": {"Federated": provider.arn()}, "Action": ACTION,
        "Condition": {"StringLike": {format!("{HOST}:sub"): "system:serviceaccount:shop:*"}}});
    let mut policy = trust_policy::generate(&[grant()]);
    policy["Statement"].as_array_mut().unwrap().push(wildcard);
    let (change, warning) =
        unbind_change(policy.clone(), &provider, CART, "sts.amazonaws.com").unwrap();
    let Change::Update { after, .. } = change else {
        panic!("an update")
    };
    assert_eq!(after["Statement"].as_array().unwrap().len(), 1);
    assert_eq!(
        warning.as_deref(),
        Some(
            "statement 0 of the trust policy still lets system:serviceaccount:shop:cart assume the role (a wildcard subject): narrow it to keep the ServiceAccount out"
        )
    );
}

#[test]
fn the_commands_that_fix_a_provider_parse() {
    use clap::Parser;
    let issuer = "https://oidc.example.com/id/X";
    let errors = [
        TrustError::NoProvider {
            provider: grant().provider.arn(),
            issuer: issuer.into(),
        },
        TrustError::NoClientId {
            provider: grant().provider.arn(),
            issuer: issuer.into(),
            audience: "api.example.com/$x".into(),
        },
    ];
    for error in errors {
        let text = error.to_string();
        let command = text
            .split("(kubectl irsa ")
            .nth(1)
            .and_then(|rest| rest.strip_suffix(')'))
            .unwrap_or_else(|| panic!("{text}"));
        let argv = std::iter::once("kubectl-irsa".to_string()).chain(words(command));
        crate::cli::Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{command}: {e}"));
    }
}

/// The words of a command line that quotes with single quotes only (as shell::quote does).
fn words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quoted, mut started) = (Vec::new(), String::new(), false, false);
    for c in line.chars() {
        match c {
            '\'' => (quoted, started) = (!quoted, true),
            ' ' if !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}
