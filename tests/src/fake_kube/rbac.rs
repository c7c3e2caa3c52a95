//! Per-user RBAC: rules granted to a user (or group) cluster-wide or in one namespace, the
//! default bindings every cluster has, and the authorizer's decisions and words.
//!
//! A user (or a member of a group) that was granted anything may do exactly what the grants
//! and the default bindings allow (RBAC is deny by default); everybody else may do anything,
//! as the fake always allowed. Sources, in kubernetes/kubernetes: plugin/pkg/auth/authorizer/
//! rbac/rbac.go (`RuleAllows`, `Authorize`: reason `RBAC: allowed by DESCRIPTION`),
//! pkg/apis/rbac/v1/evaluation_helpers.go (`VerbMatches`, `APIGroupMatches`,
//! `ResourceMatches` with `*/subresource`, `ResourceNameMatches`, `NonResourceURLMatches` with
//! a trailing `*`), pkg/registry/rbac/validation/rule.go (`VisitRulesFor`: cluster role
//! bindings, then the role bindings of the request's namespace; the binding descriptions),
//! plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go (`system:basic-user`,
//! `system:discovery`, `system:public-info-viewer` bound to `system:authenticated`;
//! `system:service-account-issuer-discovery` bound to `system:serviceaccounts` only),
//! staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go
//! (`forbiddenMessage`) and staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go
//! (which paths are resource requests).

use serde_json::{Value, json};

use super::FakeKube;
use super::resources::Resource;
use super::router::{Req, Target};
use super::state::{Config, Shared, str_at};
use super::status::ApiError;

/// One RBAC policy rule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyRule {
    /// `get`, `list`, `create`, ..., or `*`.
    pub verbs: Vec<String>,
    /// API groups (`""` is the core group), or `*`.
    pub api_groups: Vec<String>,
    /// Resources, with subresources as `pods/log`, `*/scale`, or `*`.
    pub resources: Vec<String>,
    /// Object names; empty: any.
    pub resource_names: Vec<String>,
    /// Non-resource URLs (`/healthz`, `/api/*`), for cluster-wide grants only.
    pub non_resource_urls: Vec<String>,
}

fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

impl PolicyRule {
    /// A resource rule: `verbs` on `resources` of `api_groups`.
    pub fn resources(verbs: &[&str], api_groups: &[&str], resources: &[&str]) -> Self {
        Self {
            verbs: owned(verbs),
            api_groups: owned(api_groups),
            resources: owned(resources),
            ..Self::default()
        }
    }

    /// This rule, limited to objects named `names`.
    pub fn named(mut self, names: &[&str]) -> Self {
        self.resource_names = owned(names);
        self
    }

    /// A non-resource rule: `verbs` on `urls` (a trailing `*` matches any suffix).
    pub fn urls(verbs: &[&str], urls: &[&str]) -> Self {
        Self {
            verbs: owned(verbs),
            non_resource_urls: owned(urls),
            ..Self::default()
        }
    }
}

/// A binding of rules to a subject.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    /// `User` or `Group`.
    kind: &'static str,
    subject: String,
    /// A RoleBinding's namespace; `None` for a ClusterRoleBinding.
    namespace: Option<String>,
    /// The binding's (and its role's) name.
    name: String,
    rules: Vec<PolicyRule>,
}

impl FakeKube {
    /// Binds `rules` to user `user`: in `namespace` (a Role with a RoleBinding), or
    /// cluster-wide when `None` (a ClusterRole with a ClusterRoleBinding). From then on the
    /// user may do exactly what its grants and the default bindings allow; the forbidden
    /// answers, `kubectl auth can-i` and SelfSubjectAccessReviews agree. The user is the one
    /// requests act as: [`FakeKube::set_user`]'s, or the impersonated one (`--as`).
    ///
    /// # Panics
    ///
    /// When a namespaced grant has non-resource rules (RBAC refuses such a Role).
    pub fn grant(&self, user: &str, namespace: Option<&str>, rules: &[PolicyRule]) {
        self.add_grant("User", user, namespace, rules);
    }

    /// As [`FakeKube::grant`], for every member of `group`.
    pub fn grant_group(&self, group: &str, namespace: Option<&str>, rules: &[PolicyRule]) {
        self.add_grant("Group", group, namespace, rules);
    }

    fn add_grant(
        &self,
        kind: &'static str,
        subject: &str,
        namespace: Option<&str>,
        rules: &[PolicyRule],
    ) {
        assert!(
            namespace.is_none() || rules.iter().all(|r| r.non_resource_urls.is_empty()),
            "a Role cannot hold nonResourceURLs: grant them cluster-wide"
        );
        let mut config = self.shared.config();
        let name = format!("fake-grant-{}", config.grants.len() + 1);
        config.grants.push(Grant {
            kind,
            subject: subject.to_owned(),
            namespace: namespace.map(str::to_owned),
            name,
            rules: rules.to_vec(),
        });
    }
}

