//! Turns an STS failure into one line that names the broken link and the fix, using the token's
//! claims. The plugin and the helper both print these, so they always say the same thing.

use time::OffsetDateTime;

use crate::answer::AnswerError;
use crate::arn::RoleArn;
use crate::exchange::{StsError, rfc3339};
use crate::text::line as printable;
use crate::token::Claims;

/// What the explanation may refer to.
#[derive(Clone, Copy, Debug)]
pub struct ExplainContext<'a> {
    pub role_arn: &'a RoleArn,
    /// The token's claims, when it could be decoded.
    pub claims: Option<&'a Claims>,
    /// Where the token came from, e.g. `the token file /var/run/...`.
    pub token_source: &'a str,
    pub now: OffsetDateTime,
}

/// A failed exchange with its explanation: prints the explanation, keeps the error as its
/// source, so callers can still tell a refusal from a timeout.
#[derive(Debug, thiserror::Error)]
#[error("{explanation}")]
pub struct Explained {
    #[source]
    pub error: StsError,
    pub explanation: String,
}

impl Explained {
    pub fn new(error: StsError, ctx: &ExplainContext<'_>) -> Self {
        Explained {
            explanation: explain(&error, ctx),
            error,
        }
    }
}

/// One line: what failed, why, and what to do.
pub fn explain(error: &StsError, ctx: &ExplainContext<'_>) -> String {
    let advice = match error {
        StsError::Refused { code, message } => refused(code, message, ctx),
        StsError::Timeout { .. } => format!(
            "{error}: check that the pod can reach STS (egress NetworkPolicy, proxy, VPC endpoint) or allow more time"
        ),
        StsError::Unreachable { .. } => format!(
            "{error}: check DNS and network access to STS, or point AWS_ENDPOINT_URL_STS at a reachable endpoint"
        ),
        StsError::BadResponse { .. } | StsError::TooLarge { .. } => {
            format!("{error}: check that the endpoint URL is an STS endpoint")
        }
        StsError::NotSts { status, .. } => not_sts(error, *status),
        StsError::Unusable { why, .. } => unusable(error, why),
    };
    let line = match error {
        StsError::Refused { .. } => format!("{advice} [{}]", token_summary(ctx)),
        _ => advice,
    };
    // The token's claims and STS's message come from outside: one line, whatever they hold.
    printable(&line).into_owned()
}

/// Advice for an HTTP answer that is not STS's, by its status class.
fn not_sts(error: &StsError, status: u16) -> String {
    let advice = match status / 100 {
        3 => "STS never redirects: check the endpoint URL (scheme, host, path) and any proxy",
        5 => {
            "STS or a proxy in front of it is failing (retried already): try again later, or check the proxy"
        }
        _ => {
            "check that the endpoint URL is an STS endpoint and that no proxy answers in its place"
        }
    };
    format!("{error}: {advice}")
}

/// Advice for credentials that failed the check: a clock for the dates, the path otherwise.
fn unusable(error: &StsError, why: &AnswerError) -> String {
    let advice = match why {
        AnswerError::Expired(_) | AnswerError::TooFar(_) => {
            "check this machine's clock (date -u), and that the endpoint URL is STS itself"
        }
        _ => {
            "the answer was cut short or altered on its way: check that the endpoint URL is STS itself and what proxies stand between"
        }
    };
    format!("{error}: {advice}")
}

/// What the advice about a refusal may name, with placeholders where the token says nothing.
struct Facts<'a> {
    role: &'a RoleArn,
    claims: Claims,
    /// `CODE: message`, as STS said it.
    said: String,
}

impl Facts<'_> {
    fn issuer(&self) -> &str {
        self.claims.iss.as_deref().unwrap_or("(unknown issuer)")
    }
    fn hostpath(&self) -> &str {
        self.claims.issuer_hostpath().unwrap_or("ISSUER_HOSTPATH")
    }
    fn audience(&self) -> &str {
        self.claims
            .aud
            .first()
            .map_or("sts.amazonaws.com", String::as_str)
    }
    fn subject(&self) -> &str {
        self.claims
            .sub
            .as_deref()
            .unwrap_or("system:serviceaccount:NAMESPACE:NAME")
    }
}

fn refused(code: &str, message: &str, ctx: &ExplainContext<'_>) -> String {
    let facts = Facts {
        role: ctx.role_arn,
        claims: ctx.claims.cloned().unwrap_or_default(),
        said: if message.is_empty() {
            code.to_string()
        } else {
            format!("{code}: {message}")
        },
    };
    trust_advice(code, &facts, ctx).unwrap_or_else(|| request_advice(code, message, &facts))
}

/// Refusals of the token or of the trust between the role and the issuer.
fn trust_advice(code: &str, facts: &Facts<'_>, ctx: &ExplainContext<'_>) -> Option<String> {
    let (role, said) = (facts.role, &facts.said);
    let (issuer, hostpath) = (facts.issuer(), facts.hostpath());
    let (audience, subject) = (facts.audience(), facts.subject());
    Some(match code {
        "AccessDenied" => format!(
            "role {role} does not trust this token ({said}): its trust policy must allow sts:AssumeRoleWithWebIdentity for Federated arn:{partition}:iam::{account}:oidc-provider/{hostpath} with StringEquals {hostpath}:sub = {subject} and {hostpath}:aud = {audience}; compare with `aws iam get-role --role-name {name} --query Role.AssumeRolePolicyDocument`",
            partition = role.partition(),
            account = role.account(),
            name = role.name(),
        ),
        "InvalidIdentityToken" => format!(
            "STS does not accept tokens of issuer {issuer} ({said}): account {account} needs an IAM OIDC provider with exactly that URL and client ID {audience}, and the issuer's JWKS must hold the token's signing key; check with `aws iam list-open-id-connect-providers` or create it with `aws iam create-open-id-connect-provider --url {issuer} --client-id-list {audience}`",
            account = role.account(),
        ),
        "ExpiredTokenException" | "ExpiredToken" => {
            let when = facts
                .claims
                .expires_at()
                .map(|exp| {
                    let ago = (ctx.now - exp).whole_seconds().max(0);
                    format!(" at {} ({ago} s ago)", rfc3339(exp))
                })
                .unwrap_or_default();
            format!(
                "the token from {}{when} has expired ({said}): the kubelet refreshes projected tokens, so check that this is the projected token (volume aws-iam-token) and that the clock is right",
                ctx.token_source
            )
        }
        "IDPRejectedClaim" => format!(
            "the identity provider rejected a claim of the token ({said}): the audience {audience} must be in the OIDC provider's client ID list and the subject {subject} must be allowed"
        ),
        "IDPCommunicationError" => format!(
            "STS could not fetch the keys of issuer {issuer} ({said}): its /.well-known/openid-configuration and JWKS must be reachable from the internet over https"
        ),
        _ => return None,
    })
}

