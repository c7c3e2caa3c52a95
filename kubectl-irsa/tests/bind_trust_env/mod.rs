//! What `bind --update-trust` and `unbind --update-trust` tests share: moto behind the fake
//! IAM (which counts calls and plays faults), with the fake cluster's OIDC provider, the AWS CLI
//! to set up and read back, and the statements roles start with.

#![allow(dead_code)] // each test file uses a different part

use std::process::Command;

use serde_json::{Value, json};
use tests::fake_iam::FakeIam;
use tests::fake_kube::DEFAULT_ISSUER;
use tests::{Moto, venv_bin};

use crate::common::{Cluster, ROLE, Run};

pub const HOSTPATH: &str = "oidc.fake.test/id/CLUSTER";
pub const PROVIDER: &str = "arn:aws:iam::123456789012:oidc-provider/oidc.fake.test/id/CLUSTER";
pub const OTHER: &str = "oidc.eks.eu-west-1.amazonaws.com/id/OTHER";

/// moto, with the IAM OIDC provider of the fake cluster's issuer.
pub struct Iam {
    pub fake: FakeIam,
    moto: Moto,
    dir: tempfile::TempDir,
}

impl Iam {
    /// moto behind the fake IAM, with the provider; the calls counted from here on.
    pub fn start() -> Iam {
        let moto = Moto::start();
        let iam = Iam {
            fake: FakeIam::start(moto.port()),
            moto,
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
        iam.fake.reset_calls();
        iam
    }

    /// The AWS CLI against moto; asserts it succeeds and returns its stdout.
    pub fn aws(&self, args: &[&str]) -> String {
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

    pub fn env<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        command
            .env("AWS_ENDPOINT_URL", self.fake.url())
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

    pub fn create_role(&self, name: &str, policy: &Value) {
        self.aws(&[
            "iam",
            "create-role",
            "--role-name",
            name,
            "--assume-role-policy-document",
            &policy.to_string(),
        ]);
    }

    pub fn trust(&self, name: &str) -> Value {
        let role: Value =
            serde_json::from_str(&self.aws(&["iam", "get-role", "--role-name", name])).unwrap();
        role["Role"]["AssumeRolePolicyDocument"].clone()
    }

    pub fn run(&self, cluster: &Cluster, args: &[&str]) -> Run {
        let mut command = cluster.plugin(args);
        Run::from(
            self.env(&mut command)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap(),
        )
    }
}

pub fn ec2() -> Value {
    json!({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
}

/// The statement of the fake cluster's provider for `subs`.
pub fn statement(subs: Value) -> Value {
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
pub fn other_cluster() -> Value {
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

pub fn policy(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

pub fn bind<'a>(name: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
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
