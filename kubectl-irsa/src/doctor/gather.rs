//! Doctor's I/O: everything the checks look at, fetched once into an [`Evidence`]. The cluster
//! through [`Cluster`] (the documents it serves and whether it refused them to these
//! credentials, a fresh token, the webhook, the pods: one list for all, their owners read from
//! the pods themselves), with `--check-public` the issuer's host through the system resolver
//! and the issuer URL over verified HTTPS through `irsa_sts::http`, and STS through
//! [`identity::assume`] (`--assume`). A fetch that fails is recorded as evidence (one line), so
//! judging can say which link is broken; only failing to find the ServiceAccounts to look at
//! is an error.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::ListParams;
use serde_json::Value;

use super::evidence::{Account, ClusterEvidence, Denied, Evidence, Fetched, Public, Thumbprint};
use super::issuer::discovery_field;
use super::reach;
use crate::binding::{Binding, Keys};
use crate::identity::{self, IdentityOptions};
use crate::kube_api::{CHUNK_SIZE, Cluster, DISCOVERY_PATH, JWKS_PATH, KubeError, Scope};
use crate::oidc::{provider, tls};
use crate::webhook::{self, Webhook};

/// How long to wait for the issuer host with --check-public.
const PUBLIC_TIMEOUT: Duration = Duration::from_secs(15);
/// How long to wait for the issuer host's addresses with --check-public.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);
/// The most a public document may weigh.
const MAX_DOCUMENT: usize = 1 << 20;

/// What to look at, resolved from the command line.
#[derive(Clone, Debug)]
pub struct Options {
    /// One ServiceAccount of the cluster's namespace, or every bound one in scope.
    pub name: Option<String>,
    pub all_namespaces: bool,
    /// `--annotation-prefix`; else the webhook's own, where its Deployment can be read.
    pub prefix: Option<String>,
    /// The trust policy to evaluate each ServiceAccount's token against.
    pub trust_policy: Option<Value>,
    /// With --check-public: the TLS configuration to reach the issuer host with.
    pub public: Option<Arc<rustls::ClientConfig>>,
    /// With --assume: where STS is.
    pub assume: Option<Sts>,
}

/// Where `--assume` asks STS (the environment fills in what is not given).
#[derive(Clone, Debug, Default)]
pub struct Sts {
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Fetches everything the checks need.
pub async fn gather(cluster: &Cluster, options: &Options) -> Result<Evidence, KubeError> {
    let (found, listed) = tokio::join!(cluster.pod_identity_webhook(), list(cluster, options));
    let keys = webhook::keys(options.prefix.as_deref(), found.flags.as_ref());
    let mut accounts = accounts(listed?, cluster, &keys);
    let (probe_namespace, probe_name) = token_account(&accounts, cluster);
    let any_found = accounts.iter().any(|account| account.object.is_some());
    let webhook = found.webhook.map_err(|e| brief(&e));
    let (
        (token, token_denied),
        (discovery, discovery_denied),
        (jwks, jwks_denied),
        webhook_ready,
        pods,
    ) = tokio::join!(
        request_token(
            cluster,
            probe_namespace,
            probe_name,
            keys.default_audience()
        ),
        get_raw(cluster, DISCOVERY_PATH),
        get_raw(cluster, JWKS_PATH),
        webhook_ready(cluster, &webhook),
        pods(cluster, options, any_found),
    );
    let mut wide = ClusterEvidence {
        discovery,
        jwks,
        denied: Denied {
            discovery: discovery_denied,
            jwks: jwks_denied,
            token: token_denied,
        },
        token,
        webhook,
        webhook_ready,
        webhook_flags: found.flags,
        public: Public::NotAsked,
    };
    if let Some(config) = &options.public {
        wide.public = match wide.issuer() {
            Some(issuer) => public(&issuer, config).await,
            None => Public::NoIssuer,
        };
    }
    for account in &mut accounts {
        for_account(cluster, options, &keys, account).await;
    }
    Ok(Evidence {
        keys,
        cluster: wide,
        accounts,
        pods,
        trust_policy: options.trust_policy.clone(),
    })
}

/// Whose token to ask for: the first ServiceAccount found, else `default` of the namespace.
fn token_account<'a>(accounts: &'a [Account], cluster: &'a Cluster) -> (&'a str, &'a str) {
    accounts
        .iter()
        .find(|account| account.object.is_some())
        .map_or((cluster.namespace.as_str(), "default"), |account| {
            (account.namespace.as_str(), account.name.as_str())
        })
}

