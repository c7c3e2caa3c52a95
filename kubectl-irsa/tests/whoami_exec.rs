//! `whoami` and `exec`: a token from the fake API server's TokenRequest, traded with the moto STS
//! (or the fault STS for rejections moto cannot produce), from this machine.

mod common;

use common::{Cluster, ROLE};
use tests::fake_kube::DEFAULT_ISSUER;
use tests::{FakeSts, Moto, Reply, venv_bin};

#[test]
fn whoami_prints_the_assumed_identity_and_the_token_claims() {
    let cluster = Cluster::bound();
    let moto = Moto::start();
    let run = cluster.run(&[
        "whoami",
        "cart",
        "-n",
        "shop",
        "--endpoint-url",
        &moto.url(),
        "-o",
        "json",
    ]);
    let identity: serde_json::Value = serde_json::from_str(&run.ok().stdout).unwrap();
    assert_eq!(identity["roleArn"], ROLE);
    assert_eq!(identity["account"], "123456789012");
    assert_eq!(identity["session"], "kubectl-irsa.shop.cart");
    assert!(
        identity["assumedRoleArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:sts::123456789012:assumed-role/cart/")
    );
    assert_eq!(identity["token"]["iss"], DEFAULT_ISSUER);
    assert_eq!(identity["token"]["sub"], "system:serviceaccount:shop:cart");
    assert_eq!(
        identity["token"]["aud"],
        serde_json::json!(["sts.amazonaws.com"])
    );

    let text = cluster.run(&[
        "whoami",
        "cart",
        "-n",
        "shop",
        "--endpoint-url",
        &moto.url(),
    ]);
    assert!(text.ok().stdout.contains("TOKEN        iss=https://oidc.fake.test/id/CLUSTER sub=system:serviceaccount:shop:cart aud=sts.amazonaws.com"), "{}", text.stdout);
}

#[test]
fn whoami_requests_the_token_for_the_annotated_audience() {
    let cluster = Cluster::start();
    cluster.fake.add_service_account(
        "shop",
        "cart",
        &[
            ("eks.amazonaws.com/role-arn", ROLE),
            ("eks.amazonaws.com/audience", "custom.example.com"),
        ],
    );
    let sts = FakeSts::start(vec![]);
    cluster
        .run(&["whoami", "cart", "-n", "shop", "--endpoint-url", &sts.url()])
        .ok();
    let token = &sts.requests()[0].web_identity_token;
    let claims = irsa_sts::Claims::decode(token).unwrap();
    assert_eq!(claims.aud, ["custom.example.com"]);
    assert_eq!(sts.requests()[0].role_arn, ROLE);
}

#[test]
fn sts_rejections_name_the_broken_link() {
    let cluster = Cluster::bound();
    let sts = FakeSts::start(vec![Reply::access_denied()]);
    cluster
        .run(&["whoami", "cart", "-n", "shop", "--endpoint-url", &sts.url()])
        .fails(
            1,
            "oidc.fake.test/id/CLUSTER:sub = system:serviceaccount:shop:cart",
        );
    let sts = FakeSts::start_with_default(vec![], Reply::invalid_identity_token());
    cluster
        .run(&["whoami", "cart", "-n", "shop", "--endpoint-url", &sts.url()])
        .fails(1, "needs an IAM OIDC provider with exactly that URL");
}

#[test]
fn an_unbound_service_account_is_explained() {
    let cluster = Cluster::start();
    cluster.fake.add_service_account("shop", "cart", &[]);
    cluster
        .run(&[
            "whoami",
            "cart",
            "-n",
            "shop",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ])
        .fails(2, "has no eks.amazonaws.com/role-arn annotation: bind it");
    // --role-arn needs no annotation.
    let sts = FakeSts::start(vec![]);
    cluster
        .run(&[
            "whoami",
            "cart",
            "-n",
            "shop",
            "--role-arn",
            ROLE,
            "--endpoint-url",
            &sts.url(),
        ])
        .ok();
}

#[test]
fn forbidden_token_requests_are_explained() {
    let cluster = Cluster::bound();
    cluster.fake.deny("create", "serviceaccounts/token");
    cluster
        .run(&[
            "whoami",
            "cart",
            "-n",
            "shop",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ])
        .fails(1, "forbidden");
}

#[test]
fn exec_runs_the_aws_cli_with_the_pods_credentials() {
    let cluster = Cluster::bound();
    let moto = Moto::start();
    let aws = venv_bin("aws");
    let output = cluster
        .plugin(&[
            "exec",
            "cart",
            "-n",
            "shop",
            "--",
            aws.to_str().unwrap(),
            "sts",
            "get-caller-identity",
            "--output",
            "json",
        ])
        .env("AWS_ENDPOINT_URL", moto.url())
        .env("AWS_DEFAULT_REGION", "us-west-2")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let identity: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        identity["Arn"],
        "arn:aws:sts::123456789012:assumed-role/cart/kubectl-irsa.shop.cart"
    );
}

