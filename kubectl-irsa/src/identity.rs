//! The pod's identity without a pod: a token from the TokenRequest API, traded with STS from this
//! machine exactly as the SDK in the pod would trade it.

use time::OffsetDateTime;

use irsa_sts::{
    Claims, Credentials, EndpointInputs, ExplainContext, Explained, RoleArn, SessionName,
    StsClient, StsClientOptions, StsEndpoint, WebIdentityRequest,
};

use crate::binding::{Binding, Keys};
use crate::error::{Error, Result};
use crate::kube_api::Cluster;

/// What `whoami`, `exec` and doctor's `--assume` need to know besides the ServiceAccount.
pub struct IdentityOptions<'a> {
    pub role_arn: Option<&'a RoleArn>,
    /// The annotation keys, under the webhook's prefix.
    pub keys: Keys,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// The credentials a pod of the ServiceAccount would get, and what proves it.
pub struct Identity {
    pub role: RoleArn,
    pub session: SessionName,
    pub claims: Claims,
    pub endpoint: StsEndpoint,
    pub credentials: Credentials,
}

/// Requests a token for the ServiceAccount `name` of the cluster's namespace and trades it.
pub async fn assume(
    cluster: &Cluster,
    name: &str,
    options: &IdentityOptions<'_>,
) -> Result<Identity> {
    let namespace = &cluster.namespace;
    let what = format!("serviceaccount {namespace}/{name}");
    let account = cluster
        .service_account(name)
        .await?
        .ok_or_else(|| Error::Cluster(format!("{what} not found")))?;
    let binding = Binding::of(&account, &options.keys);
    let role = match (options.role_arn, binding.role()) {
        (Some(role), _) => role.clone(),
        (None, Some(role)) => role?,
        (None, None) => {
            return Err(Error::Usage(format!(
                "{what} has no {} annotation: bind it (kubectl irsa bind {} -n {} --role-arn ARN) or pass --role-arn",
                options.keys.role_arn(),
                crate::shell::quote(name),
                crate::shell::quote(namespace)
            )));
        }
    };
    let inputs = EndpointInputs::from_env(
        |name| std::env::var(name).ok(),
        options.region.clone(),
        options.endpoint_url.clone(),
    );
    let endpoint = StsEndpoint::resolve(&inputs, role.partition())?;
    let token = cluster
        .request_token(name, &binding.audience)
        .await?
        .ok_or_else(|| Error::Cluster(format!("the cluster returned no token for {what}")))?;
    let claims = Claims::decode(&token).map_err(|e| Error::Cluster(e.to_string()))?;
    // Checked as --issuer is: IAM has no provider for an issuer it could not register, so STS
    // is not even asked.
    if let Some(Err(error)) = claims.iss.as_deref().map(crate::names::check_issuer) {
        return Err(Error::Cluster(format!(
            "the token requested for {what} has an {error}: set the apiserver's --service-account-issuer to an https URL"
        )));
    }
    let session = SessionName::sanitized(&format!("kubectl-irsa.{namespace}.{name}"))
        .ok_or_else(|| Error::Usage(format!("cannot make a session name from {what}")))?;
    let credentials = exchange(&role, &session, &token, &claims, &endpoint, &what).await?;
    Ok(Identity {
        role,
        session,
        claims,
        endpoint,
        credentials,
    })
}

/// One web-identity exchange; a failure comes back explained with the token's claims.
async fn exchange(
    role: &RoleArn,
    session: &SessionName,
    token: &str,
    claims: &Claims,
    endpoint: &StsEndpoint,
    what: &str,
) -> Result<Credentials> {
    let client = StsClient::new(StsClientOptions {
        endpoint: endpoint.clone(),
        deadline: std::time::Duration::from_secs(30),
        max_attempts: 3,
        ca_bundle: None,
        app_name: "kubectl-irsa",
    })?;
    let request = WebIdentityRequest {
        role_arn: role,
        session_name: session,
        token,
        duration_seconds: None,
        policy: None,
        policy_arns: &[],
    };
    client
        .assume_role_with_web_identity(request)
        .await
        .map_err(|error| {
            let source = format!("the token requested for {what}");
            let context = ExplainContext {
                role_arn: role,
                claims: Some(claims),
                token_source: &source,
                now: OffsetDateTime::now_utc(),
            };
            Error::Sts(Explained::new(error, &context))
        })
}
