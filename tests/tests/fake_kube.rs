//! Proves the fake Kubernetes API server is faithful: the real `kubectl` on this machine works
//! against it. (`fake_kube_client.rs` does the same with kube-rs.)

mod fake_common;

use std::time::{Duration, Instant};

use fake_common::{Cluster, assert_has};
use serde_json::Value;
use tests::fake_kube::{PodPhase, PodScript};

fn annotation(sa: &Value, key: &str) -> Option<String> {
    sa["metadata"]["annotations"][key]
        .as_str()
        .map(str::to_owned)
}

#[test]
fn version_reports_the_server() {
    let cluster = Cluster::start();
    let out = cluster.ok("version -o json");
    let version: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(version["serverVersion"]["gitVersion"], "v1.33.1");
    assert_eq!(version["serverVersion"]["minor"], "33");
    assert!(cluster.fake.requests().iter().any(|r| r.path == "/version"));
}

#[test]
fn get_service_accounts_across_namespaces() {
    let cluster = Cluster::start();
    let role = [("eks.amazonaws.com/role-arn", "arn:aws:iam::1:role/a")];
    cluster.fake.add_service_account("team-a", "app", &role);
    cluster.fake.add_service_account("team-b", "worker", &[]);
    let out = cluster.ok("get sa -A");
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["NAMESPACE", "NAME", "SECRETS", "AGE"], "{out}");
    assert!(
        lines.iter().any(|l| l[..3] == ["team-a", "app", "0"]),
        "{out}"
    );
    assert!(
        lines.iter().any(|l| l[..3] == ["team-b", "worker", "0"]),
        "{out}"
    );
    // The default ServiceAccounts of default, kube-system, kube-public, kube-node-lease,
    // team-a and team-b, and the two added.
    assert_eq!(lines.len() - 1, 8, "{out}");

    let names = cluster.ok("get sa -A -o name --chunk-size 3");
    assert_eq!(names.lines().count(), 8, "{names}");
    let pages: Vec<_> = cluster
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/serviceaccounts" && r.param("limit").as_deref() == Some("3"))
        .collect();
    assert_eq!(pages.len(), 3, "8 items in pages of 3");
    assert!(pages[1].param("continue").is_some());
}

