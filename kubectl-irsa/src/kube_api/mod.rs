//! The one place that talks to the API server: a client built from kubectl's settings, `Api`s
//! scoped to a namespace or to all of them, paginated lists, raw GETs of non-resource URLs,
//! TokenRequest, pods grouped by ServiceAccount, the cluster's issuer and its pod identity
//! webhook. Every failure is a
//! [`KubeError`] that keeps the call (verb, resource, subresource, namespace, name) and the
//! client's error as its source.

mod call;
mod connect;
mod exec_plugin;
mod fault;
mod issuer;
mod transport;
mod webhook;
mod workloads;

pub use call::{Call, KubeError, Scope};
pub use connect::{ConnectError, ConnectOptions};
pub use fault::Fault;
pub use issuer::{Issuer, IssuerError};

use std::collections::HashMap;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Event, Namespace, Pod, ServiceAccount};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde::de::DeserializeOwned;

/// Recorded in managedFields, so `kubectl get -o yaml --show-managed-fields` shows who set what.
pub const FIELD_MANAGER: &str = "kubectl-irsa";
/// Objects per list request, as kubectl's `--chunk-size` default.
pub const CHUNK_SIZE: u32 = 500;

/// kubectl's `--dry-run`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DryRun {
    /// Send the change.
    #[default]
    None,
    /// Send nothing that writes.
    Client,
    /// Let the server validate the change without persisting it.
    Server,
}

impl DryRun {
    /// Whether a write is to be sent at all.
    pub fn sends(self) -> bool {
        self != DryRun::Client
    }

    /// The suffix kubectl prints after a dry-run change.
    pub fn suffix(self) -> &'static str {
        match self {
            DryRun::None => "",
            DryRun::Client => " (dry run)",
            DryRun::Server => " (server dry run)",
        }
    }
}

/// A connected client and the namespace commands act in (`-n`, else the context's).
#[derive(Clone)]
pub struct Cluster {
    pub client: kube::Client,
    pub namespace: String,
}

impl Cluster {
    /// Builds the client the way kubectl would from the same settings.
    pub async fn connect(options: &ConnectOptions) -> Result<Cluster, ConnectError> {
        connect::connect(options).await
    }

    /// The same cluster, acting in `namespace`.
    pub fn in_namespace(&self, namespace: &str) -> Cluster {
        Cluster {
            client: self.client.clone(),
            namespace: namespace.to_string(),
        }
    }

    /// The current namespace as a scope, or all namespaces.
    pub fn scope(&self, all_namespaces: bool) -> Scope {
        if all_namespaces {
            Scope::All
        } else {
            Scope::Namespace(self.namespace.clone())
        }
    }

