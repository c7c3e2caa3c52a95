//! `oidc publish`: what lands in the bucket, what is refused, and the calls made.

use super::*;

#[tokio::test]
async fn publish_writes_both_documents_and_a_policy_on_exactly_them_and_a_cluster_token_verifies() {
    let world = World::start();
    world.cluster.fake.set_issuer(ISSUER);
    world.cluster.fake.add_service_account("shop", "cart", &[]);
    locked_bucket(&world);
    let run = world.run(&["oidc", "publish", "--issuer", ISSUER, "--bucket", BUCKET]);
    run.ok();
    let discovery_key = "cluster-1/.well-known/openid-configuration";
    let jwks_key = "cluster-1/keys.json";
    let back = world.read_back(&[discovery_key, jwks_key]);
    let sid = back["policy"]["Statement"][1]["Sid"]
        .as_str()
        .unwrap()
        .to_string();
    let endpoint = world.iam.url();
    assert_eq!(
        run.stdout,
        format!(
            "Bucket {BUCKET} (eu-west-1): s3://{BUCKET}/{discovery_key} and s3://{BUCKET}/{jwks_key}\n\
             \x20 uploaded s3://{BUCKET}/{jwks_key} (application/json)\n\
             \x20 uploaded s3://{BUCKET}/{discovery_key} (application/json)\n\
             \x20 turned off BlockPublicPolicy and RestrictPublicBuckets in bucket {BUCKET}'s public-access block, so its policy may grant public reads (BlockPublicAcls on, IgnorePublicAcls on: unchanged)\n\
             \x20 bucket {BUCKET}'s policy: statement {sid} lets anyone read {discovery_key} and {jwks_key} (other statements kept)\n\
             Verified: {endpoint}/{BUCKET} (the S3 endpoint override, not the issuer URL) serves both documents as uploaded\n"
        )
    );
    assert_eq!(run.stderr, "");

    // Content types, the policy (the owner's statement first, ours on exactly two keys), and
    // the access block with only the two policy settings off.
    assert_eq!(back["objects"][discovery_key][0], "application/json");
    assert_eq!(back["objects"][jwks_key][0], "application/json");
    let owner: Value = serde_json::from_str(OWNER_STATEMENT).unwrap();
    assert_eq!(
        back["policy"]["Statement"],
        json!([owner, {
            "Sid": sid, "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": [
                format!("arn:aws:s3:::{BUCKET}/{discovery_key}"),
                format!("arn:aws:s3:::{BUCKET}/{jwks_key}"),
            ],
        }])
    );
    assert_eq!(
        back["block"],
        json!({"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": false, "RestrictPublicBuckets": false})
    );

    // As IAM does: the discovery document read back names the JWKS, the token's kid its key.
    let discovery = &back["objects"][discovery_key][1];
    assert_eq!(discovery["issuer"], ISSUER);
    assert_eq!(discovery["jwks_uri"], format!("{ISSUER}/keys.json"));
    let token = cluster_token(&world.cluster).await;
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let jwk = back["objects"][jwks_key][1]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the published JWKS has the token's kid")
        .clone();
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["sts.amazonaws.com"]);
    validation.set_issuer(&[ISSUER]);
    let claims = jsonwebtoken::decode::<Value>(&token, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], "system:serviceaccount:shop:cart");

    // Again: everything is read, nothing written.
    world.iam.reset_calls();
    let again = world.run(&["oidc", "publish", "--issuer", ISSUER, "--bucket", BUCKET]);
    assert!(
        again.ok().stdout.contains(
            "\n  nothing changed: both documents, the access block and the policy were in place\n"
        ),
        "{}",
        again.stdout
    );
    assert_eq!(
        world.iam.calls(),
        [
            "HEAD /irsa-oidc-demo/",
            "GET /irsa-oidc-demo/cluster-1/keys.json",
            "GET /irsa-oidc-demo/cluster-1/.well-known/openid-configuration",
            "GET /irsa-oidc-demo/?publicAccessBlock",
            "GET /irsa-oidc-demo/?policy",
            "GET /irsa-oidc-demo/cluster-1/.well-known/openid-configuration",
            "GET /irsa-oidc-demo/cluster-1/keys.json",
        ],
        "HeadBucket, GetObject x2, GetPublicAccessBlock, GetBucketPolicy, the 2 verifying GETs"
    );
    assert_eq!(world.iam.writes(), Vec::<String>::new());
}

/// A token for shop/cart from the fake cluster's TokenRequest.
async fn cluster_token(cluster: &Cluster) -> String {
    let kubeconfig = Kubeconfig::read_from(&cluster.kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    let api: Api<ServiceAccount> = Api::namespaced(kube::Client::try_from(config).unwrap(), "shop");
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec!["sts.amazonaws.com".into()],
            expiration_seconds: Some(3600),
            ..TokenRequestSpec::default()
        },
        ..TokenRequest::default()
    };
    api.create_token_request("cart", &PostParams::default(), &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token
}

