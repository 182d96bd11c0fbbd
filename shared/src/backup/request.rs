//! What a tenant backup is asked, and the plan the state machine carries between its steps.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{Polling, TimeoutOverrides};
use crate::jobs::JobState;
use crate::tenant_id::TenantId;
use crate::tenants::{DatabaseTarget, FileSystemTarget, Overrides};

/// A backup request as an operator, a schedule or the console sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupRequest {
    pub tenant_id: String,
    /// Back up the tenant's database as well as its files (default true).
    pub include_database: Option<bool>,
    /// Never join a file-system job someone else started: wait for it to end and start a
    /// fresh one (default false).
    pub fresh: Option<bool>,
    /// Copy the recovery points to the disaster-recovery vault (default true).
    pub copy_to_dr: Option<bool>,
    /// Wait until the DR copies complete (default false: they are started and reported).
    pub wait_for_copy: Option<bool>,
    pub timeouts: Option<TimeoutOverrides>,
    pub poll_seconds: Option<u64>,
    pub max_poll_seconds: Option<u64>,
    pub resources: Option<Overrides>,
    /// Offboarding: once this backup succeeded, delete the tenant's access point (never its
    /// files).
    pub offboard: Option<bool>,
    /// A fleet run's one job on the shared file system: this backup joins it, whatever its
    /// state (a completed job's recovery point is the tenant's file backup), instead of
    /// looking for a running one. The fleet passes it so that N tenants cost one job however
    /// long the run takes.
    pub shared_file_system_job_id: Option<String>,
    /// The plan of the previous round, when the state machine comes back after waiting.
    pub plan: Option<Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupTimeouts {
    pub efs_seconds: u64,
    pub database_seconds: u64,
    pub copy_seconds: u64,
}

/// What to do about the shared file system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum FileSystemAction {
    /// Nothing runs on it: start a job.
    Start,
    /// A job already runs on it: this backup uses that job's recovery point.
    #[serde(rename_all = "camelCase")]
    Join {
        job_id: String,
        recovery_point_arn: Option<String>,
        vault: String,
        state: JobState,
    },
    /// A job runs on it that cannot be joined (the request asked for a fresh backup, or the
    /// job is being aborted): wait and plan again.
    #[serde(rename_all = "camelCase")]
    Wait { job_id: String, state: JobState },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupPlan {
    pub tenant_id: TenantId,
    pub backup_id: String,
    pub file_system: FileSystemTarget,
    pub database: Option<DatabaseTarget>,
    pub file_system_action: FileSystemAction,
    /// True when the state machine must wait `waitSeconds` and plan again.
    pub must_wait: bool,
    pub wait_seconds: u64,
    /// Seconds since the epoch after which waiting for the file system is a BackupTimeout.
    pub wait_deadline: i64,
    pub copy_to_dr: bool,
    pub wait_for_copy: bool,
    pub offboard: bool,
    /// On-demand, or fleet when the fleet's state machine made the plan.
    #[serde(default)]
    pub kind: crate::catalog::BackupKind,
    pub timeouts: BackupTimeouts,
    pub polling: Polling,
    /// How long the tenant's last completed database backup took, if one is known: the
    /// first wait for the jobs, so a backup is polled about once when it takes as long
    /// as the last one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_seconds: Option<u64>,
    /// The manifest of the tenant's files, taken just before this backup starts its own
    /// file-system job (restore drills check against it); tagged on that job's point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<crate::manifest::Manifest>,
    /// A line for people: what this plan means.
    pub summary: String,
}

impl BackupPlan {
    /// The first wait after the jobs start: the last backup's duration when known (at least
    /// the first poll interval, at most the database deadline), else the first poll
    /// interval. Later waits double from the first poll interval up to the cap.
    pub fn first_wait_seconds(&self) -> u64 {
        let initial = self.polling.initial_seconds;
        match (self.expected_seconds, &self.database) {
            (Some(expected), Some(_)) => expected
                .max(initial)
                .min(self.timeouts.database_seconds.max(initial)),
            _ => initial,
        }
    }
}

/// The input of the `start-backup` handler: which of the two steps to run.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum StartBackupInput {
    #[serde(rename_all = "camelCase")]
    Plan {
        execution_id: String,
        /// Read by the handler on its own, so a refusal names the field (an internally
        /// tagged enum's buffered content loses the path).
        request: serde_json::Value,
    },
    #[serde(rename_all = "camelCase")]
    Start {
        execution_id: String,
        plan: Box<BackupPlan>,
    },
    /// A fleet backup's first step: one job on the shared file system, which every tenant's
    /// backup then joins (N tenants cost one file-system job).
    #[serde(rename_all = "camelCase")]
    StartShared { execution_id: String },
}

/// What the fleet's shared file-system step did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedBackup {
    pub file_system_arn: String,
    pub job_id: String,
    /// True when a job was already running and is used instead.
    pub joined: bool,
}
