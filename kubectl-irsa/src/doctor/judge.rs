//! Doctor's verdicts: `judge(&Evidence) -> Report`, pure. It runs the checks of
//! [`super::issuer`], [`super::account`], [`super::pods`] and [`super::trust`] on what
//! [`super::gather`] fetched, in the order the report shows them: the cluster's links first, then
//! each ServiceAccount's. Nothing here fetches, so a verdict is tested on a hand-built
//! [`Evidence`].

use crate::shell::quote;
use irsa_sts::Claims;

use super::evidence::{Account, ClusterEvidence, Evidence, Fetched, Public, document};
use super::{Check, Report, Section, Subject, account, issuer, pods, public, trust, webhook_flags};
use crate::binding::Keys;
use crate::webhook::Webhook;

/// The report of one run: the cluster section, then one section per ServiceAccount.
pub fn judge(evidence: &Evidence) -> Report {
    let issuer = evidence.cluster.issuer();
    let mut sections = vec![Section {
        subject: Subject::Cluster,
        checks: cluster_checks(&evidence.cluster, issuer.as_deref(), &evidence.keys),
    }];
    sections.extend(
        evidence
            .accounts
            .iter()
            .map(|account| account_section(evidence, account, issuer.as_deref())),
    );
    Report { sections }
}

/// Checks 1, 2, 3 (with --check-public) and the cluster-wide half of 5.
fn cluster_checks(cluster: &ClusterEvidence, issuer_url: Option<&str>, keys: &Keys) -> Vec<Check> {
    let token_iss = cluster.token_iss();
    let resolved = match &cluster.public {
        Public::Fetched {
            addresses: Some(found),
            ..
        } => Some(found.as_ref().map(Vec::as_slice).map_err(String::as_str)),
        _ => None,
    };
    let access = issuer::Access {
        discovery_denied: cluster.denied.discovery,
        token_denied: cluster.denied.token,
        resolved,
    };
    let mut checks = vec![
        issuer::check_issuer(document(&cluster.discovery), document(&token_iss), access),
        issuer::check_jwks(
            document(&cluster.jwks),
            cluster.denied.jwks,
            document(&cluster.token),
            issuer_url.unwrap_or("ISSUER"),
        ),
    ];
    checks.extend(public_checks(cluster, issuer_url));
    checks.push(account::check_webhook(
        &cluster.webhook,
        cluster.webhook_ready.as_ref(),
    ));
    if let Ok(Some(Webhook {
        service: Some(service),
        ..
    })) = &cluster.webhook
    {
        checks.push(match &cluster.webhook_flags {
            Some(flags) => webhook_flags::check(flags, service, keys.prefix()),
            None => webhook_flags::check_unread(service, keys),
        });
    }
    checks
}

/// Check 3, with --check-public: the issuer's documents as IAM fetches them, and the
/// thumbprint of their host.
fn public_checks(cluster: &ClusterEvidence, issuer_url: Option<&str>) -> Vec<Check> {
    match (&cluster.public, issuer_url) {
        (Public::NotAsked, _) => vec![],
        (Public::NoIssuer, _) | (Public::Fetched { .. }, None) => vec![Check::fail(
            "public",
            "the cluster announces no issuer to fetch",
            "fix the issuer check first",
        )],
        (
            Public::Fetched {
                discovery,
                jwks,
                thumbprint,
                ..
            },
            Some(issuer_url),
        ) => vec![
            public::check_public(
                issuer_url,
                cluster.jwks.as_deref().ok(),
                document(discovery),
                document(jwks),
                cluster.token_kid().as_deref(),
            ),
            public::check_thumbprint(thumbprint),
        ],
    }
}

/// Checks 4 to 7 for one ServiceAccount, and the live exchange with --assume.
fn account_section(evidence: &Evidence, account: &Account, issuer_url: Option<&str>) -> Section {
    let (namespace, name) = (account.namespace.as_str(), account.name.as_str());
    let subject = Subject::ServiceAccount {
        namespace: namespace.to_string(),
        name: name.to_string(),
    };
    let Some(object) = &account.object else {
        let missing = Check::fail(
            "service-account",
            format!("serviceaccount {namespace}/{name} not found"),
            format!(
                "kubectl irsa bind {} -n {} --role-arn ARN (creates it)",
                quote(name),
                quote(namespace)
            ),
        );
        return Section {
            subject,
            checks: vec![missing],
        };
    };
    let keys = &evidence.keys;
    let annotations = object.metadata.annotations.clone().unwrap_or_default();
    let (role_check, role) =
        account::check_role_arn(&annotations, keys, issuer_url, namespace, name);
    let mut checks = vec![
        role_check,
        account::check_audience(&annotations, keys, namespace, name),
        account::check_expiration(&annotations, keys, namespace, name),
    ];
    match &evidence.pods {
        Ok(_) => {
            let pods_of = evidence.pods_of(account);
            let context = pods::Context {
                namespace,
                name,
                role_key: &keys.role_arn(),
                webhook: matches!(evidence.cluster.webhook, Ok(Some(_))),
            };
            let binding = crate::binding::Binding::of(object, keys);
            checks.push(pods::check_injection(pods_of, context));
            checks.push(pods::check_pods(pods_of, &binding, context));
        }
        Err(why) => checks.push(Check::warn(
            "injection",
            format!("cannot list pods: {why}"),
            format!("kubectl auth can-i list pods -n {}", quote(namespace)),
        )),
    }
    if let (Some(policy), Some(token)) = (&evidence.trust_policy, &account.trust_token) {
        checks.push(trust_check(policy, role.as_ref(), token, account));
    }
    if let Some(assumed) = &account.assumed {
        checks.push(assume_check(assumed, account));
    }
    Section { subject, checks }
}

/// Check 6: the trust policy against the claims of the account's own token.
fn trust_check(
    policy: &serde_json::Value,
    role: Option<&irsa_sts::RoleArn>,
    token: &Fetched<String>,
    account: &Account,
) -> Check {
    let (namespace, name) = (account.namespace.as_str(), account.name.as_str());
    match token.as_deref().map(Claims::decode) {
        Ok(Ok(claims)) => trust::check_trust(policy, role, &claims, namespace, name),
        Ok(Err(error)) => Check::fail(
            "trust",
            error.to_string(),
            "check the apiserver's --service-account-signing-key-file",
        ),
        Err(why) if account.trust_token_denied => Check::warn(
            "trust",
            format!("no token to evaluate the policy with: {why}"),
            format!(
                "kubectl auth can-i create serviceaccounts/token -n {}",
                quote(namespace)
            ),
        ),
        Err(why) => Check::warn(
            "trust",
            format!("no token to evaluate the policy with: {why}"),
            issuer::no_token_fix(false),
        ),
    }
}

/// `--assume`: what STS answered for the account's token.
fn assume_check(assumed: &Fetched<String>, account: &Account) -> Check {
    let (namespace, name) = (account.namespace.as_str(), account.name.as_str());
    match assumed {
        Ok(role) => Check::pass("assume", format!("STS answered as {role}")),
        Err(error) => Check::fail(
            "assume",
            error.clone(),
            format!(
                "fix the failing checks above, then prove it with kubectl irsa whoami {} -n {}",
                quote(name),
                quote(namespace)
            ),
        ),
    }
}

#[cfg(test)]
#[path = "judge_tests.rs"]
mod tests;
