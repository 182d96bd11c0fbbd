//! Classifying a failed AWS call: throttling, 5xx and network trouble are transient (the
//! state machines retry them), everything else fails the operation with AWS's code and
//! message. A quota refusal (`LimitExceededException`) is not throttling: the same request
//! meets the same quota on every retry, so it fails the operation on the first answer. The
//! SDK error is kept as the error's source.

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
                let code = error.code();
                code != Some(QUOTA_CODE)
                    && (status >= 500
                        || status == 429
                        || code.is_some_and(|code| THROTTLING_CODES.contains(&code)))
            }
            _ => false,
        };
        let mut detail = match (error.code(), error.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            _ => DisplayErrorContext(&error).to_string(),
        };
        if error.code() == Some(QUOTA_CODE) {
            detail.push_str(QUOTA_NOTE);
        }
        let kind = if transient {
            ErrorKind::Transient
        } else {
            self.failed_kind()
        };
        Error::caused_by(kind, format!("{what}: {detail}"), error)
    }
}

/// AWS's answer when a request would pass a service quota, e.g. AWS Backup's TagResource
/// past 50 tags on a recovery point ("LimitExceededException: A limit in the request has
/// been exceeded; for example, a maximum number of items allowed in a request",
/// https://docs.aws.amazon.com/aws-backup/latest/devguide/API_TagResource.html).
pub const QUOTA_CODE: &str = "LimitExceededException";

/// What a quota refusal's message adds, so the failure says why it was not retried.
const QUOTA_NOTE: &str = " (an AWS service quota was reached: retrying cannot succeed; see \
                          https://docs.aws.amazon.com/aws-backup/latest/devguide/aws-backup-limits.html)";

/// Error codes AWS services use for throttling (the SDK's own list). The SDK's list also
/// holds `LimitExceededException`, which AWS Backup uses for its quotas, not for request
/// rates: it is left out here (see [`QUOTA_CODE`]).
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