/// The pods of the scope by ServiceAccount; none to list when no ServiceAccount was found.
async fn pods(
    cluster: &Cluster,
    options: &Options,
    any_found: bool,
) -> Fetched<HashMap<(String, String), Vec<Pod>>> {
    if !any_found {
        return Ok(HashMap::new());
    }
    let scope = cluster.scope(options.all_namespaces);
    cluster
        .pods_by_service_account(&scope, CHUNK_SIZE)
        .await
        .map_err(|e| brief(&e))
}

/// What the command line names: the ServiceAccount (found or not), or every one in scope.
enum Listed {
    Named(String, Option<Box<ServiceAccount>>),
    All(Vec<ServiceAccount>),
}

/// Fetches the ServiceAccounts to look at; which are bound is known once the keys are.
async fn list(cluster: &Cluster, options: &Options) -> Result<Listed, KubeError> {
    if let Some(name) = &options.name {
        let found = cluster.service_account(name).await?;
        return Ok(Listed::Named(name.clone(), found.map(Box::new)));
    }
    let scope = cluster.scope(options.all_namespaces);
    let all = cluster
        .list_all::<ServiceAccount>(&scope, CHUNK_SIZE)
        .await?;
    Ok(Listed::All(all))
}

/// The ServiceAccounts to judge: the one named, or every bound one.
fn accounts(listed: Listed, cluster: &Cluster, keys: &Keys) -> Vec<Account> {
    let account = |namespace: String, name: String, object| Account {
        namespace,
        name,
        object,
        trust_token: None,
        trust_token_denied: false,
        assumed: None,
    };
    match listed {
        Listed::Named(name, found) => {
            vec![account(
                cluster.namespace.clone(),
                name,
                found.map(|sa| *sa),
            )]
        }
        Listed::All(all) => all
            .into_iter()
            .filter(|sa| Binding::of(sa, keys).role_arn.is_some())
            .map(|sa| {
                let namespace = sa.metadata.namespace.clone().unwrap_or_default();
                let name = sa.metadata.name.clone().unwrap_or_default();
                account(namespace, name, Some(sa))
            })
            .collect(),
    }
}

/// What one found ServiceAccount needs besides the cluster's evidence: a token for its own
/// audience (with a trust policy) and STS's answer (with --assume).
async fn for_account(cluster: &Cluster, options: &Options, keys: &Keys, account: &mut Account) {
    let Some(object) = &account.object else {
        return;
    };
    let (namespace, name) = (account.namespace.as_str(), account.name.as_str());
    if options.trust_policy.is_some() {
        let audience = Binding::of(object, keys).audience;
        let (token, denied) = request_token(cluster, namespace, name, &audience).await;
        (account.trust_token, account.trust_token_denied) = (Some(token), denied);
    }
    if let Some(sts) = &options.assume {
        let identity_options = IdentityOptions {
            role_arn: None,
            keys: keys.clone(),
            region: sts.region.clone(),
            endpoint_url: sts.endpoint_url.clone(),
        };
        let answer = identity::assume(&cluster.in_namespace(namespace), name, &identity_options)
            .await
            .map(|identity| identity.credentials.assumed_role_arn)
            .map_err(|error| error.to_string());
        account.assumed = Some(answer);
    }
}

/// A fresh token for `namespace/name` with `audience`, as the kubelet would request it, and
/// whether these credentials were refused it (403).
async fn request_token(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    audience: &str,
) -> (Fetched<String>, bool) {
    match cluster
        .in_namespace(namespace)
        .request_token(name, audience)
        .await
    {
        Ok(Some(token)) => (Ok(token), false),
        Ok(None) => (
            Err(format!(
                "the cluster returned no token for {namespace}/{name}"
            )),
            false,
        ),
        Err(e) => (
            Err(format!(
                "cannot request a token for {namespace}/{name}: {}",
                brief(&e)
            )),
            e.is_forbidden(),
        ),
    }
}

/// What the cluster answers at `path` (as `kubectl get --raw`), and whether it refused these
/// credentials (403).
async fn get_raw(cluster: &Cluster, path: &str) -> (Fetched<String>, bool) {
    match cluster.get_raw(path).await {
        Ok(text) => (Ok(text), false),
        Err(error) => (Err(brief(&error)), error.is_forbidden()),
    }
}

/// A failed call in one line: the API's status when it answered, else the client's error.
fn brief(error: &KubeError) -> String {
    match error.status() {
        Some(status) => format!("{} {} ({})", status.code, status.reason, status.message),
        None => error
            .fault()
            .map_or_else(|| error.kube().to_string(), ToString::to_string),
    }
}

