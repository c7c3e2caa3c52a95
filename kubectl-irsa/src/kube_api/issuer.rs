//! The issuer the cluster signs ServiceAccount tokens with: from its discovery document, as
//! `kubectl get --raw /.well-known/openid-configuration` reads it; or, where the user may not
//! read that document (by default only ServiceAccounts may: the ClusterRole
//! `system:service-account-issuer-discovery`), from the `iss` of a token the user may request.

use irsa_sts::Claims;

use super::{Cluster, DISCOVERY_PATH, KubeError};
use crate::names::{self, NameError};

/// The ClusterRoleBinding that lets every authenticated user read the issuer documents.
pub const DISCOVERY_BINDING: &str = "kubectl create clusterrolebinding service-account-issuer-discovery-users --clusterrole=system:service-account-issuer-discovery --group=system:authenticated";

/// An issuer, and where it was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Issuer {
    /// The discovery document's `issuer`.
    Discovered(String),
    /// The `iss` of a token from TokenRequest, since discovery was forbidden.
    FromToken(String),
}

/// Why the cluster could not tell its issuer.
#[derive(Debug, thiserror::Error)]
pub enum IssuerError {
    #[error(
        "the cluster does not serve {DISCOVERY_PATH} ({}): pass its issuer with --issuer URL (the apiserver's --service-account-issuer)",
        .0.status().map_or(String::new(), |status| status.message.clone())
    )]
    NotServed(#[source] KubeError),
    #[error(
        "you may not read {DISCOVERY_PATH} ({}), nor request a token to read the issuer from: by default only ServiceAccounts may read it; pass --issuer URL, or ask for it: {DISCOVERY_BINDING}",
        .0.status().map_or(String::new(), |status| status.message.clone())
    )]
    Forbidden(#[source] KubeError),
    #[error(transparent)]
    Call(KubeError),
    #[error("the cluster's {DISCOVERY_PATH} is not JSON with an issuer: pass --issuer URL")]
    Unreadable,
    /// The cluster names an issuer IAM cannot take (`http://`, empty, relative, a query...):
    /// checked as `--issuer` is, so nothing built from it is printed.
    #[error(
        "{origin} has an {source}: set the apiserver's --service-account-issuer to an https URL, or pass --issuer URL"
    )]
    Invalid {
        origin: &'static str,
        #[source]
        source: NameError,
    },
}

/// `issuer` when it passes the same check as `--issuer`; `origin` names where it was read.
fn checked(issuer: String, origin: &'static str) -> Result<String, IssuerError> {
    match names::check_issuer(&issuer) {
        Ok(_) => Ok(issuer),
        Err(source) => Err(IssuerError::Invalid { origin, source }),
    }
}

impl Cluster {
    /// The issuer from the discovery document.
    pub async fn issuer(&self) -> Result<String, IssuerError> {
        let text = self.get_raw(DISCOVERY_PATH).await.map_err(|error| {
            if error.is_forbidden() {
                IssuerError::Forbidden(error)
            } else if error.is_not_found() {
                IssuerError::NotServed(error)
            } else {
                IssuerError::Call(error)
            }
        })?;
        let issuer = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|document| document.get("issuer")?.as_str().map(str::to_string))
            .ok_or(IssuerError::Unreadable)?;
        checked(issuer, "the cluster's /.well-known/openid-configuration")
    }

    /// The issuer from the discovery document or, when that is forbidden, from the `iss` of a
    /// token for the ServiceAccount `name` of the current namespace (when the user may request
    /// one).
    pub async fn issuer_or_token(&self, name: &str, audience: &str) -> Result<Issuer, IssuerError> {
        match self.issuer().await {
            Ok(url) => Ok(Issuer::Discovered(url)),
            Err(IssuerError::Forbidden(denied)) => {
                let token = self.request_token(name, audience).await.ok().flatten();
                let iss = token.and_then(|token| Claims::decode(&token).ok()?.iss);
                match iss {
                    Some(iss) => {
                        checked(iss, "the iss of a token from the cluster").map(Issuer::FromToken)
                    }
                    None => Err(IssuerError::Forbidden(denied)),
                }
            }
            Err(other) => Err(other),
        }
    }
}
