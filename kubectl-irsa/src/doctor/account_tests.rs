use super::*;
use crate::doctor::Status;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use serde_json::json;

fn keys() -> Keys {
    Keys::new("eks.amazonaws.com")
}

fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (format!("eks.amazonaws.com/{k}"), (*v).to_string()))
        .collect()
}

#[test]
fn role_arn_must_be_there_valid_and_of_the_partition() {
    let ok = annotations(&[("role-arn", "arn:aws:iam::123456789012:role/cart")]);
    let (check, role) = check_role_arn(
        &ok,
        &keys(),
        Some("https://oidc.eks.us-west-2.amazonaws.com/id/X"),
        "shop",
        "cart",
    );
    assert_eq!(check.status, Status::Pass);
    assert!(role.is_some());

    let (missing, _) = check_role_arn(&BTreeMap::new(), &keys(), None, "shop", "cart");
    assert_eq!(missing.status, Status::Fail);
    assert_eq!(
        missing.fix.as_deref(),
        Some("kubectl irsa bind cart -n shop --role-arn ARN")
    );

    let bad = annotations(&[("role-arn", "arn:aws:iam::12345:role/cart")]);
    let (malformed, _) = check_role_arn(&bad, &keys(), None, "shop", "cart");
    assert!(
        malformed.evidence.contains("the account is not 12 digits"),
        "{malformed:?}"
    );

    let (china, _) = check_role_arn(
        &ok,
        &keys(),
        Some("https://oidc.eks.cn-north-1.amazonaws.com.cn/id/X"),
        "shop",
        "cart",
    );
    assert_eq!(china.status, Status::Fail);
    assert!(
        china
            .fix
            .unwrap()
            .contains("arn:aws-cn:iam::ACCOUNT:role/NAME")
    );
}

#[test]
fn audience_and_expiration() {
    assert_eq!(
        check_audience(&BTreeMap::new(), &keys(), "shop", "cart").status,
        Status::Pass
    );
    let custom = check_audience(
        &annotations(&[("audience", "vault")]),
        &keys(),
        "shop",
        "cart",
    );
    assert_eq!(custom.status, Status::Warn);
    assert!(
        custom.fix.unwrap().starts_with(
            "kubectl annotate serviceaccount cart -n shop eks.amazonaws.com/audience-"
        )
    );
    assert_eq!(
        check_audience(&annotations(&[("audience", " ")]), &keys(), "shop", "cart").status,
        Status::Fail
    );

    let expiration = |value: &str| {
        let annotations = annotations(&[("token-expiration", value)]);
        check_expiration(&annotations, &keys(), "s", "c")
    };
    assert_eq!(
        check_expiration(&BTreeMap::new(), &keys(), "s", "c"),
        Check::pass("token-expiration", "86400 s (the default)")
    );
    let short = expiration("300");
    assert_eq!(short.status, Status::Warn);
    assert!(short.evidence.contains("raises it to 600"));
    assert_eq!(expiration("1h").status, Status::Fail);
    // As the webhook reads it (Go's ParseInt): no spaces, and a negative number is raised.
    assert_eq!(
        expiration(" 900"),
        Check::fail(
            "token-expiration",
            "eks.amazonaws.com/token-expiration=\" 900\" is not a number of seconds: the webhook ignores it",
            "kubectl annotate serviceaccount c -n s --overwrite eks.amazonaws.com/token-expiration=86400"
        )
    );
    assert_eq!(
        expiration("-5"),
        Check::warn(
            "token-expiration",
            "-5 s: the webhook raises it to 600 s",
            "kubectl annotate serviceaccount c -n s --overwrite eks.amazonaws.com/token-expiration=600"
        )
    );
    assert_eq!(
        expiration("3600"),
        Check::pass("token-expiration", "3600 s")
    );
}

#[test]
fn webhook_configurations() {
    let eks: MutatingWebhookConfiguration = serde_json::from_value(json!({
        "metadata": {"name": "pod-identity-webhook"},
        "webhooks": [{"name": "iam-for-pods.amazonaws.com", "clientConfig": {"url": "https://x"}, "sideEffects": "None", "admissionReviewVersions": ["v1"]}],
    })).unwrap();
    let found = Webhook::find(&[eks]);
    assert_eq!(
        found,
        Some(Webhook {
            config: "pod-identity-webhook".into(),
            service: None
        })
    );
    assert_eq!(check_webhook(&Ok(found), None).status, Status::Pass);
    let none = check_webhook(&Ok(None), None);
    assert_eq!(none.status, Status::Warn);
    assert!(none.fix.unwrap().contains("kubectl irsa inject"));
    let service = Ok(Some(Webhook {
        config: "w".into(),
        service: Some("kube-system/w".into()),
    }));
    assert_eq!(
        check_webhook(&service, Some(&Ok(false))),
        Check::fail(
            "webhook",
            "w calls service kube-system/w, which has no ready endpoints: pods are created uninjected (failurePolicy Ignore)",
            "kubectl get pods -n kube-system and fix the webhook's deployment"
        )
    );
    assert_eq!(
        check_webhook(&service, Some(&Err("404".into()))),
        Check::pass(
            "webhook",
            "w, service kube-system/w (its endpoints could not be read: 404)"
        )
    );
    assert_eq!(
        check_webhook(&service, None),
        Check::pass("webhook", "w, service kube-system/w")
    );
}