/// The default ClusterRoleBindings that matter to the fake's clients, in name order.
fn defaults() -> Vec<Grant> {
    let get = |urls: &[&str]| vec![PolicyRule::urls(&["get"], urls)];
    let binding = |name: &str, group: &str, rules: Vec<PolicyRule>| Grant {
        kind: "Group",
        subject: group.to_owned(),
        namespace: None,
        name: name.to_owned(),
        rules,
    };
    vec![
        binding(
            "system:basic-user",
            "system:authenticated",
            vec![
                PolicyRule::resources(
                    &["create"],
                    &["authorization.k8s.io"],
                    &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                ),
                PolicyRule::resources(
                    &["create"],
                    &["authentication.k8s.io"],
                    &["selfsubjectreviews"],
                ),
            ],
        ),
        binding(
            "system:discovery",
            "system:authenticated",
            get(&[
                "/livez",
                "/readyz",
                "/healthz",
                "/version",
                "/version/",
                "/openapi",
                "/openapi/*",
                "/api",
                "/api/*",
                "/apis",
                "/apis/*",
            ]),
        ),
        binding(
            "system:public-info-viewer",
            "system:authenticated",
            get(&["/livez", "/readyz", "/healthz", "/version", "/version/"]),
        ),
        binding(
            "system:service-account-issuer-discovery",
            "system:serviceaccounts",
            get(&[
                "/.well-known/openid-configuration",
                "/.well-known/openid-configuration/",
                "/openid/v1/jwks",
                "/openid/v1/jwks/",
            ]),
        ),
    ]
}

/// What a request asks to do.
pub(crate) enum Action<'a> {
    Resource {
        verb: &'a str,
        group: &'a str,
        resource: &'a str,
        subresource: &'a str,
        namespace: &'a str,
        name: &'a str,
    },
    Path {
        verb: &'a str,
        path: &'a str,
    },
}

impl Action<'_> {
    fn verb(&self) -> &str {
        match self {
            Self::Resource { verb, .. } | Self::Path { verb, .. } => verb,
        }
    }
}

fn matches(list: &[String], wanted: &str) -> bool {
    list.iter().any(|item| item == "*" || item == wanted)
}

/// `RuleAllows`.
fn rule_allows(rule: &PolicyRule, action: &Action<'_>) -> bool {
    if !matches(&rule.verbs, action.verb()) {
        return false;
    }
    match action {
        Action::Resource {
            group,
            resource,
            subresource,
            name,
            ..
        } => {
            let combined = if subresource.is_empty() {
                (*resource).to_owned()
            } else {
                format!("{resource}/{subresource}")
            };
            let resource_ok = rule.resources.iter().any(|r| {
                r == "*"
                    || *r == combined
                    || (!subresource.is_empty() && r.strip_prefix("*/") == Some(subresource))
            });
            matches(&rule.api_groups, group)
                && resource_ok
                && (rule.resource_names.is_empty() || rule.resource_names.iter().any(|n| n == name))
        }
        Action::Path { path, .. } => rule.non_resource_urls.iter().any(|url| {
            url == "*"
                || url == path
                || url
                    .strip_suffix('*')
                    .is_some_and(|prefix| path.starts_with(prefix.trim_end_matches('*')))
        }),
    }
}

/// `describeSubject` and the binding describers of rule.go.
fn describe(grant: &Grant) -> String {
    let subject = format!("{} \"{}\"", grant.kind, grant.subject);
    match &grant.namespace {
        Some(ns) => format!(
            "RoleBinding \"{}/{ns}\" of Role \"{}\" to {subject}",
            grant.name, grant.name
        ),
        None => format!(
            "ClusterRoleBinding \"{}\" of ClusterRole \"{}\" to {subject}",
            grant.name, grant.name
        ),
    }
}

fn applies_to(grant: &Grant, user: &str, groups: &[String]) -> bool {
    match grant.kind {
        "User" => grant.subject == user,
        _ => groups.contains(&grant.subject),
    }
}

/// Whether RBAC governs this user (it, or a group of it, has grants).
fn limited(config: &Config, user: &str, groups: &[String]) -> bool {
    config.grants.iter().any(|g| applies_to(g, user, groups))
}

/// The decision: `Ok(reason)` when allowed (`None` for an unlimited user), `Err(())` when
/// no rule allows it.
pub(crate) fn decide(
    config: &Config,
    user: &str,
    groups: &[String],
    action: &Action<'_>,
) -> Result<Option<String>, ()> {
    if let Action::Resource {
        verb,
        resource,
        subresource,
        ..
    } = action
    {
        let full = if subresource.is_empty() {
            (*resource).to_owned()
        } else {
            format!("{resource}/{subresource}")
        };
        if config.is_denied(verb, &full) {
            return Err(());
        }
    }
    if !limited(config, user, groups) {
        return Ok(None);
    }
    let namespace = match action {
        Action::Resource { namespace, .. } => *namespace,
        Action::Path { .. } => "",
    };
    let mut bindings: Vec<Grant> = defaults();
    bindings.extend(
        config
            .grants
            .iter()
            .filter(|g| g.namespace.is_none())
            .cloned(),
    );
    bindings.extend(
        config
            .grants
            .iter()
            .filter(|g| !namespace.is_empty() && g.namespace.as_deref() == Some(namespace))
            .cloned(),
    );
    bindings
        .iter()
        .filter(|g| applies_to(g, user, groups))
        .find(|g| g.rules.iter().any(|r| rule_allows(r, action)))
        .map(|g| Some(format!("RBAC: allowed by {}", describe(g))))
        .ok_or(())
}

