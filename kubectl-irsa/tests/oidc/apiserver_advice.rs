//! `oidc apiserver-config`'s stderr, whole: what it reads from the cluster, the steps of an
//! issuer migration, the warnings when the cluster cannot be read, and refused flags.

use super::apiserver_config::{DEFAULT_ISSUER, config_args, key_dir, kubeadm_snippet};
use super::*;

#[test]
fn a_running_clusters_issuer_is_read_and_the_migration_steps_printed() {
    let cluster = Cluster::start();
    cluster.fake.set_issuer(DEFAULT_ISSUER);
    let (dir, kid) = key_dir(cluster.dir.path(), "keys", "ES256");
    let run = cluster.run(&config_args(&dir, "kubeadm", &[]));
    run.ok();
    assert!(
        cluster
            .fake
            .requests()
            .iter()
            .any(|r| r.path == "/.well-known/openid-configuration"),
        "the issuer is read from the cluster"
    );
    let (extra, _) = kubeadm_snippet(&run.stdout);
    let issuers: Vec<&str> = extra
        .iter()
        .filter(|(name, _)| name == "service-account-issuer")
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(
        issuers,
        [DEFAULT_ISSUER, S3_ISSUER],
        "the new issuer second"
    );
    assert_eq!(
        run.stderr,
        format!(
            "Note: the cluster's /.well-known/openid-configuration announces issuer \"{DEFAULT_ISSUER}\"
Note: kept: key files /etc/kubernetes/pki/sa.pub; audiences {DEFAULT_ISSUER}.
Note: this cluster signs tokens for {DEFAULT_ISSUER}. Move to {S3_ISSUER} in steps, so that no token stops verifying:
  1. Publish the documents with every key the cluster trusts, and upload them: kubectl irsa oidc documents --issuer {S3_ISSUER} --public-key {dir}/sa-signer.pub --public-key /etc/kubernetes/pki/sa.pub --out DIR (or, after step 3, without --public-key: the cluster's /openid/v1/jwks then lists them all).
  2. Apply the settings above: {S3_ISSUER} is accepted second, {DEFAULT_ISSUER} still signs, with sa-signer.key (kid {kid}).
  3. Roll the apiserver: merge the snippet into ConfigMap kube-system/kubeadm-config (key ClusterConfiguration), then on one control-plane node at a time run `kubeadm init phase control-plane apiserver --config FILE` (or edit /etc/kubernetes/manifests/kube-apiserver.yaml alike): the kubelet restarts the apiserver.
  4. Once every token has been refreshed (the kubelet renews projected tokens after 80% of their lifetime or 24 h: wait 24 h), put {S3_ISSUER} first: run this command again with --issuer-stage sign, apply what it prints in place of this, and roll again. Tokens then carry {S3_ISSUER}, which IAM verifies.
  5. 24 h later, drop {DEFAULT_ISSUER}: --issuer-stage only. Keep every key file.
Warning: legacy Secret-based ServiceAccount tokens (type kubernetes.io/service-account-token) are signed by kube-controller-manager's --service-account-private-key-file and carry the issuer kubernetes/serviceaccount, not the cluster's: they keep working only while that key's public half stays in --service-account-key-file, and IAM never accepts them.
Warning: kubeadm releases before kubernetes/kubernetes#135400 sort repeated extraArgs by value and would put {S3_ISSUER} first: after applying, check the order of --service-account-issuer in /etc/kubernetes/manifests/kube-apiserver.yaml ({DEFAULT_ISSUER} must come first) and fix it there.
"
        )
    );
}

#[test]
fn without_a_cluster_to_read_kube_apiserver_flags_warn_what_to_pass() {
    let home = tempfile::tempdir().unwrap();
    let (dir, kid) = key_dir(home.path(), "keys", "RS256");
    let run = plugin(home.path(), &config_args(&dir, "kube-apiserver", &[]));
    run.ok();
    assert_eq!(
        run.stdout,
        format!(
            "--service-account-issuer={S3_ISSUER}\n--service-account-jwks-uri={S3_ISSUER}/keys.json\n\
             --service-account-key-file={dir}/sa-signer.pub\n--service-account-signing-key-file={dir}/sa-signer.key\n\
             --api-audiences={S3_ISSUER}\n"
        )
    );
    assert_eq!(
        run.stderr,
        format!(
            "Warning: the cluster's issuer was not read (no kubeconfig): if this apiserver already has --service-account-issuer, pass it with --existing-issuer, or the tokens it issued stop verifying.
Warning: keep the keys this apiserver trusts today: pass each of its --service-account-key-file values with --existing-key-file (without that flag it trusts its --tls-private-key-file), or the tokens they signed stop verifying.
Note: tokens will carry kid {kid} (RS256); publish the matching documents with `kubectl irsa oidc documents --issuer {S3_ISSUER} --public-key {dir}/sa-signer.pub --out DIR`.
"
        )
    );
}

#[test]
fn flags_that_do_not_fit_the_flavor_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let (dir, _) = key_dir(home.path(), "keys", "ES256");
    plugin(
        home.path(),
        &config_args(&dir, "kind", &["--existing-issuer", DEFAULT_ISSUER]),
    )
    .fails(
        2,
        "a kind config creates a new cluster, with nothing to keep",
    );
    plugin(
        home.path(),
        &config_args(&dir, "kind", &["--issuer-stage", "accept"]),
    )
    .fails(2, "use --flavor kubeadm");
    plugin(
        home.path(),
        &config_args(&dir, "k3s", &["--existing-key-file", "sa.pub"]),
    )
    .fails(
        2,
        "invalid --existing-key-file \"sa.pub\": give the absolute path",
    );
    plugin(
        home.path(),
        &config_args(&dir, "rke2", &["--issuer-stage", "later"]),
    )
    .fails(2, "invalid value 'later' for '--issuer-stage <STAGE>'");
}
