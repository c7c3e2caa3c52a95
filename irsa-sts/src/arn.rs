//! IAM role ARNs and STS role session names, validated once.

use std::fmt;
use std::str::FromStr;

/// The AWS partitions IRSA works in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Partition {
    Aws,
    AwsCn,
    AwsUsGov,
}

impl Partition {
    /// Every partition, in the order command lines list them.
    pub const ALL: [Partition; 3] = [Partition::Aws, Partition::AwsCn, Partition::AwsUsGov];

    /// The partition's name as it appears in ARNs.
    pub fn name(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
        }
    }

    /// The region whose STS endpoint serves callers that name no region.
    pub fn default_region(self) -> &'static str {
        match self {
            Partition::Aws => "us-east-1",
            Partition::AwsCn => "cn-north-1",
            Partition::AwsUsGov => "us-gov-west-1",
        }
    }

    /// The partition a region belongs to, by its well-known prefixes.
    pub fn of_region(region: &str) -> Partition {
        if region.starts_with("cn-") {
            Partition::AwsCn
        } else if region.starts_with("us-gov-") {
            Partition::AwsUsGov
        } else {
            Partition::Aws
        }
    }

    fn parse(name: &str) -> Option<Partition> {
        match name {
            "aws" => Some(Partition::Aws),
            "aws-cn" => Some(Partition::AwsCn),
            "aws-us-gov" => Some(Partition::AwsUsGov),
            _ => None,
        }
    }
}

impl FromStr for Partition {
    type Err = ArnError;

    fn from_str(name: &str) -> Result<Self, ArnError> {
        Partition::parse(name).ok_or_else(|| ArnError::Partition {
            name: name.to_string(),
        })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a role ARN or session name was refused; the message names the input and the fix.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArnError {
    #[error(
        "invalid role ARN {arn:?}: {why}; expected arn:PARTITION:iam::ACCOUNT:role/NAME with PARTITION aws, aws-cn or aws-us-gov and a 12-digit ACCOUNT"
    )]
    Role { arn: String, why: &'static str },
    #[error("invalid partition {name:?}: use aws, aws-cn or aws-us-gov")]
    Partition { name: String },
    #[error(
        "invalid role session name {name:?}: STS needs 2 to 64 characters of letters, digits and +=,.@_-"
    )]
    SessionName { name: String },
}

/// A validated IAM role ARN: `arn:PARTITION:iam::ACCOUNT:role[/PATH]/NAME`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RoleArn {
    raw: String,
    partition: Partition,
    account: String,
    name_start: usize,
}

impl RoleArn {
    pub fn partition(&self) -> Partition {
        self.partition
    }

    /// The 12-digit account that owns the role.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The role's name, without its path.
    pub fn name(&self) -> &str {
        &self.raw[self.name_start..]
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl FromStr for RoleArn {
    type Err = ArnError;

    fn from_str(arn: &str) -> Result<Self, ArnError> {
        let refuse = |why| ArnError::Role {
            arn: arn.to_string(),
            why,
        };
        let mut fields = arn.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some(service),
            Some(region),
            Some(account),
            Some(resource),
        ) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        )
        else {
            return Err(refuse(
                "it does not have the six colon-separated fields of an ARN",
            ));
        };
        let partition = Partition::parse(partition).ok_or_else(|| refuse("unknown partition"))?;
        if service != "iam" {
            return Err(refuse("it is not an IAM ARN"));
        }
        if !region.is_empty() {
            return Err(refuse("IAM ARNs have an empty region field"));
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse("the account is not 12 digits"));
        }
        let Some(path_and_name) = resource.strip_prefix("role/") else {
            return Err(refuse(
                "it is not a role (the resource must start with role/)",
            ));
        };
        let name = path_and_name.rsplit('/').next().unwrap_or_default();
        if name.is_empty() || name.len() > 64 || !name.chars().all(is_role_name_char) {
            return Err(refuse(
                "the role name must be 1 to 64 letters, digits and +=,.@_-",
            ));
        }
        Ok(RoleArn {
            raw: arn.to_string(),
            partition,
            account: account.to_string(),
            name_start: arn.len() - name.len(),
        })
    }
}

