//! One module per verb: each wires the domain modules to the cluster and the terminal.

pub mod bind;
pub mod complete;
pub mod doctor;
pub mod exec;
pub mod inject;
pub mod list;
pub mod oidc;
pub mod test;
pub mod trust_policy;
pub mod unbind;
pub mod version;
pub mod whoami;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, PostParams};

use crate::cli::DryRun;
use crate::error::{CliError, from_kube};

/// The suffix kubectl prints after a dry-run change.
pub fn dry_run_suffix(dry_run: DryRun) -> &'static str {
    match dry_run {
        DryRun::None => "",
        DryRun::Client => " (dry run)",
        DryRun::Server => " (server dry run)",
    }
}

/// Reads a ServiceAccount; `None` when it does not exist.
pub async fn get_service_account(
    api: &Api<ServiceAccount>,
    namespace: &str,
    name: &str,
) -> Result<Option<ServiceAccount>, CliError> {
    api.get_opt(name)
        .await
        .map_err(|e| from_kube(e, "get", &format!("serviceaccount {namespace}/{name}")))
}

pub fn annotations_of(account: &ServiceAccount) -> BTreeMap<String, String> {
    account.metadata.annotations.clone().unwrap_or_default()
}

pub fn post_params(dry_run: DryRun) -> PostParams {
    PostParams {
        dry_run: dry_run == DryRun::Server,
        field_manager: Some(FIELD_MANAGER.into()),
    }
}

/// Recorded in managedFields, so `kubectl get -o yaml --show-managed-fields` shows who set what.
pub const FIELD_MANAGER: &str = "kubectl-irsa";

/// Every object `api` lists, fetched `chunk_size` at a time with continue tokens.
pub async fn list_all<K>(api: &Api<K>, chunk_size: u32, what: &str) -> Result<Vec<K>, CliError>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut items = Vec::new();
    let mut params = kube::api::ListParams::default().limit(chunk_size.max(1));
    loop {
        let page = api
            .list(&params)
            .await
            .map_err(|e| from_kube(e, "list", what))?;
        items.extend(page.items);
        match page.metadata.continue_.filter(|token| !token.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(items),
        }
    }
}
