//! `kubectl irsa oidc ...`: documents from key files and from the cluster, a token minted by
//! the fake cluster verified against the written JWKS, the thumbprint of a local TLS server,
//! the IAM provider commands, apiserver configs, keygen (RSA and ECDSA), and bad input.

mod common;
// The other oidc tests, kept in files of their own (a test crate root resolves modules beside it).
#[path = "oidc/apiserver_advice.rs"]
mod apiserver_advice;
#[path = "oidc/apiserver_config.rs"]
mod apiserver_config;
#[path = "oidc/distros.rs"]
mod distros;
#[path = "oidc/ec_keys.rs"]
mod ec_keys;
#[path = "oidc/issuer_host.rs"]
mod issuer_host;
#[path = "oidc/keys_and_config.rs"]
mod keys_and_config;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tests::server::{BackgroundServer, Handler, plain_response};
use tests::tls::ServerTls;

use common::{Cluster, Run};

const S3_ISSUER: &str = "https://irsa-oidc.s3.eu-west-1.amazonaws.com/cluster-1";

/// The plugin with no cluster: an empty environment and a HOME of its own.
fn plugin(home: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_kubectl-irsa"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run::from(output)
}

/// The kid computed here, independently of the plugin: base64url(SHA-256(DER SPKI)).
fn expected_kid(key: &RsaPublicKey) -> String {
    let der = key.to_public_key_der().unwrap();
    URL_SAFE_NO_PAD.encode(Sha256::digest(der.as_bytes()))
}

