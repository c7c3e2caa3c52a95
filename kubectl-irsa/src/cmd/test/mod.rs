//! `kubectl irsa test`: run a short-lived pod as the ServiceAccount and report whether it got the
//! role, naming the broken link when it did not.

mod judge;
mod wait;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams};
use serde_json::Value;

use irsa_sts::RoleArn;

use crate::binding::{Binding, Keys};
use crate::cli::TestArgs;
use crate::error::{Error, Result};
use crate::injection::Injection;
use crate::kube_api::{Call, Cluster, DryRun, KubeError, Scope};
use crate::output::Output;
use crate::progress::Progress;
use crate::test_pod::{self, Credentials, PodPlan};
use wait::Ending;

/// Deleting the pod and judging it after `--timeout` may take this much longer.
const GRACE: Duration = Duration::from_secs(30);
/// The wait's last look at the pod, at the deadline, may take this much longer: it says why
/// the pod did not finish.
const LAST_LOOK: Duration = Duration::from_secs(5);

pub async fn run(args: &TestArgs, out: Output) -> Result<ExitCode> {
    // --timeout bounds the whole test, from connecting to the pod's end.
    let deadline = Instant::now() + args.timeout.get();
    let late = || Error::Deadline {
        command: "test",
        after: args.timeout,
        what: "the cluster",
    };
    let setup = tokio::time::timeout_at(deadline.into(), start(args, out)).await;
    let (cluster, keys, binding, role, created) = setup.map_err(|_| late())??;
    let name = created.metadata.name.clone().unwrap_or_default();
    let credentials = test_pod::credentials(&created);
    let progress = Progress::start(&format!("pod/{name} created"), out);
    let watched = tokio::time::timeout_at(
        (deadline + LAST_LOOK).into(),
        watch(&cluster, &name, args, deadline, credentials, &progress),
    );
    let ending = tokio::select! {
        ending = watched => Some(ending.map_err(|_| late()).and_then(|ending| ending)),
        _ = tokio::signal::ctrl_c() => None,
    };
    progress.finish();
    clean_up(&cluster, &name, args.keep, out).await;
    let Some(ending) = ending else {
        let left = if args.keep { "kept" } else { "deleted" };
        return Err(Error::Interrupted(format!(
            "interrupted; pod/{name} {left}"
        )));
    };
    let ending = ending?;
    let context = judge::Context {
        cluster: &cluster,
        args,
        role: &role,
        binding: &binding,
        keys: &keys,
        pod: &created,
        credentials,
    };
    let (passed, line) = tokio::time::timeout(GRACE, judge::verdict(&context, ending))
        .await
        .map_err(|_| late())?;
    // One line, whatever the events and logs it quotes hold.
    out.line(irsa_sts::text::line(&line))?;
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Everything before the pod runs: the client, the webhook's flags, the binding, the pod
/// created.
async fn start(args: &TestArgs, out: Output) -> Result<(Cluster, Keys, Binding, RoleArn, Pod)> {
    let cluster = Cluster::connect(&args.kube.options()).await?;
    let (keys, flags) = super::keys::resolve(&cluster, &args.prefix, out).await;
    let (binding, role) = bound_role(&cluster, args, &keys).await?;
    let webhook_region = flags.and_then(|flags| flags.region);
    let pod = prepare(&cluster, args, (&role, &binding), webhook_region.as_deref()).await?;
    let created = cluster.create(&pod, DryRun::None).await.map_err(refused)?;
    Ok((cluster, keys, binding, role, created))
}

/// The ServiceAccount's binding and its role.
async fn bound_role(cluster: &Cluster, args: &TestArgs, keys: &Keys) -> Result<(Binding, RoleArn)> {
    let what = format!("serviceaccount {}/{}", cluster.namespace, args.name);
    let account = cluster
        .service_account(&args.name)
        .await?
        .ok_or_else(|| Error::Cluster(format!("{what} not found")))?;
    let binding = Binding::of(&account, keys);
    let Some(role) = binding.role() else {
        return Err(Error::Usage(format!(
            "{what} has no {} annotation: bind it first (kubectl irsa bind {} -n {} --role-arn ARN)",
            keys.role_arn(),
            args.name,
            cluster.namespace
        )));
    };
    Ok((binding.clone(), role?))
}

/// The pod to create: the namespace's user, the region unless the webhook gives one, the
/// webhook's additions with --inject (and the region of its flags, `webhook_region`), then
/// --overrides.
async fn prepare(
    cluster: &Cluster,
    args: &TestArgs,
    (role, binding): (&RoleArn, &Binding),
    webhook_region: Option<&str>,
) -> Result<Pod> {
    // OpenShift assigns each namespace a uid range; elsewhere any non-root uid does.
    let uid = match cluster.namespace_object().await {
        Ok(Some(namespace)) => namespace
            .metadata
            .annotations
            .as_ref()
            .and_then(test_pod::namespace_uid),
        _ => None,
    };
    let mut plan = PodPlan {
        service_account: &args.name,
        image: &args.image,
        command: &args.command,
        region: args.region.as_deref(),
        uid: uid.unwrap_or(test_pod::DEFAULT_UID),
        image_pull_secrets: &args.image_pull_secrets,
    };
    let injection = args.inject.then(|| Injection {
        role_arn: role.to_string(),
        audience: binding.audience.clone(),
        expiration_seconds: binding.token_expiration,
        sts_regional_endpoints: binding.sts_regional_endpoints,
        // The pod sets its region itself (see `plan.region`).
        region: None,
        credential_process: false,
        serve: None,
    });
    let overrides = args.overrides.as_ref();
    if plan.region.is_none() && args.inject {
        plan.region = Some(webhook_region.unwrap_or(role.partition().default_region()));
    } else if plan.region.is_none() && !webhook_gives_region(cluster, &plan, overrides).await? {
        plan.region = Some(role.partition().default_region());
    }
    pod_from(&plan, overrides, injection.as_ref())
}

/// The pod, with --inject's additions and --overrides merged into its JSON form.
fn pod_from(
    plan: &PodPlan<'_>,
    overrides: Option<&Value>,
    injection: Option<&Injection>,
) -> Result<Pod> {
    let mut value = serde_json::to_value(test_pod::build(plan)).map_err(|e| Error::Internal {
        what: "cannot build the test pod",
        detail: e.to_string(),
    })?;
    if let Some(injection) = injection {
        test_pod::with_injection(&mut value, injection);
    }
    if let Some(overrides) = overrides {
        test_pod::merge(&mut value, overrides);
    }
    serde_json::from_value::<Pod>(value)
        .map_err(|e| Error::Usage(format!("--overrides do not make a pod: {e}")))
}

/// Whether the webhook adds AWS_REGION itself (it does when it runs with a region and the
/// container sets none): asked with a server-side dry run, which runs admission as a create
/// does, so that the test pod calls the STS endpoint the workloads call.
async fn webhook_gives_region(
    cluster: &Cluster,
    plan: &PodPlan<'_>,
    overrides: Option<&Value>,
) -> Result<bool> {
    let pod = pod_from(plan, overrides, None)?;
    let admitted = cluster
        .create(&pod, DryRun::Server)
        .await
        .map_err(refused)?;
    Ok(["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .any(|name| test_pod::env_value(&admitted, name).is_some()))
}

/// A refused create: admission (Pod Security, a quota, a webhook) is fixed by changing the pod.
fn refused(error: KubeError) -> Error {
    if error.is_forbidden() && !error.is_rbac_denial() {
        return Error::Hinted {
            hint: "change the test pod with --overrides (a JSON merge into it), or run the test in another namespace".into(),
            source: error,
        };
    }
    Error::Kube(error)
}

/// How watching the pod ended.
pub enum Watched {
    NotInjected,
    Ended(Ending),
}

async fn watch(
    cluster: &Cluster,
    name: &str,
    args: &TestArgs,
    deadline: Instant,
    credentials: Credentials,
    progress: &Progress,
) -> Result<Watched> {
    if !args.inject && credentials == Credentials::None {
        return Ok(Watched::NotInjected);
    }
    let left = deadline.saturating_duration_since(Instant::now());
    let ending = wait::wait(cluster, name, left, progress).await?;
    Ok(Watched::Ended(ending))
}

async fn clean_up(cluster: &Cluster, name: &str, keep: bool, out: Output) {
    let namespace = &cluster.namespace;
    if keep {
        out.status(format_args!(
            "pod/{name} kept (delete it with kubectl delete pod {name} -n {namespace})"
        ));
        return;
    }
    let pods: Api<Pod> = cluster.api(&Scope::Namespace(namespace.clone()));
    let delete = tokio::time::timeout(GRACE, pods.delete(name, &DeleteParams::default())).await;
    let scope = Scope::Namespace(namespace.clone());
    match delete {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => {
            let error = KubeError::new(Call::on::<Pod>("delete", scope, Some(name)), error);
            out.warn(format_args!("{error}; delete it with kubectl delete pod {name} -n {namespace}"));
        }
        Err(_) => out.warn(format_args!(
            "cannot delete pod/{name} within {}s; delete it with kubectl delete pod {name} -n {namespace}",
            GRACE.as_secs()
        )),
    }
}
