//! The error taxonomy: every handler failure becomes one of these, and `From<Error> for
//! Diagnostic` is the one place that turns it into the Lambda `errorType` Step Functions
//! matches in Retry and Catch.

use std::error::Error as StdError;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use lambda_runtime::Diagnostic;
use serde::{Deserialize, Serialize};

/// The `errorType` of a transient AWS failure (throttling, 5xx, timeouts): the state
/// machines retry it with backoff.
pub const TRANSIENT: &str = "TransientAwsError";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("{0}")]
    InvalidTenant(String),
    #[error("{0}")]
    BackupAlreadyRunning(String),
    #[error("{0}")]
    BackupFailed(String),
    #[error("{0}")]
    BackupTimeout(String),
    #[error("{0}")]
    BackupNotFound(String),
    #[error("{0}")]
    InvalidRestoreTarget(String),
    #[error("{0}")]
    RestoreFailed(String),
    #[error("{0}")]
    RestoreTimeout(String),
    /// Throttling, a 5xx answer, a timeout or a dropped connection: worth another try.
    #[error("{0}")]
    Transient(String),
}

/// Every `errorType` the handlers can emit, so the state machines can be checked against it.
pub const ERROR_NAMES: [&str; 9] = [
    "InvalidTenant",
    "BackupAlreadyRunning",
    "BackupFailed",
    "BackupTimeout",
    "BackupNotFound",
    "InvalidRestoreTarget",
    "RestoreFailed",
    "RestoreTimeout",
    TRANSIENT,
];

impl Error {
    /// The stable name Step Functions sees as the error.
    pub fn name(&self) -> &'static str {
        match self {
            Error::InvalidTenant(_) => "InvalidTenant",
            Error::BackupAlreadyRunning(_) => "BackupAlreadyRunning",
            Error::BackupFailed(_) => "BackupFailed",
            Error::BackupTimeout(_) => "BackupTimeout",
            Error::BackupNotFound(_) => "BackupNotFound",
            Error::InvalidRestoreTarget(_) => "InvalidRestoreTarget",
            Error::RestoreFailed(_) => "RestoreFailed",
            Error::RestoreTimeout(_) => "RestoreTimeout",
            Error::Transient(_) => TRANSIENT,
        }
    }

    /// The HTTP-style status code the specification gives each outcome.
    pub fn status(&self) -> u16 {
        match self {
            Error::InvalidTenant(_) | Error::InvalidRestoreTarget(_) => 400,
            Error::BackupNotFound(_) => 404,
            Error::BackupAlreadyRunning(_) => 409,
            Error::BackupFailed(_) | Error::RestoreFailed(_) => 500,
            Error::Transient(_) => 503,
            Error::BackupTimeout(_) | Error::RestoreTimeout(_) => 504,
        }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Transient(_))
    }
}

/// The status code of a named error, for callers that only have the name (the CLI reading an
/// execution's error).
pub fn status_of(name: &str) -> Option<u16> {
    let probe = |e: Error| (e.name() == name).then(|| e.status());
    [
        Error::InvalidTenant(String::new()),
        Error::BackupAlreadyRunning(String::new()),
        Error::BackupFailed(String::new()),
        Error::BackupTimeout(String::new()),
        Error::BackupNotFound(String::new()),
        Error::InvalidRestoreTarget(String::new()),
        Error::RestoreFailed(String::new()),
        Error::RestoreTimeout(String::new()),
        Error::Transient(String::new()),
    ]
    .into_iter()
    .find_map(probe)
}

/// The exit code of the operator CLI for an execution that failed with the named error: a
/// script can tell the outcomes apart without parsing output. Any other name (a States.*
/// error, a name from a newer state machine) is 1.
pub fn exit_code(error_name: &str) -> i32 {
    match error_name {
        "InvalidTenant" => 40,
        "InvalidRestoreTarget" => 41,
        "BackupNotFound" => 44,
        "BackupAlreadyRunning" => 49,
        "BackupFailed" => 50,
        "RestoreFailed" => 51,
        TRANSIENT => 53,
        "BackupTimeout" => 54,
        "RestoreTimeout" => 55,
        _ => 1,
    }
}

