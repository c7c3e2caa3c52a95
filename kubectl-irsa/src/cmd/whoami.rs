//! `kubectl irsa whoami`: the identity a pod of the ServiceAccount gets, proven without a pod.

use serde_json::json;

use crate::cli::{IdentityFormat, KubeFlags, StsArgs, WhoamiArgs};
use crate::cluster;
use crate::error::CliError;
use crate::identity::{self, Identity, IdentityOptions};
use crate::names;

pub async fn run(flags: &KubeFlags, args: &WhoamiArgs) -> Result<(), CliError> {
    names::check_service_account(&args.name)?;
    let cluster = cluster::connect(flags).await?;
    let identity = identity::assume(&cluster, &args.name, &options(&args.sts)).await?;
    print!("{}", render(&identity, args.output));
    Ok(())
}

pub fn options(sts: &StsArgs) -> IdentityOptions<'_> {
    IdentityOptions {
        role_arn: sts.role_arn.as_deref(),
        annotation_prefix: &sts.prefix.annotation_prefix,
        region: sts.region.clone(),
        endpoint_url: sts.endpoint_url.clone(),
    }
}

fn render(identity: &Identity, format: IdentityFormat) -> String {
    let credentials = &identity.credentials;
    let claims = &identity.claims;
    let expiration = irsa_sts::rfc3339(credentials.expiration);
    match format {
        IdentityFormat::Json => {
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
        IdentityFormat::Text => format!(
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
