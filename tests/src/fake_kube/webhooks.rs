//! Mutating admission webhooks as the apiserver calls them for a new pod: every
//! MutatingWebhookConfiguration the fake has a backend for (the EKS pod identity webhook, the
//! sidecar injectors of [`FakeKube::add_sidecar_injector`]), in the order of their names, each
//! only when its `namespaceSelector` and `objectSelector` match; then, once, the webhooks whose
//! `reinvocationPolicy` is `IfNeeded` and that a later webhook's change followed.
//!
//! Sources, in kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/admission/:
//! configuration/mutating_webhook_manager.go (configurations sorted by name),
//! plugin/webhook/mutating/dispatcher.go (`Dispatch`, reinvocation of `IfNeeded` webhooks),
//! plugin/webhook/predicates/namespace and object matchers (label selectors).

use serde_json::{Value, json};

use super::pods::Injection;
use super::resources::Resource;
use super::state::{Config, Shared, Store, str_at};
use super::{FakeKube, WEBHOOK_NAME, objects, pod_identity, selectors};

/// The image of the sidecars the fake's injectors add, and the user it runs as.
pub const SIDECAR_IMAGE: &str = "registry.fake.test/mesh/proxy:1.26.0";
/// The uid [`SIDECAR_IMAGE`] runs as (a mesh proxy's usual 1337).
pub const SIDECAR_UID: i64 = 1337;

/// A sidecar injector's settings.
#[derive(Debug, Clone)]
pub(crate) struct Injector {
    pub(crate) container: String,
    /// A native sidecar: an init container with `restartPolicy: Always`.
    pub(crate) native: bool,
}

impl FakeKube {
    /// Stores the MutatingWebhookConfiguration `pod-identity-webhook` as EKS installs it; new
    /// pods whose script says [`Injection::Auto`] are then injected.
    pub fn preload_pod_identity_webhook(&self) {
        let config = json!({
            "metadata": {"name": WEBHOOK_NAME},
            "webhooks": [{
                "name": "iam-for-pods.amazonaws.com",
                "clientConfig": {"url": "https://127.0.0.1:23443/mutate", "caBundle": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="},
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "*"}],
                "failurePolicy": "Ignore",
                "matchPolicy": "Equivalent",
                "namespaceSelector": {},
                "objectSelector": {"matchExpressions": [{"key": "eks.amazonaws.com/skip-pod-identity-webhook", "operator": "DoesNotExist"}]},
                "sideEffects": "None",
                "timeoutSeconds": 10,
                "admissionReviewVersions": ["v1beta1"],
                "reinvocationPolicy": "IfNeeded",
            }],
        });
        self.store_webhook_configuration(config);
    }

    /// Stores a MutatingWebhookConfiguration unless one of its name exists.
    pub(crate) fn store_webhook_configuration(&self, config: Value) {
        let mut store = self.shared.store();
        let name = str_at(&config, "/metadata/name").to_owned();
        if store
            .get(Resource::MutatingWebhookConfiguration, "", &name)
            .is_none()
        {
            let config = objects::prepare_new(Resource::MutatingWebhookConfiguration, "", config)
                .expect("a valid webhook configuration");
            objects::insert_new(&mut store, Resource::MutatingWebhookConfiguration, config);
        }
    }

    /// Registers a mutating webhook, like the injectors of Istio, Linkerd, Vault or Datadog,
    /// that adds container `container` (image [`SIDECAR_IMAGE`], running as
    /// [`SIDECAR_UID`], with the securityContext such proxies carry, requests and limits, and
    /// no AWS environment of its own) to every new pod in `namespace` (all namespaces when
    /// `None`). Its MutatingWebhookConfiguration, `CONTAINER-sidecar-injector`, is stored and
    /// listed, with `reinvocationPolicy: Never`; webhooks run in the order of their
    /// configurations' names, so the pod identity webhook (`IfNeeded` on EKS) is called again
    /// after it and injects into the sidecar too unless the pod's
    /// `eks.amazonaws.com/skip-containers` names it. The sidecar never exits.
    pub fn add_sidecar_injector(&self, namespace: Option<&str>, container: &str) {
        self.add_injector(namespace, container, false);
    }

    /// As [`FakeKube::add_sidecar_injector`], but the sidecar is a native one: the first init
    /// container, with `restartPolicy: Always` (Istio's native sidecar mode); the kubelet stops
    /// it once the pod's containers have all exited.
    pub fn add_native_sidecar_injector(&self, namespace: Option<&str>, container: &str) {
        self.add_injector(namespace, container, true);
    }

    fn add_injector(&self, namespace: Option<&str>, container: &str, native: bool) {
        let name = format!("{container}-sidecar-injector");
        let namespace_selector = match namespace {
            Some(ns) => json!({"matchLabels": {"kubernetes.io/metadata.name": ns}}),
            None => json!({}),
        };
        let config = json!({
            "metadata": {"name": name},
            "webhooks": [{
                "name": format!("{container}.sidecar-injector.fake.test"),
                "clientConfig": {"url": "https://127.0.0.1:15017/inject", "caBundle": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="},
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "*"}],
                "failurePolicy": "Fail",
                "matchPolicy": "Equivalent",
                "namespaceSelector": namespace_selector,
                "objectSelector": {},
                "sideEffects": "None",
                "timeoutSeconds": 10,
                "admissionReviewVersions": ["v1"],
                "reinvocationPolicy": "Never",
            }],
        });
        let config = objects::prepare_new(Resource::MutatingWebhookConfiguration, "", config)
            .expect("a valid webhook configuration");
        {
            let mut store = self.shared.store();
            if store
                .get(Resource::MutatingWebhookConfiguration, "", &name)
                .is_none()
            {
                objects::insert_new(&mut store, Resource::MutatingWebhookConfiguration, config);
            }
        }
        let mut settings = self.shared.config();
        settings.image_users.insert(
            SIDECAR_IMAGE.to_owned(),
            super::kubelet::ImageUser::Uid(SIDECAR_UID),
        );
        settings.sidecar_injectors.insert(
            name,
            Injector {
                container: container.to_owned(),
                native,
            },
        );
    }
}

