use serde_json::json;

use super::*;

fn provider(hostpath: &str) -> Provider {
    Provider {
        partition: Partition::Aws,
        account: "123456789012".into(),
        issuer_hostpath: hostpath.into(),
    }
}

fn grant(hostpath: &str, subjects: &[&str]) -> Grant {
    Grant {
        provider: provider(hostpath),
        subjects: subjects.iter().map(|s| s.to_string()).collect(),
        audience: "sts.amazonaws.com".into(),
    }
}

const EKS: &str = "oidc.eks.us-west-2.amazonaws.com/id/ABC";

#[test]
fn one_service_account_gives_the_eksctl_shape() {
    let policy = generate(&[grant(EKS, &["system:serviceaccount:shop:cart"])]);
    assert_eq!(
        policy,
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Federated": format!("arn:aws:iam::123456789012:oidc-provider/{EKS}") },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": { "StringEquals": {
                    format!("{EKS}:sub"): "system:serviceaccount:shop:cart",
                    format!("{EKS}:aud"): "sts.amazonaws.com",
                }}
            }]
        })
    );
    // Key order is kept as IAM documents show it.
    let text = serde_json::to_string(&policy).unwrap();
    assert!(text.find("Effect").unwrap() < text.find("Principal").unwrap());
    assert!(text.find(":sub").unwrap() < text.find(":aud").unwrap());
}

#[test]
fn several_service_accounts_of_one_cluster_share_a_statement() {
    let policy = generate(&[grant(
        EKS,
        &[
            "system:serviceaccount:a:x",
            "system:serviceaccount:b:y",
            "system:serviceaccount:a:x",
        ],
    )]);
    assert_eq!(policy["Statement"].as_array().unwrap().len(), 1);
    assert_eq!(
        policy["Statement"][0]["Condition"]["StringEquals"][format!("{EKS}:sub")],
        json!(["system:serviceaccount:a:x", "system:serviceaccount:b:y"])
    );
}

#[test]
fn several_clusters_get_a_statement_each() {
    let policy = generate(&[
        grant(EKS, &["system:serviceaccount:a:x"]),
        grant("issuer.example.com/kind", &["system:serviceaccount:a:x"]),
    ]);
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2);
    assert_eq!(
        statements[1]["Principal"]["Federated"],
        "arn:aws:iam::123456789012:oidc-provider/issuer.example.com/kind"
    );
}

#[test]
fn wildcards_use_string_like_and_keep_the_audience_exact() {
    let policy = generate(&[grant(
        EKS,
        &[
            "system:serviceaccount:shop:cart",
            "system:serviceaccount:team-*:*",
        ],
    )]);
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2);
    assert_eq!(
        statements[1]["Condition"],
        json!({
            "StringLike": { format!("{EKS}:sub"): "system:serviceaccount:team-*:*" },
            "StringEquals": { format!("{EKS}:aud"): "sts.amazonaws.com" },
        })
    );
}

#[test]
fn partitions_appear_in_the_provider_arn() {
    for (partition, expected) in [
        (
            Partition::AwsCn,
            "arn:aws-cn:iam::123456789012:oidc-provider/x",
        ),
        (
            Partition::AwsUsGov,
            "arn:aws-us-gov:iam::123456789012:oidc-provider/x",
        ),
    ] {
        let provider = Provider {
            partition,
            ..provider("x")
        };
        assert_eq!(provider.arn(), expected);
    }
}

