//! Faults tests inject through the admin API: a job that fails or expires, slow jobs,
//! throttled operations, and answers lost after the call was carried out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::{JobKind, Outcome};
use super::operations::{Operation, OPERATIONS};

/// AWS's wording when a backup job cannot start before its window closes.
pub const EXPIRED_MESSAGE: &str = "The backup job did not start before its start window closed.";

/// A fault as `POST /_local/faults` takes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "fault", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FaultRequest {
    /// The next job started (of `kind`, or of any kind; on `resourceArn`, or on any
    /// resource) ends FAILED with `message`.
    #[serde(rename_all = "camelCase")]
    FailNextJob {
        message: Option<String>,
        kind: Option<JobKind>,
        resource_arn: Option<String>,
    },
    /// The next backup job started ends EXPIRED without running. Only backup jobs have
    /// that state in AWS Backup.
    ExpireNextJob {
        message: Option<String>,
        kind: Option<JobKind>,
    },
    /// Jobs started from now take `seconds`; 0 goes back to the configured durations.
    SlowJobs { seconds: f64 },
    /// The next `count` (default 1) calls of `operation` answer ThrottlingException.
    Throttle {
        operation: String,
        count: Option<u32>,
    },
    /// The next `count` (default 1) calls of `operation` are carried out, then their answer
    /// is lost: the front closes the connection without one, as a connection that times out
    /// after the service acted does. The caller's retry must start nothing twice.
    LoseResponse {
        operation: String,
        count: Option<u32>,
    },
}

/// The calls outside AWS Backup whose answers `lose-response` can lose (moto serves them;
/// the front drops the answer).
pub const OTHER_LOSABLE: [&str; 2] = ["CreateAccessPoint", "StartExecution"];

/// One pending job fault.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobFault {
    pub kind: Option<JobKind>,
    /// The resource whose next job takes the fault (for a copy, the recovery point copied);
    /// any resource when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_arn: Option<String>,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Faults {
    /// Taken in order by the jobs they match.
    pub next_jobs: Vec<JobFault>,
    pub slow_seconds: Option<f64>,
    /// Operation name → calls still to throttle.
    pub throttles: BTreeMap<String, u32>,
    /// Operation name → calls whose answer is still to be lost.
    pub lost_responses: BTreeMap<String, u32>,
}

impl Faults {
    pub fn add(&mut self, request: FaultRequest) -> Result<(), String> {
        match request {
            FaultRequest::FailNextJob {
                message,
                kind,
                resource_arn,
            } => {
                let message = message.unwrap_or_else(|| "Injected failure.".to_owned());
                self.next_jobs.push(JobFault {
                    kind,
                    resource_arn,
                    outcome: Outcome::Fail(message),
                });
            }
            FaultRequest::ExpireNextJob { message, kind } => {
                if matches!(kind, Some(k) if k != JobKind::Backup) {
                    return Err(
                        "expire-next-job applies to backup jobs only: copy and restore jobs \
                         have no EXPIRED state in AWS Backup"
                            .to_owned(),
                    );
                }
                let message = message.unwrap_or_else(|| EXPIRED_MESSAGE.to_owned());
                self.next_jobs.push(JobFault {
                    kind: Some(JobKind::Backup),
                    resource_arn: None,
                    outcome: Outcome::Expire(message),
                });
            }
            FaultRequest::SlowJobs { seconds } => {
                if !(seconds.is_finite() && seconds >= 0.0) {
                    return Err(format!(
                        "seconds must be a non-negative number, not {seconds}"
                    ));
                }
                self.slow_seconds = (seconds > 0.0).then_some(seconds);
            }
            FaultRequest::Throttle { operation, count } => {
                if Operation::named(&operation).is_none() {
                    return Err(format!(
                        "unknown operation {operation:?}; one of {}",
                        OPERATIONS.join(", ")
                    ));
                }
                *self.throttles.entry(operation).or_default() += count.unwrap_or(1);
            }
            FaultRequest::LoseResponse { operation, count } => {
                if Operation::named(&operation).is_none()
                    && !OTHER_LOSABLE.contains(&operation.as_str())
                {
                    return Err(format!(
                        "unknown operation {operation:?}; one of {}, {}",
                        OPERATIONS.join(", "),
                        OTHER_LOSABLE.join(", ")
                    ));
                }
                *self.lost_responses.entry(operation).or_default() += count.unwrap_or(1);
            }
        }
        Ok(())
    }

    /// Whether the answer to this call of `operation` is to be lost (and counts it).
    pub fn take_lost_response(&mut self, operation: &str) -> bool {
        count_down(&mut self.lost_responses, operation)
    }