#[test]
fn get_one_service_account_as_json() {
    let cluster = Cluster::start();
    cluster.fake.add_service_account("ns", "app", &[("a", "b")]);
    let sa = cluster.json("get sa -n ns app -o json");
    assert_eq!(
        (&sa["apiVersion"], &sa["kind"]),
        (&"v1".into(), &"ServiceAccount".into())
    );
    let meta = &sa["metadata"];
    assert_eq!(
        (&meta["name"], &meta["namespace"]),
        (&"app".into(), &"ns".into())
    );
    assert_eq!(meta["uid"].as_str().unwrap().len(), 36);
    assert!(
        meta["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    assert!(meta["creationTimestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(annotation(&sa, "a").as_deref(), Some("b"));
    let err = cluster.fails("get sa -n ns missing");
    assert_has(
        &err,
        "Error from server (NotFound): serviceaccounts \"missing\" not found",
    );
}

#[test]
fn annotate_sets_overwrites_and_removes() {
    let cluster = Cluster::start();
    cluster.fake.add_service_account("default", "app", &[]);
    let key = "eks.amazonaws.com/role-arn";
    let role = || {
        annotation(
            &cluster.fake.service_account("default", "app").unwrap(),
            key,
        )
    };
    let before = cluster.fake.resource_version();
    let out = cluster.ok(&format!("annotate sa app {key}=arn:a"));
    assert_has(&out, "serviceaccount/app annotated");
    assert_eq!(role().as_deref(), Some("arn:a"));
    assert!(cluster.fake.resource_version() > before);
    let patch = cluster
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(
        patch.content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    assert_eq!(
        patch.param("fieldManager").as_deref(),
        Some("kubectl-annotate")
    );

    let err = cluster.fails(&format!("annotate sa app {key}=arn:b"));
    assert_has(&err, "already has a value (arn:a)");
    cluster.ok(&format!("annotate sa app --overwrite {key}=arn:b"));
    assert_eq!(role().as_deref(), Some("arn:b"));
    cluster.ok(&format!("annotate sa app {key}-"));
    assert_eq!(role(), None);

    let err = cluster.fails("annotate sa app bad!key=x");
    assert_has(
        &err,
        "The ServiceAccount \"app\" is invalid: metadata.annotations: Invalid value: \"bad!key\"",
    );
    assert_has(&cluster.fails("annotate sa app -n nowhere a=b"), "NotFound");
}

#[test]
fn forbidden_patch_is_reported_like_rbac() {
    let cluster = Cluster::start();
    cluster.fake.add_service_account("default", "app", &[]);
    cluster.fake.deny("patch", "serviceaccounts");
    let err = cluster.fails("annotate sa app a=b --as jane --as-group devs");
    assert_has(
        &err,
        "Error from server (Forbidden): serviceaccounts \"app\" is forbidden: User \"jane\" cannot \
         patch resource \"serviceaccounts\" in API group \"\" in the namespace \"default\"",
    );
    let patch = cluster
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(patch.impersonate_user.as_deref(), Some("jane"));
    assert_eq!(patch.impersonate_groups, ["devs"]);
}

/// Discovery lists the algorithms of the published keys, sorted, as kube-apiserver's getAlgs
/// does (pkg/serviceaccount/openidmetadata.go).
#[test]
fn discovery_lists_the_algorithms_of_the_keys() {
    let cluster = Cluster::start();
    let algorithms = |cluster: &Cluster| {
        cluster.json("get --raw /.well-known/openid-configuration")
            ["id_token_signing_alg_values_supported"]
            .clone()
    };
    let rsa = cluster.fake.signing_jwk();
    cluster.fake.use_ec_signing_key();
    assert_eq!(algorithms(&cluster), serde_json::json!(["ES256"]));
    cluster.fake.add_jwks_key(rsa.clone());
    cluster.fake.add_jwks_key(rsa);
    assert_eq!(algorithms(&cluster), serde_json::json!(["ES256", "RS256"]));
}

#[test]
fn raw_oidc_documents() {
    use tests::fake_kube::DEFAULT_ISSUER;
    let cluster = Cluster::start();
    let discovery = cluster.json("get --raw /.well-known/openid-configuration");
    assert_eq!(discovery["issuer"], DEFAULT_ISSUER);
    assert_eq!(
        discovery["jwks_uri"],
        format!("{DEFAULT_ISSUER}/openid/v1/jwks")
    );
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(discovery["response_types_supported"][0], "id_token");
    assert_eq!(discovery["subject_types_supported"][0], "public");
    let jwks = cluster.json("get --raw /openid/v1/jwks");
    assert_eq!(
        jwks["keys"],
        serde_json::json!([cluster.fake.signing_jwk()])
    );
    assert_eq!(jwks["keys"][0]["kid"], cluster.fake.signing_key_id());
    assert_eq!(
        (&jwks["keys"][0]["alg"], &jwks["keys"][0]["e"]),
        (&"RS256".into(), &"AQAB".into())
    );

    // Knobs: the issuer byte for byte, rotated keys, a JWKS without the signing key, no OIDC.
    cluster.fake.set_issuer("https://issuer.example/");
    let discovery = cluster.json("get --raw /.well-known/openid-configuration");
    assert_eq!(discovery["issuer"], "https://issuer.example/");
    assert_eq!(
        discovery["jwks_uri"],
        "https://issuer.example/openid/v1/jwks"
    );
    cluster
        .fake
        .add_jwks_key(serde_json::json!({"kty": "RSA", "kid": "old", "n": "AQAB", "e": "AQAB"}));
    cluster.fake.set_signing_key_published(false);
    let jwks = cluster.json("get --raw /openid/v1/jwks");
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kid"], "old");
    cluster.fake.set_oidc_enabled(false);
    assert_has(&cluster.fails("get --raw /openid/v1/jwks"), "NotFound");
}

#[test]
fn webhook_configuration_preloaded() {
    let cluster = Cluster::start();
    assert_has(
        &cluster.kubectl_stderr("get mutatingwebhookconfigurations"),
        "No resources found",
    );
    cluster.fake.preload_pod_identity_webhook();
    let out = cluster.ok("get mutatingwebhookconfigurations");
    let row: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[..2], ["pod-identity-webhook", "1"], "{out}");
    let config = cluster.json("get mutatingwebhookconfiguration pod-identity-webhook -o json");
    assert_eq!(config["apiVersion"], "admissionregistration.k8s.io/v1");
    assert_eq!(config["webhooks"][0]["name"], "iam-for-pods.amazonaws.com");
}

fn wait_for_phase(cluster: &Cluster, pod: &str, phase: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = cluster.ok(&format!("get pod {pod} -o jsonpath={{.status.phase}}"));
        if out == phase {
            return;
        }
        assert!(Instant::now() < deadline, "pod {pod} is {out}, not {phase}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn run_logs_and_delete_a_pod() {
    let cluster = Cluster::start();
    cluster
        .fake
        .script_pod("p", PodScript::succeeds("hello from p\n"));
    let out = cluster.ok("run p --image=busybox --restart=Never -- echo hi");
    assert_has(&out, "pod/p created");
    let pod = cluster.fake.pod("default", "p").unwrap();
    assert_eq!(pod["spec"]["serviceAccountName"], "default");
    assert_eq!(pod["spec"]["containers"][0]["image"], "busybox");
    wait_for_phase(&cluster, "p", "Succeeded");
    let table = cluster.ok("get pods");
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[..4], ["p", "0/1", "Completed", "0"], "{table}");
    assert_eq!(cluster.ok("logs p"), "hello from p\n");
    let out = cluster.ok("delete pod p");
    assert_has(&out, "pod \"p\" deleted");
    assert!(cluster.fake.pod("default", "p").is_none());
}

#[test]
fn pending_pod_logs_fail_like_the_kubelet() {
    let cluster = Cluster::start();
    cluster
        .fake
        .script_next_pod(PodScript::stuck_pending(Some("ErrImagePull")));
    cluster.ok("run stuck --image=nope --restart=Never");
    let status = cluster.ok("get pod stuck --no-headers");
    assert_has(&status, "ErrImagePull");
    // kubelet_pods.go validateContainerLogStatus: ErrImagePull is "image can't be pulled".
    let err = cluster.fails("logs stuck");
    assert_eq!(
        err,
        "Error from server (BadRequest): container \"stuck\" in pod \"stuck\" is waiting to start: image can't be pulled\n"
    );
}

#[test]
fn pods_by_service_account_field_selector() {
    let cluster = Cluster::start();
    cluster.fake.add_pod("ns", "a1", "app", PodPhase::Running);
    cluster.fake.add_pod("ns", "a2", "app", PodPhase::Succeeded);
    cluster.fake.add_pod("ns", "b1", "other", PodPhase::Running);
    let out = cluster.ok("get pods -n ns --field-selector spec.serviceAccountName=app -o name");
    assert_eq!(out, "pod/a1\npod/a2\n");
}

#[test]
fn create_namespace_sent_as_protobuf() {
    let cluster = Cluster::start();
    let out = cluster.ok("create namespace team-a");
    assert_has(&out, "namespace/team-a created");
    let ns = cluster.fake.namespace("team-a").unwrap();
    assert_eq!(ns["status"]["phase"], "Active");
    assert!(cluster.fake.service_account("team-a", "default").is_some());
    let err = cluster.fails("create namespace team-a");
    assert_has(
        &err,
        "(AlreadyExists): namespaces \"team-a\" already exists",
    );
    let err = cluster.fails("create namespace Bad_Name");
    assert_has(&err, "The Namespace \"Bad_Name\" is invalid");
    // The `other` context defaults to namespace team-a.
    cluster.ok("create serviceaccount svc --context other");
    assert!(cluster.fake.service_account("team-a", "svc").is_some());
    let token = cluster.ok("create token svc -n team-a --audience sts.amazonaws.com");
    assert_eq!(token.trim().split('.').count(), 3, "{token}");
}

#[test]
fn wait_watches_and_logs_follow_until_the_pod_ends() {
    let cluster = Cluster::start();
    cluster
        .fake
        .script_next_pod(PodScript::succeeds("line 1\nline 2\n").with_step(Duration::from_secs(1)));
    cluster.ok("run w --image=busybox --restart=Never");
    let out = cluster.ok("wait --for=jsonpath={.status.phase}=Running pod/w --timeout=10s");
    assert_has(&out, "pod/w condition met");
    // `logs -f` returns only when the pod has ended.
    assert_eq!(cluster.ok("logs -f w"), "line 1\nline 2\n");
    let pod = cluster.fake.pod("default", "w").unwrap();
    assert_eq!(pod["status"]["phase"], "Succeeded");
    let requests = cluster.fake.requests();
    let watched = requests
        .iter()
        .any(|r| r.param("watch").as_deref() == Some("true"));
    assert!(watched, "kubectl wait watched the pod");
}

#[test]
fn server_side_apply_conflicts_and_forces() {
    let cluster = Cluster::start();
    cluster.fake.add_service_account("default", "app", &[]);
    let key = "eks.amazonaws.com/role-arn";
    let manifest = cluster.dir.path().join("sa.json");
    let sa = serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "app", "namespace": "default", "annotations": {key: "arn:applied"}}});
    std::fs::write(&manifest, sa.to_string()).unwrap();
    // Without an OpenAPI document kubectl cannot validate client-side: --validate=false.
    let apply = format!(
        "apply --server-side --validate=false -f {}",
        manifest.display()
    );
    assert_has(&cluster.ok(&apply), "serviceaccount/app serverside-applied");
    cluster.ok(&format!("annotate sa app --overwrite {key}=arn:annotated"));
    assert_has(
        &cluster.fails(&apply),
        "Apply failed with 1 conflict: conflict with \"kubectl-annotate\" using v1: \
         .metadata.annotations.eks.amazonaws.com/role-arn",
    );
    cluster.ok(&format!("{apply} --force-conflicts"));
    let sa = cluster.fake.service_account("default", "app").unwrap();
    assert_eq!(annotation(&sa, key).as_deref(), Some("arn:applied"));
    assert_eq!(sa["metadata"]["managedFields"][0]["manager"], "kubectl");
    assert_eq!(sa["metadata"]["managedFields"][0]["operation"], "Apply");
}

