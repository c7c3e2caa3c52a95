//! The ServiceAccount annotations the pod identity webhook reads: their keys, what they say
//! once read with the webhook's defaults and rules ([`Binding`]), and how `bind` changes them
//! ([`Request`], [`plan`]). The webhook's defaults live here once (pkg/annotations.go and
//! pkg/cache/cache.go of aws/amazon-eks-pod-identity-webhook).

use std::collections::BTreeMap;

use irsa_sts::{ArnError, RoleArn};

/// The audience tokens are requested for unless annotated otherwise.
pub const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";
/// The projected token's lifetime, in seconds, unless annotated otherwise.
pub const DEFAULT_TOKEN_EXPIRATION: i64 = 86400;
/// The webhook raises shorter lifetimes to this.
pub const MIN_TOKEN_EXPIRATION: i64 = 600;
/// The annotation prefix the webhook watches by default (its `--annotation-prefix`).
pub const DEFAULT_PREFIX: &str = "eks.amazonaws.com";

/// The annotation keys under one prefix (`eks.amazonaws.com` by default), and what the webhook
/// gives ServiceAccounts without the other annotations (its `--token-audience`,
/// `--sts-regional-endpoint` and `--token-expiration`; pkg/cache/cache.go `addSA`).
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
    default_audience: String,
    default_regional_sts: bool,
    default_expiration: i64,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Keys {
            prefix: prefix.trim_end_matches('/').to_string(),
            default_audience: DEFAULT_AUDIENCE.to_string(),
            default_regional_sts: false,
            default_expiration: DEFAULT_TOKEN_EXPIRATION,
        }
    }

    /// The same keys, for a webhook run with `--sts-regional-endpoint` and `--token-expiration`
    /// (raised to [`MIN_TOKEN_EXPIRATION`], as main.go does).
    pub fn with_defaults(mut self, regional_sts: bool, expiration: i64) -> Self {
        self.default_regional_sts = regional_sts;
        self.default_expiration = expiration.max(MIN_TOKEN_EXPIRATION);
        self
    }

    /// The same keys, for a webhook whose `--token-audience` is `audience`.
    pub fn with_default_audience(mut self, audience: &str) -> Self {
        self.default_audience = audience.to_string();
        self
    }

    /// The audience of a ServiceAccount without an audience annotation.
    pub fn default_audience(&self) -> &str {
        &self.default_audience
    }

    /// The token lifetime of a ServiceAccount without a token-expiration annotation.
    pub fn default_expiration(&self) -> i64 {
        self.default_expiration
    }

    /// The prefix itself, as the webhook's `--annotation-prefix` names it.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn role_arn(&self) -> String {
        format!("{}/role-arn", self.prefix)
    }
    pub fn audience(&self) -> String {
        format!("{}/audience", self.prefix)
    }
    pub fn sts_regional_endpoints(&self) -> String {
        format!("{}/sts-regional-endpoints", self.prefix)
    }
    pub fn token_expiration(&self) -> String {
        format!("{}/token-expiration", self.prefix)
    }

    /// The pod annotation that lists containers to leave alone.
    pub fn skip_containers(&self) -> String {
        format!("{}/skip-containers", self.prefix)
    }

    /// Every key this tool manages.
    pub fn all(&self) -> [String; 4] {
        [
            self.role_arn(),
            self.audience(),
            self.sts_regional_endpoints(),
            self.token_expiration(),
        ]
    }
}

/// A ServiceAccount's binding, as the webhook reads its annotations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The role-arn annotation as written; the webhook injects nothing without it.
    pub role_arn: Option<String>,
    /// The audience annotation, or the webhook's default ([`Keys::default_audience`]).
    pub audience: String,
    /// The token lifetime the webhook uses: the annotation when it is a number (raised to
    /// [`MIN_TOKEN_EXPIRATION`]), else the webhook's default.
    pub token_expiration: i64,
    /// Whether the webhook sets `AWS_STS_REGIONAL_ENDPOINTS=regional`: the annotation, read as a
    /// Go bool, else the webhook's default.
    pub sts_regional_endpoints: bool,
}

impl Binding {
    pub fn read(annotations: &BTreeMap<String, String>, keys: &Keys) -> Self {
        let token_expiration = annotations
            .get(&keys.token_expiration())
            .and_then(|text| text.parse::<i64>().ok())
            .map_or(keys.default_expiration, |seconds| {
                seconds.max(MIN_TOKEN_EXPIRATION)
            });
        Binding {
            role_arn: annotations.get(&keys.role_arn()).cloned(),
            audience: annotations
                .get(&keys.audience())
                .cloned()
                .unwrap_or_else(|| keys.default_audience.clone()),
            token_expiration,
            sts_regional_endpoints: annotations
                .get(&keys.sts_regional_endpoints())
                .and_then(|text| go_bool(text))
                .unwrap_or(keys.default_regional_sts),
        }
    }

    /// The annotations of a ServiceAccount object, read.
    pub fn of(account: &k8s_openapi::api::core::v1::ServiceAccount, keys: &Keys) -> Self {
        Binding::read(
            account
                .metadata
                .annotations
                .as_ref()
                .unwrap_or(&BTreeMap::new()),
            keys,
        )
    }

    /// The bound role; `None` when unbound.
    pub fn role(&self) -> Option<Result<RoleArn, ArnError>> {
        self.role_arn.as_deref().map(str::parse)
    }
}

