//! What an API call was about (verb, resource, subresource, scope, name) and why it failed, kept
//! as fields so that messages and `kubectl auth can-i` hints are built from them, never parsed
//! back out of text.

use std::fmt;

use kube::core::Status;

/// Where a call looked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    Namespace(String),
    /// Every namespace (`-A`).
    All,
    /// A cluster-scoped resource.
    Cluster,
}

/// What was asked for: a resource (with its subresource) or a non-resource URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Resource {
        /// `serviceaccounts`, or `mutatingwebhookconfigurations.admissionregistration.k8s.io`
        /// outside the core group, as `kubectl auth can-i` names it.
        resource: String,
        /// `token`, `log`.
        subresource: Option<&'static str>,
        scope: Scope,
        name: Option<String>,
    },
    /// `/.well-known/openid-configuration`, `/openid/v1/jwks`.
    Url(String),
}

/// One API call: the verb as RBAC names it, and its target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub verb: &'static str,
    pub target: Target,
}

impl Call {
    /// A call on a resource of type `K`.
    pub fn on<K: kube::Resource<DynamicType = ()>>(
        verb: &'static str,
        scope: Scope,
        name: Option<&str>,
    ) -> Self {
        let plural = K::plural(&());
        let group = K::group(&());
        let resource = if group.is_empty() {
            plural.into_owned()
        } else {
            format!("{plural}.{group}")
        };
        Call {
            verb,
            target: Target::Resource {
                resource,
                subresource: None,
                scope,
                name: name.map(str::to_string),
            },
        }
    }

    /// The same call on a subresource (`serviceaccounts/token`, `pods/log`).
    pub fn sub(mut self, subresource: &'static str) -> Self {
        if let Target::Resource { subresource: s, .. } = &mut self.target {
            *s = Some(subresource);
        }
        self
    }

    /// A GET of a non-resource URL.
    pub fn url(path: &str) -> Self {
        Call {
            verb: "get",
            target: Target::Url(path.to_string()),
        }
    }

    /// The `kubectl auth can-i` line that checks this call's permission.
    pub fn can_i(&self) -> String {
        match &self.target {
            Target::Url(path) => format!("kubectl auth can-i get {path}"),
            Target::Resource {
                resource,
                subresource,
                scope,
                name,
            } => {
                let mut line = format!("kubectl auth can-i {} {resource}", self.verb);
                // RBAC cannot limit create (of a new object) or list by name.
                if let Some(name) = name.as_ref().filter(|_| self.names_object()) {
                    line.push_str(&format!("/{name}"));
                }
                if let Some(subresource) = subresource {
                    line.push_str(&format!(" --subresource={subresource}"));
                }
                match scope {
                    Scope::Namespace(namespace) => line.push_str(&format!(" -n {namespace}")),
                    Scope::All => line.push_str(" --all-namespaces"),
                    Scope::Cluster => {}
                }
                line
            }
        }
    }

    fn names_object(&self) -> bool {
        match &self.target {
            Target::Resource { subresource, .. } => {
                !matches!(self.verb, "list" | "watch")
                    && (self.verb != "create" || subresource.is_some())
            }
            Target::Url(_) => false,
        }
    }
}

/// `patch serviceaccount shop/cart`, `create serviceaccounts/token for shop/cart`,
/// `list pods in namespace shop`, `get /openid/v1/jwks`.
impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Target::Resource {
            resource,
            subresource,
            scope,
            name,
        } = &self.target
        else {
            let Target::Url(path) = &self.target else {
                unreachable!()
            };
            return write!(f, "{} {path}", self.verb);
        };
        let kind = resource.split('.').next().unwrap_or(resource);
        match (subresource, name, scope) {
            (Some(sub), Some(name), Scope::Namespace(ns)) => {
                write!(f, "{} {kind}/{sub} for {ns}/{name}", self.verb)
            }
            (None, Some(name), Scope::Namespace(ns)) => {
                write!(f, "{} {} {ns}/{name}", self.verb, singular(kind))
            }
            (_, Some(name), _) => write!(f, "{} {} {name}", self.verb, singular(kind)),
            (_, None, Scope::Namespace(ns)) => write!(f, "{} {kind} in namespace {ns}", self.verb),
            (_, None, Scope::All) => write!(f, "{} {kind} in all namespaces", self.verb),
            (_, None, Scope::Cluster) => write!(f, "{} {kind}", self.verb),
        }
    }
}

