use serde_json::{Value, json};

use super::*;
use crate::injection::{self, Injection, MOUNT_PATH, sidecar::Sidecar};

const ROLE: &str = "arn:aws:iam::123456789012:role/cart";

fn pod(value: Value) -> Pod {
    serde_json::from_value(value).unwrap()
}

fn injection(serve: Option<Sidecar>) -> Injection {
    Injection {
        role_arn: ROLE.into(),
        audience: "sts.amazonaws.com".into(),
        expiration_seconds: 86400,
        sts_regional_endpoints: false,
        region: None,
        credential_process: false,
        serve,
    }
}

/// A pod of `containers`, injected as `kubectl irsa inject` (the webhook's layout) does.
fn injected(containers: Value, serve: Option<Sidecar>) -> Pod {
    let mut spec = json!({ "containers": containers });
    injection::inject(&mut spec, &injection(serve), &[]);
    pod(json!({ "metadata": {"name": "p"}, "spec": spec }))
}

fn web_identity(container: &str, audience: &str) -> WebIdentity {
    WebIdentity {
        container: container.into(),
        role_arn: Env::Literal(ROLE.into()),
        token_file: Env::Literal(format!("{MOUNT_PATH}/token")),
        token: Some(Token::Projected {
            audience: Some(audience.into()),
        }),
    }
}

#[test]
fn the_webhooks_web_identity_is_read_with_its_token() {
    let app = injected(json!([{"name": "app"}]), None);
    assert_eq!(
        source(&app),
        Source::WebIdentity(web_identity("app", "sts.amazonaws.com"))
    );

    // A mesh sidecar without env, first in the list, does not hide the app's.
    let meshed = pod(json!({"spec": {"containers": [
        {"name": "istio-proxy"},
        {"name": "app", "env": [{"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/t/token"},
                                {"name": "AWS_ROLE_ARN", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}]},
    ]}}));
    assert_eq!(
        source(&meshed),
        Source::WebIdentity(WebIdentity {
            container: "app".into(),
            role_arn: Env::Reference,
            token_file: Env::Literal("/t/token".into()),
            token: Some(Token::Missing),
        })
    );
    let bare = pod(json!({"spec": {"containers": [{"name": "app"}]}}));
    assert_eq!(source(&bare), Source::None);
}

#[test]
fn init_containers_and_windows_paths_count() {
    let mut spec = json!({"containers": [{"name": "app"}], "initContainers": [{"name": "setup"}]});
    injection::inject(&mut spec, &injection(None), &["app".to_string()]);
    let windows = r"C:\var\run\secrets\eks.amazonaws.com\serviceaccount\token";
    spec["initContainers"][0]["env"][1]["value"] = json!(windows);
    let found = source(&pod(json!({ "spec": spec })));
    let Source::WebIdentity(identity) = found else {
        panic!("{found:?}")
    };
    assert_eq!(identity.container, "setup");
    assert_eq!(
        identity.token,
        Some(Token::Projected {
            audience: Some("sts.amazonaws.com".into())
        })
    );
}

#[test]
fn inject_serve_is_the_sidecar_layout() {
    // With the token file, or with its value from a Secret.
    for token_secret in [None, Some("cart-serve-token".to_string())] {
        let sidecar = Sidecar {
            image: "irsa:1".into(),
            port: 9911,
            token_secret,
        };
        let served = injected(json!([{"name": "app"}, {"name": "worker"}]), Some(sidecar));
        assert_eq!(
            source(&served),
            Source::Sidecar(web_identity(sidecar::NAME, "sts.amazonaws.com"))
        );
    }
}

#[test]
fn container_credentials_are_pod_identity_at_the_agent() {
    let with_uri = |uri: &str| {
        pod(json!({"spec": {"containers": [{"name": "app", "env": [
            {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": uri},
            {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "value": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"},
        ]}]}}))
    };
    for uri in [
        "http://169.254.170.23/v1/credentials",
        "http://[fd00:ec2::23]/v1/credentials",
    ] {
        assert_eq!(
            source(&with_uri(uri)),
            Source::PodIdentity { uri: uri.into() }
        );
    }
    assert_eq!(
        source(&with_uri("http://127.0.0.1:9911/v1/credentials")),
        Source::Endpoint {
            uri: "http://127.0.0.1:9911/v1/credentials".into()
        }
    );
    // Both pairs in one container: the SDKs' chains take the web identity first.
    let mut both = injected(json!([{"name": "app"}]), None);
    let spec = both.spec.as_mut().unwrap();
    spec.containers[0].env.as_mut().unwrap().push(
        serde_json::from_value(
            json!({"name": FULL_URI_ENV, "value": "http://169.254.170.23/v1/credentials"}),
        )
        .unwrap(),
    );
    assert!(matches!(source(&both), Source::WebIdentity(_)));
}
