//! Which `Host` a request may name. `serve` listens on loopback only, but a browser on the same
//! machine can still reach it under a name an attacker resolves to 127.0.0.1 (DNS rebinding):
//! the page's own name then stands in `Host`. So only loopback names and addresses are
//! answered, as the EKS Pod Identity agent answers only its own addresses
//! (aws/eks-pod-identity-agent, internal/validation/request.go, validateRequestTargetHost:
//! AccessDenied for any other target host). The port is not checked: a port-forward changes it.

use std::net::{IpAddr, Ipv6Addr};

use hyper::Request;
use hyper::header::HOST;

/// The request's host when it is not a loopback one (for the log, shortened); `None` when it
/// is, or when the request names none (HTTP/1.0: no page sends such a request).
pub fn foreign<B>(request: &Request<B>) -> Option<String> {
    // An absolute-form target (GET http://name/...) names the host instead of the header.
    let named = match request.uri().authority() {
        Some(authority) => Some(authority.as_str().as_bytes().to_vec()),
        None => request
            .headers()
            .get(HOST)
            .map(|value| value.as_bytes().to_vec()),
    }?;
    let text = String::from_utf8_lossy(&named);
    if is_loopback(&text) {
        return None;
    }
    Some(text.chars().take(100).collect())
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
pub fn is_loopback(host_and_port: &str) -> bool {
    let host = match host_and_port.strip_prefix('[') {
        // [::1] or [::1]:port
        Some(rest) => match rest.split_once(']') {
            Some((inside, after)) if after.is_empty() || valid_port(after) => inside,
            _ => return false,
        },
        None => match host_and_port.rsplit_once(':') {
            Some((host, port)) if valid_port(&format!(":{port}")) => host,
            Some(_) => return false,
            None => host_and_port,
        },
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(address)) => address.is_loopback(),
        Ok(IpAddr::V6(address)) => address == Ipv6Addr::LOCALHOST,
        Err(_) => false,
    }
}

/// `:` and one to five digits.
fn valid_port(colon_port: &str) -> bool {
    colon_port.strip_prefix(':').is_some_and(|port| {
        (1..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_and_addresses_pass() {
        for good in [
            "127.0.0.1",
            "127.0.0.1:9121",
            "127.1.2.3:80",
            "localhost",
            "LOCALHOST:9121",
            "localhost.:9121",
            "[::1]",
            "[::1]:9121",
            "[0:0:0:0:0:0:0:1]:1",
        ] {
            assert!(is_loopback(good), "{good}");
        }
        for bad in [
            "evil.example",
            "evil.example:9121",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "0.0.0.0",
            "169.254.169.254",
            "[::ffff:127.0.0.1]",
            "[::1]x",
            "127.0.0.1:",
            "127.0.0.1:abc",
            "::1",
            "",
            "10.0.0.1:9121",
        ] {
            assert!(!is_loopback(bad), "{bad}");
        }
    }
}
