//! A hostile or broken Kubernetes API server on 127.0.0.1: each route answers with one
//! [`Reply`] (503 with `Retry-After` forever, a body dripped a byte a second, an endless body,
//! a 500 whose body is not a `Status`, no answer at all), so that clients can be shown to stay
//! within their deadlines and caps and to say what happened in one line. Unmatched requests get
//! the API server's 404 `Status`. Plain HTTP: the faults are above TLS.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Response, StatusCode};

use crate::server::{BackgroundServer, ChannelBody, StreamBody, StreamingHandler};

/// How a route answers.
#[derive(Clone, Debug)]
pub enum Reply {
    /// This status and JSON body.
    Json(u16, String),
    /// 503 with `Retry-After: 1` and a `Status` body, every time (an apiserver shedding load).
    RetryAfter,
    /// 200 and `{"kind":...` one byte a second, never ending.
    Drip,
    /// 200 and bytes as fast as the client reads them, never ending.
    Endless,
    /// Headers never come.
    Hang,
    /// An empty list page whose continue token is new each time: a list without end.
    EndlessPages,
}

/// A route: the method and the exact path (no query) it answers; `*` answers every path.
#[derive(Clone, Debug)]
pub struct Route {
    pub method: &'static str,
    pub path: String,
    pub reply: Reply,
}

impl Route {
    pub fn new(method: &'static str, path: &str, reply: Reply) -> Self {
        Route {
            method,
            path: path.into(),
            reply,
        }
    }
}

/// The server; stops when dropped.
pub struct HostileKube {
    server: BackgroundServer,
    /// Each request's path and `Authorization` header.
    paths: Arc<Mutex<Vec<(String, String)>>>,
}

impl HostileKube {
    /// Serves `routes` (first match wins) until dropped.
    pub fn start(routes: Vec<Route>) -> Self {
        let paths = Arc::new(Mutex::new(Vec::new()));
        let log = paths.clone();
        let routes = Arc::new(routes);
        let handler: StreamingHandler = Arc::new(move |request| {
            let path = request.uri().path().to_string();
            let authorization = request
                .headers()
                .get("authorization")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_string();
            log.lock()
                .expect("the log")
                .push((path.clone(), authorization));
            let method = request.method().as_str().to_string();
            let reply = routes
                .iter()
                .find(|route| route.method == method && (route.path == path || route.path == "*"))
                .map(|route| route.reply.clone());
            Box::pin(answer(reply))
        });
        HostileKube {
            server: BackgroundServer::start_streaming(handler, None),
            paths,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `127.0.0.1:PORT`, as kubectl names the server.
    pub fn host_port(&self) -> String {
        format!("127.0.0.1:{}", self.server.port())
    }

    /// How many requests arrived for `path`.
    pub fn requests_to(&self, path: &str) -> usize {
        let paths = self.paths.lock().expect("the log");
        paths.iter().filter(|(seen, _)| seen == path).count()
    }

    /// The `Authorization` headers the requests carried, in order.
    pub fn authorizations(&self) -> Vec<String> {
        let paths = self.paths.lock().expect("the log");
        paths
            .iter()
            .map(|(_, authorization)| authorization.clone())
            .collect()
    }

    /// A kubeconfig in `dir` whose current context talks to this server with a token.
    pub fn write_kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        std::fs::write(&path, kubeconfig(&self.url(), "    token: hostile\n"))
            .expect("write the kubeconfig");
        path
    }
}

/// A kubeconfig for `server` whose user is `user_yaml` (indented for `user:`).
pub fn kubeconfig(server: &str, user_yaml: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n\
         users:\n- name: u\n  user:\n{user_yaml}contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n    namespace: default\n\
         current-context: c\n"
    )
}

/// The apiserver's `Status` for `code`.
pub fn status_json(code: u16, reason: &str, message: &str) -> String {
    serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code,
    })
    .to_string()
}

async fn answer(reply: Option<Reply>) -> Response<StreamBody> {
    let full = |code: u16, body: String| {
        Response::builder()
            .status(code)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)).boxed())
            .expect("a response")
    };
    match reply {
        None => full(
            404,
            status_json(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        ),
        Some(Reply::Json(code, body)) => full(code, body),
        Some(Reply::RetryAfter) => {
            let mut response = full(
                503,
                status_json(503, "ServiceUnavailable", "the server is shedding load"),
            );
            response
                .headers_mut()
                .insert("retry-after", "1".parse().expect("a header value"));
            response
        }
        Some(Reply::Drip) => streamed(|sender| async move {
            for byte in b"{\"kind\":\"ServiceAccountList\",\"items\":["
                .iter()
                .cycle()
            {
                if sender.send(Bytes::copy_from_slice(&[*byte])).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }),
        Some(Reply::Endless) => streamed(|sender| async move {
            let chunk = Bytes::from(vec![b' '; 64 << 10]);
            let _ = sender.send(Bytes::from_static(b"{\"keys\":")).await;
            while sender.send(chunk.clone()).await.is_ok() {}
        }),
        Some(Reply::EndlessPages) => {
            let token = fastrand::u64(..);
            let page = format!(
                r#"{{"kind":"List","apiVersion":"v1","metadata":{{"continue":"page-{token}"}},"items":[]}}"#
            );
            full(200, page)
        }
        Some(Reply::Hang) => {
            std::future::pending::<()>().await;
            unreachable!()
        }
    }
}

/// A 200 whose body `feed` sends.
fn streamed<F, Fut>(feed: F) -> Response<StreamBody>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Bytes>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (sender, body) = ChannelBody::channel(1);
    tokio::spawn(feed(sender));
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(body.boxed())
        .expect("a response")
}