impl From<Error> for Diagnostic {
    fn from(error: Error) -> Self {
        Diagnostic {
            error_type: error.name().to_owned(),
            error_message: format!("{}: {}", error.status(), error),
        }
    }
}

/// Which family of outcomes a failure belongs to: a failed AWS call during a backup is a
/// BackupFailed, during a restore a RestoreFailed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Backup,
    Restore,
}

impl Operation {
    pub fn failed(self, message: impl Into<String>) -> Error {
        match self {
            Operation::Backup => Error::BackupFailed(message.into()),
            Operation::Restore => Error::RestoreFailed(message.into()),
        }
    }

    pub fn timeout(self, message: impl Into<String>) -> Error {
        match self {
            Operation::Backup => Error::BackupTimeout(message.into()),
            Operation::Restore => Error::RestoreTimeout(message.into()),
        }
    }

    /// A request that cannot be understood: nothing has been asked of AWS yet.
    pub fn bad_request(self, message: impl Into<String>) -> Error {
        match self {
            Operation::Backup => Error::InvalidTenant(message.into()),
            Operation::Restore => Error::InvalidRestoreTarget(message.into()),
        }
    }

    /// Classifies a failed AWS call: throttling, 5xx and network trouble are transient,
    /// everything else fails the operation with AWS's code and message.
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
        let message = format!("{what}: {detail}");
        if transient {
            Error::Transient(message)
        } else {
            self.failed(message)
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_the_specified_name_and_status() {
        let cases = [
            (Error::InvalidTenant("x".into()), "InvalidTenant", 400),
            (
                Error::BackupAlreadyRunning("x".into()),
                "BackupAlreadyRunning",
                409,
            ),
            (Error::BackupFailed("x".into()), "BackupFailed", 500),
            (Error::BackupTimeout("x".into()), "BackupTimeout", 504),
            (Error::BackupNotFound("x".into()), "BackupNotFound", 404),
            (
                Error::InvalidRestoreTarget("x".into()),
                "InvalidRestoreTarget",
                400,
            ),
            (Error::RestoreFailed("x".into()), "RestoreFailed", 500),
            (Error::RestoreTimeout("x".into()), "RestoreTimeout", 504),
            (Error::Transient("x".into()), TRANSIENT, 503),
        ];
        for (error, name, status) in cases {
            assert_eq!(error.name(), name);
            assert_eq!(error.status(), status);
            assert_eq!(status_of(name), Some(status));
            assert!(ERROR_NAMES.contains(&name));
        }
        assert_eq!(status_of("States.Timeout"), None);
    }

    #[test]
    fn every_error_name_has_its_own_cli_exit_code() {
        let codes = [
            ("InvalidTenant", 40),
            ("InvalidRestoreTarget", 41),
            ("BackupNotFound", 44),
            ("BackupAlreadyRunning", 49),
            ("BackupFailed", 50),
            ("RestoreFailed", 51),
            (TRANSIENT, 53),
            ("BackupTimeout", 54),
            ("RestoreTimeout", 55),
        ];
        for (name, code) in codes {
            assert_eq!(exit_code(name), code, "{name}");
        }
        for unknown in ["States.Timeout", "States.TaskFailed", "", "invalidtenant"] {
            assert_eq!(exit_code(unknown), 1, "{unknown}");
        }
    }

    #[test]
    fn diagnostic_carries_the_stable_name_and_the_status_code() {
        let diagnostic: Diagnostic =
            Error::BackupAlreadyRunning("job j-1 is running on db-1".into()).into();
        assert_eq!(diagnostic.error_type, "BackupAlreadyRunning");
        assert_eq!(diagnostic.error_message, "409: job j-1 is running on db-1");
    }

    #[test]
    fn operation_picks_the_family() {
        assert_eq!(Operation::Backup.failed("x").name(), "BackupFailed");
        assert_eq!(Operation::Restore.failed("x").name(), "RestoreFailed");
        assert_eq!(Operation::Backup.timeout("x").name(), "BackupTimeout");
        assert_eq!(Operation::Restore.timeout("x").name(), "RestoreTimeout");
        assert_eq!(Operation::Backup.bad_request("x").name(), "InvalidTenant");
        assert_eq!(
            Operation::Restore.bad_request("x").name(),
            "InvalidRestoreTarget"
        );
    }
}
