//! The AWS jobs an operation waits on, as the state machines' wait loops pass them round:
//! [`Job`], its [`JobState`], and the [`JobSet`] that `poll-job` takes and returns.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::aws::ResourceKind;
use crate::config::Polling;
use crate::error::{Error, Operation};

#[cfg(feature = "sdk-backup")]
pub mod copy;
mod ids;
#[cfg(feature = "sdk-backup")]
pub mod poll;

pub use crate::catalog::planned_at;
pub use crate::clock::{compact_utc, Clock};
pub use ids::{idempotency_token, tenant_backup_id};

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Backup,
    Copy,
    Restore,
    /// An ECS deployment, done when the service is stable.
    Deployment,
    /// A DB instance being created, done when it is available.
    Database,
}

impl JobKind {
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Backup => "backup",
            JobKind::Copy => "copy",
            JobKind::Restore => "restore",
            JobKind::Deployment => "deployment",
            JobKind::Database => "database instance",
        }
    }
}

/// A job's state as AWS names it. Backup jobs go through all of the named states; copy jobs
/// through CREATED, RUNNING, COMPLETED, FAILED and PARTIAL; restore jobs through PENDING,
/// RUNNING, COMPLETED, ABORTED and FAILED. Deployments and DB instances are mapped onto
/// RUNNING, COMPLETED and FAILED, or keep the status their service gives them (`Other`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum JobState {
    Created,
    Pending,
    Running,
    Aborting,
    Aborted,
    Completed,
    Failed,
    Expired,
    Partial,
    /// A state this product does not name, kept as given (an empty one when AWS gave none).
    #[default]
    Unknown,
    Other(String),
}

impl JobState {
    pub fn as_str(&self) -> &str {
        match self {
            JobState::Created => "CREATED",
            JobState::Pending => "PENDING",
            JobState::Running => "RUNNING",
            JobState::Aborting => "ABORTING",
            JobState::Aborted => "ABORTED",
            JobState::Completed => "COMPLETED",
            JobState::Failed => "FAILED",
            JobState::Expired => "EXPIRED",
            JobState::Partial => "PARTIAL",
            JobState::Unknown => "",
            JobState::Other(state) => state,
        }
    }

    pub fn is_completed(&self) -> bool {
        *self == JobState::Completed
    }

    /// Ended without doing all its work. PARTIAL counts: a backup that silently missed items
    /// is worse than a failed one.
    pub fn has_failed(&self) -> bool {
        matches!(
            self,
            JobState::Failed | JobState::Aborted | JobState::Expired | JobState::Partial
        )
    }
}

impl From<&str> for JobState {
    fn from(state: &str) -> Self {
        match state {
            "CREATED" => JobState::Created,
            "PENDING" => JobState::Pending,
            "RUNNING" => JobState::Running,
            "ABORTING" => JobState::Aborting,
            "ABORTED" => JobState::Aborted,
            "COMPLETED" => JobState::Completed,
            "FAILED" => JobState::Failed,
            "EXPIRED" => JobState::Expired,
            "PARTIAL" => JobState::Partial,
            "" => JobState::Unknown,
            other => JobState::Other(other.to_owned()),
        }
    }
}

impl From<String> for JobState {
    fn from(state: String) -> Self {
        JobState::from(state.as_str())
    }
}

impl From<JobState> for String {
    fn from(state: JobState) -> Self {
        state.as_str().to_owned()
    }
}

/// A state compares equal to the name AWS gives it.
impl PartialEq<&str> for JobState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One AWS job the state machine is waiting on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub kind: JobKind,
    pub resource: ResourceKind,
    /// The resource backed up, or for a copy the recovery point copied.
    pub resource_arn: String,
    pub job_id: String,
    /// The recovery point the job makes (for a copy: the one in the DR vault), once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_point_arn: Option<String>,
    /// The vault the job writes to.
    pub vault: String,
    /// AWS's state of the job, as last seen.
    pub state: JobState,
    /// True when the job was started by someone else and this execution joined it.
    #[serde(default)]
    pub joined: bool,
    /// Seconds since the epoch after which the job counts as timed out.
    pub deadline: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// What a restore job created (a file system or database ARN), once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_resource_arn: Option<String>,
    /// Seconds since the epoch when this execution started or joined the job.
    #[serde(default)]
    pub started_at: i64,
    /// AWS's CreationDate of the job (seconds since the epoch, rounded down), once seen: a
    /// restore's promotion takes only what the job wrote after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    /// AWS's CompletionDate of the job (seconds since the epoch, rounded up), once seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<i64>,
}

