//! `kubectl irsa whoami`: the identity a pod of the ServiceAccount gets, proven without a pod.

use std::process::ExitCode;

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
            claims.iss.as_deref().unwrap_or("none"),
            claims.sub.as_deref().unwrap_or("none"),
            claims.aud.join(","),
        ),
    }
}
