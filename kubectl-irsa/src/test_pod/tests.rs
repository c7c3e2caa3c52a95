use serde_json::json;

use super::*;

fn plan<'a>(name: &'a str, region: Option<&'a str>) -> PodPlan<'a> {
    PodPlan {
        service_account: name,
        image: DEFAULT_IMAGE,
        command: &[],
        region,
        uid: DEFAULT_UID,
        image_pull_secrets: &[],
    }
}

#[test]
fn the_pod_meets_pod_security_restricted_and_quotas() {
    let pod = serde_json::to_value(build(&plan("cart", None))).unwrap();
    let spec = &pod["spec"];
    assert_eq!(
        spec["securityContext"],
        json!({ "runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532, "seccompProfile": { "type": "RuntimeDefault" } })
    );
    assert_eq!(spec["nodeSelector"], json!({ "kubernetes.io/os": "linux" }));
    let container = &spec["containers"][0];
    assert_eq!(
        container["securityContext"],
        json!({ "allowPrivilegeEscalation": false, "capabilities": { "drop": ["ALL"] } })
    );
    assert_eq!(
        container["resources"],
        json!({ "limits": { "cpu": "500m", "memory": "256Mi" }, "requests": { "cpu": "50m", "memory": "128Mi" } })
    );
    assert_eq!(
        container["env"],
        json!([{ "name": "HOME", "value": "/tmp" }])
    );
    assert_eq!(container["image"], DEFAULT_IMAGE);
    assert_eq!(pod["metadata"]["labels"][TEST_LABEL], "cart");
}

#[test]
fn a_given_region_sets_both_variables() {
    let pod = serde_json::to_value(build(&plan("cart", Some("eu-west-1")))).unwrap();
    assert_eq!(
        pod["spec"]["containers"][0]["env"],
        json!([
            { "name": "HOME", "value": "/tmp" },
            { "name": "AWS_REGION", "value": "eu-west-1" },
            { "name": "AWS_DEFAULT_REGION", "value": "eu-west-1" },
        ])
    );
}

#[test]
fn names_and_labels_fit_any_service_account() {
    let long = "a".repeat(200) + ".b";
    let pod = build(&plan(&long, None));
    let name = pod.metadata.name.unwrap();
    assert!(
        name.len() <= 63 && name.starts_with("irsa-test-aaa"),
        "{name}"
    );
    let label = label_value(&long);
    assert_eq!(label.len(), 63);
    assert!(label.ends_with(|c: char| c.is_ascii_alphanumeric()));
    assert_ne!(label, label_value(&("a".repeat(200) + ".c")), "unique");
    assert_eq!(label_value("cart"), "cart");
}

#[test]
fn openshift_namespaces_give_the_uid() {
    let annotations = |range: &str| {
        BTreeMap::from([(
            "openshift.io/sa.scc.uid-range".to_string(),
            range.to_string(),
        )])
    };
    assert_eq!(
        namespace_uid(&annotations("1000680000/10000")),
        Some(1000680000)
    );
    assert_eq!(
        namespace_uid(&annotations("1000680000-1000689999")),
        Some(1000680000)
    );
    assert_eq!(namespace_uid(&BTreeMap::new()), None);
}

#[test]
fn overrides_merge_as_a_json_merge_patch() {
    let mut pod = json!({ "spec": { "nodeSelector": { "kubernetes.io/os": "linux" }, "containers": [{ "name": "a" }] } });
    merge(
        &mut pod,
        &json!({ "spec": { "nodeSelector": null, "tolerations": [{ "operator": "Exists" }] } }),
    );
    assert_eq!(
        pod,
        json!({ "spec": { "containers": [{ "name": "a" }], "tolerations": [{ "operator": "Exists" }] } })
    );
}
