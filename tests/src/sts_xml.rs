//! The XML documents STS answers `AssumeRoleWithWebIdentity` with, and the checks real STS
//! makes on the request before answering.

use std::time::Duration;

use base64::Engine as _;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::fake_sts::{IssuedCredentials, StsRequest};
use crate::fault_sts::Forged;

const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// What a successful answer says about the assumed role, derived from the request.
pub(crate) struct AssumedRole {
    partition: String,
    account: String,
    role_name: String,
    role_id: String,
    session: String,
    subject: String,
    audience: String,
    provider: String,
}

impl AssumedRole {
    /// Validates the request as STS does and derives the answer's fields; `Err` carries the
    /// message of the `ValidationError` STS would send.
    pub(crate) fn from_request(request: &StsRequest) -> Result<Self, String> {
        for (value, field) in [
            (&request.role_arn, "roleArn"),
            (&request.role_session_name, "roleSessionName"),
            (&request.web_identity_token, "webIdentityToken"),
        ] {
            if value.is_empty() {
                return Err(format!(
                    "1 validation error detected: Value null at '{field}' failed to satisfy \
                     constraint: Member must not be null"
                ));
            }
        }
        let session = &request.role_session_name;
        if !(2..=64).contains(&session.chars().count()) {
            return Err(format!(
                "1 validation error detected: Value '{session}' at 'roleSessionName' failed to \
                 satisfy constraint: Member must have length between 2 and 64"
            ));
        }
        if !session
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
        {
            return Err(format!(
                "1 validation error detected: Value '{session}' at 'roleSessionName' failed to \
                 satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
            ));
        }
        if let Some(seconds) = request.duration_seconds
            && !(900..=43200).contains(&seconds)
        {
            return Err(format!(
                "1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to \
                 satisfy constraint: Member must have value between 900 and 43200"
            ));
        }
        let (partition, account, role_name) =
            parse_role_arn(&request.role_arn).ok_or_else(|| "Request ARN is invalid".to_owned())?;
        let claims = jwt_claims(&request.web_identity_token);
        let claim = |name: &str| -> Option<String> {
            match claims.as_ref()?.get(name)? {
                serde_json::Value::String(value) => Some(value.clone()),
                serde_json::Value::Array(values) => values.first()?.as_str().map(str::to_owned),
                _ => None,
            }
        };
        let issuer = claim("iss").unwrap_or_else(|| "https://oidc.example.com/id/FAKE".to_owned());
        let issuer_hostpath = issuer.trim_start_matches("https://").trim_end_matches('/');
        Ok(Self {
            role_id: format!(
                "AROA{:017}",
                fnv1a(&request.role_arn) % 100_000_000_000_000_000
            ),
            provider: format!("arn:{partition}:iam::{account}:oidc-provider/{issuer_hostpath}"),
            subject: claim("sub")
                .unwrap_or_else(|| "system:serviceaccount:default:default".to_owned()),
            audience: claim("aud").unwrap_or_else(|| "sts.amazonaws.com".to_owned()),
            session: session.clone(),
            partition,
            account,
            role_name,
        })
    }
}

/// Splits `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME` into partition, account and name.
fn parse_role_arn(arn: &str) -> Option<(String, String, String)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let role_name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    let valid_account = account.len() == 12 && account.chars().all(|c| c.is_ascii_digit());
    if partition.is_empty() || !valid_account || role_name.is_empty() {
        return None;
    }
    Some((
        partition.to_owned(),
        account.to_owned(),
        role_name.to_owned(),
    ))
}

/// The claims of a JWT, when the token is one (STS would reject anything else; the fake
/// accepts it and answers with placeholder subject, audience and provider).
fn jwt_claims(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(claims) => Some(claims),
        _ => None,
    }
}

fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The `sequence`-th set of credentials, expiring `lifetime` from now (whole seconds).
pub(crate) fn credentials(sequence: usize, lifetime: Duration) -> IssuedCredentials {
    let lifetime = time::Duration::try_from(lifetime).unwrap_or(time::Duration::MAX);
    let expiration = OffsetDateTime::now_utc()
        .saturating_add(lifetime)
        .replace_nanosecond(0)
        .expect("zero nanoseconds is valid");
    IssuedCredentials {
        access_key_id: format!("ASIAFAKE{sequence:012}"),
        secret_access_key: format!("FakeSecretAccessKey/{sequence:020}"),
        session_token: format!(
            "IQoJb3JpZ2luX2VjEFAKE//////////wEaCXVzLWVhc3QtMSJHMEUCIFAKESESSION{sequence:012}"
        ),
        expiration: expiration.format(&Rfc3339).expect("format the expiration"),
    }
}

