//! What the EKS pod identity webhook adds to a pod, as a pure function on a pod spec in its JSON
//! form (so manifests keep their own layout): the projected token volume, its read-only mount
//! and the env, in every container and init container.

use serde_json::{Value, json};

pub mod sidecar;

use sidecar::Sidecar;

pub const VOLUME: &str = "aws-iam-token";
pub const MOUNT_PATH: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
pub const TOKEN_FILE_ENV: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";
/// The ConfigMap that holds the AWS config running irsa-credential-process.
pub const HELPER_CONFIG_MAP: &str = "irsa-credential-process";

/// What to inject, from the ServiceAccount's annotations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Injection {
    pub role_arn: String,
    pub audience: String,
    pub expiration_seconds: i64,
    pub sts_regional_endpoints: bool,
    /// Also project the ConfigMap [`HELPER_CONFIG_MAP`] as `config` and set AWS_CONFIG_FILE.
    pub credential_process: bool,
    /// Serve the credentials from a native sidecar instead (`inject --serve`).
    pub serve: Option<Sidecar>,
}

/// The AWS config that names the helper, for the ConfigMap.
pub fn helper_config(helper_path: &str) -> String {
    format!("[default]\ncredential_process = {helper_path}\n")
}

/// Adds the webhook's volume, mounts and env to `spec` (a PodSpec as JSON). An env variable or
/// mount already there is left alone; containers named in `skip` are left out. Injecting twice
/// changes nothing.
pub fn inject(spec: &mut Value, injection: &Injection, skip: &[&str]) {
    let Some(spec) = spec.as_object_mut() else {
        return;
    };
    let volumes = array(spec.entry("volumes").or_insert_with(|| json!([])));
    if !volumes.iter().any(|v| v["name"] == VOLUME) {
        let mut sources = vec![json!({ "serviceAccountToken": {
            "audience": injection.audience,
            "expirationSeconds": injection.expiration_seconds,
            "path": "token",
        }})];
        if injection.credential_process {
            sources.push(json!({ "configMap": {
                "name": HELPER_CONFIG_MAP,
                "items": [{ "key": "config", "path": "config" }],
            }}));
        }
        volumes.push(json!({ "name": VOLUME, "projected": { "sources": sources } }));
    }
    let mut env = vec![
        ("AWS_ROLE_ARN", injection.role_arn.clone()),
        (TOKEN_FILE_ENV, format!("{MOUNT_PATH}/token")),
    ];
    if injection.sts_regional_endpoints {
        env.push(("AWS_STS_REGIONAL_ENDPOINTS", "regional".into()));
    }
    if injection.credential_process {
        env.push(("AWS_CONFIG_FILE", format!("{MOUNT_PATH}/config")));
    }
    if let Some(sidecar) = &injection.serve {
        // The token and the web-identity env go to the sidecar alone; the app gets the endpoint.
        let helper = sidecar::add(spec, sidecar);
        inject_container(helper, &env);
        for container in app_containers(spec, skip) {
            sidecar::point_at(container, sidecar);
        }
        return;
    }
    for container in app_containers(spec, skip) {
        inject_container(container, &env);
    }
}

/// Containers and init containers, but those named in `skip` and the serving sidecar.
fn app_containers<'a>(
    spec: &'a mut serde_json::Map<String, Value>,
    skip: &'a [&str],
) -> impl Iterator<Item = &'a mut Value> {
    spec.iter_mut()
        .filter(|(key, _)| *key == "containers" || *key == "initContainers")
        .filter_map(|(_, list)| list.as_array_mut())
        .flatten()
        .filter(move |container| {
            let name = container["name"].as_str().unwrap_or_default();
            name != sidecar::NAME && !skip.contains(&name)
        })
}

fn inject_container(container: &mut Value, env: &[(&str, String)]) {
    let Some(container) = container.as_object_mut() else {
        return;
    };
    let variables = array(container.entry("env").or_insert_with(|| json!([])));
    for (name, value) in env {
        if !variables.iter().any(|v| v["name"] == *name) {
            variables.push(json!({ "name": name, "value": value }));
        }
    }
    let mounts = array(container.entry("volumeMounts").or_insert_with(|| json!([])));
    if !mounts.iter().any(|m| m["mountPath"] == MOUNT_PATH) {
        mounts.push(json!({ "name": VOLUME, "mountPath": MOUNT_PATH, "readOnly": true }));
    }
}

/// The value as a list, replacing anything else (a null `env:`, say) with an empty one.
pub fn array(value: &mut Value) -> &mut Vec<Value> {
    if !value.is_array() {
        *value = json!([]);
    }
    value.as_array_mut().expect("made a list above")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn injection(credential_process: bool) -> Injection {
        Injection {
            role_arn: "arn:aws:iam::123456789012:role/cart".into(),
            audience: "sts.amazonaws.com".into(),
            expiration_seconds: 86400,
            sts_regional_endpoints: true,
            credential_process,
            serve: None,
        }
    }

    #[test]
    fn injects_what_the_webhook_does_without_overwriting() {
        let mut spec = json!({
            "containers": [
                { "name": "app", "image": "app", "env": [{ "name": "AWS_ROLE_ARN", "value": "mine" }] },
                { "name": "sidecar", "image": "proxy" },
            ],
            "initContainers": [{ "name": "init", "image": "init", "env": null }],
        });
        inject(&mut spec, &injection(false), &["sidecar"]);
        let once = spec.clone();
        inject(&mut spec, &injection(false), &["sidecar"]);
        assert_eq!(spec, once, "injecting twice changes nothing");

        assert_eq!(
            spec["volumes"],
            json!([{ "name": VOLUME, "projected": { "sources": [{ "serviceAccountToken": {
                "audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "token"
            }}]}}])
        );
        assert_eq!(
            spec["containers"][0]["env"],
            json!([
                { "name": "AWS_ROLE_ARN", "value": "mine" },
                { "name": TOKEN_FILE_ENV, "value": format!("{MOUNT_PATH}/token") },
                { "name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional" },
            ])
        );
        assert_eq!(
            spec["containers"][0]["volumeMounts"],
            json!([{ "name": VOLUME, "mountPath": MOUNT_PATH, "readOnly": true }])
        );
        assert_eq!(
            spec["containers"][1],
            json!({ "name": "sidecar", "image": "proxy" })
        );
        assert_eq!(spec["initContainers"][0]["env"][0]["name"], "AWS_ROLE_ARN");
    }

    #[test]
    fn credential_process_projects_the_config_and_points_at_it() {
        let mut spec = json!({ "containers": [{ "name": "app" }] });
        inject(&mut spec, &injection(true), &[]);
        assert_eq!(
            spec["volumes"][0]["projected"]["sources"][1],
            json!({ "configMap": { "name": HELPER_CONFIG_MAP, "items": [{ "key": "config", "path": "config" }] } })
        );
        let env = spec["containers"][0]["env"].as_array().unwrap();
        assert!(env.contains(
            &json!({ "name": "AWS_CONFIG_FILE", "value": format!("{MOUNT_PATH}/config") })
        ));
        assert_eq!(
            helper_config("/bin/h"),
            "[default]\ncredential_process = /bin/h\n"
        );
    }
}