/// `serviceaccounts` -> `serviceaccount`, as kubectl names one object.
fn singular(plural: &str) -> &str {
    plural.strip_suffix('s').unwrap_or(plural)
}

/// A failed call: what was asked and what the cluster (or the connection) said. Boxed, since
/// every command's `Result` carries it.
#[derive(Debug)]
pub struct KubeError(Box<(Call, kube::Error)>);

impl KubeError {
    pub fn new(call: Call, source: kube::Error) -> Self {
        KubeError(Box::new((call, source)))
    }

    pub fn call(&self) -> &Call {
        &self.0.0
    }

    /// A list the server would never end (`what` it did).
    pub fn endless(call: Call, what: &str) -> Self {
        let fault = super::Fault::Endless {
            what: what.to_string(),
        };
        KubeError::new(call, kube::Error::Service(Box::new(fault)))
    }

    /// The client's error.
    pub fn kube(&self) -> &kube::Error {
        &self.0.1
    }

    /// The API's answer, when there was one.
    pub fn status(&self) -> Option<&Status> {
        match self.kube() {
            kube::Error::Api(status) => Some(status),
            _ => None,
        }
    }

    /// What went wrong on the way to the server, when it did not answer.
    pub fn fault(&self) -> Option<&super::Fault> {
        super::fault::find(self.kube())
    }

    pub fn code(&self) -> Option<u16> {
        self.status().map(|status| status.code)
    }

    pub fn is_not_found(&self) -> bool {
        self.code() == Some(404)
    }

    pub fn is_forbidden(&self) -> bool {
        self.code() == Some(403)
    }

    /// A 403 from the RBAC authorizer (`User "jane" cannot patch resource ...`), as opposed to
    /// one from an admission plugin (Pod Security, a webhook), which no permission fixes.
    pub fn is_rbac_denial(&self) -> bool {
        self.is_forbidden()
            && self.status().is_some_and(|status| {
                status
                    .message
                    .contains(&format!(" cannot {} ", self.call().verb))
            })
    }

    /// Bad input rather than a cluster problem: the cluster found the request invalid.
    pub fn is_invalid(&self) -> bool {
        self.code() == Some(422)
    }
}

impl std::error::Error for KubeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.kube())
    }
}

impl fmt::Display for KubeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let call = self.call();
        let Some(status) = self.status() else {
            if let Some(fault) = self.fault() {
                return write!(f, "cannot {call}: {fault}");
            }
            if let kube::Error::SerdeError(error) = self.kube() {
                return write!(
                    f,
                    "cannot {call}: the answer is not the JSON an API server sends ({error}): check the server of the kubeconfig's cluster"
                );
            }
            return write!(
                f,
                "cannot {call}: {} (check that the cluster is reachable: --context, --kubeconfig, --request-timeout)",
                self.kube()
            );
        };
        let message = &status.message;
        match status.code {
            403 if self.is_rbac_denial() => write!(
                f,
                "cannot {call}: forbidden: {message} (ask for RBAC permission; check with `{}`)",
                call.can_i()
            ),
            403 => write!(
                f,
                "cannot {call}: refused by admission: {message} (no permission fixes this: change what is sent, or the namespace's policy)"
            ),
            404 => write!(f, "cannot {call}: not found: {message}"),
            409 => write!(
                f,
                "cannot {call}: conflict: {message} (someone changed it meanwhile; run the command again)"
            ),
            422 => write!(
                f,
                "cannot {call}: the cluster refused it as invalid: {message}"
            ),
            code => write!(f, "cannot {call}: {message} ({code} {})", status.reason),
        }
    }
}
