//! Network failures in the words people search for ("connection refused", "no such host"), as
//! curl and kubectl say them, instead of the debug structures of the HTTP and DNS libraries;
//! and URLs printed with their password hidden.

use std::borrow::Cow;
use std::error::Error;
use std::io;

/// One short line saying what happened to a connection, from any error whose chain holds an
/// I/O error, a DNS failure or a TLS error.
pub fn describe(error: &(dyn Error + 'static)) -> String {
    let mut cause: Option<&(dyn Error + 'static)> = Some(error);
    let mut innermost = error;
    while let Some(current) = cause {
        if let Some(said) = describe_text(&current.to_string()) {
            return said;
        }
        if let Some(io) = current.downcast_ref::<io::Error>()
            && let Some(said) = describe_io(io)
        {
            return said;
        }
        innermost = current;
        cause = current.source();
    }
    one_line(&innermost.to_string())
}

/// The words for an I/O error's kind; `None` when the kind says nothing useful.
fn describe_io(error: &io::Error) -> Option<String> {
    use io::ErrorKind::*;
    Some(
        match error.kind() {
            ConnectionRefused => "connection refused",
            ConnectionReset => "connection reset by the server",
            ConnectionAborted => "connection aborted",
            TimedOut => "timed out",
            HostUnreachable => "host unreachable",
            NetworkUnreachable => "network unreachable",
            AddrNotAvailable => "address not available",
            UnexpectedEof => "the server closed the connection",
            _ => {
                // TLS errors arrive as io::Error wrapping a rustls error.
                let inner = error.get_ref()?;
                return Some(one_line(&inner.to_string()));
            }
        }
        .to_string(),
    )
}

/// Messages of our own resolver and of getaddrinfo (hyper-util's GaiResolver).
fn describe_text(text: &str) -> Option<String> {
    if text.starts_with("no such host") || text.starts_with("DNS lookup failed") {
        return Some(text.to_string());
    }
    let unknown_name = [
        "Name or service not known",
        "No address associated with hostname",
        "nodename nor servname provided",
        "Temporary failure in name resolution",
    ];
    if unknown_name.iter().any(|said| text.contains(said)) {
        return Some("no such host".to_string());
    }
    None
}

/// The first line of `text`, at most 200 characters, control characters escaped: a debug dump
/// or a hostile message never reaches the user whole.
pub fn one_line(text: &str) -> String {
    crate::text::first_line(text, 200)
}

/// `url` with the password of its userinfo replaced by `xxxxx`, as Go's `url.URL.Redacted`
/// does; a userinfo without a password (often a token) is hidden whole.
pub fn redacted(url: &str) -> Cow<'_, str> {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return Cow::Borrowed(url);
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return Cow::Borrowed(url);
    };
    let userinfo = &rest[..at];
    let shown = match userinfo.split_once(':') {
        Some((user, _password)) => format!("{user}:xxxxx"),
        None => "xxxxx".to_string(),
    };
    Cow::Owned(format!("{}{shown}{}", &url[..scheme_end], &rest[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redacted("http://user:secret@127.0.0.1:5000/x?a=b@c"),
            "http://user:xxxxx@127.0.0.1:5000/x?a=b@c"
        );
        assert_eq!(
            redacted("https://token@sts.example.com"),
            "https://xxxxx@sts.example.com"
        );
        assert_eq!(redacted("https://a:b:c@h"), "https://a:xxxxx@h");
        assert_eq!(
            redacted("https://sts.amazonaws.com/p@q"),
            "https://sts.amazonaws.com/p@q"
        );
        assert_eq!(redacted("not a url"), "not a url");
    }

    #[test]
    fn io_errors_read_as_people_say_them() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(describe(&refused), "connection refused");
        let gai =
            io::Error::other("failed to lookup address information: Name or service not known");
        assert_eq!(describe(&gai), "no such host");
        let long = io::Error::other(format!("Query {{ name: {} }}\nmore", "x".repeat(600)));
        let said = describe(&long);
        assert!(
            said.chars().count() <= 201 && !said.contains('\n'),
            "{said}"
        );
    }
}