/// Authorizes a non-resource request (403 `forbidden: User "U" cannot VERB path "P"`).
pub(crate) fn authorize_path(shared: &Shared, req: &Req) -> Result<(), ApiError> {
    let verb = req.method.as_str().to_ascii_lowercase();
    let action = Action::Path {
        verb: &verb,
        path: &req.path,
    };
    if decide(&shared.config(), &req.user, &req.groups, &action).is_ok() {
        return Ok(());
    }
    Err(ApiError::forbidden_path(&req.user, &verb, &req.path))
}

/// Authorizes a resource request.
pub(crate) fn authorize(
    shared: &Shared,
    req: &Req,
    target: &Target,
    verb: &str,
) -> Result<(), ApiError> {
    let namespace = if target.resource == Resource::Namespace {
        target.name.as_deref()
    } else {
        target.namespace.as_deref()
    };
    let action = Action::Resource {
        verb,
        group: target.resource.group(),
        resource: target.resource.plural(),
        subresource: target.subresource.as_deref().unwrap_or(""),
        namespace: namespace.unwrap_or(""),
        name: target.name.as_deref().unwrap_or(""),
    };
    if decide(&shared.config(), &req.user, &req.groups, &action).is_ok() {
        return Ok(());
    }
    Err(ApiError::forbidden(
        target.resource,
        target.subresource.as_deref(),
        verb,
        &req.user,
        namespace,
        target.name.as_deref(),
    ))
}

/// The impersonation filter's check (staging/src/k8s.io/apiserver/pkg/endpoints/filters/
/// impersonation.go): the real user must be allowed to `impersonate` the user (a
/// ServiceAccount, for `system:serviceaccount:NS:NAME`) and each group asked for.
pub(crate) fn authorize_impersonation(
    config: &Config,
    (real_user, real_groups): (&str, &[String]),
    user: &str,
    groups: &[String],
) -> Result<(), ApiError> {
    let account = user
        .strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.split_once(':'));
    let mut wanted = vec![match account {
        Some((namespace, name)) => ("serviceaccounts", namespace, name),
        None => ("users", "", user),
    }];
    wanted.extend(groups.iter().map(|g| ("groups", "", g.as_str())));
    for (resource, namespace, name) in wanted {
        let action = Action::Resource {
            verb: "impersonate",
            group: "",
            resource,
            subresource: "",
            namespace,
            name,
        };
        if decide(config, real_user, real_groups, &action).is_err() {
            let scope = if namespace.is_empty() {
                "at the cluster scope".to_owned()
            } else {
                format!("in the namespace \"{namespace}\"")
            };
            let message = format!(
                "{resource} \"{name}\" is forbidden: User \"{real_user}\" cannot impersonate resource \"{resource}\" in API group \"\" {scope}"
            );
            return Err(ApiError::forbidden_raw(
                message,
                json!({"name": name, "kind": resource}),
            ));
        }
    }
    Ok(())
}

/// A SelfSubjectAccessReview's status for the requesting user.
pub(crate) fn review(shared: &Shared, req: &Req, spec: &Value) -> Value {
    let config = shared.config();
    let decision = if let Some(attrs) = spec.get("nonResourceAttributes").filter(|a| a.is_object())
    {
        let action = Action::Path {
            verb: str_at(attrs, "/verb"),
            path: str_at(attrs, "/path"),
        };
        decide(&config, &req.user, &req.groups, &action)
    } else {
        let attrs = spec.get("resourceAttributes").cloned().unwrap_or(json!({}));
        let action = Action::Resource {
            verb: str_at(&attrs, "/verb"),
            group: str_at(&attrs, "/group"),
            resource: str_at(&attrs, "/resource"),
            subresource: str_at(&attrs, "/subresource"),
            namespace: str_at(&attrs, "/namespace"),
            name: str_at(&attrs, "/name"),
        };
        decide(&config, &req.user, &req.groups, &action)
    };
    match decision {
        Ok(Some(reason)) => json!({"allowed": true, "reason": reason}),
        Ok(None) => json!({"allowed": true}),
        Err(()) => json!({"allowed": false}),
    }
}

/// Whether a path is a resource request (requestinfo.go: `/api/VERSION/...` and
/// `/apis/GROUP/VERSION/...` with at least a resource).
pub(crate) fn is_resource_path(segments: &[&str]) -> bool {
    matches!(segments, ["api", _, _, ..] | ["apis", _, _, _, ..])
}
