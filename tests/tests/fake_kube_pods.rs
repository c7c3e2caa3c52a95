//! The fake's scheduler and kubelet: several containers with their own outcomes, sidecars
//! that never exit, init containers, the image's user and `runAsNonRoot`, scheduling and
//! start failures, and the events they leave, through kube-rs and the real kubectl.

mod fake_common;

use std::time::Duration;

use fake_common::{
    Cluster, api_error, app, client, condition, container_status, create_pod, pod_events,
    wait_for_pod, waiting_reason,
};
use futures::{AsyncBufReadExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use serde_json::json;
use tests::FakeKube;
use tests::fake_kube::{ContainerScript, PodScript};

#[tokio::test]
async fn the_test_container_exits_while_an_injected_sidecar_keeps_running() {
    let fake = FakeKube::start();
    fake.add_namespace("mesh");
    fake.add_sidecar_injector(Some("mesh"), "istio-proxy");
    fake.script_pod("p", PodScript::succeeds("done\n"));
    let created = create_pod(&fake, "mesh", "p", app("app:1")).await;
    let names: Vec<String> = created
        .spec
        .unwrap()
        .containers
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["app", "istio-proxy"]);
    let pod = wait_for_pod(&fake, "mesh", "p", |p| {
        container_status(p, "app")["state"]["terminated"].is_object()
    });
    assert_eq!(
        pod["status"]["phase"], "Running",
        "the sidecar keeps it running"
    );
    let app = &container_status(&pod, "app")["state"]["terminated"];
    assert_eq!(
        (app["exitCode"].as_i64(), app["reason"].as_str()),
        (Some(0), Some("Completed"))
    );
    assert!(container_status(&pod, "istio-proxy")["state"]["running"].is_object());
    let ready = condition(&pod, "Ready");
    assert_eq!(ready["status"], "False");
    assert_eq!(ready["message"], "containers with unready status: [app]");

    let api: Api<Pod> = Api::namespaced(client(&fake).await, "mesh");
    let (code, reason, message) = api_error(api.logs("p", &LogParams::default()).await);
    assert_eq!((code, reason.as_str()), (400, "BadRequest"));
    assert_eq!(
        message,
        "a container name must be specified for pod p, choose one of: [app istio-proxy]"
    );
    let app_logs = LogParams {
        container: Some("app".into()),
        ..LogParams::default()
    };
    assert_eq!(api.logs("p", &app_logs).await.unwrap(), "done\n");
    let nosuch = LogParams {
        container: Some("nosuch".into()),
        ..LogParams::default()
    };
    let (_, _, message) = api_error(api.logs("p", &nosuch).await);
    assert_eq!(message, "container nosuch is not valid for pod p");
}

#[test]
fn kubectl_shows_a_finished_container_beside_a_sidecar() {
    let cluster = Cluster::start();
    cluster.fake.add_sidecar_injector(None, "linkerd-proxy");
    cluster.fake.script_pod("p", PodScript::succeeds("done\n"));
    cluster.ok("run p --image=app:1 --restart=Never");
    wait_for_pod(&cluster.fake, "default", "p", |p| {
        container_status(p, "p")["state"]["terminated"].is_object()
    });
    let row = cluster.ok("get pod p --no-headers");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[..4], ["p", "1/2", "NotReady", "0"], "{row}");
    assert_eq!(cluster.ok("logs p -c p"), "done\n");
    assert_eq!(cluster.ok("logs p -c linkerd-proxy"), "");
}

#[tokio::test]
async fn follow_streams_until_that_container_exits() {
    let fake = FakeKube::start();
    fake.add_sidecar_injector(None, "istio-proxy");
    let script = PodScript::succeeds("")
        .with_step(Duration::from_millis(200))
        .with_container(
            "app",
            ContainerScript::exits("line\n", 0).with_steps(1, Some(3)),
        );
    fake.script_pod("p", script);
    create_pod(&fake, "default", "p", app("app:1")).await;
    wait_for_pod(&fake, "default", "p", |p| {
        container_status(p, "app")["state"]["running"].is_object()
    });
    let api: Api<Pod> = Api::default_namespaced(client(&fake).await);
    let params = LogParams {
        container: Some("app".into()),
        follow: true,
        ..LogParams::default()
    };
    let stream = api.log_stream("p", &params).await.unwrap();
    let lines: Vec<String> =
        tokio::time::timeout(Duration::from_secs(10), stream.lines().try_collect())
            .await
            .expect("the stream ends when the container exits")
            .unwrap();
    assert_eq!(lines, ["line"]);
    let pod = fake.pod("default", "p").unwrap();
    assert!(container_status(&pod, "app")["state"]["terminated"].is_object());
    assert_eq!(pod["status"]["phase"], "Running");
}

#[tokio::test]
async fn native_sidecars_are_stopped_once_the_containers_are_done() {
    let fake = FakeKube::start();
    fake.script_pod("p", PodScript::succeeds("ok\n"));
    let mut spec = app("app:1");
    spec["initContainers"] =
        json!([{"name": "proxy", "image": "proxy:1", "restartPolicy": "Always"}]);
    create_pod(&fake, "default", "p", spec).await;
    let pod = wait_for_pod(&fake, "default", "p", |p| {
        p["status"]["phase"] == "Succeeded"
    });
    let proxy = &container_status(&pod, "proxy")["state"]["terminated"];
    assert_eq!(
        (proxy["exitCode"].as_i64(), proxy["reason"].as_str()),
        (Some(0), Some("Completed"))
    );
    let events = pod_events(&fake, "p");
    assert!(
        events.contains(&(
            "Normal".into(),
            "Killing".into(),
            "Stopping container proxy".into(),
            1
        )),
        "{events:?}"
    );
    assert!(
        events.contains(&(
            "Normal".into(),
            "Started".into(),
            "Started container proxy".into(),
            1
        )),
        "{events:?}"
    );
}

