//! `oidc thumbprint` and `oidc provider` against a local TLS server with a generated CA.

use super::*;

fn tls_server() -> (ServerTls, BackgroundServer) {
    let tls = ServerTls::generate(&["localhost"]);
    let handler: Handler =
        Arc::new(|_request| Box::pin(async { plain_response(http::StatusCode::OK, "{}") }));
    let server = BackgroundServer::start(handler, Some(tls.config.clone()));
    (tls, server)
}

#[test]
fn thumbprint_is_the_sha1_of_the_top_ca_certificate() {
    let home = tempfile::tempdir().unwrap();
    let (tls, server) = tls_server();
    let ca = sha1_hex(&tls.ca_der);
    let leaf = sha1_hex(pem::parse(&tls.server_cert_pem).unwrap().contents());

    let run = plugin(
        home.path(),
        &["oidc", "thumbprint", &format!("{}/id/X", server.url())],
    );
    run.ok();
    assert_eq!(run.stdout, format!("{ca}\n"));

    let run = plugin(home.path(), &["oidc", "thumbprint", &server.url(), "--all"]);
    run.ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].ends_with("serves 2 certificates, leaf first:"),
        "{}",
        run.stdout
    );
    assert!(
        lines[1].starts_with(&format!("0  {leaf}  CN=localhost")),
        "{}",
        run.stdout
    );
    assert!(
        lines[2].starts_with(&format!("1  {ca}  CN=kubectl-irsa test CA")),
        "{}",
        run.stdout
    );
    assert!(lines[3].ends_with(&ca), "{}", run.stdout);

    // provider computes the same thumbprint when none is given.
    let issuer = format!("{}/id/X", server.url());
    let run = plugin(home.path(), &["oidc", "provider", "--issuer", &issuer]);
    run.ok();
    assert!(run.stdout.starts_with(&format!(
        "aws iam create-open-id-connect-provider \\\n  --url {issuer} \\\n  --client-id-list sts.amazonaws.com \\\n  --thumbprint-list {ca}\n"
    )), "{}", run.stdout);
    assert!(
        run.stdout
            .contains(&format!("thumbprint_list = [\"{ca}\"]")),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("CN=kubectl-irsa test CA"),
        "{}",
        run.stderr
    );
}

#[test]
fn provider_takes_given_thumbprints_and_audiences_offline() {
    let home = tempfile::tempdir().unwrap();
    let run = plugin(
        home.path(),
        &[
            "oidc",
            "provider",
            "--issuer",
            S3_ISSUER,
            "--audience",
            "sts.amazonaws.com",
            "--audience",
            "other",
            "--thumbprint",
            "A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D",
        ],
    );
    run.ok();
    assert!(
        run.stdout
            .contains("--client-id-list sts.amazonaws.com other \\\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("--thumbprint-list a9993e364706816aba3e25717850c26c9cd0d89d\n")
    );
    assert!(
        run.stdout
            .contains("resource \"aws_iam_openid_connect_provider\" \"irsa\" {")
    );
    assert!(
        run.stdout
            .contains(&format!("url             = \"{S3_ISSUER}\""))
    );
    assert!(
        run.stdout
            .contains("client_id_list  = [\"sts.amazonaws.com\", \"other\"]")
    );
}
