//! `GET .../pods/NAME/log`: one container's scripted logs.
//!
//! Sources, in kubernetes/kubernetes: pkg/registry/core/pod/strategy.go (`LogLocation` and
//! `validateContainer`: without `container`, a pod with one container means that one, else
//! 400 `a container name must be specified for pod NAME, choose one of: [A B]` listing init
//! containers, containers and ephemeral containers; an unknown name is 400 `container X is
//! not valid for pod NAME`; a pod not bound to a node has an empty log),
//! pkg/kubelet/kubelet_pods.go (`validateContainerLogStatus`: `container "C" in pod "P" is
//! waiting to start: REASON`, with `image can't be pulled` for `ErrImagePull` and `trying and
//! failing to pull image` for `ImagePullBackOff`; `previous terminated container "C" in pod
//! "P" not found`; `container "C" in pod "P" is not available`).

use hyper::header::{CONTENT_TYPE, HeaderValue};
use serde_json::Value;

use super::containers::Run;
use super::resources::Resource;
use super::router::{Req, Target};
use super::state::{Shared, key, str_at};
use super::status::{ApiError, Reply, bytes_response};
use crate::server::ChannelBody;

/// Every container name of the pod: init containers, containers, ephemeral containers.
fn all_names(pod: &Value) -> Vec<&str> {
    ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .flat_map(|l| pod["spec"][l].as_array().into_iter().flatten())
        .map(|c| str_at(c, "/name"))
        .collect()
}

/// `validateContainer`: the container the request is about.
fn container(req: &Req, pod: &Value, name: &str) -> Result<String, ApiError> {
    if let Some(wanted) = req.param("container").filter(|c| !c.is_empty()) {
        if !all_names(pod).contains(&wanted) {
            return Err(ApiError::bad_request(format!(
                "container {wanted} is not valid for pod {name}"
            )));
        }
        return Ok(wanted.to_owned());
    }
    let containers = pod["spec"]["containers"].as_array().map_or(0, Vec::len);
    match containers {
        1 => Ok(str_at(pod, "/spec/containers/0/name").to_owned()),
        0 => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}"
        ))),
        _ => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            all_names(pod).join(" ")
        ))),
    }
}

/// The container's status in the pod.
fn status<'a>(pod: &'a Value, container: &str) -> Option<&'a Value> {
    [
        "initContainerStatuses",
        "containerStatuses",
        "ephemeralContainerStatuses",
    ]
    .iter()
    .flat_map(|l| pod["status"][l].as_array().into_iter().flatten())
    .find(|s| str_at(s, "/name") == container)
}

/// `validateContainerLogStatus`: whether the container has logs to show.
fn loggable(pod: &Value, container: &str, previous: bool) -> Result<(), ApiError> {
    let name = str_at(pod, "/metadata/name");
    let fail = |why: String| Err(ApiError::bad_request(why));
    let Some(status) = status(pod, container) else {
        return fail(format!(
            "container \"{container}\" in pod \"{name}\" is not available"
        ));
    };
    let last_terminated = status.pointer("/lastState/terminated").is_some();
    if previous {
        if last_terminated {
            return Ok(());
        }
        return fail(format!(
            "previous terminated container \"{container}\" in pod \"{name}\" not found"
        ));
    }
    let state = &status["state"];
    if state.get("running").is_some() || state.get("terminated").is_some() || last_terminated {
        return Ok(());
    }
    let Some(waiting) = state.get("waiting") else {
        return fail(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start - no logs yet"
        ));
    };
    let why = match str_at(waiting, "/reason") {
        "ErrImagePull" => "image can't be pulled".to_owned(),
        "ImagePullBackOff" => "trying and failing to pull image".to_owned(),
        other => other.to_owned(),
    };
    fail(format!(
        "container \"{container}\" in pod \"{name}\" is waiting to start: {why}"
    ))
}

fn tail(text: String, lines: Option<usize>) -> String {
    let Some(count) = lines else {
        return text;
    };
    let all: Vec<&str> = text.lines().collect();
    let kept = all[all.len().saturating_sub(count)..].join("\n");
    if kept.is_empty() { kept } else { kept + "\n" }
}

/// `GET .../pods/NAME/log`; with `follow=true`, the stream stays open until the container
/// stops running.
pub(crate) fn logs(shared: &Shared, req: &Req, target: &Target) -> Reply {
    let namespace = target.namespace.clone().unwrap_or_default();
    let name = target.name.clone().unwrap_or_default();
    let store = shared.store();
    let pod = store
        .get(Resource::Pod, &namespace, &name)
        .ok_or_else(|| ApiError::not_found(Resource::Pod, &name))?;
    let container = container(req, pod, &name)?;
    if str_at(pod, "/spec/nodeName").is_empty() {
        return Ok(bytes_response(200, "text/plain", Vec::new()));
    }
    loggable(pod, &container, req.param("previous") == Some("true"))?;
    let runs: Vec<&Run> = store
        .pods
        .get(&key(&namespace, &name))
        .map(|r| r.containers.iter().collect())
        .unwrap_or_default();
    let run = runs.iter().find(|r| r.name == container);
    let text = run.map(|r| r.script.logs.clone()).unwrap_or_default();
    let text = tail(text, req.param("tailLines").and_then(|t| t.parse().ok()));
    let running = status(pod, &container).is_some_and(|s| s.pointer("/state/running").is_some());
    if req.param("follow") != Some("true") || !running {
        return Ok(bytes_response(200, "text/plain", text.into_bytes()));
    }
    let uid = str_at(pod, "/metadata/uid").to_owned();
    let (mut events, _) = store.subscribe_after(store.rv());
    drop(store);
    let (sender, body) = ChannelBody::channel(16);
    tokio::spawn(async move {
        if sender.send(text.into()).await.is_err() {
            return;
        }
        while let Ok(event) = events.recv().await {
            let object = &event.object;
            if event.resource != Resource::Pod || str_at(object, "/metadata/uid") != uid {
                continue;
            }
            let still_running =
                status(object, &container).is_some_and(|s| s.pointer("/state/running").is_some());
            if event.kind == "DELETED" || !still_running {
                break;
            }
        }
    });
    let mut response = hyper::Response::new(http_body_util::BodyExt::boxed(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(response)
}
