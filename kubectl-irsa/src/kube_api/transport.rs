//! The rules every request to the API server follows, as kubectl's (client-go's) are, laid over
//! kube's client as one tower layer, in place of kube's own retry policy (15 retries, backoff up
//! to 1000 s: `list --request-timeout 2s` took 307 s against a server answering 503):
//!
//! - `--request-timeout` bounds one call whole: connecting, every retry and the body. client-go
//!   sets the timeout on the request's context before its retry loop (rest/request.go,
//!   `request()`), and `http.Client.Timeout` covers reading the body.
//! - Retries only where client-go retries: a 429 or any 5xx that carries `Retry-After` in seconds
//!   (rest/with_retry.go, `checkWait`), at most [`MAX_RETRIES`] times (`maxRetries` of
//!   `NewRequest`: "we make about ten retry attempts if we get a Retry-After response").
//! - Every answer is capped ([`BODY_CAP`], or a [`BodyCap`] set on the request), so an endless
//!   body ends with an error naming the cap instead of filling memory.
//! - An error answer that is not a `Status` (a proxy's page, `{}`) becomes one, worded as
//!   client-go's `NewGenericServerResponse`, so messages never read "(0 )".
//! - A failure to connect names the server and what happened, as kubectl says it.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use kube::client::{Body, DynBody};
use tokio::sync::Mutex;
use tokio::time::{Instant, Sleep};
use tower::{BoxError, Layer, Service, ServiceExt};

use super::fault::{Fault, describe, error_status};

/// client-go's `maxRetries` for answers with `Retry-After`.
pub const MAX_RETRIES: u32 = 10;
/// The most one answer may hold: a page of 500 pods with managed fields is a few MB.
pub const BODY_CAP: u64 = 64 << 20;

/// A smaller cap for one request's answer, set as a request extension (raw GETs of documents).
#[derive(Clone, Copy, Debug)]
pub struct BodyCap(pub u64);

/// What the layer needs to know: the server (as kubectl names it: host and port) and
/// `--request-timeout`.
#[derive(Clone, Debug)]
pub struct Limits {
    pub server: String,
    pub timeout: Option<Duration>,
    /// kube's bound on connecting, which applies when `timeout` is `None`.
    pub connect_timeout: Option<Duration>,
}

/// The layer: wraps kube's whole stack (auth included).
#[derive(Clone)]
pub struct LimitLayer(pub Arc<Limits>);

impl<S> Layer<S> for LimitLayer {
    type Service = Limited<S>;

    fn layer(&self, inner: S) -> Limited<S> {
        Limited {
            inner: Arc::new(Mutex::new(inner)),
            limits: self.0.clone(),
        }
    }
}

/// kube's stack (a `BoxService`, which cannot be cloned) shared by the calls in flight.
pub struct Limited<S> {
    inner: Arc<Mutex<S>>,
    limits: Arc<Limits>,
}

type Answer = Response<Box<DynBody>>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S> Service<Request<Body>> for Limited<S>
where
    S: Service<Request<Body>, Response = Answer, Error = BoxError> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Answer;
    type Error = BoxError;
    type Future = BoxFuture<Result<Answer, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        Box::pin(send(self.inner.clone(), self.limits.clone(), request))
    }
}

/// One call: the retries, then the answer's body, all before the deadline.
async fn send<S>(
    inner: Arc<Mutex<S>>,
    limits: Arc<Limits>,
    request: Request<Body>,
) -> Result<Answer, BoxError>
where
    S: Service<Request<Body>, Response = Answer, Error = BoxError> + Send + 'static,
    S::Future: Send + 'static,
{
    let deadline = limits.timeout.map(|timeout| Instant::now() + timeout);
    let cap = request
        .extensions()
        .get::<BodyCap>()
        .map_or(BODY_CAP, |cap| cap.0);
    let mut last = None;
    let attempts = retrying(&inner, &limits, request, &mut last);
    let answer = match deadline {
        None => attempts.await?,
        Some(deadline) => match tokio::time::timeout_at(deadline, attempts).await {
            Ok(answer) => answer?,
            Err(_) => return Err(timed_out(&limits, last).into()),
        },
    };
    let (parts, body) = answer.into_parts();
    let body = Capped {
        inner: body,
        read: 0,
        cap,
        deadline: deadline.map(|at| Box::pin(tokio::time::sleep_until(at))),
        limits: limits.clone(),
    };
    if parts.status.is_client_error() || parts.status.is_server_error() {
        // Read here, so that an answer that is not a Status can be made one.
        let bytes = body.collect().await?.to_bytes();
        let status = error_status(parts.status, &bytes);
        return Ok(Response::from_parts(parts, boxed(status)));
    }
    Ok(Response::from_parts(parts, Box::new(body)))
}

