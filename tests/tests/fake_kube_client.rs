//! Proves the fake Kubernetes API server is faithful to kube-rs: pagination, patches,
//! server-side apply, dry runs, TokenRequest, errors, pods with watch and logs.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use futures::{StreamExt, TryStreamExt};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube::api::{WatchEvent, WatchParams};
use serde_json::{Value, json};
use sha2::Digest as _;
mod fake_common;

use fake_common::{api_error, client};
use tests::FakeKube;
use tests::fake_kube::{DEFAULT_ISSUER, Injection, PodScript};

const ROLE_KEY: &str = "eks.amazonaws.com/role-arn";

fn ann(sa: &ServiceAccount, key: &str) -> Option<String> {
    sa.metadata.annotations.as_ref()?.get(key).cloned()
}

fn rv(sa: &ServiceAccount) -> u64 {
    sa.metadata
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap()
}

fn named<T: Default + kube::Resource>(name: &str) -> T {
    let mut object = T::default();
    object.meta_mut().name = Some(name.into());
    object
}

fn annotations_patch(annotations: Value) -> Patch<Value> {
    Patch::Merge(json!({"metadata": {"annotations": annotations}}))
}

#[tokio::test]
async fn lists_thousands_of_service_accounts_in_pages() {
    let fake = FakeKube::start();
    for i in 0..5000 {
        let (ns, name) = (format!("ns-{:03}", i % 200), format!("sa-{i:04}"));
        fake.add_service_account(&ns, &name, &[(ROLE_KEY, "arn:aws:iam::1:role/r")]);
    }
    let client = client(&fake).await;
    let api: Api<ServiceAccount> = Api::all(client.clone());
    fake.clear_log();
    let started = Instant::now();
    let (mut items, mut remaining) = (Vec::new(), Vec::new());
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api.list(&params).await.unwrap();
        items.extend(page.items);
        remaining.push(page.metadata.remaining_item_count);
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => break,
        }
    }
    let elapsed = started.elapsed();
    eprintln!("kube-rs list of 5204 ServiceAccounts in pages of 500: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "listing took {elapsed:?}");
    // 5000 + a default ServiceAccount in each of 200 + 4 namespaces.
    assert_eq!(items.len(), 5204);
    assert_eq!(fake.requests().len(), 11);
    assert_eq!(remaining[0], Some(4704));
    assert_eq!(*remaining.last().unwrap(), None);
    // Namespace then name order, like etcd keys.
    let listed: Vec<String> = items
        .iter()
        .map(|sa| {
            format!(
                "{}/{}",
                sa.metadata.namespace.as_deref().unwrap(),
                sa.metadata.name.as_deref().unwrap()
            )
        })
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted);
    assert_eq!(listed[0], "default/default");

    let one_ns: Api<ServiceAccount> = Api::namespaced(client, "ns-007");
    let page = one_ns.list(&ListParams::default().limit(10)).await.unwrap();
    assert_eq!(page.items.len(), 10);
    assert_eq!(page.metadata.remaining_item_count, Some(16));
    let token = page.metadata.continue_.unwrap();
    let rest = one_ns
        .list(&ListParams::default().continue_token(&token))
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 16);
    let in_ns = |sa: &ServiceAccount| sa.metadata.namespace.as_deref() == Some("ns-007");
    assert!(rest.items.iter().all(in_ns));
}

