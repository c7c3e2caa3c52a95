//! Whole outputs of every flavor at every stage, and what "before" means per distribution.
//! (The integration tests in tests/oidc/apiserver_config.rs parse them back as each
//! distribution would and check that nothing trusted before is lost.)

use super::*;

const NEW: &str = "https://b.s3.eu-west-1.amazonaws.com/c1";
const URI: &str = "https://b.s3.eu-west-1.amazonaws.com/c1/keys.json";
const DIR: &str = "/etc/irsa keys";
const OLD: &str = "https://kubernetes.default.svc.cluster.local";

fn given(issuers: &[&str], key_files: &[&str], audiences: &[&str]) -> Trusted {
    let owned = |values: &[&str]| values.iter().map(|v| v.to_string()).collect();
    Trusted {
        issuers: owned(issuers),
        key_files: owned(key_files),
        audiences: owned(audiences),
    }
}

fn render(flavor: Flavor, before: &Trusted, stage: IssuerStage) -> String {
    ApiserverConfig {
        issuer: NEW,
        jwks_uri: URI,
        key_dir: DIR,
        before,
        stage,
    }
    .render(flavor)
}

#[test]
fn before_is_what_was_given_else_the_distributions_defaults() {
    let none = Trusted::default();
    assert_eq!(
        Trusted::before(Flavor::KubeApiserver, none.clone()),
        Trusted::default()
    );
    assert_eq!(
        Trusted::before(Flavor::Kubeadm, none.clone()),
        given(&[OLD], &[KUBEADM_KEY_FILE], &[OLD])
    );
    assert_eq!(
        Trusted::before(Flavor::Kind, none.clone()),
        given(&[], &[KUBEADM_KEY_FILE], &[OLD])
    );
    assert_eq!(
        Trusted::before(Flavor::K3s, none.clone()),
        given(&[OLD], &[K3S_KEY_FILE], &[OLD, "k3s"])
    );
    assert_eq!(
        Trusted::before(Flavor::Rke2, none),
        given(&[OLD], &[RKE2_KEY_FILE], &[OLD, "rke2"])
    );
    // Given values replace the defaults; the audiences default to the issuers, as
    // kube-apiserver's do.
    let custom = given(&["https://old", "https://old"], &["/k/a.pub"], &[]);
    assert_eq!(
        Trusted::before(Flavor::Kubeadm, custom),
        given(&["https://old"], &["/k/a.pub"], &["https://old"])
    );
}

#[test]
fn kube_apiserver_flags_keep_every_key_audience_and_issuer() {
    let before = given(&[OLD], &["/etc/kubernetes/pki/sa.pub"], &["api", OLD]);
    assert_eq!(
        render(Flavor::KubeApiserver, &before, IssuerStage::Accept),
        format!(
            "--service-account-issuer={OLD}\n\
             --service-account-issuer={NEW}\n\
             --service-account-key-file=/etc/kubernetes/pki/sa.pub\n\
             --service-account-key-file='/etc/irsa keys/sa-signer.pub'\n\
             --service-account-signing-key-file='/etc/irsa keys/sa-signer.key'\n\
             --api-audiences=api,{OLD},{NEW}\n"
        )
    );
    // Once the new issuer signs, the jwks_uri (which describes the first issuer) is its own.
    let sign = render(Flavor::KubeApiserver, &before, IssuerStage::Sign);
    assert!(sign.starts_with(&format!("--service-account-issuer={NEW}\n--service-account-issuer={OLD}\n--service-account-jwks-uri={URI}\n")), "{sign}");
    let only = render(Flavor::KubeApiserver, &before, IssuerStage::Only);
    assert!(only.starts_with(&format!("--service-account-issuer={NEW}\n--service-account-jwks-uri={URI}\n--service-account-key-file=/etc/kubernetes/pki/sa.pub\n")), "{only}");
    assert!(
        only.ends_with(&format!("--api-audiences=api,{OLD},{NEW}\n")),
        "{only}"
    );
}

#[test]
fn kubeadm_snippet_lists_every_value_of_each_name() {
    let before = Trusted::before(Flavor::Kubeadm, Trusted::default());
    assert_eq!(
        render(Flavor::Kubeadm, &before, IssuerStage::Accept),
        format!(
            "# Merge into the ClusterConfiguration of ConfigMap kube-system/kubeadm-config (kubeadm 1.31+, v1beta4).
# Each name listed replaces all of kubeadm's values of that name, so every value to keep is here.
# Before kubeadm 1.31 (v1beta3), extraArgs holds one value a flag: put these flags in /etc/kubernetes/manifests/kube-apiserver.yaml instead.
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
apiServer:
  extraArgs:
  - name: service-account-issuer
    value: \"{OLD}\"
  - name: service-account-issuer
    value: \"{NEW}\"
  - name: service-account-key-file
    value: \"/etc/kubernetes/pki/sa.pub\"
  - name: service-account-key-file
    value: \"/etc/irsa keys/sa-signer.pub\"
  - name: service-account-signing-key-file
    value: \"/etc/irsa keys/sa-signer.key\"
  - name: api-audiences
    value: \"{OLD},{NEW}\"
  extraVolumes:
  - name: irsa-keys
    hostPath: \"/etc/irsa keys\"
    mountPath: \"/etc/irsa keys\"
    readOnly: true
    pathType: Directory
"
        )
    );
}

