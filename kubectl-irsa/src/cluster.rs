//! Cluster access: a kube client from kubectl's flags, and the cluster's issuer.

use std::time::Duration;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::cli::KubeFlags;
use crate::error::{CliError, from_kube};
use crate::names;

/// A connected client and the namespace commands act in.
pub struct Cluster {
    pub client: kube::Client,
    pub namespace: String,
}

/// Builds the client the way kubectl would from the same flags.
pub async fn connect(flags: &KubeFlags) -> Result<Cluster, CliError> {
    let kubeconfig = match &flags.kubeconfig {
        Some(path) => Kubeconfig::read_from(path).map_err(|e| {
            CliError::Usage(format!("cannot read --kubeconfig {}: {e}", path.display()))
        })?,
        None => Kubeconfig::read().map_err(|e| {
            CliError::Usage(format!(
                "cannot read a kubeconfig (KUBECONFIG or ~/.kube/config): {e}; pass --kubeconfig"
            ))
        })?,
    };
    let options = KubeConfigOptions {
        context: flags.context.clone(),
        cluster: flags.cluster.clone(),
        user: flags.user.clone(),
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| {
            CliError::Usage(format!(
                "cannot use the kubeconfig: {e}; check --context, --cluster and --user"
            ))
        })?;
    if let Some(user) = &flags.as_user {
        config.auth_info.impersonate = Some(user.clone());
    }
    if !flags.as_groups.is_empty() {
        config.auth_info.impersonate_groups = Some(flags.as_groups.clone());
    }
    if let Some(timeout) = &flags.request_timeout {
        let timeout = parse_timeout(timeout)?;
        config.connect_timeout = timeout;
        config.read_timeout = timeout;
        config.write_timeout = timeout;
    }
    let namespace = flags
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    names::check_namespace(&namespace)?;
    let client = kube::Client::try_from(config)
        .map_err(|e| CliError::Cluster(format!("cannot build a client for the cluster: {e}")))?;
    Ok(Cluster { client, namespace })
}

/// kubectl's --request-timeout: `0` for none, a bare number of seconds, or `30s`, `1m`.
fn parse_timeout(text: &str) -> Result<Option<Duration>, CliError> {
    let duration = match text.trim().parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => humantime::parse_duration(text.trim()).map_err(|e| {
            CliError::Usage(format!(
                "invalid --request-timeout {text:?} ({e}): write it as 30s or 1m, or 0 for none"
            ))
        })?,
    };
    Ok((!duration.is_zero()).then_some(duration))
}

/// The issuer the cluster signs ServiceAccount tokens with, from its own discovery document
/// (what `kubectl get --raw /.well-known/openid-configuration` reads).
pub async fn discover_issuer(client: &kube::Client) -> Result<String, CliError> {
    let request = http::Request::get("/.well-known/openid-configuration")
        .body(Vec::new())
        .map_err(|e| CliError::Cluster(e.to_string()))?;
    let document = client.request_text(request).await.map_err(|error| match error {
        kube::Error::Api(status) if status.is_not_found() || status.is_forbidden() => CliError::Usage(format!(
            "the cluster does not serve /.well-known/openid-configuration ({}): pass its issuer with --issuer URL (the apiserver's --service-account-issuer)",
            status.message
        )),
        other => from_kube(other, "get", "/.well-known/openid-configuration"),
    })?;
    let document: serde_json::Value = serde_json::from_str(&document).map_err(|e| {
        CliError::Cluster(format!(
            "the cluster's /.well-known/openid-configuration is not JSON ({e}): pass --issuer URL"
        ))
    })?;
    document
        .get("issuer")
        .and_then(|issuer| issuer.as_str())
        .map(str::to_string)
        .ok_or_else(|| {
            CliError::Cluster(
                "the cluster's /.well-known/openid-configuration has no issuer: pass --issuer URL"
                    .into(),
            )
        })
}

/// A token for `namespace/name` with `audience`, as the kubelet requests one for a projected
/// volume; `None` when the cluster answers without one.
pub async fn request_token(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    audience: &str,
) -> Result<Option<String>, kube::Error> {
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![audience.to_string()],
            expiration_seconds: Some(3600),
            ..TokenRequestSpec::default()
        },
        ..TokenRequest::default()
    };
    let issued = api
        .create_token_request(name, &PostParams::default(), &request)
        .await?;
    Ok(issued
        .status
        .map(|status| status.token)
        .filter(|token| !token.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_timeout_reads_like_kubectl() {
        assert_eq!(parse_timeout("0").unwrap(), None);
        assert_eq!(parse_timeout("5").unwrap(), Some(Duration::from_secs(5)));
        assert_eq!(parse_timeout("1m").unwrap(), Some(Duration::from_secs(60)));
        assert!(parse_timeout("soon").is_err());
    }
}
