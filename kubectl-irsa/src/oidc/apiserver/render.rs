//! Each flavor's text, and how each distribution merges it with what it configures itself:
//!
//! - **kube-apiserver**: every flag, every value; the user replaces the flags of these names.
//! - **kubeadm** (v1beta4, kubeadm 1.31+): `apiServer.extraArgs` is a list of name/value
//!   pairs; an override replaces every default argument of the same name and may repeat a
//!   name (`ArgumentsToCommand`, cmd/kubeadm/app/util/arguments.go), so every value to keep
//!   is listed. v1beta3's extraArgs is a map of one value a flag (kubernetes/kubeadm#2735).
//! - **kind**: a new cluster, and kind merges v1beta4 extraArgs patches by name, one value a
//!   name (pkg/internal/patch/kubeadm_merge.go), as v1beta3 maps do. So no flag is repeated:
//!   the key pair is mounted as kubeadm's own `sa.key` and `sa.pub`, which kubeadm then uses
//!   instead of generating them ("Using the existing sa key", CreateServiceAccountKeyAndPublicKeyFiles
//!   in cmd/kubeadm/app/phases/certs/certs.go). Its default `--service-account-key-file` and
//!   `--service-account-signing-key-file`, and kube-controller-manager's
//!   `--service-account-private-key-file` (legacy Secret tokens), all point at that pair.
//! - **k3s and rke2**: `--kube-apiserver-arg=NAME+=VALUE` appends VALUE after the value k3s
//!   sets (or after earlier arguments of that name), `NAME-=VALUE` puts it first, and a plain
//!   `NAME=VALUE` replaces k3s's own value; each value becomes its own `--NAME=` flag
//!   (`GetArgs`, pkg/util/args.go of k3s-io/k3s, which rke2 uses). A config file key ending in
//!   `+` appends to the list of earlier files instead of replacing it (pkg/configfilearg of
//!   k3s), which an rke2 drop-in in /etc/rancher/rke2/config.yaml.d/ needs.

use super::{
    ApiserverConfig, Flavor, IssuerStage, KUBEADM_KEY_FILE, KUBEADM_SIGNING_KEY_FILE,
    PUBLIC_KEY_FILE, SIGNING_KEY_FILE,
};
use crate::shell::quote as shell_quote;

