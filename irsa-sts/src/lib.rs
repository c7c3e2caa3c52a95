//! What both binaries need to trade a ServiceAccount token for AWS credentials: role ARNs and
//! session names ([`arn`]), token claims ([`token`]), where STS is ([`endpoint`]), the HTTP
//! transport that works in a scratch image ([`transport`]), the exchange itself ([`exchange`]) and
//! the explanation of its failures ([`explain`]), so the plugin and the helper say the same thing.
//! Also the small things both command lines and both HTTP clients share: durations as typed
//! ([`duration`]), one bounded GET ([`http`]) and bounded reads of regular files ([`file`]).

pub mod answer;
pub mod arn;
pub mod duration;
pub mod endpoint;
pub mod exchange;
pub mod explain;
pub mod file;
pub mod http;
pub mod network;
mod response;
pub mod text;
pub mod token;
pub mod transport;

pub use answer::AnswerError;
pub use arn::{ArnError, Partition, RoleArn, SessionName};
pub use duration::{DurationError, HumanDuration};
pub use endpoint::{EndpointError, EndpointInputs, StsEndpoint};
pub use exchange::{
    Body, Credentials, StsClient, StsClientOptions, StsError, WebIdentityRequest, rfc3339,
    sh_quoted,
};
pub use explain::{ExplainContext, Explained, explain};
pub use token::{Claims, TokenError};
pub use transport::{CaBundle, TransportError};

/// Lowercase hex, as thumbprints, cache keys and random tokens are written.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut text, byte| {
            let _ = write!(text, "{byte:02x}");
            text
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lowercase_and_two_digits_a_byte() {
        assert_eq!(super::hex(&[0, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(super::hex(&[]), "");
    }
}
