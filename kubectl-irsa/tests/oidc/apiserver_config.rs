//! `oidc apiserver-config` read back as each distribution reads it (the models in
//! `distros.rs`): every key, audience and issuer the cluster trusted before is trusted after,
//! the new ones are added in the stage's order, and the key that signs is trusted. Whole
//! outputs where the text is the product (the migration steps).

use super::distros::{self, Apiserver};
use super::*;

pub const DEFAULT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// `oidc keygen --algorithm ALGORITHM` into HOME/NAME; the absolute directory and its kid.
pub fn key_dir(home: &Path, name: &str, algorithm: &str) -> (String, String) {
    let dir = home.join(name);
    let run = plugin(
        home,
        &[
            "oidc",
            "keygen",
            "--out",
            path_str(&dir),
            "--algorithm",
            algorithm,
        ],
    );
    run.ok();
    let kid = run
        .stdout
        .split("kid ")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let dir = std::fs::canonicalize(dir).unwrap();
    (path_str(&dir).to_string(), kid.to_string())
}

pub fn config_args<'a>(dir: &'a str, flavor: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "oidc",
        "apiserver-config",
        "--issuer",
        S3_ISSUER,
        "--key-dir",
        dir,
        "--flavor",
        flavor,
    ];
    args.extend_from_slice(extra);
    args
}

/// Asserts that `after` trusts every key and audience `before` did, and (but at the stage
/// that drops them) every issuer; the new issuer, and its audience, too.
fn keeps(before: &Apiserver, after: &Apiserver, old_issuers: bool) {
    let new = S3_ISSUER.to_string();
    for key in &before.key_files {
        assert!(after.key_files.contains(key), "{key} dropped: {after:?}");
    }
    for audience in before.audiences.iter().chain([&new]) {
        assert!(
            after.audiences.contains(audience),
            "{audience} dropped: {after:?}"
        );
    }
    let issuers = if old_issuers {
        &before.issuers[..]
    } else {
        &[]
    };
    for issuer in issuers.iter().chain([&new]) {
        assert!(
            after.issuers.contains(issuer),
            "{issuer} dropped: {after:?}"
        );
    }
}

/// The PEM public key of a private key file, as openssl derives it.
fn openssl_public(private_key: &str) -> String {
    let output = Command::new("openssl")
        .args(["pkey", "-pubout", "-in", private_key])
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn kind_configs_trust_the_key_that_signs_every_token() {
    let home = tempfile::tempdir().unwrap();
    for algorithm in ["RS256", "ES256"] {
        let (dir, kid) = key_dir(home.path(), algorithm, algorithm);
        let run = plugin(home.path(), &config_args(&dir, "kind", &[]));
        run.ok();
        let config: serde_norway::Value = serde_norway::from_str(&run.stdout).unwrap();
        let mounts: Vec<(String, String)> = config["nodes"][0]["extraMounts"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["containerPath"].as_str().unwrap().into(),
                    m["hostPath"].as_str().unwrap().into(),
                )
            })
            .collect();
        let host = |path: &str| {
            mounts
                .iter()
                .find(|(c, _)| c == path)
                .map(|(_, h)| h.clone())
        };
        let before = distros::apiserver(&distros::kubeadm_defaults());
        for patch in config["kubeadmConfigPatches"].as_sequence().unwrap() {
            let patch: serde_norway::Value =
                serde_norway::from_str(patch.as_str().unwrap()).unwrap();
            let extra: Vec<(String, String)> = match &patch["apiServer"]["extraArgs"] {
                serde_norway::Value::Mapping(map) => map
                    .iter()
                    .map(|(n, v)| (n.as_str().unwrap().into(), v.as_str().unwrap().into()))
                    .collect(),
                serde_norway::Value::Sequence(list) => list
                    .iter()
                    .map(|a| {
                        (
                            a["name"].as_str().unwrap().into(),
                            a["value"].as_str().unwrap().into(),
                        )
                    })
                    .collect(),
                other => panic!("{other:?}"),
            };
            let merged = distros::kind_merge(&distros::kubeadm_defaults(), &extra);
            let after = distros::apiserver(&merged);
            keeps(&before, &after, false);
            assert_eq!(
                after.issuers,
                [S3_ISSUER],
                "a new cluster signs for the new issuer"
            );
            assert_eq!(
                after.jwks_uri.as_deref(),
                Some(format!("{S3_ISSUER}/keys.json").as_str())
            );
            // The apiserver's signing key, and kube-controller-manager's (kubeadm's sa.key),
            // are this pair's private key, whose public half the trusted file holds.
            let signing = host(after.signing_key_file.as_deref().unwrap()).unwrap();
            assert_eq!(signing, format!("{dir}/sa-signer.key"));
            assert_eq!(host("/etc/kubernetes/pki/sa.key").unwrap(), signing);
            let trusted = std::fs::read_to_string(host(&after.key_files[0]).unwrap()).unwrap();
            assert!(trusted.contains(&openssl_public(&signing)), "{algorithm}");
        }
        assert_eq!(
            run.stderr,
            format!(
                "Note: tokens will carry kid {kid} ({algorithm}); publish the matching documents with `kubectl irsa oidc documents --issuer {S3_ISSUER} --public-key {dir}/sa-signer.pub --out DIR`.\n"
            )
        );
    }
}

