//! `inject --serve`: irsa-credential-process as a native sidecar (an init container with
//! `restartPolicy: Always`, Kubernetes 1.29 and later) serving the container credentials
//! endpoint on the pod's loopback, and the env that points the app containers at it. The app
//! never sees the ServiceAccount token: only the sidecar mounts it.

use serde_json::{Map, Value, json};

use super::{TOKEN_FILE_ENV, VOLUME as TOKEN_VOLUME, array};

/// The sidecar's container name.
pub const NAME: &str = "irsa-credentials";
/// The in-memory volume holding the Authorization token the app must send.
pub const VOLUME: &str = "irsa-serve";
pub const MOUNT_PATH: &str = "/var/run/irsa";
pub const AUTH_TOKEN_FILE: &str = "/var/run/irsa/auth-token";

/// Where the image built from `irsa-credential-process/Dockerfile` has the helper (its
/// ENTRYPOINT).
pub const HELPER_IN_IMAGE: &str = "/irsa-credential-process";

/// The key of the token in a `--serve-token-secret` Secret.
pub const SECRET_KEY: &str = "token";

/// Which image runs `serve`, on which loopback port, and where the Authorization token comes
/// from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sidecar {
    pub image: String,
    pub port: u16,
    /// A Secret holding the token: the sidecar reads it from the Secret's volume and the app
    /// gets it as AWS_CONTAINER_AUTHORIZATION_TOKEN. `None`: the sidecar makes one in an
    /// in-memory volume the app reads through AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
    pub token_secret: Option<String>,
}

/// The volume holding the token file.
fn token_volume(sidecar: &Sidecar) -> Value {
    match &sidecar.token_secret {
        // Mounted where serve's --auth-token-file points; serve uses the token it finds there.
        Some(secret) => json!({ "name": VOLUME, "secret": {
            "secretName": secret,
            "items": [{ "key": SECRET_KEY, "path": "auth-token" }],
        }}),
        None => json!({ "name": VOLUME, "emptyDir": { "medium": "Memory", "sizeLimit": "1Mi" } }),
    }
}

/// The sidecar's mount of the token volume: a Secret's is read-only.
fn mount(sidecar: &Sidecar) -> Value {
    let mut mount = json!({ "name": VOLUME, "mountPath": MOUNT_PATH });
    if sidecar.token_secret.is_some() {
        mount["readOnly"] = json!(true);
    }
    mount
}

