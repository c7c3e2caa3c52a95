//! The IAM OIDC provider: the thumbprint of the issuer host's top CA certificate, and the
//! `aws iam create-open-id-connect-provider` command and Terraform resource that create it.

use sha1::{Digest, Sha1};

use crate::shell::quote as shell_quote;

/// A certificate of a served chain, described for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainEntry {
    pub subject: String,
    pub issuer: String,
    pub sha1: String,
}

/// The SHA-1 fingerprint of a DER certificate: 40 lowercase hex digits, as IAM takes it.
pub fn sha1_hex(der: &[u8]) -> String {
    irsa_sts::hex(&Sha1::digest(der))
}

/// Describes each certificate of a chain (in the order served: leaf first).
pub fn describe_chain(chain: &[Vec<u8>]) -> Vec<ChainEntry> {
    chain
        .iter()
        .map(|der| {
            let (subject, issuer) = match x509_parser::parse_x509_certificate(der) {
                Ok((_, certificate)) => (
                    certificate.subject().to_string(),
                    certificate.issuer().to_string(),
                ),
                Err(_) => ("(unparsable certificate)".into(), String::new()),
            };
            ChainEntry {
                subject,
                issuer,
                sha1: sha1_hex(der),
            }
        })
        .collect()
}

/// The thumbprint IAM wants: that of the last (top) certificate the host serves.
pub fn thumbprint(chain: &[Vec<u8>]) -> Option<String> {
    chain.last().map(|der| sha1_hex(der))
}

/// A thumbprint as given by a person: 40 hex digits, possibly with colons (as `openssl x509
/// -fingerprint` prints it) or in upper case. Returns the form IAM takes.
pub fn normalize_thumbprint(text: &str) -> Result<String, String> {
    let hex: String = text
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(format!(
            "invalid --thumbprint {text:?}: give the 40 hex digits of a SHA-1 fingerprint (what `kubectl irsa oidc thumbprint URL` prints)"
        ))
    }
}

/// Where to connect for a URL's certificate chain: `(host, port)`. Takes an https URL (its
/// path is ignored) or a bare `host[:port]`.
pub fn host_and_port(url: &str) -> Result<(String, u16), String> {
    let refuse = |why: &str| format!("invalid URL {url:?}: {why}; give https://HOST[:PORT][/PATH]");
    let rest = match url.split_once("://") {
        Some(("https", rest)) => rest,
        Some((scheme, _)) => {
            return Err(refuse(&format!(
                "{scheme}:// has no certificate (IAM needs an https issuer)"
            )));
        }
        None => url,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let (host, after) = inner
            .split_once(']')
            .ok_or_else(|| refuse("unclosed '['"))?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(refuse("no host"));
    }
    let port = match port {
        None => 443,
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| refuse(&format!("bad port {port:?}")))?,
    };
    Ok((host.to_string(), port))
}

/// The provider URL IAM keeps for an issuer, and the tail of its ARN
/// (`arn:aws:iam::ACCOUNT:oidc-provider/HOSTPATH`): the issuer without `https://` and without
/// a trailing slash.
pub fn hostpath(issuer: &str) -> &str {
    let rest = issuer.strip_prefix("https://").unwrap_or(issuer);
    rest.trim_end_matches('/')
}

/// The ARN among `arns` of the provider for `hostpath`.
pub fn find_arn<'a>(arns: impl IntoIterator<Item = &'a str>, hostpath: &str) -> Option<&'a str> {
    arns.into_iter()
        .find(|arn| arn.split_once(":oidc-provider/").map(|(_, tail)| tail) == Some(hostpath))
}

/// The client IDs of `wanted` a provider with `present` lacks, in `wanted`'s order, once each.
pub fn missing_client_ids(present: &[String], wanted: &[String]) -> Vec<String> {
    let mut missing: Vec<String> = Vec::new();
    for id in wanted {
        if !present.contains(id) && !missing.contains(id) {
            missing.push(id.clone());
        }
    }
    missing
}

/// Why a new provider gets the thumbprints it gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Thumbprints {
    /// Given with --thumbprint: used as they are.
    Given(Vec<String>),
    /// An S3 host: IAM verifies S3's certificate itself.
    S3,
    /// The host's chain verifies against the public roots: IAM's own trust store verifies it.
    PublicCa { address: String },
    /// A chain no public root signs: IAM needs the top certificate's thumbprint.
    PrivateCa {
        address: String,
        top: ChainEntry,
        why: String,
    },
}

impl Thumbprints {
    /// The list CreateOpenIDConnectProvider gets (empty: none sent).
    pub fn list(&self) -> Vec<String> {
        match self {
            Thumbprints::Given(list) => list.clone(),
            Thumbprints::PrivateCa { top, .. } => vec![top.sha1.clone()],
            Thumbprints::S3 | Thumbprints::PublicCa { .. } => Vec::new(),
        }
    }

    /// One clause saying which, for the closing message.
    pub fn describe(&self) -> String {
        match self {
            Thumbprints::Given(list) => format!("Thumbprint {} as given", list.join(", ")),
            Thumbprints::S3 => "No thumbprint: IAM trusts S3's certificates itself".into(),
            Thumbprints::PublicCa { address } => format!(
                "No thumbprint: {address} has a certificate from a public CA, which IAM verifies itself"
            ),
            Thumbprints::PrivateCa { address, top, why } => format!(
                "Thumbprint {} of {}, the top certificate {address} serves, since no public CA signs it ({why})",
                top.sha1, top.subject
            ),
        }
    }
}

