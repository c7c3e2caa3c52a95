//! `kubectl irsa doctor`: fetch what each link of IRSA needs, run the checks of
//! [`crate::doctor`], print the report, and exit 1 when a check fails.

use std::collections::HashMap;
use std::io::{IsTerminal as _, Read as _};
use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;
use irsa_sts::Claims;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};

use crate::annotations::Keys;
use crate::cli::{KubeFlags, PrefixArg};
use crate::cluster::{self, Cluster};
use crate::cmd;
use crate::doctor::{Check, Report, Section, Status, Subject, account, fetch, issuer, trust};
use crate::error::CliError;
use crate::identity::{self, IdentityOptions};
use crate::names;

/// Output formats for `doctor`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DoctorFormat {
    /// A readable report (coloured on a terminal unless NO_COLOR is set).
    #[default]
    Text,
    /// One JSON document, for CI.
    Json,
}

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// The ServiceAccount [default: every bound ServiceAccount of the namespace].
    #[arg(value_name = "SERVICEACCOUNT")]
    pub name: Option<String>,

    /// Check the bound ServiceAccounts of all namespaces.
    #[arg(short = 'A', long, conflicts_with = "name")]
    pub all_namespaces: bool,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: DoctorFormat,

    /// Also fetch the discovery document and JWKS from the issuer URL as IAM does, compare them
    /// with the cluster's, and print the issuer host's thumbprint.
    #[arg(long)]
    pub check_public: bool,

    /// PEM certificates to trust besides the public roots for --check-public (a private CA).
    #[arg(long, value_name = "FILE", requires = "check_public")]
    pub ca_bundle: Option<PathBuf>,

    /// The role's trust policy (or `aws iam get-role` output) to evaluate against each
    /// ServiceAccount's token, as IAM would; - reads stdin.
    #[arg(long, value_name = "FILE")]
    pub trust_policy: Option<PathBuf>,

    /// Also trade each ServiceAccount's token with STS from this machine, as `whoami` does.
    #[arg(long)]
    pub assume: bool,

    /// The STS region for --assume [env: AWS_REGION, AWS_DEFAULT_REGION].
    #[arg(long, requires = "assume")]
    pub region: Option<String>,

    /// The STS endpoint for --assume [env: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL].
    #[arg(long, value_name = "URL", requires = "assume")]
    pub endpoint_url: Option<String>,

    #[command(flatten)]
    pub prefix: PrefixArg,
}

/// How long to wait for the issuer host with --check-public.
const PUBLIC_TIMEOUT: Duration = Duration::from_secs(15);
const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";

pub async fn run(flags: &KubeFlags, args: &DoctorArgs) -> Result<(), CliError> {
    if let Some(name) = &args.name {
        names::check_service_account(name)?;
    }
    let policy = args.trust_policy.as_deref().map(read_policy).transpose()?;
    let cluster = cluster::connect(flags).await?;
    let client = &cluster.client;
    let keys = Keys::new(&args.prefix.annotation_prefix);
    let scope = (!args.all_namespaces).then_some(cluster.namespace.as_str());

    // The ServiceAccounts to look at: the one named, or every bound one in scope.
    let targets: Vec<(String, String, Option<ServiceAccount>)> = match &args.name {
        Some(name) => {
            let api: Api<ServiceAccount> = Api::namespaced(client.clone(), &cluster.namespace);
            let found = cmd::get_service_account(&api, &cluster.namespace, name).await?;
            vec![(cluster.namespace.clone(), name.clone(), found)]
        }
        None => {
            let api: Api<ServiceAccount> = match scope {
                Some(ns) => Api::namespaced(client.clone(), ns),
                None => Api::all(client.clone()),
            };
            cmd::list_all(&api, 500, "serviceaccounts")
                .await?
                .into_iter()
                .filter(|sa| cmd::annotations_of(sa).contains_key(&keys.role_arn()))
                .map(|sa| {
                    let ns = sa.metadata.namespace.clone().unwrap_or_default();
                    let name = sa.metadata.name.clone().unwrap_or_default();
                    (ns, name, Some(sa))
                })
                .collect()
        }
    };

    // Cluster-wide: issuer, keys, public documents, webhook.
    let (token_ns, token_sa) = targets
        .iter()
        .find(|t| t.2.is_some())
        .map_or((cluster.namespace.clone(), "default".to_string()), |t| {
            (t.0.clone(), t.1.clone())
        });
    let token = request_token(client, &token_ns, &token_sa, DEFAULT_AUDIENCE).await;
    let claims = token.as_deref().ok().and_then(|t| Claims::decode(t).ok());
    let token_iss = match (&token, claims.as_ref().and_then(|c| c.iss.as_deref())) {
        (Ok(_), Some(iss)) => Ok(iss),
        (Ok(_), None) => Err("the token has no iss claim"),
        (Err(why), _) => Err(why.as_str()),
    };
    let discovery = get_raw(client, "/.well-known/openid-configuration").await;
    let jwks = get_raw(client, "/openid/v1/jwks").await;
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
    let webhook = list_webhooks(client).await;
    let endpoints = match &webhook {
        Ok(Some((_, Some(service)))) => Some(ready_endpoints(client, service).await),
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
        let api: Api<Pod> = match scope {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };
        cmd::list_all(&api, 500, "pods")
            .await
            .map_err(|e| e.to_string())
    } else {
        Ok(Vec::new())
    };
    let mut by_account: HashMap<(String, String), Vec<Pod>> = HashMap::new();
    for pod in pods.as_deref().unwrap_or_default() {
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let sa = pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_else(|| "default".into());
        by_account.entry((ns, sa)).or_default().push(pod.clone());
    }
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
        let annotations = cmd::annotations_of(sa);
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
                match request_token(client, namespace, name, audience).await {
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
        eprintln!(
            "No bound ServiceAccounts found{}; name one to check it.",
            scope
                .map(|ns| format!(" in {ns} namespace"))
                .unwrap_or_default()
        );
    }
    finish(&report, args.output)
}

