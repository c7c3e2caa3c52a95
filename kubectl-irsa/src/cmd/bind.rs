//! `kubectl irsa bind`: annotate (or create) a ServiceAccount and print the trust policy, or,
//! with `--update-trust`, make the role's side in IAM too (see [`trust`]).

mod trust;

use std::collections::BTreeMap;
use std::process::ExitCode;

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::ObjectMeta;

use irsa_sts::{Partition, RoleArn};

use crate::binding::{Binding, Plan, Request, plan};
use crate::cli::BindArgs;
use crate::error::{Error, Result};
use crate::kube_api::{Cluster, DISCOVERY_PATH, DryRun, Issuer};
use crate::output::Output;
use crate::shell::quote;
use crate::trust_policy::{self, Grant};
use crate::workload::{self, Workload};

pub async fn run(args: &BindArgs, out: Output) -> Result<ExitCode> {
    let request = request(args, out)?;
    let cluster = Cluster::connect(&args.kube.options()).await?;
    // Everything bind reads comes before its one write: a user who may not read it changes
    // nothing.
    let ((keys, _), existing) = tokio::join!(
        super::keys::resolve(&cluster, &args.prefix, out),
        cluster.service_account(&args.name)
    );
    let existing = existing?;
    let wanted = request.annotations(&keys);
    // The audience pods will get: the one asked for, else the one the account keeps.
    let audience = match (&request.audience, &existing) {
        (Some(audience), _) => audience.clone(),
        (None, Some(account)) => Binding::of(account, &keys).audience,
        (None, None) => keys.default_audience().to_string(),
    };
    // An audience from the cluster (the account's annotation, the webhook's default) is
    // checked as --audience is: it goes into the trust policy and printed commands.
    crate::binding::check_audience(&audience).map_err(|why| {
        Error::Usage(format!(
            "serviceaccount {}/{} (or the webhook's --token-audience) gives an {why}: pass --audience",
            cluster.namespace, args.name
        ))
    })?;
    let audience = audience.as_str();
    let change = change(&cluster, args, existing.as_ref(), &wanted)?;
    let issuer = issuer(&cluster, args, existing.is_some(), audience, out).await?;
    // IAM is read and the change checked before anything is written anywhere.
    let role = &request.role_arn;
    let trust = match args.trust.update_trust {
        true => Some(trust::prepare(args, role, &issuer, &cluster.namespace, audience, out).await?),
        false => None,
    };
    // Only an annotated existing ServiceAccount can have pods with the old identity.
    let pods = match &change {
        Change::Set(_) => pods_using(&cluster, &args.name, out).await,
        _ => None,
    };
    if apply_both(&cluster, args, change, trust.as_ref(), out).await? {
        restart_or_warn(&cluster, args, pods, out).await?;
    }
    match trust {
        Some(trust) if args.trust.verify => trust.verify(&cluster, args, keys, out).await,
        Some(_) => Ok(ExitCode::SUCCESS),
        None => {
            let advice =
                trust_policy_advice(role, &issuer, &cluster.namespace, &args.name, audience);
            out.print(&advice)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// What bind asks for, with warnings about values the webhook will change.
fn request(args: &BindArgs, out: Output) -> Result<Request> {
    let role = role_arn(args)?;
    if let Some(warning) = args.issuer.as_ref().and_then(|issuer| issuer.warning()) {
        out.warn(warning);
    }
    let floor = crate::binding::MIN_TOKEN_EXPIRATION;
    if let Some(seconds) = args.token_expiration.filter(|s| i64::from(*s) < floor) {
        out.warn(format_args!(
            "--token-expiration {seconds} is below {floor}: the webhook raises it to {floor} seconds"
        ));
    }
    Ok(Request {
        role_arn: role,
        audience: args.audience.clone(),
        sts_regional_endpoints: args.sts_regional_endpoints,
        token_expiration: args.token_expiration,
    })
}

/// `--issuer`, else the cluster's; where discovery is forbidden, a token's `iss` (of this
/// ServiceAccount when it exists, else of the namespace's `default`).
async fn issuer(
    cluster: &Cluster,
    args: &BindArgs,
    exists: bool,
    audience: &str,
    out: Output,
) -> Result<String> {
    if let Some(issuer) = &args.issuer {
        return Ok(issuer.to_string());
    }
    let account = if exists {
        args.name.as_str()
    } else {
        "default"
    };
    match cluster.issuer_or_token(account, audience).await? {
        Issuer::Discovered(url) => Ok(url),
        Issuer::FromToken(url) => {
            out.note(format_args!(
                "you may not read {DISCOVERY_PATH}, so the issuer is read from a token's iss: {url}"
            ));
            Ok(url)
        }
    }
}

/// The pods that run as the ServiceAccount; `None` (with a warning) when the user may not
/// list pods, which only costs the restart advice.
async fn pods_using(cluster: &Cluster, name: &str, out: Output) -> Option<Vec<ObjectMeta>> {
    match cluster.pods_using(name).await {
        Ok(pods) => Some(pods),
        Err(error) => {
            out.warn(format_args!(
                "cannot tell which pods keep the old identity: {error}"
            ));
            None
        }
    }
}

/// Pods keep the identity they started with: restart their workloads (--restart), or say
/// which to restart.
async fn restart_or_warn(
    cluster: &Cluster,
    args: &BindArgs,
    pods: Option<Vec<ObjectMeta>>,
    out: Output,
) -> Result<()> {
    let Some(pods) = pods.filter(|pods| !pods.is_empty()) else {
        return Ok(());
    };
    let (name, namespace) = (&args.name, &cluster.namespace);
    let mut left: Vec<&ObjectMeta> = pods.iter().collect();
    if args.restart {
        left.retain(|pod| !matches!(workload::workload(pod), Workload::Rollout { .. }));
        let mut rollouts: Vec<Workload> = pods.iter().map(workload::workload).collect();
        rollouts.retain(|w| matches!(w, Workload::Rollout { .. }));
        rollouts.sort();
        rollouts.dedup();
        for rollout in &rollouts {
            let Workload::Rollout { kind, name } = rollout else {
                continue;
            };
            if args.dry_run.mode.sends() {
                cluster.restart(kind, name, args.dry_run.mode).await?;
            }
            let suffix = args.dry_run.mode.suffix();
            out.line(format_args!("{rollout} restarted{suffix}"))?;
        }
    }
    if !left.is_empty() {
        // --restart re-creates the pods of Deployments, StatefulSets and DaemonSets only.
        let rollout = left
            .iter()
            .any(|pod| matches!(workload::workload(pod), Workload::Rollout { .. }));
        let again = if rollout {
            " (or bind again with --restart)"
        } else {
            ""
        };
        out.warn(format_args!(
            "{} pod(s) use serviceaccount/{name} and keep their old identity until they are re-created: {}{again}",
            left.len(),
            workload::restart(namespace, &left)
        ));
    }
    Ok(())
}

fn role_arn(args: &BindArgs) -> Result<RoleArn> {
    match (&args.role_arn, &args.role_name, &args.account) {
        (Some(arn), _, _) => Ok(arn.clone()),
        (None, Some(name), Some(account)) => {
            Ok(format!("arn:{}:iam::{account}:role/{name}", args.partition).parse()?)
        }
        _ => Err(Error::Usage(
            "give --role-arn ARN, or --role-name NAME with --account ID".into(),
        )),
    }
}

/// Creates or annotates the ServiceAccount; whether pods may now run with an old identity.
/// What bind will do to the ServiceAccount.
enum Change {
    Create(BTreeMap<String, String>),
    Unchanged,
    Set(BTreeMap<String, String>),
}

fn change(
    cluster: &Cluster,
    args: &BindArgs,
    existing: Option<&ServiceAccount>,
    wanted: &BTreeMap<String, String>,
) -> Result<Change> {
    let (name, namespace) = (&args.name, &cluster.namespace);
    let Some(existing) = existing else {
        if args.no_create {
            return Err(Error::Cluster(format!(
                "serviceaccount {namespace}/{name} not found: create it, or drop --no-create to let bind create it"
            )));
        }
        return Ok(Change::Create(wanted.clone()));
    };
    let present = existing.metadata.annotations.clone().unwrap_or_default();
    match plan(&present, wanted, args.overwrite) {
        Plan::Unchanged => Ok(Change::Unchanged),
        Plan::Refused { key, current } => Err(Error::Usage(format!(
            "serviceaccount {namespace}/{name} already has {key}={current}: pass --overwrite to replace it"
        ))),
        Plan::Set(changes) => Ok(Change::Set(changes)),
    }
}

/// IAM first, the cluster last: a refused ServiceAccount change undoes the IAM change.
async fn apply_both(
    cluster: &Cluster,
    args: &BindArgs,
    change: Change,
    trust: Option<&trust::Prepared>,
    out: Output,
) -> Result<bool> {
    if let Some(trust) = trust {
        trust.apply(args.dry_run.mode, out).await?;
    }
    let applied = apply(cluster, args, change, out).await;
    if let (Err(_), Some(trust)) = (&applied, trust) {
        trust.undo(args.dry_run.mode, out).await;
    }
    applied
}

/// Makes the change; whether running pods may now carry an old identity.
async fn apply(cluster: &Cluster, args: &BindArgs, change: Change, out: Output) -> Result<bool> {
    let (name, namespace) = (&args.name, &cluster.namespace);
    let (dry_run, suffix) = (args.dry_run.mode, args.dry_run.mode.suffix());
    match change {
        Change::Create(annotations) => {
            create(cluster, name, &annotations, dry_run).await?;
            out.line(format_args!(
                "serviceaccount/{name} created in namespace {namespace}{suffix}"
            ))?;
            Ok(false)
        }
        Change::Unchanged => {
            out.line(format_args!("serviceaccount/{name} unchanged"))?;
            Ok(false)
        }
        Change::Set(changes) => {
            if dry_run.sends() {
                let patch = serde_json::json!({ "metadata": { "annotations": changes } });
                cluster
                    .merge_patch::<ServiceAccount>(name, &patch, dry_run)
                    .await?;
            }
            out.line(format_args!("serviceaccount/{name} annotated{suffix}"))?;
            Ok(true)
        }
    }
}

async fn create(
    cluster: &Cluster,
    name: &str,
    annotations: &BTreeMap<String, String>,
    dry_run: DryRun,
) -> Result<()> {
    if !dry_run.sends() {
        return Ok(());
    }
    let account = ServiceAccount {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(cluster.namespace.clone()),
            annotations: Some(annotations.clone()),
            ..ObjectMeta::default()
        },
        ..ServiceAccount::default()
    };
    match cluster.create(&account, dry_run).await {
        Err(error) if error.is_not_found() => Err(Error::Hinted {
            hint: format!(
                "create the namespace first (kubectl create namespace {})",
                quote(&cluster.namespace)
            ),
            source: error,
        }),
        other => other.map(|_| ()).map_err(Error::from),
    }
}

/// The trust policy the role needs, and the AWS CLI commands that create or extend it.
fn trust_policy_advice(
    role: &RoleArn,
    issuer: &str,
    namespace: &str,
    name: &str,
    audience: &str,
) -> String {
    let sub = format!("system:serviceaccount:{namespace}:{name}");
    let grant = Grant::new(
        role.partition(),
        role.account(),
        issuer,
        vec![sub],
        audience,
    );
    let policy = trust_policy::generate(&[grant]);
    let pretty = serde_json::to_string_pretty(&policy).unwrap_or_default();
    let compact = serde_json::to_string(&policy).unwrap_or_default();
    let region = match role.partition() {
        Partition::Aws => "",
        Partition::AwsCn => " --region cn-north-1",
        Partition::AwsUsGov => " --region us-gov-west-1",
    };
    let role_name = quote(role.name());
    let (role_arn, issuer) = (quote(role.as_str()), quote(issuer));
    let subject = format!("{namespace}:{name}");
    let account = quote(&subject);
    format!(
        "\nTrust policy that {role} needs:\n{pretty}\n\nCreate the role with it:\n  \
         aws iam create-role{region} --role-name {role_name} --assume-role-policy-document {}\n\
         Or, if the role exists, add this ServiceAccount to its trust policy:\n  \
         aws iam get-role{region} --role-name {role_name} > role.json && kubectl irsa trust-policy --merge role.json --role-arn {role_arn} --service-account {account} --issuer {issuer} > trust.json && aws iam update-assume-role-policy{region} --role-name {role_name} --policy-document file://trust.json\n",
        quote(&compact)
    )
}
