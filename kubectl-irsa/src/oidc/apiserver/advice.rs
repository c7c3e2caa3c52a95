//! What goes with a configuration, on stderr: what it keeps, the ordered steps of an issuer
//! migration, and the warnings that matter on a running cluster. Pure: one line a string.
//!
//! Facts behind the steps: the kubelet refreshes a projected token once 80% of its lifetime has
//! passed or it is 24 hours old (pkg/kubelet/token/token_manager.go), so 24 hours after an
//! apiserver change every mounted token is a new one. Legacy Secret-based tokens are signed by
//! kube-controller-manager's `--service-account-private-key-file` with the issuer
//! `kubernetes/serviceaccount` (`LegacyIssuer`, pkg/serviceaccount/legacy.go), which the
//! apiserver accepts whatever its `--service-account-issuer` flags say.

use super::{ApiserverConfig, DEFAULT_ISSUER, Flavor, IssuerStage, PUBLIC_KEY_FILE};
use crate::shell::quote;

/// What the advice is about.
pub struct Context<'a> {
    pub flavor: Flavor,
    pub config: &'a ApiserverConfig<'a>,
    /// Whether the existing issuers were given or read from the cluster (not assumed).
    pub issuers_known: bool,
    /// Whether --existing-key-file was given.
    pub key_files_given: bool,
    /// Why the cluster's issuer could not be read, when reading it was tried.
    pub unread: Option<&'a str>,
    /// The kid and algorithm of the tokens sa-signer.key will sign.
    pub kid: &'a str,
    pub algorithm: &'a str,
    /// Whether the documents are published already (by `oidc setup`).
    pub published: bool,
}

/// Every line to print on stderr, in order.
pub fn advice(context: &Context<'_>) -> Vec<String> {
    let config = context.config;
    let old: Vec<&String> = config
        .before
        .issuers
        .iter()
        .filter(|issuer| *issuer != config.issuer)
        .collect();
    let mut lines = unknowns(context);
    lines.extend(kept(context));
    match (config.stage, old.is_empty()) {
        (IssuerStage::Accept, false) => lines.extend(migration(context, &old)),
        (IssuerStage::Sign, false) => {
            lines.push(publish(context));
            lines.push(signing(context, &old));
        }
        (IssuerStage::Only, _) => {
            lines.push(publish(context));
            lines.extend(only(context));
        }
        _ => lines.push(publish(context)),
    }
    lines.extend(kubeadm_order(context));
    lines
}

/// What could not be known, and what it means here.
fn unknowns(context: &Context<'_>) -> Vec<String> {
    let mut lines = Vec::new();
    let flag_values = context.flavor == Flavor::KubeApiserver;
    if let Some(why) = context.unread {
        lines.push(if flag_values {
            format!(
                "Warning: the cluster's issuer was not read ({why}): if this apiserver already has --service-account-issuer, pass it with --existing-issuer, or the tokens it issued stop verifying."
            )
        } else {
            format!(
                "Note: the cluster's issuer was not read ({why}): assuming {DEFAULT_ISSUER}, the distribution's; pass --existing-issuer if it has another."
            )
        });
    }
    if flag_values && !context.key_files_given {
        lines.push("Warning: keep the keys this apiserver trusts today: pass each of its --service-account-key-file values with --existing-key-file (without that flag it trusts its --tls-private-key-file), or the tokens they signed stop verifying.".into());
    }
    lines
}

/// What stays trusted, when anything does.
fn kept(context: &Context<'_>) -> Option<String> {
    let before = &context.config.before;
    let (keys, audiences) = (list(&before.key_files), list(&before.audiences));
    match context.flavor {
        Flavor::Kind => None,
        Flavor::K3s | Flavor::Rke2 => Some(format!(
            "Note: the += arguments add to what the server has: key file {keys} and audiences {audiences} by default, and any earlier arguments of these names."
        )),
        Flavor::KubeApiserver | Flavor::Kubeadm => match (keys.is_empty(), audiences.is_empty()) {
            (true, true) => None,
            (true, false) => Some(format!("Note: kept: audiences {audiences}.")),
            (false, true) => Some(format!("Note: kept: key files {keys}.")),
            (false, false) => Some(format!(
                "Note: kept: key files {keys}; audiences {audiences}."
            )),
        },
    }
}

/// What the sign stage means, whether the existing issuers were known or assumed.
fn signing(context: &Context<'_>, old: &[&String]) -> String {
    let (new, old) = (context.config.issuer, list(old));
    if context.issuers_known {
        format!(
            "Note: {new} signs new tokens; {old} stays accepted for the tokens issued before. Once those have been refreshed (at least 24 h after applying this), drop it: run this command again with --issuer-stage only."
        )
    } else {
        format!(
            "Note: {new} signs new tokens at once; {old}, the distribution's, stays accepted. On a running cluster with several apiservers, start with --existing-issuer and --issuer-stage accept instead, so that none refuses the tokens of another while they roll."
        )
    }
}

