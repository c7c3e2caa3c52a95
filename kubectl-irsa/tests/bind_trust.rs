//! `bind --update-trust` and `unbind --update-trust` through the binary, against moto's IAM
//! (the real SDK client over HTTP to 127.0.0.1) and the fake API server: the role's trust
//! policy read back from moto after each run.

mod common;

use std::process::Command;

use common::{Cluster, ROLE, Run};
use serde_json::{Value, json};
use tests::fake_kube::DEFAULT_ISSUER;
use tests::{Moto, venv_bin};

const HOSTPATH: &str = "oidc.fake.test/id/CLUSTER";
const PROVIDER: &str = "arn:aws:iam::123456789012:oidc-provider/oidc.fake.test/id/CLUSTER";
const OTHER: &str = "oidc.eks.eu-west-1.amazonaws.com/id/OTHER";

/// moto, with the IAM OIDC provider of the fake cluster's issuer.
struct Iam {
    moto: Moto,
    dir: tempfile::TempDir,
}

impl Iam {
    fn start() -> Iam {
        let iam = Iam {
            moto: Moto::start(),
            dir: tempfile::tempdir().unwrap(),
        };
        iam.aws(&[
            "iam",
            "create-open-id-connect-provider",
            "--url",
            DEFAULT_ISSUER,
            "--client-id-list",
            "sts.amazonaws.com",
            "--thumbprint-list",
            "9e99a48a9960b14926bb7f3b02e22da2b0ab7280",
        ]);
        iam
    }

    /// The AWS CLI against moto; asserts it succeeds and returns its stdout.
    fn aws(&self, args: &[&str]) -> String {
        let output = self
            .env(
                Command::new(venv_bin("aws"))
                    .args(args)
                    .args(["--output", "json"]),
            )
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn env<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        command
            .env("AWS_ENDPOINT_URL", self.moto.url())
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .env(
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            )
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", self.dir.path().join("config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.dir.path().join("credentials"),
            )
    }

    fn create_role(&self, name: &str, policy: &Value) {
        self.aws(&[
            "iam",
            "create-role",
            "--role-name",
            name,
            "--assume-role-policy-document",
            &policy.to_string(),
        ]);
    }

    fn trust(&self, name: &str) -> Value {
        let role: Value =
            serde_json::from_str(&self.aws(&["iam", "get-role", "--role-name", name])).unwrap();
        role["Role"]["AssumeRolePolicyDocument"].clone()
    }

    fn run(&self, cluster: &Cluster, args: &[&str]) -> Run {
        let mut command = cluster.plugin(args);
        Run::from(
            self.env(&mut command)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap(),
        )
    }
}

fn ec2() -> Value {
    json!({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
}

/// The statement of the fake cluster's provider for `subs`.
fn statement(subs: Value) -> Value {
    json!({
        "Effect": "Allow",
        "Principal": {"Federated": PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            format!("{HOSTPATH}:sub"): subs,
            format!("{HOSTPATH}:aud"): "sts.amazonaws.com",
        }},
    })
}

/// Another cluster's statement, as eksctl writes it.
fn other_cluster() -> Value {
    json!({
        "Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::123456789012:oidc-provider/{OTHER}")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            format!("{OTHER}:sub"): "system:serviceaccount:shop:cart",
            format!("{OTHER}:aud"): "sts.amazonaws.com",
        }},
    })
}

fn policy(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn bind<'a>(name: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "bind",
        name,
        "-n",
        "shop",
        "--role-arn",
        ROLE,
        "--update-trust",
    ];
    args.extend(extra);
    args
}

