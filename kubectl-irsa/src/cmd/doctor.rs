//! `kubectl irsa doctor`: fetch what each link of IRSA needs, run the checks of
//! [`crate::doctor`], print the report, and exit 1 when a check fails.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;

use irsa_sts::Claims;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};

use crate::kube_api::{CHUNK_SIZE, DISCOVERY_PATH, JWKS_PATH};

use super::input::read_json;
use crate::binding::{DEFAULT_AUDIENCE, Keys};
use crate::cli::DoctorArgs;
use crate::doctor::{Check, Report, Section, Status, Subject, account, fetch, issuer, trust};
use crate::error::{Error, Result};
use crate::identity::{self, IdentityOptions};
use crate::kube_api::{Cluster, KubeError, Scope};
use crate::output::{Output, ReportFormat};

/// How long to wait for the issuer host with --check-public.
const PUBLIC_TIMEOUT: Duration = Duration::from_secs(15);

pub async fn run(args: &DoctorArgs, out: Output) -> Result<ExitCode> {
    let policy = args
        .trust_policy
        .as_deref()
        .map(|path| read_json("--trust-policy", path))
        .transpose()?;
    let cluster = Cluster::connect(&args.kube.options()).await?;
    let keys = Keys::new(&args.prefix.annotation_prefix);
    let scope = (!args.all_namespaces).then_some(cluster.namespace.as_str());

    // The ServiceAccounts to look at: the one named, or every bound one in scope.
    let targets: Vec<(String, String, Option<ServiceAccount>)> = match &args.name {
        Some(name) => {
            let found = cluster.service_account(name).await?;
            vec![(cluster.namespace.clone(), name.clone(), found)]
        }
        None => cluster
            .list_all::<ServiceAccount>(&cluster.scope(args.all_namespaces), CHUNK_SIZE)
            .await?
            .into_iter()
            .filter(|sa| annotations_of(sa).contains_key(&keys.role_arn()))
            .map(|sa| {
                let ns = sa.metadata.namespace.clone().unwrap_or_default();
                let name = sa.metadata.name.clone().unwrap_or_default();
                (ns, name, Some(sa))
            })
            .collect(),
    };

    // Cluster-wide: issuer, keys, public documents, webhook.
    let (token_ns, token_sa) = targets
        .iter()
        .find(|t| t.2.is_some())
        .map_or((cluster.namespace.clone(), "default".to_string()), |t| {
            (t.0.clone(), t.1.clone())
        });
    let token = request_token(&cluster, &token_ns, &token_sa, DEFAULT_AUDIENCE).await;
    let claims = token.as_deref().ok().and_then(|t| Claims::decode(t).ok());
    let token_iss = match (&token, claims.as_ref().and_then(|c| c.iss.as_deref())) {
        (Ok(_), Some(iss)) => Ok(iss),
        (Ok(_), None) => Err("the token has no iss claim"),
        (Err(why), _) => Err(why.as_str()),
    };
    let discovery = get_raw(&cluster, DISCOVERY_PATH).await;
    let jwks = get_raw(&cluster, JWKS_PATH).await;
    let announced = discovery
        .as_deref()
        .ok()
        .and_then(|text| issuer::discovery_field(text, "issuer"));
    let issuer_url = announced.clone().or(token_iss.ok().map(str::to_string));
    let mut checks = vec![
        issuer::check_issuer(discovery.as_deref().map_err(Clone::clone), token_iss),
        issuer::check_jwks(
            jwks.as_deref().map_err(Clone::clone),
            token.as_deref().map_err(String::as_str),
            issuer_url.as_deref().unwrap_or("ISSUER"),
        ),
    ];
    if args.check_public {
        let kid = token
            .as_deref()
            .ok()
            .and_then(|t| jsonwebtoken::decode_header(t).ok())
            .and_then(|h| h.kid);
        checks.extend(public_checks(args, issuer_url.as_deref(), jwks.as_deref().ok(), kid).await?);
    }
    let webhook = list_webhooks(&cluster).await;
    let endpoints = match &webhook {
        Ok(Some((_, Some(service)))) => Some(ready_endpoints(&cluster, service).await),
        _ => None,
    };
    let has_webhook = matches!(webhook, Ok(Some(_)));
    checks.push(account::check_webhook(webhook, endpoints));
    let mut report = Report {
        sections: vec![Section {
            subject: Subject::Cluster,
            checks,
        }],
    };

    // Per ServiceAccount.
    let pods = if targets.iter().any(|t| t.2.is_some()) {
        cluster
            .pods_by_service_account(&cluster.scope(args.all_namespaces), CHUNK_SIZE)
            .await
            .map_err(|e| brief(&e))
    } else {
        Ok(HashMap::new())
    };
    let no_pods = HashMap::new();
    let by_account: &HashMap<(String, String), Vec<Pod>> = pods.as_ref().unwrap_or(&no_pods);
    for (namespace, name, found) in &targets {
        let mut checks = Vec::new();
        let subject = Subject::ServiceAccount {
            namespace: namespace.clone(),
            name: name.clone(),
        };
        let Some(sa) = found else {
            checks.push(Check::fail(
                "service-account",
                format!("serviceaccount {namespace}/{name} not found"),
                format!("kubectl irsa bind {name} -n {namespace} --role-arn ARN (creates it)"),
            ));
            report.sections.push(Section { subject, checks });
            continue;
        };
        let annotations = annotations_of(sa);
        let (role_check, role) =
            account::check_role_arn(&annotations, &keys, issuer_url.as_deref(), namespace, name);
        checks.push(role_check);
        checks.push(account::check_audience(
            &annotations,
            &keys,
            namespace,
            name,
        ));
        checks.push(account::check_expiration(
            &annotations,
            &keys,
            namespace,
            name,
        ));
        let own_pods = by_account
            .get(&(namespace.clone(), name.clone()))
            .map_or(&[][..], Vec::as_slice);
        match &pods {
            Ok(_) => {
                checks.push(account::check_injection(own_pods, has_webhook, namespace));
                checks.push(account::check_pods(own_pods, namespace));
            }
            Err(why) => checks.push(Check::warn(
                "injection",
                format!("cannot list pods: {why}"),
                format!("kubectl auth can-i list pods -n {namespace}"),
            )),
        }
        if let Some(policy) = &policy {
            let audience = annotations
                .get(&keys.audience())
                .map_or(DEFAULT_AUDIENCE, String::as_str);
            checks.push(
                match request_token(&cluster, namespace, name, audience).await {
                    Ok(token) => match Claims::decode(&token) {
                        Ok(claims) => {
                            trust::check_trust(policy, role.as_ref(), &claims, namespace, name)
                        }
                        Err(error) => Check::fail(
                            "trust",
                            error.to_string(),
                            "check the apiserver's --service-account-signing-key-file",
                        ),
                    },
                    Err(why) => Check::warn(
                        "trust",
                        format!("no token to evaluate the policy with: {why}"),
                        format!("kubectl auth can-i create serviceaccounts/token -n {namespace}"),
                    ),
                },
            );
        }
        if args.assume {
            checks.push(assume_check(&cluster, args, namespace, name).await);
        }
        report.sections.push(Section { subject, checks });
    }
    if args.name.is_none() && targets.is_empty() {
        out.status(format_args!(
            "No bound ServiceAccounts found{}; name one to check it.",
            scope
                .map(|ns| format!(" in {ns} namespace"))
                .unwrap_or_default()
        ));
    }
    finish(&report, args.output, out)
}