/// The kubeadm snippet's extraArgs and volumes.
pub fn kubeadm_snippet(text: &str) -> (Vec<(String, String)>, serde_norway::Value) {
    let snippet: serde_norway::Value = serde_norway::from_str(text).unwrap();
    assert_eq!(snippet["apiVersion"], "kubeadm.k8s.io/v1beta4");
    assert_eq!(snippet["kind"], "ClusterConfiguration");
    let args = snippet["apiServer"]["extraArgs"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().into(),
                a["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    (args, snippet["apiServer"]["extraVolumes"].clone())
}

#[test]
fn kubeadm_migration_keeps_sa_pub_and_the_old_issuer_then_switches() {
    let cluster = Cluster::start();
    cluster.fake.set_issuer(DEFAULT_ISSUER);
    let (dir, kid) = key_dir(cluster.dir.path(), "keys", "RS256");
    let before = distros::apiserver(&distros::kubeadm_defaults());
    let mut order = Vec::new();
    for stage in ["accept", "sign", "only"] {
        let run = cluster.run(&config_args(&dir, "kubeadm", &["--issuer-stage", stage]));
        run.ok();
        let (extra, volumes) = kubeadm_snippet(&run.stdout);
        let command = distros::kubeadm_command(&distros::kubeadm_defaults(), &extra, false);
        let after = distros::apiserver(&command);
        keeps(&before, &after, stage != "only");
        assert_eq!(
            after.key_files,
            [
                "/etc/kubernetes/pki/sa.pub".to_string(),
                format!("{dir}/sa-signer.pub")
            ]
        );
        assert_eq!(after.audiences, [DEFAULT_ISSUER, S3_ISSUER]);
        assert_eq!(after.signing_key_file, Some(format!("{dir}/sa-signer.key")));
        assert_eq!(volumes[0]["hostPath"].as_str(), Some(dir.as_str()));
        assert_eq!(volumes[0]["mountPath"].as_str(), Some(dir.as_str()));
        // kubeadm before kubernetes/kubernetes#135400 sorts: warned about when it matters.
        let sorted = distros::apiserver(&distros::kubeadm_command(
            &distros::kubeadm_defaults(),
            &extra,
            true,
        ));
        assert_eq!(
            run.stderr.contains("sort repeated extraArgs by value"),
            sorted.issuers != after.issuers,
            "{}",
            run.stderr
        );
        order.push(after.issuers);
    }
    assert_eq!(order[0], [DEFAULT_ISSUER, S3_ISSUER]);
    assert_eq!(order[1], [S3_ISSUER, DEFAULT_ISSUER]);
    assert_eq!(order[2], [S3_ISSUER]);
    let _ = kid;
}

/// The `--kube-apiserver-arg` values of a `k3s server` command line, as the shell passes them.
fn k3s_arguments(text: &str) -> Vec<String> {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("k3s server \\"));
    lines
        .map(|line| {
            let word = line.trim().trim_end_matches(" \\");
            distros::unquote(word.strip_prefix("--kube-apiserver-arg=").unwrap())
        })
        .collect()
}

#[test]
fn k3s_arguments_keep_k3s_defaults_and_earlier_arguments_at_each_stage() {
    let home = tempfile::tempdir().unwrap();
    let (dir, _) = key_dir(home.path(), "keys", "ES256");
    let defaults = distros::k3s_defaults("k3s");
    // A server with no arguments of its own, and one that set its own issuer, key and audience.
    let earlier: Vec<String> = [
        "service-account-issuer=https://custom.example",
        "service-account-key-file=/etc/custom/old.pub",
        "api-audiences=custom",
        "audit-log-path=/var/log/audit.log",
    ]
    .map(String::from)
    .to_vec();
    for user in [Vec::new(), earlier] {
        let before = distros::apiserver(&distros::k3s_args(&defaults, &user));
        let mut issuers = Vec::new();
        for stage in ["accept", "sign", "only"] {
            let args = config_args(
                &dir,
                "k3s",
                &["--issuer-stage", stage, "--existing-issuer", "https://x"],
            );
            let run = plugin(home.path(), &args);
            run.ok();
            let mut all = user.clone();
            all.extend(k3s_arguments(&run.stdout));
            let after = distros::apiserver(&distros::k3s_args(&defaults, &all));
            keeps(&before, &after, stage != "only");
            assert_eq!(after.signing_key_file, Some(format!("{dir}/sa-signer.key")));
            assert_eq!(
                after.key_files.last(),
                Some(&format!("{dir}/sa-signer.pub"))
            );
            issuers.push(after.issuers);
        }
        let old = before.issuers[0].clone();
        assert_eq!(issuers[0], [old.clone(), S3_ISSUER.into()]);
        assert_eq!(issuers[1], [S3_ISSUER.into(), old.clone()]);
        // A plain argument adds to earlier plain ones: the advice says to remove them.
        let only: Vec<String> = if user.is_empty() { vec![] } else { vec![old] };
        assert_eq!(issuers[2], [only, vec![S3_ISSUER.into()]].concat());
    }
}

#[test]
fn rke2_drop_in_adds_to_config_yaml_and_rke2s_own_values() {
    let home = tempfile::tempdir().unwrap();
    let (dir, _) = key_dir(home.path(), "keys", "RS256");
    let config_yaml = "token: secret\nkube-apiserver-arg:\n- audit-log-path=/var/log/audit.log\n- service-account-key-file+=/etc/rancher/old.pub\nkube-apiserver-extra-mount:\n- /etc/rancher/old:/etc/rancher/old:ro\n";
    let run = plugin(
        home.path(),
        &config_args(&dir, "rke2", &["--existing-issuer", DEFAULT_ISSUER]),
    );
    run.ok();
    let defaults = distros::k3s_defaults("rke2");
    let before_args = distros::config_files(&[config_yaml], "kube-apiserver-arg");
    let after_args = distros::config_files(&[config_yaml, &run.stdout], "kube-apiserver-arg");
    let before = distros::apiserver(&distros::k3s_args(&defaults, &before_args));
    let after = distros::apiserver(&distros::k3s_args(&defaults, &after_args));
    assert_eq!(
        before.key_files,
        [
            "/var/lib/rancher/rke2/server/tls/service.key",
            "/etc/rancher/old.pub"
        ]
    );
    keeps(&before, &after, true);
    assert_eq!(
        after.issuers,
        [DEFAULT_ISSUER, S3_ISSUER],
        "accepted second"
    );
    assert_eq!(after.audiences, [DEFAULT_ISSUER, "rke2", S3_ISSUER]);
    assert!(after_args.contains(&"audit-log-path=/var/log/audit.log".to_string()));
    let mounts = distros::config_files(&[config_yaml, &run.stdout], "kube-apiserver-extra-mount");
    assert_eq!(
        mounts,
        [
            "/etc/rancher/old:/etc/rancher/old:ro".to_string(),
            format!("{dir}:{dir}:ro")
        ]
    );
}

/// kube-apiserver flags as printed: `(name, value)` with the shell's quoting removed.
fn flags(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|line| {
            let (name, value) = distros::split_flag(line);
            (name, distros::unquote(&value))
        })
        .collect()
}

