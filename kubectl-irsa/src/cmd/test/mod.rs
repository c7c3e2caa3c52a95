//! `kubectl irsa test`: run a short-lived pod as the ServiceAccount and report whether it got the
//! role, naming the broken link when it did not.

mod pod;
mod wait;

use std::process::ExitCode;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams};
use time::OffsetDateTime;

use irsa_sts::{Claims, ExplainContext, RoleArn, StsError};

use crate::binding::{Binding, Keys};
use crate::cli::TestArgs;
use crate::error::{Error, Result};
use crate::injection::Injection;
use crate::kube_api::{Cluster, DryRun};
use crate::output::Output;
use crate::progress::Progress;
use crate::verdict::{self, Verdict};
use wait::Ending;

pub async fn run(args: &TestArgs, out: Output) -> Result<ExitCode> {
    let cluster = Cluster::connect(&args.kube.options()).await?;
    let what = format!("serviceaccount {}/{}", cluster.namespace, args.name);
    let keys = Keys::new(&args.prefix.annotation_prefix);
    let account = cluster
        .service_account(&args.name)
        .await?
        .ok_or_else(|| Error::Cluster(format!("{what} not found")))?;
    let binding = Binding::of(&account, &keys);
    let Some(role) = binding.role() else {
        return Err(Error::Usage(format!(
            "{what} has no {} annotation: bind it first (kubectl irsa bind {} -n {} --role-arn ARN)",
            keys.role_arn(),
            args.name,
            cluster.namespace
        )));
    };
    let role = role?;
    let created = cluster
        .create(&test_pod(args, &role, &binding)?, DryRun::None)
        .await?;
    let name = created.metadata.name.clone().unwrap_or_default();
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let progress = Progress::start(&format!("pod/{name} created"), out);
    let ending = tokio::select! {
        ending = watch(&pods, &cluster.namespace, &created, args, &progress) => Some(ending?),
        _ = tokio::signal::ctrl_c() => None,
    };
    progress.finish();
    clean_up(&pods, &name, &cluster.namespace, args.keep, out).await;
    let Some(ending) = ending else {
        let left = if args.keep { "kept" } else { "deleted" };
        return Err(Error::Interrupted(format!(
            "interrupted; pod/{name} {left}"
        )));
    };
    let failure = match ending {
        Watched::NotInjected => format!(
            "the pod identity webhook did not inject AWS_WEB_IDENTITY_TOKEN_FILE into pod/{name}: check that it runs (kubectl get mutatingwebhookconfigurations) and watches the {} annotations, or run with --inject to add the token volume and env yourself",
            args.prefix.annotation_prefix
        ),
        Watched::Ended(Ending::Finished { succeeded, logs }) => {
            let judged = verdict::judge(&logs, succeeded, args.command.is_empty(), &role);
            match pass_or_failure(judged, &cluster, args, &role, &binding, &name).await {
                Ok(pass) => {
                    out.line(pass)?;
                    return Ok(ExitCode::SUCCESS);
                }
                Err(failure) => failure,
            }
        }
        Watched::Ended(ending) => not_finished(ending, args, &name),
    };
    out.line(format_args!("FAIL: {failure}"))?;
    Ok(ExitCode::FAILURE)
}

fn test_pod(args: &TestArgs, role: &RoleArn, binding: &Binding) -> Result<Pod> {
    let region = args
        .region
        .clone()
        .unwrap_or_else(|| role.partition().default_region().to_string());
    let pod = pod::build(&pod::PodPlan {
        service_account: &args.name,
        image: &args.image,
        command: &args.command,
        region: &region,
    });
    if !args.inject {
        return Ok(pod);
    }
    let injection = Injection {
        role_arn: role.to_string(),
        audience: binding.audience.clone(),
        expiration_seconds: binding.token_expiration,
        sts_regional_endpoints: binding.sts_regional_endpoints,
        credential_process: false,
        serve: None,
    };
    pod::with_injection(pod, &injection)
}

/// How watching the pod ended.
enum Watched {
    NotInjected,
    Ended(Ending),
}

async fn watch(
    pods: &Api<Pod>,
    namespace: &str,
    created: &Pod,
    args: &TestArgs,
    progress: &Progress,
) -> Result<Watched> {
    if !args.inject && !pod::injected(created) {
        return Ok(Watched::NotInjected);
    }
    let name = created.metadata.name.as_deref().unwrap_or_default();
    let ending = wait::wait(pods, namespace, name, args.timeout.get(), progress).await?;
    Ok(Watched::Ended(ending))
}

async fn clean_up(pods: &Api<Pod>, name: &str, namespace: &str, keep: bool, out: Output) {
    if keep {
        out.status(format_args!(
            "pod/{name} kept (delete it with kubectl delete pod {name} -n {namespace})"
        ));
    } else if let Err(error) = pods.delete(name, &DeleteParams::default()).await {
        out.warn(format_args!("cannot delete pod/{name}: {error}"));
    }
}

/// The failure of a pod that never finished.
fn not_finished(ending: Ending, args: &TestArgs, name: &str) -> String {
    match ending {
        Ending::ImagePull(reason) => format!(
            "image {} cannot be pulled ({reason}): check its name and that the nodes can reach its registry, or pass --image",
            args.image
        ),
        Ending::PendingTooLong(reason) => format!(
            "pod/{name} was still Pending ({reason}) after {}: check kubectl describe pod for scheduling or volume problems",
            args.timeout
        ),
        Ending::TimedOut | Ending::Finished { .. } => format!(
            "pod/{name} did not finish within {} (raise --timeout)",
            args.timeout
        ),
    }
}

/// The PASS line, or the failure explained.
async fn pass_or_failure(
    judged: Verdict,
    cluster: &Cluster,
    args: &TestArgs,
    role: &RoleArn,
    binding: &Binding,
    name: &str,
) -> std::result::Result<String, String> {
    let what = format!("serviceaccount {}/{}", cluster.namespace, args.name);
    match judged {
        Verdict::Pass {
            assumed_arn,
            account,
        } => Ok(format!(
            "PASS: {what} assumes {role} (account {account}) as {assumed_arn}"
        )),
        Verdict::CommandSucceeded => Ok(format!(
            "PASS: the command succeeded in pod/{name} as {what}"
        )),
        Verdict::Refused { code, line } => {
            let claims = Claims {
                iss: cluster.issuer().await.ok(),
                sub: Some(format!(
                    "system:serviceaccount:{}:{}",
                    cluster.namespace, args.name
                )),
                aud: vec![binding.audience.clone()],
                exp: None,
            };
            let context = ExplainContext {
                role_arn: role,
                claims: Some(&claims),
                token_source: "the pod's projected token",
                now: OffsetDateTime::now_utc(),
            };
            let error = StsError::Refused {
                code,
                message: line,
            };
            Err(irsa_sts::explain(&error, &context))
        }
        Verdict::WrongIdentity { assumed_arn } => Err(format!(
            "the pod ran as {assumed_arn}, not as {role}: the SDK took credentials from elsewhere (the node's role?); check that the token is mounted and that the SDK supports web identity"
        )),
        Verdict::Failed { last_line } => Err(format!("pod/{name} failed: {last_line}")),
    }
}
