//! `oidc provider --apply`: created once, completed, thumbprints, refusals.

use super::*;

#[test]
fn provider_apply_creates_once_then_reads_twice_and_writes_nothing() {
    let world = World::start();
    let apply = ["oidc", "provider", "--issuer", ISSUER, "--apply"];
    let created = world.run(&apply);
    assert_eq!(created.ok().stdout, format!("{ARN}\n"));
    assert_eq!(
        created.stderr,
        format!(
            "No thumbprint: IAM trusts S3's certificates itself\n\
             Changed: created the IAM OIDC provider {ARN} (client IDs sts.amazonaws.com)\n"
        )
    );
    assert_eq!(
        world.iam.calls(),
        ["ListOpenIDConnectProviders", "CreateOpenIDConnectProvider"]
    );
    let provider = world.boto3(&format!(
        "p = iam.get_open_id_connect_provider(OpenIDConnectProviderArn='{ARN}')\n\
         print(json.dumps([p['Url'], p['ClientIDList'], p['ThumbprintList']]))"
    ));
    assert_eq!(
        provider,
        json!([
            "irsa-oidc-demo.s3.eu-west-1.amazonaws.com/cluster-1",
            ["sts.amazonaws.com"],
            []
        ])
    );

    world.iam.reset_calls();
    let again = world.run(&apply);
    assert_eq!(again.ok().stdout, format!("{ARN}\n"));
    assert_eq!(
        again.stderr,
        "The IAM OIDC provider for irsa-oidc-demo.s3.eu-west-1.amazonaws.com/cluster-1 exists with client IDs sts.amazonaws.com: nothing changed\n"
    );
    assert_eq!(
        world.iam.calls(),
        ["ListOpenIDConnectProviders", "GetOpenIDConnectProvider"],
        "2 calls, nothing written"
    );
    let listed = world.boto3(
        "print(json.dumps(len(iam.list_open_id_connect_providers()['OpenIDConnectProviderList'])))",
    );
    assert_eq!(listed, 1);
}

#[test]
fn provider_apply_takes_the_thumbprint_of_a_private_ca_and_the_given_one_as_it_is() {
    use sha1::Digest as _;
    let world = World::start();
    let tls = tests::tls::ServerTls::generate(&["localhost"]);
    let handler: tests::server::Handler = std::sync::Arc::new(|_request| {
        Box::pin(async { tests::server::plain_response(http::StatusCode::OK, "{}") })
    });
    let server = tests::server::BackgroundServer::start(handler, Some(tls.config.clone()));
    let address = format!("127.0.0.1:{}", server.port());
    let issuer = format!("https://{address}/c1");
    let ca_sha1 = irsa_sts::hex(&sha1::Sha1::digest(&tls.ca_der));
    let run = world.run(&["oidc", "provider", "--issuer", &issuer, "--apply"]);
    let arn = format!("arn:aws:iam::123456789012:oidc-provider/{address}/c1");
    assert_eq!(run.ok().stdout, format!("{arn}\n"));
    assert_eq!(
        run.stderr,
        format!(
            "Thumbprint {ca_sha1} of CN=kubectl-irsa test CA, the top certificate {address} serves, since no public CA signs it (UnknownIssuer)\n\
             Changed: created the IAM OIDC provider {arn} (client IDs sts.amazonaws.com)\n"
        )
    );
    let given = "a9993e364706816aba3e25717850c26c9cd0d89d";
    let other = "https://oidc.example.com/c2";
    let run = world.run(&[
        "oidc",
        "provider",
        "--issuer",
        other,
        "--apply",
        "--thumbprint",
        given,
        "--client-id",
        "a",
        "--client-id",
        "b",
    ]);
    let other_arn = "arn:aws:iam::123456789012:oidc-provider/oidc.example.com/c2";
    assert_eq!(
        run.ok().stderr,
        format!(
            "Thumbprint {given} as given\nChanged: created the IAM OIDC provider {other_arn} (client IDs a, b)\n"
        )
    );
    let providers = world.boto3(&format!(
        "print(json.dumps([iam.get_open_id_connect_provider(OpenIDConnectProviderArn=a)['ThumbprintList'] for a in ['{arn}', '{other_arn}']]))"
    ));
    assert_eq!(providers, json!([[ca_sha1], [given]]));
}

