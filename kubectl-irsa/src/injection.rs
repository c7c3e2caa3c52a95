//! What the EKS pod identity webhook adds to a pod, as a pure function on the pod spec, for
//! clusters without the webhook: the projected token volume, its read-only mount and the env.

use k8s_openapi::api::core::v1::{
    Container, EnvVar, PodSpec, ProjectedVolumeSource, ServiceAccountTokenProjection, Volume,
    VolumeMount, VolumeProjection,
};

pub const VOLUME: &str = "aws-iam-token";
pub const MOUNT_PATH: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
pub const TOKEN_FILE: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";

/// What to inject, from the ServiceAccount's annotations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Injection {
    pub role_arn: String,
    pub audience: String,
    pub expiration_seconds: i64,
    pub sts_regional_endpoints: bool,
}

/// Adds the webhook's volume, mounts and env to every container and init container; an env
/// variable or mount already there is left alone, and `skip` names containers to leave out.
pub fn inject(spec: &mut PodSpec, injection: &Injection, skip: &[&str]) {
    let volumes = spec.volumes.get_or_insert_with(Vec::new);
    if !volumes.iter().any(|v| v.name == VOLUME) {
        volumes.push(Volume {
            name: VOLUME.into(),
            projected: Some(ProjectedVolumeSource {
                sources: Some(vec![VolumeProjection {
                    service_account_token: Some(ServiceAccountTokenProjection {
                        audience: Some(injection.audience.clone()),
                        expiration_seconds: Some(injection.expiration_seconds),
                        path: "token".into(),
                    }),
                    ..VolumeProjection::default()
                }]),
                ..ProjectedVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    let containers = spec.containers.iter_mut();
    let init = spec.init_containers.iter_mut().flatten();
    for container in containers.chain(init) {
        if !skip.contains(&container.name.as_str()) {
            inject_container(container, injection);
        }
    }
}

fn inject_container(container: &mut Container, injection: &Injection) {
    let env = container.env.get_or_insert_with(Vec::new);
    let mut wanted = vec![
        ("AWS_ROLE_ARN", injection.role_arn.clone()),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", TOKEN_FILE.to_string()),
    ];
    if injection.sts_regional_endpoints {
        wanted.push(("AWS_STS_REGIONAL_ENDPOINTS", "regional".into()));
    }
    for (name, value) in wanted {
        if !env.iter().any(|e| e.name == name) {
            env.push(EnvVar {
                name: name.into(),
                value: Some(value),
                value_from: None,
            });
        }
    }
    let mounts = container.volume_mounts.get_or_insert_with(Vec::new);
    if !mounts.iter().any(|m| m.mount_path == MOUNT_PATH) {
        mounts.push(VolumeMount {
            name: VOLUME.into(),
            mount_path: MOUNT_PATH.into(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
}

/// Whether a container carries the injected token file variable.
pub fn is_injected(container: &Container) -> bool {
    container
        .env
        .iter()
        .flatten()
        .any(|e| e.name == "AWS_WEB_IDENTITY_TOKEN_FILE")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn injection() -> Injection {
        Injection {
            role_arn: "arn:aws:iam::123456789012:role/cart".into(),
            audience: "sts.amazonaws.com".into(),
            expiration_seconds: 86400,
            sts_regional_endpoints: true,
        }
    }

    fn container(name: &str) -> Container {
        Container {
            name: name.into(),
            ..Container::default()
        }
    }

    #[test]
    fn injects_what_the_webhook_does_without_overwriting() {
        let mut app = container("app");
        app.env = Some(vec![EnvVar {
            name: "AWS_ROLE_ARN".into(),
            value: Some("mine".into()),
            value_from: None,
        }]);
        let mut spec = PodSpec {
            containers: vec![app, container("sidecar")],
            init_containers: Some(vec![container("init")]),
            ..PodSpec::default()
        };
        inject(&mut spec, &injection(), &["sidecar"]);
        inject(&mut spec, &injection(), &["sidecar"]);

        let volumes = spec.volumes.as_ref().unwrap();
        assert_eq!(volumes.len(), 1, "injecting twice adds nothing");
        let token = volumes[0]
            .projected
            .as_ref()
            .unwrap()
            .sources
            .as_ref()
            .unwrap()[0]
            .service_account_token
            .as_ref()
            .unwrap();
        assert_eq!(
            (
                token.audience.as_deref(),
                token.expiration_seconds,
                token.path.as_str()
            ),
            (Some("sts.amazonaws.com"), Some(86400), "token")
        );

        let app = &spec.containers[0];
        let env: Vec<(&str, &str)> = app
            .env
            .iter()
            .flatten()
            .map(|e| (e.name.as_str(), e.value.as_deref().unwrap()))
            .collect();
        assert_eq!(
            env,
            [
                ("AWS_ROLE_ARN", "mine"),
                ("AWS_WEB_IDENTITY_TOKEN_FILE", TOKEN_FILE),
                ("AWS_STS_REGIONAL_ENDPOINTS", "regional")
            ]
        );
        let mount = &app.volume_mounts.as_ref().unwrap()[0];
        assert_eq!(
            (
                mount.name.as_str(),
                mount.mount_path.as_str(),
                mount.read_only
            ),
            (VOLUME, MOUNT_PATH, Some(true))
        );
        assert_eq!(app.volume_mounts.as_ref().unwrap().len(), 1);

        assert!(is_injected(&spec.init_containers.as_ref().unwrap()[0]));
        assert!(
            !is_injected(&spec.containers[1]),
            "skipped container left alone"
        );
    }
}
