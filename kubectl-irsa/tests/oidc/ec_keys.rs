//! ECDSA keys end to end: `oidc keygen --algorithm ES256|ES384` checked with openssl,
//! `oidc documents` from an EC key file and from a cluster that signs ES256, and doctor's
//! verdict on that cluster.

use super::*;

/// `openssl ARGS` with `input` on stdin; its stdout.
fn openssl(args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl is installed");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// What openssl says of a PEM public key: its kid (base64url SHA-256 of the DER SPKI) and its
/// JWK coordinates (the halves of the uncompressed point that ends the DER).
fn openssl_ec_facts(public_pem: &str, size: usize) -> (String, String, String) {
    let der = openssl(
        &["pkey", "-pubin", "-outform", "DER"],
        public_pem.as_bytes(),
    );
    let point = &der[der.len() - 2 * size..];
    (
        URL_SAFE_NO_PAD.encode(Sha256::digest(&der)),
        URL_SAFE_NO_PAD.encode(&point[..size]),
        URL_SAFE_NO_PAD.encode(&point[size..]),
    )
}

#[test]
fn keygen_writes_ecdsa_keys_openssl_reads_with_the_apiservers_kid() {
    let home = tempfile::tempdir().unwrap();
    for (algorithm, curve, size) in [("ES256", "P-256", 32), ("es384", "P-384", 48)] {
        let keys = home.path().join(algorithm);
        let run = plugin(
            home.path(),
            &[
                "oidc",
                "keygen",
                "--out",
                path_str(&keys),
                "--algorithm",
                algorithm,
            ],
        );
        run.ok();
        let private_pem = std::fs::read_to_string(keys.join("sa-signer.key")).unwrap();
        let public_pem = std::fs::read_to_string(keys.join("sa-signer.pub")).unwrap();
        let mode = std::fs::metadata(keys.join("sa-signer.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        // openssl derives the same public key from the private one, on the right curve.
        let derived = openssl(&["pkey", "-pubout"], private_pem.as_bytes());
        assert_eq!(String::from_utf8(derived).unwrap(), public_pem);
        let text = openssl(&["pkey", "-noout", "-text"], private_pem.as_bytes());
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains(&format!("NIST CURVE: {curve}")), "{text}");
        let (kid, _, _) = openssl_ec_facts(&public_pem, size);
        let upper = algorithm.to_uppercase();
        assert_eq!(
            run.stdout,
            format!(
                "Wrote {dir}/sa-signer.key (ECDSA {curve} private key, PKCS#8, mode 0600): for --service-account-signing-key-file\n\
                 Wrote {dir}/sa-signer.pub (public key for {upper}, kid {kid}): for --service-account-key-file\n\
                 To rotate later, append the old public key to the new sa-signer.pub and publish both.\n",
                dir = keys.display()
            )
        );
    }
    let keys = home.path().join("bits");
    let keygen = |extra: &[&str]| {
        let mut args = vec!["oidc", "keygen", "--out", path_str(&keys)];
        args.extend_from_slice(extra);
        plugin(home.path(), &args)
    };
    keygen(&["--algorithm", "ES256", "--bits", "4096"]).fails(2, "--bits sizes RSA keys");
    keygen(&["--algorithm", "ES512"])
        .fails(2, "invalid value 'ES512' for '--algorithm <ALGORITHM>'");
    assert!(!keys.exists());
}

#[test]
fn documents_from_ec_and_rsa_key_files_list_every_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    // An EC key as `openssl ecparam -genkey` writes it (EC PARAMETERS, then EC PRIVATE KEY).
    let ec_key = dir.path().join("ec.key");
    let sec1 = openssl(&["ecparam", "-name", "prime256v1", "-genkey"], b"");
    std::fs::write(&ec_key, &sec1).unwrap();
    let ec_public = String::from_utf8(openssl(&["pkey", "-pubout"], &sec1)).unwrap();
    let (kid, x, y) = openssl_ec_facts(&ec_public, 32);
    let rsa_key = new_key().to_public_key();
    let rsa_file = dir.path().join("rsa.pub");
    std::fs::write(
        &rsa_file,
        rsa_key.to_public_key_pem(LineEnding::LF).unwrap(),
    )
    .unwrap();

    let out = dir.path().join("site");
    let documents = |files: &[&Path]| {
        let mut args = vec![
            "oidc",
            "documents",
            "--out",
            path_str(&out),
            "--issuer",
            S3_ISSUER,
        ];
        for file in files {
            args.extend(["--public-key", path_str(file)]);
        }
        plugin(dir.path(), &args).ok();
        (
            read_json(&out.join("keys.json")),
            read_json(&out.join(".well-known/openid-configuration")),
        )
    };
    let (jwks, discovery) = documents(&[&ec_key]);
    assert_eq!(
        jwks,
        json!({"keys": [{"use": "sig", "kty": "EC", "kid": kid, "crv": "P-256", "alg": "ES256", "x": x, "y": y}]})
    );
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["ES256"])
    );
    // The file as written keeps go-jose's member order, as the apiserver serves it.
    let text = std::fs::read_to_string(out.join("keys.json")).unwrap();
    let order = [
        "\"use\"", "\"kty\"", "\"kid\"", "\"crv\"", "\"alg\"", "\"x\"", "\"y\"",
    ];
    let at: Vec<usize> = order.iter().map(|m| text.find(m).unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");

    let (jwks, discovery) = documents(&[&rsa_file, &ec_key]);
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [expected_kid(&rsa_key).as_str(), kid.as_str()]);
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["ES256", "RS256"])
    );
}

/// A cluster whose apiserver signs with a P-256 key, and ServiceAccount shop/cart bound.
fn ec_cluster() -> Cluster {
    let cluster = Cluster::bound();
    cluster.fake.use_ec_signing_key();
    cluster.fake.preload_pod_identity_webhook();
    cluster
}

#[test]
fn documents_from_a_cluster_that_signs_es256() {
    let cluster = ec_cluster();
    let out = cluster.dir.path().join("site");
    let issuer = cluster.fake.issuer();
    cluster
        .run(&[
            "oidc",
            "documents",
            "--out",
            path_str(&out),
            "--issuer",
            &issuer,
        ])
        .ok();
    let jwk = cluster.fake.signing_jwk();
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(read_json(&out.join("keys.json")), json!({ "keys": [jwk] }));
    let discovery = read_json(&out.join(".well-known/openid-configuration"));
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["ES256"])
    );
    // The kid the fake signs with is the one openssl computes from its public key.
    let (kid, _, _) = openssl_ec_facts(&cluster.fake.signing_public_key_pem(), 32);
    assert_eq!(kid, cluster.fake.signing_key_id());
}

#[test]
fn doctor_verifies_es256_tokens_against_the_published_ec_key() {
    let cluster = ec_cluster();
    let run = cluster.run(&["doctor", "cart", "-n", "shop"]);
    run.ok();
    let kid = cluster.fake.signing_key_id();
    let issuer = cluster.fake.issuer();
    assert!(
        run.stdout.starts_with(&format!(
            "Cluster\n  PASS  issuer            discovery and a fresh token agree on {issuer}\n  PASS  jwks              kid {kid} is published and verifies a fresh token\n"
        )),
        "{}",
        run.stdout
    );
}
