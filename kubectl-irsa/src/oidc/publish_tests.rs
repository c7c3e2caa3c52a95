use super::*;

fn ok(issuer: &str, bucket: &str) -> Target {
    target(issuer, bucket, "keys.json", false).unwrap()
}

#[test]
fn s3_issuers_give_their_bucket_and_keys() {
    let virtual_hosted = ok("https://oidc-b.s3.eu-west-1.amazonaws.com/c1", "oidc-b");
    assert_eq!(
        virtual_hosted,
        Target {
            bucket: "oidc-b".into(),
            region: Some("eu-west-1".into()),
            discovery_key: "c1/.well-known/openid-configuration".into(),
            jwks_key: "c1/keys.json".into(),
            s3_url: true,
        }
    );
    let path_style = ok("https://s3.eu-west-1.amazonaws.com/oidc-b/c1/", "oidc-b");
    assert_eq!(
        path_style, virtual_hosted,
        "a trailing slash adds no segment"
    );
    let root = ok("https://oidc-b.s3.amazonaws.com", "oidc-b");
    assert_eq!(
        (
            root.region,
            root.discovery_key.as_str(),
            root.jwks_key.as_str()
        ),
        (None, ".well-known/openid-configuration", "keys.json")
    );
    let legacy = target(
        "https://s3-us-west-2.amazonaws.com/oidc-b",
        "oidc-b",
        "openid/v1/jwks",
        false,
    )
    .unwrap();
    assert_eq!(legacy.region.as_deref(), Some("us-west-2"));
    assert_eq!(legacy.jwks_key, "openid/v1/jwks");
}

#[test]
fn an_issuer_the_bucket_cannot_serve_is_refused_unless_unverified() {
    let other_bucket = target(
        "https://other.s3.eu-west-1.amazonaws.com",
        "oidc-b",
        "keys.json",
        false,
    )
    .unwrap_err();
    assert_eq!(
        other_bucket,
        "the issuer https://other.s3.eu-west-1.amazonaws.com is bucket other's URL, so bucket oidc-b cannot serve it: give an --issuer of the form https://oidc-b.s3.REGION.amazonaws.com or https://s3.REGION.amazonaws.com/oidc-b (with a path if you like), or --no-verify when a CDN serves bucket oidc-b at that URL"
    );
    let cdn = "https://oidc.example.com/c1";
    assert!(
        target(cdn, "oidc-b", "keys.json", false)
            .unwrap_err()
            .contains("is not an S3 URL")
    );
    let fronted = target(cdn, "oidc-b", "keys.json", true).unwrap();
    assert_eq!(
        (fronted.discovery_key.as_str(), fronted.s3_url),
        ("c1/.well-known/openid-configuration", false)
    );
    let dotted = target(
        "https://my.dotted.bucket.s3.us-east-2.amazonaws.com",
        "my.dotted.bucket",
        "keys.json",
        false,
    )
    .unwrap_err();
    assert_eq!(
        dotted,
        "the issuer https://my.dotted.bucket.s3.us-east-2.amazonaws.com puts the dotted bucket my.dotted.bucket in the hostname, where S3's certificate does not cover it: use the path-style https://s3.us-east-2.amazonaws.com/my.dotted.bucket instead"
    );
    assert!(
        target(
            "https://s3.us-east-2.amazonaws.com/my.dotted.bucket",
            "my.dotted.bucket",
            "keys.json",
            false
        )
        .is_ok()
    );
    for odd in [
        "https://b.s3.eu-west-1.amazonaws.com/a%20b",
        "https://b.s3.eu-west-1.amazonaws.com/a//b",
        "https://b.s3.eu-west-1.amazonaws.com/a/../b",
    ] {
        let error = target(odd, "b", "keys.json", false).unwrap_err();
        assert!(
            error.contains("cannot be an S3 key prefix"),
            "{odd}: {error}"
        );
    }
}

#[test]
fn the_statement_grants_get_object_on_exactly_the_two_keys() {
    let target = ok("https://oidc-b.s3.eu-west-1.amazonaws.com/c1", "oidc-b");
    let statement = read_statement(&target, Partition::of_region("eu-west-1"));
    let sid = statement["Sid"].as_str().unwrap();
    assert!(
        sid.starts_with("KubectlIrsaIssuer") && sid.len() == 33,
        "{sid}"
    );
    assert!(sid.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(
        statement,
        json!({
            "Sid": sid,
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": [
                "arn:aws:s3:::oidc-b/c1/.well-known/openid-configuration",
                "arn:aws:s3:::oidc-b/c1/keys.json",
            ],
        })
    );
    let other = ok("https://oidc-b.s3.eu-west-1.amazonaws.com/c2", "oidc-b");
    assert_ne!(
        read_statement(&other, Partition::Aws)["Sid"],
        sid,
        "one Sid per issuer"
    );
    let arn = |region| read_statement(&other, Partition::of_region(region))["Resource"][0].clone();
    assert_eq!(
        arn("cn-north-1"),
        "arn:aws-cn:s3:::oidc-b/c2/.well-known/openid-configuration"
    );
    assert_eq!(
        arn("us-gov-west-1"),
        "arn:aws-us-gov:s3:::oidc-b/c2/.well-known/openid-configuration"
    );
}