/// Refusals of the request itself: region, session policies, duration, throttling.
fn request_advice(code: &str, message: &str, facts: &Facts<'_>) -> String {
    let (role, said) = (facts.role, &facts.said);
    match code {
        "RegionDisabledException" => format!(
            "STS is not activated in this region for account {} ({said}): activate the region in the IAM account settings, or set AWS_REGION to an active one",
            role.account()
        ),
        "PackedPolicyTooLarge" => format!(
            "the session policies are too large ({said}): shorten the inline policy or pass fewer policy ARNs"
        ),
        "MalformedPolicyDocument" => {
            format!("the inline session policy is not a valid IAM policy ({said}): fix its JSON")
        }
        "ValidationError" | "InvalidParameterValue" if message.contains("DurationSeconds") => {
            format!(
                "STS refused the session duration ({said}): ask for fewer seconds, or raise the role's MaxSessionDuration"
            )
        }
        "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => {
            format!("STS kept throttling the call after retries ({said}): try again later")
        }
        _ => format!("STS refused AssumeRoleWithWebIdentity for role {role} ({said})"),
    }
}

fn token_summary(ctx: &ExplainContext<'_>) -> String {
    let Some(claims) = ctx.claims else {
        return format!("{} could not be decoded", ctx.token_source);
    };
    let exp = claims
        .expires_at()
        .map_or_else(|| "none".to_string(), rfc3339);
    format!(
        "token iss={} sub={} aud={} exp={exp}",
        claims.iss.as_deref().unwrap_or("none"),
        claims.sub.as_deref().unwrap_or("none"),
        if claims.aud.is_empty() {
            "none".to_string()
        } else {
            claims.aud.join(",")
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            iss: Some("https://issuer.example.com/cluster".into()),
            sub: Some("system:serviceaccount:shop:cart".into()),
            aud: vec!["sts.amazonaws.com".into()],
            exp: Some(1_800_000_000),
        }
    }

    fn explain_code(code: &str, message: &str, claims: Option<&Claims>) -> String {
        let role: RoleArn = "arn:aws:iam::123456789012:role/cart".parse().unwrap();
        let ctx = ExplainContext {
            role_arn: &role,
            claims,
            token_source: "the token file /t",
            now: OffsetDateTime::from_unix_timestamp(1_800_000_600).unwrap(),
        };
        let error = StsError::Refused {
            code: code.into(),
            message: message.into(),
        };
        explain(&error, &ctx)
    }

    #[test]
    fn access_denied_names_the_conditions_the_trust_policy_needs() {
        let claims = claims();
        let line = explain_code("AccessDenied", "Not authorized", Some(&claims));
        for expected in [
            "arn:aws:iam::123456789012:oidc-provider/issuer.example.com/cluster",
            "issuer.example.com/cluster:sub = system:serviceaccount:shop:cart",
            "issuer.example.com/cluster:aud = sts.amazonaws.com",
            "aws iam get-role --role-name cart",
            "token iss=https://issuer.example.com/cluster",
        ] {
            assert!(line.contains(expected), "missing {expected:?} in {line}");
        }
        assert!(!line.contains('\n'));
    }

    #[test]
    fn invalid_identity_token_names_the_issuer_that_needs_a_provider() {
        let claims = claims();
        let line = explain_code(
            "InvalidIdentityToken",
            "No OpenIDConnect provider found",
            Some(&claims),
        );
        assert!(
            line.contains(
                "--url https://issuer.example.com/cluster --client-id-list sts.amazonaws.com"
            ),
            "{line}"
        );
    }

    #[test]
    fn expired_token_says_when() {
        let claims = claims();
        let line = explain_code("ExpiredTokenException", "Token expired", Some(&claims));
        assert!(
            line.contains("at 2027-01-15T08:00:00Z (600 s ago)"),
            "{line}"
        );
        assert!(line.contains("the token file /t"), "{line}");
    }

    #[test]
    fn undecodable_tokens_and_unknown_codes_still_explain() {
        let line = explain_code("SomethingNew", "odd", None);
        assert!(line.contains("SomethingNew: odd"), "{line}");
        assert!(
            line.contains("the token file /t could not be decoded"),
            "{line}"
        );
    }

    #[test]
    fn hostile_claims_stay_on_one_line() {
        let claims = Claims {
            sub: Some("system:serviceaccount:shop:cart\n[fake] all good\u{1b}[2J".into()),
            ..claims()
        };
        let line = explain_code("AccessDenied", "Not authorized", Some(&claims));
        assert!(!line.contains('\n') && !line.contains('\u{1b}'), "{line}");
        assert!(line.contains("shop:cart\\n[fake]"), "{line}");
    }
}
