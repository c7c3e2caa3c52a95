//! STS's HTTP answer as the exchange sees it: capped in size before the SDK reads it, and, when
//! the SDK could not use it, turned into a [`StsError`] that says what came back (the status,
//! an HTML page, an empty body, a refused connection) rather than an SDK debug structure.

use std::time::Duration;

use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;

use crate::endpoint::StsEndpoint;
use crate::exchange::{Body, StsError};
use crate::network;

/// The most an STS answer may weigh. Real answers are 1 to 3 KB (a session token with session
/// tags is the largest part); anything near this is not STS.
pub const MAX_ANSWER: usize = 64 * 1024;

/// Wraps every answer's body in a length limit, so an endless body fails at [`MAX_ANSWER`]
/// bytes instead of filling memory until the deadline.
#[derive(Debug)]
pub(crate) struct CapAnswer;

impl Intercept for CapAnswer {
    fn name(&self) -> &'static str {
        "CapAnswer"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response_mut();
        let body = response.take_body();
        *response.body_mut() =
            SdkBody::from_body_1_x(http_body_util::Limited::new(body, MAX_ANSWER));
        Ok(())
    }
}

/// Turns a failed call into the error the explanation is built on.
pub(crate) fn classify(
    error: SdkError<AssumeRoleWithWebIdentityError>,
    endpoint: &StsEndpoint,
    deadline: Duration,
) -> StsError {
    let endpoint = endpoint.clone();
    match &error {
        SdkError::ServiceError(service) => match service.err().code() {
            Some(code) => StsError::Refused {
                code: network::one_line(code),
                message: network::one_line(service.err().message().unwrap_or_default()),
            },
            // No error code: the answer was not STS's (a proxy, a portal, a redirect).
            None => StsError::NotSts {
                endpoint,
                status: service.raw().status().as_u16(),
                body: describe_body(service.raw()),
            },
        },
        SdkError::TimeoutError(_) => StsError::Timeout { endpoint, deadline },
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            StsError::Timeout { endpoint, deadline }
        }
        SdkError::DispatchFailure(failure) => StsError::Unreachable {
            endpoint,
            detail: match failure.as_connector_error() {
                Some(connector) => network::describe(connector),
                None => network::one_line(&format!("{failure:?}")),
            },
        },
        SdkError::ResponseError(_) if too_large(&error) => StsError::TooLarge {
            endpoint,
            limit: MAX_ANSWER,
        },
        SdkError::ResponseError(_) => StsError::BadResponse {
            endpoint,
            detail: format!("the answer broke off: {}", network::describe(&error)),
        },
        other => StsError::BadResponse {
            endpoint,
            detail: network::describe(other),
        },
    }
}

/// What the body looked like.
fn describe_body(response: &HttpResponse) -> Body {
    let bytes = response.body().bytes().unwrap_or_default();
    let start = String::from_utf8_lossy(&bytes[..bytes.len().min(64)])
        .trim_start()
        .to_ascii_lowercase();
    let content_type = response.headers().get("content-type").unwrap_or_default();
    if bytes.is_empty() {
        Body::Empty
    } else if content_type.contains("html")
        || start.starts_with("<!doctype html")
        || start.starts_with("<html")
    {
        Body::Html
    } else if start.starts_with('<') {
        Body::OtherXml(bytes.len())
    } else {
        Body::NotXml(bytes.len())
    }
}

/// Whether the length limit of [`CapAnswer`] is what stopped the reading.
fn too_large(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if current.is::<http_body_util::LengthLimitError>()
            || current.to_string().contains("length limit exceeded")
        {
            return true;
        }
        cause = current.source();
    }
    false
}
