//! Publishing the issuer documents on S3: which bucket an issuer URL names, the upload
//! commands, and the issuer URL forms S3's regional hostnames give.

use std::path::Path;

use serde_json::json;

use super::documents::DISCOVERY_PATH;
use super::publish::{Target, read_statement};
use crate::shell::quote as shell_quote;

/// An issuer URL served straight from an S3 bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Issuer {
    pub bucket: String,
    /// `None` for the legacy global hostnames (`s3.amazonaws.com`), which mean us-east-1.
    pub region: Option<String>,
    /// The key prefix the issuer's path gives, without leading or trailing slashes.
    pub prefix: String,
    pub china: bool,
}

impl S3Issuer {
    /// Reads `https://BUCKET.s3.REGION.amazonaws.com/PREFIX`, `https://s3.REGION.amazonaws.com/BUCKET/PREFIX`
    /// and their `s3-REGION` and global variants (and `.amazonaws.com.cn`); `None` for other hosts.
    pub fn parse(issuer: &str) -> Option<S3Issuer> {
        let rest = issuer.strip_prefix("https://")?;
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = host.to_ascii_lowercase();
        let (labels, china) = if let Some(labels) = host.strip_suffix(".amazonaws.com.cn") {
            (labels, true)
        } else {
            (host.strip_suffix(".amazonaws.com")?, false)
        };
        let labels: Vec<&str> = labels.split('.').collect();
        let at = labels
            .iter()
            .position(|label| *label == "s3" || label.starts_with("s3-"))?;
        let region = match (labels[at], &labels[at + 1..]) {
            ("s3", []) => None,
            ("s3", [region]) => Some((*region).to_string()),
            (dashed, []) => Some(dashed.strip_prefix("s3-")?.to_string()),
            _ => return None,
        };
        if region.as_deref().is_some_and(|r| {
            r.is_empty() || !r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        }) {
            return None;
        }
        let mut segments = path.split('/').filter(|s| !s.is_empty());
        let bucket = if at == 0 {
            segments.next()?.to_string()
        } else {
            labels[..at].join(".")
        };
        Some(S3Issuer {
            bucket,
            region,
            prefix: segments.collect::<Vec<_>>().join("/"),
            china,
        })
    }

    fn region_or_default(&self) -> &str {
        self.region.as_deref().unwrap_or("us-east-1")
    }

    /// The object key of `PATH` under the issuer: `PREFIX/PATH`.
    fn key(&self, path: &str) -> String {
        object_key(&self.prefix, path)
    }

    /// `s3://BUCKET/PREFIX/PATH`.
    fn object(&self, path: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.key(path))
    }
}

/// The AWS CLI commands that create the bucket, let its policy grant public reads (the two
/// policy settings of the public-access block off, the ACL ones on), grant `s3:GetObject` to
/// anyone on exactly the two documents, and upload them from `out` (comment lines start
/// with `#`). `oidc publish` does the same, merging the policy instead of replacing it.
pub fn upload_commands(s3: &S3Issuer, out: &Path, jwks_path: &str) -> Vec<String> {
    let bucket = shell_quote(&s3.bucket);
    let region = s3.region_or_default();
    let location = if region == "us-east-1" {
        String::new()
    } else {
        format!(" --create-bucket-configuration LocationConstraint={region}")
    };
    let target = Target {
        bucket: s3.bucket.clone(),
        region: s3.region.clone(),
        discovery_key: s3.key(DISCOVERY_PATH),
        jwks_key: s3.key(jwks_path),
        s3_url: true,
    };
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [read_statement(&target, irsa_sts::Partition::of_region(region))],
    });
    let mut lines = vec![
        format!(
            "# Publish on S3: bucket {} in {region}, its policy letting anyone read these two objects only (ACLs stay off). put-bucket-policy replaces a policy the bucket has: `kubectl irsa oidc publish` merges into it instead.",
            s3.bucket
        ),
        format!("aws s3api create-bucket --bucket {bucket} --region {region}{location}"),
        format!(
            "aws s3api put-public-access-block --bucket {bucket} --region {region} --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=false,RestrictPublicBuckets=false"
        ),
        format!(
            "aws s3api put-bucket-policy --bucket {bucket} --region {region} --policy {}",
            shell_quote(&policy.to_string())
        ),
    ];
    for path in [DISCOVERY_PATH, jwks_path] {
        lines.push(format!(
            "aws s3 cp {} {} --region {region} --content-type application/json",
            shell_quote(&out.join(path).to_string_lossy()),
            shell_quote(&s3.object(path)),
        ));
    }
    lines
}