#[tokio::test]
async fn patches_merge_json_strategic_and_apply() {
    let fake = FakeKube::start();
    fake.add_service_account("team-a", "app", &[("keep", "me")]);
    let client = client(&fake).await;
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), "team-a");
    let plain = PatchParams::default();
    let rv0 = rv(&api.get("app").await.unwrap());

    let merged = api
        .patch(
            "app",
            &plain,
            &annotations_patch(json!({ROLE_KEY: "arn:1", "keep": null})),
        )
        .await
        .unwrap();
    assert_eq!(ann(&merged, ROLE_KEY).as_deref(), Some("arn:1"));
    assert_eq!(ann(&merged, "keep"), None);
    assert!(rv(&merged) > rv0);
    // A no-op keeps the resource version, as the apiserver does.
    let same = api
        .patch(
            "app",
            &plain,
            &annotations_patch(json!({ROLE_KEY: "arn:1"})),
        )
        .await
        .unwrap();
    assert_eq!(rv(&same), rv(&merged));

    let strategic = Patch::Strategic(json!({"metadata": {"annotations": {"s": "1"}}}));
    let patched = api.patch("app", &plain, &strategic).await.unwrap();
    assert_eq!(ann(&patched, "s").as_deref(), Some("1"));

    // kube's Patch::Json needs the json-patch crate; send the same request through the client.
    let ops = json!([
        {"op": "replace", "path": "/metadata/annotations/eks.amazonaws.com~1role-arn", "value": "arn:2"},
        {"op": "add", "path": "/metadata/annotations/eks.amazonaws.com~1audience", "value": "sts"},
        {"op": "remove", "path": "/metadata/annotations/s"},
    ]);
    let request = http::Request::patch("/api/v1/namespaces/team-a/serviceaccounts/app")
        .header("content-type", "application/json-patch+json")
        .body(serde_json::to_vec(&ops).unwrap())
        .unwrap();
    let patched: ServiceAccount = client.request(request).await.unwrap();
    assert_eq!(ann(&patched, ROLE_KEY).as_deref(), Some("arn:2"));
    assert_eq!(
        ann(&patched, "eks.amazonaws.com/audience").as_deref(),
        Some("sts")
    );
    assert_eq!(ann(&patched, "s"), None);

    // Server-side apply: the earlier patches (manager "": kube-rs sends no User-Agent) own
    // role-arn, so changing it conflicts unless forced.
    let applied = json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "app", "annotations": {ROLE_KEY: "arn:3"}}});
    let params = PatchParams::apply("kubectl-irsa");
    let (code, reason, message) =
        api_error(api.patch("app", &params, &Patch::Apply(&applied)).await);
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    assert!(
        message.contains(
            "conflict with \"\" using v1: .metadata.annotations.eks.amazonaws.com/role-arn"
        ),
        "{message}"
    );
    let forced = api
        .patch("app", &params.clone().force(), &Patch::Apply(&applied))
        .await
        .unwrap();
    assert_eq!(ann(&forced, ROLE_KEY).as_deref(), Some("arn:3"));
    // Applying without the annotation gives it up: it is removed; other owners' fields stay.
    let without =
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app"}});
    let released = api
        .patch("app", &params, &Patch::Apply(&without))
        .await
        .unwrap();
    assert_eq!(ann(&released, ROLE_KEY), None);
    assert_eq!(
        ann(&released, "eks.amazonaws.com/audience").as_deref(),
        Some("sts")
    );
    // Applying to a missing object creates it.
    let new = json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "fresh", "annotations": {ROLE_KEY: "arn:4"}}});
    api.patch("fresh", &params, &Patch::Apply(&new))
        .await
        .unwrap();
    assert_eq!(
        fake.service_account("team-a", "fresh").unwrap()["metadata"]["annotations"][ROLE_KEY],
        "arn:4"
    );
    // Apply without a field manager is refused, as by the apiserver.
    let request = http::Request::patch("/api/v1/namespaces/team-a/serviceaccounts/app")
        .header("content-type", "application/apply-patch+yaml")
        .body(serde_json::to_vec(&without).unwrap())
        .unwrap();
    let (code, reason, _) = api_error(client.request::<ServiceAccount>(request).await);
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
}

#[tokio::test]
async fn dry_runs_change_nothing() {
    let fake = FakeKube::start();
    fake.add_service_account("default", "app", &[]);
    let api: Api<ServiceAccount> = Api::default_namespaced(client(&fake).await);
    let rv = fake.resource_version();
    let dry = PatchParams {
        dry_run: true,
        ..PatchParams::default()
    };
    let answer = api
        .patch("app", &dry, &annotations_patch(json!({ROLE_KEY: "arn:1"})))
        .await
        .unwrap();
    assert_eq!(ann(&answer, ROLE_KEY).as_deref(), Some("arn:1"));
    let post = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let created = api
        .create(&post, &named::<ServiceAccount>("new"))
        .await
        .unwrap();
    assert_eq!(created.metadata.name.as_deref(), Some("new"));
    api.delete(
        "app",
        &DeleteParams {
            dry_run: true,
            ..DeleteParams::default()
        },
    )
    .await
    .unwrap();

    assert_eq!(fake.resource_version(), rv);
    assert!(fake.service_account("default", "new").is_none());
    assert_eq!(ann(&api.get("app").await.unwrap(), ROLE_KEY), None);
    let writes: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert_eq!(writes.len(), 3);
    // kube-rs sends dryRun in the query, except for deletes (in the DeleteOptions body).
    let in_query = writes.iter().filter(|r| r.method != "DELETE");
    assert!(
        in_query
            .into_iter()
            .all(|r| r.param("dryRun").as_deref() == Some("All"))
    );
}

