//! AWS Backup's errors as its REST-JSON protocol sends them: a status, a JSON body
//! `{"__type", "message"}` and the `x-amzn-ErrorType` header. Statuses are those of the
//! AWS Backup API reference (it answers a missing resource with 400, not 404).

use hyper::StatusCode;
use serde_json::json;

use crate::web::{self, Reply};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "ResourceNotFoundException",
            message,
        )
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            message,
        )
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidRequestException", message)
    }

    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "AlreadyExistsException", message)
    }

    /// A quota the request would pass (AWS Backup's LimitExceededException, a 400).
    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "LimitExceededException", message)
    }

    pub fn throttling(operation: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "ThrottlingException",
            format!("Rate exceeded ({operation})"),
        )
    }

    pub fn unknown_operation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "UnknownOperationException", message)
    }

    /// A required member the request left out.
    pub fn missing(member: &str) -> Self {
        Self::invalid_parameter(format!("{member} is required and was not given"))
    }

    pub fn into_reply(self) -> Reply {
        let mut reply = web::json(
            self.status,
            &json!({"__type": self.code, "message": self.message}),
        );
        web::set_header(&mut reply, "x-amzn-errortype", self.code);
        reply
    }
}
