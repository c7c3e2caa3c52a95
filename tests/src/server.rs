//! A small HTTP/1.1 server (plain or TLS) on 127.0.0.1, running on its own thread with its own
//! tokio runtime, so that synchronous tests can start it, drive binaries against it as
//! subprocesses, and stop it by dropping it.
//!
//! Fixtures build on [`BackgroundServer`]: they supply a [`Handler`] that receives each request
//! with its body already read. A [`StreamingHandler`] may also answer with a body sent in pieces
//! over time ([`ChannelBody`]), as a Kubernetes watch does.

use std::convert::Infallible;
use std::future::Future;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::JoinHandle;

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::TlsAcceptor;

/// The future a [`Handler`] returns.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Answers one request whose body has been read in full.
pub type Handler = Arc<dyn Fn(Request<Bytes>) -> BoxFuture<Response<Full<Bytes>>> + Send + Sync>;

/// A response body that may arrive in pieces (see [`ChannelBody`]) or all at once.
pub type StreamBody = BoxBody<Bytes, Infallible>;

/// Like [`Handler`], but the response body may be streamed.
pub type StreamingHandler =
    Arc<dyn Fn(Request<Bytes>) -> BoxFuture<Response<StreamBody>> + Send + Sync>;

/// A response body fed by a channel: each message is sent as it arrives, and the body ends
/// when every sender is dropped. A sender sees an error once the client has gone.
pub struct ChannelBody {
    receiver: mpsc::Receiver<Bytes>,
}

impl ChannelBody {
    /// A body and the sender that feeds it; `capacity` messages may wait unsent.
    pub fn channel(capacity: usize) -> (mpsc::Sender<Bytes>, Self) {
        let (sender, receiver) = mpsc::channel(capacity);
        (sender, Self { receiver })
    }
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.receiver
            .poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}

/// A server bound to `127.0.0.1` on a free port, serving until dropped.
///
/// Dropping it stops accepting connections, abandons requests still in flight (a slow reply
/// never completes) and joins the server thread.
pub struct BackgroundServer {
    addr: SocketAddr,
    scheme: &'static str,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl BackgroundServer {
    /// Starts serving `handler` over plain HTTP, or over HTTPS when `tls` is given.
    ///
    /// The port is bound before this returns, so the server accepts connections at once.
    ///
    /// # Panics
    ///
    /// When no port can be bound on 127.0.0.1 or the runtime cannot be built.
    pub fn start(handler: Handler, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let streaming: StreamingHandler = Arc::new(move |request| {
            let reply = handler(request);
            Box::pin(async move { reply.await.map(|body| body.boxed()) })
        });
        Self::start_streaming(streaming, tls)
    }

    /// Like [`BackgroundServer::start`], for a handler whose replies may be streamed.
    ///
    /// # Panics
    ///
    /// When no port can be bound on 127.0.0.1 or the runtime cannot be built.
    pub fn start_streaming(
        handler: StreamingHandler,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Self {
        let listener = StdTcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("make the listener non-blocking");
        let addr = listener.local_addr().expect("listener address");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let acceptor = tls.map(TlsAcceptor::from);
        let (shutdown, shutdown_rx) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("build the fixture's tokio runtime");
        let thread = std::thread::Builder::new()
            .name(format!("fixture-server-{}", addr.port()))
            .spawn(move || runtime.block_on(accept_loop(listener, acceptor, handler, shutdown_rx)))
            .expect("spawn the fixture server thread");
        Self {
            addr,
            scheme,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(
    listener: StdTcpListener,
    acceptor: Option<TlsAcceptor>,
    handler: StreamingHandler,
    mut shutdown: oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("register the listener");
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let handler = handler.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match acceptor {
                        None => serve_connection(stream, handler).await,
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve_connection(stream, handler).await;
                            }
                        }
                    }
                });
            }
        }
    }
    // Returning drops the runtime's remaining tasks: open connections and slow replies.
}

async fn serve_connection<S>(stream: S, handler: StreamingHandler)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request: Request<Incoming>| {
        let handler = handler.clone();
        async move {
            let (parts, body) = request.into_parts();
            let response = match body.collect().await {
                Ok(collected) => handler(Request::from_parts(parts, collected.to_bytes())).await,
                Err(_) => plain_response(StatusCode::BAD_REQUEST, "unreadable request body")
                    .map(BodyExt::boxed),
            };
            Ok::<_, Infallible>(response)
        }
    });
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// A `text/plain` response with the given status.
pub fn plain_response(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text.to_owned())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    response
}
