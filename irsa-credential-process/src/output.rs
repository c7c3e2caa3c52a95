//! The forms credentials leave in on stdout: credential_process JSON, or export lines.

use std::io::{self, Write};

use irsa_sts::{Credentials, rfc3339};
use serde::Serialize;

use crate::cli::Format;

/// The credential_process contract (Version 1), plus AccountId.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessCredentials<'a> {
    version: u8,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    expiration: String,
    account_id: &'a str,
}

pub fn render(credentials: &Credentials, format: Format) -> String {
    match format {
        Format::Json => {
            let json = serde_json::to_string(&ProcessCredentials {
                version: 1,
                access_key_id: &credentials.access_key_id,
                secret_access_key: &credentials.secret_access_key,
                session_token: &credentials.session_token,
                expiration: rfc3339(credentials.expiration),
                account_id: &credentials.account_id,
            })
            .unwrap_or_default();
            format!("{json}\n")
        }
        Format::Env => credentials.export_lines(),
    }
}

/// Writes the credentials to stdout in one write.
pub fn print(credentials: &Credentials, format: Format) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(render(credentials, format).as_bytes())
        .and_then(|()| stdout.flush())
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;

    fn credentials() -> Credentials {
        Credentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: "s/e+cret".into(),
            session_token: "tok==".into(),
            expiration: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
                + time::Duration::milliseconds(250),
            account_id: "123456789012".into(),
            assumed_role_arn: "arn:aws:sts::123456789012:assumed-role/app/s".into(),
        }
    }

    #[test]
    fn json_is_one_line_of_the_credential_process_contract() {
        let json = render(&credentials(), Format::Json);
        assert_eq!(
            json,
            "{\"Version\":1,\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"s/e+cret\",\"SessionToken\":\"tok==\",\"Expiration\":\"2027-01-15T08:00:00Z\",\"AccountId\":\"123456789012\"}\n"
        );
    }

    #[test]
    fn env_form_is_quoted_export_lines() {
        let lines = render(&credentials(), Format::Env);
        assert_eq!(
            lines,
            "export AWS_ACCESS_KEY_ID='ASIAEXAMPLE'\nexport AWS_SECRET_ACCESS_KEY='s/e+cret'\nexport AWS_SESSION_TOKEN='tok=='\nexport AWS_CREDENTIAL_EXPIRATION='2027-01-15T08:00:00Z'\n"
        );
    }

    #[test]
    fn env_form_quotes_every_value_for_sh() {
        let hostile = Credentials {
            access_key_id: "it's".into(),
            ..credentials()
        };
        assert!(
            render(&hostile, Format::Env).starts_with("export AWS_ACCESS_KEY_ID='it'\\''s'\n"),
            "{}",
            render(&hostile, Format::Env)
        );
    }
}