/// The sidecar an injector adds.
fn sidecar(name: &str, native: bool) -> Value {
    let mut container = json!({
        "name": name,
        "image": SIDECAR_IMAGE,
        "args": ["proxy", "sidecar"],
        "ports": [{"name": "http-envoy-prom", "containerPort": 15090, "protocol": "TCP"}],
        "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]},
            "privileged": false,
            "readOnlyRootFilesystem": true,
            "runAsGroup": SIDECAR_UID,
            "runAsNonRoot": true,
            "runAsUser": SIDECAR_UID,
        },
    });
    if native {
        container["restartPolicy"] = json!("Always");
    }
    container
}

/// A webhook the fake can answer for.
enum Backend {
    PodIdentity,
    Sidecar(Injector),
}

/// The webhooks to call, in the order of their configurations' names, with their settings.
fn hooks(config: &Config, store: &Store, inject: Injection) -> Vec<(String, Backend, Value)> {
    let mut hooks = Vec::new();
    for (_, hook) in store.range(Resource::MutatingWebhookConfiguration, None, None) {
        let name = str_at(hook, "/metadata/name").to_owned();
        let backend = if name == WEBHOOK_NAME && inject != Injection::Never {
            Backend::PodIdentity
        } else if let Some(injector) = config.sidecar_injectors.get(&name) {
            Backend::Sidecar(injector.clone())
        } else {
            continue;
        };
        hooks.push((name, backend, hook["webhooks"][0].clone()));
    }
    if inject == Injection::Always && !hooks.iter().any(|(n, _, _)| n == WEBHOOK_NAME) {
        let at = hooks.partition_point(|(n, _, _)| n.as_str() < WEBHOOK_NAME);
        let hook = json!({"reinvocationPolicy": "IfNeeded"});
        hooks.insert(at, (WEBHOOK_NAME.to_owned(), Backend::PodIdentity, hook));
    }
    hooks
}

/// Calls the mutating webhooks on a new pod, as the apiserver does; returns the names of the
/// sidecars injected.
pub(crate) fn mutate(
    shared: &Shared,
    store: &Store,
    pod: &mut Value,
    inject: Injection,
) -> Vec<String> {
    let config = shared.config();
    let namespace = str_at(pod, "/metadata/namespace").to_owned();
    let found = |resource, ns: &str, name: &str| {
        store
            .get(resource, ns, name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let namespace_object = found(Resource::Namespace, "", &namespace);
    let sa = found(
        Resource::ServiceAccount,
        &namespace,
        str_at(pod, "/spec/serviceAccountName"),
    );
    let hooks = hooks(&config, store, inject);
    let mut injected = Vec::new();
    let mut call = |backend: &Backend, hook: &Value, pod: &mut Value| -> bool {
        if !applies(hook, &namespace_object, pod) {
            return false;
        }
        match backend {
            Backend::PodIdentity => pod_identity::mutate(&config, pod, &sa),
            Backend::Sidecar(injector) => {
                let changed = inject_sidecar(pod, injector);
                if changed {
                    injected.push(injector.container.clone());
                }
                changed
            }
        }
    };
    let mut last_change = None;
    for (index, (_, backend, hook)) in hooks.iter().enumerate() {
        if call(backend, hook, pod) {
            last_change = Some(index);
        }
    }
    for (index, (_, backend, hook)) in hooks.iter().enumerate() {
        let reinvoke = str_at(hook, "/reinvocationPolicy") == "IfNeeded";
        if reinvoke && last_change.is_some_and(|last| last > index) {
            call(backend, hook, pod);
        }
    }
    injected
}

/// Whether a webhook's namespace and object selectors match.
fn applies(hook: &Value, namespace: &Value, pod: &Value) -> bool {
    let labels = |o: &Value| {
        o.pointer("/metadata/labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let selector = |key: &str| hook.get(key).cloned().unwrap_or_else(|| json!({}));
    selectors::label_selector_matches(&selector("namespaceSelector"), &labels(namespace))
        && selectors::label_selector_matches(&selector("objectSelector"), &labels(pod))
}

/// Adds an injector's sidecar unless the pod has a container of that name already.
fn inject_sidecar(pod: &mut Value, injector: &Injector) -> bool {
    let taken = ["initContainers", "containers"].iter().any(|list| {
        pod["spec"][list]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| str_at(c, "/name") == injector.container))
    });
    if taken {
        return false;
    }
    let container = sidecar(&injector.container, injector.native);
    let list = if injector.native {
        "initContainers"
    } else {
        "containers"
    };
    if !pod["spec"][list].is_array() {
        pod["spec"][list] = json!([]);
    }
    let containers = pod["spec"][list].as_array_mut().expect("a container list");
    if injector.native {
        containers.insert(0, container);
    } else {
        containers.push(container);
    }
    true
}
