//! The kubelet's image pulls and the ways a container fails to start.
//!
//! Sources, in kubernetes/kubernetes pkg/kubelet: images/image_manager.go (`EnsureImageExists`:
//! `Container image "IMAGE" already present on machine and can be accessed by the pod`;
//! `pullImage`: `Pulling image "IMAGE"`, `Successfully pulled image "IMAGE" in D (D including
//! waiting). Image size: N bytes.`, `Failed to pull image "IMAGE": ERROR`, `Back-off pulling
//! image "IMAGE"`; `evalCRIPullErr`: the waiting message is the runtime's error, and during the
//! back-off `Back-off pulling image "IMAGE": ErrImagePull: ERROR`),
//! kuberuntime/kuberuntime_container.go (`startContainer`: `Error: ErrImagePull`,
//! `Error: ImagePullBackOff`, `Error: MESSAGE`), kuberuntime/security_context_others.go
//! (`verifyRunAsNonRoot`) with pkg/securitycontext `DetermineEffectiveSecurityContext` and
//! kuberuntime_container.go `getImageUser` (a `uid:gid` user counts its uid).

use serde_json::Value;

use super::FakeKube;
use super::containers::{Kind, Run, State};
use super::kubelet::{Context, Emitted, ImageUser, container_event};
use super::state::str_at;

impl FakeKube {
    /// Makes `image` run as `uid` (its config's `USER`); images not set run as root (0), as
    /// the official aws-cli image does. The kubelet refuses, with
    /// `CreateContainerConfigError`, to start a container with `runAsNonRoot` and no
    /// `runAsUser` whose image runs as 0.
    pub fn set_image_user(&self, image: &str, uid: i64) {
        self.shared
            .config()
            .image_users
            .insert(image.to_owned(), ImageUser::Uid(uid));
    }

    /// Makes `image` run as the non-numeric user `name`, which `runAsNonRoot` cannot verify.
    pub fn set_image_username(&self, image: &str, name: &str) {
        self.shared
            .config()
            .image_users
            .insert(image.to_owned(), ImageUser::Name(name.to_owned()));
    }
}

/// The container's spec in the pod.
fn spec<'a>(c: &Run, pod: &'a Value) -> &'a Value {
    let list = match c.kind {
        Kind::Regular => "containers",
        Kind::Init | Kind::Sidecar => "initContainers",
    };
    pod["spec"][list]
        .as_array()
        .and_then(|cs| cs.iter().find(|s| str_at(s, "/name") == c.name))
        .unwrap_or(&Value::Null)
}

/// containerd's reference for an image: `docker.io/library/` for a short name, `:latest`
/// when untagged (reference/docker `ParseDockerRef`).
fn normalized(image: &str) -> String {
    let (path, last) = image.rsplit_once('/').unwrap_or(("", image));
    let tagged = last.contains(':') || last.contains('@');
    let first = image.split('/').next().unwrap_or("");
    let registry = first.contains('.') || first.contains(':') || first == "localhost";
    let mut reference = match (path.is_empty(), registry && !path.is_empty()) {
        (true, _) => format!("docker.io/library/{image}"),
        (false, true) => image.to_owned(),
        (false, false) => format!("docker.io/{image}"),
    };
    if !tagged {
        reference.push_str(":latest");
    }
    reference
}

/// containerd's pull error, through CRI, for an image its registry does not have.
pub(crate) fn not_found(image: &str) -> String {
    let reference = normalized(image);
    format!(
        "rpc error: code = NotFound desc = failed to pull and unpack image \"{reference}\": failed to resolve reference \"{reference}\": {reference}: not found"
    )
}

/// The message of a container a script keeps waiting with `reason`: for an image pull, what
/// the kubelet says when the registry does not know the image (containerd's NotFound error,
/// through CRI), then while it backs off (with the previous error since kubernetes/kubernetes
/// pull request 127918, v1.32).
pub(crate) fn stuck_message(reason: &str, image: &str) -> Option<String> {
    match reason {
        "ErrImagePull" => Some(not_found(image)),
        "ImagePullBackOff" => Some(format!(
            "Back-off pulling image \"{image}\": ErrImagePull: {}",
            not_found(image)
        )),
        _ => None,
    }
}