#[test]
fn kube_apiserver_flags_replace_the_old_ones_and_keep_their_values() {
    let home = tempfile::tempdir().unwrap();
    let (dir, kid) = key_dir(home.path(), "irsa keys", "ES384");
    let existing = distros::pairs(&[
        ("service-account-issuer", "https://old.example"),
        ("service-account-key-file", "/etc/kubernetes/pki/sa.pub"),
        (
            "service-account-signing-key-file",
            "/etc/kubernetes/pki/sa.key",
        ),
        ("api-audiences", "api,https://old.example"),
        ("tls-cert-file", "/etc/kubernetes/pki/apiserver.crt"),
    ]);
    let args = config_args(
        &dir,
        "kube-apiserver",
        &[
            "--existing-issuer",
            "https://old.example",
            "--existing-key-file",
            "/etc/kubernetes/pki/sa.pub",
            "--existing-audience",
            "api",
            "--existing-audience",
            "https://old.example",
        ],
    );
    let run = plugin(home.path(), &args);
    run.ok();
    let ours = flags(&run.stdout);
    // The user puts these in place of the apiserver's flags of the same names.
    let mut effective: Vec<(String, String)> = existing
        .iter()
        .filter(|(name, _)| !ours.iter().any(|(n, _)| n == name))
        .cloned()
        .collect();
    effective.extend(ours);
    let (before, after) = (
        distros::apiserver(&existing),
        distros::apiserver(&effective),
    );
    keeps(&before, &after, true);
    assert_eq!(after.issuers, ["https://old.example", S3_ISSUER]);
    assert_eq!(
        run.stdout,
        format!(
            "--service-account-issuer=https://old.example\n\
             --service-account-issuer={S3_ISSUER}\n\
             --service-account-key-file=/etc/kubernetes/pki/sa.pub\n\
             --service-account-key-file='{dir}/sa-signer.pub'\n\
             --service-account-signing-key-file='{dir}/sa-signer.key'\n\
             --api-audiences=api,https://old.example,{S3_ISSUER}\n"
        )
    );
    assert!(
        run.stderr.contains(&format!("sa-signer.key (kid {kid})")),
        "{}",
        run.stderr
    );
}
