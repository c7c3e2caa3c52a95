//! The apiserver settings that make a cluster sign ServiceAccount tokens for an issuer, safe to
//! apply to a cluster that already runs: as kube-apiserver flags, a kubeadm ClusterConfiguration
//! snippet, a complete kind cluster config, k3s server arguments, or an rke2 config drop-in.
//!
//! Safe means nothing the cluster trusts before the change stops being trusted:
//! - **keys**: `--service-account-key-file` is repeatable and each file may hold several keys;
//!   the files the cluster has (given, or the distribution's own) stay beside sa-signer.pub, so
//!   tokens signed by the old key keep verifying, including legacy Secret-based tokens, which
//!   kube-controller-manager signs with its `--service-account-private-key-file`.
//! - **audiences**: `--api-audiences` defaults to the `--service-account-issuer` values when it
//!   is unset (pkg/kubeapiserver/options/authentication.go: `authenticator.Audiences(Issuers)`);
//!   every audience of before is kept and the new issuer added.
//! - **issuers**: when `--service-account-issuer` is repeated, "the first is used to generate
//!   tokens and all are used to determine which issuers are accepted" (the flag's help, same
//!   file). An existing issuer is kept: second while the new one is only accepted
//!   ([`IssuerStage::Accept`]), then after it ([`IssuerStage::Sign`]), until it is dropped
//!   ([`IssuerStage::Only`]).
//!
//! What each distribution does with its own defaults is in [`render`]; the steps and warnings
//! that go with a configuration are in [`advice`]. Pure: values in, text out.

pub mod advice;
mod render;

/// The signing key's file name in the key directory (`oidc keygen` writes it).
pub const SIGNING_KEY_FILE: &str = "sa-signer.key";
/// The public keys' file name in the key directory: the signing key's, plus any older keys
/// appended to it while tokens they signed are still in use.
pub const PUBLIC_KEY_FILE: &str = "sa-signer.pub";
/// The issuer kubeadm (so kind), k3s and rke2 configure by default, for the cluster domain
/// `cluster.local`: kubeadm's `--service-account-issuer=https://kubernetes.default.svc.<dnsDomain>`,
/// k3s's `"https://kubernetes.default.svc." + ClusterDomain` (pkg/daemons/control/server.go).
pub const DEFAULT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// kubeadm's service account public key, its default `--service-account-key-file`; the private
/// half, `sa.key`, is its `--service-account-signing-key-file` and kube-controller-manager's
/// `--service-account-private-key-file` (cmd/kubeadm/app/phases/controlplane/manifests.go).
pub const KUBEADM_KEY_FILE: &str = "/etc/kubernetes/pki/sa.pub";
/// kubeadm's service account signing key (see [`KUBEADM_KEY_FILE`]).
pub const KUBEADM_SIGNING_KEY_FILE: &str = "/etc/kubernetes/pki/sa.key";
/// k3s's `--service-account-key-file`: every key it trusts (service.current.key signs).
pub const K3S_KEY_FILE: &str = "/var/lib/rancher/k3s/server/tls/service.key";
/// rke2's, the same file under rke2's data directory.
pub const RKE2_KEY_FILE: &str = "/var/lib/rancher/rke2/server/tls/service.key";

/// Which configuration to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// kube-apiserver flags, one a line.
    KubeApiserver,
    /// A kubeadm ClusterConfiguration (v1beta4) snippet.
    Kubeadm,
    /// A kind cluster config, for `kind create cluster --config`: a new cluster.
    Kind,
    /// A `k3s server` command line.
    K3s,
    /// An rke2 config drop-in (`/etc/rancher/rke2/config.yaml.d/`).
    Rke2,
}

impl Flavor {
    /// What the distribution configures by itself: its issuer and its key file. kubeadm's
    /// (and so kind's) come from cmd/kubeadm/app/phases/controlplane/manifests.go, k3s's from
    /// pkg/daemons/control/server.go, which rke2 runs with its own data directory.
    fn defaults(self) -> (Option<&'static str>, Option<&'static str>) {
        match self {
            Flavor::KubeApiserver => (None, None),
            Flavor::Kubeadm | Flavor::Kind => (Some(DEFAULT_ISSUER), Some(KUBEADM_KEY_FILE)),
            Flavor::K3s => (Some(DEFAULT_ISSUER), Some(K3S_KEY_FILE)),
            Flavor::Rke2 => (Some(DEFAULT_ISSUER), Some(RKE2_KEY_FILE)),
        }
    }