    /// The planned outcome of a job of `kind` on `resource_arn` being started, if a fault
    /// waits for it.
    pub fn take_job_fault(&mut self, kind: JobKind, resource_arn: &str) -> Option<Outcome> {
        let i = self.next_jobs.iter().position(|f| {
            f.kind.is_none_or(|k| k == kind)
                && f.resource_arn.as_deref().is_none_or(|r| r == resource_arn)
        })?;
        Some(self.next_jobs.remove(i).outcome)
    }

    /// Whether this call of `operation` is to be throttled (and counts it).
    pub fn take_throttle(&mut self, operation: &str) -> bool {
        count_down(&mut self.throttles, operation)
    }
}

fn count_down(counts: &mut BTreeMap<String, u32>, operation: &str) -> bool {
    match counts.get_mut(operation) {
        Some(left) if *left > 0 => {
            *left -= 1;
            if *left == 0 {
                counts.remove(operation);
            }
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<FaultRequest, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn job_faults_are_taken_by_the_kind_they_name() {
        let mut f = Faults::default();
        f.add(parse(r#"{"fault":"fail-next-job","message":"boom","kind":"copy"}"#).unwrap())
            .unwrap();
        f.add(parse(r#"{"fault":"expire-next-job"}"#).unwrap())
            .unwrap();
        assert_eq!(f.take_job_fault(JobKind::Restore, "arn:r"), None);
        assert_eq!(
            f.take_job_fault(JobKind::Backup, "arn:r"),
            Some(Outcome::Expire(EXPIRED_MESSAGE.into()))
        );
        assert_eq!(
            f.take_job_fault(JobKind::Copy, "arn:r"),
            Some(Outcome::Fail("boom".into()))
        );
        assert_eq!(f.take_job_fault(JobKind::Copy, "arn:r"), None);
    }

    #[test]
    fn a_job_fault_on_a_resource_waits_for_a_job_on_that_resource() {
        let mut f = Faults::default();
        f.add(parse(r#"{"fault":"fail-next-job","kind":"backup","resourceArn":"arn:b"}"#).unwrap())
            .unwrap();
        assert_eq!(f.take_job_fault(JobKind::Backup, "arn:a"), None);
        assert_eq!(
            f.take_job_fault(JobKind::Backup, "arn:b"),
            Some(Outcome::Fail("Injected failure.".into()))
        );
        assert_eq!(f.take_job_fault(JobKind::Backup, "arn:b"), None);
    }

    #[test]
    fn throttles_count_down() {
        let mut f = Faults::default();
        f.add(parse(r#"{"fault":"throttle","operation":"StartBackupJob","count":2}"#).unwrap())
            .unwrap();
        assert!(f.take_throttle("StartBackupJob"));
        assert!(!f.take_throttle("DescribeBackupJob"));
        assert!(f.take_throttle("StartBackupJob"));
        assert!(!f.take_throttle("StartBackupJob"));
    }

    #[test]
    fn lost_responses_count_down_for_backup_and_access_point_calls() {
        let mut f = Faults::default();
        f.add(parse(r#"{"fault":"lose-response","operation":"StartCopyJob"}"#).unwrap())
            .unwrap();
        f.add(parse(r#"{"fault":"lose-response","operation":"CreateAccessPoint"}"#).unwrap())
            .unwrap();
        assert!(f.take_lost_response("StartCopyJob"));
        assert!(!f.take_lost_response("StartCopyJob"));
        assert!(f.take_lost_response("CreateAccessPoint"));
        assert!(f
            .add(parse(r#"{"fault":"lose-response","operation":"DeleteEverything"}"#).unwrap())
            .is_err());
    }

    #[test]
    fn bad_faults_are_refused() {
        assert!(parse(r#"{"fault":"melt"}"#).is_err());
        assert!(parse(r#"{"fault":"slow-jobs","seconds":1,"extra":true}"#).is_err());
        let mut f = Faults::default();
        assert!(f
            .add(parse(r#"{"fault":"throttle","operation":"Nope"}"#).unwrap())
            .is_err());
        assert!(f
            .add(parse(r#"{"fault":"expire-next-job","kind":"copy"}"#).unwrap())
            .is_err());
        assert!(f
            .add(parse(r#"{"fault":"slow-jobs","seconds":-1}"#).unwrap())
            .is_err());
        f.add(parse(r#"{"fault":"slow-jobs","seconds":3}"#).unwrap())
            .unwrap();
        assert_eq!(f.slow_seconds, Some(3.0));
        f.add(parse(r#"{"fault":"slow-jobs","seconds":0}"#).unwrap())
            .unwrap();
        assert_eq!(f.slow_seconds, None);
    }
}
