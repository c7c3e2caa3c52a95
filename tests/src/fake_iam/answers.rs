//! The answers the fake makes itself, in the services' own formats: the query protocol's
//! `ErrorResponse` (IAM, STS) and S3's `Error` document.

use super::forward::Answer;

/// An error of the AWS query protocol (IAM, STS).
pub fn query_error(namespace: &str, status: u16, code: &str, message: &str) -> Answer {
    let body = format!(
        "<ErrorResponse xmlns=\"{namespace}\">\n  <Error>\n    <Type>Sender</Type>\n    \
         <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  \
         <RequestId>{}</RequestId>\n</ErrorResponse>\n",
        escape(code),
        escape(message),
        request_id()
    );
    xml(status, body)
}

/// An error of S3's REST protocol.
pub fn s3_error(status: u16, code: &str, message: &str) -> Answer {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>\
         <RequestId>{}</RequestId></Error>",
        escape(code),
        escape(message),
        request_id()
    );
    xml(status, body)
}

pub fn xml(status: u16, body: String) -> Answer {
    Answer {
        status,
        headers: vec![("content-type".into(), "text/xml".into())],
        body: body.into_bytes(),
    }
}

pub fn text(status: u16, message: &str) -> Answer {
    Answer {
        status,
        headers: vec![("content-type".into(), "text/plain".into())],
        body: message.as_bytes().to_vec(),
    }
}

pub fn request_id() -> String {
    format!("fake-iam-{:016x}", fastrand::u64(..))
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
