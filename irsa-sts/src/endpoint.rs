//! Where the STS call goes, from the same environment variables the AWS SDKs read.

use std::fmt;

use crate::arn::Partition;

/// The raw settings, as the environment or flags give them (flags win before this point).
#[derive(Clone, Debug, Default)]
pub struct EndpointInputs {
    /// `--region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region: Option<String>,
    /// `AWS_STS_REGIONAL_ENDPOINTS`: `regional` (the default) or `legacy`.
    pub sts_regional_endpoints: Option<String>,
    /// `--endpoint-url`, else `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`.
    pub endpoint_url: Option<String>,
    /// `AWS_USE_FIPS_ENDPOINT`: `true` or `false`.
    pub use_fips: Option<String>,
}

impl EndpointInputs {
    /// Reads what the AWS SDKs read: `AWS_REGION` over `AWS_DEFAULT_REGION`,
    /// `AWS_ENDPOINT_URL_STS` over `AWS_ENDPOINT_URL`, `AWS_STS_REGIONAL_ENDPOINTS` and
    /// `AWS_USE_FIPS_ENDPOINT`; a flag's value (`region`, `endpoint_url`) wins over them.
    pub fn from_env(
        env: impl Fn(&str) -> Option<String>,
        region: Option<String>,
        endpoint_url: Option<String>,
    ) -> Self {
        let env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        EndpointInputs {
            region: region
                .or_else(|| env("AWS_REGION"))
                .or_else(|| env("AWS_DEFAULT_REGION")),
            sts_regional_endpoints: env("AWS_STS_REGIONAL_ENDPOINTS"),
            endpoint_url: endpoint_url
                .or_else(|| env("AWS_ENDPOINT_URL_STS"))
                .or_else(|| env("AWS_ENDPOINT_URL")),
            use_fips: env("AWS_USE_FIPS_ENDPOINT"),
        }
    }
}

/// A setting the environment gave that cannot be used; the message names it and the fix.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error("invalid AWS_STS_REGIONAL_ENDPOINTS {0:?}: use regional or legacy")]
    RegionalEndpoints(String),
    #[error("invalid AWS_USE_FIPS_ENDPOINT {0:?}: use true or false")]
    Fips(String),
    #[error(
        "invalid endpoint URL {:?}: give an http:// or https:// URL such as https://sts.us-west-2.amazonaws.com",
        crate::network::redacted(.0)
    )]
    Url(String),
    #[error("invalid region {0:?}: give a region name such as us-west-2")]
    Region(String),
}

/// The resolved target of the STS call. `Display` and `Debug` hide the URL's password.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct StsEndpoint {
    /// The region the client is configured with (picks the regional endpoint).
    pub region: String,
    /// An explicit URL (override or the legacy global endpoint); `None` lets the SDK resolve the
    /// regional endpoint of `region`, partition and FIPS included.
    pub url: Option<String>,
    pub fips: bool,
}

impl StsEndpoint {
    /// Resolves the inputs; `partition` (from the role ARN) picks the region when none is set.
    pub fn resolve(inputs: &EndpointInputs, partition: Partition) -> Result<Self, EndpointError> {
        let region = match non_empty(&inputs.region) {
            Some(region) if is_region_name(region) => region.to_string(),
            Some(region) => return Err(EndpointError::Region(region.to_string())),
            None => partition.default_region().to_string(),
        };
        let fips = match non_empty(&inputs.use_fips)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(EndpointError::Fips(
                    inputs.use_fips.clone().unwrap_or_default(),
                ));
            }
        };
        let legacy = match non_empty(&inputs.sts_regional_endpoints)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("regional") => false,
            Some("legacy") => true,
            Some(_) => {
                return Err(EndpointError::RegionalEndpoints(
                    inputs.sts_regional_endpoints.clone().unwrap_or_default(),
                ));
            }
        };
        let url = match non_empty(&inputs.endpoint_url) {
            Some(url) if is_http_url(url) => Some(url.trim_end_matches('/').to_string()),
            Some(url) => return Err(EndpointError::Url(url.to_string())),
            // The global endpoint exists only in the commercial partition, and not for FIPS.
            None if legacy && !fips && Partition::of_region(&region) == Partition::Aws => {
                Some("https://sts.amazonaws.com".to_string())
            }
            None => None,
        };
        Ok(StsEndpoint { region, url, fips })
    }
}

impl fmt::Debug for StsEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StsEndpoint")
            .field("region", &self.region)
            .field("url", &self.url.as_deref().map(crate::network::redacted))
            .field("fips", &self.fips)
            .finish()
    }
}

