//! The `Table` columns and cells of `apps/v1` objects, as the apiserver prints them (all
//! columns, `Wide`): `AddHandlers`, `printDeployment`, `printReplicaSet`, `printStatefulSet`,
//! `printDaemonSet`, `printControllerRevision` and `layoutContainerCells` in kubernetes/kubernetes
//! pkg/printers/internalversion/printers.go.

use serde_json::{Value, json};

use super::controllers::{int, selector_string};
use super::resources::Resource;
use super::state::str_at;
use super::table::{age, column};

const CONTAINERS: &str = "Names of each container in the template.";
const IMAGES: &str = "Images referenced by each container in the template.";
const SELECTOR: &str = "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.";

/// The columns of a workload or ControllerRevision table, `name` and `age` given.
pub(crate) fn columns(resource: Resource, name: Value, age: Value) -> Vec<Value> {
    let wide = [
        column("Containers", "string", "", CONTAINERS, 1),
        column("Images", "string", "", IMAGES, 1),
        column("Selector", "string", "", SELECTOR, 1),
    ];
    let integer = |title: &str, description: &str| column(title, "integer", "", description, 0);
    let mut columns = vec![name];
    match resource {
        Resource::Deployment => columns.extend([
            column("Ready", "string", "", "Number of the pod with ready state", 0),
            column("Up-to-date", "string", "", "Total number of non-terminated pods targeted by this deployment that have the desired template spec.", 0),
            column("Available", "string", "", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.", 0),
            age,
        ]),
        Resource::ReplicaSet => columns.extend([
            integer("Desired", "Replicas is the number of desired replicas."),
            integer("Current", "Replicas is the most recently observed number of replicas."),
            integer("Ready", "The number of ready replicas for this replica set."),
            age,
        ]),
        Resource::StatefulSet => columns.extend([
            column("Ready", "string", "", "Number of the pod with ready state", 0),
            age,
        ]),
        Resource::DaemonSet => columns.extend([
            integer("Desired", "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod)."),
            integer("Current", "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod."),
            integer("Ready", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready."),
            integer("Up-to-date", "The total number of nodes that are running updated daemon pod"),
            integer("Available", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)"),
            column("Node Selector", "string", "", "NodeSelector is a selector which must be true for the pod to fit on a node.", 0),
            age,
        ]),
        _ => {
            columns.extend([
                column("Controller", "string", "", "Controller of the object", 0),
                integer("Revision", "Revision indicates the revision of the state represented by Data."),
                age,
            ]);
            return columns;
        }
    }
    let count = if resource == Resource::StatefulSet {
        2
    } else {
        3
    };
    columns.extend(wide.into_iter().take(count));
    columns
}

/// `layoutContainerCells`: names and images, comma-separated.
fn containers(object: &Value) -> (String, String) {
    let list = object["spec"]["template"]["spec"]["containers"].as_array();
    let field = |name: &str| {
        list.into_iter()
            .flatten()
            .map(|c| str_at(c, &format!("/{name}")).to_owned())
            .collect::<Vec<_>>()
            .join(",")
    };
    (field("name"), field("image"))
}

/// The cells of a workload or ControllerRevision row.
pub(crate) fn cells(resource: Resource, object: &Value) -> Vec<Value> {
    let name = json!(str_at(object, "/metadata/name"));
    let age = json!(age(str_at(object, "/metadata/creationTimestamp")));
    let n = |pointer: &str| json!(int(object, pointer));
    let (names, images) = containers(object);
    let selector = json!(selector_string(&object["spec"]["selector"]));
    match resource {
        Resource::Deployment => vec![
            name,
            json!(format!(
                "{}/{}",
                int(object, "/status/readyReplicas"),
                int(object, "/spec/replicas")
            )),
            n("/status/updatedReplicas"),
            n("/status/availableReplicas"),
            age,
            json!(names),
            json!(images),
            selector,
        ],
        Resource::ReplicaSet => vec![
            name,
            n("/spec/replicas"),
            n("/status/replicas"),
            n("/status/readyReplicas"),
            age,
            json!(names),
            json!(images),
            selector,
        ],
        Resource::StatefulSet => vec![
            name,
            json!(format!(
                "{}/{}",
                int(object, "/status/readyReplicas"),
                int(object, "/spec/replicas")
            )),
            age,
            json!(names),
            json!(images),
        ],
        Resource::DaemonSet => vec![
            name,
            n("/status/desiredNumberScheduled"),
            n("/status/currentNumberScheduled"),
            n("/status/numberReady"),
            n("/status/updatedNumberScheduled"),
            n("/status/numberAvailable"),
            json!(node_selector(object)),
            age,
            json!(names),
            json!(images),
            selector,
        ],
        _ => vec![name, json!(controller(object)), n("/revision"), age],
    }
}

/// `labels.FormatLabels` of the template's node selector: `<none>` when empty.
fn node_selector(object: &Value) -> String {
    let mut pairs: Vec<String> = object["spec"]["template"]["spec"]["nodeSelector"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    if pairs.is_empty() {
        return "<none>".to_owned();
    }
    pairs.sort();
    pairs.join(",")
}

/// A revision's controller as `kind.group/name`, or `<none>`.
fn controller(object: &Value) -> String {
    let owner = object["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["controller"] == true);
    let Some(owner) = owner else {
        return "<none>".to_owned();
    };
    let group = str_at(owner, "/apiVersion")
        .rsplit_once('/')
        .map_or("", |(g, _)| g);
    let kind = str_at(owner, "/kind").to_lowercase();
    let kind = if group.is_empty() {
        kind
    } else {
        format!("{kind}.{group}")
    };
    format!("{kind}/{}", str_at(owner, "/name"))
}
