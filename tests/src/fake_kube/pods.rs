//! Pods whose lifecycle a test scripts: admission (the ServiceAccount must exist; the EKS pod
//! identity webhook's injection), phase changes over time, and logs.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::objects::{canonical, now};
use super::resources::Resource;
use super::router::{Req, Target};
use super::state::{Shared, Store, key, lock, str_at};
use super::status::{ApiError, Reply, bytes_response};
use crate::server::ChannelBody;

/// A pod phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodPhase {
    /// Not running yet (scheduling, pulling the image, or stuck).
    Pending,
    /// The container runs.
    Running,
    /// The container exited 0.
    Succeeded,
    /// The container exited non-zero.
    Failed,
}

impl PodPhase {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
        }
    }
}

/// Whether the fake mutates a new pod as the EKS pod identity webhook does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Injection {
    /// Inject when the webhook configuration `pod-identity-webhook` exists (see
    /// `FakeKube::preload_pod_identity_webhook`) and the pod's ServiceAccount has a
    /// `eks.amazonaws.com/role-arn` annotation, as a cluster running the webhook does.
    #[default]
    Auto,
    /// Inject whenever the ServiceAccount has a role ARN, webhook or not.
    Always,
    /// Never inject.
    Never,
}

/// What happens to a pod after it is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodScript {
    /// The phases the pod goes through; the first is its phase at creation, and it stays in
    /// the last one. `[Pending]` keeps it pending forever.
    pub phases: Vec<PodPhase>,
    /// The time between two phases.
    pub step: Duration,
    /// What `GET .../log` answers once the container has started.
    pub logs: String,
    /// The container's waiting reason while pending, e.g. `ErrImagePull`
    /// (default `ContainerCreating`).
    pub waiting_reason: Option<String>,
    /// The exit code of a `Failed` container (a `Succeeded` one exits 0).
    pub exit_code: i32,
    /// Whether the webhook's environment and token volume are injected.
    pub inject: Injection,
}

impl Default for PodScript {
    /// Pending, Running, then Succeeded, 100 ms apart, with no logs.
    fn default() -> Self {
        Self::succeeds("")
    }
}

impl PodScript {
    /// Pending, Running, then Succeeded with these logs.
    pub fn succeeds(logs: &str) -> Self {
        Self {
            phases: vec![PodPhase::Pending, PodPhase::Running, PodPhase::Succeeded],
            step: Duration::from_millis(100),
            logs: logs.to_owned(),
            waiting_reason: None,
            exit_code: 1,
            inject: Injection::Auto,
        }
    }

    /// Pending, Running, then Failed with these logs and exit code.
    pub fn fails(logs: &str, exit_code: i32) -> Self {
        Self {
            phases: vec![PodPhase::Pending, PodPhase::Running, PodPhase::Failed],
            exit_code,
            ..Self::succeeds(logs)
        }
    }

    /// Pending forever, waiting with `reason` (e.g. `ErrImagePull`), or `ContainerCreating`.
    pub fn stuck_pending(reason: Option<&str>) -> Self {
        Self {
            phases: vec![PodPhase::Pending],
            waiting_reason: reason.map(str::to_owned),
            ..Self::succeeds("")
        }
    }

    /// This script with another time between phases.
    pub fn with_step(mut self, step: Duration) -> Self {
        self.step = step;
        self
    }

    /// This script with another injection rule.
    pub fn with_injection(mut self, inject: Injection) -> Self {
        self.inject = inject;
        self
    }
}

/// What the fake keeps about a pod besides the object.
#[derive(Debug, Clone)]
pub(crate) struct PodRuntime {
    pub(crate) script: PodScript,
}