#[test]
fn merge_adds_missing_subjects_without_reordering_or_dropping() {
    let existing = json!({
        "Version": "2012-10-17",
        "Statement": [
            { "Sid": "Ec2", "Effect": "Allow", "Principal": { "Service": "ec2.amazonaws.com" }, "Action": "sts:AssumeRole" },
            {
                "Effect": "Allow",
                "Principal": { "Federated": format!("arn:aws:iam::123456789012:oidc-provider/{EKS}") },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": { "StringEquals": {
                    format!("{EKS}:aud"): "sts.amazonaws.com",
                    format!("{EKS}:sub"): "system:serviceaccount:a:x",
                }}
            }
        ]
    });
    let merged = merge(
        existing.clone(),
        &[grant(
            EKS,
            &["system:serviceaccount:a:x", "system:serviceaccount:b:y"],
        )],
    )
    .unwrap();
    let statements = merged["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2);
    assert_eq!(statements[0], existing["Statement"][0]);
    let condition = &statements[1]["Condition"]["StringEquals"];
    assert_eq!(
        condition[format!("{EKS}:sub")],
        json!(["system:serviceaccount:a:x", "system:serviceaccount:b:y"])
    );
    let keys: Vec<&String> = condition.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [&format!("{EKS}:aud"), &format!("{EKS}:sub")],
        "existing key order kept"
    );

    // Merging again changes nothing.
    assert_eq!(
        merge(
            merged.clone(),
            &[grant(EKS, &["system:serviceaccount:b:y"])]
        )
        .unwrap(),
        merged
    );
}

#[test]
fn merge_reads_get_role_output_and_a_lone_statement() {
    let get_role = json!({ "Role": { "RoleName": "cart", "AssumeRolePolicyDocument": {
        "Version": "2012-10-17",
        "Statement": { "Effect": "Allow", "Principal": { "Service": "ec2.amazonaws.com" }, "Action": "sts:AssumeRole" }
    }}});
    let merged = merge(get_role, &[grant(EKS, &["system:serviceaccount:a:x"])]).unwrap();
    assert_eq!(merged["Statement"].as_array().unwrap().len(), 2);
    assert_eq!(
        merged["Statement"][0]["Principal"]["Service"],
        "ec2.amazonaws.com"
    );

    let encoded = json!({ "Role": { "AssumeRolePolicyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[]}" } });
    assert_eq!(
        merge(encoded, &[]).unwrap(),
        json!({ "Version": "2012-10-17", "Statement": [] })
    );
}

#[test]
fn merge_refuses_what_is_not_a_policy_or_can_never_match() {
    assert!(matches!(
        merge(json!([1]), &[]),
        Err(PolicyError::NotAPolicy(_))
    ));
    assert!(matches!(
        merge(json!({ "Statement": 3 }), &[]),
        Err(PolicyError::NotAPolicy(_))
    ));
    let broken = json!({ "Statement": [{
        "Effect": "Allow", "Action": ACTION,
        "Condition": { "StringEquals": { "x:sub": ["system:serviceaccount:team-*:*"] } }
    }]});
    let error = merge(broken, &[]).unwrap_err().to_string();
    assert!(
        error.contains("StringEquals never matches *") && error.contains("use StringLike"),
        "{error}"
    );
}

#[test]
fn size_is_counted_without_white_space_and_warned_about() {
    let small = generate(&[grant(EKS, &["system:serviceaccount:a:x"])]);
    assert_eq!(size(&small), serde_json::to_string(&small).unwrap().len());
    assert!(size_warning(&small).is_none());

    let many: Vec<String> = (0..40)
        .map(|i| format!("system:serviceaccount:namespace-{i}:service-account-{i}"))
        .collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let big = generate(&[grant(EKS, &many)]);
    let warning = size_warning(&big).unwrap();
    assert!(
        size(&big) > DEFAULT_QUOTA && size(&big) < MAX_QUOTA,
        "{}",
        size(&big)
    );
    assert!(
        warning.contains("over IAM's default quota of 2048"),
        "{warning}"
    );

    let huge: Vec<String> = (0..100)
        .map(|i| format!("system:serviceaccount:namespace-{i}:service-account-{i}"))
        .collect();
    let huge: Vec<&str> = huge.iter().map(String::as_str).collect();
    assert!(
        size_warning(&generate(&[grant(EKS, &huge)]))
            .unwrap()
            .contains("over IAM's maximum of 4096")
    );
}
