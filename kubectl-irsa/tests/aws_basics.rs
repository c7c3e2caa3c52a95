//! How the plugin reaches AWS, through the real binary: `oidc provider --apply` (the smallest
//! verb that calls IAM and nothing else) against the fake IAM in front of moto, which counts
//! the calls and plays IAM's faults. Endpoints from AWS_ENDPOINT_URL_IAM alone, credentials
//! from a profile of the shared files, no credentials at all, AccessDenied, throttling.

use std::path::Path;
use std::process::Command;

use tests::Moto;
use tests::fake_iam::FakeIam;
use tests::run::{Run, run};

const ISSUER: &str = "https://irsa-oidc-demo.s3.eu-west-1.amazonaws.com/cluster-1";
const ARN: &str =
    "arn:aws:iam::123456789012:oidc-provider/irsa-oidc-demo.s3.eu-west-1.amazonaws.com/cluster-1";
const APPLY: [&str; 5] = ["oidc", "provider", "--issuer", ISSUER, "--apply"];

/// The plugin with an environment of nothing but `home` (no ~/.aws unless the test writes
/// one), no instance metadata, and `vars`.
fn plugin(home: &Path, args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kubectl-irsa"));
    command
        .env_clear()
        .env("HOME", home)
        .env("KUBECONFIG", home.join("no-kubeconfig"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(vars.iter().copied())
        .args(args);
    command
}

struct World {
    // Declared first: the proxy stops before moto.
    fake: FakeIam,
    _moto: Moto,
    home: tempfile::TempDir,
}

impl World {
    fn start() -> World {
        let moto = Moto::start();
        World {
            fake: FakeIam::start(moto.port()),
            _moto: moto,
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// The plugin with keys in the environment and only IAM's endpoint set.
    fn run(&self, args: &[&str]) -> Run {
        let url = self.fake.url();
        run(plugin(
            self.home.path(),
            args,
            &[
                ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
                (
                    "AWS_SECRET_ACCESS_KEY",
                    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                ),
                ("AWS_ENDPOINT_URL_IAM", &url),
            ],
        ))
    }
}

#[test]
fn aws_endpoint_url_iam_alone_reaches_iam_and_the_calls_are_counted() {
    let world = World::start();
    let created = world.run(&APPLY);
    assert_eq!(created.ok().stdout, format!("{ARN}\n"));
    assert_eq!(
        created.stderr,
        format!(
            "No thumbprint: IAM trusts S3's certificates itself\n\
             Changed: created the IAM OIDC provider {ARN} (client IDs sts.amazonaws.com)\n"
        )
    );
    assert_eq!(
        world.fake.calls(),
        ["ListOpenIDConnectProviders", "CreateOpenIDConnectProvider"]
    );
    world.fake.reset_calls();
    let again = world.run(&APPLY);
    assert_eq!(again.ok().stdout, format!("{ARN}\n"));
    assert_eq!(
        world.fake.calls(),
        ["ListOpenIDConnectProviders", "GetOpenIDConnectProvider"]
    );
    assert!(world.fake.writes().is_empty());
}

#[test]
fn a_client_id_is_added_with_the_action_moto_lacks() {
    let world = World::start();
    world.run(&APPLY).ok();
    world.fake.reset_calls();
    let mut args = APPLY.to_vec();
    args.extend(["--client-id", "sts.amazonaws.com", "--client-id", "vault"]);
    let added = world.run(&args);
    assert_eq!(added.ok().stdout, format!("{ARN}\n"));
    assert_eq!(
        world.fake.writes(),
        ["AddClientIDToOpenIDConnectProvider"],
        "{}",
        added.stderr
    );
    world.fake.reset_calls();
    world.run(&args).ok();
    assert!(
        world.fake.writes().is_empty(),
        "the second run adds nothing"
    );
}

#[test]
fn a_profile_of_the_shared_files_is_used_with_profile() {
    let world = World::start();
    let aws = world.home.path().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        "[ci]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n\
         aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    )
    .unwrap();
    let url = world.fake.url();
    let mut args = APPLY.to_vec();
    args.extend(["--profile", "ci"]);
    let vars = [("AWS_ENDPOINT_URL_IAM", url.as_str())];
    let applied = run(plugin(world.home.path(), &args, &vars));
    assert_eq!(applied.ok().stdout, format!("{ARN}\n"));
}

#[test]
fn no_credentials_is_one_line_naming_the_chain_and_the_fix() {
    let world = World::start();
    let url = world.fake.url();
    let vars = [("AWS_ENDPOINT_URL_IAM", url.as_str())];
    let failed = run(plugin(world.home.path(), &APPLY, &vars));
    assert_eq!(failed.code, 1);
    assert_eq!(
        failed.stderr,
        "error: no AWS credentials found for iam:ListOpenIDConnectProviders on * (tried the \
         environment, the default profile of ~/.aws/config and ~/.aws/credentials, web \
         identity, container and instance roles): run `aws configure` or `aws sso login`, set \
         --profile or AWS_PROFILE to a configured profile, or export AWS_ACCESS_KEY_ID and \
         AWS_SECRET_ACCESS_KEY\n"
    );
    assert!(world.fake.calls().is_empty(), "nothing was sent unsigned");

    let args = [&APPLY[..], &["--profile", "prod team"]].concat();
    let failed = run(plugin(world.home.path(), &args, &vars));
    assert_eq!(failed.code, 1);
    assert_eq!(
        failed.stderr,
        "error: no AWS credentials found for iam:ListOpenIDConnectProviders on * (profile prod \
         team is not in ~/.aws/config or ~/.aws/credentials, or holds no credentials): run `aws \
         configure --profile 'prod team'` or `aws sso login --profile 'prod team'`, or name a \
         configured profile with --profile or AWS_PROFILE\n"
    );
}

#[test]
fn a_credential_source_that_fails_is_named_with_another_way() {
    let world = World::start();
    let url = world.fake.url();
    let config = "[profile broken]\ncredential_process = /nonexistent/helper\n";
    let aws = world.home.path().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(aws.join("config"), config).unwrap();
    let vars = [
        ("AWS_ENDPOINT_URL_IAM", url.as_str()),
        ("AWS_PROFILE", "broken"),
    ];
    let failed = run(plugin(world.home.path(), &APPLY, &vars));
    assert_eq!(failed.code, 1);
    let line = failed.failure();
    assert!(
        line.starts_with(
            "error: cannot load AWS credentials for iam:ListOpenIDConnectProviders on *: "
        ),
        "{line}"
    );
    assert!(line.contains("/nonexistent/helper"), "{line}");
    assert!(
        line.ends_with(
            "; run `aws sso login` if the profile's session expired, or give credentials another \
             way (--profile, AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; off EC2, \
             AWS_EC2_METADATA_DISABLED=true skips instance metadata)"
        ),
        "{line}"
    );
    assert!(world.fake.calls().is_empty());
}

#[test]
fn access_denied_names_the_refused_action_and_the_fix() {
    let world = World::start();
    world.fake.deny("CreateOpenIDConnectProvider");
    let failed = world.run(&APPLY);
    assert_eq!(failed.code, 1);
    assert_eq!(
        failed.stderr,
        format!(
            "error: AWS refused iam:CreateOpenIDConnectProvider on https://irsa-oidc-demo.s3.eu-west-1.amazonaws.com/cluster-1 \
             (AccessDenied: User: arn:aws:iam::123456789012:user/moto is not authorized to \
             perform: iam:CreateOpenIDConnectProvider on resource: {ARN} because no \
             identity-based policy allows the iam:CreateOpenIDConnectProvider action); allow \
             iam:CreateOpenIDConnectProvider to the caller or use --profile with a principal \
             that has it (the README lists the IAM policy each verb needs)\n"
        )
    );
}

#[test]
fn throttling_is_retried_by_the_sdk() {
    let world = World::start();
    world.fake.throttle("ListOpenIDConnectProviders", 2);
    let applied = world.run(&APPLY);
    assert_eq!(applied.ok().stdout, format!("{ARN}\n"));
    assert_eq!(
        world.fake.calls(),
        [
            "ListOpenIDConnectProviders",
            "ListOpenIDConnectProviders",
            "ListOpenIDConnectProviders",
            "CreateOpenIDConnectProvider"
        ]
    );
}

#[test]
fn aws_endpoint_url_s3_alone_reaches_s3_with_the_region_the_issuer_names() {
    let world = World::start();
    let url = world.fake.url();
    let keys = world.home.path().join("keys");
    let keys = keys.to_str().unwrap();
    run(plugin(
        world.home.path(),
        &["oidc", "keygen", "--out", keys],
        &[],
    ))
    .ok();
    let public = format!("{keys}/sa-signer.pub");
    let args = [
        "oidc",
        "publish",
        "--issuer",
        ISSUER,
        "--bucket",
        "irsa-oidc-demo",
        "--create-bucket",
        "--public-key",
        &public,
        "--no-verify",
    ];
    let vars = [
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        ("AWS_ENDPOINT_URL_S3", url.as_str()),
    ];
    let published = run(plugin(world.home.path(), &args, &vars));
    published.ok();
    // Each document read before it is written (a second run writes nothing); HEAD first.
    assert_eq!(
        world.fake.calls(),
        [
            "HEAD /irsa-oidc-demo/",
            "PUT /irsa-oidc-demo/",
            "GET /irsa-oidc-demo/cluster-1/keys.json",
            "PUT /irsa-oidc-demo/cluster-1/keys.json",
            "GET /irsa-oidc-demo/cluster-1/.well-known/openid-configuration",
            "PUT /irsa-oidc-demo/cluster-1/.well-known/openid-configuration",
            "GET /irsa-oidc-demo/?publicAccessBlock",
            "GET /irsa-oidc-demo/?policy",
            "PUT /irsa-oidc-demo/?policy",
        ],
        "{}",
        published.stderr
    );
    assert_eq!(
        world.fake.writes(),
        [
            "PUT /irsa-oidc-demo/",
            "PUT /irsa-oidc-demo/cluster-1/keys.json",
            "PUT /irsa-oidc-demo/cluster-1/.well-known/openid-configuration",
            "PUT /irsa-oidc-demo/?policy",
        ],
        "{}",
        published.stderr
    );
}

#[test]
fn aws_ca_bundle_is_trusted_for_an_endpoint_behind_a_private_ca() {
    let moto = Moto::start();
    let tls = tests::tls::ServerTls::generate(&["127.0.0.1"]);
    let fake = FakeIam::start_tls(moto.port(), tls.config.clone());
    let home = tempfile::tempdir().unwrap();
    let bundle = home.path().join("ca.pem");
    std::fs::write(&bundle, &tls.ca_pem).unwrap();
    let url = fake.url();
    let keys = [
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        ("AWS_ENDPOINT_URL_IAM", url.as_str()),
    ];
    let untrusted = run(plugin(home.path(), &APPLY, &keys));
    assert_eq!(untrusted.code, 1);
    assert_eq!(
        untrusted.stderr,
        "error: cannot reach AWS for iam:ListOpenIDConnectProviders on *: invalid peer \
         certificate: UnknownIssuer; check the network and proxy, and AWS_ENDPOINT_URL_IAM, \
         AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL if set\n"
    );
    let with_bundle = [&keys[..], &[("AWS_CA_BUNDLE", bundle.to_str().unwrap())]].concat();
    let applied = run(plugin(home.path(), &APPLY, &with_bundle));
    assert_eq!(applied.ok().stdout, format!("{ARN}\n"));
    let missing = [&keys[..], &[("AWS_CA_BUNDLE", "/nonexistent/ca.pem")]].concat();
    let failed = run(plugin(home.path(), &APPLY, &missing));
    assert_eq!(failed.code, 1);
    assert_eq!(
        failed.stderr,
        "error: cannot use AWS_CA_BUNDLE=/nonexistent/ca.pem: No such file or directory (os \
         error 2); point it at a readable PEM file of CA certificates, or unset it\n"
    );
}
