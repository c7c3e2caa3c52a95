//! What went wrong between the plugin and the API server, said as kubectl says it: the server
//! by its host and port, and what happened ("was refused", "no such host", "did not answer
//! within 5s"), instead of the client library's `ServiceError: client error (Connect)`.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use kube::core::Status;
use tower::BoxError;

/// A failed exchange with the API server, in one line that names it.
#[derive(Debug)]
pub enum Fault {
    /// Nothing listens there (kubectl's wording, cmd/util/helpers.go `StandardErrorMessage`).
    Refused { server: String },
    /// The server's name does not resolve.
    NoSuchHost { server: String },
    /// `--request-timeout` passed; `retrying` is the status that asked to wait, if any.
    TimedOut {
        server: String,
        after: Duration,
        retrying: Option<StatusCode>,
    },
    /// The answer went past the cap.
    TooLarge { server: String, cap: u64 },
    /// TLS failed: the certificate is not the one the kubeconfig trusts.
    Tls { server: String, detail: String },
    /// A list that would never end: the server's paging is broken.
    Endless { what: String },
    /// Anything else on the way (a reset connection, a broken answer).
    Unreachable { server: String, detail: String },
}

impl std::error::Error for Fault {}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Refused { server } => write!(
                f,
                "the connection to the server {server} was refused - did you specify the right host or port?"
            ),
            Fault::NoSuchHost { server } => write!(
                f,
                "unable to connect to the server {server}: no such host (check the server of the kubeconfig's cluster)"
            ),
            Fault::TimedOut {
                server,
                after,
                retrying: Some(status),
            } => write!(
                f,
                "the server {server} kept answering {status} with Retry-After until --request-timeout {} passed (try again later)",
                seconds(*after)
            ),
            Fault::TimedOut { server, after, .. } => write!(
                f,
                "the server {server} did not answer within {} (--request-timeout; check that the cluster is reachable)",
                seconds(*after)
            ),
            Fault::TooLarge { server, cap } => write!(
                f,
                "the answer of the server {server} is larger than {}, the most read from it for one request",
                size(*cap)
            ),
            Fault::Tls { server, detail } => write!(
                f,
                "unable to connect to the server {server}: TLS: {detail} (check the cluster's certificate-authority in the kubeconfig)"
            ),
            Fault::Endless { what } => write!(
                f,
                "the API server {what} for one list: its paging is broken (check the apiserver, or a proxy in front of it)"
            ),
            Fault::Unreachable { server, detail } => {
                write!(f, "unable to connect to the server {server}: {detail}")
            }
        }
    }
}

/// `2s`, `1500ms`.
fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// `1 MiB`, `64 MiB`, `500 bytes`.
pub fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

/// The transport's error as a [`Fault`]; kube's own errors (auth) and faults pass as they are.
/// `connect_timeout` is the client's own bound on connecting, when `--request-timeout` set none.
pub fn describe(server: &str, connect_timeout: Option<Duration>, error: BoxError) -> BoxError {
    if error.is::<Fault>() || error.is::<kube::Error>() {
        return error;
    }
    let server = server.to_string();
    let mut io_kind = None;
    let mut dns = false;
    let mut tls = None;
    let mut innermost = error.to_string();
    let mut level: Option<&(dyn StdError + 'static)> = Some(&*error);
    while let Some(current) = level {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            io_kind = io_kind.or(Some(io.kind()));
            tls = tls.or_else(|| tls_in(io));
        }
        if current.is::<rustls::Error>() {
            tls = Some(current.to_string());
        }
        dns |= current.to_string() == "dns error";
        innermost = current.to_string();
        level = current.source();
    }
    let fault = match (io_kind, dns, tls) {
        (_, true, _) => Fault::NoSuchHost { server },
        (Some(std::io::ErrorKind::ConnectionRefused), ..) => Fault::Refused { server },
        (_, _, Some(detail)) => Fault::Tls { server, detail },
        (Some(std::io::ErrorKind::TimedOut), ..) => Fault::Unreachable {
            server,
            detail: match connect_timeout {
                Some(after) => format!(
                    "the connection timed out after {} (check that it is reachable from here: a firewall, a VPN)",
                    seconds(after)
                ),
                None => "the connection timed out".into(),
            },
        },
        _ => Fault::Unreachable {
            server,
            detail: innermost,
        },
    };
    Box::new(fault)
}

/// The TLS error an io::Error wraps, however deep: its source() skips what it wraps.
fn tls_in(io: &std::io::Error) -> Option<String> {
    let inner = io.get_ref()?;
    if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
        return Some(tls.to_string());
    }
    tls_in(inner.downcast_ref::<std::io::Error>()?)
}