#[tokio::test]
async fn token_request_verifies_against_the_served_jwks() {
    let fake = FakeKube::start();
    fake.add_service_account("team-a", "app", &[]);
    let client = client(&fake).await;
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), "team-a");
    let spec = TokenRequestSpec {
        audiences: vec!["sts.amazonaws.com".into()],
        expiration_seconds: Some(3600),
        ..TokenRequestSpec::default()
    };
    let request = TokenRequest {
        spec,
        ..TokenRequest::default()
    };
    let pp = PostParams::default();
    let answer = api
        .create_token_request("app", &pp, &request)
        .await
        .unwrap();
    let token = answer.status.unwrap().token;
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let kid = header.kid.unwrap();
    assert_eq!(kid, fake.signing_key_id());

    let jwks = http::Request::get("/openid/v1/jwks")
        .body(Vec::new())
        .unwrap();
    let jwks: Value = serde_json::from_str(&client.request_text(jwks).await.unwrap()).unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap();
    let (n, e) = (jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap());
    let key = DecodingKey::from_rsa_components(n, e).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["sts.amazonaws.com"]);
    validation.set_issuer(&[DEFAULT_ISSUER]);
    let claims = jsonwebtoken::decode::<Value>(&token, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], "system:serviceaccount:team-a:app");
    assert_eq!(claims["kubernetes.io"]["namespace"], "team-a");
    assert_eq!(claims["kubernetes.io"]["serviceaccount"]["name"], "app");
    let uid = fake.service_account("team-a", "app").unwrap()["metadata"]["uid"].clone();
    assert_eq!(claims["kubernetes.io"]["serviceaccount"]["uid"], uid);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(claims["nbf"], claims["iat"]);

    // The kid is the apiserver's: base64url(SHA-256(DER SubjectPublicKeyInfo)).
    let pem = fake.signing_public_key_pem();
    let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(der).unwrap();
    assert_eq!(kid, URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&der)));

    let (code, reason, message) =
        api_error(api.create_token_request("missing", &pp, &request).await);
    assert_eq!((code, reason.as_str()), (404, "NotFound"));
    assert_eq!(message, "serviceaccounts \"missing\" not found");
    let spec = TokenRequestSpec {
        expiration_seconds: Some(60),
        ..TokenRequestSpec::default()
    };
    let short = TokenRequest {
        spec,
        ..TokenRequest::default()
    };
    let (code, _, message) = api_error(api.create_token_request("app", &pp, &short).await);
    assert_eq!(code, 422);
    let expected = "TokenRequest.authentication.k8s.io \"app\" is invalid: spec.expirationSeconds: \
                    Invalid value: 60: may not specify a duration less than 10 minutes";
    assert_eq!(message, expected);
}

