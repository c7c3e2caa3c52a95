//! The ServiceAccount annotations the pod identity webhook reads, and how a binding changes them.

use std::collections::BTreeMap;

use irsa_sts::RoleArn;

/// The annotation keys under one prefix (`eks.amazonaws.com` by default).
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Keys {
            prefix: prefix.trim_end_matches('/').to_string(),
        }
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

/// What `bind` asks for.
#[derive(Clone, Debug)]
pub struct Binding {
    pub role_arn: RoleArn,
    pub audience: Option<String>,
    pub sts_regional_endpoints: bool,
    pub token_expiration: Option<u32>,
}

impl Binding {
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

    fn binding() -> Binding {
        Binding {
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