/// The events of getting the image when the container is about to be created.
pub(crate) fn pulled(c: &Run, ctx: &Context<'_>) -> Vec<Emitted> {
    let image = &c.image;
    if str_at(spec(c, ctx.pod), "/imagePullPolicy") == "Always" {
        return vec![
            container_event(c, "Normal", "Pulling", format!("Pulling image \"{image}\"")),
            container_event(
                c,
                "Normal",
                "Pulled",
                format!(
                    "Successfully pulled image \"{image}\" in 812ms (812ms including waiting). Image size: 52428800 bytes."
                ),
            ),
        ];
    }
    vec![container_event(
        c,
        "Normal",
        "Pulled",
        format!(
            "Container image \"{image}\" already present on machine and can be accessed by the pod"
        ),
    )]
}

/// A failing pull: `ErrImagePull` on odd steps, `ImagePullBackOff` on even ones.
pub(crate) fn pull_fails(c: &mut Run, age: u32, error: &str) -> Vec<Emitted> {
    if age == 0 {
        return Vec::new();
    }
    let image = c.image.clone();
    if age % 2 == 1 {
        c.state = State::Waiting {
            reason: "ErrImagePull".to_owned(),
            message: Some(error.to_owned()),
        };
        return vec![
            container_event(c, "Normal", "Pulling", format!("Pulling image \"{image}\"")),
            container_event(
                c,
                "Warning",
                "Failed",
                format!("Failed to pull image \"{image}\": {error}"),
            ),
            container_event(c, "Warning", "Failed", "Error: ErrImagePull".to_owned()),
        ];
    }
    c.state = State::Waiting {
        reason: "ImagePullBackOff".to_owned(),
        message: Some(format!(
            "Back-off pulling image \"{image}\": ErrImagePull: {error}"
        )),
    };
    vec![
        container_event(
            c,
            "Normal",
            "BackOff",
            format!("Back-off pulling image \"{image}\""),
        ),
        container_event(c, "Warning", "Failed", "Error: ImagePullBackOff".to_owned()),
    ]
}

/// A container the runtime or the kubelet cannot create: waiting with `reason` and
/// `message`, retried every step.
pub(crate) fn create_fails(
    c: &mut Run,
    ctx: &Context<'_>,
    age: u32,
    reason: &str,
    message: &str,
) -> Vec<Emitted> {
    if age == 0 {
        return Vec::new();
    }
    let mut events = if age == 1 { pulled(c, ctx) } else { Vec::new() };
    c.state = State::Waiting {
        reason: reason.to_owned(),
        message: Some(message.to_owned()),
    };
    events.push(container_event(
        c,
        "Warning",
        "Failed",
        format!("Error: {message}"),
    ));
    events
}

/// The effective value of a securityContext field: the container's, else the pod's.
fn effective<'a>(c: &Run, pod: &'a Value, field: &str) -> &'a Value {
    let own = &spec(c, pod)["securityContext"][field];
    if own.is_null() {
        &pod["spec"]["securityContext"][field]
    } else {
        own
    }
}

/// `verifyRunAsNonRoot`: with `runAsNonRoot`, a container must run as a non-zero uid, from
/// its `runAsUser` or else its image's user.
pub(crate) fn verify_run_as_non_root(c: &Run, ctx: &Context<'_>) -> Result<(), String> {
    let pod = ctx.pod;
    if *effective(c, pod, "runAsNonRoot") != true {
        return Ok(());
    }
    let full_name = format!(
        "{}_{}({})",
        str_at(pod, "/metadata/name"),
        str_at(pod, "/metadata/namespace"),
        str_at(pod, "/metadata/uid")
    );
    if let Some(uid) = effective(c, pod, "runAsUser").as_i64() {
        if uid == 0 {
            return Err(format!(
                "container's runAsUser breaks non-root policy (pod: \"{full_name}\", container: {})",
                c.name
            ));
        }
        return Ok(());
    }
    match ctx
        .users
        .get(&c.image)
        .cloned()
        .unwrap_or(ImageUser::Uid(0))
    {
        ImageUser::Uid(0) => Err(format!(
            "container has runAsNonRoot and image will run as root (pod: \"{full_name}\", container: {})",
            c.name
        )),
        ImageUser::Uid(_) => Ok(()),
        ImageUser::Name(name) => Err(format!(
            "container has runAsNonRoot and image has non-numeric user ({name}), cannot verify user is non-root (pod: \"{full_name}\", container: {})",
            c.name
        )),
    }
}
