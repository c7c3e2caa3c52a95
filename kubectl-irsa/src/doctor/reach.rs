//! Whether IAM can reach an issuer. IAM fetches the discovery document and the JWKS over the
//! internet, so a host that names the inside of a cluster (`kubernetes.default.svc`, `*.svc`,
//! `*.cluster.local`: the kubeadm, kind, k3s and minikube default is
//! `https://kubernetes.default.svc.cluster.local`), a loopback, private (RFC 1918, RFC 4193),
//! link-local or shared (CGNAT, RFC 6598) address, a single-label or local-network name can
//! never serve it; nor can a name that does not resolve. Pure: the issuer and, with
//! `--check-public`, what its host resolved to here ([`super::gather`] looks it up, except for
//! EKS issuers, which are public by construction, and for hosts already judged from their name).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Check;
use super::account::eks_region;
use crate::oidc::provider::host_and_port;

/// How to move to an issuer IAM can reach.
pub const PUBLISH: &str = "IAM fetches the discovery document and JWKS over the internet: set --service-account-issuer to a public https URL (an S3 bucket's, say), publish the documents there (kubectl irsa oidc documents --issuer URL --out DIR, then upload DIR), and keep the old issuer as a second --service-account-issuer while pods move to new tokens";

/// Suffixes of names only a cluster resolves.
const CLUSTER_SUFFIXES: [&str; 2] = [".svc", ".cluster.local"];
/// Suffixes of names only a local network resolves: mDNS (RFC 6762), ICANN's private-use
/// `.internal`, and home networks (RFC 8375).
const LOCAL_SUFFIXES: [&str; 3] = [".local", ".internal", ".home.arpa"];

/// Why IAM can never fetch from `host` (a name, or an address without brackets), judged from
/// the host alone; `None` when it may be public.
pub fn unreachable_host(host: &str) -> Option<String> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if let Ok(address) = host.parse::<IpAddr>() {
        return unreachable_address(address).map(str::to_string);
    }
    let name = format!(".{host}");
    if name == ".kubernetes.default" || CLUSTER_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        return Some("a cluster-internal name".into());
    }
    if name.ends_with(".localhost") {
        return Some("a loopback name".into());
    }
    if !host.contains('.') {
        return Some("a single-label name, which only a local network resolves".into());
    }
    LOCAL_SUFFIXES
        .iter()
        .find(|s| name.ends_with(*s))
        .map(|suffix| format!("a local-network name ({suffix})"))
}

/// Why IAM can never connect to `address`; `None` for a public one.
pub fn unreachable_address(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => unreachable_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => unreachable_v4(v4),
            None => unreachable_v6(v6),
        },
    }
}

fn unreachable_v4(address: Ipv4Addr) -> Option<&'static str> {
    let [first, second, ..] = address.octets();
    if address.is_loopback() {
        Some("a loopback address")
    } else if address.is_private() {
        Some("a private address (RFC 1918)")
    } else if address.is_link_local() {
        Some("a link-local address")
    } else if first == 100 && second & 0xc0 == 64 {
        Some("a shared address (CGNAT, RFC 6598)")
    } else if address.is_unspecified() || address.is_broadcast() {
        Some("no host's address")
    } else {
        None
    }
}

fn unreachable_v6(address: Ipv6Addr) -> Option<&'static str> {
    let first = address.segments()[0];
    if address.is_loopback() {
        Some("a loopback address")
    } else if first & 0xfe00 == 0xfc00 {
        Some("a unique local address (RFC 4193)")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if address.is_unspecified() {
        Some("no host's address")
    } else {
        None
    }
}

/// The host to look up for `issuer` with `--check-public`: `None` for an EKS issuer, an
/// address, a host already judged from its name, or an issuer that is no https URL.
pub fn host_to_resolve(issuer: &str) -> Option<String> {
    if eks_region(issuer).is_some() {
        return None;
    }
    let (host, _) = host_and_port(issuer).ok()?;
    let judged = host.parse::<IpAddr>().is_ok() || unreachable_host(&host).is_some();
    (!judged).then_some(host)
}

/// What the issuer check says about reaching `issuer` (already an https URL without a trailing
/// slash), given what its host `resolved` to (`None`: not looked up); `None` when nothing is
/// against it.
pub fn check(issuer: &str, resolved: Option<Result<&[IpAddr], &str>>) -> Option<Check> {
    const NAME: &str = "issuer";
    let host = host_and_port(issuer).ok()?.0;
    if eks_region(issuer).is_some() {
        return None;
    }
    if let Some(why) = unreachable_host(&host) {
        return Some(Check::fail(
            NAME,
            format!(
                "{issuer}: {host} is {why}, so IAM cannot fetch the discovery document and keys from it"
            ),
            PUBLISH,
        ));
    }
    let addresses = match resolved? {
        Err(why) => {
            return Some(Check::fail(
                NAME,
                format!(
                    "{issuer}: {host} does not resolve from here ({why}), so IAM cannot fetch the discovery document and keys from it"
                ),
                format!(
                    "give {host} a public DNS record where the documents are served; or: {PUBLISH}"
                ),
            ));
        }
        Ok(addresses) => addresses,
    };
    if addresses.iter().any(|a| unreachable_address(*a).is_none()) {
        return None;
    }
    let listed: Vec<String> = addresses.iter().map(IpAddr::to_string).collect();
    Some(Check::warn(
        NAME,
        format!(
            "{issuer}: {host} resolves here only to addresses IAM cannot reach from the internet ({})",
            listed.join(", ")
        ),
        format!(
            "check that {host} has a public address in public DNS (split-horizon DNS answers differently inside); or: {PUBLISH}"
        ),
    ))
}

#[cfg(test)]
#[path = "reach_tests.rs"]
mod tests;
