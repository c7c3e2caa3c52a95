//! Rendering bound ServiceAccounts as kubectl renders objects: aligned tables (NAMESPACE only
//! with -A, more columns with -o wide), a v1 List as json or yaml, and names.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::ServiceAccount;

use super::ListFormat;
use crate::binding::{Binding, Keys};
use crate::pod_credentials::{self, Source};

/// The pods of a ServiceAccount, for `-o wide`: how many, and how many get EKS Pod Identity
/// credentials (the webhook injects them instead of the annotation's role when an association
/// exists).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodCounts {
    pub total: usize,
    pub pod_identity: usize,
}

impl PodCounts {
    pub fn add(&mut self, pod: &k8s_openapi::api::core::v1::Pod) {
        self.total += 1;
        if matches!(pod_credentials::source(pod), Source::PodIdentity { .. }) {
            self.pod_identity += 1;
        }
    }
}

/// One bound ServiceAccount, as a table row: what the webhook will do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundRow {
    pub namespace: String,
    pub name: String,
    pub role_arn: String,
    pub audience: String,
    pub regional_sts: bool,
    pub token_expiration: i64,
    pub pods: PodCounts,
}

impl BoundRow {
    pub fn new(
        account: &ServiceAccount,
        keys: &Keys,
        pods: &HashMap<(String, String), PodCounts>,
    ) -> Self {
        let binding = Binding::of(account, keys);
        let namespace = account.metadata.namespace.clone().unwrap_or_default();
        let name = account.metadata.name.clone().unwrap_or_default();
        BoundRow {
            pods: pods
                .get(&(namespace.clone(), name.clone()))
                .copied()
                .unwrap_or_default(),
            namespace,
            name,
            role_arn: binding.role_arn.unwrap_or_default(),
            audience: binding.audience,
            regional_sts: binding.sts_regional_endpoints,
            token_expiration: binding.token_expiration,
        }
    }
}

/// How `list` lays its rows out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    pub format: ListFormat,
    /// With `-A`: a NAMESPACE column, as kubectl adds one.
    pub all_namespaces: bool,
    pub no_headers: bool,
}

/// The bound ServiceAccounts in the requested format. An empty table is empty, header
/// included: kubectl says "No resources found" on stderr instead.
pub fn render_bound(
    rows: &[BoundRow],
    objects: &[ServiceAccount],
    layout: Layout,
) -> Result<String, serde_norway::Error> {
    let list = || serde_json::json!({ "apiVersion": "v1", "kind": "List", "metadata": { "resourceVersion": "" }, "items": objects });
    Ok(match layout.format {
        ListFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&list()).unwrap_or_default()
        ),
        ListFormat::Yaml => serde_norway::to_string(&list())?,
        ListFormat::Name => rows
            .iter()
            .map(|row| format!("serviceaccount/{}\n", irsa_sts::text::line(&row.name)))
            .collect(),
        ListFormat::Table | ListFormat::Wide if rows.is_empty() => String::new(),
        ListFormat::Table | ListFormat::Wide => align(&table(rows, layout)),
    })
}

fn table(rows: &[BoundRow], layout: Layout) -> Vec<Vec<String>> {
    let wide = layout.format == ListFormat::Wide;
    let mut table: Vec<Vec<String>> = Vec::new();
    if !layout.no_headers {
        let mut header = vec!["SERVICEACCOUNT", "ROLE ARN"];
        if layout.all_namespaces {
            header.insert(0, "NAMESPACE");
        }
        if wide {
            header.extend([
                "AUDIENCE",
                "REGIONAL STS",
                "TOKEN EXPIRATION",
                "PODS",
                "POD IDENTITY",
            ]);
        }
        table.push(header.into_iter().map(String::from).collect());
    }
    for row in rows {
        let mut cells = vec![row.name.clone(), row.role_arn.clone()];
        if layout.all_namespaces {
            cells.insert(0, row.namespace.clone());
        }
        if wide {
            cells.extend([
                row.audience.clone(),
                row.regional_sts.to_string(),
                row.token_expiration.to_string(),
                row.pods.total.to_string(),
                row.pods.pod_identity.to_string(),
            ]);
        }
        // What the cluster holds is shown, never run by the terminal.
        table.push(
            cells
                .iter()
                .map(|c| irsa_sts::text::line(c).into_owned())
                .collect(),
        );
    }
    table
}

/// Columns padded to their widest cell and separated by three spaces, as kubectl prints them.
fn align(table: &[Vec<String>]) -> String {
    let columns = table.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            table
                .iter()
                .map(|row| row[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in table {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == columns {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}   ", width = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str) -> BoundRow {
        BoundRow {
            namespace: "shop".into(),
            name: name.into(),
            role_arn: format!("arn:aws:iam::123456789012:role/{name}"),
            audience: "sts.amazonaws.com".into(),
            regional_sts: true,
            token_expiration: 86400,
            pods: PodCounts {
                total: 2,
                pod_identity: 1,
            },
        }
    }

    fn layout(format: ListFormat, all_namespaces: bool, no_headers: bool) -> Layout {
        Layout {
            format,
            all_namespaces,
            no_headers,
        }
    }

    #[test]
    fn tables_align_like_kubectl() {
        let rows = [row("cart"), row("checkout")];
        let text = render_bound(&rows, &[], layout(ListFormat::Table, true, false)).unwrap();
        assert_eq!(
            text,
            "NAMESPACE   SERVICEACCOUNT   ROLE ARN\n\
             shop        cart             arn:aws:iam::123456789012:role/cart\n\
             shop        checkout         arn:aws:iam::123456789012:role/checkout\n"
        );
        let one_namespace = render_bound(&rows[..1], &[], layout(ListFormat::Table, false, false));
        assert_eq!(
            one_namespace.unwrap(),
            "SERVICEACCOUNT   ROLE ARN\ncart             arn:aws:iam::123456789012:role/cart\n"
        );
        let wide = render_bound(&rows[..1], &[], layout(ListFormat::Wide, true, true)).unwrap();
        assert_eq!(
            wide,
            "shop   cart   arn:aws:iam::123456789012:role/cart   sts.amazonaws.com   true   86400   2   1\n"
        );
        let names = render_bound(&rows[..1], &[], layout(ListFormat::Name, false, false));
        assert_eq!(names.unwrap(), "serviceaccount/cart\n");
    }

    #[test]
    fn an_empty_table_prints_nothing() {
        for format in [ListFormat::Table, ListFormat::Wide, ListFormat::Name] {
            assert_eq!(
                render_bound(&[], &[], layout(format, true, false)).unwrap(),
                ""
            );
        }
    }
}