/// Adds the volume and the sidecar (first among the init containers, so that the other init
/// containers have credentials too) unless a container named [`NAME`] is there; returns it.
pub fn add<'a>(spec: &'a mut Map<String, Value>, sidecar: &Sidecar) -> &'a mut Value {
    let volumes = array(spec.entry("volumes").or_insert_with(|| json!([])));
    if !volumes.iter().any(|v| v["name"] == VOLUME) {
        volumes.push(token_volume(sidecar));
    }
    // The token file is 0600: the sidecar runs as the app's user to let the app read it.
    let app_user = spec
        .get("containers")
        .and_then(|containers| containers.get(0))
        .and_then(|app| app.get("securityContext"))
        // Root reads any file, and runAsNonRoot would refuse uid 0.
        .filter(|context| context["runAsUser"] != 0)
        .map(|context| {
            ["runAsUser", "runAsGroup"]
                .into_iter()
                .filter_map(|key| Some((key.to_string(), context.get(key)?.clone())))
                .collect::<Map<String, Value>>()
        })
        .unwrap_or_default();
    let port = sidecar.port.to_string();
    let init = array(spec.entry("initContainers").or_insert_with(|| json!([])));
    let index = match init.iter().position(|c| c["name"] == NAME) {
        Some(index) => index,
        None => {
            // Pod Security restricted, container by container: a pod that passes it still does
            // with the sidecar (its seccomp may be set per container only).
            let mut security = json!({ "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true, "capabilities": { "drop": ["ALL"] }, "seccompProfile": { "type": "RuntimeDefault" } });
            if let Some(security) = security.as_object_mut() {
                security.extend(app_user);
            }
            init.insert(
                0,
                json!({
                    "name": NAME,
                    "image": sidecar.image,
                    "restartPolicy": "Always",
                    "args": args(sidecar),
                    "startupProbe": { "exec": { "command": [
                        HELPER_IN_IMAGE, "probe", "--port", port, "--auth-token-file", AUTH_TOKEN_FILE,
                    ]}, "periodSeconds": 1, "failureThreshold": 60 },
                    "resources": { "requests": { "cpu": "10m", "memory": "16Mi" }, "limits": { "memory": "64Mi" } },
                    "securityContext": security,
                    "volumeMounts": [mount(sidecar)],
                }),
            );
            0
        }
    };
    &mut init[index]
}

/// The sidecar's command line.
fn args(sidecar: &Sidecar) -> Value {
    let port = sidecar.port.to_string();
    json!([
        "serve",
        "--port",
        port,
        "--auth-token-file",
        AUTH_TOKEN_FILE
    ])
}

/// Whether the pod already has the sidecar with another image, port or token volume than
/// `sidecar` would have: injecting leaves an existing sidecar as it is.
pub fn differs(spec: &Value, sidecar: &Sidecar) -> bool {
    let named = |list: &str, name: &str| {
        spec[list]
            .as_array()
            .and_then(|items| items.iter().find(|item| item["name"] == name))
            .cloned()
    };
    let Some(existing) = named("initContainers", NAME) else {
        return false;
    };
    existing["image"] != sidecar.image.as_str()
        || existing["args"] != args(sidecar)
        || named("volumes", VOLUME) != Some(token_volume(sidecar))
}

/// Whether the pod, or its first container (whose user the sidecar copies), names the user it
/// runs as: only then do the sidecar and the app share the user that may read the token file.
pub fn runs_as_a_known_user(spec: &Value) -> bool {
    spec["securityContext"]["runAsUser"].is_number()
        || spec["containers"][0]["securityContext"]["runAsUser"].is_number()
}

/// The names of the containers and init containers other than the sidecar.
pub fn app_container_names(spec: &Value) -> Vec<String> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|key| spec[key].as_array())
        .flatten()
        .filter_map(|container| container["name"].as_str())
        .filter(|name| *name != NAME)
        .map(str::to_string)
        .collect()
}

/// Points an app container at the sidecar: the endpoint, and the token file with the volume
/// read-only (or, from a Secret, the token's value alone: SDKs differ on which of the two
/// wins, so only one is set). The web-identity env and token mount an earlier `inject` gave
/// it are taken away: the app would use them before the endpoint.
pub fn point_at(container: &mut Value, sidecar: &Sidecar) {
    let Some(container) = container.as_object_mut() else {
        return;
    };
    if let Some(variables) = container.get_mut("env").and_then(Value::as_array_mut) {
        variables.retain(|v| v["name"] != "AWS_ROLE_ARN" && v["name"] != TOKEN_FILE_ENV);
    }
    if let Some(mounts) = container
        .get_mut("volumeMounts")
        .and_then(Value::as_array_mut)
    {
        mounts.retain(|m| m["name"] != TOKEN_VOLUME);
    }
    let url = format!("http://127.0.0.1:{}/v1/credentials", sidecar.port);
    let token = match &sidecar.token_secret {
        Some(secret) => json!({ "name": "AWS_CONTAINER_AUTHORIZATION_TOKEN", "valueFrom": {
            "secretKeyRef": { "name": secret, "key": SECRET_KEY },
        }}),
        None => {
            json!({ "name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "value": AUTH_TOKEN_FILE })
        }
    };
    let env = [
        json!({ "name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": url }),
        token,
    ];
    let variables = array(container.entry("env").or_insert_with(|| json!([])));
    for variable in env {
        if !variables.iter().any(|v| v["name"] == variable["name"]) {
            variables.push(variable);
        }
    }
    if sidecar.token_secret.is_some() {
        return;
    }
    let mounts = array(container.entry("volumeMounts").or_insert_with(|| json!([])));
    if !mounts.iter().any(|m| m["mountPath"] == MOUNT_PATH) {
        mounts.push(json!({ "name": VOLUME, "mountPath": MOUNT_PATH, "readOnly": true }));
    }
}