#[test]
fn auth_whoami_and_can_i() {
    let cluster = Cluster::start();
    let review = cluster.json("auth whoami -o json");
    let user = &review["status"]["userInfo"]["username"];
    assert_eq!(user, tests::fake_kube::DEFAULT_USER);
    let review = cluster.json("auth whoami --as jane -o json");
    assert_eq!(review["status"]["userInfo"]["username"], "jane");

    assert_eq!(cluster.ok("auth can-i patch serviceaccounts").trim(), "yes");
    cluster.fake.deny("create", "serviceaccounts/token");
    let output = cluster.kubectl(&["auth", "can-i", "create", "sa", "--subresource=token"]);
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "no");
    assert_has(
        &cluster.fails("create token default"),
        "serviceaccounts \"default\" is forbidden: User \"fake-admin\" cannot create resource \
         \"serviceaccounts/token\" in API group \"\" in the namespace \"default\"",
    );
}

#[test]
fn get_thousands_of_service_accounts_quickly() {
    let cluster = Cluster::start();
    for i in 0..5000 {
        cluster
            .fake
            .add_service_account(&format!("ns-{:03}", i % 200), &format!("sa-{i:04}"), &[]);
    }
    cluster.ok("version"); // Warm kubectl's discovery cache.
    cluster.fake.clear_log();
    let started = Instant::now();
    let out = cluster.ok("get sa -A --no-headers");
    let elapsed = started.elapsed();
    assert_eq!(out.lines().count(), 5204);
    let requests = cluster.fake.requests();
    let pages = requests
        .iter()
        .filter(|r| r.path == "/api/v1/serviceaccounts")
        .count();
    assert_eq!(pages, 11, "pages of 500");
    eprintln!("kubectl get sa -A over 5204 ServiceAccounts: {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(10),
        "kubectl get sa -A took {elapsed:?}"
    );
}