/// What to do with the files written to `out`: the S3 commands when the issuer is a bucket,
/// else where to serve them; a check; and the issuer forms S3 offers.
pub fn publish_instructions(issuer: &str, out: &Path, jwks_path: &str) -> Vec<String> {
    let base = issuer.trim_end_matches('/');
    let s3 = S3Issuer::parse(issuer);
    let mut lines = match &s3 {
        Some(s3) => upload_commands(s3, out, jwks_path),
        None => vec![format!(
            "# Serve {} at {issuer} over https, so that {base}/{DISCOVERY_PATH} and {base}/{jwks_path} answer with Content-Type application/json.",
            shell_quote(&out.to_string_lossy()),
        )],
    };
    lines.push(format!(
        "# Check: curl -fsS {}",
        shell_quote(&format!("{base}/{DISCOVERY_PATH}"))
    ));
    lines.push(String::new());
    lines.push("# Issuer URLs an S3 bucket serves over https (tokens carry the issuer byte for byte: choose it before configuring the apiserver):".into());
    let forms = match &s3 {
        Some(s3) => issuer_forms(Some(&s3.bucket), s3.region.as_deref(), &s3.prefix, s3.china),
        None => issuer_forms(None, None, "", false),
    };
    lines.extend(forms.into_iter().map(|form| format!("#   {form}")));
    lines
}

/// The object key of `path` under the key prefix `prefix` (no slashes at its ends).
pub fn object_key(prefix: &str, path: &str) -> String {
    match prefix {
        "" => path.to_string(),
        prefix => format!("{prefix}/{path}"),
    }
}

