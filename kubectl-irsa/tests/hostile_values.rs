//! Values the plugin takes from the cluster or the user and puts into trust policies and
//! printed commands: every issuer checked as `--issuer` is (whatever its source), every audience
//! as `--audience` is, policies with duplicate keys refused, and a Deny that would still block a
//! merged subject warned about.

mod common;

use common::{Cluster, ROLE};
use tests::fake_kube::{DEFAULT_ISSUER, PolicyRule};

/// A failure with nothing on stdout and exactly `line` on stderr.
fn fails_with(run: &common::Run, code: i32, line: &str) {
    assert_eq!(run.code, code, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, format!("error: {line}\n"));
}

const DISCOVERY: &str = "the cluster's /.well-known/openid-configuration";
const FIX: &str =
    "set the apiserver's --service-account-issuer to an https URL, or pass --issuer URL";

#[test]
fn an_issuer_from_discovery_is_checked_as_the_flag_is() {
    let cases = [
        (
            "http://oidc.fake.test/id/X",
            "IAM OIDC providers need an https:// URL",
        ),
        ("", "IAM OIDC providers need an https:// URL"),
        ("/id/X", "IAM OIDC providers need an https:// URL"),
        ("https://", "no host (give https://HOST[/PATH])"),
        (
            "https://oidc.fake.test/id/X?a=1",
            "an issuer may not have a query",
        ),
        (
            "https://oidc.fake.test/id/X#f",
            "an issuer may not have a fragment",
        ),
        (
            "https://user:pw@oidc.fake.test",
            "no user or password may precede the host",
        ),
    ];
    for (issuer, why) in cases {
        let cluster = Cluster::start();
        cluster.fake.add_namespace("shop");
        cluster.fake.set_issuer(issuer);
        let expected = format!("{DISCOVERY} has an invalid issuer {issuer:?}: {why}: {FIX}");
        let bind = cluster.run(&["bind", "cart", "-n", "shop", "--role-arn", ROLE]);
        fails_with(&bind, 1, &expected);
        // Refused before the one write.
        assert!(cluster.writes().is_empty(), "{:?}", cluster.writes());
        let policy = cluster.run(&[
            "trust-policy",
            "--role-arn",
            ROLE,
            "--service-account",
            "shop:cart",
        ]);
        fails_with(&policy, 1, &expected);
    }
}

#[test]
fn an_issuer_from_a_token_is_checked_too() {
    let cluster = Cluster::start();
    cluster.fake.add_service_account("shop", "default", &[]);
    cluster.fake.set_issuer("http://oidc.fake.test/id/X");
    // Anything in shop, nothing cluster-wide: discovery is forbidden, a token is not.
    let everything = PolicyRule::resources(&["*"], &["*"], &["*"]);
    cluster.fake.grant("jane", Some("shop"), &[everything]);
    cluster.fake.set_user("jane");
    let run = cluster.run(&[
        "trust-policy",
        "--role-arn",
        ROLE,
        "--service-account",
        "shop:cart",
        "-n",
        "shop",
    ]);
    fails_with(
        &run,
        1,
        &format!(
            "the iss of a token from the cluster has an invalid issuer \"http://oidc.fake.test/id/X\": IAM OIDC providers need an https:// URL: {FIX}"
        ),
    );
}

#[test]
fn the_issuer_flag_refuses_queries_fragments_and_userinfo() {
    let cluster = Cluster::start();
    for (issuer, why) in [
        ("https://h/p?x=1", "an issuer may not have a query"),
        ("https://h/p#x", "an issuer may not have a fragment"),
        ("https://u@h/p", "no user or password may precede the host"),
    ] {
        for args in [
            vec![
                "trust-policy",
                "--role-arn",
                ROLE,
                "--service-account",
                "shop:cart",
                "--issuer",
                issuer,
            ],
            vec!["oidc", "provider", "--issuer", issuer],
            vec!["bind", "cart", "--role-arn", ROLE, "--issuer", issuer],
        ] {
            let run = cluster.run(&args);
            assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
            assert_eq!(
                run.error_lines(),
                [format!(
                    "error: invalid value '{issuer}' for '--issuer <URL>': invalid issuer {issuer:?}: {why}"
                )],
                "{args:?}"
            );
        }
    }
}