#[test]
fn exec_export_prints_lines_for_eval_and_exit_codes_pass_through() {
    let cluster = Cluster::bound();
    let sts = FakeSts::start(vec![]);
    let run = cluster.run(&[
        "exec",
        "cart",
        "-n",
        "shop",
        "--export",
        "--endpoint-url",
        &sts.url(),
        "--region",
        "eu-west-1",
    ]);
    let issued = &sts.issued()[0];
    assert_eq!(
        run.ok().stdout,
        format!(
            "export AWS_ACCESS_KEY_ID='{}'\n\
             export AWS_SECRET_ACCESS_KEY='{}'\n\
             export AWS_SESSION_TOKEN='{}'\n\
             export AWS_CREDENTIAL_EXPIRATION='{}'\n\
             export AWS_REGION='eu-west-1'\n\
             export AWS_DEFAULT_REGION='eu-west-1'\n",
            issued.access_key_id, issued.secret_access_key, issued.session_token, issued.expiration
        )
    );

    let child = cluster.run(&[
        "exec",
        "cart",
        "-n",
        "shop",
        "--endpoint-url",
        &sts.url(),
        "--",
        "sh",
        "-c",
        "exit 7",
    ]);
    assert_eq!(child.code, 7);
    cluster
        .run(&["exec", "cart", "-n", "shop"])
        .fails(2, "required");
}

const ALTERED: &str = "the answer was cut short or altered on its way: check that the endpoint URL is STS itself and what proxies stand between";

/// A failure whose whole stderr is the one `error: ` line `expected`, with nothing on stdout.
fn fails_with(run: &tests::Run, expected: &str) {
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, format!("error: {expected}\n"));
}

#[test]
fn unusable_credentials_never_reach_whoami_exec_or_the_shell() {
    use tests::fault_sts::{Fault, FaultSts, Forged};
    let cluster = Cluster::bound();
    let cases = [
        (
            Forged {
                secret_access_key: Some(String::new()),
                ..Forged::valid()
            },
            "no SecretAccessKey",
        ),
        (
            Forged {
                assumed_role_arn: None,
                ..Forged::valid()
            },
            "no AssumedRoleUser.Arn",
        ),
        (
            Forged {
                access_key_id: Some("ASIA'$(touch pwned)'".into()),
                ..Forged::valid()
            },
            "AccessKeyId is made of characters it never holds",
        ),
    ];
    for (fields, why) in cases {
        let sts = FaultSts::start(Fault::credentials(&fields));
        let url = sts.url();
        let expected =
            format!("STS at {url} answered 3 times with unusable credentials ({why}): {ALTERED}");
        let base = ["-n", "shop", "--endpoint-url", url.as_str()];
        fails_with(
            &cluster.run(&[&["whoami", "cart"][..], &base].concat()),
            &expected,
        );
        fails_with(
            &cluster.run(&[&["exec", "cart", "--export"][..], &base].concat()),
            &expected,
        );
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        let script = format!("touch {}", marker.display());
        let command = ["--", "sh", "-c", script.as_str()];
        fails_with(
            &cluster.run(&[&["exec", "cart"][..], &base, &command].concat()),
            &expected,
        );
        assert!(!marker.exists(), "{why}: the command must not run");
        assert_eq!(sts.calls(), 9, "{why}: retried, three attempts per run");
    }
}

#[test]
fn sts_failures_name_the_endpoint_and_what_happened() {
    use tests::fault_sts::{Fault, FaultSts};
    let cluster = Cluster::bound();
    let whoami = |url: &str| cluster.run(&["whoami", "cart", "-n", "shop", "--endpoint-url", url]);
    fails_with(
        &whoami("http://127.0.0.1:9"),
        "cannot reach STS at http://127.0.0.1:9: connection refused: check DNS and network access to STS, or point AWS_ENDPOINT_URL_STS at a reachable endpoint",
    );
    let sts = FaultSts::start(Fault::html(503));
    let run = whoami(&format!("http://admin:s3cr3t-pw@127.0.0.1:{}", sts.port()));
    fails_with(
        &run,
        &format!(
            "STS at http://admin:xxxxx@127.0.0.1:{} answered HTTP 503 Service Unavailable with an HTML page instead of an STS answer: STS or a proxy in front of it is failing (retried already): try again later, or check the proxy",
            sts.port()
        ),
    );
}
