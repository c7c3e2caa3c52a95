//! What a pod's containers carry for AWS credentials, read from its spec as an SDK in each
//! container would read its env. Pure: a `Pod` in, values out, so that doctor's injection and
//! stale-pod checks, `test`'s verdict and `list -o wide` judge plain values.
//!
//! The pod identity webhook (pkg/handler/handler.go of aws/amazon-eks-pod-identity-webhook)
//! injects into every container and init container either the web-identity pair
//! (`AWS_ROLE_ARN`, `AWS_WEB_IDENTITY_TOKEN_FILE`) or, when the ServiceAccount has an EKS Pod
//! Identity association, the container credentials pair (`AWS_CONTAINER_CREDENTIALS_FULL_URI`
//! pointing at the agent, `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`) instead: the association
//! wins at injection time. Inside one container that carries both, the SDKs' default chains take
//! the web identity first (aws-sdk-go-v2 config/resolve_credentials.go, botocore's
//! `create_credential_resolver`), so this module does too. `kubectl irsa inject --serve` puts the
//! web identity on the native sidecar [`sidecar::NAME`] alone and the loopback endpoint in the
//! app containers ([`crate::injection::sidecar`]).

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};

use crate::injection::{TOKEN_FILE_ENV, sidecar};

pub const ROLE_ARN_ENV: &str = "AWS_ROLE_ARN";
pub const FULL_URI_ENV: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
/// The EKS Pod Identity agent's addresses: the webhook's default
/// `--container-credentials-full-uri` host, and its IPv6 twin.
const POD_IDENTITY_AGENT: [&str; 2] = ["169.254.170.23", "fd00:ec2::23"];

/// How a pod's containers get AWS credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A container carries `AWS_WEB_IDENTITY_TOKEN_FILE`: IRSA, from the webhook or from
    /// `kubectl irsa inject`.
    WebIdentity(WebIdentity),
    /// `kubectl irsa inject --serve`: the native sidecar holds the web identity and serves the
    /// app containers on loopback.
    Sidecar(WebIdentity),
    /// The container credentials env pointing at the EKS Pod Identity agent.
    PodIdentity { uri: String },
    /// The container credentials env pointing elsewhere.
    Endpoint { uri: String },
    /// No credentials env in any container.
    None,
}

/// The web identity one container carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebIdentity {
    pub container: String,
    pub role_arn: Env,
    pub token_file: Env,
    /// What is mounted at the token file; `None` when the file's name is not a literal.
    pub token: Option<Token>,
}

/// An env variable as the spec sets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Env {
    Unset,
    Literal(String),
    /// From a ConfigMap, a Secret or a field: the spec alone does not tell the value.
    Reference,
}

/// What the token file is in the pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// A projected ServiceAccount token with this audience (`None`: the apiserver's own).
    Projected { audience: Option<String> },
    /// No projected ServiceAccount token is mounted there.
    Missing,
}

/// How the pod's containers get credentials (see the module header for the order).
pub fn source(pod: &Pod) -> Source {
    let Some(spec) = &pod.spec else {
        return Source::None;
    };
    let init = spec.init_containers.iter().flatten();
    let containers: Vec<&Container> = spec.containers.iter().chain(init.clone()).collect();
    let serving = init
        .filter(|c| c.name == sidecar::NAME && c.restart_policy.as_deref() == Some("Always"))
        .find_map(|c| web_identity(spec, c));
    let served = containers
        .iter()
        .filter_map(|c| literal(c, FULL_URI_ENV))
        .any(|uri| uri_host(uri).is_some_and(is_loopback_name));
    if let (Some(identity), true) = (serving, served) {
        return Source::Sidecar(identity);
    }
    if let Some(identity) = containers.iter().find_map(|c| web_identity(spec, c)) {
        return Source::WebIdentity(identity);
    }
    let Some(uri) = containers.iter().find_map(|c| literal(c, FULL_URI_ENV)) else {
        return Source::None;
    };
    let uri = uri.to_string();
    match uri_host(&uri) {
        Some(host) if POD_IDENTITY_AGENT.contains(&host) => Source::PodIdentity { uri },
        _ => Source::Endpoint { uri },
    }
}

/// The web identity `container` carries, if it has the token file variable.
fn web_identity(spec: &PodSpec, container: &Container) -> Option<WebIdentity> {
    let token_file = env(container, TOKEN_FILE_ENV);
    if token_file == Env::Unset {
        return None;
    }
    let token = match &token_file {
        Env::Literal(file) => Some(token_at(spec, container, file)),
        _ => None,
    };
    Some(WebIdentity {
        container: container.name.clone(),
        role_arn: env(container, ROLE_ARN_ENV),
        token_file,
        token,
    })
}

fn env(container: &Container, name: &str) -> Env {
    match container.env.iter().flatten().find(|v| v.name == name) {
        None => Env::Unset,
        Some(var) if var.value_from.is_some() => Env::Reference,
        Some(var) => Env::Literal(var.value.clone().unwrap_or_default()),
    }
}

fn literal<'a>(container: &'a Container, name: &str) -> Option<&'a str> {
    let var = container.env.iter().flatten().find(|v| v.name == name)?;
    var.value.as_deref()
}

/// The host of an `http://HOST[:PORT]/PATH` URI, without the brackets of an IPv6 address.
fn uri_host(uri: &str) -> Option<&str> {
    let authority = uri.split_once("://")?.1.split('/').next()?;
    match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map(|(host, _)| host),
        None => authority.split(':').next(),
    }
}

fn is_loopback_name(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The projected ServiceAccount token mounted at `file` in `container`, if any. A Windows path
/// (`C:\var\...`, as the webhook writes it for Windows pods) is read as the Unix mount path.
fn token_at(spec: &PodSpec, container: &Container, file: &str) -> Token {
    let file = file.strip_prefix("C:").unwrap_or(file).replace('\\', "/");
    let projected = container.volume_mounts.iter().flatten().find_map(|mount| {
        let relative = file
            .strip_prefix(mount.mount_path.trim_end_matches('/'))?
            .strip_prefix('/')?;
        let volume = spec
            .volumes
            .iter()
            .flatten()
            .find(|v| v.name == mount.name)?;
        let sources = volume.projected.as_ref()?.sources.iter().flatten();
        sources
            .filter_map(|source| source.service_account_token.as_ref())
            .find(|token| token.path == relative)
    });
    match projected {
        Some(token) => Token::Projected {
            audience: token.audience.clone(),
        },
        None => Token::Missing,
    }
}

#[cfg(test)]
#[path = "pod_credentials_tests.rs"]
mod tests;
