//! The apiserver settings that make a cluster sign ServiceAccount tokens for an issuer: as
//! kube-apiserver flags, a complete kind cluster config, or k3s server arguments.

use crate::shell::quote as shell_quote;

/// The signing key's file name in the key directory (`oidc keygen` writes it).
pub const SIGNING_KEY_FILE: &str = "sa-signer.key";
/// The public keys' file name in the key directory: the signing key's, plus any older keys
/// appended to it while tokens they signed are still in use.
pub const PUBLIC_KEY_FILE: &str = "sa-signer.pub";
/// Where the kind config mounts the key directory, in the node and in the apiserver pod.
pub const KIND_KEY_DIR: &str = "/etc/kubernetes/irsa";

/// Which configuration to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// kube-apiserver flags, one a line.
    KubeApiserver,
    /// A kind cluster config, for `kind create cluster --config`.
    Kind,
    /// A `k3s server` command line.
    K3s,
}

/// What the apiserver needs: the issuer, its JWKS URL, and the host directory of the keys.
pub struct ApiserverConfig<'a> {
    pub issuer: &'a str,
    pub jwks_uri: &'a str,
    /// An absolute path on the host.
    pub key_dir: &'a str,
}

impl ApiserverConfig<'_> {
    /// kube-apiserver's flag names and values, with the keys under `dir`.
    fn args(&self, dir: &str) -> Vec<(&'static str, String)> {
        let dir = dir.trim_end_matches('/');
        vec![
            ("service-account-issuer", self.issuer.to_string()),
            ("service-account-jwks-uri", self.jwks_uri.to_string()),
            (
                "service-account-key-file",
                format!("{dir}/{PUBLIC_KEY_FILE}"),
            ),
            (
                "service-account-signing-key-file",
                format!("{dir}/{SIGNING_KEY_FILE}"),
            ),
            ("api-audiences", self.issuer.to_string()),
        ]
    }

    pub fn render(&self, flavor: Flavor) -> String {
        match flavor {
            Flavor::KubeApiserver => self
                .args(self.key_dir)
                .iter()
                .map(|(name, value)| format!("--{name}={}\n", shell_quote(value)))
                .collect(),
            Flavor::K3s => {
                let args: Vec<String> = self
                    .args(self.key_dir)
                    .iter()
                    .map(|(name, value)| {
                        format!(
                            "  --kube-apiserver-arg={}",
                            shell_quote(&format!("{name}={value}"))
                        )
                    })
                    .collect();
                format!("k3s server \\\n{}\n", args.join(" \\\n"))
            }
            Flavor::Kind => self.kind(),
        }
    }

    /// A kind cluster config: the key directory mounted into the control-plane node, and the
    /// apiserver flags as kubeadm patches for both kubeadm config versions kind uses (v1beta3
    /// for map-style extraArgs, v1beta4 for Kubernetes 1.36+ with name/value lists). Values are
    /// JSON-quoted, which YAML reads as double-quoted strings.
    fn kind(&self) -> String {
        let quote = |value: &str| serde_json::to_string(value).unwrap_or_default();
        let args = self.args(KIND_KEY_DIR);
        let map: String = args
            .iter()
            .map(|(name, value)| format!("      {name}: {}\n", quote(value)))
            .collect();
        let list: String = args
            .iter()
            .map(|(name, value)| format!("    - name: {name}\n      value: {}\n", quote(value)))
            .collect();
        let volumes = format!(
            "    extraVolumes:\n    - name: irsa-keys\n      hostPath: {KIND_KEY_DIR}\n      mountPath: {KIND_KEY_DIR}\n      readOnly: true\n      pathType: Directory\n"
        );
        let patch = |version: &str, extra_args: &str| {
            format!(
                "- |\n  apiVersion: kubeadm.k8s.io/{version}\n  kind: ClusterConfiguration\n  apiServer:\n    extraArgs:\n{extra_args}{volumes}"
            )
        };
        format!(
            "# kind create cluster --config FILE: tokens are signed for {issuer}\n\
             kind: Cluster\n\
             apiVersion: kind.x-k8s.io/v1alpha4\n\
             nodes:\n\
             - role: control-plane\n  \
               extraMounts:\n  \
               - hostPath: {host}\n    \
                 containerPath: {KIND_KEY_DIR}\n    \
                 readOnly: true\n\
             kubeadmConfigPatches:\n{v1beta3}{v1beta4}",
            issuer = self.issuer,
            host = quote(self.key_dir),
            v1beta3 = patch("v1beta3", &map),
            v1beta4 = patch("v1beta4", &list),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_norway::Value;

    const CONFIG: ApiserverConfig<'static> = ApiserverConfig {
        issuer: "https://b.s3.eu-west-1.amazonaws.com/c1",
        jwks_uri: "https://b.s3.eu-west-1.amazonaws.com/c1/keys.json",
        key_dir: "/home/me/irsa keys",
    };

    #[test]
    fn kube_apiserver_flags() {
        assert_eq!(
            CONFIG.render(Flavor::KubeApiserver),
            "--service-account-issuer=https://b.s3.eu-west-1.amazonaws.com/c1\n\
             --service-account-jwks-uri=https://b.s3.eu-west-1.amazonaws.com/c1/keys.json\n\
             --service-account-key-file='/home/me/irsa keys/sa-signer.pub'\n\
             --service-account-signing-key-file='/home/me/irsa keys/sa-signer.key'\n\
             --api-audiences=https://b.s3.eu-west-1.amazonaws.com/c1\n"
        );
    }

    #[test]
    fn k3s_server_arguments() {
        let text = CONFIG.render(Flavor::K3s);
        assert!(text.starts_with("k3s server \\\n  --kube-apiserver-arg=service-account-issuer=https://b.s3.eu-west-1.amazonaws.com/c1 \\\n"), "{text}");
        assert!(text.contains("  --kube-apiserver-arg='service-account-signing-key-file=/home/me/irsa keys/sa-signer.key' \\\n"), "{text}");
        assert!(
            text.ends_with(
                "--kube-apiserver-arg=api-audiences=https://b.s3.eu-west-1.amazonaws.com/c1\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn kind_config_parses_back_with_mounts_and_patches() {
        let text = CONFIG.render(Flavor::Kind);
        let config: Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(config["kind"], "Cluster");
        assert_eq!(config["apiVersion"], "kind.x-k8s.io/v1alpha4");
        let mount = &config["nodes"][0]["extraMounts"][0];
        assert_eq!(config["nodes"][0]["role"], "control-plane");
        assert_eq!(mount["hostPath"], "/home/me/irsa keys");
        assert_eq!(mount["containerPath"], KIND_KEY_DIR);
        let patches = config["kubeadmConfigPatches"].as_sequence().unwrap();
        assert_eq!(patches.len(), 2);
        let v1beta3: Value = serde_norway::from_str(patches[0].as_str().unwrap()).unwrap();
        assert_eq!(v1beta3["apiVersion"], "kubeadm.k8s.io/v1beta3");
        assert_eq!(v1beta3["kind"], "ClusterConfiguration");
        let args = &v1beta3["apiServer"]["extraArgs"];
        assert_eq!(args["service-account-issuer"], CONFIG.issuer);
        assert_eq!(args["service-account-jwks-uri"], CONFIG.jwks_uri);
        assert_eq!(
            args["service-account-signing-key-file"],
            "/etc/kubernetes/irsa/sa-signer.key"
        );
        assert_eq!(
            args["service-account-key-file"],
            "/etc/kubernetes/irsa/sa-signer.pub"
        );
        assert_eq!(args["api-audiences"], CONFIG.issuer);
        let volume = &v1beta3["apiServer"]["extraVolumes"][0];
        assert_eq!(volume["hostPath"], KIND_KEY_DIR);
        assert_eq!(volume["mountPath"], KIND_KEY_DIR);
        assert_eq!(volume["readOnly"], true);

        let v1beta4: Value = serde_norway::from_str(patches[1].as_str().unwrap()).unwrap();
        assert_eq!(v1beta4["apiVersion"], "kubeadm.k8s.io/v1beta4");
        let list = v1beta4["apiServer"]["extraArgs"].as_sequence().unwrap();
        assert_eq!(list.len(), 5);
        assert_eq!(list[0]["name"], "service-account-issuer");
        assert_eq!(list[0]["value"], CONFIG.issuer);
        assert_eq!(
            v1beta4["apiServer"]["extraVolumes"],
            v1beta3["apiServer"]["extraVolumes"]
        );
    }
}
