//! Rendering objects as kubectl does: aligned tables (with -o wide columns), json, yaml, name.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::ServiceAccount;

use crate::annotations::Keys;
use crate::cli::OutputFormat;
use crate::error::CliError;

/// One bound ServiceAccount, as a table row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundRow {
    pub namespace: String,
    pub name: String,
    pub role_arn: String,
    pub audience: String,
    pub regional_sts: String,
    pub token_expiration: String,
    pub pods: usize,
}

impl BoundRow {
    pub fn new(
        account: &ServiceAccount,
        keys: &Keys,
        pods: &HashMap<(String, String), usize>,
    ) -> Self {
        let annotations = account.metadata.annotations.clone().unwrap_or_default();
        let get = |key: String, default: &str| {
            annotations
                .get(&key)
                .cloned()
                .unwrap_or_else(|| default.to_string())
        };
        let namespace = account.metadata.namespace.clone().unwrap_or_default();
        let name = account.metadata.name.clone().unwrap_or_default();
        BoundRow {
            pods: pods
                .get(&(namespace.clone(), name.clone()))
                .copied()
                .unwrap_or(0),
            namespace,
            name,
            role_arn: get(keys.role_arn(), ""),
            audience: get(keys.audience(), "sts.amazonaws.com"),
            regional_sts: get(keys.sts_regional_endpoints(), "false"),
            token_expiration: get(keys.token_expiration(), "86400"),
        }
    }
}

/// The bound ServiceAccounts in the requested format.
pub fn render_bound(
    rows: &[BoundRow],
    objects: &[ServiceAccount],
    format: OutputFormat,
    no_headers: bool,
) -> Result<String, CliError> {
    let list = || serde_json::json!({ "apiVersion": "v1", "kind": "List", "metadata": { "resourceVersion": "" }, "items": objects });
    Ok(match format {
        OutputFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&list()).unwrap_or_default()
        ),
        OutputFormat::Yaml => serde_norway::to_string(&list())
            .map_err(|e| CliError::Io(format!("cannot render yaml: {e}")))?,
        OutputFormat::Name => rows
            .iter()
            .map(|row| format!("serviceaccount/{}\n", row.name))
            .collect(),
        OutputFormat::Table | OutputFormat::Wide => {
            let wide = format == OutputFormat::Wide;
            let mut table: Vec<Vec<String>> = Vec::new();
            if !no_headers {
                let mut header = vec!["NAMESPACE", "SERVICEACCOUNT", "ROLE ARN"];
                if wide {
                    header.extend(["AUDIENCE", "REGIONAL STS", "TOKEN EXPIRATION", "PODS"]);
                }
                table.push(header.into_iter().map(String::from).collect());
            }
            for row in rows {
                let mut cells = vec![
                    row.namespace.clone(),
                    row.name.clone(),
                    row.role_arn.clone(),
                ];
                if wide {
                    cells.extend([
                        row.audience.clone(),
                        row.regional_sts.clone(),
                        row.token_expiration.clone(),
                        row.pods.to_string(),
                    ]);
                }
                table.push(cells);
            }
            align(&table)
        }
    })
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
            regional_sts: "true".into(),
            token_expiration: "86400".into(),
            pods: 2,
        }
    }

    #[test]
    fn tables_align_like_kubectl() {
        let text = render_bound(
            &[row("cart"), row("checkout")],
            &[],
            OutputFormat::Table,
            false,
        )
        .unwrap();
        assert_eq!(
            text,
            "NAMESPACE   SERVICEACCOUNT   ROLE ARN\n\
             shop        cart             arn:aws:iam::123456789012:role/cart\n\
             shop        checkout         arn:aws:iam::123456789012:role/checkout\n"
        );
        let wide = render_bound(&[row("cart")], &[], OutputFormat::Wide, true).unwrap();
        assert_eq!(
            wide,
            "shop   cart   arn:aws:iam::123456789012:role/cart   sts.amazonaws.com   true   86400   2\n"
        );
        let names = render_bound(&[row("cart")], &[], OutputFormat::Name, false).unwrap();
        assert_eq!(names, "serviceaccount/cart\n");
    }
}
