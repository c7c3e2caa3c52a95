//! Properties of injection over generated pod-like documents (keys from the PodSpec's vocabulary,
//! values of any JSON type where objects are expected): finding the pod specs, injecting (plain,
//! credential_process, the --serve sidecar) and rendering never panic; every injected container
//! that is an object gets the token mount; injecting twice changes nothing.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::*;
use crate::manifests::{self, Visit};

/// Keys a pod, a workload or a container has, so that generated documents reach the code.
const KEYS: [&str; 20] = [
    "kind",
    "metadata",
    "spec",
    "template",
    "jobTemplate",
    "items",
    "containers",
    "initContainers",
    "env",
    "name",
    "value",
    "volumes",
    "volumeMounts",
    "annotations",
    "nodeSelector",
    "securityContext",
    "runAsUser",
    "serviceAccountName",
    "namespace",
    "mountPath",
];
const KINDS: [&str; 6] = ["Pod", "Deployment", "CronJob", "List", "Job", "Service"];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        prop::sample::select(KINDS.to_vec()).prop_map(|k| json!(k)),
        "[a-z,\"]{0,6}".prop_map(Value::String),
        Just(json!(VOLUME)),
        Just(json!("windows")),
    ]
}

fn document() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS.to_vec()), inner), 0..6).prop_map(
                |entries| {
                    let object: Map<String, Value> = entries
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect();
                    Value::Object(object)
                }
            ),
        ]
    })
}

fn injection(mode: u8) -> Injection {
    Injection {
        role_arn: "arn:aws:iam::123456789012:role/cart".into(),
        audience: "sts.amazonaws.com".into(),
        expiration_seconds: 86400,
        sts_regional_endpoints: mode.is_multiple_of(2),
        region: mode.is_multiple_of(3).then(|| "eu-west-1".to_string()),
        credential_process: mode == 1,
        serve: (mode == 2).then(|| sidecar::Sidecar {
            image: "helper:1".into(),
            port: 9121,
            token_secret: None,
        }),
    }
}

/// What `inject` does to each pod of `document`, as the command does it.
fn inject_all(document: &mut Value, injection: &Injection) {
    for visit in manifests::pods(document) {
        let Visit::Pod(mut site) = visit else {
            continue;
        };
        let skip: Vec<String> = site
            .annotations
            .get("eks.amazonaws.com/skip-containers")
            .and_then(Value::as_str)
            .map(skip_containers)
            .unwrap_or_default();
        if let Some(served) = &injection.serve {
            let _ = sidecar::differs(site.spec(), served);
        }
        inject(site.spec(), injection, &skip);
        if injection.serve.is_some() {
            let names = sidecar::app_container_names(site.spec());
            let _ = sidecar::runs_as_a_known_user(site.spec());
            site.annotate("eks.amazonaws.com/skip-containers", &names.join(","));
        }
    }
}

proptest! {

    #[test]
    fn any_document_injects_without_panic_and_twice_is_once(
        document in document(),
        kind in prop::sample::select(KINDS.to_vec()),
        mode in 0u8..4,
    ) {
        let mut document = document;
        if let Some(object) = document.as_object_mut() {
            object.insert("kind".into(), json!(kind));
        }
        let injection = injection(mode);
        inject_all(&mut document, &injection);
        let once = document.clone();
        inject_all(&mut document, &injection);
        prop_assert_eq!(&document, &once);
        let _ = manifests::render_yaml(&[document]);
    }

    #[test]
    fn every_container_object_of_a_pod_gets_the_token(
        containers in prop::collection::vec(document(), 0..4),
    ) {
        let mut pod = json!({"kind": "Pod", "spec": {"containers": containers}});
        inject_all(&mut pod, &injection(0));
        for container in pod["spec"]["containers"].as_array().into_iter().flatten() {
            if container.is_object() {
                let mounts = container["volumeMounts"].as_array().cloned().unwrap_or_default();
                prop_assert!(mounts.iter().any(|m| m["name"] == VOLUME), "{}", container);
            }
        }
    }

    #[test]
    fn any_yaml_text_parses_or_fails_cleanly(text in "[a-z:{}\\[\\]<*&!\\- \n]{0,80}") {
        let _ = manifests::parse(&text, "stdin");
    }
}