impl Job {
    /// A job this execution started (or joined) at `now`, timing out `timeout_seconds` later.
    pub fn new(
        kind: JobKind,
        resource: ResourceKind,
        resource_arn: impl Into<String>,
        job_id: impl Into<String>,
        state: JobState,
        now: i64,
        timeout_seconds: u64,
    ) -> Self {
        Self {
            kind,
            resource,
            resource_arn: resource_arn.into(),
            job_id: job_id.into(),
            recovery_point_arn: None,
            vault: String::new(),
            state,
            joined: false,
            deadline: now + timeout_seconds as i64,
            status_message: None,
            created_resource_arn: None,
            started_at: now,
            created_at: None,
            completed_at: None,
        }
    }

    /// The vault the job writes to.
    pub fn in_vault(mut self, vault: impl Into<String>) -> Self {
        self.vault = vault.into();
        self
    }

    pub fn with_recovery_point(mut self, arn: Option<String>) -> Self {
        self.recovery_point_arn = arn;
        self
    }

    /// Someone else's job this execution uses.
    pub fn joined(mut self) -> Self {
        self.joined = true;
        self
    }

    /// One line for people: what the job is and how it ended.
    pub fn failure(&self) -> String {
        format!(
            "{} job {} on {} ended {}: {}",
            self.kind.name(),
            self.job_id,
            self.resource_arn,
            self.state,
            self.status_message
                .as_deref()
                .unwrap_or("AWS Backup gave no reason")
        )
    }
}

/// A set of jobs one operation waits for; `poll-job` takes and returns this shape, so the
/// state machine's wait loop passes it round unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSet {
    pub operation: Operation,
    pub tenant_id: String,
    pub backup_id: String,
    pub jobs: Vec<Job>,
    /// True once every job completed.
    pub done: bool,
    /// How many polls have found work still running.
    pub attempt: u32,
    /// How long the state machine waits before the next poll.
    pub wait_seconds: u64,
    pub polling: Polling,
    /// A backup's kind, for its catalog item once its jobs complete; none for a restore's
    /// or a copy's jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_kind: Option<crate::catalog::BackupKind>,
}

impl JobSet {
    /// A set just started: not done, first poll after the first wait.
    pub fn new(
        operation: Operation,
        tenant_id: impl Into<String>,
        backup_id: impl Into<String>,
        jobs: Vec<Job>,
        polling: Polling,
    ) -> Self {
        Self {
            operation,
            tenant_id: tenant_id.into(),
            backup_id: backup_id.into(),
            jobs,
            done: false,
            attempt: 0,
            wait_seconds: polling.initial_seconds,
            polling,
            backup_kind: None,
        }
    }

    /// The restore job of `what` (the resources `is` accepts), which must have completed:
    /// a set without one is a bad request, one not COMPLETED is the operation's failure.
    /// The set as a backup of `kind`, recorded in the catalog once complete.
    pub fn recorded_as(mut self, kind: crate::catalog::BackupKind) -> Self {
        self.backup_kind = Some(kind);
        self
    }

    pub fn completed_restore(
        &self,
        what: &str,
        is: impl Fn(ResourceKind) -> bool,
    ) -> Result<&Job, Error> {
        let op = self.operation;
        let job = self
            .jobs
            .iter()
            .find(|j| j.kind == JobKind::Restore && is(j.resource))
            .ok_or_else(|| op.bad_request(format!("the restore has no {what} restore job")))?;
        if !job.state.is_completed() {
            return Err(op.failed(format!(
                "{what} restore job {} is {}, not COMPLETED",
                job.job_id, job.state
            )));
        }
        Ok(job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_states_read_and_write_as_aws_names_them() {
        for name in [
            "CREATED",
            "PENDING",
            "RUNNING",
            "ABORTING",
            "ABORTED",
            "COMPLETED",
            "FAILED",
            "EXPIRED",
            "PARTIAL",
            "creating",
            "",
        ] {
            let state = JobState::from(name);
            assert_eq!(state.as_str(), name);
            let json = serde_json::to_value(&state).unwrap();
            assert_eq!(json, serde_json::json!(name));
            assert_eq!(serde_json::from_value::<JobState>(json).unwrap(), state);
        }
        assert!(JobState::from("PARTIAL").has_failed());
        assert!(!JobState::from("RUNNING").has_failed());
        assert!(JobState::from("COMPLETED").is_completed());
    }
}