#[test]
fn an_empty_audience_is_refused_everywhere() {
    let cluster = Cluster::start();
    cluster.fake.add_namespace("shop");
    for audience in ["", " sts", "a\tb"] {
        for args in [
            vec![
                "bind",
                "cart",
                "-n",
                "shop",
                "--role-arn",
                ROLE,
                "--audience",
                audience,
            ],
            vec![
                "trust-policy",
                "--role-arn",
                ROLE,
                "--service-account",
                "shop:cart",
                "--audience",
                audience,
            ],
            vec![
                "oidc",
                "provider",
                "--issuer",
                DEFAULT_ISSUER,
                "--audience",
                audience,
            ],
        ] {
            let run = cluster.run(&args);
            assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
            assert_eq!(
                run.error_lines(),
                [format!(
                    "error: invalid value '{audience}' for '--audience <AUDIENCE>': invalid audience {audience:?}: give 1 to 255 characters without spaces, such as sts.amazonaws.com"
                )],
                "{args:?}"
            );
        }
    }
    assert!(cluster.writes().is_empty());
    // An audience annotation the cluster holds is checked the same way before it is used.
    cluster
        .fake
        .add_service_account("shop", "cart", &[("eks.amazonaws.com/audience", " ")]);
    let run = cluster.run(&["bind", "cart", "-n", "shop", "--role-arn", ROLE]);
    fails_with(
        &run,
        2,
        "serviceaccount shop/cart (or the webhook's --token-audience) gives an invalid audience \" \": give 1 to 255 characters without spaces, such as sts.amazonaws.com: pass --audience",
    );
    assert!(cluster.writes().is_empty());
}

fn trust_policy_merge(cluster: &Cluster, file: &std::path::Path) -> common::Run {
    cluster.run(&[
        "trust-policy",
        "--role-arn",
        ROLE,
        "--service-account",
        "shop:cart",
        "--issuer",
        DEFAULT_ISSUER,
        "--merge",
        file.to_str().unwrap(),
    ])
}

#[test]
fn merge_refuses_duplicate_keys() {
    let cluster = Cluster::start();
    let file = cluster.dir.path().join("role.json");
    let cases = [
        (
            "{\"Version\": \"2012-10-17\",\n \"Statement\": [{\"Effect\": \"Deny\", \"Principal\": \"*\", \"Action\": \"sts:*\"}],\n \"Statement\": []}",
            "the key \"Statement\" appears twice at line 3 column 12",
        ),
        (
            "{\"Statement\": [{\"Effect\": \"Allow\", \"Effect\": \"Deny\"}]}",
            "the key \"Effect\" appears twice at line 1 column 43",
        ),
        // aws iam get-role output whose raw document (a string) repeats a key.
        (
            r#"{"Role": {"Arn": "arn:aws:iam::123456789012:role/cart", "AssumeRolePolicyDocument": "{\"Statement\": [], \"Statement\": []}"}}"#,
            "",
        ),
    ];
    for (text, why) in cases {
        std::fs::write(&file, text).unwrap();
        let run = trust_policy_merge(&cluster, &file);
        if why.is_empty() {
            fails_with(
                &run,
                1,
                "the existing trust policy is not an IAM policy document: AssumeRolePolicyDocument: the key \"Statement\" appears twice at line 1 column 29",
            );
        } else {
            fails_with(
                &run,
                2,
                &format!(
                    "--merge {}: {why}: JSON readers keep only one of them (serde_json and Python the last), so remove the other",
                    file.display()
                ),
            );
        }
    }
}