/// Whether the webhook's in-cluster service has a ready endpoint; `None` when it calls a URL.
async fn webhook_ready(
    cluster: &Cluster,
    webhook: &Fetched<Option<Webhook>>,
) -> Option<Fetched<bool>> {
    let service = webhook.as_ref().ok()?.as_ref()?.service.as_deref()?;
    Some(ready_endpoints(cluster, service).await)
}

/// Whether the service `namespace/name` has a ready endpoint.
async fn ready_endpoints(cluster: &Cluster, service: &str) -> Fetched<bool> {
    let (namespace, name) = service.split_once('/').unwrap_or(("default", service));
    let slices = cluster
        .api::<EndpointSlice>(&Scope::Namespace(namespace.into()))
        .list(&ListParams::default().labels(&format!("kubernetes.io/service-name={name}")))
        .await
        .map_err(|e| match e {
            kube::Error::Api(status) => format!("{} {}", status.code, status.reason),
            e => e.to_string(),
        })?;
    Ok(slices.items.iter().any(|slice| {
        slice
            .endpoints
            .iter()
            .any(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true))
    }))
}

/// `--check-public`: what the issuer's host resolves to, the issuer URL's own documents as IAM
/// fetches them, and the thumbprint of the chain the `jwks_uri` host serves (the host IAM
/// fetches keys from, which may not be the issuer's).
async fn public(issuer: &str, config: &Arc<rustls::ClientConfig>) -> Public {
    let base = issuer.trim_end_matches('/');
    let discovery_url = format!("{base}/.well-known/openid-configuration");
    let (addresses, discovery) = tokio::join!(resolve(issuer), get_public(&discovery_url, config));
    let jwks_uri = discovery
        .as_deref()
        .ok()
        .and_then(|text| discovery_field(text, "jwks_uri"));
    let url = jwks_uri.clone().unwrap_or_else(|| issuer.to_string());
    let sha1 = async {
        let (host, port) = provider::host_and_port(&url)?;
        let chain = tls::served_chain(&host, port, PUBLIC_TIMEOUT).await?;
        provider::thumbprint(&chain).ok_or_else(|| "no certificate".to_string())
    };
    let (jwks, sha1) = tokio::join!(
        async {
            match &jwks_uri {
                Some(uri) => get_public(uri, config).await,
                None => Err("the public discovery document has no jwks_uri".to_string()),
            }
        },
        sha1
    );
    Public::Fetched {
        addresses,
        discovery,
        jwks,
        thumbprint: Thumbprint { url, sha1 },
    }
}

/// The addresses of the issuer's host, looked up as IAM would have to (`None` for an issuer
/// that is not looked up, see [`reach::host_to_resolve`]). The system resolver runs on a
/// thread of its own: a resolver that never answers is left behind after [`LOOKUP_TIMEOUT`]
/// instead of holding the runtime's shutdown (which waits for its blocking tasks).
async fn resolve(issuer: &str) -> Option<Fetched<Vec<IpAddr>>> {
    use std::net::ToSocketAddrs as _;
    let host = reach::host_to_resolve(issuer)?;
    let (send, receive) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let found = (host.as_str(), 443)
            .to_socket_addrs()
            .map(|addresses| addresses.map(|a| a.ip()).collect::<Vec<IpAddr>>());
        let _ = send.send(found);
    });
    let found = match tokio::time::timeout(LOOKUP_TIMEOUT, receive).await {
        Err(_) | Ok(Err(_)) => Err(format!("no answer in {} s", LOOKUP_TIMEOUT.as_secs())),
        Ok(Ok(Err(error))) => Err(error.to_string()),
        Ok(Ok(Ok(mut ips))) => {
            ips.sort();
            ips.dedup();
            match ips.is_empty() {
                true => Err("no address".to_string()),
                false => Ok(ips),
            }
        }
    };
    Some(found)
}

/// `GET url` over verified HTTPS; the body when the answer is 2xx.
async fn get_public(url: &str, config: &Arc<rustls::ClientConfig>) -> Fetched<String> {
    // IAM reads the documents over https only; the check refuses what IAM would.
    provider::host_and_port(url)?;
    let options = irsa_sts::http::GetOptions {
        timeout: PUBLIC_TIMEOUT,
        max_body: MAX_DOCUMENT,
        user_agent: "kubectl-irsa",
    };
    let response = irsa_sts::http::get_https(url, &[], config, &options)
        .await
        .map_err(|e| e.to_string())?;
    if !response.status.is_success() {
        return Err(format!("GET {url} answered {}", response.status));
    }
    String::from_utf8(response.body).map_err(|_| format!("{url} is not UTF-8 text"))
}