#[test]
fn a_failed_init_container_fails_the_pod() {
    let cluster = Cluster::start();
    let script =
        PodScript::succeeds("").with_container("migrate", ContainerScript::exits("boom\n", 3));
    cluster.fake.script_pod("p", script);
    let overrides = r#"{"spec": {"initContainers": [{"name": "migrate", "image": "migrate:1"}]}}"#;
    cluster.ok_args(&[
        "run",
        "p",
        "--image=app:1",
        "--restart=Never",
        "--overrides",
        overrides,
    ]);
    let pod = wait_for_pod(&cluster.fake, "default", "p", |p| {
        p["status"]["phase"] == "Failed"
    });
    let migrate = &container_status(&pod, "migrate")["state"]["terminated"];
    assert_eq!(
        (migrate["exitCode"].as_i64(), migrate["reason"].as_str()),
        (Some(3), Some("Error"))
    );
    assert_eq!(waiting_reason(&pod, "p"), "PodInitializing");
    let initialized = condition(&pod, "Initialized");
    assert_eq!(initialized["reason"], "ContainersNotInitialized");
    assert_eq!(
        initialized["message"],
        "containers with incomplete status: [migrate]"
    );
    let cells: Vec<String> = cluster
        .ok("get pod p --no-headers")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(cells[1..3], ["0/1", "Init:Error"]);
    assert_eq!(cluster.ok("logs p -c migrate"), "boom\n");
    let err = cluster.fails("logs p -c p");
    assert_eq!(
        err,
        "Error from server (BadRequest): container \"p\" in pod \"p\" is waiting to start: PodInitializing\n"
    );
}

#[tokio::test]
async fn oom_killed_and_crashing_containers() {
    let fake = FakeKube::start();
    fake.script_pod(
        "oom",
        PodScript::succeeds("").with_container("app", ContainerScript::oom_killed("")),
    );
    create_pod(&fake, "default", "oom", app("app:1")).await;
    let pod = wait_for_pod(&fake, "default", "oom", |p| {
        p["status"]["phase"] == "Failed"
    });
    let app = &container_status(&pod, "app")["state"]["terminated"];
    assert_eq!(
        (app["exitCode"].as_i64(), app["reason"].as_str()),
        (Some(137), Some("OOMKilled"))
    );

    // Under restartPolicy Always the kubelet restarts it, and backs off.
    fake.script_pod("crash", PodScript::fails("", 2));
    let spec = json!({"containers": [{"name": "app", "image": "app:1"}]});
    create_pod(&fake, "default", "crash", spec).await;
    let pod = wait_for_pod(&fake, "default", "crash", |p| {
        waiting_reason(p, "app") == "CrashLoopBackOff"
    });
    let uid = pod["metadata"]["uid"].as_str().unwrap();
    let status = container_status(&pod, "app");
    assert_eq!(
        status["state"]["waiting"]["message"],
        format!("back-off 10s restarting failed container=app pod=crash_default({uid})")
    );
    assert_eq!(status["lastState"]["terminated"]["exitCode"], 2);
    assert_eq!(status["restartCount"], 1);
    assert_eq!(pod["status"]["phase"], "Running");
}

#[tokio::test]
async fn run_as_non_root_with_a_root_image_never_starts() {
    let fake = FakeKube::start();
    let mut spec = app("amazon/aws-cli:2.22.0");
    spec["securityContext"] = json!({"runAsNonRoot": true});
    create_pod(&fake, "default", "root", spec.clone()).await;
    let pod = wait_for_pod(&fake, "default", "root", |p| {
        waiting_reason(p, "app") == "CreateContainerConfigError"
    });
    let uid = pod["metadata"]["uid"].as_str().unwrap();
    let message = format!(
        "container has runAsNonRoot and image will run as root (pod: \"root_default({uid})\", container: app)"
    );
    assert_eq!(
        container_status(&pod, "app")["state"]["waiting"]["message"],
        message
    );
    assert_eq!(pod["status"]["phase"], "Pending");
    let events = pod_events(&fake, "root");
    assert!(
        events.iter().any(|(kind, reason, m, _)| kind == "Warning"
            && reason == "Failed"
            && *m == format!("Error: {message}")),
        "{events:?}"
    );

    spec["containers"][0]["securityContext"] = json!({"runAsUser": 0});
    create_pod(&fake, "default", "zero", spec.clone()).await;
    let pod = wait_for_pod(&fake, "default", "zero", |p| {
        waiting_reason(p, "app") == "CreateContainerConfigError"
    });
    let uid = pod["metadata"]["uid"].as_str().unwrap();
    assert_eq!(
        container_status(&pod, "app")["state"]["waiting"]["message"],
        format!(
            "container's runAsUser breaks non-root policy (pod: \"zero_default({uid})\", container: app)"
        )
    );

    fake.set_image_user("amazon/aws-cli:2.22.0", 1000);
    spec["containers"][0]["securityContext"] = json!({});
    create_pod(&fake, "default", "user", spec).await;
    wait_for_pod(&fake, "default", "user", |p| {
        p["status"]["phase"] == "Succeeded"
    });
}
