//! Pods that do not get to run, as the scheduler and kubelet report them: unschedulable,
//! image pulls that fail and back off, runtime and mount failures, and the events they leave,
//! read through kube-rs, `kubectl get events`, `kubectl describe` and events.k8s.io.

mod fake_common;

use std::time::Duration;

use fake_common::{
    Cluster, app, assert_has, condition, container_status, create_pod, pod_events, wait_for_pod,
    waiting_reason,
};
use tests::FakeKube;
use tests::fake_kube::{ContainerScript, INSUFFICIENT_CPU, PodScript};

#[test]
fn unschedulable_pods_wait_with_the_schedulers_message_and_event() {
    let cluster = Cluster::start();
    cluster
        .fake
        .script_pod("big", PodScript::unschedulable(INSUFFICIENT_CPU));
    cluster.ok("run big --image=app:1 --restart=Never");
    let pod = cluster.fake.pod("default", "big").unwrap();
    assert_eq!(pod["status"]["phase"], "Pending");
    assert!(pod["spec"]["nodeName"].is_null());
    let scheduled = condition(&pod, "PodScheduled");
    assert_eq!(scheduled["status"], "False");
    assert_eq!(scheduled["reason"], "Unschedulable");
    assert_eq!(scheduled["message"], INSUFFICIENT_CPU);
    assert!(pod["status"]["containerStatuses"].is_null());

    let out = cluster.ok("get events --field-selector involvedObject.name=big");
    let lines: Vec<&str> = out.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        "{out}"
    );
    assert_has(
        lines[1],
        &format!("Warning   FailedScheduling   pod/big   {INSUFFICIENT_CPU}"),
    );
    assert_eq!(lines.len(), 2, "{out}");
    // A pod no node has accepted has no log yet.
    assert_eq!(cluster.ok("logs big"), "");
}

#[tokio::test]
async fn image_pulls_fail_and_back_off_as_the_kubelet_retries() {
    let fake = FakeKube::start();
    let script =
        PodScript::succeeds("").with_container("app", ContainerScript::image_pull_fails(None));
    fake.script_pod("p", script.with_step(Duration::from_millis(50)));
    create_pod(&fake, "default", "p", app("nope:1")).await;
    let error = "rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/nope:1\": failed to resolve reference \"docker.io/library/nope:1\": docker.io/library/nope:1: not found";
    let pod = wait_for_pod(&fake, "default", "p", |p| {
        waiting_reason(p, "app") == "ErrImagePull"
    });
    assert_eq!(
        container_status(&pod, "app")["state"]["waiting"]["message"],
        error
    );
    let pod = wait_for_pod(&fake, "default", "p", |p| {
        waiting_reason(p, "app") == "ImagePullBackOff"
    });
    assert_eq!(
        container_status(&pod, "app")["state"]["waiting"]["message"],
        format!("Back-off pulling image \"nope:1\": ErrImagePull: {error}")
    );
    wait_for_pod(&fake, "default", "p", |_| {
        pod_events(&fake, "p").iter().any(|(_, reason, m, count)| {
            reason == "BackOff" && *count >= 2 && m == "Back-off pulling image \"nope:1\""
        })
    });
    let events = pod_events(&fake, "p");
    let failed = |m: &str| {
        events
            .iter()
            .any(|(k, r, message, _)| k == "Warning" && r == "Failed" && message == m)
    };
    assert!(
        failed(&format!("Failed to pull image \"nope:1\": {error}")),
        "{events:?}"
    );
    assert!(
        failed("Error: ErrImagePull") && failed("Error: ImagePullBackOff"),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|(_, r, m, _)| r == "Pulling" && m == "Pulling image \"nope:1\"")
    );
    // A pod scripted to stay in back-off says the same.
    fake.script_pod("q", PodScript::stuck_pending(Some("ImagePullBackOff")));
    let pod = create_pod(&fake, "default", "q", app("nope:1")).await;
    let waiting = &pod.status.unwrap().container_statuses.unwrap()[0];
    let waiting = waiting.state.as_ref().unwrap().waiting.as_ref().unwrap();
    assert_eq!(
        waiting.message.as_deref(),
        Some(format!("Back-off pulling image \"nope:1\": ErrImagePull: {error}").as_str())
    );
}

