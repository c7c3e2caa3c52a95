//! `inject` on manifests: every workload kind, idempotence, existing env, skip-containers,
//! roles from --role-arn, from the cluster, or offline from ServiceAccount files.

mod common;

use common::{Cluster, ROLE, Run, env};
use serde_json::Value;

const TOKEN_FILE: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";

fn workloads() -> String {
    let container = "containers: [{name: app, image: app}]";
    let spec = |indent: &str| format!("{indent}serviceAccountName: cart\n{indent}{container}");
    // Complete objects, as a cluster accepts them (selectors, labels, a schedule).
    let selected = "  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: a}}\n    spec:\n";
    [
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: shop}}\nspec:\n{}", spec("  ")),
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d, namespace: shop}}\nspec:\n{selected}{}", spec("      ")),
        format!("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: s, namespace: shop}}\nspec:\n{selected}{}", spec("      ")),
        format!("apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: ds, namespace: shop}}\nspec:\n{selected}{}", spec("      ")),
        format!("apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {{name: rs, namespace: shop}}\nspec:\n{selected}{}", spec("      ")),
        format!("apiVersion: batch/v1\nkind: Job\nmetadata: {{name: j, namespace: shop}}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n{}", spec("      ")),
        format!("apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: c, namespace: shop}}\nspec:\n  schedule: '0 * * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n{}", spec("          ")),
        format!("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {{name: in-list, namespace: shop}}\n  spec:\n{}", spec("    ")),
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: 80}]}".to_string(),
    ]
    .join("\n---\n")
}

fn inject(cluster: &Cluster, args: &[&str], stdin: &str) -> Run {
    common::with_stdin(
        cluster.plugin(&[&["inject", "-f", "-"], args].concat()),
        stdin,
    )
}

fn documents(yaml: &str) -> Vec<Value> {
    yaml.split("\n---\n")
        .map(|doc| serde_norway::from_str(doc).unwrap())
        .collect()
}

