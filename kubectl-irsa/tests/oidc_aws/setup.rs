//! `oidc setup`: the whole self-hosted issuer, twice.

use super::*;

#[test]
fn setup_twice_changes_nothing_the_second_time() {
    let world = World::start();
    let args = [
        "oidc",
        "setup",
        "--bucket",
        BUCKET,
        "--region",
        "eu-west-1",
        "--key-dir",
        "keys",
        "--flavor",
        "kind",
    ];
    let first = world.run(&args);
    first.ok();
    let dir = world.cluster.dir.path().canonicalize().unwrap();
    let keys = dir.join("keys");
    let kid = kid_of(&keys);
    let issuer = "https://irsa-oidc-demo.s3.eu-west-1.amazonaws.com";
    let arn = "arn:aws:iam::123456789012:oidc-provider/irsa-oidc-demo.s3.eu-west-1.amazonaws.com";
    assert!(
        first
            .stdout
            .starts_with("# kind create cluster --config FILE"),
        "{}",
        first.stdout
    );
    assert!(
        first
            .stdout
            .contains(&format!("service-account-issuer: \"{issuer}\""))
    );
    let sid =
        world.read_back(&[".well-known/openid-configuration", "keys.json"])["policy"]["Statement"]
            [0]["Sid"]
            .as_str()
            .unwrap()
            .to_string();
    let endpoint = world.iam.url();
    let plan = format!(
        "Plan: issuer {issuer}\n\
         \x20 1. signing keys in keys (generated when missing)\n\
         \x20 2. discovery document and JWKS of the keys in sa-signer.pub\n\
         \x20 3. publish to s3://{BUCKET}/.well-known/openid-configuration and s3://{BUCKET}/keys.json in eu-west-1 (bucket created when missing; public read on these two objects only)\n\
         \x20 4. IAM OIDC provider for irsa-oidc-demo.s3.eu-west-1.amazonaws.com (client IDs sts.amazonaws.com)\n\
         \x20 5. apiserver settings (--flavor kind) on stdout\n\
         Verified: {endpoint}/{BUCKET} (the S3 endpoint override, not the issuer URL) serves both documents as uploaded\n"
    );
    let tail = format!(
        "IAM OIDC provider: {arn}\n\
         Apiserver settings for --flavor kind (stdout):\n\
         Note: tokens will carry kid {kid} (RS256), whose documents are published.\n"
    );
    assert_eq!(
        first.stderr,
        format!(
            "{plan}No thumbprint: IAM trusts S3's certificates itself\n\
             Changed: generated an RSA key pair in keys (kid {kid})\n\
             Changed: created bucket {BUCKET} in eu-west-1\n\
             Changed: uploaded s3://{BUCKET}/keys.json (application/json)\n\
             Changed: uploaded s3://{BUCKET}/.well-known/openid-configuration (application/json)\n\
             Changed: bucket {BUCKET}'s policy: statement {sid} lets anyone read .well-known/openid-configuration and keys.json (other statements kept)\n\
             Changed: created the IAM OIDC provider {arn} (client IDs sts.amazonaws.com)\n{tail}"
        )
    );

    world.iam.reset_calls();
    let second = world.run(&args);
    assert_eq!(second.ok().stdout, first.stdout, "the same settings");
    assert_eq!(
        second.stderr,
        format!(
            "{plan}Nothing changed: keys, documents, bucket and provider were in place\n{tail}"
        )
    );
    assert_eq!(world.iam.writes(), Vec::<String>::new(), "nothing written");
    assert_eq!(
        world.iam.calls().len(),
        9,
        "S3: HeadBucket, GetObject x2, GetPublicAccessBlock, GetBucketPolicy, 2 verifying GETs; IAM: ListOpenIDConnectProviders, GetOpenIDConnectProvider: {:?}",
        world.iam.calls()
    );
    assert_eq!(kid_of(&keys), kid, "the keys were kept");
}

/// The kid of the key pair in `dir`, as `oidc documents` computes it.
fn kid_of(dir: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_kubectl-irsa"))
        .args([
            "oidc",
            "documents",
            "--issuer",
            "https://x.example",
            "--out",
        ])
        .arg(dir.join("documents"))
        .arg("--public-key")
        .arg(dir.join("sa-signer.pub"))
        .output()
        .unwrap();
    let jwks: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("documents/keys.json")).unwrap())
            .unwrap();
    assert!(output.status.success());
    std::fs::remove_dir_all(dir.join("documents")).unwrap();
    jwks["keys"][0]["kid"].as_str().unwrap().to_string()
}

#[test]
fn setup_refuses_a_key_pair_that_does_not_match_before_any_call() {
    let world = World::start();
    world.run(&["oidc", "keygen", "--out", "a"]).ok();
    world.run(&["oidc", "keygen", "--out", "b"]).ok();
    let dir = world.cluster.dir.path();
    std::fs::copy(dir.join("b/sa-signer.pub"), dir.join("a/sa-signer.pub")).unwrap();
    let run = world.run(&[
        "oidc",
        "setup",
        "--bucket",
        BUCKET,
        "--region",
        "eu-west-1",
        "--key-dir",
        "a",
    ]);
    run.fails(
        2,
        "error: --key-dir a: sa-signer.pub does not hold the public key of sa-signer.key",
    );
    assert_eq!(
        world.iam.calls(),
        Vec::<String>::new(),
        "nothing asked of AWS"
    );
}
