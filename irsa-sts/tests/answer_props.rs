//! Property tests of STS answers as the exchange reads them, through the real client (the SDK's
//! XML parser, then our check) against a one-line HTTP server on 127.0.0.1: whatever comes
//! back, no panic; credentials only when every field is one STS could have sent, and then
//! exactly the values sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use irsa_sts::{
    EndpointInputs, Partition, RoleArn, SessionName, StsClient, StsClientOptions, StsEndpoint,
    WebIdentityRequest,
};
use proptest::prelude::*;
use time::OffsetDateTime;

/// Serves whatever body is current, to every request, on its own thread.
fn serve(body: Arc<Mutex<Vec<u8>>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut request = vec![0; length];
            let _ = reader.read_exact(&mut request);
            let body = body.lock().unwrap().clone();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let mut stream = reader.into_inner();
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    url
}

struct Harness {
    body: Arc<Mutex<Vec<u8>>>,
    runtime: tokio::runtime::Runtime,
    client: StsClient,
}

impl Harness {
    fn new() -> Self {
        let body = Arc::new(Mutex::new(Vec::new()));
        let url = serve(body.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let inputs = EndpointInputs {
            region: Some("us-east-1".into()),
            endpoint_url: Some(url),
            ..Default::default()
        };
        let endpoint = StsEndpoint::resolve(&inputs, Partition::Aws).unwrap();
        let client = runtime.block_on(async {
            StsClient::new(StsClientOptions {
                endpoint,
                deadline: Duration::from_secs(10),
                max_attempts: 1,
                ca_bundle: None,
                app_name: "answer-props",
            })
            .unwrap()
        });
        Harness {
            body,
            runtime,
            client,
        }
    }

    fn exchange(&self, body: Vec<u8>) -> Result<irsa_sts::Credentials, irsa_sts::StsError> {
        *self.body.lock().unwrap() = body;
        let role: RoleArn = "arn:aws:iam::123456789012:role/app".parse().unwrap();
        let session = SessionName::sanitized("props").unwrap();
        let request = WebIdentityRequest {
            role_arn: &role,
            session_name: &session,
            token: "a.b.c",
            duration_seconds: None,
            policy: None,
            policy_arns: &[],
        };
        self.runtime
            .block_on(self.client.assume_role_with_web_identity(request))
    }
}

/// One field: a value STS could send, or anything at all, or nothing.
fn field(valid: &'static str) -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => proptest::string::string_regex(valid).unwrap().prop_map(Some),
        1 => any::<String>().prop_map(Some),
        1 => "[ -~]{0,40}".prop_map(Some),
        1 => Just(None),
    ]
}

#[derive(Debug, Clone)]
struct Fields {
    key: Option<String>,
    secret: Option<String>,
    token: Option<String>,
    arn: Option<String>,
    /// Seconds from now; `None` leaves Expiration out.
    expires_in: Option<i64>,
}

fn fields() -> impl Strategy<Value = Fields> {
    let twelve_hours = 12 * 3600 + 15 * 60;
    let expires_in = prop_oneof![
        3 => (60..twelve_hours - 60).prop_map(Some),
        1 => (-4_000_000_000i64..-60).prop_map(Some),
        1 => (twelve_hours + 60..4_000_000_000i64).prop_map(Some),
        1 => Just(None),
    ];
    (
        field("[A-Z0-9]{16,40}"),
        field("[A-Za-z0-9+/]{40}"),
        field("[A-Za-z0-9+/]{100,400}={0,2}"),
        field("arn:aws:sts::[0-9]{12}:assumed-role/[A-Za-z0-9_+=,.@-]{1,20}/[a-z.]{2,20}"),
        expires_in,
    )
        .prop_map(|(key, secret, token, arn, expires_in)| Fields {
            key,
            secret,
            token,
            arn,
            expires_in,
        })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn document(fields: &Fields, now: OffsetDateTime) -> String {
    let element = |name: &str, value: &Option<String>| match value {
        Some(value) => format!("<{name}>{}</{name}>", escape(value)),
        None => String::new(),
    };
    let expiration = fields
        .expires_in
        .map(|s| irsa_sts::rfc3339(now + time::Duration::seconds(s)));
    format!(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult><AssumedRoleUser>{}<AssumedRoleId>AROA:props</AssumedRoleId></AssumedRoleUser><Credentials>{}{}{}{}</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
        element("Arn", &fields.arn),
        element("AccessKeyId", &fields.key),
        element("SecretAccessKey", &fields.secret),
        element("SessionToken", &fields.token),
        element("Expiration", &expiration),
    )
}

/// The oracle: what the check must accept, written independently of it.
fn acceptable(fields: &Fields) -> bool {
    let all = |value: &Option<String>, ok: fn(char) -> bool, lengths: (usize, usize)| {
        value.as_ref().is_some_and(|v| {
            (lengths.0..=lengths.1).contains(&v.chars().count()) && v.chars().all(ok)
        })
    };
    let base64 = |c: char| c.is_ascii_alphanumeric() || "+/=".contains(c);
    all(
        &fields.key,
        |c| c.is_ascii_uppercase() || c.is_ascii_digit(),
        (16, 128),
    ) && all(&fields.secret, base64, (1, 256))
        && all(&fields.token, base64, (1, 16 * 1024))
        && fields.arn.as_ref().is_some_and(|arn| {
            arn.starts_with("arn:")
                && arn.split(':').nth(4).is_some_and(|a| a.len() == 12)
                && arn
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-:/".contains(c))
        })
        && fields
            .expires_in
            .is_some_and(|s| (1..=12 * 3600 + 15 * 60).contains(&s))
}

proptest! {

    #[test]
    fn only_answers_sts_could_send_are_accepted(fields in fields()) {
        let harness = HARNESS.with(|h| h.clone());
        let now = OffsetDateTime::now_utc();
        let result = harness.exchange(document(&fields, now).into_bytes());
        prop_assert_eq!(result.is_ok(), acceptable(&fields), "{:?}", result);
        if let Ok(credentials) = result {
            prop_assert_eq!(Some(&credentials.access_key_id), fields.key.as_ref());
            prop_assert_eq!(Some(&credentials.secret_access_key), fields.secret.as_ref());
            prop_assert_eq!(Some(&credentials.session_token), fields.token.as_ref());
            prop_assert_eq!(Some(&credentials.assumed_role_arn), fields.arn.as_ref());
        }
    }

    #[test]
    fn arbitrary_bodies_never_panic_nor_pass(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let harness = HARNESS.with(|h| h.clone());
        prop_assert!(harness.exchange(body).is_err());
    }
}

thread_local! {
    static HARNESS: Arc<Harness> = Arc::new(Harness::new());
}

#[test]
fn a_valid_answer_is_accepted_and_a_truncated_one_is_not() {
    let harness = Harness::new();
    let now = OffsetDateTime::now_utc();
    let valid = Fields {
        key: Some("ASIAPROPS00000000001".into()),
        secret: Some("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into()),
        token: Some("IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEU=".into()),
        arn: Some("arn:aws:sts::123456789012:assumed-role/app/props".into()),
        expires_in: Some(3600),
    };
    let credentials = harness
        .exchange(document(&valid, now).into_bytes())
        .unwrap();
    assert_eq!(credentials.account_id, "123456789012");
    let truncated = Fields {
        expires_in: None,
        ..valid
    };
    let error = harness
        .exchange(document(&truncated, now).into_bytes())
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{} answered once with unusable credentials (Expiration 1970-01-01T00:00:00Z is already past)",
            harness.client.endpoint()
        )
    );
}
