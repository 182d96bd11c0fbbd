//! Classifying a failed AWS call: throttling, 5xx and network trouble are transient (the
//! state machines retry them), everything else fails the operation with AWS's code and
//! message. The SDK error is kept as the error's source.

use std::error::Error as StdError;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error::{Error, ErrorKind, Operation};

impl Operation {
    /// The error for a failed AWS call made to do `what`.
    pub fn aws<E, R>(self, what: &str, error: SdkError<E, R>) -> Error
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: std::fmt::Debug + HasStatus + Send + Sync + 'static,
    {
        let transient = match &error {
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => true,
            SdkError::ServiceError(context) => {
                let status = context.raw().status_code();
                status >= 500
                    || status == 429
                    || error
                        .code()
                        .is_some_and(|code| THROTTLING_CODES.contains(&code))
            }
            _ => false,
        };
        let detail = match (error.code(), error.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            _ => DisplayErrorContext(&error).to_string(),
        };
        let kind = if transient {
            ErrorKind::Transient
        } else {
            self.failed_kind()
        };
        Error::caused_by(kind, format!("{what}: {detail}"), error)
    }
}

/// Error codes AWS services use for throttling (the SDK's own list, plus AWS Backup's).
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "ServiceUnavailableException",
    "InternalFailure",
];

/// The HTTP status of a raw response, whatever the SDK's response type.
pub trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_smithy_runtime_api::http::Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}
