//! A fake Kubernetes API server on 127.0.0.1 over plain HTTP, faithful enough that the real
//! `kubectl` and kube-rs work against it. It is an oracle: each behaviour follows the upstream
//! source named in the module that models it, and never what the plugin expects.
//!
//! It serves discovery (`/version`, `/api`, `/apis`, without aggregated discovery: kubectl
//! falls back), namespaces, ServiceAccounts (paginated lists, merge/strategic/JSON patches,
//! server-side apply with field ownership of annotations and labels, dry runs), TokenRequest
//! (RS256 tokens signed with an RSA 2048 key generated at start), the OIDC discovery document
//! and JWKS, ResourceQuotas, events (core/v1, and events.k8s.io/v1 to read), mutating webhook
//! configurations, `Status` errors with the apiserver's shapes, and the self-subject reviews.
//! kubectl's protobuf bodies for namespaces, ServiceAccounts, TokenRequests and reviews are
//! understood; answers are always JSON (and a `Table` when asked for).
//!
//! Pods go through admission in the apiserver's order (defaults, the ServiceAccount plugin,
//! mutating webhooks: the EKS pod identity webhook and sidecar injectors; Pod Security from
//! namespace labels; ResourceQuota), then a scheduler and kubelet move them through what a test
//! scripted ([`PodScript`], per container [`ContainerScript`]), recording their events; logs
//! are per container.
//!
//! `apps/v1` Deployments, ReplicaSets, StatefulSets, DaemonSets and ControllerRevisions are
//! stored with the apiserver's defaults, generations and validation (Pod Security warns about
//! their templates), with tables and `scale`; after every accepted write, and whenever a pod
//! changes, the deployment, ReplicaSet, StatefulSet and DaemonSet controllers and the garbage
//! collector reconcile, so pods carry real owners and a new template rolls out (new pods through
//! admission, old ones deleted) as `kubectl rollout status` expects. Requests are authorized per user ([`FakeKube::grant`]): a user with
//! grants gets exactly those and the default bindings, everyone else everything.
//!
//! Like a real cluster, it starts with the namespaces `default`, `kube-system`, `kube-public`
//! and `kube-node-lease`, and every namespace gets a `default` ServiceAccount when created.
//! Writes that change nothing keep the resource version, as the apiserver does.

mod apps;
mod containers;
mod controllers;
mod daemonset;
mod defaults;
mod deployment;
mod deployment_status;
mod events;
mod hashes;
mod identity;
mod kubelet;
mod kubelet_failures;
mod list;
mod logs;
mod objects;
mod patch;
mod pod_identity;
mod pod_security;
mod pod_security_checks;
mod pod_security_restricted;
mod pod_status;
mod pod_table;
mod pods;
mod protobuf;
mod quota;
mod rbac;
mod replicaset;
mod resources;
mod revisions;
mod rollout;
mod router;
mod scale;
mod selectors;
mod service_accounts;
mod state;
mod statefulset;
mod status;
mod table;
mod tokens;
mod validate;
mod watch;
mod webhooks;
mod workload_table;
mod workloads;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};

pub use containers::{ContainerScript, ContainerStart};
pub use pods::{INSUFFICIENT_CPU, Injection, PodPhase, PodScript};
pub use rbac::PolicyRule;
pub use webhooks::{SIDECAR_IMAGE, SIDECAR_UID};

use crate::server::{BackgroundServer, StreamingHandler};
use resources::Resource;
use state::{Shared, lock};

/// The issuer a new fake uses.
pub const DEFAULT_ISSUER: &str = "https://oidc.fake.test/id/CLUSTER";
/// The user requests act as (in Forbidden messages and `auth whoami`) unless impersonating.
pub const DEFAULT_USER: &str = "fake-admin";
/// The bearer token the kubeconfig from [`FakeKube::write_kubeconfig`] carries.
pub const FAKE_TOKEN: &str = "fake-token";
/// The name of the EKS pod identity webhook's configuration.
pub const WEBHOOK_NAME: &str = "pod-identity-webhook";

/// One request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// `GET`, `POST`, `PATCH`, ...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string (empty when none).
    pub query: String,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The `Accept` header.
    pub accept: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The `Impersonate-User` header.
    pub impersonate_user: Option<String>,
    /// Every `Impersonate-Group` header, in order.
    pub impersonate_groups: Vec<String>,
    /// The answer's status code (for a stream, the status it started with).
    pub status: u16,
}

impl LoggedRequest {
    /// The first value of a query parameter, decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }
}

/// The fake API server; it stops when dropped.
pub struct FakeKube {
    server: BackgroundServer,
    shared: Arc<Shared>,
}

