//! The fake's state: stored objects with a global resource version, the event history that
//! watches replay, test knobs, and the request log.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::LoggedRequest;
use super::kubelet::{ImageUser, PodRuntime};
use super::pods::PodScript;
use super::rbac::Grant;
use super::resources::Resource;
use super::tokens::{self, Signer};
use super::webhooks::Injector;

/// How many events the history keeps for watches that resume from a resource version.
const HISTORY: usize = 20_000;

/// A change to a stored object, as a watch reports it.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// The resource version the change produced.
    pub(crate) rv: u64,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub(crate) kind: &'static str,
    pub(crate) resource: Resource,
    /// The object after the change (before it, for `DELETED`), with apiVersion and kind.
    pub(crate) object: Value,
}

/// The stored objects.
pub(crate) struct Store {
    rv: u64,
    objects: HashMap<Resource, BTreeMap<String, Value>>,
    history: VecDeque<Arc<Event>>,
    events: broadcast::Sender<Arc<Event>>,
    /// Per-pod script and logs, by object key.
    pub(crate) pods: HashMap<String, PodRuntime>,
    /// The uids of removed `apps/v1` objects, whose dependents the garbage collector deletes.
    pub(crate) gone: HashSet<String>,
}

/// The store key: `NAMESPACE/NAME`, or `NAME` for cluster-scoped objects (etcd's order).
pub(crate) fn key(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_owned()
    } else {
        format!("{namespace}/{name}")
    }
}

impl Store {
    fn new() -> Self {
        let (events, _) = broadcast::channel(4096);
        Self {
            rv: 1000,
            objects: HashMap::new(),
            history: VecDeque::new(),
            events,
            pods: HashMap::new(),
            gone: HashSet::new(),
        }
    }

    /// The latest resource version.
    pub(crate) fn rv(&self) -> u64 {
        self.rv
    }

    /// The stored object, if any.
    pub(crate) fn get(&self, resource: Resource, namespace: &str, name: &str) -> Option<&Value> {
        self.objects.get(&resource)?.get(&key(namespace, name))
    }

    /// Stores `object` (which carries its namespace and name) under a new resource version,
    /// records the change and returns the stored object.
    pub(crate) fn put(&mut self, resource: Resource, mut object: Value) -> Value {
        self.rv += 1;
        object["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let namespace = str_at(&object, "/metadata/namespace").to_owned();
        let name = str_at(&object, "/metadata/name").to_owned();
        let previous = self
            .objects
            .entry(resource)
            .or_default()
            .insert(key(&namespace, &name), object.clone());
        let kind = if previous.is_some() {
            "MODIFIED"
        } else {
            "ADDED"
        };
        self.record(kind, resource, object.clone());
        object
    }

    /// Removes an object, recording a `DELETED` event; returns it as it was.
    pub(crate) fn remove(
        &mut self,
        resource: Resource,
        namespace: &str,
        name: &str,
    ) -> Option<Value> {
        let mut object = self
            .objects
            .get_mut(&resource)?
            .remove(&key(namespace, name))?;
        self.rv += 1;
        object["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.pods.remove(&key(namespace, name));
        if resource.is_apps() {
            self.gone
                .insert(str_at(&object, "/metadata/uid").to_owned());
        }
        self.record("DELETED", resource, object.clone());
        Some(object)
    }

    fn record(&mut self, kind: &'static str, resource: Resource, object: Value) {
        let event = Arc::new(Event {
            rv: self.rv,
            kind,
            resource,
            object,
        });
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(event.clone());
        let _ = self.events.send(event);
    }

    /// Objects of `resource` in key order, in `namespace` (all when `None`), from the key
    /// `start` on (inclusive).
    pub(crate) fn range<'a>(
        &'a self,
        resource: Resource,
        namespace: Option<&'a str>,
        start: Option<&str>,
    ) -> impl Iterator<Item = (&'a String, &'a Value)> + 'a {
        let prefix = namespace.map(|ns| format!("{ns}/"));
        let lower = match (start, &prefix) {
            (Some(start), Some(prefix)) if start < prefix.as_str() => prefix.clone(),
            (Some(start), _) => start.to_owned(),
            (None, Some(prefix)) => prefix.clone(),
            (None, None) => String::new(),
        };
        self.objects
            .get(&resource)
            .into_iter()
            .flat_map(move |objects| {
                objects.range::<String, _>((Bound::Included(lower.clone()), Bound::Unbounded))
            })
            .take_while(move |(key, _)| prefix.as_ref().is_none_or(|p| key.starts_with(p.as_str())))
    }

    /// A receiver of future events, and the events after `rv` still in the history (`None`
    /// when some of them were dropped from it already).
    pub(crate) fn subscribe_after(
        &self,
        rv: u64,
    ) -> (broadcast::Receiver<Arc<Event>>, Option<Vec<Arc<Event>>>) {
        let receiver = self.events.subscribe();
        let oldest = self.history.front().map_or(self.rv + 1, |e| e.rv);
        if rv + 1 < oldest && rv < self.rv {
            return (receiver, None);
        }
        let replay = self.history.iter().filter(|e| e.rv > rv).cloned().collect();
        (receiver, Some(replay))
    }

