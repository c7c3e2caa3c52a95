//! Per-user RBAC in the fake API server: a user with grants may do exactly what they and the
//! default bindings allow, for resources and non-resource URLs, and `kubectl auth can-i`
//! agrees with the forbidden answers.

mod fake_common;

use fake_common::{Cluster, api_error, client};
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use kube::api::{Api, ListParams};
use tests::fake_kube::{PodPhase, PolicyRule};

fn namespace_admin(cluster: &Cluster) {
    let rules = [
        PolicyRule::resources(
            &["get", "list", "watch"],
            &[""],
            &["pods", "pods/log", "serviceaccounts"],
        ),
        PolicyRule::resources(&["patch"], &[""], &["serviceaccounts"]).named(&["cart"]),
    ];
    cluster.fake.grant("alice", Some("shop"), &rules);
    cluster.fake.add_service_account("shop", "cart", &[]);
    cluster
        .fake
        .add_pod("shop", "web", "cart", PodPhase::Running);
}

#[test]
fn a_namespace_admin_may_do_what_it_was_granted_and_nothing_else() {
    let cluster = Cluster::start();
    namespace_admin(&cluster);
    let out = cluster.ok("get pods -n shop --as alice -o name");
    assert_eq!(out, "pod/web\n");
    let err = cluster.fails("get pods -A --as alice");
    assert_eq!(
        err,
        "Error from server (Forbidden): pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" at the cluster scope\n"
    );
    let err = cluster.fails("run p --image=app:1 -n shop --as alice");
    assert_eq!(
        err,
        "Error from server (Forbidden): pods is forbidden: User \"alice\" cannot create resource \"pods\" in API group \"\" in the namespace \"shop\"\n"
    );
    let err = cluster.fails("annotate sa default -n shop a=b --as alice");
    assert_eq!(
        err,
        "Error from server (Forbidden): serviceaccounts \"default\" is forbidden: User \"alice\" cannot patch resource \"serviceaccounts\" in API group \"\" in the namespace \"shop\"\n"
    );
    assert_eq!(
        cluster.ok("annotate sa cart -n shop a=b --as alice"),
        "serviceaccount/cart annotated\n"
    );
    // Everybody else still may do anything.
    cluster.ok("get pods -A");
}

#[test]
fn auth_can_i_agrees_for_resources_and_paths() {
    let cluster = Cluster::start();
    namespace_admin(&cluster);
    let can_i = |args: &str| {
        let mut words: Vec<&str> = vec!["auth", "can-i"];
        words.extend(args.split_whitespace());
        words.extend(["--as", "alice"]);
        let output = cluster.kubectl(&words);
        (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            output.status.code(),
        )
    };
    assert_eq!(can_i("get pods/log -n shop"), ("yes\n".into(), Some(0)));
    assert_eq!(can_i("create pods -n shop"), ("no\n".into(), Some(1)));
    assert_eq!(
        can_i("create serviceaccounts/token -n shop"),
        ("no\n".into(), Some(1))
    );
    assert_eq!(
        can_i("patch serviceaccount/cart -n shop"),
        ("yes\n".into(), Some(0))
    );
    assert_eq!(
        can_i("patch serviceaccount/default -n shop"),
        ("no\n".into(), Some(1))
    );
    assert_eq!(
        can_i("get /.well-known/openid-configuration"),
        ("no\n".into(), Some(1))
    );
    assert_eq!(can_i("get /version"), ("yes\n".into(), Some(0)));

    let err = cluster.fails("get --raw /.well-known/openid-configuration --as alice");
    assert_eq!(
        err,
        "Error from server (Forbidden): forbidden: User \"alice\" cannot get path \"/.well-known/openid-configuration\"\n"
    );
    let err = cluster.fails("get --raw /openid/v1/jwks --as alice");
    assert_eq!(
        err,
        "Error from server (Forbidden): forbidden: User \"alice\" cannot get path \"/openid/v1/jwks\"\n"
    );

    let discovery = PolicyRule::urls(&["get"], &["/.well-known/*", "/openid/v1/jwks"]);
    cluster.fake.grant("alice", None, &[discovery]);
    assert_eq!(
        can_i("get /.well-known/openid-configuration"),
        ("yes\n".into(), Some(0))
    );
    cluster.ok("get --raw /openid/v1/jwks --as alice");
}

#[test]
fn service_accounts_may_read_the_issuer_documents_by_default() {
    let cluster = Cluster::start();
    cluster
        .fake
        .grant("system:serviceaccount:shop:cart", Some("shop"), &[]);
    let sa = "--as=system:serviceaccount:shop:cart";
    let out = cluster.ok_args(&["get", "--raw", "/.well-known/openid-configuration", sa]);
    assert!(out.contains("\"issuer\""), "{out}");
    let err = cluster.fails_args(&["get", "sa", "-n", "shop", sa]);
    assert_eq!(
        err,
        "Error from server (Forbidden): serviceaccounts is forbidden: User \"system:serviceaccount:shop:cart\" cannot list resource \"serviceaccounts\" in API group \"\" in the namespace \"shop\"\n"
    );
}

#[test]
fn a_limited_user_cannot_impersonate() {
    let cluster = Cluster::start();
    cluster.fake.set_user("alice");
    cluster.fake.grant(
        "alice",
        None,
        &[PolicyRule::resources(&["list"], &[""], &["namespaces"])],
    );
    cluster.ok("get namespaces");
    let err = cluster.fails("get namespaces --as bob");
    assert_eq!(
        err,
        "Error from server (Forbidden): users \"bob\" is forbidden: User \"alice\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope\n"
    );
    cluster.fake.grant(
        "alice",
        None,
        &[PolicyRule::resources(&["impersonate"], &[""], &["users"]).named(&["bob"])],
    );
    // Bob has no grants: RBAC does not govern him, as the fake's users without grants.
    cluster.ok("get namespaces --as bob");
}

#[tokio::test]
async fn kube_rs_sees_the_same_answers_and_reviews_say_which_binding_allowed() {
    let cluster = Cluster::start();
    namespace_admin(&cluster);
    cluster.fake.set_user("alice");
    let client = client(&cluster.fake).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    assert_eq!(
        pods.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );
    let accounts: Api<ServiceAccount> = Api::all(client.clone());
    let (code, reason, message) = api_error(accounts.list(&ListParams::default()).await);
    assert_eq!((code, reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        message,
        "serviceaccounts is forbidden: User \"alice\" cannot list resource \"serviceaccounts\" in API group \"\" at the cluster scope"
    );
    let review = serde_json::json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": "shop", "verb": "get", "resource": "pods", "subresource": "log"}},
    });
    let request = http::Request::post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&review).unwrap())
        .unwrap();
    let answer: serde_json::Value = client.request(request).await.unwrap();
    assert_eq!(answer["status"]["allowed"], true);
    assert_eq!(
        answer["status"]["reason"],
        "RBAC: allowed by RoleBinding \"fake-grant-1/shop\" of Role \"fake-grant-1\" to User \"alice\""
    );
}