#[test]
fn merge_warns_when_a_deny_still_blocks_the_subject() {
    let cluster = Cluster::start();
    let file = cluster.dir.path().join("role.json");
    let hostpath = DEFAULT_ISSUER.trim_start_matches("https://");
    let keep = serde_json::json!({"Sid": "ec2", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"});
    let deny = serde_json::json!({
        "Effect": "Deny", "Principal": "*", "Action": "sts:*",
        "Condition": {"StringLike": {format!("{hostpath}:sub"): "system:serviceaccount:shop:*"}}
    });
    std::fs::write(
        &file,
        common::trust_policy(vec![keep.clone(), deny.clone()]).to_string(),
    )
    .unwrap();
    let run = trust_policy_merge(&cluster, &file);
    run.ok();
    assert_eq!(
        run.stderr,
        format!(
            "Warning: statement 1 of the --merge policy denies sts:AssumeRoleWithWebIdentity to system:serviceaccount:shop:cart of arn:aws:iam::123456789012:oidc-provider/{hostpath}, and a Deny wins over the Allow added: remove or narrow that Deny\n"
        )
    );
    // The policy is still merged, keeping every statement.
    let allow = common::web_identity_statement(hostpath, "system:serviceaccount:shop:cart");
    let merged: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        merged,
        common::trust_policy(vec![keep.clone(), deny, allow])
    );

    // A Deny for another namespace blocks nothing: no warning.
    let other = serde_json::json!({
        "Effect": "Deny", "Principal": "*", "Action": "sts:*",
        "Condition": {"StringLike": {format!("{hostpath}:sub"): "system:serviceaccount:dev:*"}}
    });
    std::fs::write(&file, common::trust_policy(vec![keep, other]).to_string()).unwrap();
    let run = trust_policy_merge(&cluster, &file);
    assert_eq!(run.ok().stderr, "");
}

#[test]
fn a_broken_cluster_jwks_is_named_as_such() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("out");
    let documents = [
        "oidc",
        "documents",
        "--issuer",
        DEFAULT_ISSUER,
        "--out",
        out.to_str().unwrap(),
    ];
    let fix = "pass the public keys with --public-key FILE (the apiserver's --service-account-key-file) instead";
    for (jwk, why) in [
        (
            serde_json::json!({"kty": "RSA", "kid": "k", "n": "!!", "e": "AQAB"}),
            "no base64url \"n\"",
        ),
        (
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}),
            "the point is not on the curve",
        ),
        (
            serde_json::json!("not a key"),
            "invalid type: string \"not a key\", expected struct Jwk",
        ),
    ] {
        // A cluster publishing its signing key, then this one.
        let cluster = Cluster::start();
        cluster.fake.add_jwks_key(jwk);
        let run = cluster.run(&documents);
        fails_with(
            &run,
            1,
            &format!("the cluster's /openid/v1/jwks: key 1 of the JWKS is unusable: {why}: {fix}"),
        );
        assert!(!out.exists());
    }
}

#[test]
fn whoami_checks_the_tokens_issuer_before_asking_sts() {
    let cluster = Cluster::bound();
    cluster.fake.set_issuer("http://oidc.fake.test/id/X");
    let run = cluster.run(&["whoami", "cart", "-n", "shop"]);
    fails_with(
        &run,
        1,
        "the token requested for serviceaccount shop/cart has an invalid issuer \"http://oidc.fake.test/id/X\": IAM OIDC providers need an https:// URL: set the apiserver's --service-account-issuer to an https URL",
    );
}

#[test]
fn doctor_fails_an_issuer_iam_cannot_take() {
    let cluster = Cluster::bound();
    cluster
        .fake
        .set_issuer("https://oidc.fake.test/id/X?tenant=1");
    let run = cluster.run(&["doctor", "cart", "-n", "shop", "-o", "json"]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let issuer = report["sections"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "issuer")
        .unwrap()
        .clone();
    assert_eq!(
        issuer,
        serde_json::json!({
            "name": "issuer", "status": "FAIL",
            "evidence": "invalid issuer \"https://oidc.fake.test/id/X?tenant=1\": an issuer may not have a query",
            "fix": "serve the issuer over https and set --service-account-issuer to it (kubectl irsa oidc apiserver-config --issuer URL --key-dir DIR)",
        })
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
}