#[test]
fn publish_refuses_an_issuer_the_bucket_cannot_serve_before_any_call() {
    let world = World::start();
    for (issuer, named) in [
        (
            "https://other.s3.eu-west-1.amazonaws.com",
            "is bucket other's URL",
        ),
        ("https://oidc.example.com/cluster-1", "is not an S3 URL"),
    ] {
        world
            .run(&["oidc", "publish", "--issuer", issuer, "--bucket", BUCKET, "--public-key", "none.pub"])
            .fails(2, &format!(
                "error: the issuer {issuer} {named}, so bucket {BUCKET} cannot serve it: give an --issuer of the form https://{BUCKET}.s3.REGION.amazonaws.com or https://s3.REGION.amazonaws.com/{BUCKET} (with a path if you like), or --no-verify when a CDN serves bucket {BUCKET} at that URL"
            ));
    }
    world
        .run(&["oidc", "publish", "--issuer", ISSUER, "--bucket", BUCKET, "--region", "us-east-1", "--public-key", "none.pub"])
        .fails(2, &format!("error: the issuer names region eu-west-1 but --region is us-east-1: S3 serves bucket {BUCKET} only at its own region's hostname; drop --region or fix the issuer"));
    world
        .run(&[
            "oidc",
            "publish",
            "--issuer",
            ISSUER,
            "--bucket",
            BUCKET,
            "--public-key",
            "none.pub",
        ])
        .fails(2, "error: cannot read --public-key none.pub");
    assert_eq!(
        world.iam.calls(),
        Vec::<String>::new(),
        "no call to S3 or IAM"
    );
}

#[test]
fn publish_needs_create_bucket_for_a_missing_bucket() {
    let world = World::start();
    let dir = world.cluster.dir.path();
    world.run(&["oidc", "keygen", "--out", "keys"]).ok();
    let args = [
        "oidc",
        "publish",
        "--issuer",
        ISSUER,
        "--bucket",
        BUCKET,
        "--public-key",
        "keys/sa-signer.pub",
    ];
    world.run(&args).fails(2, &format!(
        "error: bucket {BUCKET} does not exist in eu-west-1: pass --create-bucket to create it, or check --bucket and --region"
    ));
    assert_eq!(world.iam.calls(), ["HEAD /irsa-oidc-demo/"]);
    let created = world.run(&[&args[..], &["--create-bucket"]].concat());
    assert!(
        created
            .ok()
            .stdout
            .contains(&format!("\n  created bucket {BUCKET} in eu-west-1\n")),
        "{}",
        created.stdout
    );
    let location = world.boto3(&format!(
        "print(json.dumps(s3.get_bucket_location(Bucket='{BUCKET}')['LocationConstraint']))"
    ));
    assert_eq!(location, "eu-west-1");
    assert!(dir.join("keys/sa-signer.key").exists());
}

#[test]
fn publish_behind_a_cdn_takes_the_issuer_path_as_the_prefix_with_no_verify() {
    let world = World::start();
    world.run(&["oidc", "keygen", "--out", "keys"]).ok();
    let run = world.run(&[
        "oidc",
        "publish",
        "--issuer",
        "https://oidc.example.com/cluster-1",
        "--bucket",
        BUCKET,
        "--region",
        "eu-west-1",
        "--create-bucket",
        "--public-key",
        "keys/sa-signer.pub",
        "--no-verify",
    ]);
    let stdout = &run.ok().stdout;
    assert!(stdout.starts_with(&format!(
        "Bucket {BUCKET} (eu-west-1): s3://{BUCKET}/cluster-1/.well-known/openid-configuration and s3://{BUCKET}/cluster-1/keys.json\n"
    )), "{stdout}");
    assert!(
        stdout.ends_with(
            "Not verified (--no-verify): check that the issuer URL serves both documents\n"
        ),
        "{stdout}"
    );
    let back = world.read_back(&["cluster-1/.well-known/openid-configuration"]);
    assert_eq!(
        back["objects"]["cluster-1/.well-known/openid-configuration"][1]["jwks_uri"],
        "https://oidc.example.com/cluster-1/keys.json"
    );
}

#[test]
fn the_printed_upload_commands_of_oidc_documents_work_when_pasted() {
    let world = World::start();
    world.run(&["oidc", "keygen", "--out", "keys"]).ok();
    let run = world.run(&[
        "oidc",
        "documents",
        "--issuer",
        ISSUER,
        "--public-key",
        "keys/sa-signer.pub",
        "--out",
        "site",
    ]);
    let script: Vec<&str> = run
        .ok()
        .stdout
        .lines()
        .filter(|l| l.starts_with("aws "))
        .collect();
    assert_eq!(script.len(), 5, "{}", run.stdout);
    let venv_bin_dir = venv_bin("aws").parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        venv_bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .args(["-euc", &script.join("\n")])
        .current_dir(world.cluster.dir.path())
        .env("PATH", path)
        .env("HOME", world.cluster.dir.path())
        // Straight to moto: the fake's relay answers the AWS CLI's PutObject with a 500 (the
        // SDK's goes through), and nothing here needs counting.
        .env("AWS_ENDPOINT_URL", world.moto.url())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let discovery_key = "cluster-1/.well-known/openid-configuration";
    let jwks_key = "cluster-1/keys.json";
    let back = world.read_back(&[discovery_key, jwks_key]);
    assert_eq!(back["objects"][discovery_key][0], "application/json");
    assert_eq!(back["objects"][jwks_key][0], "application/json");
    assert_eq!(back["objects"][discovery_key][1]["issuer"], ISSUER);
    assert_eq!(
        back["policy"]["Statement"][0]["Resource"],
        json!([
            format!("arn:aws:s3:::{BUCKET}/{discovery_key}"),
            format!("arn:aws:s3:::{BUCKET}/{jwks_key}")
        ])
    );
    assert_eq!(
        back["block"],
        json!({"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": false, "RestrictPublicBuckets": false})
    );

    // `oidc publish` then finds everything in place: the same statement, the same objects.
    world.iam.reset_calls();
    let again = world.run(&[
        "oidc",
        "publish",
        "--issuer",
        ISSUER,
        "--bucket",
        BUCKET,
        "--public-key",
        "keys/sa-signer.pub",
    ]);
    assert!(
        again.ok().stdout.contains("\n  nothing changed:"),
        "{}",
        again.stdout
    );
    assert_eq!(world.iam.writes(), Vec::<String>::new());
}