fn finish(report: &Report, format: DoctorFormat) -> Result<(), CliError> {
    let failed = report.verdict() == Status::Fail;
    match format {
        DoctorFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&report.to_json()).unwrap_or_default()
            );
            if failed {
                return Err(CliError::Verdict(String::new()));
            }
        }
        DoctorFormat::Text => {
            let colour = crate::doctor::use_colour(
                std::io::stdout().is_terminal(),
                std::env::var("NO_COLOR").ok().as_deref(),
            );
            print!("{}", report.render_text(colour));
            let summary = report.summary();
            if failed {
                return Err(CliError::Verdict(summary));
            }
            println!("{summary}");
        }
    }
    Ok(())
}

fn read_policy(path: &std::path::Path) -> Result<serde_json::Value, CliError> {
    let mut text = String::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    read.map_err(|e| {
        CliError::Usage(format!(
            "cannot read --trust-policy {}: {e}",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "--trust-policy {} is not JSON ({e}): give the policy or `aws iam get-role` output",
            path.display()
        ))
    })
}

/// A fresh token for `namespace/name` with `audience`, as the kubelet would request it.
async fn request_token(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    audience: &str,
) -> Result<String, String> {
    cluster::request_token(client, namespace, name, audience)
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
async fn get_raw(client: &kube::Client, path: &str) -> Result<String, String> {
    let request = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    client.request_text(request).await.map_err(|e| brief(&e))
}

fn brief(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => {
            format!("{} {} ({})", status.code, status.reason, status.message)
        }
        other => other.to_string(),
    }
}

async fn list_webhooks(client: &kube::Client) -> Result<Option<(String, Option<String>)>, String> {
    let api: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let configs = api
        .list(&ListParams::default())
        .await
        .map_err(|e| brief(&e))?;
    Ok(account::find_webhook(&configs.items))
}

/// Whether the service `namespace/name` has a ready endpoint.
async fn ready_endpoints(client: &kube::Client, service: &str) -> Result<bool, String> {
    let (namespace, name) = service.split_once('/').unwrap_or(("default", service));
    let api: Api<EndpointSlice> = Api::namespaced(client.clone(), namespace);
    let slices = api
        .list(&ListParams::default().labels(&format!("kubernetes.io/service-name={name}")))
        .await
        .map_err(|e| brief(&e))?;
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
) -> Result<Vec<Check>, CliError> {
    let Some(issuer_url) = issuer_url else {
        return Ok(vec![Check::fail(
            "public",
            "the cluster announces no issuer to fetch",
            "fix the issuer check first",
        )]);
    };
    let config = fetch::tls_config(args.ca_bundle.as_deref()).map_err(CliError::Usage)?;
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
    let scoped = Cluster {
        client: cluster.client.clone(),
        namespace: namespace.to_string(),
    };
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
