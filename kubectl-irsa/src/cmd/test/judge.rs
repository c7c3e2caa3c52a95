//! The test's verdict line: PASS with the identity the pod got, or FAIL naming the broken
//! link, from how the pod ended.

use k8s_openapi::api::core::v1::Pod;
use time::OffsetDateTime;

use irsa_sts::{Claims, EndpointInputs, ExplainContext, RoleArn, StsEndpoint, StsError};

use super::Watched;
use super::wait::Ending;
use crate::binding::{Binding, Keys};
use crate::cli::TestArgs;
use crate::kube_api::Cluster;
use crate::test_pod::{self, Credentials, outcome};
use crate::verdict::{self, Verdict};

/// What the verdict may name.
pub struct Context<'a> {
    pub cluster: &'a Cluster,
    pub args: &'a TestArgs,
    pub role: &'a RoleArn,
    pub binding: &'a Binding,
    /// The annotation keys, under the webhook's prefix.
    pub keys: &'a Keys,
    /// The pod as admitted (with the webhook's additions).
    pub pod: &'a Pod,
    pub credentials: Credentials,
}

impl Context<'_> {
    fn pod_name(&self) -> String {
        self.pod.metadata.name.clone().unwrap_or_default()
    }

    fn what(&self) -> String {
        format!(
            "serviceaccount {}/{}",
            self.cluster.namespace, self.args.name
        )
    }

    /// The STS endpoint the pod's SDK calls, from the env it was admitted with.
    fn endpoint(&self) -> Option<StsEndpoint> {
        let env = |name: &str| test_pod::env_value(self.pod, name);
        let inputs = EndpointInputs::from_env(env, None, None);
        StsEndpoint::resolve(&inputs, self.role.partition()).ok()
    }
}

/// `(passed, the line to print)`.
pub async fn verdict(context: &Context<'_>, watched: Watched) -> (bool, String) {
    let name = context.pod_name();
    let failure = match watched {
        Watched::NotInjected => format!(
            "the pod identity webhook did not inject AWS_WEB_IDENTITY_TOKEN_FILE into pod/{name}: check that it runs (kubectl get mutatingwebhookconfigurations) and watches the {} annotations, or run with --inject to add the token volume and env yourself",
            context.keys.prefix()
        ),
        Watched::Ended(Ending::Finished {
            exit_code,
            reason,
            logs,
        }) => match finished(context, exit_code, &reason, &logs).await {
            Ok(pass) => return (true, pass),
            Err(failure) => failure,
        },
        Watched::Ended(ending) => unfinished(context, ending),
    };
    (false, format!("FAIL: {failure}"))
}

/// The failure of a test container that never finished.
fn unfinished(context: &Context<'_>, ending: Ending) -> String {
    let (name, timeout) = (context.pod_name(), context.args.timeout);
    match ending {
        Ending::Stuck(stuck) => {
            format!(
                "pod/{name}: {}",
                outcome::describe(&stuck, &context.args.image)
            )
        }
        Ending::PendingTooLong(stuck) => format!(
            "pod/{name} was still Pending after {timeout}: {}",
            outcome::describe(&stuck, &context.args.image)
        ),
        Ending::InitFailed {
            container,
            exit_code,
            reason,
        } => format!(
            "init container {container} of pod/{name} failed (exit code {exit_code}, {reason}), so the test never ran: kubectl logs {name} -c {container} -n {}",
            context.cluster.namespace
        ),
        Ending::TimedOut | Ending::Finished { .. } => format!(
            "the test container of pod/{name} did not finish within {timeout} (raise --timeout)"
        ),
    }
}

/// The PASS line, or the failure explained, for a test container that exited.
async fn finished(
    context: &Context<'_>,
    exit_code: i32,
    reason: &str,
    logs: &str,
) -> Result<String, String> {
    let name = context.pod_name();
    if reason == "OOMKilled" {
        return Err(format!(
            "the test container of pod/{name} was killed for using too much memory (OOMKilled): raise its limit with --overrides"
        ));
    }
    let identity_command = context.args.command.is_empty();
    let judged = verdict::judge(logs, exit_code == 0, identity_command, context.role);
    let (role, what) = (context.role, context.what());
    let through = context
        .endpoint()
        .map(|endpoint| format!(" through {endpoint}"))
        .unwrap_or_default();
    match judged {
        Verdict::Pass {
            assumed_arn,
            account,
        } => Ok(format!(
            "PASS: {what} assumes {role} (account {account}) as {assumed_arn}{through}{}",
            pod_identity_note(context)
        )),
        Verdict::CommandSucceeded => Ok(format!(
            "PASS: the command succeeded in pod/{name} as {what}"
        )),
        Verdict::Refused { code, line } => Err(refused(context, code, line).await),
        Verdict::CommandDenied { line } => Err(format!(
            "the binding works (the pod got credentials), but the role's permissions do not allow the command: {line} (grant it in the role's permissions policy, not its trust policy)"
        )),
        Verdict::WrongIdentity { assumed_arn } => Err(wrong_identity(context, &assumed_arn)),
        Verdict::Failed { last_line } => Err(format!(
            "the test container of pod/{name} failed (exit code {exit_code}): {last_line}"
        )),
    }
}

fn pod_identity_note(context: &Context<'_>) -> &'static str {
    match context.credentials {
        Credentials::Container => {
            " (from container credentials: EKS Pod Identity or a credentials sidecar)"
        }
        _ => "",
    }
}

fn wrong_identity(context: &Context<'_>, assumed_arn: &str) -> String {
    let role = context.role;
    match context.credentials {
        Credentials::Container => format!(
            "the pod ran as {assumed_arn}, not as {role}: it gets container credentials (an EKS Pod Identity association for this ServiceAccount, which the webhook injects instead of the role-arn annotation's web identity); make the association name {role}, or delete it (aws eks list-pod-identity-associations)"
        ),
        _ => format!(
            "the pod ran as {assumed_arn}, not as {role}: the SDK took credentials from elsewhere (the node's role?); check that the token is mounted and that the SDK supports web identity"
        ),
    }
}

/// STS refused the exchange: explained as the helper explains it, with what the pod's token
/// carries.
async fn refused(context: &Context<'_>, code: String, line: String) -> String {
    let cluster = context.cluster;
    let claims = Claims {
        iss: cluster.issuer().await.ok(),
        sub: Some(format!(
            "system:serviceaccount:{}:{}",
            cluster.namespace, context.args.name
        )),
        aud: vec![context.binding.audience.clone()],
        exp: None,
    };
    let explain = ExplainContext {
        role_arn: context.role,
        claims: Some(&claims),
        token_source: "the pod's projected token",
        now: OffsetDateTime::now_utc(),
    };
    let error = StsError::Refused {
        code,
        message: line,
    };
    irsa_sts::explain(&error, &explain)
}
