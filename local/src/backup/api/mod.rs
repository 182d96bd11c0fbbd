//! The AWS Backup operations, one module per resource so each reads on its own. Each checks
//! its input as AWS Backup does, changes the state under the lock, and starts a job's runner
//! once the lock is released; reading an input is shared here.

pub mod backup_jobs;
pub mod copy_jobs;
mod jobs;
pub mod recovery_points;
pub mod restore_jobs;
pub mod tags;
pub mod vaults;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;

pub type ApiResult = Result<Value, ApiError>;

fn parse_body<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_request(format!("The request body is not valid: {e}")))
}

fn required(value: Option<String>, member: &str) -> Result<String, ApiError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::missing(member))
}
