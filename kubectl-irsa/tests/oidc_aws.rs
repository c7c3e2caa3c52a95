//! `oidc publish`, `oidc provider --apply` and `oidc setup` through the real binary and the
//! real AWS SDK clients against moto's S3 and IAM on 127.0.0.1, with the fake API server for
//! the cluster's keys and tokens, all through the fake IAM in front of moto, which counts the
//! calls (IAM by action, S3 by method and path) and plays AddClientIDToOpenIDConnectProvider,
//! which moto lacks. What the plugin wrote is read back with boto3.

mod common;

use std::path::Path;
use std::process::Command;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};
use tests::fake_iam::FakeIam;
use tests::moto::{Moto, venv_bin};
use tests::run::Run;

use common::Cluster;

const BUCKET: &str = "irsa-oidc-demo";
const ISSUER: &str = "https://irsa-oidc-demo.s3.eu-west-1.amazonaws.com/cluster-1";
const ARN: &str =
    "arn:aws:iam::123456789012:oidc-provider/irsa-oidc-demo.s3.eu-west-1.amazonaws.com/cluster-1";

/// moto behind the fake IAM, the fake cluster, and the plugin pointed at both.
struct World {
    iam: FakeIam,
    _moto: Moto,
    cluster: Cluster,
}

impl World {
    fn start() -> World {
        let moto = Moto::start();
        World {
            iam: FakeIam::start(moto.port()),
            _moto: moto,
            cluster: Cluster::start(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = self.cluster.plugin(args);
        command
            .env("AWS_ENDPOINT_URL", self.iam.url())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .current_dir(self.cluster.dir.path());
        command
    }

    fn run(&self, args: &[&str]) -> Run {
        tests::run::run(self.command(args))
    }

    /// boto3 through the fake IAM (its calls are counted too: reset after): `script` runs with `s3` and `iam` clients in eu-west-1 and prints
    /// one JSON value.
    fn boto3(&self, script: &str) -> Value {
        let program = format!(
            "import boto3, json, sys\n\
             kw = dict(endpoint_url=sys.argv[1], region_name='eu-west-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n\
             s3 = boto3.client('s3', **kw)\n\
             iam = boto3.client('iam', **kw)\n\
             {script}\n"
        );
        let output = Command::new(venv_bin("python"))
            .args(["-c", &program, &self.iam.url()])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "boto3: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// The bucket as boto3 reads it: each key's content type and JSON, the policy, the
    /// public-access block.
    fn read_back(&self, keys: &[&str]) -> Value {
        self.boto3(&format!(
            "keys = {keys:?}\n\
             out = {{'objects': {{}}}}\n\
             for k in keys:\n    o = s3.get_object(Bucket='{BUCKET}', Key=k)\n    out['objects'][k] = [o['ContentType'], json.loads(o['Body'].read())]\n\
             out['policy'] = json.loads(s3.get_bucket_policy(Bucket='{BUCKET}')['Policy'])\n\
             try:\n    out['block'] = s3.get_public_access_block(Bucket='{BUCKET}')['PublicAccessBlockConfiguration']\n\
             except s3.exceptions.ClientError:\n    out['block'] = None\n\
             print(json.dumps(out))"
        ))
    }
}

/// A bucket as new buckets are since April 2023: all four public-access settings on, with a
/// statement of the owner's that must survive.
fn locked_bucket(world: &World) {
    world.boto3(&format!(
        "s3.create_bucket(Bucket='{BUCKET}', CreateBucketConfiguration={{'LocationConstraint': 'eu-west-1'}})\n\
         s3.put_public_access_block(Bucket='{BUCKET}', PublicAccessBlockConfiguration={{'BlockPublicAcls': True, 'IgnorePublicAcls': True, 'BlockPublicPolicy': True, 'RestrictPublicBuckets': True}})\n\
         s3.put_bucket_policy(Bucket='{BUCKET}', Policy=json.dumps({{'Version': '2012-10-17', 'Statement': [{owner}]}}))\n\
         print('null')",
        owner = OWNER_STATEMENT
    ));
}

const OWNER_STATEMENT: &str = r#"{"Sid": "KeepTheBucket", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket", "Resource": "arn:aws:s3:::irsa-oidc-demo"}"#;

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
    ]);
    assert_eq!(run.ok().stdout, format!("{ARN}\n"));
    assert_eq!(
        run.stderr,
        format!(
            "Changed: added client ID irsa-demo to {ARN}\nChanged: added client ID vault to {ARN}\n"
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
