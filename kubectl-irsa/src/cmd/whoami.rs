//! `kubectl irsa whoami`: the identity a pod of the ServiceAccount gets, proven without a pod.

use std::process::ExitCode;

use irsa_sts::text::line as printable;
use serde_json::json;

use crate::cli::WhoamiArgs;
use crate::error::Result;
use crate::identity::{self, Identity};
use crate::kube_api::Cluster;
use crate::output::{Output, ReportFormat};

pub async fn run(args: &WhoamiArgs, out: Output) -> Result<ExitCode> {
    let cluster = Cluster::connect(&args.kube.options()).await?;
    let (keys, _) = super::keys::resolve(&cluster, &args.sts.prefix, out).await;
    let options = args.sts.identity_options(keys);
    let identity = identity::assume(&cluster, &args.name, &options).await?;
    out.print(&render(&identity, args.output))?;
    Ok(ExitCode::SUCCESS)
}

fn render(identity: &Identity, format: ReportFormat) -> String {
    let credentials = &identity.credentials;
    let claims = &identity.claims;
    let expiration = irsa_sts::rfc3339(credentials.expiration);
    match format {
        ReportFormat::Json => {
            let value = json!({
                "roleArn": identity.role.as_str(),
                "assumedRoleArn": credentials.assumed_role_arn,
                "account": credentials.account_id,
                "session": identity.session.as_str(),
                "expiration": expiration,
                "endpoint": identity.endpoint.to_string(),
                "token": { "iss": claims.iss, "sub": claims.sub, "aud": claims.aud, "exp": claims.exp },
            });
            format!(
                "{}\n",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            )
        }
        ReportFormat::Text => format!(
            "ROLE         {}\nASSUMED      {}\nACCOUNT      {}\nSESSION      {}\nEXPIRATION   {expiration}\nTOKEN        iss={} sub={} aud={}\n",
            identity.role,
            credentials.assumed_role_arn,
            credentials.account_id,
            identity.session,
            // The claims come from the cluster: printed escaped, one line each.
            printable(claims.iss.as_deref().unwrap_or("none")),
            printable(claims.sub.as_deref().unwrap_or("none")),
            printable(&claims.aud.join(",")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use irsa_sts::{Claims, Credentials, EndpointInputs, Partition, SessionName, StsEndpoint};

    use super::*;

    #[test]
    fn claims_from_a_hostile_cluster_print_on_one_line_each() {
        let identity = Identity {
            role: "arn:aws:iam::123456789012:role/cart".parse().unwrap(),
            session: SessionName::sanitized("kubectl-irsa.shop.cart").unwrap(),
            claims: Claims {
                iss: Some(
                    "https://issuer\nROLE         arn:aws:iam::999999999999:role/admin".into(),
                ),
                sub: Some("system:serviceaccount:shop:cart\u{1b}[2J".into()),
                aud: vec!["sts.amazonaws.com".into()],
                exp: None,
            },
            endpoint: StsEndpoint::resolve(&EndpointInputs::default(), Partition::Aws).unwrap(),
            credentials: Credentials {
                access_key_id: "ASIAEXAMPLE000000001".into(),
                secret_access_key: "secret".into(),
                session_token: "token".into(),
                expiration: time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
                account_id: "123456789012".into(),
                assumed_role_arn: "arn:aws:sts::123456789012:assumed-role/cart/s".into(),
            },
        };
        let text = render(&identity, ReportFormat::Text);
        assert_eq!(text.lines().count(), 6, "{text}");
        assert!(
            text.ends_with(
                "TOKEN        iss=https://issuer\\nROLE         arn:aws:iam::999999999999:role/admin sub=system:serviceaccount:shop:cart^[[2J aud=sts.amazonaws.com\n"
            ),
            "{text}"
        );
    }
}