#[tokio::test]
async fn create_errors_and_failed_mounts_say_why() {
    let fake = FakeKube::start();
    let error = "failed to create containerd task: failed to create shim task: OCI runtime create failed: unable to start container process: exec: \"aws\": executable file not found in $PATH: unknown";
    fake.script_pod(
        "p",
        PodScript::succeeds("").with_container("app", ContainerScript::create_fails(error)),
    );
    create_pod(&fake, "default", "p", app("app:1")).await;
    let pod = wait_for_pod(&fake, "default", "p", |p| {
        waiting_reason(p, "app") == "CreateContainerError"
    });
    assert_eq!(
        container_status(&pod, "app")["state"]["waiting"]["message"],
        error
    );
    assert!(
        pod_events(&fake, "p")
            .iter()
            .any(|(_, r, m, _)| r == "Failed" && *m == format!("Error: {error}"))
    );

    fake.script_pod(
        "m",
        PodScript::failed_mount("creds", "secret \"creds\" not found"),
    );
    create_pod(&fake, "default", "m", app("app:1")).await;
    let pod = wait_for_pod(&fake, "default", "m", |_| {
        !pod_events(&fake, "m")
            .iter()
            .all(|(_, r, _, _)| r != "FailedMount")
    });
    assert_eq!(waiting_reason(&pod, "app"), "ContainerCreating");
    assert_eq!(
        condition(&pod, "PodReadyToStartContainers")["status"],
        "False"
    );
    let events = pod_events(&fake, "m");
    assert!(
        events.contains(&(
            "Warning".into(),
            "FailedMount".into(),
            "MountVolume.SetUp failed for volume \"creds\" : secret \"creds\" not found".into(),
            1
        )),
        "{events:?}"
    );
}

#[test]
fn kubectl_describes_pods_with_their_events_and_events_k8s_io_lists_them() {
    let cluster = Cluster::start();
    cluster.fake.script_pod("p", PodScript::succeeds("hi\n"));
    cluster.ok("run p --image=app:1 --restart=Never");
    wait_for_pod(&cluster.fake, "default", "p", |p| {
        p["status"]["phase"] == "Succeeded"
    });
    let out = cluster.ok("describe pod p");
    assert_has(&out, "Status:           Succeeded");
    assert_has(&out, "Successfully assigned default/p to fake-node");
    assert_has(
        &out,
        "Container image \"app:1\" already present on machine and can be accessed by the pod",
    );
    assert_has(&out, "Created container: p");
    assert_has(&out, "Started container p");

    let out = cluster.ok("get events -o wide --field-selector reason=Started");
    assert_has(&out, "spec.containers{p}");
    assert_has(&out, "kubelet, fake-node");
    let list = cluster.json("get --raw /apis/events.k8s.io/v1/namespaces/default/events?fieldSelector=regarding.name=p,reason=Scheduled");
    let item = &list["items"][0];
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(item["reportingController"], "default-scheduler");
    assert_eq!(item["action"], "Scheduling");
    assert_eq!(item["note"], "Successfully assigned default/p to fake-node");
    assert_eq!(item["regarding"]["kind"], "Pod");
}

#[tokio::test]
async fn events_are_watched_by_field_selector() {
    use futures::{StreamExt, TryStreamExt};
    use k8s_openapi::api::core::v1::Event;
    use kube::api::{Api, WatchEvent, WatchParams};

    let fake = FakeKube::start();
    let api: Api<Event> = Api::default_namespaced(fake_common::client(&fake).await);
    let params = WatchParams::default().fields("involvedObject.name=w,reason=Started");
    let mut stream = api.watch(&params, "0").await.unwrap().boxed();
    fake.script_pod("w", PodScript::succeeds(""));
    create_pod(&fake, "default", "w", app("app:1")).await;
    let next = tokio::time::timeout(Duration::from_secs(5), stream.try_next()).await;
    let Some(WatchEvent::Added(event)) = next.expect("an event in time").unwrap() else {
        panic!("not an added event");
    };
    assert_eq!(event.message.as_deref(), Some("Started container app"));
    assert_eq!(
        event.involved_object.field_path.as_deref(),
        Some("spec.containers{app}")
    );
    assert_eq!(event.source.unwrap().component.as_deref(), Some("kubelet"));
}

#[test]
fn kubectl_events_lists_a_pods_events() {
    let cluster = Cluster::start();
    cluster.fake.script_pod("p", PodScript::succeeds(""));
    cluster.ok("run p --image=app:1 --restart=Never");
    wait_for_pod(&cluster.fake, "default", "p", |p| {
        p["status"]["phase"] == "Succeeded"
    });
    let out = cluster.ok("events --for pod/p");
    let rows: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        "{out}"
    );
    let scheduled = rows
        .iter()
        .find(|r| r.get(2) == Some(&"Scheduled"))
        .expect(&out);
    assert_eq!(
        scheduled[1..].join(" "),
        "Normal Scheduled Pod/p Successfully assigned default/p to fake-node"
    );
}
