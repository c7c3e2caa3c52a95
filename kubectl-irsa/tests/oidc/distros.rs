//! What each distribution makes of a configuration, modelled from its source, so that tests can
//! read `apiserver-config`'s output back as the cluster would and compare what the apiserver
//! trusts before and after. Written from upstream code, not from the plugin:
//!
//! - kube-apiserver (pkg/kubeapiserver/options/authentication.go): `--service-account-issuer`
//!   and `--service-account-key-file` are string arrays, `--api-audiences` a string slice
//!   (comma-split); in pflag the first use of such a flag replaces its default and later uses
//!   append. Unset audiences default to the issuers. The first issuer signs.
//! - kubeadm (cmd/kubeadm/app/util/arguments.go, `ArgumentsToCommand`): an extraArgs name
//!   replaces every default argument of that name; since kubernetes/kubernetes#135400 the
//!   overrides keep their order, before it everything was sorted by name, then value.
//! - kind (pkg/internal/patch/kubeadm_merge.go): v1beta4 extraArgs patches are merged into the
//!   generated list by name, one value a name; v1beta3 maps are maps.
//! - k3s and rke2 (pkg/util/args.go `GetArgs`, pkg/configfilearg): `NAME+=V` appends to the
//!   default or earlier values, `NAME-=V` prepends, `NAME=V` drops the default and appends to
//!   earlier values; a config file key ending in `+` appends to the earlier files' list.

use std::collections::BTreeMap;

/// What an apiserver trusts, read from its flags.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Apiserver {
    pub issuers: Vec<String>,
    pub key_files: Vec<String>,
    pub audiences: Vec<String>,
    pub signing_key_file: Option<String>,
    pub jwks_uri: Option<String>,
}

/// kube-apiserver reading `--NAME=VALUE` flags, in order.
pub fn apiserver(flags: &[(String, String)]) -> Apiserver {
    let mut server = Apiserver::default();
    for (name, value) in flags {
        match name.as_str() {
            "service-account-issuer" => server.issuers.push(value.clone()),
            "service-account-key-file" => server.key_files.push(value.clone()),
            "api-audiences" => server
                .audiences
                .extend(value.split(',').map(str::to_string)),
            "service-account-signing-key-file" => server.signing_key_file = Some(value.clone()),
            "service-account-jwks-uri" => server.jwks_uri = Some(value.clone()),
            _ => {}
        }
    }
    if server.audiences.is_empty() {
        server.audiences = server.issuers.clone();
    }
    server
}

/// `(name, value)` pairs.
pub fn pairs(args: &[(&str, &str)]) -> Vec<(String, String)> {
    args.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// `--NAME=VALUE` (or `NAME=VALUE`) split at the first `=`.
pub fn split_flag(flag: &str) -> (String, String) {
    let (name, value) = flag.trim_start_matches("--").split_once('=').unwrap();
    (name.to_string(), value.to_string())
}

/// One shell word as the shell reads it: single quotes removed, `'\''` an apostrophe.
pub fn unquote(word: &str) -> String {
    match word.strip_prefix('\'').and_then(|w| w.strip_suffix('\'')) {
        Some(inner) => inner.replace(r"'\''", "'"),
        None => word.to_string(),
    }
}

/// kubeadm's arguments: `base` without the names `overrides` has, then the overrides in their
/// order (or, before kubernetes/kubernetes#135400, everything sorted by name and value).
pub fn kubeadm_command(
    base: &[(String, String)],
    overrides: &[(String, String)],
    sorted: bool,
) -> Vec<(String, String)> {
    let mut args = overrides.to_vec();
    let mut kept: Vec<(String, String)> = base
        .iter()
        .filter(|(name, _)| !overrides.iter().any(|(n, _)| n == name))
        .cloned()
        .collect();
    kept.sort();
    args.extend(kept);
    if sorted {
        args.sort();
    }
    args
}

/// The apiserver flags kubeadm sets by itself that matter here
/// (cmd/kubeadm/app/phases/controlplane/manifests.go, getAPIServerCommand).
pub fn kubeadm_defaults() -> Vec<(String, String)> {
    pairs(&[
        (
            "service-account-issuer",
            "https://kubernetes.default.svc.cluster.local",
        ),
        ("service-account-key-file", "/etc/kubernetes/pki/sa.pub"),
        (
            "service-account-signing-key-file",
            "/etc/kubernetes/pki/sa.key",
        ),
    ])
}

/// kind merging a v1beta4 extraArgs patch into the generated list: by name, one value a name.
pub fn kind_merge(
    generated: &[(String, String)],
    patch: &[(String, String)],
) -> Vec<(String, String)> {
    let mut merged = generated.to_vec();
    for (name, value) in patch {
        match merged.iter_mut().find(|(n, _)| n == name) {
            Some(found) => found.1 = value.clone(),
            None => merged.push((name.clone(), value.clone())),
        }
    }
    merged
}

/// k3s's `GetArgs`: its own `initial` values and the `--kube-apiserver-arg` values, in order.
pub fn k3s_args(initial: &[(&str, String)], extra: &[String]) -> Vec<(String, String)> {
    let mut initial: BTreeMap<String, String> = initial
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let mut multi: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for arg in extra {
        let (raw, value) = split_flag(arg);
        let name = raw.trim_end_matches(['-', '+']).to_string();
        let default = initial.remove(&name);
        let earlier = multi.remove(&name).unwrap_or_default();
        let values = if raw.ends_with('+') {
            default.into_iter().chain(earlier).chain([value]).collect()
        } else if raw.ends_with('-') {
            [value].into_iter().chain(default).chain(earlier).collect()
        } else {
            earlier.into_iter().chain([value]).collect()
        };
        multi.insert(name, values);
    }
    for (name, value) in initial {
        multi.insert(name, vec![value]);
    }
    multi
        .into_iter()
        .flat_map(|(name, values)| values.into_iter().map(move |v| (name.clone(), v)))
        .collect()
}

/// What k3s passes to its kube-apiserver by itself (pkg/daemons/control/server.go); rke2 the
/// same under its own data directory, with `rke2` as the program.
pub fn k3s_defaults(program: &str) -> Vec<(&'static str, String)> {
    let tls = format!("/var/lib/rancher/{program}/server/tls");
    vec![
        ("service-account-key-file", format!("{tls}/service.key")),
        (
            "service-account-signing-key-file",
            format!("{tls}/service.current.key"),
        ),
        (
            "service-account-issuer",
            "https://kubernetes.default.svc.cluster.local".into(),
        ),
        (
            "api-audiences",
            format!("https://kubernetes.default.svc.cluster.local,{program}"),
        ),
    ]
}

/// k3s's config file loader: the files in order, a key ending in `+` appending to the list of
/// earlier files. Returns the list of `key`.
pub fn config_files(files: &[&str], key: &str) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for file in files {
        let document: serde_norway::Value = serde_norway::from_str(file).unwrap();
        let Some(map) = document.as_mapping() else {
            continue;
        };
        for (name, value) in map {
            let name = name.as_str().unwrap();
            if name.trim_end_matches('+') != key {
                continue;
            }
            let list = value
                .as_sequence()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string());
            if !name.ends_with('+') {
                values.clear();
            }
            values.extend(list);
        }
    }
    values
}