    /// The oldest resource version the history still holds.
    pub(crate) fn oldest_rv(&self) -> u64 {
        self.history.front().map_or(self.rv, |e| e.rv)
    }
}

/// Test knobs.
pub(crate) struct Config {
    pub(crate) issuer: String,
    /// What discovery announces when it differs from the tokens' issuer (a misconfiguration).
    pub(crate) discovery_issuer: Option<String>,
    pub(crate) jwks_uri: Option<String>,
    pub(crate) oidc_enabled: bool,
    pub(crate) publish_signing_key: bool,
    pub(crate) extra_jwks_keys: Vec<Value>,
    /// `(verb, resource)` pairs answered with 403; `*` matches any verb.
    pub(crate) denied: Vec<(String, String)>,
    pub(crate) user: String,
    pub(crate) groups: Vec<String>,
    pub(crate) pod_scripts: HashMap<String, PodScript>,
    pub(crate) next_pod_scripts: VecDeque<PodScript>,
    pub(crate) default_pod_script: PodScript,
    /// The script of the pods controllers create (unless a pod's name has its own).
    pub(crate) workload_pod_script: PodScript,
    /// EKS Pod Identity associations: (namespace, ServiceAccount) to role ARN.
    pub(crate) pod_identity_associations: BTreeMap<(String, String), String>,
    /// The pod identity webhook's `--aws-default-region`.
    pub(crate) webhook_region: Option<String>,
    /// The pod identity webhook's `--annotation-prefix`.
    pub(crate) webhook_prefix: String,
    /// The pod identity webhook's `--token-audience`.
    pub(crate) webhook_audience: String,
    /// The pod identity webhook's `--sts-regional-endpoint`.
    pub(crate) webhook_regional_sts: bool,
    /// The pod identity webhook's `--token-expiration`, raised to its floor.
    pub(crate) webhook_expiration: i64,
    /// The sidecar injectors, by webhook configuration name.
    pub(crate) sidecar_injectors: BTreeMap<String, Injector>,
    /// The users images run as (root when absent).
    pub(crate) image_users: HashMap<String, ImageUser>,
    /// RBAC grants (bindings of rules to users).
    pub(crate) grants: Vec<Grant>,
}

impl Config {
    fn new() -> Self {
        Self {
            issuer: super::DEFAULT_ISSUER.to_owned(),
            discovery_issuer: None,
            jwks_uri: None,
            oidc_enabled: true,
            publish_signing_key: true,
            extra_jwks_keys: Vec::new(),
            denied: Vec::new(),
            user: super::DEFAULT_USER.to_owned(),
            groups: vec!["system:authenticated".to_owned()],
            pod_scripts: HashMap::new(),
            next_pod_scripts: VecDeque::new(),
            default_pod_script: PodScript::default(),
            workload_pod_script: PodScript::runs(),
            pod_identity_associations: BTreeMap::new(),
            webhook_region: None,
            webhook_prefix: "eks.amazonaws.com".to_owned(),
            webhook_audience: "sts.amazonaws.com".to_owned(),
            webhook_regional_sts: false,
            webhook_expiration: 86_400,
            sidecar_injectors: BTreeMap::new(),
            image_users: HashMap::new(),
            grants: Vec::new(),
        }
    }

    /// The JWKS URI the discovery document announces.
    pub(crate) fn jwks_uri(&self) -> String {
        self.jwks_uri
            .clone()
            .unwrap_or_else(|| tokens::default_jwks_uri(&self.issuer))
    }

    /// Whether `verb` on `resource` (`serviceaccounts`, `serviceaccounts/token`) is denied.
    pub(crate) fn is_denied(&self, verb: &str, resource: &str) -> bool {
        self.denied
            .iter()
            .any(|(v, r)| (v == verb || v == "*") && r == resource)
    }
}

/// Everything the handlers share.
pub(crate) struct Shared {
    pub(crate) store: Mutex<Store>,
    pub(crate) config: Mutex<Config>,
    pub(crate) log: Mutex<Vec<LoggedRequest>>,
    pub(crate) signer: Signer,
    pub(crate) server_address: Mutex<String>,
}

impl Shared {
    pub(crate) fn new() -> Self {
        Self {
            store: Mutex::new(Store::new()),
            config: Mutex::new(Config::new()),
            log: Mutex::new(Vec::new()),
            signer: Signer::generate(),
            server_address: Mutex::new(String::new()),
        }
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    pub(crate) fn config(&self) -> MutexGuard<'_, Config> {
        lock(&self.config)
    }
}

/// Locks a mutex, ignoring poisoning (a panicking test thread must not wedge the server).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The string at a JSON pointer, or `""`.
pub(crate) fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}