#[test]
fn kind_config_mounts_the_pair_as_kubeadms_own() {
    let before = Trusted::before(Flavor::Kind, Trusted::default());
    assert_eq!(
        render(Flavor::Kind, &before, IssuerStage::Sign),
        format!(
            "# kind create cluster --config FILE: tokens are signed for {NEW} by /etc/irsa keys/sa-signer.key, which kubeadm uses as its sa.key
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
  extraMounts:
  - hostPath: \"/etc/irsa keys/sa-signer.key\"
    containerPath: /etc/kubernetes/pki/sa.key
    readOnly: true
  - hostPath: \"/etc/irsa keys/sa-signer.pub\"
    containerPath: /etc/kubernetes/pki/sa.pub
    readOnly: true
kubeadmConfigPatches:
- |
  apiVersion: kubeadm.k8s.io/v1beta3
  kind: ClusterConfiguration
  apiServer:
    extraArgs:
      service-account-issuer: \"{NEW}\"
      service-account-jwks-uri: \"{URI}\"
      api-audiences: \"{OLD},{NEW}\"
- |
  apiVersion: kubeadm.k8s.io/v1beta4
  kind: ClusterConfiguration
  apiServer:
    extraArgs:
    - name: service-account-issuer
      value: \"{NEW}\"
    - name: service-account-jwks-uri
      value: \"{URI}\"
    - name: api-audiences
      value: \"{OLD},{NEW}\"
"
        )
    );
}

#[test]
fn k3s_arguments_add_to_what_k3s_sets() {
    let before = Trusted::before(Flavor::K3s, Trusted::default());
    assert_eq!(
        render(Flavor::K3s, &before, IssuerStage::Accept),
        format!(
            "k3s server \\
  --kube-apiserver-arg=service-account-issuer+={NEW} \\
  --kube-apiserver-arg='service-account-key-file+=/etc/irsa keys/sa-signer.pub' \\
  --kube-apiserver-arg='service-account-signing-key-file=/etc/irsa keys/sa-signer.key' \\
  --kube-apiserver-arg=api-audiences+={NEW}
"
        )
    );
    let sign = render(Flavor::K3s, &before, IssuerStage::Sign);
    assert!(sign.contains(&format!("  --kube-apiserver-arg=service-account-issuer-={NEW} \\\n  --kube-apiserver-arg=service-account-jwks-uri={URI} \\\n")), "{sign}");
    let only = render(Flavor::K3s, &before, IssuerStage::Only);
    assert!(
        only.contains(&format!(
            "  --kube-apiserver-arg=service-account-issuer={NEW} \\\n"
        )),
        "{only}"
    );
}

#[test]
fn rke2_drop_in_appends_to_config_yaml_and_mounts_the_keys() {
    let before = Trusted::before(Flavor::Rke2, Trusted::default());
    assert_eq!(
        render(Flavor::Rke2, &before, IssuerStage::Sign),
        format!(
            "# /etc/rancher/rke2/config.yaml.d/50-irsa.yaml on every server; keys ending in + add to the lists of config.yaml
kube-apiserver-arg+:
- \"service-account-issuer-={NEW}\"
- \"service-account-jwks-uri={URI}\"
- \"service-account-key-file+=/etc/irsa keys/sa-signer.pub\"
- \"service-account-signing-key-file=/etc/irsa keys/sa-signer.key\"
- \"api-audiences+={NEW}\"
kube-apiserver-extra-mount+:
- \"/etc/irsa keys:/etc/irsa keys:ro\"
"
        )
    );
}

#[test]
fn an_issuer_already_in_use_is_neither_repeated_nor_dropped() {
    let before = given(&[NEW], &[], &[]);
    let config = ApiserverConfig {
        issuer: NEW,
        jwks_uri: URI,
        key_dir: DIR,
        before: &before,
        stage: IssuerStage::Accept,
    };
    assert_eq!(config.after().issuers, [NEW]);
    assert!(config.new_issuer_signs());
    assert!(
        config
            .render(Flavor::KubeApiserver)
            .contains("--service-account-jwks-uri=")
    );
}