fn pod_specs(documents: &[Value]) -> Vec<&Value> {
    let mut specs = Vec::new();
    for document in documents {
        let spec = match document["kind"].as_str().unwrap() {
            "Pod" => &document["spec"],
            "CronJob" => &document["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            "List" => &document["items"][0]["spec"],
            "Service" => continue,
            _ => &document["spec"]["template"]["spec"],
        };
        specs.push(spec);
    }
    specs
}

#[test]
fn every_workload_kind_gets_the_token_and_others_pass_through() {
    let cluster = Cluster::start();
    let run = inject(&cluster, &["--role-arn", ROLE], &workloads());
    let documents = documents(&run.ok().stdout);
    assert_eq!(documents.len(), 9);
    // What the plugin writes is what the cluster's schema accepts.
    common::kubernetes_validate(&documents);
    let specs = pod_specs(&documents);
    assert_eq!(specs.len(), 8);
    for spec in specs {
        let container = &spec["containers"][0];
        assert_eq!(env(container, "AWS_ROLE_ARN").as_deref(), Some(ROLE));
        assert_eq!(
            env(container, "AWS_WEB_IDENTITY_TOKEN_FILE").as_deref(),
            Some(TOKEN_FILE)
        );
        assert_eq!(
            spec["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["audience"],
            "sts.amazonaws.com"
        );
        assert_eq!(container["volumeMounts"][0]["readOnly"], true);
    }
    let original: Value =
        serde_norway::from_str(workloads().rsplit("\n---\n").next().unwrap()).unwrap();
    assert_eq!(
        documents[8], original,
        "the Service passes through unchanged"
    );
    assert_eq!(
        run.stderr,
        "Note: Service/web: not a workload, left as it is\n"
    );
    assert!(
        cluster.fake.requests().is_empty(),
        "--role-arn needs no cluster"
    );
}

#[test]
fn injecting_twice_changes_nothing() {
    let cluster = Cluster::start();
    let once = inject(
        &cluster,
        &["--role-arn", ROLE, "--credential-process"],
        &workloads(),
    )
    .ok()
    .stdout
    .clone();
    let twice = inject(
        &cluster,
        &["--role-arn", ROLE, "--credential-process"],
        &once,
    )
    .ok()
    .stdout
    .clone();
    assert_eq!(once, twice);
}

/// As the webhook (pkg/handler/handler.go, addEnvToContainer and getContainersToSkip): a
/// container that sets AWS_ROLE_ARN gets neither of the web-identity pair, and
/// skip-containers is read as Go's CSV reader reads it, without trimming: " metrics" is not
/// "metrics".
#[test]
fn existing_env_is_kept_and_skipped_containers_are_left_alone() {
    let cluster = Cluster::start();
    let spaced = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    eks.amazonaws.com/skip-containers: proxy, metrics\nspec:\n  containers:\n  - name: proxy\n  - name: metrics\n";
    let run = inject(&cluster, &["--role-arn", ROLE], spaced);
    let pod: Value = serde_norway::from_str(&run.ok().stdout).unwrap();
    assert_eq!(
        pod["spec"]["containers"][0],
        serde_json::json!({ "name": "proxy" })
    );
    assert_eq!(
        env(&pod["spec"]["containers"][1], "AWS_ROLE_ARN").as_deref(),
        Some(ROLE),
        "the webhook injects \"metrics\" too"
    );
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    eks.amazonaws.com/skip-containers: proxy,metrics\nspec:\n  containers:\n  - name: app\n    env:\n    - {name: AWS_ROLE_ARN, value: mine}\n  - name: proxy\n  - name: metrics\n  initContainers:\n  - name: init\n";
    let run = inject(&cluster, &["--role-arn", ROLE], manifest);
    let pod: Value = serde_norway::from_str(&run.ok().stdout).unwrap();
    assert_eq!(
        pod["spec"]["containers"][0]["env"],
        serde_json::json!([{ "name": "AWS_ROLE_ARN", "value": "mine" }]),
        "neither of the pair when one is set"
    );
    assert_eq!(
        pod["spec"]["containers"][1],
        serde_json::json!({ "name": "proxy" })
    );
    assert_eq!(
        pod["spec"]["containers"][2],
        serde_json::json!({ "name": "metrics" })
    );
    assert_eq!(
        env(
            &pod["spec"]["initContainers"][0],
            "AWS_WEB_IDENTITY_TOKEN_FILE"
        )
        .as_deref(),
        Some(TOKEN_FILE)
    );
}

#[test]
fn roles_come_from_the_service_accounts_in_the_cluster() {
    let cluster = Cluster::start();
    cluster.fake.add_service_account(
        "shop",
        "cart",
        &[
            ("eks.amazonaws.com/role-arn", ROLE),
            ("eks.amazonaws.com/audience", "custom.example.com"),
            ("eks.amazonaws.com/token-expiration", "300"),
        ],
    );
    cluster.fake.add_service_account("shop", "web", &[]);
    let manifests = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: shop}\nspec: {serviceAccountName: cart, containers: [{name: app}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: shop}\nspec: {serviceAccountName: web, containers: [{name: app}]}\n";
    let run = inject(&cluster, &[], manifests);
    let documents = documents(&run.ok().stdout);
    let token =
        &documents[0]["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"];
    assert_eq!(token["audience"], "custom.example.com");
    assert_eq!(
        token["expirationSeconds"], 600,
        "raised to the webhook's minimum"
    );
    assert!(
        documents[1]["spec"].get("volumes").is_none(),
        "unbound: untouched"
    );
    assert_eq!(
        run.stderr,
        "Note: Pod/b: serviceaccount shop/web has no eks.amazonaws.com/role-arn annotation, left as it is\n"
    );
}

/// The whole output for one pod: its own fields first, as written, then the webhook's.
#[test]
fn an_injected_pod_is_exactly_the_manifest_plus_the_webhook_additions() {
    let cluster = Cluster::start();
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  namespace: shop\nspec:\n  serviceAccountName: cart\n  containers:\n  - name: app\n    image: registry.example.com/app:1.0\n";
    let run = inject(&cluster, &["--role-arn", ROLE], manifest);
    assert_eq!(
        run.ok().stdout,
        format!(
            "apiVersion: v1\n\
             kind: Pod\n\
             metadata:\n  name: app\n  namespace: shop\n\
             spec:\n  serviceAccountName: cart\n  containers:\n  \
             - name: app\n    image: registry.example.com/app:1.0\n    \
             env:\n    - name: AWS_ROLE_ARN\n      value: {ROLE}\n    \
             - name: AWS_WEB_IDENTITY_TOKEN_FILE\n      value: {TOKEN_FILE}\n    \
             volumeMounts:\n    - name: aws-iam-token\n      readOnly: true\n      mountPath: /var/run/secrets/eks.amazonaws.com/serviceaccount\n  \
             volumes:\n  - name: aws-iam-token\n    projected:\n      sources:\n      \
             - serviceAccountToken:\n          audience: sts.amazonaws.com\n          expirationSeconds: 86400\n          path: token\n"
        )
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn service_account_files_work_offline_and_credential_process_adds_its_config() {
    let cluster = Cluster::start();
    let accounts = cluster.dir.path().join("accounts.yaml");
    std::fs::write(&accounts, format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: cart\n  namespace: shop\n  annotations:\n    eks.amazonaws.com/role-arn: {ROLE}\n")).unwrap();
    let manifests = cluster.dir.path().join("manifests");
    std::fs::create_dir(&manifests).unwrap();
    std::fs::write(manifests.join("a.yaml"), workloads()).unwrap();
    std::fs::write(manifests.join("notes.txt"), "not a manifest").unwrap();
    let run = Run::from(
        cluster
            .plugin(&[
                "inject",
                "-f",
                manifests.to_str().unwrap(),
                "--service-account-file",
                accounts.to_str().unwrap(),
                "--credential-process",
            ])
            .env("KUBECONFIG", cluster.dir.path().join("no-such-kubeconfig"))
            .output()
            .unwrap(),
    );
    let documents = documents(&run.ok().stdout);
    let config_map = documents.last().unwrap();
    assert_eq!(config_map["kind"], "ConfigMap");
    assert_eq!(config_map["metadata"]["namespace"], "shop");
    assert_eq!(
        config_map["data"]["config"],
        "[default]\ncredential_process = /usr/local/bin/irsa-credential-process\n"
    );
    let spec = pod_specs(&documents)[0];
    assert_eq!(
        env(&spec["containers"][0], "AWS_CONFIG_FILE").as_deref(),
        Some("/var/run/secrets/eks.amazonaws.com/serviceaccount/config")
    );
}

/// Manifests without a namespace go where `kubectl apply -f` puts them: `-n`, else the
/// context's namespace, else `default`; pods and ServiceAccount manifests alike.
#[test]
fn objects_without_a_namespace_share_the_default_namespace() {
    let cluster = Cluster::start();
    let dir = cluster.dir.path();
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  serviceAccountName: cart\n  containers: [{name: app, image: app}]\n";
    let account = format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: cart\n  annotations: {{eks.amazonaws.com/role-arn: \"{ROLE}\"}}\n"
    );
    std::fs::write(dir.join("pod.yaml"), pod).unwrap();
    std::fs::write(dir.join("sa.yaml"), account).unwrap();
    let offline = [
        "inject",
        "-f",
        "pod.yaml",
        "--service-account-file",
        "sa.yaml",
    ];
    for extra in [&["-n", "shop"][..], &["--context", "other"][..], &[][..]] {
        let run = Run::from(
            cluster
                .plugin(&[&offline[..], extra].concat())
                .current_dir(dir)
                .output()
                .unwrap(),
        );
        let documents = documents(&run.ok().stdout);
        let container = &pod_specs(&documents)[0]["containers"][0];
        assert_eq!(
            env(container, "AWS_ROLE_ARN").as_deref(),
            Some(ROLE),
            "{extra:?}: {}",
            run.stderr
        );
        assert_eq!(run.stderr, "", "{extra:?}");
    }
    // From the cluster, the pod's ServiceAccount is looked up in the same namespace.
    cluster
        .fake
        .add_service_account("team-a", "cart", &[("eks.amazonaws.com/role-arn", ROLE)]);
    let run = Run::from(
        cluster
            .plugin(&["inject", "-f", "pod.yaml", "--context", "other"])
            .current_dir(dir)
            .output()
            .unwrap(),
    );
    let documents = documents(&run.ok().stdout);
    assert_eq!(
        env(&pod_specs(&documents)[0]["containers"][0], "AWS_ROLE_ARN").as_deref(),
        Some(ROLE)
    );
}

#[test]
fn bad_input_is_one_line_and_writes_nothing() {
    let cluster = Cluster::start();
    let run = inject(&cluster, &["--role-arn", ROLE], "kind: [broken");
    run.fails(2, "stdin is not valid YAML or JSON");
    assert!(run.stdout.is_empty());
    let run = cluster.run(&["inject", "-f", "/no/such/file.yaml", "--role-arn", ROLE]);
    run.fails(2, "cannot read -f /no/such/file.yaml");
    assert!(run.stdout.is_empty());
    inject(
        &cluster,
        &["--role-arn", "arn:aws:iam::1:role/x"],
        "kind: Pod",
    )
    .fails(2, "invalid role ARN");
}

/// As the webhook (pkg/handler/handler.go): `--region` sets AWS_DEFAULT_REGION and AWS_REGION
/// where neither is set (addEnvToContainer); the pod's own token-expiration annotation wins
/// over the ServiceAccount's and is raised to 600 (parsePodAnnotations); a Windows pod gets the
/// C:\ token path (getPodSpecPatch).
#[test]
fn region_pod_expiration_and_windows_as_the_webhook() {
    let cluster = Cluster::start();
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {eks.amazonaws.com/token-expiration: '300'}\nspec:\n  nodeSelector: {kubernetes.io/os: windows}\n  containers:\n  - name: app\n  - name: own\n    env: [{name: AWS_REGION, value: us-west-2}]\n";
    let run = inject(
        &cluster,
        &["--role-arn", ROLE, "--region", "eu-west-1"],
        manifest,
    );
    let pod: Value = serde_norway::from_str(&run.ok().stdout).unwrap();
    let windows_token = "C:\\var\\run\\secrets\\eks.amazonaws.com\\serviceaccount\\token";
    assert_eq!(
        pod["spec"]["containers"][0]["env"],
        serde_json::json!([
            { "name": "AWS_DEFAULT_REGION", "value": "eu-west-1" },
            { "name": "AWS_REGION", "value": "eu-west-1" },
            { "name": "AWS_ROLE_ARN", "value": ROLE },
            { "name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": windows_token },
        ])
    );
    assert_eq!(
        pod["spec"]["containers"][1]["env"],
        serde_json::json!([
            { "name": "AWS_REGION", "value": "us-west-2" },
            { "name": "AWS_ROLE_ARN", "value": ROLE },
            { "name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": windows_token },
        ])
    );
    let token = &pod["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"];
    assert_eq!(token["expirationSeconds"], 600);
}
