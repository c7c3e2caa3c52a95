//! The pod identity webhook as the cluster runs it: its MutatingWebhookConfiguration, and the
//! flags that change what it injects, read from its Deployment's command where the user may
//! read it (a webhook run in the cluster, as its `deploy/` manifests and OpenShift's cloud
//! credential operator run it; on EKS it runs in the control plane). main.go of
//! aws/amazon-eks-pod-identity-webhook defines the flags; the plugin's annotation prefix and
//! default audience must be the webhook's, or bind writes annotations it never reads. Pure.

use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::Deployment;

use crate::binding::{DEFAULT_AUDIENCE, DEFAULT_PREFIX, DEFAULT_TOKEN_EXPIRATION, Keys, go_bool};

/// A MutatingWebhookConfiguration of the pod identity webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    /// The configuration's name.
    pub config: String,
    /// `namespace/name` of the service it calls; `None` when it calls a URL (as on EKS).
    pub service: Option<String>,
}

impl Webhook {
    /// The first configuration with a webhook named under `amazonaws.com`, or named
    /// `pod-identity-webhook`.
    pub fn find(configs: &[MutatingWebhookConfiguration]) -> Option<Webhook> {
        configs.iter().find_map(|config| {
            let name = config.metadata.name.clone().unwrap_or_default();
            let webhook = config.webhooks.iter().flatten().find(|w| {
                w.name.contains("amazonaws.com") || name.contains("pod-identity-webhook")
            })?;
            let service = webhook
                .client_config
                .service
                .as_ref()
                .map(|s| format!("{}/{}", s.namespace, s.name));
            Some(Webhook {
                config: name,
                service,
            })
        })
    }

    /// The namespace and name of the Deployment that serves it: named as its service, as in
    /// the webhook's `deploy/` and on OpenShift. `None` when it runs outside the cluster.
    pub fn deployment(&self) -> Option<(&str, &str)> {
        self.service.as_deref()?.split_once('/')
    }
}

/// The flags that change what the webhook injects, as its Deployment passes them; `None` is
/// the webhook's default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookFlags {
    /// `--annotation-prefix` (default `eks.amazonaws.com`).
    pub annotation_prefix: Option<String>,
    /// `--token-audience` (default `sts.amazonaws.com`).
    pub token_audience: Option<String>,
    /// `--aws-default-region` (default: none, no region env).
    pub region: Option<String>,
    /// `--sts-regional-endpoint` (default false).
    pub sts_regional_endpoint: Option<String>,
    /// `--token-expiration` in seconds (default 86400).
    pub token_expiration: Option<String>,
}

impl WebhookFlags {
    /// Reads the flags from a container's command and args as spf13/pflag, which main.go
    /// parses with, takes them: `--flag=value` or `--flag value`, a bool flag alone is true, the
    /// last of a repeated flag wins, and `--` ends the flags.
    pub fn parse(words: &[String]) -> WebhookFlags {
        let mut flags = WebhookFlags::default();
        let mut words = words.iter().peekable();
        while let Some(word) = words.next() {
            if word == "--" {
                break;
            }
            let Some(flag) = word.strip_prefix("--") else {
                continue;
            };
            let (name, value) = match flag.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None if flag == "sts-regional-endpoint" => (flag, Some("true".to_string())),
                None => (flag, words.next_if(|w| !w.starts_with('-')).cloned()),
            };
            let slot = match name {
                "annotation-prefix" => &mut flags.annotation_prefix,
                "token-audience" => &mut flags.token_audience,
                "aws-default-region" => &mut flags.region,
                "sts-regional-endpoint" => &mut flags.sts_regional_endpoint,
                "token-expiration" => &mut flags.token_expiration,
                _ => continue,
            };
            *slot = value;
        }
        flags
    }

    /// The flags of a Deployment's first container (the webhook's own).
    pub fn of_deployment(deployment: Deployment) -> Option<WebhookFlags> {
        let container = deployment
            .spec?
            .template
            .spec?
            .containers
            .into_iter()
            .next()?;
        let words: Vec<String> = container
            .command
            .into_iter()
            .flatten()
            .chain(container.args.into_iter().flatten())
            .collect();
        Some(WebhookFlags::parse(&words))
    }

    /// The prefix the webhook watches.
    pub fn prefix(&self) -> &str {
        self.annotation_prefix.as_deref().unwrap_or(DEFAULT_PREFIX)
    }

    /// The audience of tokens for ServiceAccounts without an audience annotation.
    pub fn audience(&self) -> &str {
        self.token_audience.as_deref().unwrap_or(DEFAULT_AUDIENCE)
    }

    /// Whether pods get `AWS_STS_REGIONAL_ENDPOINTS=regional` without the annotation.
    pub fn regional_sts(&self) -> bool {
        self.sts_regional_endpoint
            .as_deref()
            .and_then(go_bool)
            .unwrap_or(false)
    }

    /// The token lifetime without the annotation.
    pub fn expiration(&self) -> i64 {
        self.token_expiration
            .as_deref()
            .and_then(|text| text.parse().ok())
            .unwrap_or(DEFAULT_TOKEN_EXPIRATION)
    }
}

