//! What the EKS pod identity webhook adds to a pod, as a pure function on a pod spec in its JSON
//! form (so manifests keep their own layout): the projected token volume, its read-only mount
//! and the env, in every container and init container. It follows the webhook's
//! pkg/handler/handler.go (aws/amazon-eks-pod-identity-webhook) step by step: the env in its
//! order, a pair (the web identity, the region) added only when neither of its variables is
//! set, the volume first in the list, the mount and the volume found by name, Windows pods'
//! `C:\` token path, and `skip-containers` read as Go's CSV reader reads it.

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
    /// AWS_REGION and AWS_DEFAULT_REGION, as a webhook run with a region sets them.
    pub region: Option<String>,
    /// Also project the ConfigMap [`HELPER_CONFIG_MAP`] as `config` and set AWS_CONFIG_FILE.
    pub credential_process: bool,
    /// Serve the credentials from a native sidecar instead (`inject --serve`).
    pub serve: Option<Sidecar>,
}

/// The AWS config that names the helper, for the ConfigMap.
pub fn helper_config(helper_path: &str) -> String {
    format!("[default]\ncredential_process = {helper_path}\n")
}

/// Adds the webhook's volume, mounts and env to `spec` (a PodSpec as JSON). What is already
/// there is left alone, as the webhook leaves it; containers named in `skip` are left out.
/// Injecting twice changes nothing.
pub fn inject(spec: &mut Value, injection: &Injection, skip: &[String]) {
    let token_file = token_file(spec);
    let Some(spec) = spec.as_object_mut() else {
        return;
    };
    let volumes = array(spec.entry("volumes").or_insert_with(|| json!([])));
    if !volumes.iter().any(|v| v["name"] == VOLUME) {
        volumes.insert(0, volume(injection));
    }
    let env = Env {
        injection,
        token_file,
    };
    if let Some(sidecar) = &injection.serve {
        // The token and the web-identity env go to the sidecar alone; the app gets the endpoint.
        let helper = sidecar::add(spec, sidecar);
        env.add_to(helper);
        for container in app_containers(spec, skip) {
            sidecar::point_at(container, sidecar);
        }
        return;
    }
    for container in app_containers(spec, skip) {
        env.add_to(container);
    }
}

/// The projected token volume.
fn volume(injection: &Injection) -> Value {
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
    json!({ "name": VOLUME, "projected": { "sources": sources } })
}

/// The token file's path in the containers: `C:\var\run\...` on a Windows node (a
/// `kubernetes.io/os` or `beta.kubernetes.io/os` node selector of `windows`).
fn token_file(spec: &Value) -> String {
    let path = format!("{MOUNT_PATH}/token");
    let selector = &spec["nodeSelector"];
    let windows = ["kubernetes.io/os", "beta.kubernetes.io/os"]
        .iter()
        .any(|key| selector[key] == "windows");
    if windows {
        format!("C:{}", path.replace('/', "\\"))
    } else {
        path
    }
}

/// The pod annotation `skip-containers`, as the webhook reads it: the first record of Go's CSV
/// reader (quotes allowed, no trimming); a value it cannot parse skips nothing.
pub fn skip_containers(value: &str) -> Vec<String> {
    let line = value.split('\n').next().unwrap_or_default();
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Vec::new(),
                }
            }
            if !matches!(chars.peek(), None | Some(',')) {
                return Vec::new();
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                if c == '"' {
                    return Vec::new();
                }
                field.push(c);
            }
        }
        fields.push(field);
        if chars.next().is_none() {
            return fields;
        }
    }
}

/// The env the webhook adds to one container.
struct Env<'a> {
    injection: &'a Injection,
    token_file: String,
}

impl Env<'_> {
    /// handler.go's addEnvToContainer: AWS_STS_REGIONAL_ENDPOINTS, then the region pair, then
    /// the web-identity pair, each only when unset (a pair when neither of its variables is
    /// set), then the mount unless one of the volume is there. AWS_CONFIG_FILE is ours
    /// (`--credential-process`).
    fn add_to(&self, container: &mut Value) {
        let Some(container) = container.as_object_mut() else {
            return;
        };
        let variables = array(container.entry("env").or_insert_with(|| json!([])));
        let set = |variables: &Vec<Value>, name: &str| variables.iter().any(|v| v["name"] == name);
        let injection = self.injection;
        let mut added: Vec<(&str, String)> = Vec::new();
        if injection.sts_regional_endpoints && !set(variables, "AWS_STS_REGIONAL_ENDPOINTS") {
            added.push(("AWS_STS_REGIONAL_ENDPOINTS", "regional".into()));
        }
        let region_set = set(variables, "AWS_REGION") || set(variables, "AWS_DEFAULT_REGION");
        if let Some(region) = injection.region.as_ref().filter(|_| !region_set) {
            added.push(("AWS_DEFAULT_REGION", region.clone()));
            added.push(("AWS_REGION", region.clone()));
        }
        if !set(variables, "AWS_ROLE_ARN") && !set(variables, TOKEN_FILE_ENV) {
            added.push(("AWS_ROLE_ARN", injection.role_arn.clone()));
            added.push((TOKEN_FILE_ENV, self.token_file.clone()));
        }
        if injection.credential_process && !set(variables, "AWS_CONFIG_FILE") {
            added.push(("AWS_CONFIG_FILE", format!("{MOUNT_PATH}/config")));
        }
        for (name, value) in added {
            variables.push(json!({ "name": name, "value": value }));
        }
        let mounts = array(container.entry("volumeMounts").or_insert_with(|| json!([])));
        if !mounts.iter().any(|m| m["name"] == VOLUME) {
            mounts.push(json!({ "name": VOLUME, "readOnly": true, "mountPath": MOUNT_PATH }));
        }
    }
}

/// Containers and init containers, but those named in `skip` and the serving sidecar.
fn app_containers<'a>(
    spec: &'a mut serde_json::Map<String, Value>,
    skip: &'a [String],
) -> impl Iterator<Item = &'a mut Value> {
    spec.iter_mut()
        .filter(|(key, _)| *key == "containers" || *key == "initContainers")
        .filter_map(|(_, list)| list.as_array_mut())
        .flatten()
        .filter(move |container| {
            let name = container["name"].as_str().unwrap_or_default();
            name != sidecar::NAME && !skip.iter().any(|s| s == name)
        })
}

/// The value as a list, replacing anything else (a null `env:`, say) with an empty one.
pub fn array(value: &mut Value) -> &mut Vec<Value> {
    if !value.is_array() {
        *value = json!([]);
    }
    value.as_array_mut().expect("made a list above")
}

#[cfg(test)]
mod props;
#[cfg(test)]
#[path = "tests.rs"]
mod tests;
