use serde_json::{Value, json};

use super::*;
use crate::binding::Keys;
use crate::injection::{self, Injection, sidecar::Sidecar};

const ROLE: &str = "arn:aws:iam::123456789012:role/cart";
const OLD: &str = "arn:aws:iam::123456789012:role/old";
const AGENT: &str = "http://169.254.170.23/v1/credentials";

fn context(webhook: bool) -> Context<'static> {
    Context {
        namespace: "shop",
        name: "cart",
        role_key: "eks.amazonaws.com/role-arn",
        webhook,
    }
}

fn binding(role: &str, audience: Option<&str>) -> Binding {
    let mut annotations = json!({"eks.amazonaws.com/role-arn": role});
    if let Some(audience) = audience {
        annotations["eks.amazonaws.com/audience"] = json!(audience);
    }
    let account = serde_json::from_value(json!({"metadata": {"annotations": annotations}}));
    Binding::of(&account.unwrap(), &Keys::new("eks.amazonaws.com"))
}

/// A running pod `name` of `spec`, owned by `owner` (`kind/name`, with the deployment
/// controller's hash label for a ReplicaSet).
fn running(name: &str, owner: Option<(&str, &str)>, spec: Value) -> Pod {
    let mut value =
        json!({"metadata": {"name": name}, "spec": spec, "status": {"phase": "Running"}});
    if let Some((kind, owner)) = owner {
        value["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind, "name": owner, "uid": "u", "controller": true}]);
        if let Some((_, hash)) = owner.rsplit_once('-') {
            value["metadata"]["labels"] = json!({"pod-template-hash": hash});
        }
    }
    serde_json::from_value(value).unwrap()
}

/// A spec injected for `role` (and `audience`), as the webhook does, or served by the sidecar.
fn injected(role: &str, audience: &str, serve: bool) -> Value {
    let mut spec = json!({"containers": [{"name": "app"}, {"name": "istio-proxy"}]});
    let injection = Injection {
        role_arn: role.into(),
        audience: audience.into(),
        expiration_seconds: 86400,
        sts_regional_endpoints: false,
        region: None,
        credential_process: false,
        serve: serve.then(|| Sidecar {
            image: "irsa:1".into(),
            port: 9911,
            token_secret: None,
        }),
    };
    injection::inject(&mut spec, &injection, &["istio-proxy".to_string()]);
    spec
}

fn pod_identity() -> Value {
    json!({"containers": [{"name": "app", "env": [
        {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": AGENT},
        {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "value": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"},
    ]}]})
}

fn bare() -> Value {
    json!({"containers": [{"name": "app"}]})
}

#[test]
fn injection_counts_every_way_of_getting_credentials() {
    assert_eq!(
        check_injection(&[], context(true)),
        Check::pass("injection", "no running pods to look at")
    );
    let web = running("web-1", None, injected(ROLE, "sts.amazonaws.com", false));
    let mut done = running("job-1", None, bare());
    done.status.as_mut().unwrap().phase = Some("Succeeded".into());
    assert_eq!(
        check_injection(&[web.clone(), done], context(true)),
        Check::pass(
            "injection",
            "1 running pod(s), all with AWS_WEB_IDENTITY_TOKEN_FILE"
        )
    );
    let served = running("api-1", None, injected(ROLE, "sts.amazonaws.com", true));
    assert_eq!(
        check_injection(&[web.clone(), served.clone()], context(true)),
        Check::pass(
            "injection",
            "2 running pod(s), all with credentials: 1 with AWS_WEB_IDENTITY_TOKEN_FILE, 1 through the irsa-credentials sidecar (kubectl irsa inject --serve)"
        )
    );
    let associated = running("cart-1", None, pod_identity());
    assert_eq!(
        check_injection(&[web, associated], context(true)),
        Check::warn(
            "injection",
            format!(
                "2 running pod(s), all with credentials: 1 with AWS_WEB_IDENTITY_TOKEN_FILE, 1 with EKS Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI={AGENT}): those use the role of the ServiceAccount's Pod Identity association, not its eks.amazonaws.com/role-arn annotation (the webhook prefers an association)"
            ),
            "to use the annotation's role, delete the association (aws eks list-pod-identity-associations --cluster-name CLUSTER --namespace shop --service-account cart, then aws eks delete-pod-identity-association) and restart the pods; else remove the annotation",
        )
    );
}

#[test]
fn uninjected_pods_are_named_with_what_re_creates_them() {
    let pods = [
        running("web-abc-1", Some(("ReplicaSet", "web-abc")), bare()),
        running("db-0", Some(("StatefulSet", "db")), bare()),
        running("debug", None, bare()),
        running("ok", None, injected(ROLE, "sts.amazonaws.com", false)),
    ];
    let evidence = "3 of 4 running pod(s) have neither AWS_WEB_IDENTITY_TOKEN_FILE nor AWS_CONTAINER_CREDENTIALS_FULL_URI (started before the binding or the webhook): web-abc-1, db-0, debug";
    assert_eq!(
        check_injection(&pods, context(true)),
        Check::fail(
            "injection",
            evidence,
            "restart them so the webhook injects them: kubectl rollout restart deployment/web statefulset/db -n shop; kubectl delete pod -n shop debug and create it again from its manifest",
        )
    );
    assert_eq!(
        check_injection(&pods, context(false)),
        Check::fail(
            "injection",
            evidence,
            "inject their manifests and re-apply: kubectl irsa inject -f MANIFEST | kubectl apply -f -",
        )
    );
}

#[test]
fn pods_with_the_current_binding_pass() {
    let pods = [
        running("web-1", None, injected(ROLE, "sts.amazonaws.com", false)),
        running("api-1", None, injected(ROLE, "sts.amazonaws.com", true)),
        running("cart-1", None, pod_identity()),
        running("bare-1", None, bare()),
    ];
    assert_eq!(
        check_pods(&pods, &binding(ROLE, None), context(true)),
        Check::pass(
            "pods",
            "2 running pod(s) carry the current binding (role, token audience and file)"
        )
    );
    assert_eq!(
        check_pods(&pods[2..], &binding(ROLE, None), context(true)),
        Check::pass("pods", "no running pods with a web identity to compare")
    );
}

#[test]
fn pods_started_before_a_new_binding_are_stale() {
    let pods = [
        running(
            "web-abc-1",
            Some(("ReplicaSet", "web-abc")),
            injected(OLD, "sts.amazonaws.com", false),
        ),
        running(
            "api-1",
            Some(("DaemonSet", "api")),
            injected(ROLE, "vault", true),
        ),
        running("ok", None, injected(ROLE, "sts.amazonaws.com", false)),
    ];
    let evidence = format!(
        "2 of 3 running pod(s) carry an older binding: web-abc-1 (deployment/web): AWS_ROLE_ARN {OLD}, not {ROLE}; api-1 (daemonset/api): token audience vault, not sts.amazonaws.com"
    );
    assert_eq!(
        check_pods(&pods, &binding(ROLE, None), context(true)),
        Check::fail(
            "pods",
            evidence.clone(),
            "re-create them so the webhook injects the current binding: kubectl rollout restart daemonset/api deployment/web -n shop (the webhook never overwrites env: if their manifests set AWS_ROLE_ARN themselves, change it there)",
        )
    );
    assert_eq!(
        check_pods(&pods, &binding(ROLE, None), context(false)),
        Check::fail(
            "pods",
            evidence,
            "set AWS_ROLE_ARN in their manifests to the binding's, or inject the original manifests again: kubectl irsa inject -f MANIFEST | kubectl apply -f -",
        )
    );
}

#[test]
fn a_token_file_without_its_projected_token_differs() {
    let mut spec = injected(ROLE, "sts.amazonaws.com", false);
    spec["volumes"] = json!([]);
    let pod = running("web-1", None, spec);
    let Source::WebIdentity(identity) = credentials::source(&pod) else {
        panic!("web identity expected")
    };
    assert_eq!(
        differences(&identity, &binding(ROLE, None)),
        [
            "AWS_WEB_IDENTITY_TOKEN_FILE /var/run/secrets/eks.amazonaws.com/serviceaccount/token is no projected ServiceAccount token of the pod"
        ]
    );
    let mut unset = identity.clone();
    unset.role_arn = Env::Unset;
    unset.token = Some(Token::Projected { audience: None });
    assert_eq!(
        differences(&unset, &binding(ROLE, None)),
        [
            "no AWS_ROLE_ARN",
            "token audience (the apiserver's), not sts.amazonaws.com"
        ]
    );
    let mut referenced = identity;
    referenced.role_arn = Env::Reference;
    referenced.token = None;
    assert!(differences(&referenced, &binding(ROLE, None)).is_empty());
}

#[test]
fn many_stale_pods_are_counted_past_five() {
    let pods: Vec<Pod> = (0..7)
        .map(|i| {
            running(
                &format!("web-abc-{i}"),
                Some(("ReplicaSet", "web-abc")),
                injected(OLD, "sts.amazonaws.com", false),
            )
        })
        .collect();
    let check = check_pods(&pods, &binding(ROLE, None), context(true));
    assert!(
        check.evidence.ends_with(&format!(
            "web-abc-4 (deployment/web): AWS_ROLE_ARN {OLD}, not {ROLE} and 2 more"
        )),
        "{check:?}"
    );
    assert!(
        check
            .fix
            .unwrap()
            .contains("kubectl rollout restart deployment/web -n shop")
    );
}