/// Go's `strconv.ParseBool`, which the webhook reads boolean annotations with.
/// An audience as IAM takes it for a provider's client ID (CreateOpenIDConnectProvider's
/// ClientIDList: 1 to 255 characters) and as a token carries it: no space or control
/// character, which no client ID has and which would break the printed commands' lines. The one
/// check for every `--audience` (a clap `value_parser`) and for an audience read from a
/// ServiceAccount.
pub fn check_audience(text: &str) -> Result<String, String> {
    let printable = !text.chars().any(|c| c.is_whitespace() || c.is_control());
    if !text.is_empty() && text.chars().count() <= 255 && printable {
        Ok(text.to_string())
    } else {
        Err(format!(
            "invalid audience {text:?}: give 1 to 255 characters without spaces, such as {DEFAULT_AUDIENCE}"
        ))
    }
}

pub fn go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// What `bind` asks for.
#[derive(Clone, Debug)]
pub struct Request {
    pub role_arn: RoleArn,
    pub audience: Option<String>,
    pub sts_regional_endpoints: bool,
    pub token_expiration: Option<u32>,
}

impl Request {
    /// The annotations this binding sets.
    pub fn annotations(&self, keys: &Keys) -> BTreeMap<String, String> {
        let mut annotations = BTreeMap::from([(keys.role_arn(), self.role_arn.to_string())]);
        if let Some(audience) = &self.audience {
            annotations.insert(keys.audience(), audience.clone());
        }
        if self.sts_regional_endpoints {
            annotations.insert(keys.sts_regional_endpoints(), "true".into());
        }
        if let Some(seconds) = self.token_expiration {
            annotations.insert(keys.token_expiration(), seconds.to_string());
        }
        annotations
    }
}

/// How a binding changes existing annotations.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// Everything is already as asked.
    Unchanged,
    /// These annotations must be set.
    Set(BTreeMap<String, String>),
    /// An annotation already holds another value and --overwrite was not given.
    Refused { key: String, current: String },
}

/// Compares what is there with what is wanted, as `kubectl annotate` does.
pub fn plan(
    existing: &BTreeMap<String, String>,
    wanted: &BTreeMap<String, String>,
    overwrite: bool,
) -> Plan {
    let mut changes = BTreeMap::new();
    for (key, value) in wanted {
        match existing.get(key) {
            Some(current) if current == value => {}
            Some(current) if !overwrite => {
                return Plan::Refused {
                    key: key.clone(),
                    current: current.clone(),
                };
            }
            _ => {
                changes.insert(key.clone(), value.clone());
            }
        }
    }
    if changes.is_empty() {
        Plan::Unchanged
    } else {
        Plan::Set(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding() -> Request {
        Request {
            role_arn: "arn:aws:iam::123456789012:role/cart".parse().unwrap(),
            audience: None,
            sts_regional_endpoints: true,
            token_expiration: Some(3600),
        }
    }

    #[test]
    fn keys_follow_the_prefix() {
        let keys = Keys::new("sts.amazonaws.com/");
        assert_eq!(keys.role_arn(), "sts.amazonaws.com/role-arn");
        let wanted = binding().annotations(&Keys::new("eks.amazonaws.com"));
        assert_eq!(wanted["eks.amazonaws.com/sts-regional-endpoints"], "true");
        assert_eq!(wanted["eks.amazonaws.com/token-expiration"], "3600");
        assert!(!wanted.contains_key("eks.amazonaws.com/audience"));
    }

    #[test]
    fn bindings_read_as_the_webhook_reads_them() {
        let keys = Keys::new(DEFAULT_PREFIX);
        let read = |pairs: &[(&str, &str)]| {
            let annotations: BTreeMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (format!("eks.amazonaws.com/{k}"), v.to_string()))
                .collect();
            Binding::read(&annotations, &keys)
        };
        assert_eq!(
            read(&[]),
            Binding {
                role_arn: None,
                audience: "sts.amazonaws.com".into(),
                token_expiration: 86400,
                sts_regional_endpoints: false,
            }
        );
        let custom = read(&[
            ("role-arn", "arn:aws:iam::123456789012:role/cart"),
            ("audience", "custom"),
            ("token-expiration", "300"),
            ("sts-regional-endpoints", "True"),
        ]);
        assert_eq!(custom.token_expiration, 600, "raised to the floor");
        assert!(custom.sts_regional_endpoints, "Go's ParseBool takes True");
        assert_eq!(custom.audience, "custom");
        assert_eq!(custom.role().unwrap().unwrap().name(), "cart");
        assert_eq!(
            read(&[("token-expiration", "soon")]).token_expiration,
            86400
        );
        assert_eq!(read(&[("token-expiration", "3600")]).token_expiration, 3600);
        for (text, value) in [("1", true), ("t", true), ("yes", false), ("false", false)] {
            assert_eq!(
                read(&[("sts-regional-endpoints", text)]).sts_regional_endpoints,
                value,
                "{text}"
            );
        }
    }

    #[test]
    fn plans_like_kubectl_annotate() {
        let keys = Keys::new("eks.amazonaws.com");
        let wanted = binding().annotations(&keys);
        assert_eq!(plan(&wanted, &wanted, false), Plan::Unchanged);
        assert_eq!(
            plan(&BTreeMap::new(), &wanted, false),
            Plan::Set(wanted.clone())
        );

        let other = BTreeMap::from([(
            keys.role_arn(),
            "arn:aws:iam::123456789012:role/other".to_string(),
        )]);
        assert!(
            matches!(plan(&other, &wanted, false), Plan::Refused { key, .. } if key == keys.role_arn())
        );
        assert_eq!(plan(&other, &wanted, true), Plan::Set(wanted));
    }
}