#[test]
fn provider_apply_adds_the_missing_client_ids_to_an_existing_provider() {
    let world = World::start();
    world.boto3(&format!(
        "iam.create_open_id_connect_provider(Url='{ISSUER}', ClientIDList=['sts.amazonaws.com'], ThumbprintList=[])\n\
         print('null')"
    ));
    world.iam.reset_calls();
    let run = world.run(&[
        "oidc",
        "provider",
        "--issuer",
        ISSUER,
        "--apply",
        "--client-id",
        "sts.amazonaws.com",
        "--client-id",
        "irsa-demo",
        "--client-id",
        "vault",
        "--thumbprint",
        "a9993e364706816aba3e25717850c26c9cd0d89d",
    ]);
    assert_eq!(run.ok().stdout, format!("{ARN}\n"));
    assert_eq!(
        run.stderr,
        format!(
            "Changed: added client ID irsa-demo to {ARN}\nChanged: added client ID vault to {ARN}\n\
             Note: the provider existed: its thumbprints were left as they are (`aws iam update-open-id-connect-provider-thumbprint` replaces them)\n"
        )
    );
    assert_eq!(
        world.iam.calls(),
        [
            "ListOpenIDConnectProviders",
            "GetOpenIDConnectProvider",
            "AddClientIDToOpenIDConnectProvider",
            "AddClientIDToOpenIDConnectProvider",
        ]
    );
    let ids = world.boto3(&format!(
        "print(json.dumps(iam.get_open_id_connect_provider(OpenIDConnectProviderArn='{ARN}')['ClientIDList']))"
    ));
    assert_eq!(ids, json!(["sts.amazonaws.com", "irsa-demo", "vault"]));
}

#[test]
fn a_refused_call_names_the_iam_action_and_nothing_after_it_runs() {
    let world = World::start();
    world.iam.deny("CreateOpenIDConnectProvider");
    let run = world.run(&["oidc", "provider", "--issuer", ISSUER, "--apply"]);
    let line = run.failure();
    assert!(
        line.starts_with(
            "error: AWS refused iam:CreateOpenIDConnectProvider on https://irsa-oidc-demo.s3.eu-west-1.amazonaws.com/cluster-1 (AccessDenied: "
        ),
        "{line}"
    );
    assert!(line.ends_with("allow iam:CreateOpenIDConnectProvider to the caller or use --profile with a principal that has it (the README lists the IAM policy each verb needs)"), "{line}");
    assert_eq!(run.code, 1);

    world.iam.deny("PUT /irsa-oidc-demo/?policy");
    world.run(&["oidc", "keygen", "--out", "keys"]).ok();
    let run = world.run(&[
        "oidc",
        "publish",
        "--issuer",
        ISSUER,
        "--bucket",
        BUCKET,
        "--create-bucket",
        "--public-key",
        "keys/sa-signer.pub",
    ]);
    let line = run.failure();
    assert!(
        line.starts_with(
            "error: AWS refused s3:PutBucketPolicy on s3://irsa-oidc-demo (AccessDenied: "
        ),
        "{line}"
    );
    // What was done before the refusal is said, so nothing is changed unsaid.
    assert_eq!(
        run.stderr,
        format!(
            "Changed before the error: created bucket {BUCKET} in eu-west-1\n\
             Changed before the error: uploaded s3://{BUCKET}/cluster-1/keys.json (application/json)\n\
             Changed before the error: uploaded s3://{BUCKET}/cluster-1/.well-known/openid-configuration (application/json)\n\
             {line}\n"
        )
    );
}

#[test]
fn a_throttled_call_is_retried_by_the_sdk() {
    let world = World::start();
    world.iam.throttle("ListOpenIDConnectProviders", 2);
    let run = world.run(&["oidc", "provider", "--issuer", ISSUER, "--apply"]);
    assert_eq!(run.ok().stdout, format!("{ARN}\n"));
    assert_eq!(
        world.iam.calls(),
        [
            "ListOpenIDConnectProviders",
            "ListOpenIDConnectProviders",
            "ListOpenIDConnectProviders",
            "CreateOpenIDConnectProvider",
        ],
        "two Throttling answers, then the SDK's third attempt"
    );
}

#[test]
fn a_china_bucket_issuer_gets_its_provider_in_aws_cn() {
    let world = World::start();
    let issuer = "https://irsa-cn.s3.cn-north-1.amazonaws.com.cn";
    let run = world.run(&["oidc", "provider", "--issuer", issuer, "--apply"]);
    assert_eq!(
        run.ok().stdout,
        "arn:aws-cn:iam::123456789012:oidc-provider/irsa-cn.s3.cn-north-1.amazonaws.com.cn\n",
        "signed for cn-north-1 with no region configured: {}",
        run.stderr
    );
}
