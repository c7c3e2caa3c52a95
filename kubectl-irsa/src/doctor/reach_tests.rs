use super::*;
use crate::doctor::Status;

#[test]
fn hosts_inside_a_cluster_or_a_network_are_unreachable() {
    for (host, why) in [
        ("kubernetes.default.svc", "a cluster-internal name"),
        (
            "kubernetes.default.svc.cluster.local",
            "a cluster-internal name",
        ),
        ("oidc.kube-system.svc", "a cluster-internal name"),
        ("api.cluster.local.", "a cluster-internal name"),
        ("kubernetes.default", "a cluster-internal name"),
        ("localhost", "a loopback name"),
        ("k8s.localhost", "a loopback name"),
        (
            "issuer",
            "a single-label name, which only a local network resolves",
        ),
        ("oidc.corp.internal", "a local-network name (.internal)"),
        ("nas.local", "a local-network name (.local)"),
        ("oidc.home.arpa", "a local-network name (.home.arpa)"),
        ("127.0.0.1", "a loopback address"),
        ("10.1.2.3", "a private address (RFC 1918)"),
        ("172.16.0.1", "a private address (RFC 1918)"),
        ("192.168.1.10", "a private address (RFC 1918)"),
        ("169.254.169.254", "a link-local address"),
        ("100.64.0.1", "a shared address (CGNAT, RFC 6598)"),
        ("100.127.255.255", "a shared address (CGNAT, RFC 6598)"),
        ("0.0.0.0", "no host's address"),
        ("::1", "a loopback address"),
        ("fd12:3456::1", "a unique local address (RFC 4193)"),
        ("fe80::1", "a link-local address"),
        ("::ffff:10.0.0.1", "a private address (RFC 1918)"),
    ] {
        assert_eq!(unreachable_host(host).as_deref(), Some(why), "{host}");
    }
    for host in [
        "oidc.example.com",
        "my-bucket.s3.eu-west-1.amazonaws.com",
        "100.128.0.1",
        "172.32.0.1",
        "8.8.8.8",
        "2600:1f18::1",
    ] {
        assert_eq!(unreachable_host(host), None, "{host}");
    }
}

#[test]
fn only_hosts_that_might_be_public_are_looked_up() {
    assert_eq!(
        host_to_resolve("https://oidc.example.com/id/ABC").as_deref(),
        Some("oidc.example.com")
    );
    for issuer in [
        "https://oidc.eks.us-west-2.amazonaws.com/id/ABC",
        "https://kubernetes.default.svc.cluster.local",
        "https://203.0.113.7",
        "https://[2600:1f18::1]:8443",
        "http://oidc.example.com",
    ] {
        assert_eq!(host_to_resolve(issuer), None, "{issuer}");
    }
}

#[test]
fn the_kind_default_issuer_fails_with_the_way_to_publish() {
    let issuer = "https://kubernetes.default.svc.cluster.local";
    assert_eq!(
        check(issuer, None),
        Some(Check::fail(
            "issuer",
            "https://kubernetes.default.svc.cluster.local: kubernetes.default.svc.cluster.local is a cluster-internal name, so IAM cannot fetch the discovery document and keys from it",
            PUBLISH,
        ))
    );
    let private = check("https://10.0.0.5:6443", None).unwrap();
    assert_eq!(
        private.evidence,
        "https://10.0.0.5:6443: 10.0.0.5 is a private address (RFC 1918), so IAM cannot fetch the discovery document and keys from it"
    );
    // EKS issuers are public by construction, and not looked up.
    assert_eq!(
        check("https://oidc.eks.us-west-2.amazonaws.com/id/ABC", None),
        None
    );
    assert_eq!(check("https://oidc.example.com/id/ABC", None), None);
}

#[test]
fn what_the_host_resolved_to_is_judged() {
    let issuer = "https://oidc.example.com/id/ABC";
    let public: [IpAddr; 2] = [
        "10.0.0.5".parse().unwrap(),
        "93.184.215.14".parse().unwrap(),
    ];
    assert_eq!(check(issuer, Some(Ok(&public))), None);
    let split = check(issuer, Some(Ok(&public[..1]))).unwrap();
    assert_eq!(
        split,
        Check::warn(
            "issuer",
            "https://oidc.example.com/id/ABC: oidc.example.com resolves here only to addresses IAM cannot reach from the internet (10.0.0.5)",
            format!(
                "check that oidc.example.com has a public address in public DNS (split-horizon DNS answers differently inside); or: {PUBLISH}"
            ),
        )
    );
    let missing = check(issuer, Some(Err("no such host"))).unwrap();
    assert_eq!(missing.status, Status::Fail);
    assert_eq!(
        missing.evidence,
        "https://oidc.example.com/id/ABC: oidc.example.com does not resolve from here (no such host), so IAM cannot fetch the discovery document and keys from it"
    );
    assert_eq!(
        missing.fix.unwrap(),
        format!(
            "give oidc.example.com a public DNS record where the documents are served; or: {PUBLISH}"
        )
    );
}
