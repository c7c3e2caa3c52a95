//! Kubernetes manifests as JSON values: multi-document YAML in and out, and the pod specs inside
//! each workload kind.

use serde::Deserialize;
use serde_json::Value;

/// A manifest that cannot be read; the message names the source.
#[derive(Debug, thiserror::Error)]
#[error("{source_name} is not valid YAML or JSON: {reason}")]
pub struct ManifestError {
    pub source_name: String,
    pub reason: String,
}

/// Every document of a YAML (or JSON) text; empty documents are dropped. Merge keys (`<<:
/// *anchor`) are resolved as kubectl resolves them (sigs.k8s.io/yaml reads YAML with go-yaml,
/// which merges), so what is injected is what kubectl would apply.
pub fn parse(text: &str, source_name: &str) -> Result<Vec<Value>, ManifestError> {
    let refuse = |e: serde_norway::Error| ManifestError {
        source_name: source_name.to_string(),
        reason: e.to_string(),
    };
    let mut documents = Vec::new();
    for document in serde_norway::Deserializer::from_str(text) {
        let mut yaml = serde_norway::Value::deserialize(document).map_err(refuse)?;
        yaml.apply_merge().map_err(refuse)?;
        let value = Value::deserialize(yaml).map_err(refuse)?;
        if !value.is_null() {
            documents.push(value);
        }
    }
    Ok(documents)
}

/// Documents as multi-document YAML.
pub fn render_yaml(documents: &[Value]) -> Result<String, serde_norway::Error> {
    let mut out = String::new();
    for (index, document) in documents.iter().enumerate() {
        if index > 0 {
            out.push_str("---\n");
        }
        out.push_str(&serde_norway::to_string(document)?);
    }
    Ok(out)
}

/// Where a workload keeps its pod template, by kind.
fn pod_template_path(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some(""),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => Some("/spec/template"),
        "CronJob" => Some("/spec/jobTemplate/spec/template"),
        _ => None,
    }
}

/// One pod spec inside a manifest, with what decides its injection.
pub struct PodSite<'a> {
    /// `Kind/name`, for messages.
    pub object: String,
    pub namespace: Option<String>,
    pub service_account: String,
    /// The pod (template) annotations.
    pub annotations: serde_json::Map<String, Value>,
    /// The pod, or the pod template: its `spec` is an object.
    template: &'a mut Value,
}

impl PodSite<'_> {
    /// The PodSpec.
    pub fn spec(&mut self) -> &mut Value {
        &mut self.template["spec"]
    }

    /// Sets a pod (template) annotation, creating `metadata.annotations` when needed.
    pub fn annotate(&mut self, key: &str, value: &str) {
        let metadata = &mut self.template["metadata"];
        if !metadata.is_object() {
            *metadata = Value::Object(Default::default());
        }
        let annotations = &mut metadata["annotations"];
        if !annotations.is_object() {
            *annotations = Value::Object(Default::default());
        }
        annotations[key] = Value::String(value.to_string());
        self.annotations
            .insert(key.to_string(), Value::String(value.to_string()));
    }
}

/// What a document turned out to be.
pub enum Visit<'a> {
    Pod(PodSite<'a>),
    /// Not a workload: left as it is.
    Other(String),
}

/// Each pod spec in `document` (recursing into `List` items), or what else it is.
pub fn pods(document: &mut Value) -> Vec<Visit<'_>> {
    let mut found = Vec::new();
    collect(document, &mut found);
    found
}

fn collect<'a>(document: &'a mut Value, found: &mut Vec<Visit<'a>>) {
    let kind = document["kind"].as_str().unwrap_or_default().to_string();
    if kind.ends_with("List") {
        if let Some(items) = document.get_mut("items").and_then(Value::as_array_mut) {
            for item in items {
                collect(item, found);
            }
        }
        return;
    }
    let name = document["metadata"]["name"].as_str().unwrap_or("(unnamed)");
    let object = format!(
        "{}/{name}",
        if kind.is_empty() { "(no kind)" } else { &kind }
    );
    let namespace = document["metadata"]["namespace"]
        .as_str()
        .map(str::to_string);
    let Some(template) = pod_template_path(&kind).and_then(|path| document.pointer_mut(path))
    else {
        found.push(Visit::Other(object));
        return;
    };
    let annotations = template["metadata"]["annotations"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let spec = &template["spec"];
    if !spec.is_object() {
        found.push(Visit::Other(object));
        return;
    }
    let service_account = spec["serviceAccountName"]
        .as_str()
        .or_else(|| spec["serviceAccount"].as_str())
        .unwrap_or("default")
        .to_string();
    found.push(Visit::Pod(PodSite {
        object,
        namespace,
        service_account,
        annotations,
        template,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFESTS: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart
  namespace: shop
spec:
  template:
    metadata:
      annotations:
        eks.amazonaws.com/skip-containers: proxy
    spec:
      serviceAccountName: cart
      containers:
      - name: app
        image: app
---
# comments and empty documents are fine
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: job
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata:
    name: solo
  spec:
    serviceAccount: legacy
    containers: []
- apiVersion: v1
  kind: Service
  metadata:
    name: web
";

    #[test]
    fn finds_the_pod_spec_of_every_kind() {
        let mut documents = parse(MANIFESTS, "test.yaml").unwrap();
        assert_eq!(documents.len(), 3);
        let mut seen = Vec::new();
        for document in &mut documents {
            for visit in pods(document) {
                seen.push(match visit {
                    Visit::Pod(site) => format!(
                        "{} ns={:?} sa={} skip={:?}",
                        site.object,
                        site.namespace,
                        site.service_account,
                        site.annotations
                            .get("eks.amazonaws.com/skip-containers")
                            .and_then(Value::as_str)
                    ),
                    Visit::Other(object) => format!("other {object}"),
                });
            }
        }
        assert_eq!(
            seen,
            [
                "Deployment/cart ns=Some(\"shop\") sa=cart skip=Some(\"proxy\")",
                "CronJob/nightly ns=None sa=default skip=None",
                "Pod/solo ns=None sa=legacy skip=None",
                "other Service/web",
            ]
        );
    }

    #[test]
    fn round_trips_documents_keeping_key_order() {
        let documents = parse(MANIFESTS, "test.yaml").unwrap();
        let again = parse(&render_yaml(&documents).unwrap(), "rendered").unwrap();
        assert_eq!(again, documents);
        let text = render_yaml(&documents).unwrap();
        assert!(
            text.starts_with("apiVersion: apps/v1\nkind: Deployment\n"),
            "{text}"
        );
    }

    #[test]
    fn bad_yaml_names_its_source() {
        let error = parse("a: [", "deploy.yaml").unwrap_err().to_string();
        assert!(
            error.starts_with("deploy.yaml is not valid YAML or JSON"),
            "{error}"
        );
    }
}