    /// An `Api` for a namespaced resource in `scope`.
    pub fn api<K>(&self, scope: &Scope) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        match scope {
            Scope::Namespace(namespace) => Api::namespaced(self.client.clone(), namespace),
            Scope::All | Scope::Cluster => Api::all(self.client.clone()),
        }
    }

    /// A ServiceAccount of the current namespace; `None` when it does not exist.
    pub async fn service_account(&self, name: &str) -> Result<Option<ServiceAccount>, KubeError> {
        let scope = Scope::Namespace(self.namespace.clone());
        self.api::<ServiceAccount>(&scope)
            .get_opt(name)
            .await
            .map_err(|e| KubeError::new(Call::on::<ServiceAccount>("get", scope, Some(name)), e))
    }

    /// Every object of type `K` in `scope`, fetched [`CHUNK_SIZE`] (or `chunk_size`) at a time.
    pub async fn list_all<K>(&self, scope: &Scope, chunk_size: u32) -> Result<Vec<K>, KubeError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        list_pages(&self.api::<K>(scope), scope, chunk_size).await
    }

    /// The objects of type `K` in `scope` that `keep` keeps; the others are dropped page by
    /// page, so memory follows what is kept, not what the cluster holds.
    pub async fn list_kept<K>(
        &self,
        scope: &Scope,
        chunk_size: u32,
        mut keep: impl FnMut(&K) -> bool,
    ) -> Result<Vec<K>, KubeError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let mut kept = Vec::new();
        each_page(&self.api::<K>(scope), scope, chunk_size, |item| {
            if keep(&item) {
                kept.push(item);
            }
        })
        .await?;
        Ok(kept)
    }

    /// Hands every pod of `scope` to `each`, a page at a time, holding one page at most.
    pub async fn each_pod(
        &self,
        scope: &Scope,
        chunk_size: u32,
        each: impl FnMut(Pod),
    ) -> Result<(), KubeError> {
        each_page(&self.api::<Pod>(scope), scope, chunk_size, each).await
    }

    /// Every object of a cluster-scoped type `K`.
    pub async fn list_cluster<K>(&self) -> Result<Vec<K>, KubeError>
    where
        K: kube::Resource<Scope = k8s_openapi::ClusterResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        list_pages(
            &Api::<K>::all(self.client.clone()),
            &Scope::Cluster,
            CHUNK_SIZE,
        )
        .await
    }

    /// The pods of `scope`, grouped by (namespace, ServiceAccount).
    pub async fn pods_by_service_account(
        &self,
        scope: &Scope,
        chunk_size: u32,
    ) -> Result<HashMap<(String, String), Vec<Pod>>, KubeError> {
        let mut groups: HashMap<(String, String), Vec<Pod>> = HashMap::new();
        for pod in self.list_all::<Pod>(scope, chunk_size).await? {
            groups
                .entry(service_account_of(&pod))
                .or_default()
                .push(pod);
        }
        Ok(groups)
    }

    /// The events about the pod `name` of the current namespace, oldest first (as `kubectl
    /// describe pod` shows them).
    pub async fn pod_events(&self, name: &str) -> Result<Vec<Event>, KubeError> {
        let scope = Scope::Namespace(self.namespace.clone());
        let params = ListParams::default().fields(&format!(
            "involvedObject.kind=Pod,involvedObject.name={name}"
        ));
        let mut events = self
            .api::<Event>(&scope)
            .list(&params)
            .await
            .map_err(|e| KubeError::new(Call::on::<Event>("list", scope, None), e))?
            .items;
        events.sort_by_key(|e| e.last_timestamp.clone().map(|t| t.0));
        Ok(events)
    }

    /// The current namespace's object; `None` when it does not exist.
    pub async fn namespace_object(&self) -> Result<Option<Namespace>, KubeError> {
        let name = self.namespace.as_str();
        Api::<Namespace>::all(self.client.clone())
            .get_opt(name)
            .await
            .map_err(|e| {
                KubeError::new(Call::on::<Namespace>("get", Scope::Cluster, Some(name)), e)
            })
    }

    /// What the cluster answers at a non-resource `path` (as `kubectl get --raw`), at most
    /// [`RAW_CAP`]: these are small documents (discovery, JWKS).
    pub async fn get_raw(&self, path: &str) -> Result<String, KubeError> {
        let fail = |e| KubeError::new(Call::url(path), e);
        let mut request = http::Request::get(path)
            .body(Vec::new())
            .map_err(|e| fail(kube::Error::HttpError(e)))?;
        request.extensions_mut().insert(transport::BodyCap(RAW_CAP));
        self.client.request_text(request).await.map_err(fail)
    }

    /// A token for the ServiceAccount `name` of the current namespace with `audience`, as the
    /// kubelet requests one for a projected volume; `None` when the cluster answers without one.
    pub async fn request_token(
        &self,
        name: &str,
        audience: &str,
    ) -> Result<Option<String>, KubeError> {
        let scope = Scope::Namespace(self.namespace.clone());
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: vec![audience.to_string()],
                expiration_seconds: Some(3600),
                ..TokenRequestSpec::default()
            },
            ..TokenRequest::default()
        };
        let issued = self
            .api::<ServiceAccount>(&scope)
            .create_token_request(name, &PostParams::default(), &request)
            .await
            .map_err(|e| {
                KubeError::new(
                    Call::on::<ServiceAccount>("create", scope, Some(name)).sub("token"),
                    e,
                )
            })?;
        Ok(issued
            .status
            .map(|status| status.token)
            .filter(|token| !token.is_empty()))
    }

    /// Creates `object` in the current namespace.
    pub async fn create<K>(&self, object: &K, dry_run: DryRun) -> Result<K, KubeError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::Serialize
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let scope = Scope::Namespace(self.namespace.clone());
        let params = PostParams {
            dry_run: dry_run == DryRun::Server,
            field_manager: Some(FIELD_MANAGER.into()),
        };
        self.api::<K>(&scope)
            .create(&params, object)
            .await
            .map_err(|e| {
                KubeError::new(
                    Call::on::<K>("create", scope, object.meta().name.as_deref()),
                    e,
                )
            })
    }

    /// A JSON merge patch of the object `name` in the current namespace.
    pub async fn merge_patch<K>(
        &self,
        name: &str,
        patch: &serde_json::Value,
        dry_run: DryRun,
    ) -> Result<K, KubeError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let scope = Scope::Namespace(self.namespace.clone());
        let params = PatchParams {
            dry_run: dry_run == DryRun::Server,
            field_manager: Some(FIELD_MANAGER.into()),
            ..PatchParams::default()
        };
        self.api::<K>(&scope)
            .patch(name, &params, &Patch::Merge(patch))
            .await
            .map_err(|e| KubeError::new(Call::on::<K>("patch", scope, Some(name)), e))
    }
}