/// Admits a new pod: its ServiceAccount must exist; fills defaults and status, injects as the
/// webhook would; returns the script it will follow.
pub(crate) fn admit(
    shared: &Shared,
    store: &Store,
    pod: &mut Value,
) -> Result<PodScript, ApiError> {
    let namespace = str_at(pod, "/metadata/namespace").to_owned();
    let name = str_at(pod, "/metadata/name").to_owned();
    let mut sa_name = str_at(pod, "/spec/serviceAccountName").to_owned();
    if sa_name.is_empty() {
        sa_name = str_at(pod, "/spec/serviceAccount").to_owned();
    }
    if sa_name.is_empty() {
        sa_name = "default".to_owned();
    }
    let Some(sa) = store.get(Resource::ServiceAccount, &namespace, &sa_name) else {
        return Err(ApiError::admission_forbidden(
            Resource::Pod,
            &name,
            &format!(
                "error looking up service account {namespace}/{sa_name}: serviceaccount \"{sa_name}\" not found"
            ),
        ));
    };
    let script = {
        let mut config = shared.config();
        match config.pod_scripts.get(&name) {
            Some(script) => script.clone(),
            None => match config.next_pod_scripts.pop_front() {
                Some(script) => script,
                None => config.default_pod_script.clone(),
            },
        }
    };
    let spec = &mut pod["spec"];
    spec["serviceAccountName"] = json!(sa_name);
    spec["serviceAccount"] = json!(sa_name);
    for (field, default) in [
        ("restartPolicy", json!("Always")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("dnsPolicy", json!("ClusterFirst")),
        ("schedulerName", json!("default-scheduler")),
        ("enableServiceLinks", json!(true)),
        ("preemptionPolicy", json!("PreemptLowerPriority")),
        ("priority", json!(0)),
    ] {
        if spec.get(field).is_none() {
            spec[field] = default;
        }
    }
    let webhook = store
        .get(
            Resource::MutatingWebhookConfiguration,
            "",
            super::WEBHOOK_NAME,
        )
        .is_some();
    let inject = match script.inject {
        Injection::Auto => webhook,
        Injection::Always => true,
        Injection::Never => false,
    };
    if inject {
        inject_identity(pod, sa);
    }
    pod["status"] = status(pod, script.phases[0], &script);
    Ok(script)
}

/// Injects what the EKS pod identity webhook injects when the ServiceAccount has a role ARN.
fn inject_identity(pod: &mut Value, sa: &Value) {
    let annotation = |suffix: &str| {
        sa.pointer(&format!(
            "/metadata/annotations/eks.amazonaws.com~1{suffix}"
        ))
        .and_then(Value::as_str)
        .map(str::to_owned)
    };
    let Some(role_arn) = annotation("role-arn") else {
        return;
    };
    let audience = annotation("audience").unwrap_or_else(|| "sts.amazonaws.com".to_owned());
    let expiration = annotation("token-expiration")
        .and_then(|e| e.parse::<i64>().ok())
        .map_or(86400, |e| e.max(600));
    let regional = annotation("sts-regional-endpoints").as_deref() == Some("true");
    let skipped: Vec<String> = str_at(
        pod,
        "/metadata/annotations/eks.amazonaws.com~1skip-containers",
    )
    .split(',')
    .map(|s| s.trim().to_owned())
    .collect();
    let mount_path = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
    let mut env = Vec::new();
    if regional {
        env.push(("AWS_STS_REGIONAL_ENDPOINTS", "regional".to_owned()));
    }
    env.push(("AWS_ROLE_ARN", role_arn));
    env.push(("AWS_WEB_IDENTITY_TOKEN_FILE", format!("{mount_path}/token")));
    for list in ["initContainers", "containers"] {
        let Some(containers) = pod["spec"].get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for container in containers {
            if skipped.iter().any(|s| s == str_at(container, "/name")) {
                continue;
            }
            if !container.get("env").is_some_and(Value::is_array) {
                container["env"] = json!([]);
            }
            let vars = container["env"].as_array_mut().expect("an env list");
            for (name, value) in &env {
                if !vars.iter().any(|v| str_at(v, "/name") == *name) {
                    vars.push(json!({"name": name, "value": value}));
                }
            }
            if !container.get("volumeMounts").is_some_and(Value::is_array) {
                container["volumeMounts"] = json!([]);
            }
            let mounts = container["volumeMounts"]
                .as_array_mut()
                .expect("a mount list");
            if !mounts.iter().any(|m| str_at(m, "/mountPath") == mount_path) {
                mounts.push(
                    json!({"name": "aws-iam-token", "readOnly": true, "mountPath": mount_path}),
                );
            }
        }
    }
    if !pod["spec"].get("volumes").is_some_and(Value::is_array) {
        pod["spec"]["volumes"] = json!([]);
    }
    let volumes = pod["spec"]["volumes"]
        .as_array_mut()
        .expect("a volume list");
    if !volumes
        .iter()
        .any(|v| str_at(v, "/name") == "aws-iam-token")
    {
        volumes.push(json!({
            "name": "aws-iam-token",
            "projected": {
                "sources": [{"serviceAccountToken": {"audience": audience, "expirationSeconds": expiration, "path": "token"}}],
                "defaultMode": 420,
            },
        }));
    }
}

/// The pod's `status` in `phase`.
fn status(pod: &Value, phase: PodPhase, script: &PodScript) -> Value {
    let created = str_at(pod, "/metadata/creationTimestamp").to_owned();
    let now = now();
    let ready = phase == PodPhase::Running;
    let started = phase != PodPhase::Pending;
    let condition = |kind: &str, up: bool| json!({"type": kind, "status": if up { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": now});
    let container_statuses: Vec<Value> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|container| {
            let state = match phase {
                PodPhase::Pending => {
                    let reason = script.waiting_reason.clone().unwrap_or_else(|| "ContainerCreating".to_owned());
                    let mut waiting = json!({"reason": reason});
                    if reason == "ErrImagePull" || reason == "ImagePullBackOff" {
                        waiting["message"] = json!(format!(
                            "Back-off pulling image \"{}\"",
                            str_at(container, "/image")
                        ));
                    }
                    json!({"waiting": waiting})
                }
                PodPhase::Running => json!({"running": {"startedAt": now}}),
                PodPhase::Succeeded | PodPhase::Failed => {
                    let code = if phase == PodPhase::Succeeded { 0 } else { script.exit_code };
                    let reason = if code == 0 { "Completed" } else { "Error" };
                    json!({"terminated": {"exitCode": code, "reason": reason, "startedAt": created, "finishedAt": now}})
                }
            };
            json!({
                "name": str_at(container, "/name"),
                "state": state,
                "lastState": {},
                "ready": ready,
                "restartCount": 0,
                "image": str_at(container, "/image"),
                "imageID": if started { format!("docker.io/library/{}@sha256:{:064x}", str_at(container, "/image"), 0) } else { String::new() },
                "started": ready,
            })
        })
        .collect();
    let mut status = json!({
        "phase": phase.as_str(),
        "conditions": [
            condition("PodReadyToStartContainers", started),
            condition("Initialized", true),
            condition("Ready", ready),
            condition("ContainersReady", ready),
            condition("PodScheduled", true),
        ],
        "hostIP": "10.0.0.10",
        "hostIPs": [{"ip": "10.0.0.10"}],
        "startTime": created,
        "containerStatuses": container_statuses,
        "qosClass": "BestEffort",
    });
    if started {
        status["podIP"] = json!("10.244.0.17");
        status["podIPs"] = json!([{"ip": "10.244.0.17"}]);
    }
    status
}

/// Remembers a stored pod's script and, when it has more phases, moves it through them.
pub(crate) fn start(shared: &Arc<Shared>, store: &mut Store, pod: &Value, script: PodScript) {
    let namespace = str_at(pod, "/metadata/namespace").to_owned();
    let name = str_at(pod, "/metadata/name").to_owned();
    let uid = str_at(pod, "/metadata/uid").to_owned();
    store.pods.insert(
        key(&namespace, &name),
        PodRuntime {
            script: script.clone(),
        },
    );
    if script.phases.len() < 2 {
        return;
    }
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        for phase in script.phases.iter().skip(1) {
            tokio::time::sleep(script.step).await;
            let mut store = lock(&shared.store);
            let Some(current) = store.get(Resource::Pod, &namespace, &name) else {
                return;
            };
            if str_at(current, "/metadata/uid") != uid {
                return;
            }
            let mut updated = current.clone();
            updated["spec"]["nodeName"] = json!("fake-node");
            updated["status"] = status(&updated, *phase, &script);
            store.put(Resource::Pod, canonical(updated));
        }
    });
}

/// Adds a pod in a fixed phase, without a script (for tests that count pods).
pub(crate) fn static_pod(
    namespace: &str,
    name: &str,
    service_account: &str,
    phase: PodPhase,
) -> Value {
    let mut pod = json!({
        "metadata": {"name": name},
        "spec": {
            "serviceAccountName": service_account,
            "serviceAccount": service_account,
            "containers": [{"name": name, "image": "busybox"}],
            "restartPolicy": "Never",
            "nodeName": "fake-node",
        },
    });
    pod = super::objects::prepare_new(Resource::Pod, namespace, pod).expect("a valid pod");
    let script = PodScript {
        phases: vec![phase],
        ..PodScript::default()
    };
    pod["status"] = status(&pod, phase, &script);
    pod
}

/// `GET .../pods/NAME/log`: the scripted logs once the container has started; with
/// `follow=true`, the stream stays open until the pod ends.
pub(crate) fn logs(shared: &Shared, req: &Req, target: &Target) -> Reply {
    let namespace = target.namespace.clone().unwrap_or_default();
    let name = target.name.clone().unwrap_or_default();
    let store = shared.store();
    let pod = store
        .get(Resource::Pod, &namespace, &name)
        .ok_or_else(|| ApiError::not_found(Resource::Pod, &name))?;
    let container = req
        .param("container")
        .map(str::to_owned)
        .unwrap_or_else(|| str_at(pod, "/spec/containers/0/name").to_owned());
    let phase = str_at(pod, "/status/phase").to_owned();
    if phase == "Pending" || phase.is_empty() {
        let reason = str_at(pod, "/status/containerStatuses/0/state/waiting/reason");
        let why = match reason {
            "ErrImagePull" => "trying and failing to pull image".to_owned(),
            "ImagePullBackOff" => "image can't be pulled".to_owned(),
            "" => "ContainerCreating".to_owned(),
            other => other.to_owned(),
        };
        return Err(ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: {why}"
        )));
    }
    let mut text = store
        .pods
        .get(&key(&namespace, &name))
        .map(|runtime| runtime.script.logs.clone())
        .unwrap_or_default();
    if let Some(tail) = req.param("tailLines").and_then(|t| t.parse::<usize>().ok()) {
        let lines: Vec<&str> = text.lines().collect();
        let kept = lines[lines.len().saturating_sub(tail)..].join("\n");
        text = if kept.is_empty() { kept } else { kept + "\n" };
    }
    let follow = req.param("follow") == Some("true") && phase == "Running";
    if !follow {
        return Ok(bytes_response(200, "text/plain", text.into_bytes()));
    }
    let (mut events, _) = store.subscribe_after(store.rv());
    drop(store);
    let (sender, body) = ChannelBody::channel(16);
    tokio::spawn(async move {
        if sender.send(text.into()).await.is_err() {
            return;
        }
        while let Ok(event) = events.recv().await {
            let object = &event.object;
            if event.resource == Resource::Pod
                && str_at(object, "/metadata/namespace") == namespace
                && str_at(object, "/metadata/name") == name
                && (event.kind == "DELETED"
                    || matches!(str_at(object, "/status/phase"), "Succeeded" | "Failed"))
            {
                break;
            }
        }
    });
    let mut response = hyper::Response::new(http_body_util::BodyExt::boxed(body));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    Ok(response)
}
