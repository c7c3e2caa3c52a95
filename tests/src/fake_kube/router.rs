//! Request parsing, logging, authorization and dispatch.

use std::sync::Arc;

use hyper::body::Bytes;
use hyper::header::HeaderMap;
use hyper::{Method, Request, Response};

use super::controllers::{self, Pace};
use super::resources::{self, Resource};
use super::state::{Shared, lock};
use super::status::{ApiError, Reply, json_response};
use super::{LoggedRequest, identity, list, logs, objects, patch, rbac, scale, watch};
use crate::server::StreamBody;

/// A request, parsed.
pub(crate) struct Req {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) params: Vec<(String, String)>,
    pub(crate) content_type: String,
    pub(crate) accept: String,
    pub(crate) user_agent: String,
    /// The user the request acts as: the impersonated one, or the fake's user.
    pub(crate) user: String,
    /// That user's groups.
    pub(crate) groups: Vec<String>,
    /// When impersonating: the real user, its groups, and the groups asked for.
    pub(crate) impersonator: Option<(String, Vec<String>, Vec<String>)>,
    pub(crate) body: Bytes,
}

impl Req {
    /// The first value of a query parameter.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether the request is a dry run (`dryRun=All`).
    pub(crate) fn dry_run(&self) -> bool {
        self.param("dryRun") == Some("All")
    }

    /// The content type without parameters, lowercased.
    pub(crate) fn media_type(&self) -> String {
        self.content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }

    /// Whether the client asked for a server-side `Table`.
    pub(crate) fn wants_table(&self) -> bool {
        self.accept.contains("as=Table")
    }

    /// The field manager of an update: `fieldManager`, else the User-Agent's first word.
    pub(crate) fn field_manager(&self) -> String {
        match self.param("fieldManager") {
            Some(manager) if !manager.is_empty() => manager.to_owned(),
            _ => self.user_agent.split('/').next().unwrap_or("").to_owned(),
        }
    }
}

/// What a resource path names.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) resource: Resource,
    pub(crate) namespace: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) subresource: Option<String>,
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Answers one request.
pub(crate) fn handle(shared: &Arc<Shared>, request: Request<Bytes>) -> Response<StreamBody> {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let query = parts.uri.query().unwrap_or("").to_owned();
    let impersonate_user = header(headers, "impersonate-user");
    let impersonate_groups: Vec<String> = headers
        .get_all("impersonate-group")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let (real_user, real_groups) = {
        let config = shared.config();
        (config.user.clone(), config.groups.clone())
    };
    let (user, groups) = match &impersonate_user {
        Some(user) => (user.clone(), impersonated_groups(user, &impersonate_groups)),
        None => (real_user.clone(), real_groups.clone()),
    };
    let req = Req {
        method: parts.method.clone(),
        path: parts.uri.path().to_owned(),
        params: form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
        content_type: header(headers, "content-type").unwrap_or_default(),
        accept: header(headers, "accept").unwrap_or_default(),
        user_agent: header(headers, "user-agent").unwrap_or_default(),
        user,
        groups,
        impersonator: impersonate_user
            .is_some()
            .then(|| (real_user, real_groups, impersonate_groups.clone())),
        body,
    };
    let response = route(shared, &req).unwrap_or_else(ApiError::into_response);
    lock(&shared.log).push(LoggedRequest {
        method: req.method.to_string(),
        path: req.path.clone(),
        query,
        content_type: (!req.content_type.is_empty()).then(|| req.content_type.clone()),
        accept: (!req.accept.is_empty()).then(|| req.accept.clone()),
        user_agent: (!req.user_agent.is_empty()).then(|| req.user_agent.clone()),
        impersonate_user,
        impersonate_groups,
        status: response.status().as_u16(),
    });
    response
}

/// The groups of an impersonated user (impersonation.go): the requested ones, else a
/// ServiceAccount's own groups; then `system:authenticated`.
fn impersonated_groups(user: &str, requested: &[String]) -> Vec<String> {
    let mut groups = requested.to_vec();
    if groups.is_empty()
        && let Some(rest) = user.strip_prefix("system:serviceaccount:")
        && let Some((namespace, _)) = rest.split_once(':')
    {
        groups.push("system:serviceaccounts".to_owned());
        groups.push(format!("system:serviceaccounts:{namespace}"));
    }
    if !groups
        .iter()
        .any(|g| g == "system:authenticated" || g == "system:unauthenticated")
    {
        groups.push("system:authenticated".to_owned());
    }
    groups
}

fn route(shared: &Arc<Shared>, req: &Req) -> Reply {
    if let Some((real_user, real_groups, asked)) = &req.impersonator {
        let config = shared.config();
        rbac::authorize_impersonation(&config, (real_user, real_groups), &req.user, asked)?;
    }
    let path = req.path.trim_end_matches('/');
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if !rbac::is_resource_path(&segments) {
        rbac::authorize_path(shared, req)?;
        return non_resource(shared, req, path, &segments);
    }
    let target = parse_target(&segments).ok_or_else(ApiError::no_route)?;
    let verb = verb(req, &target);
    rbac::authorize(shared, req, &target, verb)?;
    let reply = dispatch(shared, req, &target, verb);
    // A write the apiserver took wakes the controllers up (they watch what they manage).
    if reply.is_ok() && req.method != Method::GET {
        controllers::sync(shared, &mut shared.store(), Pace::Live);
    }
    reply
}

