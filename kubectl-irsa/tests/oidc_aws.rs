//! `oidc publish`, `oidc provider --apply` and `oidc setup` through the real binary and the
//! real AWS SDK clients against moto's S3 and IAM on 127.0.0.1, with the fake API server for
//! the cluster's keys and tokens, all through the fake IAM in front of moto, which counts the
//! calls (IAM by action, S3 by method and path) and plays AddClientIDToOpenIDConnectProvider,
//! which moto lacks. What the plugin wrote is read back with boto3.

mod common;
// The tests, by verb, in files of their own (a test crate root resolves modules beside it).
#[path = "oidc_aws/provider.rs"]
mod provider;
#[path = "oidc_aws/publish.rs"]
mod publish;
#[path = "oidc_aws/setup.rs"]
mod setup;

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
    moto: Moto,
    cluster: Cluster,
}

impl World {
    fn start() -> World {
        let moto = Moto::start();
        World {
            iam: FakeIam::start(moto.port()),
            moto,
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