/// The annotation keys: under `given` (`--annotation-prefix`), else the webhook's prefix, with
/// the defaults of the webhook's flags when they were read (a given prefix changes only the
/// prefix: pods still get the webhook's audience), else the webhook's built-in defaults.
pub fn keys(given: Option<&str>, flags: Option<&WebhookFlags>) -> Keys {
    let defaults = WebhookFlags::default();
    let flags = flags.unwrap_or(&defaults);
    Keys::new(given.unwrap_or(flags.prefix()))
        .with_default_audience(flags.audience())
        .with_defaults(flags.regional_sts(), flags.expiration())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn flags_are_read_as_pflag_reads_them() {
        let flags = WebhookFlags::parse(&words(
            "/webhook --in-cluster=false --annotation-prefix=eks.amazonaws.com --annotation-prefix=sts.amazonaws.com --token-audience sts.example.com --aws-default-region eu-west-1 --sts-regional-endpoint --token-expiration=300 --logtostderr -- --token-audience=after",
        ));
        assert_eq!(
            flags,
            WebhookFlags {
                annotation_prefix: Some("sts.amazonaws.com".into()),
                token_audience: Some("sts.example.com".into()),
                region: Some("eu-west-1".into()),
                sts_regional_endpoint: Some("true".into()),
                token_expiration: Some("300".into()),
            }
        );
        // A single dash is a shorthand in pflag, which these flags have none of.
        let defaults = WebhookFlags::parse(&words("/webhook --port=443 -token-audience x"));
        assert_eq!(defaults, WebhookFlags::default());
        assert_eq!(
            (defaults.prefix(), defaults.audience()),
            ("eks.amazonaws.com", "sts.amazonaws.com")
        );
        let keys = keys(None, Some(&flags));
        assert_eq!(keys.role_arn(), "sts.amazonaws.com/role-arn");
        assert_eq!(keys.default_audience(), "sts.example.com");
        // An account without annotations, as cache.go's addSA reads it: the flags' defaults,
        // the expiration raised to 600 s as main.go raises it.
        let bound = std::collections::BTreeMap::from([(
            keys.role_arn(),
            "arn:aws:iam::123456789012:role/r".to_string(),
        )]);
        let binding = crate::binding::Binding::read(&bound, &keys);
        assert_eq!(
            (
                binding.audience.as_str(),
                binding.sts_regional_endpoints,
                binding.token_expiration
            ),
            ("sts.example.com", true, 600)
        );
    }

    #[test]
    fn the_deployments_command_and_args_are_read() {
        // OpenShift's cloud credential operator passes them as args, deploy/ as the command.
        let deployment: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "pod-identity-webhook"},
            "spec": {"selector": {}, "template": {"spec": {"containers": [{
                "name": "pod-identity-webhook",
                "command": ["/usr/bin/aws-pod-identity-webhook"],
                "args": ["--annotation-prefix=eks.amazonaws.com", "--aws-default-region=us-east-1"],
            }]}}},
        }))
        .unwrap();
        let flags = WebhookFlags::of_deployment(deployment).unwrap();
        assert_eq!(
            flags.annotation_prefix.as_deref(),
            Some("eks.amazonaws.com")
        );
        assert_eq!(flags.region.as_deref(), Some("us-east-1"));
    }

    #[test]
    fn the_configuration_is_found_with_its_service() {
        let config = |name: &str, hook: &str, client: serde_json::Value| {
            serde_json::from_value::<MutatingWebhookConfiguration>(json!({
                "metadata": {"name": name},
                "webhooks": [{"name": hook, "clientConfig": client, "sideEffects": "None", "admissionReviewVersions": ["v1"]}],
            }))
            .unwrap()
        };
        let istio = config(
            "istio-sidecar-injector",
            "sidecar-injector.istio.io",
            json!({"url": "https://i"}),
        );
        let eks = config(
            "pod-identity-webhook",
            "iam-for-pods.amazonaws.com",
            json!({"url": "https://x"}),
        );
        let own = config(
            "irsa",
            "pod-identity-webhook.amazonaws.com",
            json!({"service": {"namespace": "identity", "name": "pod-identity-webhook"}}),
        );
        let found = Webhook::find(&[istio.clone(), eks]).unwrap();
        assert_eq!(
            (found.config.as_str(), found.deployment()),
            ("pod-identity-webhook", None)
        );
        let found = Webhook::find(&[istio.clone(), own]).unwrap();
        assert_eq!(
            found.deployment(),
            Some(("identity", "pod-identity-webhook"))
        );
        assert_eq!(Webhook::find(&[istio]), None);
    }
}