/// Discovery, the OIDC documents and health: the non-resource paths.
fn non_resource(shared: &Arc<Shared>, req: &Req, path: &str, segments: &[&str]) -> Reply {
    let get = req.method == Method::GET;
    match path {
        "/version" if get => return Ok(json_response(200, &resources::version())),
        "/api" if get => {
            let address = lock(&shared.server_address).clone();
            return Ok(json_response(200, &resources::core_versions(&address)));
        }
        "/apis" if get => return Ok(json_response(200, &resources::group_list())),
        "/.well-known/openid-configuration" if get => {
            return identity::openid_configuration(shared);
        }
        "/openid/v1/jwks" if get => return identity::jwks(shared),
        "/healthz" | "/livez" | "/readyz" if get => {
            return Ok(super::status::bytes_response(
                200,
                "text/plain; charset=utf-8",
                b"ok".to_vec(),
            ));
        }
        _ => {}
    }
    if get {
        let document = match segments {
            ["api", version] => resources::resource_list("", version),
            ["apis", group] => resources::group(group),
            ["apis", group, version] => resources::resource_list(group, version),
            _ => None,
        };
        if let Some(document) = document {
            return Ok(json_response(200, &document));
        }
    }
    Err(ApiError::no_route())
}

fn dispatch(shared: &Arc<Shared>, req: &Req, target: &Target, verb: &str) -> Reply {
    let item = target.name.is_some();
    match (&req.method, target.subresource.as_deref(), item) {
        (m, _, _) if target.resource == Resource::EventV1 && m != Method::GET => {
            Err(ApiError::method_not_allowed())
        }
        (_, _, _) if !target.resource.stored() => {
            if req.method == Method::POST && !item {
                identity::review(shared, req, target.resource)
            } else {
                Err(ApiError::method_not_allowed())
            }
        }
        (&Method::POST, Some("token"), true) if target.resource == Resource::ServiceAccount => {
            identity::token_request(shared, req, target)
        }
        (&Method::GET, Some("log"), true) if target.resource == Resource::Pod => {
            logs::logs(shared, req, target)
        }
        (&Method::GET, Some("status"), true) => objects::get(shared, req, target),
        (&Method::GET | &Method::PATCH | &Method::PUT, Some("scale"), true)
            if target.resource.is_workload() && target.resource != Resource::DaemonSet =>
        {
            scale::scale(shared, req, target)
        }
        (_, Some(_), _) => Err(ApiError::no_route()),
        (&Method::GET, None, false) if verb == "watch" => watch::watch(shared, req, target),
        (&Method::GET, None, false) => list::list(shared, req, target),
        (&Method::GET, None, true) => objects::get(shared, req, target),
        (&Method::POST, None, false)
            if target.namespace.is_some() || !target.resource.namespaced() =>
        {
            objects::create(shared, req, target)
        }
        (&Method::PUT, None, true) => objects::replace(shared, req, target),
        (&Method::PATCH, None, true) => patch::patch(shared, req, target),
        (&Method::DELETE, None, true) => objects::delete(shared, req, target),
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// Parses `/api/v1/...` and `/apis/GROUP/VERSION/...` resource paths.
fn parse_target(segments: &[&str]) -> Option<Target> {
    let (group, version, rest) = match segments {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let target = |resource, namespace: Option<&str>, name: Option<&&str>, sub: Option<&&str>| {
        Some(Target {
            resource,
            namespace: namespace.map(str::to_owned),
            name: name.map(|n| (*n).to_owned()),
            subresource: sub.map(|s| (*s).to_owned()),
        })
    };
    if let ["namespaces", namespace, plural, tail @ ..] = rest
        && let Some(resource) = Resource::find(group, version, plural).filter(|r| r.namespaced())
    {
        return match tail {
            [] | [_] | [_, _] => target(resource, Some(namespace), tail.first(), tail.get(1)),
            _ => None,
        };
    }
    let [plural, tail @ ..] = rest else {
        return None;
    };
    let resource = Resource::find(group, version, plural)?;
    match tail {
        [] => target(resource, None, None, None),
        [_] | [_, _] if !resource.namespaced() => target(resource, None, tail.first(), tail.get(1)),
        _ => None,
    }
}

fn verb(req: &Req, target: &Target) -> &'static str {
    let item = target.name.is_some();
    match req.method {
        Method::GET if !item && matches!(req.param("watch"), Some("true" | "1")) => "watch",
        Method::GET if item => "get",
        Method::GET => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if item => "delete",
        Method::DELETE => "deletecollection",
        _ => "unknown",
    }
}