#[tokio::test]
async fn errors_surface_as_api_errors() {
    let fake = FakeKube::start();
    fake.add_service_account("default", "app", &[]);
    let client = client(&fake).await;
    let api: Api<ServiceAccount> = Api::default_namespaced(client.clone());
    let pp = PostParams::default();

    let (code, reason, message) = api_error(api.get("nope").await);
    assert_eq!((code, reason.as_str()), (404, "NotFound"));
    assert_eq!(message, "serviceaccounts \"nope\" not found");

    let (code, reason, message) = api_error(api.create(&pp, &named("app")).await);
    assert_eq!((code, reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(message, "serviceaccounts \"app\" already exists");

    let (code, reason, message) = api_error(api.create(&pp, &named("Bad_Name")).await);
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    let expected = "ServiceAccount \"Bad_Name\" is invalid: metadata.name: Invalid value: \
                    \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of";
    assert!(message.starts_with(expected), "{message}");

    fake.deny("patch", "serviceaccounts");
    let patch = annotations_patch(json!({"a": "b"}));
    let (code, reason, message) =
        api_error(api.patch("app", &PatchParams::default(), &patch).await);
    assert_eq!((code, reason.as_str()), (403, "Forbidden"));
    let expected = "serviceaccounts \"app\" is forbidden: User \"fake-admin\" cannot patch \
                    resource \"serviceaccounts\" in API group \"\" in the namespace \"default\"";
    assert_eq!(message, expected);
    fake.deny("list", "serviceaccounts");
    let all: Api<ServiceAccount> = Api::all(client.clone());
    let (code, _, message) = api_error(all.list(&ListParams::default()).await);
    assert_eq!(code, 403);
    let expected = "serviceaccounts is forbidden: User \"fake-admin\" cannot list resource \
                    \"serviceaccounts\" in API group \"\" at the cluster scope";
    assert_eq!(message, expected);

    let ghost: Api<ServiceAccount> = Api::namespaced(client.clone(), "ghost");
    let (code, _, message) = api_error(ghost.create(&pp, &named("x")).await);
    assert_eq!(
        (code, message.as_str()),
        (404, "namespaces \"ghost\" not found")
    );

    let namespaces: Api<Namespace> = Api::all(client);
    namespaces.create(&pp, &named("team-b")).await.unwrap();
    let phase = namespaces
        .get("team-b")
        .await
        .unwrap()
        .status
        .unwrap()
        .phase;
    assert_eq!(phase.as_deref(), Some("Active"));
}

#[tokio::test]
async fn pods_run_through_their_script_with_watch_and_logs() {
    let fake = FakeKube::start();
    fake.preload_pod_identity_webhook();
    fake.add_service_account("default", "app", &[(ROLE_KEY, "arn:aws:iam::1:role/app")]);
    fake.script_pod("probe", PodScript::succeeds("identity ok\n"));
    let api: Api<Pod> = Api::default_namespaced(client(&fake).await);
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "probe"},
        "spec": {"serviceAccountName": "app", "restartPolicy": "Never",
                 "containers": [{"name": "c", "image": "amazon/aws-cli"}]},
    }))
    .unwrap();
    let watch = WatchParams::default().fields("metadata.name=probe");
    let mut stream = api.watch(&watch, "0").await.unwrap().boxed();
    let created = api.create(&PostParams::default(), &pod).await.unwrap();
    let env = created.spec.unwrap().containers[0].env.clone().unwrap();
    let value = |name: &str| {
        env.iter()
            .find(|e| e.name == name)
            .and_then(|e| e.value.clone())
    };
    assert_eq!(
        value("AWS_ROLE_ARN").as_deref(),
        Some("arn:aws:iam::1:role/app")
    );
    let token_file = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
    assert_eq!(
        value("AWS_WEB_IDENTITY_TOKEN_FILE").as_deref(),
        Some(token_file)
    );

    let mut phases = Vec::new();
    while phases.last().map(String::as_str) != Some("Succeeded") {
        let next = tokio::time::timeout(Duration::from_secs(5), stream.try_next()).await;
        let event = next
            .expect("a watch event in time")
            .unwrap()
            .expect("an open stream");
        if let WatchEvent::Added(pod) | WatchEvent::Modified(pod) = event {
            phases.push(pod.status.unwrap().phase.unwrap());
        }
    }
    assert_eq!(phases, ["Pending", "Running", "Succeeded"]);
    assert_eq!(
        api.logs("probe", &LogParams::default()).await.unwrap(),
        "identity ok\n"
    );
    let by_sa = ListParams::default().fields("spec.serviceAccountName=app");
    assert_eq!(api.list(&by_sa).await.unwrap().items.len(), 1);
    api.delete("probe", &DeleteParams::default()).await.unwrap();
    assert!(fake.pod("default", "probe").is_none());

    // Injection can be turned off; a pending pod has no logs yet.
    fake.script_next_pod(PodScript::stuck_pending(None).with_injection(Injection::Never));
    let mut pod = pod;
    pod.metadata.name = Some("stuck".into());
    let created = api.create(&PostParams::default(), &pod).await.unwrap();
    assert!(created.spec.unwrap().containers[0].env.is_none());
    let (code, _, message) = api_error(api.logs("stuck", &LogParams::default()).await);
    assert_eq!(code, 400);
    assert_eq!(
        message,
        "container \"c\" in pod \"stuck\" is waiting to start: ContainerCreating"
    );
}