/// The attempts of one call; `last` keeps the status that asked to wait, for the timeout's
/// message.
async fn retrying<S>(
    inner: &Mutex<S>,
    limits: &Limits,
    mut request: Request<Body>,
    last: &mut Option<StatusCode>,
) -> Result<Answer, BoxError>
where
    S: Service<Request<Body>, Response = Answer, Error = BoxError> + Send + 'static,
    S::Future: Send + 'static,
{
    let mut retries = 0;
    loop {
        let copy = (retries < MAX_RETRIES)
            .then(|| copy_request(&request))
            .flatten();
        let pending = {
            let mut service = inner.lock().await;
            service
                .ready()
                .await
                .map_err(|e| describe(&limits.server, limits.connect_timeout, e))?;
            service.call(request)
        };
        let answer = pending
            .await
            .map_err(|e| describe(&limits.server, limits.connect_timeout, e))?;
        match (retry_after(&answer), copy) {
            (Some(wait), Some(copy)) => {
                *last = Some(answer.status());
                drop(answer);
                tokio::time::sleep(wait).await;
                request = copy;
                retries += 1;
            }
            _ => return Ok(answer),
        }
    }
}

/// client-go's `checkWait`: a 429 or any 5xx with `Retry-After` in whole seconds.
fn retry_after(answer: &Answer) -> Option<Duration> {
    let status = answer.status();
    if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
        return None;
    }
    let seconds = answer.headers().get(http::header::RETRY_AFTER)?;
    let seconds: u64 = seconds.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// The same request again, when its body can be sent twice (all of ours can).
fn copy_request(request: &Request<Body>) -> Option<Request<Body>> {
    let mut copy = Request::new(request.body().try_clone()?);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    *copy.extensions_mut() = request.extensions().clone();
    Some(copy)
}

fn timed_out(limits: &Limits, last: Option<StatusCode>) -> Fault {
    Fault::TimedOut {
        server: limits.server.clone(),
        after: limits.timeout.unwrap_or_default(),
        retrying: last,
    }
}

fn boxed(bytes: Bytes) -> Box<DynBody> {
    Box::new(http_body_util::Full::new(bytes).map_err(|never| match never {}))
}

/// An answer's body, ended with an error past the cap or the call's deadline.
struct Capped {
    inner: Box<DynBody>,
    read: u64,
    cap: u64,
    deadline: Option<Pin<Box<Sleep>>>,
    limits: Arc<Limits>,
}

impl http_body::Body for Capped {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(deadline) = self.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Some(Err(timed_out(&self.limits, None).into())));
        }
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            Poll::Ready(Some(Err(error))) => {
                return Poll::Ready(Some(Err(describe(
                    &self.limits.server,
                    self.limits.connect_timeout,
                    error,
                ))));
            }
            other => return other,
        };
        if let Some(data) = frame.data_ref() {
            self.read += data.len() as u64;
            if self.read > self.cap {
                let fault = Fault::TooLarge {
                    server: self.limits.server.clone(),
                    cap: self.cap,
                };
                return Poll::Ready(Some(Err(fault.into())));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(code: u16, retry_after: Option<&str>) -> Answer {
        let mut answer = Response::new(boxed(Bytes::new()));
        *answer.status_mut() = StatusCode::from_u16(code).unwrap();
        if let Some(value) = retry_after {
            let value = http::HeaderValue::from_str(value).unwrap();
            answer
                .headers_mut()
                .insert(http::header::RETRY_AFTER, value);
        }
        answer
    }

    #[test]
    fn only_429_and_5xx_with_whole_seconds_are_retried_as_client_go_does() {
        let second = Some(Duration::from_secs(1));
        assert_eq!(retry_after(&answer(503, Some("1"))), second);
        assert_eq!(retry_after(&answer(429, Some("1"))), second);
        assert_eq!(
            retry_after(&answer(500, Some("2"))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(retry_after(&answer(404, Some("1"))), None);
        assert_eq!(retry_after(&answer(503, None)), None);
        assert_eq!(
            retry_after(&answer(503, Some("Wed, 21 Oct 2015 07:28:00 GMT"))),
            None
        );
    }
}