    /// The audiences the apiserver has when they were not given: k3s sets
    /// `https://kubernetes.default.svc.<domain>,k3s` (`version.Program`; rke2 runs the same
    /// code as `rke2`); kube-apiserver's own default is its issuers, which for kind, a new
    /// kubeadm cluster, is kubeadm's issuer.
    fn default_audiences(self, issuers: &[String]) -> Vec<String> {
        let program = match self {
            Flavor::K3s => "k3s",
            Flavor::Rke2 => "rke2",
            Flavor::Kind => return vec![DEFAULT_ISSUER.to_string()],
            Flavor::KubeApiserver | Flavor::Kubeadm => return issuers.to_vec(),
        };
        vec![DEFAULT_ISSUER.to_string(), program.to_string()]
    }
}

/// Where the new issuer stands among the issuers the apiserver accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssuerStage {
    /// Accepted after the existing issuers, which keep signing.
    Accept,
    /// First, so it signs; the existing issuers still accepted.
    Sign,
    /// The only issuer.
    Only,
}

/// What a cluster trusts: issuers (in order), key files, API audiences.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trusted {
    pub issuers: Vec<String>,
    pub key_files: Vec<String>,
    pub audiences: Vec<String>,
}

impl Trusted {
    /// What a cluster of `flavor` trusts before the change: what was given (or read from the
    /// cluster), else what the distribution configures by itself. A kind config creates its
    /// cluster, so no issuer was in use before it.
    pub fn before(flavor: Flavor, given: Trusted) -> Trusted {
        let (issuer, key_file) = flavor.defaults();
        let or_default = |values: Vec<String>, default: Option<&str>| match values.is_empty() {
            true => default.map(str::to_string).into_iter().collect(),
            false => unique(values),
        };
        let issuers = match flavor {
            Flavor::Kind => Vec::new(),
            _ => or_default(given.issuers, issuer),
        };
        let audiences = match given.audiences.is_empty() {
            true => flavor.default_audiences(&issuers),
            false => unique(given.audiences),
        };
        Trusted {
            key_files: or_default(given.key_files, key_file),
            issuers,
            audiences,
        }
    }
}

/// The values in order, each once.
fn unique(values: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        if !out.contains(&value) {
            out.push(value);
        }
    }
    out
}

/// What the apiserver needs: the issuer, its JWKS URL, the directory of the keys (an absolute
/// path where the apiserver runs; for kind, on the host), what the cluster trusts before, and
/// the stage of the issuer change.
pub struct ApiserverConfig<'a> {
    pub issuer: &'a str,
    pub jwks_uri: &'a str,
    pub key_dir: &'a str,
    pub before: &'a Trusted,
    pub stage: IssuerStage,
}

impl ApiserverConfig<'_> {
    /// The configuration for `flavor`.
    pub fn render(&self, flavor: Flavor) -> String {
        render::render(self, flavor)
    }

    /// What the apiserver trusts after the change: the issuers in the stage's order, every
    /// key file of before and sa-signer.pub, every audience of before and the new issuer.
    pub fn after(&self) -> Trusted {
        let new = self.issuer.to_string();
        let old = self.before.issuers.iter().filter(|i| **i != new).cloned();
        let issuers = match self.stage {
            IssuerStage::Accept => unique(old.chain([new.clone()])),
            IssuerStage::Sign => unique([new.clone()].into_iter().chain(old)),
            IssuerStage::Only => vec![new.clone()],
        };
        let key_files = self.before.key_files.iter().cloned();
        let audiences = self.before.audiences.iter().cloned();
        Trusted {
            issuers,
            key_files: unique(key_files.chain([self.key_file(PUBLIC_KEY_FILE)])),
            audiences: unique(audiences.chain([new])),
        }
    }

    /// A file of the key directory.
    fn key_file(&self, name: &str) -> String {
        format!("{}/{name}", self.key_dir.trim_end_matches('/'))
    }

    /// Whether the new issuer signs (and the jwks_uri, which describes the first issuer,
    /// becomes its own).
    fn new_issuer_signs(&self) -> bool {
        self.stage != IssuerStage::Accept || self.before.issuers.iter().all(|i| i == self.issuer)
    }
}

#[cfg(test)]
mod tests;