/// `aws iam create-open-id-connect-provider` for the issuer.
pub fn aws_cli_command(issuer: &str, audiences: &[String], thumbprints: &[String]) -> String {
    let join = |values: &[String]| {
        values
            .iter()
            .map(|v| shell_quote(v).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "aws iam create-open-id-connect-provider \\\n  --url {} \\\n  --client-id-list {} \\\n  --thumbprint-list {}\n",
        shell_quote(issuer),
        join(audiences),
        join(thumbprints)
    )
}

/// The equivalent Terraform resource.
pub fn terraform(issuer: &str, audiences: &[String], thumbprints: &[String]) -> String {
    let list = |values: &[String]| {
        values
            .iter()
            .map(|v| hcl_string(v))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "resource \"aws_iam_openid_connect_provider\" \"irsa\" {{\n  url             = {}\n  client_id_list  = [{}]\n  thumbprint_list = [{}]\n}}\n",
        hcl_string(issuer),
        list(audiences),
        list(thumbprints)
    )
}

/// A quoted HCL string: JSON escapes, and `${`/`%{` kept literal.
fn hcl_string(value: &str) -> String {
    serde_json::to_string(value)
        .unwrap_or_default()
        .replace("${", "$${")
        .replace("%{", "%%{")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_is_lowercase_hex() {
        // sha1("abc"), FIPS 180 test vector.
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            thumbprint(&[b"leaf".to_vec(), b"abc".to_vec()]).unwrap(),
            sha1_hex(b"abc")
        );
        assert_eq!(thumbprint(&[]), None);
    }

    #[test]
    fn thumbprints_are_normalized() {
        assert_eq!(
            normalize_thumbprint("A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D")
                .unwrap(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        for bad in ["", "a9993e", "z9993e364706816aba3e25717850c26c9cd0d89d"] {
            assert!(
                normalize_thumbprint(bad)
                    .unwrap_err()
                    .contains("--thumbprint")
            );
        }
    }

    #[test]
    fn urls_give_host_and_port() {
        let ok = |url: &str| host_and_port(url).unwrap();
        assert_eq!(
            ok("https://oidc.example.com/id/X"),
            ("oidc.example.com".into(), 443)
        );
        assert_eq!(ok("https://127.0.0.1:8443"), ("127.0.0.1".into(), 8443));
        assert_eq!(ok("oidc.example.com"), ("oidc.example.com".into(), 443));
        assert_eq!(ok("https://[::1]:9443/x"), ("::1".into(), 9443));
        assert!(
            host_and_port("http://oidc.example.com")
                .unwrap_err()
                .contains("https")
        );
        assert!(host_and_port("https://").is_err());
        assert!(host_and_port("https://h:99999").is_err());
    }

    #[test]
    fn provider_commands_name_url_audience_and_thumbprint() {
        let issuer = "https://b.s3.eu-west-1.amazonaws.com/c1";
        let audiences = vec!["sts.amazonaws.com".to_string()];
        let thumbprints = vec!["a9993e364706816aba3e25717850c26c9cd0d89d".to_string()];
        assert_eq!(
            aws_cli_command(issuer, &audiences, &thumbprints),
            "aws iam create-open-id-connect-provider \\\n  --url https://b.s3.eu-west-1.amazonaws.com/c1 \\\n  --client-id-list sts.amazonaws.com \\\n  --thumbprint-list a9993e364706816aba3e25717850c26c9cd0d89d\n"
        );
        let hcl = terraform(issuer, &audiences, &thumbprints);
        assert!(hcl.contains("url             = \"https://b.s3.eu-west-1.amazonaws.com/c1\"\n"));
        assert!(hcl.contains("client_id_list  = [\"sts.amazonaws.com\"]\n"));
        assert!(hcl.contains("thumbprint_list = [\"a9993e364706816aba3e25717850c26c9cd0d89d\"]\n"));
        assert_eq!(hcl_string("a${b}"), "\"a$${b}\"");
    }

    #[test]
    fn providers_are_found_by_their_hostpath() {
        assert_eq!(
            hostpath("https://b.s3.amazonaws.com/c1/"),
            "b.s3.amazonaws.com/c1"
        );
        let arns = [
            "arn:aws:iam::123456789012:oidc-provider/b.s3.amazonaws.com/c1/x",
            "arn:aws:iam::123456789012:oidc-provider/b.s3.amazonaws.com/c1",
        ];
        assert_eq!(find_arn(arns, "b.s3.amazonaws.com/c1"), Some(arns[1]));
        assert_eq!(find_arn(arns, "b.s3.amazonaws.com"), None);
        let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            missing_client_ids(
                &ids(&["sts.amazonaws.com"]),
                &ids(&["a", "sts.amazonaws.com", "a", "b"])
            ),
            ids(&["a", "b"])
        );
        assert!(missing_client_ids(&ids(&["a"]), &ids(&["a"])).is_empty());
    }
}
