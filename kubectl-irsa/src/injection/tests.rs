//! Each case follows pkg/handler/handler.go of aws/amazon-eks-pod-identity-webhook (at
//! 3bf80a34): addEnvToContainer for the env, getPodSpecPatch for the volume, the mounts and
//! the Windows path, getContainersToSkip for the annotation.

use super::*;

const ROLE: &str = "arn:aws:iam::123456789012:role/cart";

fn injection(credential_process: bool) -> Injection {
    Injection {
        role_arn: ROLE.into(),
        audience: "sts.amazonaws.com".into(),
        expiration_seconds: 86400,
        sts_regional_endpoints: true,
        region: None,
        credential_process,
        serve: None,
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// addEnvToContainer: AWS_STS_REGIONAL_ENDPOINTS, then the region pair, then the web-identity
/// pair; a pair is added only when neither of its variables is set.
#[test]
fn env_in_the_webhooks_order_and_pairs_only_when_unset() {
    let mut spec = json!({ "containers": [
        { "name": "plain" },
        { "name": "mine", "env": [{ "name": "AWS_ROLE_ARN", "value": "mine" }] },
        { "name": "region", "env": [{ "name": "AWS_DEFAULT_REGION", "value": "us-west-2" }] },
    ]});
    let mut with_region = injection(false);
    with_region.region = Some("eu-west-1".into());
    inject(&mut spec, &with_region, &[]);
    let token = json!({ "name": TOKEN_FILE_ENV, "value": format!("{MOUNT_PATH}/token") });
    let role = json!({ "name": "AWS_ROLE_ARN", "value": ROLE });
    let sts = json!({ "name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional" });
    let regions = [
        json!({ "name": "AWS_DEFAULT_REGION", "value": "eu-west-1" }),
        json!({ "name": "AWS_REGION", "value": "eu-west-1" }),
    ];
    assert_eq!(
        spec["containers"][0]["env"],
        json!([sts, regions[0], regions[1], role, token])
    );
    // AWS_ROLE_ARN alone is there: the webhook adds neither of the pair.
    assert_eq!(
        spec["containers"][1]["env"],
        json!([{ "name": "AWS_ROLE_ARN", "value": "mine" }, sts, regions[0], regions[1]])
    );
    // One region variable is there: neither region variable is added.
    assert_eq!(
        spec["containers"][2]["env"],
        json!([{ "name": "AWS_DEFAULT_REGION", "value": "us-west-2" }, sts, role, token])
    );
}

/// getPodSpecPatch: the volume goes first (`/spec/volumes/0`) unless one of its name exists;
/// a container's mount is added unless it mounts a volume of that name.
#[test]
fn the_volume_goes_first_and_mounts_are_found_by_name() {
    let mut spec = json!({
        "containers": [
            { "name": "app", "volumeMounts": [{ "name": "data", "mountPath": "/data" }] },
            { "name": "own", "volumeMounts": [{ "name": VOLUME, "mountPath": "/elsewhere" }] },
        ],
        "volumes": [{ "name": "data", "emptyDir": {} }],
    });
    inject(&mut spec, &injection(false), &[]);
    assert_eq!(spec["volumes"][0]["name"], VOLUME);
    assert_eq!(spec["volumes"][1]["name"], "data");
    assert_eq!(
        spec["containers"][0]["volumeMounts"][1],
        json!({ "name": VOLUME, "readOnly": true, "mountPath": MOUNT_PATH })
    );
    assert_eq!(
        spec["containers"][1]["volumeMounts"],
        json!([{ "name": VOLUME, "mountPath": "/elsewhere" }])
    );
    let once = spec.clone();
    inject(&mut spec, &injection(false), &[]);
    assert_eq!(spec, once, "injecting twice changes nothing");
}

/// getPodSpecPatch: a `windows` node selector (or the beta one) makes the token path C:\...
#[test]
fn windows_pods_get_the_windows_token_path() {
    for key in ["kubernetes.io/os", "beta.kubernetes.io/os"] {
        let mut spec =
            json!({ "nodeSelector": { key: "windows" }, "containers": [{ "name": "app" }] });
        inject(&mut spec, &injection(false), &[]);
        assert_eq!(
            spec["containers"][0]["env"][2],
            json!({ "name": TOKEN_FILE_ENV, "value": "C:\\var\\run\\secrets\\eks.amazonaws.com\\serviceaccount\\token" })
        );
    }
}

/// getContainersToSkip: the first record of Go's encoding/csv reader, untrimmed; an error
/// skips nothing.
#[test]
fn skip_containers_reads_as_gos_csv() {
    assert_eq!(
        skip_containers("proxy,metrics"),
        names(&["proxy", "metrics"])
    );
    assert_eq!(
        skip_containers("proxy, metrics"),
        names(&["proxy", " metrics"])
    );
    assert_eq!(skip_containers("\"a,b\",c"), names(&["a,b", "c"]));
    assert_eq!(skip_containers("a\nb"), names(&["a"]));
    assert_eq!(skip_containers("a\"b"), Vec::<String>::new());
    assert_eq!(skip_containers("\"open"), Vec::<String>::new());
    assert_eq!(skip_containers(""), names(&[""]));
}

#[test]
fn skipped_containers_are_left_as_they_are() {
    let mut spec = json!({
        "containers": [{ "name": "app" }, { "name": "proxy", "image": "proxy" }],
        "initContainers": [{ "name": "init", "env": null }],
    });
    inject(&mut spec, &injection(false), &names(&["proxy"]));
    assert_eq!(
        spec["containers"][1],
        json!({ "name": "proxy", "image": "proxy" })
    );
    assert_eq!(spec["initContainers"][0]["env"][1]["name"], "AWS_ROLE_ARN");
}

#[test]
fn credential_process_projects_the_config_and_points_at_it() {
    let mut spec = json!({ "containers": [{ "name": "app" }] });
    inject(&mut spec, &injection(true), &[]);
    assert_eq!(
        spec["volumes"][0]["projected"]["sources"][1],
        json!({ "configMap": { "name": HELPER_CONFIG_MAP, "items": [{ "key": "config", "path": "config" }] } })
    );
    let env = spec["containers"][0]["env"].as_array().unwrap();
    assert!(
        env.contains(
            &json!({ "name": "AWS_CONFIG_FILE", "value": format!("{MOUNT_PATH}/config") })
        )
    );
    assert_eq!(
        helper_config("/bin/h"),
        "[default]\ncredential_process = /bin/h\n"
    );
}
