//! The pod identity webhook's own flags, read from its Deployment's arguments where the user
//! may read them (a self-hosted webhook; on EKS it runs in the control plane): the annotation
//! prefix it watches, the default token audience, the region and the regional STS switch
//! (main.go of aws/amazon-eks-pod-identity-webhook). The plugin's `--annotation-prefix` must be
//! the webhook's, or bind writes annotations the webhook never reads. Pure.

use super::Check;

/// The flags that change what the webhook injects, as its Deployment passes them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookFlags {
    /// `--annotation-prefix` (the webhook's default `eks.amazonaws.com`).
    pub annotation_prefix: Option<String>,
    /// `--token-audience` (default `sts.amazonaws.com`).
    pub token_audience: Option<String>,
    /// `--aws-default-region` (default: none, no region env).
    pub region: Option<String>,
    /// `--sts-regional-endpoint` (default false).
    pub sts_regional_endpoint: Option<String>,
}

/// Reads the flags from a container's command and args (`--flag=value` or `--flag value`, as
/// pflag takes them).
pub fn parse(words: &[String]) -> WebhookFlags {
    let mut flags = WebhookFlags::default();
    let mut words = words.iter().peekable();
    while let Some(word) = words.next() {
        let Some(flag) = word.strip_prefix("--") else {
            continue;
        };
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None if flag == "sts-regional-endpoint" => (flag, Some("true".to_string())),
            None => (flag, words.next_if(|w| !w.starts_with("--")).cloned()),
        };
        let slot = match name {
            "annotation-prefix" => &mut flags.annotation_prefix,
            "token-audience" => &mut flags.token_audience,
            "aws-default-region" => &mut flags.region,
            "sts-regional-endpoint" => &mut flags.sts_regional_endpoint,
            _ => continue,
        };
        *slot = value;
    }
    flags
}

/// The check: the webhook watches the prefix the plugin uses (`prefix`).
pub fn check(flags: &WebhookFlags, deployment: &str, prefix: &str) -> Check {
    const NAME: &str = "webhook-flags";
    let watched = flags
        .annotation_prefix
        .as_deref()
        .unwrap_or(crate::binding::DEFAULT_PREFIX);
    let audience = flags
        .token_audience
        .as_deref()
        .unwrap_or(crate::binding::DEFAULT_AUDIENCE);
    let region = flags.region.as_deref().unwrap_or("none");
    let evidence = format!(
        "{deployment} watches {watched} annotations; default audience {audience}; region {region}"
    );
    if watched != prefix {
        return Check::fail(
            NAME,
            format!(
                "{evidence}, but kubectl irsa uses {prefix}: bind writes annotations it never reads"
            ),
            format!("pass --annotation-prefix {watched} to every kubectl irsa command"),
        );
    }
    Check::pass(NAME, evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn flags_are_read_in_both_pflag_forms() {
        let flags = parse(&words(
            "/webhook --in-cluster=false --annotation-prefix=sts.amazonaws.com --token-audience sts.example.com --aws-default-region eu-west-1 --sts-regional-endpoint --logtostderr",
        ));
        assert_eq!(
            flags,
            WebhookFlags {
                annotation_prefix: Some("sts.amazonaws.com".into()),
                token_audience: Some("sts.example.com".into()),
                region: Some("eu-west-1".into()),
                sts_regional_endpoint: Some("true".into()),
            }
        );
        assert_eq!(
            parse(&words("/webhook --port=443")),
            WebhookFlags::default()
        );
    }

    #[test]
    fn another_prefix_than_the_plugins_fails() {
        let flags = parse(&words("--annotation-prefix=sts.amazonaws.com"));
        let check = check(
            &flags,
            "openshift-cloud-credential-operator/pod-identity-webhook",
            "eks.amazonaws.com",
        );
        assert_eq!(
            check,
            Check::fail(
                "webhook-flags",
                "openshift-cloud-credential-operator/pod-identity-webhook watches sts.amazonaws.com annotations; default audience sts.amazonaws.com; region none, but kubectl irsa uses eks.amazonaws.com: bind writes annotations it never reads",
                "pass --annotation-prefix sts.amazonaws.com to every kubectl irsa command",
            )
        );
        let same = super::check(
            &WebhookFlags::default(),
            "eks/pod-identity-webhook",
            "eks.amazonaws.com",
        );
        assert_eq!(
            same,
            Check::pass(
                "webhook-flags",
                "eks/pod-identity-webhook watches eks.amazonaws.com annotations; default audience sts.amazonaws.com; region none"
            )
        );
    }
}
