//! Everything `doctor` fetched, as plain values: what the cluster serves (or refuses to these
//! credentials) and the token it signs, the webhook, the ServiceAccounts and their pods, the
//! tokens for the trust policy, what the issuer's host resolves to and what the issuer URL
//! serves (`--check-public`), and what STS answered (`--assume`). Gathering fills it
//! ([`super::gather`], the only I/O); judging reads it ([`super::judge`]), so every verdict can
//! be tested on a hand-built value. A fetch that failed is kept as the one line saying why: a
//! missing link is a finding to judge, not an error.

use std::collections::HashMap;
use std::net::IpAddr;

use irsa_sts::Claims;
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use serde_json::Value;

use crate::binding::Keys;
use crate::webhook::{Webhook, WebhookFlags};

/// What a fetch gave: the value, or one line saying why there is none.
pub type Fetched<T> = Result<T, String>;

/// A fetched document as the checks take it: its text, or why there is none.
pub type Document<'a> = Result<&'a str, &'a str>;

/// A fetched text, borrowed for a check.
pub fn document(fetched: &Fetched<String>) -> Document<'_> {
    fetched.as_deref().map_err(String::as_str)
}

/// Everything one run of doctor looked at.
#[derive(Clone, Debug)]
pub struct Evidence {
    /// The annotation keys, under the webhook's prefix (`--annotation-prefix`, else the
    /// webhook's own) with its default audience.
    pub keys: Keys,
    pub cluster: ClusterEvidence,
    /// The ServiceAccounts to judge: the one named, or every bound one in scope.
    pub accounts: Vec<Account>,
    /// The pods of the scope by (namespace, ServiceAccount); empty when no account was found.
    pub pods: Fetched<HashMap<(String, String), Vec<Pod>>>,
    /// The `--trust-policy` document (a policy or `aws iam get-role` output).
    pub trust_policy: Option<Value>,
}

impl Evidence {
    /// The pods running as `account` (none when the pods could not be listed).
    pub fn pods_of(&self, account: &Account) -> &[Pod] {
        self.pods
            .as_ref()
            .ok()
            .and_then(|pods| pods.get(&(account.namespace.clone(), account.name.clone())))
            .map_or(&[], Vec::as_slice)
    }
}

/// What the cluster serves once for all ServiceAccounts.
#[derive(Clone, Debug)]
pub struct ClusterEvidence {
    /// `/.well-known/openid-configuration`, as `kubectl get --raw` reads it.
    pub discovery: Fetched<String>,
    /// `/openid/v1/jwks`.
    pub jwks: Fetched<String>,
    /// Which of the two answered 403 to these credentials.
    pub denied: Denied,
    /// A fresh token for the default audience, of the first ServiceAccount found (else of
    /// `default`), to compare `iss` and `kid` with the documents.
    pub token: Fetched<String>,
    /// The pod identity webhook's configuration, when there is one.
    pub webhook: Fetched<Option<Webhook>>,
    /// Whether the webhook's in-cluster service has a ready endpoint; `None` when there is no
    /// such service to ask about.
    pub webhook_ready: Option<Fetched<bool>>,
    /// The flags of the webhook's Deployment (named as its service, as in the webhook's
    /// `deploy/` and on OpenShift); `None` when it runs outside the cluster or its Deployment
    /// cannot be read (a user limited to the README's rules may not read it).
    pub webhook_flags: Option<WebhookFlags>,
    pub public: Public,
}

impl ClusterEvidence {
    /// The token's `iss`, or why there is none to compare.
    pub fn token_iss(&self) -> Fetched<String> {
        let token = self.token.as_deref().map_err(String::clone)?;
        Claims::decode(token)
            .ok()
            .and_then(|claims| claims.iss)
            .ok_or_else(|| "the token has no iss claim".to_string())
    }

    /// The `kid` the cluster signs with now, when a token tells.
    pub fn token_kid(&self) -> Option<String> {
        let token = self.token.as_deref().ok()?;
        jsonwebtoken::decode_header(token).ok()?.kid
    }

    /// The issuer URL: the one discovery announces, else the token's `iss`.
    pub fn issuer(&self) -> Option<String> {
        self.discovery
            .as_deref()
            .ok()
            .and_then(|text| super::issuer::discovery_field(text, "issuer"))
            .or_else(|| self.token_iss().ok())
    }
}

/// Which of the cluster's issuer documents these credentials may not read (a namespace admin
/// may not: the default binding covers ServiceAccounts only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Denied {
    pub discovery: bool,
    pub jwks: bool,
    /// The TokenRequest for `token` was refused (403), not failed otherwise.
    pub token: bool,
}

/// What `--check-public` found at the issuer URL.
#[derive(Clone, Debug)]
pub enum Public {
    /// Not asked for.
    NotAsked,
    /// Asked for, but the cluster announces no issuer to fetch from.
    NoIssuer,
    /// What the issuer's host resolved to, its own documents, and the thumbprint of the chain
    /// the `jwks_uri` host serves.
    Fetched {
        /// `None` when not looked up (an EKS issuer, an address, a host judged by its name).
        addresses: Option<Fetched<Vec<IpAddr>>>,
        discovery: Fetched<String>,
        jwks: Fetched<String>,
        thumbprint: Thumbprint,
    },
}

/// The SHA-1 of the top CA certificate of the chain a host serves.
#[derive(Clone, Debug)]
pub struct Thumbprint {
    /// The URL whose host was read: the public `jwks_uri`, else the issuer.
    pub url: String,
    pub sha1: Fetched<String>,
}

/// One ServiceAccount to judge, and what was fetched for it alone.
#[derive(Clone, Debug)]
pub struct Account {
    pub namespace: String,
    pub name: String,
    /// `None` when the named ServiceAccount does not exist.
    pub object: Option<ServiceAccount>,
    /// With `--trust-policy`: a fresh token for the account's audience.
    pub trust_token: Option<Fetched<String>>,
    /// That TokenRequest was refused (403), not failed otherwise.
    pub trust_token_denied: bool,
    /// With `--assume`: the assumed-role ARN STS answered with, or its refusal explained.
    pub assumed: Option<Fetched<String>>,
}
