//! The pod's identity without a pod: a token from the TokenRequest API, traded with STS from this
//! machine exactly as the SDK in the pod would trade it.

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::Api;
use time::OffsetDateTime;

use irsa_sts::{
    Claims, Credentials, EndpointInputs, ExplainContext, RoleArn, SessionName, StsClient,
    StsClientOptions, StsEndpoint, WebIdentityRequest,
};

use crate::annotations::Keys;
use crate::cluster::{self, Cluster};
use crate::cmd;
use crate::error::{CliError, from_kube};

/// What `whoami` and `exec` need to know besides the ServiceAccount.
pub struct IdentityOptions<'a> {
    pub role_arn: Option<&'a str>,
    pub annotation_prefix: &'a str,
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

/// Requests a token for `namespace/name` and trades it with STS.
pub async fn assume(
    cluster: &Cluster,
    name: &str,
    options: &IdentityOptions<'_>,
) -> Result<Identity, CliError> {
    let namespace = &cluster.namespace;
    let what = format!("serviceaccount {namespace}/{name}");
    let keys = Keys::new(options.annotation_prefix);
    let api: Api<ServiceAccount> = Api::namespaced(cluster.client.clone(), namespace);
    let account = cmd::get_service_account(&api, namespace, name)
        .await?
        .ok_or_else(|| CliError::Cluster(format!("{what} not found")))?;
    let annotations = cmd::annotations_of(&account);
    let role_arn = match options.role_arn {
        Some(arn) => arn.to_string(),
        None => annotations.get(&keys.role_arn()).cloned().ok_or_else(|| {
            CliError::Usage(format!(
                "{what} has no {} annotation: bind it (kubectl irsa bind {name} -n {namespace} --role-arn ARN) or pass --role-arn",
                keys.role_arn()
            ))
        })?,
    };
    let role: RoleArn = role_arn.parse()?;
    let audience = annotations
        .get(&keys.audience())
        .cloned()
        .unwrap_or_else(|| "sts.amazonaws.com".to_string());
    let endpoint = StsEndpoint::resolve(
        &EndpointInputs::from_env(
            |name| std::env::var(name).ok(),
            options.region.clone(),
            options.endpoint_url.clone(),
        ),
        role.partition(),
    )
    .map_err(|e| CliError::Usage(e.to_string()))?;

    let token = cluster::request_token(&cluster.client, namespace, name, &audience)
        .await
        .map_err(|e| {
            from_kube(
                e,
                "create",
                &format!("serviceaccounts/token for {namespace}/{name}"),
            )
        })?
        .ok_or_else(|| CliError::Cluster(format!("the cluster returned no token for {what}")))?;
    let claims = Claims::decode(&token).map_err(|e| CliError::Cluster(e.to_string()))?;
    let session = SessionName::sanitized(&format!("kubectl-irsa.{namespace}.{name}"))
        .ok_or_else(|| CliError::Usage(format!("cannot make a session name from {what}")))?;

    let client = StsClient::new(StsClientOptions {
        endpoint: endpoint.clone(),
        deadline: std::time::Duration::from_secs(30),
        max_attempts: 3,
        ca_bundle: None,
        app_name: "kubectl-irsa",
    })
    .map_err(|e| CliError::Usage(e.to_string()))?;
    let credentials = client
        .assume_role_with_web_identity(WebIdentityRequest {
            role_arn: &role,
            session_name: &session,
            token: &token,
            duration_seconds: None,
            policy: None,
            policy_arns: &[],
        })
        .await
        .map_err(|error| {
            let source = format!("the token requested for {what}");
            CliError::Sts(irsa_sts::explain(
                &error,
                &ExplainContext {
                    role_arn: &role,
                    claims: Some(&claims),
                    token_source: &source,
                    now: OffsetDateTime::now_utc(),
                },
            ))
        })?;
    Ok(Identity {
        role,
        session,
        claims,
        endpoint,
        credentials,
    })
}
