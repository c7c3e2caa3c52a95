//! `oidc keygen`, `oidc apiserver-config`'s key pair check, and bad input across the oidc verbs
//! (apiserver-config's output: `apiserver_config.rs`).

use super::*;

/// Runs keygen into DIR/keys; returns the directory and the kid it printed.
fn keygen(home: &Path) -> (PathBuf, String) {
    let keys = home.join("keys");
    let run = plugin(home, &["oidc", "keygen", "--out", path_str(&keys)]);
    run.ok();
    let kid = run
        .stdout
        .split("kid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap()
        .to_string();
    (keys, kid)
}

#[test]
fn keygen_writes_a_key_pair_the_apiserver_and_documents_accept() {
    let home = tempfile::tempdir().unwrap();
    let (keys, kid) = keygen(home.path());
    let private_path = keys.join("sa-signer.key");
    let public_path = keys.join("sa-signer.pub");
    let mode = std::fs::metadata(&private_path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let private_pem = std::fs::read_to_string(&private_path).unwrap();
    let public_pem = std::fs::read_to_string(&public_path).unwrap();
    assert!(private_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    let private = RsaPrivateKey::from_pkcs8_pem(&private_pem).unwrap();
    let public = RsaPublicKey::from_public_key_pem(&public_pem).unwrap();
    assert_eq!(private.to_public_key(), public);
    assert_eq!(rsa::traits::PublicKeyParts::size(&public) * 8, 2048);
    assert_eq!(kid, expected_kid(&public));

    // The kid is stable: documents from the private or the public file list the same one.
    for file in [&private_path, &public_path] {
        let out = home.path().join("site");
        plugin(
            home.path(),
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
        )
        .ok();
        assert_eq!(
            read_json(&out.join("keys.json"))["keys"][0]["kid"],
            kid.as_str()
        );
    }

    // A second run refuses to replace the pair, and leaves it as it was.
    plugin(home.path(), &["oidc", "keygen", "--out", path_str(&keys)])
        .fails(2, "sa-signer.key exists: pass --force");
    assert_eq!(std::fs::read_to_string(&private_path).unwrap(), private_pem);
    plugin(
        home.path(),
        &["oidc", "keygen", "--out", path_str(&keys), "--force"],
    )
    .ok();
    assert_ne!(std::fs::read_to_string(&private_path).unwrap(), private_pem);
    plugin(
        home.path(),
        &["oidc", "keygen", "--out", path_str(&keys), "--bits", "1024"],
    )
    .fails(2, "invalid --bits 1024: use 2048, 3072 or 4096");
}

#[test]
fn apiserver_config_refuses_a_public_key_that_is_not_the_signing_keys() {
    let home = tempfile::tempdir().unwrap();
    let (keys, _) = keygen(home.path());
    std::fs::write(
        keys.join("sa-signer.pub"),
        new_key()
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap(),
    )
    .unwrap();
    let args = [
        "oidc",
        "apiserver-config",
        "--issuer",
        S3_ISSUER,
        "--key-dir",
        path_str(&keys),
        "--flavor",
        "kind",
    ];
    plugin(home.path(), &args).fails(2, "does not hold the public key of sa-signer.key");
}

#[test]
fn bad_input_fails_with_one_line_and_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("site");
    let notes = home.path().join("notes.txt");
    std::fs::write(&notes, "not a key\n").unwrap();
    let missing = home.path().join("missing.pem");
    let documents = |extra: &[&str]| {
        let mut args = vec!["oidc", "documents", "--out", path_str(&out)];
        args.extend_from_slice(extra);
        plugin(home.path(), &args)
    };
    documents(&["--issuer", S3_ISSUER, "--public-key", path_str(&missing)]).fails(
        2,
        &format!("cannot read --public-key {}", missing.display()),
    );
    documents(&["--issuer", S3_ISSUER, "--public-key", path_str(&notes)])
        .fails(2, "notes.txt is not a PEM file: give a PEM public key");
    documents(&[
        "--issuer",
        "http://oidc.example.com",
        "--public-key",
        path_str(&notes),
    ])
    .fails(2, "IAM OIDC providers need an https:// URL");
    documents(&[
        "--issuer",
        S3_ISSUER,
        "--public-key",
        path_str(&notes),
        "--jwks-path",
        "../x",
    ])
    .fails(2, "invalid --jwks-path");
    assert!(!out.exists(), "nothing is written");

    plugin(
        home.path(),
        &["oidc", "thumbprint", "http://oidc.example.com"],
    )
    .fails(2, "IAM needs an https issuer");
    plugin(
        home.path(),
        &[
            "oidc",
            "provider",
            "--issuer",
            S3_ISSUER,
            "--thumbprint",
            "abc",
        ],
    )
    .fails(2, "invalid --thumbprint \"abc\"");
    let keys = home.path().join("keys");
    plugin(
        home.path(),
        &[
            "oidc",
            "apiserver-config",
            "--issuer",
            S3_ISSUER,
            "--key-dir",
            path_str(&keys),
        ],
    )
    .fails(2, "cannot read --key-dir");
    plugin(
        home.path(),
        &[
            "oidc",
            "apiserver-config",
            "--issuer",
            S3_ISSUER,
            "--key-dir",
            path_str(&keys),
            "--flavor",
            "minikube",
        ],
    )
    .fails(2, "invalid value 'minikube' for '--flavor <FLAVOR>'");
    std::fs::create_dir(&keys).unwrap();
    std::fs::write(keys.join("sa-signer.key"), "not a key\n").unwrap();
    std::fs::write(keys.join("sa-signer.pub"), "not a key\n").unwrap();
    plugin(
        home.path(),
        &[
            "oidc",
            "apiserver-config",
            "--issuer",
            S3_ISSUER,
            "--key-dir",
            path_str(&keys),
        ],
    )
    .fails(2, "sa-signer.key is not a PEM file");
    plugin(home.path(), &["oidc", "keygen", "--out", path_str(&notes)])
        .fails(2, "is not a directory");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "not a key\n");
}
