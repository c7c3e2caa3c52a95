//! `kubectl irsa bind`: annotate (or create) a ServiceAccount and print the trust policy.

use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use kube::api::{Api, ListParams, ObjectMeta, Patch, PatchParams};

use irsa_sts::{Partition, RoleArn};

use crate::annotations::{Binding, Keys, Plan, plan};
use crate::cli::{BindArgs, DryRun, KubeFlags};
use crate::cluster::{self, Cluster};
use crate::cmd::{self, FIELD_MANAGER};
use crate::error::{CliError, from_kube};
use crate::names;
use crate::trust_policy::{self, Grant, Provider};

pub async fn run(flags: &KubeFlags, args: &BindArgs) -> Result<(), CliError> {
    names::check_service_account(&args.name)?;
    let role_arn = role_arn(args)?;
    if let Some(issuer) = &args.issuer
        && let Some(warning) = names::check_issuer(issuer)?
    {
        eprintln!("Warning: {warning}");
    }
    if let Some(seconds) = args.token_expiration
        && seconds < 600
    {
        eprintln!(
            "Warning: --token-expiration {seconds} is below 600: the webhook raises it to 600 seconds"
        );
    }
    let keys = Keys::new(&args.prefix.annotation_prefix);
    let binding = Binding {
        role_arn,
        audience: args.audience.clone(),
        sts_regional_endpoints: args.sts_regional_endpoints,
        token_expiration: args.token_expiration,
    };
    let wanted = binding.annotations(&keys);

    let Cluster { client, namespace } = cluster::connect(flags).await?;
    let what = format!("serviceaccount {namespace}/{}", args.name);
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), &namespace);
    let suffix = cmd::dry_run_suffix(args.dry_run);

    let mut restart_needed = false;
    match cmd::get_service_account(&api, &namespace, &args.name).await? {
        None if args.no_create => {
            return Err(CliError::Cluster(format!(
                "{what} not found: create it, or drop --no-create to let bind create it"
            )));
        }
        None => {
            let account = ServiceAccount {
                metadata: ObjectMeta {
                    name: Some(args.name.clone()),
                    namespace: Some(namespace.clone()),
                    annotations: Some(wanted.clone()),
                    ..ObjectMeta::default()
                },
                ..ServiceAccount::default()
            };
            if args.dry_run != DryRun::Client {
                api.create(&cmd::post_params(args.dry_run), &account)
                    .await
                    .map_err(|error| match error {
                        kube::Error::Api(status) if status.is_not_found() => CliError::Cluster(format!(
                            "cannot create {what}: {}; create the namespace first (kubectl create namespace {namespace})",
                            status.message
                        )),
                        other => from_kube(other, "create", &what),
                    })?;
            }
            println!(
                "serviceaccount/{} created in namespace {namespace}{suffix}",
                args.name
            );
        }
        Some(existing) => match plan(&cmd::annotations_of(&existing), &wanted, args.overwrite) {
            Plan::Unchanged => println!("serviceaccount/{} unchanged", args.name),
            Plan::Refused { key, current } => {
                return Err(CliError::Usage(format!(
                    "{what} already has {key}={current}: pass --overwrite to replace it"
                )));
            }
            Plan::Set(changes) => {
                if args.dry_run != DryRun::Client {
                    let patch = serde_json::json!({ "metadata": { "annotations": changes } });
                    let params = PatchParams {
                        dry_run: args.dry_run == DryRun::Server,
                        field_manager: Some(FIELD_MANAGER.into()),
                        ..PatchParams::default()
                    };
                    api.patch(&args.name, &params, &Patch::Merge(&patch))
                        .await
                        .map_err(|e| from_kube(e, "patch", &what))?;
                }
                println!("serviceaccount/{} annotated{suffix}", args.name);
                restart_needed = true;
            }
        },
    }

    if restart_needed {
        let pods = pods_using(&client, &namespace, &args.name).await?;
        if pods > 0 {
            eprintln!(
                "Warning: {pods} pod(s) use serviceaccount/{} and keep their old identity until they restart (kubectl rollout restart the workloads that run them)",
                args.name
            );
        }
    }

    let issuer = match &args.issuer {
        Some(issuer) => issuer.clone(),
        None => cluster::discover_issuer(&client).await?,
    };
    print_trust_policy(
        &binding.role_arn,
        &issuer,
        &namespace,
        &args.name,
        binding.audience.as_deref(),
    )
}

fn role_arn(args: &BindArgs) -> Result<RoleArn, CliError> {
    let arn = match (&args.role_arn, &args.role_name, &args.account) {
        (Some(arn), _, _) => arn.clone(),
        (None, Some(name), Some(account)) => {
            format!("arn:{}:iam::{account}:role/{name}", args.partition)
        }
        _ => {
            return Err(CliError::Usage(
                "give --role-arn ARN, or --role-name NAME with --account ID".into(),
            ));
        }
    };
    Ok(arn.parse()?)
}

/// How many pods in `namespace` run as the ServiceAccount.
async fn pods_using(client: &kube::Client, namespace: &str, name: &str) -> Result<usize, CliError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let params = ListParams::default().fields(&format!("spec.serviceAccountName={name}"));
    let list = pods
        .list_metadata(&params)
        .await
        .map_err(|e| from_kube(e, "list", &format!("pods in namespace {namespace}")))?;
    Ok(list.items.len())
}

fn print_trust_policy(
    role: &RoleArn,
    issuer: &str,
    namespace: &str,
    name: &str,
    audience: Option<&str>,
) -> Result<(), CliError> {
    let grant = Grant {
        provider: Provider {
            partition: role.partition(),
            account: role.account().to_string(),
            issuer_hostpath: irsa_sts::token::issuer_hostpath(issuer).to_string(),
        },
        subjects: vec![format!("system:serviceaccount:{namespace}:{name}")],
        audience: audience.unwrap_or("sts.amazonaws.com").to_string(),
    };
    let policy = trust_policy::generate(&[grant]);
    let pretty = serde_json::to_string_pretty(&policy).unwrap_or_default();
    let compact = serde_json::to_string(&policy).unwrap_or_default();
    let region_hint = match role.partition() {
        Partition::Aws => "",
        Partition::AwsCn => " --region cn-north-1",
        Partition::AwsUsGov => " --region us-gov-west-1",
    };
    println!("\nTrust policy that {role} needs:\n{pretty}");
    println!("\nCreate the role with it:");
    println!(
        "  aws iam create-role{region_hint} --role-name {} --assume-role-policy-document '{compact}'",
        role.name()
    );
    println!("Or, if the role exists, add this ServiceAccount to its trust policy:");
    println!(
        "  aws iam get-role{region_hint} --role-name {name_arg} > role.json && kubectl irsa trust-policy --merge role.json --role-arn {role} --service-account {namespace}:{name} --issuer {issuer} > trust.json && aws iam update-assume-role-policy{region_hint} --role-name {name_arg} --policy-document file://trust.json",
        name_arg = role.name()
    );
    Ok(())
}