/// The note that says which documents to publish.
fn publish(context: &Context<'_>) -> String {
    if context.published {
        return format!(
            "Note: tokens will carry kid {} ({}), whose documents are published.",
            context.kid, context.algorithm
        );
    }
    format!(
        "Note: tokens will carry kid {} ({}); publish the matching documents with `{}`.",
        context.kid,
        context.algorithm,
        documents_command(context.config, &[]),
    )
}

/// `kubectl irsa oidc documents` for sa-signer.pub and `more` key files.
fn documents_command(config: &ApiserverConfig<'_>, more: &[String]) -> String {
    let mut command = format!(
        "kubectl irsa oidc documents --issuer {} --public-key {}",
        quote(config.issuer),
        quote(&config.key_file(PUBLIC_KEY_FILE))
    );
    for file in more {
        command.push_str(&format!(" --public-key {}", quote(file)));
    }
    command.push_str(" --out DIR");
    command
}

/// The ordered steps of moving tokens from the existing issuers to the new one.
fn migration(context: &Context<'_>, old: &[&String]) -> Vec<String> {
    let config = context.config;
    let (new, old) = (config.issuer, list(old));
    let keys = &config.before.key_files;
    vec![
        format!(
            "Note: this cluster signs tokens for {old}. Move to {new} in steps, so that no token stops verifying:"
        ),
        format!(
            "  1. Publish the documents with every key the cluster trusts, and upload them: {} (or, after step 3, without --public-key: the cluster's /openid/v1/jwks then lists them all).",
            documents_command(config, keys)
        ),
        format!(
            "  2. Apply the settings above: {new} is accepted second, {old} still signs, with sa-signer.key (kid {}).",
            context.kid
        ),
        format!("  3. Roll the apiserver: {}.", roll(context.flavor)),
        format!(
            "  4. Once every token has been refreshed (the kubelet renews projected tokens after 80% of their lifetime or 24 h: wait 24 h), put {new} first: run this command again with --issuer-stage sign, apply what it prints in place of this, and roll again. Tokens then carry {new}, which IAM verifies."
        ),
        format!("  5. 24 h later, drop {old}: --issuer-stage only. Keep every key file."),
        legacy_tokens(),
    ]
}

/// How to apply and restart, per flavor.
fn roll(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::KubeApiserver => {
            "put the flags on kube-apiserver on every control-plane node in place of its flags of the same names, restarting one node at a time"
        }
        Flavor::Kubeadm => {
            "merge the snippet into ConfigMap kube-system/kubeadm-config (key ClusterConfiguration), then on one control-plane node at a time run `kubeadm init phase control-plane apiserver --config FILE` (or edit /etc/kubernetes/manifests/kube-apiserver.yaml alike): the kubelet restarts the apiserver"
        }
        Flavor::K3s => {
            "add the arguments to `k3s server` on every server (or as kube-apiserver-arg entries in /etc/rancher/k3s/config.yaml), keeping your others, and restart k3s on one server at a time"
        }
        Flavor::Rke2 => {
            "write the file on every server and restart rke2-server on one server at a time"
        }
        Flavor::Kind => "kind create cluster --config FILE",
    }
}

/// The warning about Secret-based tokens.
fn legacy_tokens() -> String {
    "Warning: legacy Secret-based ServiceAccount tokens (type kubernetes.io/service-account-token) are signed by kube-controller-manager's --service-account-private-key-file and carry the issuer kubernetes/serviceaccount, not the cluster's: they keep working only while that key's public half stays in --service-account-key-file, and IAM never accepts them.".into()
}

/// What dropping the old issuers means.
fn only(context: &Context<'_>) -> Vec<String> {
    let mut lines = vec![format!(
        "Warning: {} becomes the only issuer: tokens that still carry another stop verifying. Apply this only once {} has signed for at least 24 h.",
        context.config.issuer, context.config.issuer
    )];
    if matches!(context.flavor, Flavor::K3s | Flavor::Rke2) {
        lines.push("Note: a plain service-account-issuer= adds to earlier plain arguments of that name: remove those (and the lines earlier runs of this command gave).".into());
    }
    lines.push(legacy_tokens());
    lines
}

/// kubeadm before kubernetes/kubernetes#135400 (1.36, and the 1.32 to 1.35 patch releases
/// that took it) sorts repeated extraArgs by value (kubernetes/kubeadm#3261), which can put
/// another issuer first than the one meant to sign.
fn kubeadm_order(context: &Context<'_>) -> Option<String> {
    if context.flavor != Flavor::Kubeadm {
        return None;
    }
    let issuers = context.config.after().issuers;
    let mut sorted = issuers.clone();
    sorted.sort();
    (sorted != issuers).then(|| format!(
        "Warning: kubeadm releases before kubernetes/kubernetes#135400 sort repeated extraArgs by value and would put {} first: after applying, check the order of --service-account-issuer in /etc/kubernetes/manifests/kube-apiserver.yaml ({} must come first) and fix it there.",
        sorted[0], issuers[0]
    ))
}

/// Values, comma-separated.
fn list<T: AsRef<str>>(values: &[T]) -> String {
    values
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ")
}