/// A request id in the UUID form STS uses.
pub(crate) fn request_id() -> String {
    let bits = fastrand::u128(..);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// The `<AssumeRoleWithWebIdentityResponse>` document.
pub(crate) fn success(
    role: &AssumedRole,
    credentials: &IssuedCredentials,
    request_id: &str,
) -> String {
    let AssumedRole {
        partition,
        account,
        role_name,
        role_id,
        session,
        subject,
        audience,
        provider,
    } = role;
    let arn = format!("arn:{partition}:sts::{account}:assumed-role/{role_name}/{session}");
    format!(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"{NAMESPACE}\">\n\
         \x20 <AssumeRoleWithWebIdentityResult>\n\
         \x20   <SubjectFromWebIdentityToken>{}</SubjectFromWebIdentityToken>\n\
         \x20   <Audience>{}</Audience>\n\
         \x20   <AssumedRoleUser>\n\
         \x20     <Arn>{}</Arn>\n\
         \x20     <AssumedRoleId>{}:{}</AssumedRoleId>\n\
         \x20   </AssumedRoleUser>\n\
         \x20   <Credentials>\n\
         \x20     <AccessKeyId>{}</AccessKeyId>\n\
         \x20     <SecretAccessKey>{}</SecretAccessKey>\n\
         \x20     <SessionToken>{}</SessionToken>\n\
         \x20     <Expiration>{}</Expiration>\n\
         \x20   </Credentials>\n\
         \x20   <Provider>{}</Provider>\n\
         \x20 </AssumeRoleWithWebIdentityResult>\n\
         \x20 <ResponseMetadata>\n\
         \x20   <RequestId>{}</RequestId>\n\
         \x20 </ResponseMetadata>\n\
         </AssumeRoleWithWebIdentityResponse>\n",
        escape(subject),
        escape(audience),
        escape(&arn),
        escape(role_id),
        escape(session),
        escape(&credentials.access_key_id),
        escape(&credentials.secret_access_key),
        escape(&credentials.session_token),
        escape(&credentials.expiration),
        escape(provider),
        escape(request_id),
    )
}

/// A success document with the given fields, each left out when `None`: what a truncating proxy
/// or a forging server sends (see [`crate::fault_sts`]).
pub(crate) fn forged(fields: &Forged) -> String {
    let element = |name: &str, value: &Option<String>| match value {
        Some(value) => format!("<{name}>{}</{name}>", escape(value)),
        None => String::new(),
    };
    format!(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"{NAMESPACE}\">\n\
         \x20 <AssumeRoleWithWebIdentityResult>\n\
         \x20   {}\n\
         \x20   <Audience>sts.amazonaws.com</Audience>\n\
         \x20   <AssumedRoleUser>{}<AssumedRoleId>AROAFORGED:s</AssumedRoleId></AssumedRoleUser>\n\
         \x20   <Credentials>{}{}{}{}</Credentials>\n\
         \x20 </AssumeRoleWithWebIdentityResult>\n\
         \x20 <ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata>\n\
         </AssumeRoleWithWebIdentityResponse>\n",
        element("SubjectFromWebIdentityToken", &fields.subject),
        element("Arn", &fields.assumed_role_arn),
        element("AccessKeyId", &fields.access_key_id),
        element("SecretAccessKey", &fields.secret_access_key),
        element("SessionToken", &fields.session_token),
        element("Expiration", &fields.expiration),
        request_id(),
    )
}

/// The `<ErrorResponse>` document; `kind` is `Sender` or `Receiver`.
pub(crate) fn error(kind: &str, code: &str, message: &str, request_id: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\">\n\
         \x20 <Error>\n\
         \x20   <Type>{}</Type>\n\
         \x20   <Code>{}</Code>\n\
         \x20   <Message>{}</Message>\n\
         \x20 </Error>\n\
         \x20 <RequestId>{}</RequestId>\n\
         </ErrorResponse>\n",
        escape(kind),
        escape(code),
        escape(message),
        escape(request_id),
    )
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_parse_like_iam_ones() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::123456789012:role/team/app/demo"),
            Some(("aws".into(), "123456789012".into(), "demo".into()))
        );
        assert_eq!(parse_role_arn("arn:aws:iam::123:role/demo"), None);
        assert_eq!(parse_role_arn("arn:aws:iam::123456789012:user/demo"), None);
        assert_eq!(parse_role_arn("demo"), None);
    }

    #[test]
    fn request_ids_look_like_uuids() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
    }

    #[test]
    fn xml_special_characters_are_escaped() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
    }
}
