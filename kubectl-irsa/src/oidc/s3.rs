//! Publishing the issuer documents on S3: which bucket an issuer URL names, the upload
//! commands, and the issuer URL forms S3's regional hostnames give.

use std::path::Path;

use super::documents::DISCOVERY_PATH;
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

    /// `s3://BUCKET/PREFIX/PATH`.
    fn object(&self, path: &str) -> String {
        match self.prefix.as_str() {
            "" => format!("s3://{}/{path}", self.bucket),
            prefix => format!("s3://{}/{prefix}/{path}", self.bucket),
        }
    }
}

/// The AWS CLI commands that create the bucket, allow public-read objects in it, and upload
/// the two documents from `out` (comment lines start with `#`).
pub fn upload_commands(s3: &S3Issuer, out: &Path, jwks_path: &str) -> Vec<String> {
    let bucket = shell_quote(&s3.bucket);
    let region = s3.region_or_default();
    let location = if region == "us-east-1" {
        String::new()
    } else {
        format!(" --create-bucket-configuration LocationConstraint={region}")
    };
    let mut lines = vec![
        format!(
            "# Publish on S3: bucket {} in {region}. New buckets refuse public ACLs; the second and third commands allow them for this bucket.",
            s3.bucket
        ),
        format!("aws s3api create-bucket --bucket {bucket} --region {region}{location}"),
        format!(
            "aws s3api put-public-access-block --bucket {bucket} --region {region} --public-access-block-configuration BlockPublicAcls=false,IgnorePublicAcls=false,BlockPublicPolicy=true,RestrictPublicBuckets=true"
        ),
        format!(
            "aws s3api put-bucket-ownership-controls --bucket {bucket} --region {region} --ownership-controls 'Rules=[{{ObjectOwnership=BucketOwnerPreferred}}]'"
        ),
    ];
    for path in [DISCOVERY_PATH, jwks_path] {
        lines.push(format!(
            "aws s3 cp {} {} --region {region} --acl public-read --content-type application/json",
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
    fn upload_commands_allow_public_read_and_upload_both_documents() {
        let issuer = S3Issuer::parse("https://oidc-b.s3.eu-west-1.amazonaws.com/c1").unwrap();
        let lines = upload_commands(&issuer, Path::new("out dir"), "keys.json");
        let text = lines.join("\n");
        assert!(text.contains("aws s3api create-bucket --bucket oidc-b --region eu-west-1 --create-bucket-configuration LocationConstraint=eu-west-1"));
        assert!(text.contains("BlockPublicAcls=false,IgnorePublicAcls=false"));
        assert!(text.contains("'Rules=[{ObjectOwnership=BucketOwnerPreferred}]'"));
        assert!(text.contains("aws s3 cp 'out dir/.well-known/openid-configuration' s3://oidc-b/c1/.well-known/openid-configuration --region eu-west-1 --acl public-read --content-type application/json"));
        assert!(text.contains("aws s3 cp 'out dir/keys.json' s3://oidc-b/c1/keys.json"));

        let global = S3Issuer::parse("https://oidc-b.s3.amazonaws.com").unwrap();
        let text = upload_commands(&global, Path::new("out"), "openid/v1/jwks").join("\n");
        assert!(
            text.contains("create-bucket --bucket oidc-b --region us-east-1\n"),
            "{text}"
        );
        assert!(text.contains("s3://oidc-b/openid/v1/jwks"));
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