#[test]
fn policies_are_merged_never_replaced() {
    let target = ok("https://oidc-b.s3.eu-west-1.amazonaws.com/c1", "oidc-b");
    let ours = read_statement(&target, Partition::Aws);
    let fresh = merged_policy(None, &ours).unwrap().unwrap();
    assert_eq!(
        fresh,
        json!({"Version": "2012-10-17", "Statement": [ours.clone()]})
    );
    assert_eq!(
        merged_policy(Some(&fresh.to_string()), &ours).unwrap(),
        None,
        "already there: nothing to write"
    );

    let theirs = json!({"Sid": "Logs", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": "arn:aws:s3:::oidc-b/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}});
    let mut stale = ours.clone();
    stale["Resource"] = json!(["arn:aws:s3:::oidc-b/c1/old.json"]);
    let existing = json!({"Version": "2012-10-17", "Id": "x", "Statement": [theirs, stale]});
    let merged = merged_policy(Some(&existing.to_string()), &ours)
        .unwrap()
        .unwrap();
    assert_eq!(
        merged,
        json!({"Version": "2012-10-17", "Id": "x", "Statement": [theirs, ours]}),
        "theirs kept first, ours replaced by Sid"
    );

    let single = json!({"Version": "2012-10-17", "Statement": theirs});
    let merged = merged_policy(Some(&single.to_string()), &ours)
        .unwrap()
        .unwrap();
    assert_eq!(merged["Statement"], json!([theirs, ours]));
    assert!(merged_policy(Some("not json"), &ours).is_err());
    assert!(merged_policy(Some("[]"), &ours).is_err());
}

#[test]
fn only_the_two_policy_settings_are_lifted() {
    let all = AccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };
    assert_eq!(
        opened(Some(all)),
        Some(AccessBlock {
            block_public_acls: true,
            ignore_public_acls: true,
            block_public_policy: false,
            restrict_public_buckets: false,
        })
    );
    let restrict_only = AccessBlock {
        restrict_public_buckets: true,
        ..AccessBlock::default()
    };
    assert_eq!(opened(Some(restrict_only)), Some(AccessBlock::default()));
    let acls_only = AccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        ..AccessBlock::default()
    };
    assert_eq!(opened(Some(acls_only)), None);
    assert_eq!(opened(None), None);
}

#[test]
fn documents_are_fetched_where_iam_fetches_them_or_from_the_endpoint_override() {
    let target = ok("https://oidc-b.s3.eu-west-1.amazonaws.com/c1/", "oidc-b");
    let jwks_uri = "https://oidc-b.s3.eu-west-1.amazonaws.com/c1/keys.json";
    assert_eq!(
        fetch_urls(
            "https://oidc-b.s3.eu-west-1.amazonaws.com/c1/",
            jwks_uri,
            &target,
            None
        ),
        (
            "https://oidc-b.s3.eu-west-1.amazonaws.com/c1/".to_string(),
            [
                "https://oidc-b.s3.eu-west-1.amazonaws.com/c1/.well-known/openid-configuration"
                    .to_string(),
                jwks_uri.to_string(),
            ]
        )
    );
    let (what, urls) = fetch_urls(
        "https://x",
        jwks_uri,
        &target,
        Some("http://127.0.0.1:5000/".into()),
    );
    assert_eq!(
        what,
        "http://127.0.0.1:5000/oidc-b (the S3 endpoint override, not the issuer URL)"
    );
    assert_eq!(
        urls,
        [
            "http://127.0.0.1:5000/oidc-b/c1/.well-known/openid-configuration",
            "http://127.0.0.1:5000/oidc-b/c1/keys.json"
        ]
    );
}

#[test]
fn served_documents_must_be_the_uploaded_ones() {
    let discovery = json!({"issuer": "https://i"});
    let jwks = json!({"keys": []});
    let expected = (&discovery, &jwks);
    assert_eq!(
        check_served(
            "https://i",
            b"{ \"issuer\" : \"https://i\" }",
            b"{\"keys\":[]}",
            expected
        ),
        Ok(())
    );
    assert_eq!(
        check_served("https://i", b"{\"issuer\": \"https://j\"}", b"{\"keys\":[]}", expected),
        Err("the discovery document at https://i is not the one uploaded (a cache or another copy answers)".into())
    );
    assert!(
        check_served(
            "https://i",
            b"{\"issuer\": \"https://i\"}",
            b"<html>",
            expected
        )
        .unwrap_err()
        .starts_with("the JWKS at https://i is not JSON")
    );
}