/// The fault in a client error, wherever kube put it.
pub fn find(error: &kube::Error) -> Option<&Fault> {
    let mut level: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(current) = level {
        if let Some(fault) = current.downcast_ref::<Fault>() {
            return Some(fault);
        }
        level = current.source();
    }
    None
}

/// An error answer as a `Status`: kept when it is one (with its code filled in when missing),
/// else made one with client-go's words for the code (`NewGenericServerResponse`,
/// apimachinery/pkg/api/errors/errors.go), quoting the body when the server failed.
pub fn error_status(code: StatusCode, body: &[u8]) -> Bytes {
    let parsed = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .filter(|value| value["kind"] == "Status")
        .and_then(|value| serde_json::from_value::<Status>(value).ok());
    let text = one_line(body);
    let mut status = parsed.unwrap_or_else(|| Status::failure(&generic(code, &text), ""));
    if status.code == 0 {
        status.code = code.as_u16();
    }
    if status.message.trim().is_empty() {
        status.message = generic(code, &text);
    }
    if status.reason.is_empty() {
        status.reason = reason(code).into();
    }
    serde_json::to_vec(&status).map_or_else(|_| Bytes::new(), Bytes::from)
}

/// At most 200 characters of the body on one line.
fn one_line(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(200) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text,
    }
}

fn generic(code: StatusCode, body: &str) -> String {
    match code.as_u16() {
        400 => "the server rejected our request for an unknown reason".into(),
        401 => "the server has asked for the client to provide credentials".into(),
        403 => "the server does not allow access to the requested resource".into(),
        404 => "the server could not find the requested resource".into(),
        409 => "the server reported a conflict".into(),
        422 => "the server rejected our request due to an error in our request".into(),
        429 => "the server has received too many requests and has asked us to try again later"
            .into(),
        503 => "the server is currently unable to handle the request".into(),
        504 => "the server was unable to return a response in the time allotted, but may still be processing the request".into(),
        500.. => format!("an error on the server ({body:?}) has prevented the request from succeeding"),
        other => format!(
            "the server responded with the status code {other} but did not return more information"
        ),
    }
}

/// client-go's `StatusReason` for a code.
fn reason(code: StatusCode) -> &'static str {
    match code.as_u16() {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Gone",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        500.. => "InternalError",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, body: &str) -> Status {
        let code = StatusCode::from_u16(code).unwrap();
        serde_json::from_slice(&error_status(code, body.as_bytes())).unwrap()
    }

    #[test]
    fn an_empty_object_becomes_client_gos_generic_status() {
        let made = status(500, "{}");
        assert_eq!(made.code, 500);
        assert_eq!(made.reason, "InternalError");
        assert_eq!(
            made.message,
            "an error on the server (\"{}\") has prevented the request from succeeding"
        );
    }

    #[test]
    fn a_status_is_kept_and_completed() {
        let body = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"nope","reason":"Forbidden","code":403}"#;
        let kept = status(403, body);
        assert_eq!((kept.code, kept.message.as_str()), (403, "nope"));
        let bare = status(429, r#"{"kind":"Status"}"#);
        assert_eq!(bare.code, 429);
        assert_eq!(bare.reason, "TooManyRequests");
        assert!(
            bare.message
                .starts_with("the server has received too many requests")
        );
    }

    #[test]
    fn a_page_is_quoted_on_one_line_and_cut() {
        let page = format!("<html>\n<body>{}</body>\n</html>", "x".repeat(500));
        let made = status(502, &page);
        assert!(!made.message.contains('\n'));
        assert!(made.message.contains("...\")"), "{}", made.message);
        assert!(made.message.len() < 300, "{}", made.message);
        assert_eq!(
            status(404, "nope").message,
            "the server could not find the requested resource"
        );
    }

    #[test]
    fn transport_errors_are_named() {
        let io = |kind| -> BoxError { Box::new(std::io::Error::from(kind)) };
        let said = |error| describe("10.0.0.1:6443", Some(Duration::from_secs(30)), error);
        assert_eq!(
            said(io(std::io::ErrorKind::TimedOut)).to_string(),
            "unable to connect to the server 10.0.0.1:6443: the connection timed out after 30s (check that it is reachable from here: a firewall, a VPN)"
        );
        assert_eq!(
            said(io(std::io::ErrorKind::ConnectionRefused)).to_string(),
            "the connection to the server 10.0.0.1:6443 was refused - did you specify the right host or port?"
        );
    }

    #[test]
    fn sizes_read_as_typed() {
        assert_eq!(size(1 << 20), "1 MiB");
        assert_eq!(size(64 << 20), "64 MiB");
        assert_eq!(size(4096), "4 KiB");
        assert_eq!(size(1000), "1000 bytes");
    }
}