/// The issuer URLs a bucket can serve the documents at over https (`None`s print as
/// placeholders). Tokens carry the issuer byte for byte: pick one before configuring the
/// apiserver, and keep it.
pub fn issuer_forms(
    bucket: Option<&str>,
    region: Option<&str>,
    prefix: &str,
    china: bool,
) -> Vec<String> {
    let bucket = bucket.unwrap_or("BUCKET");
    let region = region.unwrap_or("REGION");
    let domain = if china {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    let suffix = match prefix {
        "" => String::new(),
        prefix => format!("/{prefix}"),
    };
    let mut forms = Vec::new();
    if !bucket.contains('.') {
        // S3's certificate covers one label before .s3.REGION: dotted buckets fail TLS there.
        forms.push(format!("https://{bucket}.s3.{region}.{domain}{suffix}"));
    }
    forms.push(format!("https://s3.{region}.{domain}/{bucket}{suffix}"));
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(bucket: &str, region: Option<&str>, prefix: &str, china: bool) -> Option<S3Issuer> {
        Some(S3Issuer {
            bucket: bucket.into(),
            region: region.map(str::to_string),
            prefix: prefix.into(),
            china,
        })
    }

    #[test]
    fn s3_issuers_name_their_bucket_region_and_prefix() {
        let cases = [
            (
                "https://oidc-b.s3.eu-west-1.amazonaws.com",
                s3("oidc-b", Some("eu-west-1"), "", false),
            ),
            (
                "https://oidc-b.s3.eu-west-1.amazonaws.com/c1/",
                s3("oidc-b", Some("eu-west-1"), "c1", false),
            ),
            (
                "https://s3.eu-west-1.amazonaws.com/oidc-b/c1",
                s3("oidc-b", Some("eu-west-1"), "c1", false),
            ),
            (
                "https://s3-us-west-2.amazonaws.com/oidc-b",
                s3("oidc-b", Some("us-west-2"), "", false),
            ),
            (
                "https://oidc-b.s3.amazonaws.com",
                s3("oidc-b", None, "", false),
            ),
            (
                "https://my.dotted.bucket.s3.us-east-2.amazonaws.com/a/b",
                s3("my.dotted.bucket", Some("us-east-2"), "a/b", false),
            ),
            (
                "https://b.s3.cn-north-1.amazonaws.com.cn",
                s3("b", Some("cn-north-1"), "", true),
            ),
            ("https://oidc.example.com/c1", None),
            ("https://s3.eu-west-1.amazonaws.com", None),
            ("https://oidc.eks.eu-west-1.amazonaws.com/id/ABC", None),
            ("http://b.s3.amazonaws.com", None),
        ];
        for (issuer, expected) in cases {
            assert_eq!(S3Issuer::parse(issuer), expected, "{issuer}");
        }
    }

    #[test]
    fn upload_commands_grant_public_reads_on_the_two_documents_only() {
        let issuer = S3Issuer::parse("https://oidc-b.s3.eu-west-1.amazonaws.com/c1").unwrap();
        let lines = upload_commands(&issuer, Path::new("out dir"), "keys.json");
        assert_eq!(lines.len(), 6, "{lines:?}");
        assert_eq!(
            lines[1],
            "aws s3api create-bucket --bucket oidc-b --region eu-west-1 --create-bucket-configuration LocationConstraint=eu-west-1"
        );
        assert_eq!(
            lines[2],
            "aws s3api put-public-access-block --bucket oidc-b --region eu-west-1 --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=false,RestrictPublicBuckets=false"
        );
        let policy = lines[3]
            .strip_prefix(
                "aws s3api put-bucket-policy --bucket oidc-b --region eu-west-1 --policy '",
            )
            .and_then(|rest| rest.strip_suffix('\''))
            .unwrap();
        let policy: serde_json::Value = serde_json::from_str(policy).unwrap();
        assert_eq!(
            policy["Statement"][0]["Resource"],
            json!([
                "arn:aws:s3:::oidc-b/c1/.well-known/openid-configuration",
                "arn:aws:s3:::oidc-b/c1/keys.json"
            ])
        );
        assert_eq!(policy["Statement"][0]["Principal"], "*");
        assert_eq!(
            lines[4],
            "aws s3 cp 'out dir/.well-known/openid-configuration' s3://oidc-b/c1/.well-known/openid-configuration --region eu-west-1 --content-type application/json"
        );
        assert_eq!(
            lines[5],
            "aws s3 cp 'out dir/keys.json' s3://oidc-b/c1/keys.json --region eu-west-1 --content-type application/json"
        );

        let global = S3Issuer::parse("https://oidc-b.s3.amazonaws.com").unwrap();
        let text = upload_commands(&global, Path::new("out"), "openid/v1/jwks").join("\n");
        assert!(
            text.contains("create-bucket --bucket oidc-b --region us-east-1\n"),
            "{text}"
        );
        assert!(text.contains("s3://oidc-b/openid/v1/jwks"));
        let china = S3Issuer::parse("https://b.s3.cn-north-1.amazonaws.com.cn").unwrap();
        let text = upload_commands(&china, Path::new("out"), "keys.json").join("\n");
        assert!(text.contains("arn:aws-cn:s3:::b/keys.json"), "{text}");
    }

    #[test]
    fn other_hosts_get_serving_instructions_and_the_s3_forms() {
        let lines = publish_instructions(
            "https://oidc.example.com/c1/",
            Path::new("site"),
            "keys.json",
        );
        assert_eq!(
            lines[0],
            "# Serve site at https://oidc.example.com/c1/ over https, so that https://oidc.example.com/c1/.well-known/openid-configuration and https://oidc.example.com/c1/keys.json answer with Content-Type application/json."
        );
        assert_eq!(
            lines[1],
            "# Check: curl -fsS https://oidc.example.com/c1/.well-known/openid-configuration"
        );
        assert!(lines.contains(&"#   https://BUCKET.s3.REGION.amazonaws.com".to_string()));
        let s3 = publish_instructions(
            "https://b.s3.eu-west-1.amazonaws.com",
            Path::new("site"),
            "keys.json",
        );
        assert!(s3[1].starts_with("aws s3api create-bucket --bucket b"));
        assert_eq!(
            s3.last().unwrap(),
            "#   https://s3.eu-west-1.amazonaws.com/b"
        );
    }

    #[test]
    fn issuer_forms_use_regional_hostnames() {
        assert_eq!(
            issuer_forms(Some("b"), Some("eu-west-1"), "c1", false),
            [
                "https://b.s3.eu-west-1.amazonaws.com/c1",
                "https://s3.eu-west-1.amazonaws.com/b/c1"
            ]
        );
        assert_eq!(
            issuer_forms(Some("a.b"), Some("cn-north-1"), "", true),
            ["https://s3.cn-north-1.amazonaws.com.cn/a.b"]
        );
        assert_eq!(
            issuer_forms(None, None, "", false)[0],
            "https://BUCKET.s3.REGION.amazonaws.com"
        );
    }
}
