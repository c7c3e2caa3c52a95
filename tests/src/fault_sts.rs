//! A hostile or broken STS: every call gets the same answer, chosen to be wrong in one way (a
//! truncated or forged credentials document, an HTML page, a redirect, an empty body, a body
//! that never ends). It counts the calls, so a test can tell whether a binary retried.
//!
//! [`crate::FakeSts`] plays a faithful STS; this one plays the proxy, captive portal or attacker
//! in front of it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::Response;
use hyper::body::Bytes;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::server::{BackgroundServer, ChannelBody, StreamingHandler};
use crate::sts_xml;

/// The one answer a [`FaultSts`] gives, whatever is asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// This status, these headers and this body.
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// `200 text/xml` whose body never ends: 64 KiB chunks until the client goes away.
    Endless,
}

impl Fault {
    /// A `200` success document with these credentials fields.
    pub fn credentials(fields: &Forged) -> Self {
        Self::xml(200, sts_xml::forged(fields))
    }

    /// An HTML page with this status, as a captive portal or a load balancer sends.
    pub fn html(status: u16) -> Self {
        Self::Answer {
            status,
            headers: vec![("content-type".into(), "text/html".into())],
            body: b"<html><body><h1>Service Unavailable</h1></body></html>\n".to_vec(),
        }
    }

    /// This status with no body at all.
    pub fn empty(status: u16) -> Self {
        Self::Answer {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `302 Found` to `location`, empty body.
    pub fn redirect(location: &str) -> Self {
        Self::Answer {
            status: 302,
            headers: vec![("location".into(), location.into())],
            body: Vec::new(),
        }
    }

    /// `text/xml` with this status and document.
    pub fn xml(status: u16, document: String) -> Self {
        Self::Answer {
            status,
            headers: vec![("content-type".into(), "text/xml".into())],
            body: document.into_bytes(),
        }
    }
}

/// The fields of a forged success document; `None` leaves the element out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forged {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// The `Expiration` text, as sent.
    pub expiration: Option<String>,
    pub assumed_role_arn: Option<String>,
    pub subject: Option<String>,
}

impl Forged {
    /// Fields real STS could send, expiring an hour from now: change one to make it hostile.
    pub fn valid() -> Self {
        Self {
            access_key_id: Some("ASIAFORGED0000000001".into()),
            secret_access_key: Some("Forged/Secret+Access/Key0000000000000000".into()),
            session_token: Some("IQoJb3JpZ2luX2VjEFORGED//////////wEaCXVzLWVhc3QtMQ==".into()),
            expiration: Some(Self::expiring_in(Duration::from_secs(3600))),
            assumed_role_arn: Some("arn:aws:sts::123456789012:assumed-role/cart/s".into()),
            subject: Some("system:serviceaccount:shop:cart".into()),
        }
    }

    /// An `Expiration` text `lifetime` from now (RFC 3339, whole seconds).
    pub fn expiring_in(lifetime: Duration) -> String {
        let at = OffsetDateTime::now_utc() + lifetime;
        at.replace_nanosecond(0)
            .unwrap_or(at)
            .format(&Rfc3339)
            .unwrap_or_default()
    }
}

/// A broken STS on `127.0.0.1`; dropping it shuts it down.
pub struct FaultSts {
    calls: Arc<AtomicUsize>,
    server: BackgroundServer,
}

impl FaultSts {
    /// Answers every request with `fault`.
    pub fn start(fault: Fault) -> Self {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let handler: StreamingHandler = Arc::new(move |_request| {
            counter.fetch_add(1, Ordering::SeqCst);
            let fault = fault.clone();
            Box::pin(async move { answer(fault) })
        });
        Self {
            calls,
            server: BackgroundServer::start_streaming(handler, None),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The port, for URLs with userinfo or another host name.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Requests received so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

fn answer(fault: Fault) -> Response<crate::server::StreamBody> {
    match fault {
        Fault::Answer {
            status,
            headers,
            body,
        } => {
            let mut response = Response::new(Full::new(Bytes::from(body)).boxed());
            *response.status_mut() =
                hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (
                    hyper::header::HeaderName::try_from(name),
                    hyper::header::HeaderValue::try_from(value),
                ) {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
        Fault::Endless => {
            let (sender, body) = ChannelBody::channel(4);
            tokio::spawn(async move {
                let chunk = Bytes::from(vec![b' '; 64 * 1024]);
                let _ = sender
                    .send(Bytes::from_static(b"<AssumeRoleWithWebIdentityResponse>"))
                    .await;
                while sender.send(chunk.clone()).await.is_ok() {}
            });
            let mut response = Response::new(body.boxed());
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/xml"),
            );
            response
        }
    }
}