fn new_key() -> RsaPrivateKey {
    RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn sha1_hex(der: &[u8]) -> String {
    use sha1::Digest as _;
    irsa_sts::hex(&sha1::Sha1::digest(der))
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn documents_from_key_files_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key();
    let public = key.to_public_key();
    let rotated = new_key().to_public_key();

    // The same key as PKIX, as PKCS#1 and inside a self-signed X.509 certificate; and an older
    // key being rotated out.
    let pkix = dir.path().join("sa.pub");
    std::fs::write(&pkix, public.to_public_key_pem(LineEnding::LF).unwrap()).unwrap();
    let pkcs1 = dir.path().join("sa-pkcs1.pem");
    std::fs::write(&pkcs1, public.to_pkcs1_pem(LineEnding::LF).unwrap()).unwrap();
    let certificate = dir.path().join("sa.crt");
    let pkcs8 = key.to_pkcs8_pem(LineEnding::LF).unwrap();
    let signer =
        rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&pkcs8, &rcgen::PKCS_RSA_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["sa.example".to_string()])
        .unwrap()
        .self_signed(&signer)
        .unwrap();
    std::fs::write(&certificate, cert.pem()).unwrap();
    let old = dir.path().join("old.pub");
    std::fs::write(&old, rotated.to_public_key_pem(LineEnding::LF).unwrap()).unwrap();

    let out = dir.path().join("site");
    for (file, expected) in [(&pkix, &public), (&pkcs1, &public), (&certificate, &public)] {
        let run = plugin(
            dir.path(),
            &[
                "oidc",
                "documents",
                "--out",
                path_str(&out),
                "--issuer",
                S3_ISSUER,
                "--public-key",
                path_str(file),
            ],
        );
        run.ok();
        let jwks = read_json(&out.join("keys.json"));
        assert_eq!(
            jwks["keys"].as_array().unwrap().len(),
            1,
            "{}",
            file.display()
        );
        let jwk = &jwks["keys"][0];
        assert_eq!(jwk["kid"], expected_kid(expected), "{}", file.display());
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["e"], "AQAB");
        let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        assert_eq!(n, rsa::traits::PublicKeyParts::n(expected).to_bytes_be());
    }

    // All at once: the duplicates collapse, the rotated key stays, in the order given.
    let run = plugin(
        dir.path(),
        &[
            "oidc",
            "documents",
            "--out",
            path_str(&out),
            "--issuer",
            S3_ISSUER,
            "--public-key",
            path_str(&pkix),
            "--public-key",
            path_str(&certificate),
            "--public-key",
            path_str(&old),
            "--public-key",
            path_str(&pkcs1),
        ],
    );
    run.ok();
    let jwks = read_json(&out.join("keys.json"));
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [expected_kid(&public), expected_kid(&rotated)]);
    assert_eq!(
        read_json(&out.join(".well-known/openid-configuration")),
        json!({
            "issuer": S3_ISSUER,
            "jwks_uri": format!("{S3_ISSUER}/keys.json"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })
    );
    // The S3 commands: a bucket policy letting anyone read the two objects, ACLs left off.
    let site = path_str(&out);
    for expected in [
        "aws s3api create-bucket --bucket irsa-oidc --region eu-west-1 --create-bucket-configuration LocationConstraint=eu-west-1".to_string(),
        "--public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=false,RestrictPublicBuckets=false".to_string(),
        "\"Resource\":[\"arn:aws:s3:::irsa-oidc/cluster-1/.well-known/openid-configuration\",\"arn:aws:s3:::irsa-oidc/cluster-1/keys.json\"]".to_string(),
        format!("aws s3 cp {site}/.well-known/openid-configuration s3://irsa-oidc/cluster-1/.well-known/openid-configuration --region eu-west-1 --content-type application/json"),
        format!("aws s3 cp {site}/keys.json s3://irsa-oidc/cluster-1/keys.json"),
        "#   https://s3.eu-west-1.amazonaws.com/irsa-oidc/cluster-1".to_string(),
    ] {
        assert!(run.stdout.contains(&expected), "missing {expected:?} in\n{}", run.stdout);
    }
    // No temporary files left behind.
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn documents_from_the_cluster_jwks() {
    let cluster = Cluster::start();
    let out = cluster.dir.path().join("site");
    let issuer = "https://oidc.example.com/c1";
    let run = cluster.run(&[
        "oidc",
        "documents",
        "--out",
        path_str(&out),
        "--issuer",
        issuer,
        "--legacy-empty-kid",
        "--jwks-path",
        "openid/v1/jwks",
    ]);
    run.ok();
    assert!(
        cluster
            .fake
            .requests()
            .iter()
            .any(|r| r.method == "GET" && r.path == "/openid/v1/jwks")
    );
    // The kid the fake signs with, computed here from its PEM public key.
    let public = RsaPublicKey::from_public_key_pem(&cluster.fake.signing_public_key_pem()).unwrap();
    assert_eq!(expected_kid(&public), cluster.fake.signing_key_id());
    let jwks = read_json(&out.join("openid/v1/jwks"));
    let mut legacy = cluster.fake.signing_jwk();
    legacy["kid"] = json!("");
    assert_eq!(jwks, json!({"keys": [cluster.fake.signing_jwk(), legacy]}));
    let discovery = read_json(&out.join(".well-known/openid-configuration"));
    assert_eq!(discovery["issuer"], issuer);
    assert_eq!(discovery["jwks_uri"], format!("{issuer}/openid/v1/jwks"));
    // Not an S3 issuer: how to serve the files, and the S3 forms to choose from.
    assert!(run.stdout.contains("over https"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("https://BUCKET.s3.REGION.amazonaws.com")
    );
    assert!(run.stdout.contains(&cluster.fake.signing_key_id()));
}

#[tokio::test]
async fn a_token_minted_by_the_cluster_verifies_against_the_written_jwks() {
    let cluster = Cluster::start();
    cluster.fake.add_service_account("shop", "cart", &[]);
    let issuer = cluster.fake.issuer();
    let out = cluster.dir.path().join("site");
    let run = cluster.run(&[
        "oidc",
        "documents",
        "--out",
        path_str(&out),
        "--issuer",
        &issuer,
    ]);
    run.ok();

    let kubeconfig = Kubeconfig::read_from(&cluster.kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let api: Api<ServiceAccount> = Api::namespaced(client, "shop");
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec!["sts.amazonaws.com".into()],
            expiration_seconds: Some(3600),
            ..TokenRequestSpec::default()
        },
        ..TokenRequest::default()
    };
    let token = api
        .create_token_request("cart", &PostParams::default(), &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token;

    // As IAM does: the discovery document names the JWKS; the token's kid picks the key.
    let discovery = read_json(&out.join(".well-known/openid-configuration"));
    let jwks_file = discovery["jwks_uri"]
        .as_str()
        .unwrap()
        .strip_prefix(&format!("{issuer}/"))
        .unwrap()
        .to_string();
    let jwks = read_json(&out.join(jwks_file));
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the JWKS has the token's kid");
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["sts.amazonaws.com"]);
    validation.set_issuer(&[discovery["issuer"].as_str().unwrap()]);
    let claims = jsonwebtoken::decode::<Value>(&token, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], "system:serviceaccount:shop:cart");

    // A token whose payload was changed does not verify.
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["sub"] = json!("system:serviceaccount:shop:admin");
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    assert!(jsonwebtoken::decode::<Value>(&parts.join("."), &key, &validation).is_err());
}

#[test]
fn documents_without_keys_on_a_cluster_without_oidc_say_what_to_pass() {
    let cluster = Cluster::start();
    cluster.fake.set_oidc_enabled(false);
    let out = cluster.dir.path().join("site");
    cluster
        .run(&[
            "oidc",
            "documents",
            "--out",
            path_str(&out),
            "--issuer",
            S3_ISSUER,
        ])
        .fails(2, "pass its public keys with --public-key FILE");
    assert!(!out.exists());
}