/// The most a raw GET reads: a JWKS of many keys is a few KB.
pub const RAW_CAP: u64 = 1 << 20;

/// The cluster's issuer discovery document.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// The cluster's JWKS.
pub const JWKS_PATH: &str = "/openid/v1/jwks";

/// (namespace, ServiceAccount) of a pod; pods that name none run as `default`.
pub fn service_account_of(pod: &Pod) -> (String, String) {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let account = pod
        .spec
        .as_ref()
        .and_then(|spec| spec.service_account_name.clone())
        .unwrap_or_else(|| "default".into());
    (namespace, account)
}

async fn list_pages<K>(api: &Api<K>, scope: &Scope, chunk_size: u32) -> Result<Vec<K>, KubeError>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut items = Vec::new();
    each_page(api, scope, chunk_size, |item| items.push(item)).await?;
    Ok(items)
}

/// Hands each object to `each`, a page at a time, so that only one page is held at once. A
/// server that repeats a continue token, or sends more than [`MAX_PAGES`], would keep this
/// loop going forever: both end it with an error.
async fn each_page<K>(
    api: &Api<K>,
    scope: &Scope,
    chunk_size: u32,
    mut each: impl FnMut(K),
) -> Result<(), KubeError>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let call = || Call::on::<K>("list", scope.clone(), None);
    let mut params = ListParams::default().limit(chunk_size.max(1));
    for _ in 0..MAX_PAGES {
        let page = api
            .list(&params)
            .await
            .map_err(|e| KubeError::new(call(), e))?;
        page.items.into_iter().for_each(&mut each);
        match page.metadata.continue_.filter(|token| !token.is_empty()) {
            Some(token) if params.continue_token.as_ref() == Some(&token) => {
                return Err(KubeError::endless(
                    call(),
                    "sent the same continue token twice",
                ));
            }
            Some(token) => params = params.continue_token(&token),
            None => return Ok(()),
        }
    }
    Err(KubeError::endless(
        call(),
        &format!("sent more than {MAX_PAGES} pages"),
    ))
}

/// The most pages one list reads: a million objects at the default chunk size.
pub const MAX_PAGES: usize = 2000;