impl FakeKube {
    /// Generates a signing key and starts serving on a free port of 127.0.0.1.
    ///
    /// # Panics
    ///
    /// When no port can be bound or key generation fails.
    pub fn start() -> Self {
        let shared = Arc::new(Shared::new());
        let handler_state = shared.clone();
        let handler: StreamingHandler = Arc::new(move |request| {
            let shared = handler_state.clone();
            Box::pin(async move { router::handle(&shared, request) })
        });
        let server = BackgroundServer::start_streaming(handler, None);
        *lock(&shared.server_address) = format!("127.0.0.1:{}", server.port());
        let fake = Self { server, shared };
        for namespace in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            fake.add_namespace(namespace);
        }
        fake
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Writes `DIR/kubeconfig`: cluster and user `fake` (bearer [`FAKE_TOKEN`]), context
    /// `fake` (namespace `default`, the current one) and context `other` (namespace `team-a`).
    ///
    /// # Panics
    ///
    /// When the file cannot be written.
    pub fn write_kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {url}\n\
             users:\n- name: fake\n  user:\n    token: {FAKE_TOKEN}\ncontexts:\n\
             - name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: default\n\
             - name: other\n  context:\n    cluster: fake\n    user: fake\n    namespace: team-a\n\
             current-context: fake\npreferences: {{}}\n",
            url = self.url()
        );
        std::fs::write(&path, text).expect("write the kubeconfig");
        path
    }

    /// Creates a namespace (and its `default` ServiceAccount) unless it exists.
    ///
    /// # Panics
    ///
    /// When `name` is not a valid namespace name.
    pub fn add_namespace(&self, name: &str) {
        let mut store = self.shared.store();
        if store.get(Resource::Namespace, "", name).is_none() {
            let namespace =
                objects::prepare_new(Resource::Namespace, "", json!({"metadata": {"name": name}}))
                    .unwrap_or_else(|e| panic!("invalid namespace {name}: {}", e.message));
            objects::insert_new(&mut store, Resource::Namespace, namespace);
        }
    }

    /// Creates a namespace with these labels (and its `default` ServiceAccount), or adds the
    /// labels to the existing one. `pod-security.kubernetes.io/enforce` (`privileged`,
    /// `baseline`, `restricted`), `enforce-version`, `warn` and `warn-version` govern Pod
    /// Security admission of its pods, as on a real cluster.
    ///
    /// # Panics
    ///
    /// When a name or label is invalid, or a Pod Security label has no valid value (the
    /// apiserver refuses such a namespace).
    pub fn add_namespace_with_labels(&self, name: &str, labels: &[(&str, &str)]) -> Value {
        self.add_namespace(name);
        let mut store = self.shared.store();
        let existing = store
            .get(Resource::Namespace, "", name)
            .cloned()
            .expect("the namespace was just added");
        let mut updated = existing.clone();
        for (key, value) in labels {
            updated["metadata"]["labels"][*key] = json!(value);
        }
        let errors = validate::validate(Resource::Namespace, &updated);
        assert!(errors.is_empty(), "invalid labels: {}", errors[0].detail);
        if let Err(e) = pod_security::validate_namespace(&updated, Some(&existing)) {
            panic!("{}", e.message);
        }
        store.put(Resource::Namespace, objects::canonical(updated))
    }

    /// Creates a ServiceAccount with these annotations (creating the namespace if needed), or
    /// adds the annotations to the existing one; returns it as stored.
    ///
    /// # Panics
    ///
    /// When a name or annotation key is invalid.
    pub fn add_service_account(
        &self,
        namespace: &str,
        name: &str,
        annotations: &[(&str, &str)],
    ) -> Value {
        self.add_namespace(namespace);
        let mut store = self.shared.store();
        let annotations: serde_json::Map<String, Value> = annotations
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        if let Some(existing) = store
            .get(Resource::ServiceAccount, namespace, name)
            .cloned()
        {
            if annotations.is_empty() {
                return existing;
            }
            let patch = json!({"metadata": {"annotations": annotations}});
            let updated = objects::canonical(patch::merge(existing, &patch));
            return store.put(Resource::ServiceAccount, updated);
        }
        let mut sa = json!({"metadata": {"name": name}});
        if !annotations.is_empty() {
            sa["metadata"]["annotations"] = Value::Object(annotations);
        }
        let sa = objects::prepare_new(Resource::ServiceAccount, namespace, sa)
            .unwrap_or_else(|e| panic!("invalid ServiceAccount: {}", e.message));
        objects::insert_new(&mut store, Resource::ServiceAccount, sa)
    }

    /// The stored ServiceAccount, if any.
    pub fn service_account(&self, namespace: &str, name: &str) -> Option<Value> {
        self.shared
            .store()
            .get(Resource::ServiceAccount, namespace, name)
            .cloned()
    }

    /// The stored namespace, if any.
    pub fn namespace(&self, name: &str) -> Option<Value> {
        self.shared
            .store()
            .get(Resource::Namespace, "", name)
            .cloned()
    }

    /// The stored pod, if any.
    pub fn pod(&self, namespace: &str, name: &str) -> Option<Value> {
        self.shared
            .store()
            .get(Resource::Pod, namespace, name)
            .cloned()
    }

    /// Every stored pod, in namespace then name order.
    pub fn pods(&self) -> Vec<Value> {
        let store = self.shared.store();
        store
            .range(Resource::Pod, None, None)
            .map(|(_, pod)| pod.clone())
            .collect()
    }

    /// Adds a pod that stays in `phase` and runs as `service_account` (creating the namespace
    /// if needed; the ServiceAccount need not exist).
    ///
    /// # Panics
    ///
    /// When a name is invalid.
    pub fn add_pod(
        &self,
        namespace: &str,
        name: &str,
        service_account: &str,
        phase: PodPhase,
    ) -> Value {
        self.add_namespace(namespace);
        let pod = pods::static_pod(namespace, name, service_account, phase);
        let mut store = self.shared.store();
        objects::insert_new(&mut store, Resource::Pod, pod)
    }

    /// The script for pods named `name` (in any namespace), instead of the next or default one.
    pub fn script_pod(&self, name: &str, script: PodScript) {
        self.shared
            .config()
            .pod_scripts
            .insert(name.to_owned(), script);
    }

    /// Queues a script for the next created pod that has no script of its own.
    pub fn script_next_pod(&self, script: PodScript) {
        self.shared.config().next_pod_scripts.push_back(script);
    }

    /// The script of pods with no other script ([`PodScript::default`] unless set).
    pub fn set_default_pod_script(&self, script: PodScript) {
        self.shared.config().default_pod_script = script;
    }

    /// Answers `verb` (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, or `*`)
    /// on `resource` (`serviceaccounts`, `serviceaccounts/token`, `pods/log`, ...) with 403,
    /// for every user, whatever [`FakeKube::grant`] allows.
    pub fn deny(&self, verb: &str, resource: &str) {
        self.shared
            .config()
            .denied
            .push((verb.to_owned(), resource.to_owned()));
    }

    /// Removes every [`FakeKube::deny`] rule.
    pub fn allow_all(&self) {
        self.shared.config().denied.clear();
    }

    /// The user requests act as when not impersonating (default [`DEFAULT_USER`]).
    pub fn set_user(&self, user: &str) {
        self.shared.config().user = user.to_owned();
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.shared.log).clone()
    }

    /// Forgets the requests received so far.
    pub fn clear_log(&self) {
        lock(&self.shared.log).clear();
    }

    /// The latest resource version (it grows with every write).
    pub fn resource_version(&self) -> u64 {
        self.shared.store().rv()
    }

    /// The signing key's public half, PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub fn signing_public_key_pem(&self) -> String {
        self.shared.signer.public_pem().to_owned()
    }

    /// The signing key's `kid`.
    pub fn signing_key_id(&self) -> String {
        self.shared.signer.kid().to_owned()
    }

    /// The signing key's JWK, as the JWKS lists it.
    pub fn signing_jwk(&self) -> Value {
        self.shared.signer.jwk()
    }

    /// Signs tokens with an ECDSA P-256 key (ES256) from now on and publishes it instead of
    /// the RSA key, as a cluster whose service account key is ECDSA does (Talos before 1.7,
    /// kubeadm with `encryptionAlgorithm: ECDSA-P256`).
    pub fn use_ec_signing_key(&self) {
        self.shared.signer.use_ec();
    }

    /// Signs tokens with the RSA private key in `pem` from now on and publishes it, as an
    /// apiserver given it as `--service-account-signing-key-file` does.
    ///
    /// # Errors
    ///
    /// When `pem` holds no RSA private key, or a key was given already.
    pub fn use_signing_key_pem(&self, pem: &str) -> Result<(), String> {
        self.shared.signer.use_rsa_pem(pem)
    }

    /// The issuer tokens carry and discovery announces.
    pub fn issuer(&self) -> String {
        self.shared.config().issuer.clone()
    }

    /// Sets the issuer, byte for byte (a trailing slash is kept).
    pub fn set_issuer(&self, issuer: &str) {
        self.shared.config().issuer = issuer.to_owned();
    }

    /// Makes discovery announce `issuer` while tokens keep carrying [`FakeKube::issuer`], as a
    /// cluster whose `--service-account-issuer` changed without its documents does (`None`: the
    /// same issuer again).
    pub fn set_discovery_issuer(&self, issuer: Option<&str>) {
        self.shared.config().discovery_issuer = issuer.map(str::to_owned);
    }

    /// Overrides the discovery document's `jwks_uri` (`None`: `ISSUER/openid/v1/jwks`).
    pub fn set_jwks_uri(&self, uri: Option<&str>) {
        self.shared.config().jwks_uri = uri.map(str::to_owned);
    }

    /// Publishes an extra key in the JWKS (after the signing key).
    pub fn add_jwks_key(&self, jwk: Value) {
        self.shared.config().extra_jwks_keys.push(jwk);
    }

    /// Whether the JWKS lists the signing key (default true).
    pub fn set_signing_key_published(&self, published: bool) {
        self.shared.config().publish_signing_key = published;
    }

    /// Whether the OIDC discovery document and JWKS are served (default true; else 404).
    pub fn set_oidc_enabled(&self, enabled: bool) {
        self.shared.config().oidc_enabled = enabled;
    }
}