/// `value` as a YAML double-quoted scalar (JSON's quoting, which YAML reads the same).
fn yaml(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

pub(super) fn render(config: &ApiserverConfig<'_>, flavor: Flavor) -> String {
    match flavor {
        Flavor::KubeApiserver => flag_args(config)
            .iter()
            .map(|(name, value)| format!("--{name}={}\n", shell_quote(value)))
            .collect(),
        Flavor::Kubeadm => kubeadm(config),
        Flavor::Kind => kind(config),
        Flavor::K3s => {
            let args: Vec<String> = rancher_args(config)
                .iter()
                .map(|arg| format!("  --kube-apiserver-arg={}", shell_quote(arg)))
                .collect();
            format!("k3s server \\\n{}\n", args.join(" \\\n"))
        }
        Flavor::Rke2 => rke2(config),
    }
}

/// kube-apiserver's flags, every value listed, in the order the apiserver reads them. The
/// jwks_uri describes the first issuer, so it is set once the new issuer signs.
fn flag_args(config: &ApiserverConfig<'_>) -> Vec<(&'static str, String)> {
    let after = config.after();
    let mut args: Vec<(&'static str, String)> = Vec::new();
    args.extend(
        after
            .issuers
            .into_iter()
            .map(|i| ("service-account-issuer", i)),
    );
    if config.new_issuer_signs() {
        args.push(("service-account-jwks-uri", config.jwks_uri.to_string()));
    }
    args.extend(
        after
            .key_files
            .into_iter()
            .map(|f| ("service-account-key-file", f)),
    );
    args.push((
        "service-account-signing-key-file",
        config.key_file(SIGNING_KEY_FILE),
    ));
    args.push(("api-audiences", after.audiences.join(",")));
    args
}

/// `extraArgs` as kubeadm v1beta4's list, indented by `indent`.
fn extra_args_list(args: &[(&str, String)], indent: &str) -> String {
    args.iter()
        .map(|(name, value)| format!("{indent}- name: {name}\n{indent}  value: {}\n", yaml(value)))
        .collect()
}

/// A ClusterConfiguration snippet with every value listed, and the key directory mounted
/// into the apiserver's static pod at the same path.
fn kubeadm(config: &ApiserverConfig<'_>) -> String {
    let dir = yaml(config.key_dir.trim_end_matches('/'));
    format!(
        "# Merge into the ClusterConfiguration of ConfigMap kube-system/kubeadm-config (kubeadm 1.31+, v1beta4).\n\
         # Each name listed replaces all of kubeadm's values of that name, so every value to keep is here.\n\
         # Before kubeadm 1.31 (v1beta3), extraArgs holds one value a flag: put these flags in /etc/kubernetes/manifests/kube-apiserver.yaml instead.\n\
         apiVersion: kubeadm.k8s.io/v1beta4\n\
         kind: ClusterConfiguration\n\
         apiServer:\n  \
           extraArgs:\n{args}  \
           extraVolumes:\n  \
           - name: irsa-keys\n    \
             hostPath: {dir}\n    \
             mountPath: {dir}\n    \
             readOnly: true\n    \
             pathType: Directory\n",
        args = extra_args_list(&flag_args(config), "  "),
    )
}

/// A kind cluster config: the key pair mounted as kubeadm's sa.key and sa.pub in the
/// control-plane node, and the issuer, jwks_uri and audiences as kubeadm patches for both
/// kubeadm config versions kind uses (v1beta3 below Kubernetes 1.36, v1beta4 from it:
/// pkg/cluster/internal/kubeadm/config.go of kubernetes-sigs/kind).
fn kind(config: &ApiserverConfig<'_>) -> String {
    let after = config.after();
    let args = [
        ("service-account-issuer", config.issuer.to_string()),
        ("service-account-jwks-uri", config.jwks_uri.to_string()),
        ("api-audiences", after.audiences.join(",")),
    ];
    let map: String = args
        .iter()
        .map(|(name, value)| format!("      {name}: {}\n", yaml(value)))
        .collect();
    let patch = |version: &str, extra_args: &str| {
        format!(
            "- |\n  apiVersion: kubeadm.k8s.io/{version}\n  kind: ClusterConfiguration\n  apiServer:\n    extraArgs:\n{extra_args}"
        )
    };
    let mount = |file: &str, path: &str| {
        format!(
            "  - hostPath: {}\n    containerPath: {path}\n    readOnly: true\n",
            yaml(&config.key_file(file))
        )
    };
    format!(
        "# kind create cluster --config FILE: tokens are signed for {issuer} by {key}, which kubeadm uses as its sa.key\n\
         kind: Cluster\n\
         apiVersion: kind.x-k8s.io/v1alpha4\n\
         nodes:\n\
         - role: control-plane\n  \
           extraMounts:\n{signing}{public}\
         kubeadmConfigPatches:\n{v1beta3}{v1beta4}",
        issuer = config.issuer,
        key = config.key_file(SIGNING_KEY_FILE),
        signing = mount(SIGNING_KEY_FILE, KUBEADM_SIGNING_KEY_FILE),
        public = mount(PUBLIC_KEY_FILE, KUBEADM_KEY_FILE),
        v1beta3 = patch("v1beta3", &map),
        v1beta4 = patch("v1beta4", &extra_args_list(&args, "    ")),
    )
}

/// The `--kube-apiserver-arg` values for k3s and rke2: the new issuer after the existing ones
/// (`+=`), before them (`-=`) or alone (`=`); sa-signer.pub after the keys k3s trusts, the
/// new issuer after its audiences.
fn rancher_args(config: &ApiserverConfig<'_>) -> Vec<String> {
    let operator = match config.stage {
        IssuerStage::Accept => "+=",
        IssuerStage::Sign => "-=",
        IssuerStage::Only => "=",
    };
    let mut args = vec![format!("service-account-issuer{operator}{}", config.issuer)];
    if config.new_issuer_signs() {
        args.push(format!("service-account-jwks-uri={}", config.jwks_uri));
    }
    args.push(format!(
        "service-account-key-file+={}",
        config.key_file(PUBLIC_KEY_FILE)
    ));
    args.push(format!(
        "service-account-signing-key-file={}",
        config.key_file(SIGNING_KEY_FILE)
    ));
    args.push(format!("api-audiences+={}", config.issuer));
    args
}

/// An rke2 config drop-in: the arguments, and the key directory mounted into the apiserver's
/// static pod (`kube-apiserver-extra-mount`, HOST:CONTAINER:ro).
fn rke2(config: &ApiserverConfig<'_>) -> String {
    let dir = config.key_dir.trim_end_matches('/');
    let args: String = rancher_args(config)
        .iter()
        .map(|arg| format!("- {}\n", yaml(arg)))
        .collect();
    format!(
        "# /etc/rancher/rke2/config.yaml.d/50-irsa.yaml on every server; keys ending in + add to the lists of config.yaml\n\
         kube-apiserver-arg+:\n{args}\
         kube-apiserver-extra-mount+:\n\
         - {mount}\n",
        mount = yaml(&format!("{dir}:{dir}:ro")),
    )
}