impl fmt::Display for RoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// The characters IAM allows in role names and STS in role session names: `[\w+=,.@-]`.
fn is_role_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// A validated STS role session name (`[\w+=,.@-]{2,64}`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SessionName(String);

impl SessionName {
    /// Accepts `name` as it is, or says why STS would refuse it.
    pub fn new(name: &str) -> Result<Self, ArnError> {
        let valid = (2..=64).contains(&name.len()) && name.chars().all(is_role_name_char);
        if valid {
            Ok(SessionName(name.to_string()))
        } else {
            Err(ArnError::SessionName {
                name: name.to_string(),
            })
        }
    }

    /// Makes a valid session name out of any text (a hostname, a ServiceAccount): characters STS
    /// refuses become `-`, the result is cut to 64 characters; `None` when too little is left.
    pub fn sanitized(text: &str) -> Option<Self> {
        let cleaned: String = text
            .chars()
            .map(|c| if is_role_name_char(c) { c } else { '-' })
            .take(64)
            .collect();
        let cleaned = cleaned.trim_matches('-');
        SessionName::new(cleaned).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_role_arns_of_every_partition() {
        for (arn, partition) in [
            ("arn:aws:iam::123456789012:role/app", Partition::Aws),
            ("arn:aws-cn:iam::123456789012:role/app", Partition::AwsCn),
            (
                "arn:aws-us-gov:iam::123456789012:role/app",
                Partition::AwsUsGov,
            ),
        ] {
            let role: RoleArn = arn.parse().unwrap();
            assert_eq!(role.partition(), partition);
            assert_eq!(role.account(), "123456789012");
            assert_eq!(role.name(), "app");
            assert_eq!(role.to_string(), arn);
        }
    }

    #[test]
    fn role_name_excludes_the_path() {
        let role: RoleArn = "arn:aws:iam::123456789012:role/service-role/team/app.v2@x"
            .parse()
            .unwrap();
        assert_eq!(role.name(), "app.v2@x");
    }

    #[test]
    fn refuses_malformed_arns_with_the_reason() {
        for (arn, why) in [
            ("app", "six colon-separated fields"),
            ("arn:aws-eu:iam::123456789012:role/app", "unknown partition"),
            ("arn:aws:sts::123456789012:role/app", "not an IAM ARN"),
            (
                "arn:aws:iam:us-east-1:123456789012:role/app",
                "empty region",
            ),
            ("arn:aws:iam::12345:role/app", "12 digits"),
            ("arn:aws:iam::123456789012:user/app", "not a role"),
            ("arn:aws:iam::123456789012:role/", "role name"),
            ("arn:aws:iam::123456789012:role/a b", "role name"),
        ] {
            let err = arn.parse::<RoleArn>().unwrap_err().to_string();
            assert!(err.contains(why), "{arn}: {err}");
            assert!(err.contains(arn), "{arn}: {err}");
        }
    }

    #[test]
    fn session_names_follow_sts_rules() {
        assert!(SessionName::new("ab").is_ok());
        assert!(SessionName::new("pod-1_a+b=c,d.e@f").is_ok());
        assert!(SessionName::new("a").is_err());
        assert!(SessionName::new(&"x".repeat(65)).is_err());
        assert!(SessionName::new("has space").is_err());
        assert!(SessionName::new("colon:no").is_err());
    }

    #[test]
    fn sanitizes_hostnames_and_service_accounts() {
        assert_eq!(
            SessionName::sanitized("system:serviceaccount:ns:app")
                .unwrap()
                .as_str(),
            "system-serviceaccount-ns-app"
        );
        assert_eq!(
            SessionName::sanitized(&"h".repeat(80))
                .unwrap()
                .as_str()
                .len(),
            64
        );
        assert!(SessionName::sanitized(":").is_none());
        assert!(SessionName::sanitized("").is_none());
    }
}