fn annotations_of(account: &ServiceAccount) -> std::collections::BTreeMap<String, String> {
    account.metadata.annotations.clone().unwrap_or_default()
}

fn finish(report: &Report, format: ReportFormat, out: Output) -> Result<ExitCode> {
    match format {
        ReportFormat::Json => out.json(&report.to_json())?,
        ReportFormat::Text => {
            let colour = crate::doctor::use_colour(
                std::io::stdout().is_terminal(),
                std::env::var("NO_COLOR").ok().as_deref(),
            );
            out.print(&report.render_text(colour))?;
            out.line(report.summary())?;
        }
    }
    Ok(if report.verdict() == Status::Fail {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A fresh token for `namespace/name` with `audience`, as the kubelet would request it.
async fn request_token(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    audience: &str,
) -> std::result::Result<String, String> {
    cluster
        .in_namespace(namespace)
        .request_token(name, audience)
        .await
        .map_err(|e| {
            format!(
                "cannot request a token for {namespace}/{name}: {}",
                brief(&e)
            )
        })?
        .ok_or_else(|| format!("the cluster returned no token for {namespace}/{name}"))
}

/// What the cluster answers at `path` (as `kubectl get --raw`).
async fn get_raw(cluster: &Cluster, path: &str) -> std::result::Result<String, String> {
    cluster.get_raw(path).await.map_err(|e| brief(&e))
}

fn brief(error: &KubeError) -> String {
    match error.status() {
        Some(status) => format!("{} {} ({})", status.code, status.reason, status.message),
        None => error.kube().to_string(),
    }
}

async fn list_webhooks(
    cluster: &Cluster,
) -> std::result::Result<Option<(String, Option<String>)>, String> {
    let configs = cluster
        .list_cluster::<MutatingWebhookConfiguration>()
        .await
        .map_err(|e| brief(&e))?;
    Ok(account::find_webhook(&configs))
}

/// Whether the service `namespace/name` has a ready endpoint.
async fn ready_endpoints(cluster: &Cluster, service: &str) -> std::result::Result<bool, String> {
    let (namespace, name) = service.split_once('/').unwrap_or(("default", service));
    let api: Api<EndpointSlice> = cluster.api(&Scope::Namespace(namespace.into()));
    let slices = api
        .list(&ListParams::default().labels(&format!("kubernetes.io/service-name={name}")))
        .await
        .map_err(|e| e.to_string())?;
    Ok(slices.items.iter().any(|slice| {
        slice
            .endpoints
            .iter()
            .any(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true))
    }))
}

/// Check 3: the issuer URL's own documents and thumbprint.
async fn public_checks(
    args: &DoctorArgs,
    issuer_url: Option<&str>,
    cluster_jwks: Option<&str>,
    kid: Option<String>,
) -> Result<Vec<Check>> {
    let Some(issuer_url) = issuer_url else {
        return Ok(vec![Check::fail(
            "public",
            "the cluster announces no issuer to fetch",
            "fix the issuer check first",
        )]);
    };
    let config = fetch::tls_config(args.ca_bundle.as_deref()).map_err(Error::Usage)?;
    let base = issuer_url.trim_end_matches('/');
    let discovery = fetch::get(
        &format!("{base}/.well-known/openid-configuration"),
        config.clone(),
        PUBLIC_TIMEOUT,
    )
    .await;
    let jwks = match discovery
        .as_deref()
        .ok()
        .and_then(|text| issuer::discovery_field(text, "jwks_uri"))
    {
        Some(uri) => fetch::get(&uri, config, PUBLIC_TIMEOUT).await,
        None => Err("the public discovery document has no jwks_uri".to_string()),
    };
    let thumbprint = match crate::oidc::provider::host_and_port(issuer_url) {
        Ok((host, port)) => crate::oidc::tls::served_chain(&host, port, PUBLIC_TIMEOUT)
            .await
            .and_then(|chain| {
                crate::oidc::provider::thumbprint(&chain).ok_or_else(|| "no certificate".into())
            }),
        Err(why) => Err(why),
    };
    Ok(vec![
        issuer::check_public(
            issuer_url,
            cluster_jwks,
            discovery.as_deref().map_err(Clone::clone),
            jwks.as_deref().map_err(Clone::clone),
            kid.as_deref(),
        ),
        issuer::check_thumbprint(issuer_url, thumbprint),
    ])
}

/// `--assume`: the live check of `whoami`.
async fn assume_check(cluster: &Cluster, args: &DoctorArgs, namespace: &str, name: &str) -> Check {
    let scoped = cluster.in_namespace(namespace);
    let options = IdentityOptions {
        role_arn: None,
        annotation_prefix: &args.prefix.annotation_prefix,
        region: args.region.clone(),
        endpoint_url: args.endpoint_url.clone(),
    };
    match identity::assume(&scoped, name, &options).await {
        Ok(identity) => Check::pass(
            "assume",
            format!("STS answered as {}", identity.credentials.assumed_role_arn),
        ),
        Err(error) => Check::fail(
            "assume",
            error.to_string(),
            format!(
                "fix the failing checks above, then prove it with kubectl irsa whoami {name} -n {namespace}"
            ),
        ),
    }
}