#[test]
fn bind_merges_into_a_role_with_an_ec2_and_another_clusters_statement() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    iam.create_role("cart", &policy(vec![ec2(), other_cluster()]));
    let run = iam.run(&cluster, &bind("cart", &[]));
    let sub = format!("{HOSTPATH}:sub");
    let aud = format!("{HOSTPATH}:aud");
    assert_eq!(
        run.ok().stdout,
        format!(
            "--- {ROLE} (trust policy now)\n\
             +++ {ROLE} (trust policy after)\n\
             @@ -20,6 +20,19 @@\n           \
             \"{OTHER}:aud\": \"sts.amazonaws.com\"\n         \
             }}\n       \
             }}\n\
             +    }},\n\
             +    {{\n\
             +      \"Effect\": \"Allow\",\n\
             +      \"Principal\": {{\n\
             +        \"Federated\": \"{PROVIDER}\"\n\
             +      }},\n\
             +      \"Action\": \"sts:AssumeRoleWithWebIdentity\",\n\
             +      \"Condition\": {{\n\
             +        \"StringEquals\": {{\n\
             +          \"{sub}\": \"system:serviceaccount:shop:cart\",\n\
             +          \"{aud}\": \"sts.amazonaws.com\"\n\
             +        }}\n\
             +      }}\n     \
             }}\n   \
             ]\n \
             }}\n\
             role {ROLE} trust policy updated: added system:serviceaccount:shop:cart, every other statement kept\n\
             serviceaccount/cart created in namespace shop\n"
        )
    );
    assert_eq!(run.stderr, "");
    assert_eq!(
        iam.trust("cart"),
        policy(vec![
            ec2(),
            other_cluster(),
            statement(json!("system:serviceaccount:shop:cart"))
        ])
    );
    assert_eq!(
        cluster.annotations("shop", "cart"),
        json!({"eks.amazonaws.com/role-arn": ROLE})
    );
}

#[test]
fn two_service_accounts_bound_then_one_unbound() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    iam.create_role("cart", &policy(vec![ec2()]));
    iam.run(&cluster, &bind("cart", &[])).ok();
    iam.run(&cluster, &bind("api", &[])).ok();
    assert_eq!(
        iam.trust("cart"),
        policy(vec![
            ec2(),
            statement(json!([
                "system:serviceaccount:shop:cart",
                "system:serviceaccount:shop:api"
            ]))
        ])
    );
    // Binding again changes nothing in IAM.
    let again = iam.run(&cluster, &bind("cart", &[]));
    assert_eq!(
        again.ok().stdout,
        format!(
            "role {ROLE} unchanged: its trust policy already allows system:serviceaccount:shop:cart\nserviceaccount/cart unchanged\n"
        )
    );

    let run = iam.run(
        &cluster,
        &["unbind", "cart", "-n", "shop", "--update-trust"],
    );
    assert_eq!(
        run.ok().stdout,
        format!(
            "--- {ROLE} (trust policy now)\n\
             +++ {ROLE} (trust policy after)\n\
             @@ -16,10 +16,7 @@\n       \
             \"Action\": \"sts:AssumeRoleWithWebIdentity\",\n       \
             \"Condition\": {{\n         \
             \"StringEquals\": {{\n\
             -          \"{HOSTPATH}:sub\": [\n\
             -            \"system:serviceaccount:shop:cart\",\n\
             -            \"system:serviceaccount:shop:api\"\n\
             -          ],\n\
             +          \"{HOSTPATH}:sub\": \"system:serviceaccount:shop:api\",\n           \
             \"{HOSTPATH}:aud\": \"sts.amazonaws.com\"\n         \
             }}\n       \
             }}\n\
             role {ROLE} trust policy updated: removed system:serviceaccount:shop:cart, every other statement kept\n\
             serviceaccount/cart unbound: removed eks.amazonaws.com/role-arn\n"
        )
    );
    assert_eq!(
        iam.trust("cart"),
        policy(vec![
            ec2(),
            statement(json!("system:serviceaccount:shop:api"))
        ])
    );
    assert_eq!(cluster.annotations("shop", "cart"), json!({}));
}

#[test]
fn unbinding_the_last_statement_is_refused_and_changes_nothing() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    iam.create_role(
        "cart",
        &policy(vec![statement(json!("system:serviceaccount:shop:cart"))]),
    );
    cluster
        .fake
        .add_service_account("shop", "cart", &[("eks.amazonaws.com/role-arn", ROLE)]);
    iam.run(&cluster, &["unbind", "cart", "-n", "shop", "--update-trust"])
        .fails(1, "removing system:serviceaccount:shop:cart would leave no statement in the trust policy, and IAM refuses a role without one (MalformedPolicyDocument): bind another ServiceAccount to the role first, or delete the role if nothing uses it");
    assert_eq!(
        iam.trust("cart"),
        policy(vec![statement(json!("system:serviceaccount:shop:cart"))])
    );
    assert_eq!(
        cluster.annotations("shop", "cart"),
        json!({"eks.amazonaws.com/role-arn": ROLE})
    );
}