impl fmt::Display for StsEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.url {
            Some(url) => write!(f, "STS at {}", crate::network::redacted(url)),
            None if self.fips => write!(f, "the FIPS STS endpoint of {}", self.region),
            None => write!(f, "the STS endpoint of {}", self.region),
        }
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn is_region_name(region: &str) -> bool {
    region
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        !rest.is_empty() && !rest.starts_with('/') && !rest.contains(char::is_whitespace)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(inputs: EndpointInputs) -> Result<StsEndpoint, EndpointError> {
        StsEndpoint::resolve(&inputs, Partition::Aws)
    }

    #[test]
    fn regional_by_default_and_region_from_partition() {
        let endpoint = resolve(EndpointInputs::default()).unwrap();
        assert_eq!(
            (endpoint.region.as_str(), endpoint.url, endpoint.fips),
            ("us-east-1", None, false)
        );
        let cn = StsEndpoint::resolve(&EndpointInputs::default(), Partition::AwsCn).unwrap();
        assert_eq!(cn.region, "cn-north-1");
        let gov = StsEndpoint::resolve(&EndpointInputs::default(), Partition::AwsUsGov).unwrap();
        assert_eq!(gov.region, "us-gov-west-1");
    }

    #[test]
    fn explicit_url_wins_and_loses_its_trailing_slash() {
        let endpoint = resolve(EndpointInputs {
            region: Some("eu-west-1".into()),
            endpoint_url: Some("http://127.0.0.1:5000/".into()),
            sts_regional_endpoints: Some("legacy".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(endpoint.url.as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(endpoint.region, "eu-west-1");
    }

    #[test]
    fn legacy_means_the_global_endpoint_in_the_commercial_partition_only() {
        let legacy = |region: &str| EndpointInputs {
            region: Some(region.into()),
            sts_regional_endpoints: Some("LEGACY".into()),
            ..Default::default()
        };
        assert_eq!(
            resolve(legacy("ap-south-1")).unwrap().url.as_deref(),
            Some("https://sts.amazonaws.com")
        );
        assert_eq!(resolve(legacy("cn-northwest-1")).unwrap().url, None);
    }

    #[test]
    fn environment_follows_the_sdks_precedence_and_flags_win() {
        let env = |name: &str| match name {
            "AWS_REGION" => Some("eu-west-1".to_string()),
            "AWS_DEFAULT_REGION" => Some("us-east-2".to_string()),
            "AWS_ENDPOINT_URL" => Some("http://general:1".to_string()),
            "AWS_ENDPOINT_URL_STS" => Some(" ".to_string()),
            _ => None,
        };
        let inputs = EndpointInputs::from_env(env, None, None);
        assert_eq!(inputs.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            inputs.endpoint_url.as_deref(),
            Some("http://general:1"),
            "blank counts as unset"
        );
        let inputs =
            EndpointInputs::from_env(env, Some("ap-south-1".into()), Some("http://flag:2".into()));
        assert_eq!(inputs.region.as_deref(), Some("ap-south-1"));
        assert_eq!(inputs.endpoint_url.as_deref(), Some("http://flag:2"));
    }

    #[test]
    fn refuses_unusable_settings() {
        let bad = [
            EndpointInputs {
                sts_regional_endpoints: Some("global".into()),
                ..Default::default()
            },
            EndpointInputs {
                use_fips: Some("yes".into()),
                ..Default::default()
            },
            EndpointInputs {
                endpoint_url: Some("sts.amazonaws.com".into()),
                ..Default::default()
            },
            EndpointInputs {
                endpoint_url: Some("https://".into()),
                ..Default::default()
            },
            EndpointInputs {
                region: Some("US West".into()),
                ..Default::default()
            },
        ];
        for inputs in bad {
            assert!(resolve(inputs.clone()).is_err(), "{inputs:?}");
        }
        let fips = resolve(EndpointInputs {
            use_fips: Some("TRUE".into()),
            ..Default::default()
        });
        assert!(fips.unwrap().fips);
    }

    #[test]
    fn a_password_in_the_url_never_prints() {
        let endpoint = resolve(EndpointInputs {
            endpoint_url: Some("http://user:pw-123@127.0.0.1:5000".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            endpoint.to_string(),
            "STS at http://user:xxxxx@127.0.0.1:5000"
        );
        assert!(!format!("{endpoint:?}").contains("pw-123"));
        let error = resolve(EndpointInputs {
            endpoint_url: Some("ftp://user:pw-123@h".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(!error.to_string().contains("pw-123"), "{error}");
    }
}
