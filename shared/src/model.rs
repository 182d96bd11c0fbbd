//! The shapes that travel between the handlers through the state machines' data.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Polling;
use crate::error::Operation;

/// Tag keys the product writes and reads.
pub mod tags {
    pub const TENANT_ID: &str = "bbws:tenant-id";
    pub const BACKUP_ID: &str = "bbws:backup-id";
    pub const BACKUP_TYPE: &str = "bbws:backup-type";
    pub const COMPONENT: &str = "bbws:component";
    /// Prefix of the tag a joined shared file-system recovery point gets for each tenant backup
    /// that joined it: `bbws:backup:<tenant backup id>` = `<tenant id>`.
    pub const JOINED_BACKUP_PREFIX: &str = "bbws:backup:";
    pub const ENVIRONMENT: &str = "bbws:environment";
    /// On a restored database: the tenant backup id it was restored from.
    pub const RESTORED_FROM: &str = "bbws:restored-from";
    /// On a restored database: the tenant it was restored for (not yet its database).
    pub const RESTORED_FOR: &str = "bbws:restored-for";
    /// On a promoted database: when it became the tenant's database (`YYYYMMDDTHHMMSSZ`).
    /// Of several databases tagged with one tenant, the latest promoted is the tenant's.
    pub const PROMOTED_AT: &str = "bbws:promoted-at";
}

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

/// What a job works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    /// The shared EFS file system (AWS Backup never backs up an access point alone).
    Efs,
    /// A tenant's RDS DB instance.
    RdsInstance,
    /// A tenant's Aurora DB cluster.
    AuroraCluster,
    /// A tenant's ECS service.
    EcsService,
}

impl ResourceKind {
    pub fn component(self) -> &'static str {
        match self {
            ResourceKind::Efs => "efs",
            ResourceKind::RdsInstance | ResourceKind::AuroraCluster => "database",
            ResourceKind::EcsService => "service",
        }
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
    pub state: String,
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
}

impl JobSet {
    /// The restore job of `what` (the resources `is` accepts), which must have completed:
    /// a set without one is a bad request, one not COMPLETED is the operation's failure.
    pub fn completed_restore(
        &self,
        what: &str,
        is: impl Fn(ResourceKind) -> bool,
    ) -> Result<&Job, crate::Error> {
        let op = self.operation;
        let job = self
            .jobs
            .iter()
            .find(|j| j.kind == JobKind::Restore && is(j.resource))
            .ok_or_else(|| op.bad_request(format!("the restore has no {what} restore job")))?;
        if job.state != "COMPLETED" {
            return Err(op.failed(format!(
                "{what} restore job {} is {}, not COMPLETED",
                job.job_id, job.state
            )));
        }
        Ok(job)
    }
}

impl Polling {
    /// The wait after `attempt` unfinished polls: doubling from the first wait up to the cap.
    pub fn wait_after(&self, attempt: u32) -> u64 {
        let factor = 1u64.checked_shl(attempt.min(20)).unwrap_or(u64::MAX);
        self.initial_seconds
            .saturating_mul(factor)
            .min(self.max_seconds)
            .max(1)
    }
}

/// The time source: the system clock in Lambda, a fixed instant in tests.
#[derive(Clone, Copy, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    Fixed(i64),
}

impl Clock {
    /// Seconds since the epoch.
    pub fn now(&self) -> i64 {
        match self {
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or_default(),
            Clock::Fixed(t) => *t,
        }
    }
}

fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The tenant backup id that names the pair of recovery points one execution makes for one
/// tenant: derived from both, so a retried step names the same backup and a fleet execution
/// gives each tenant its own.
pub fn tenant_backup_id(execution_id: &str, tenant: &str) -> String {
    format!(
        "tb-{}",
        &digest(&["tenant-backup", execution_id, tenant])[..20]
    )
}

/// The IdempotencyToken for one AWS job of one execution: a retried step sends the same token
/// and AWS Backup answers with the job it already started.
pub fn idempotency_token(execution_id: &str, purpose: &str, resource: &str) -> String {
    digest(&[execution_id, purpose, resource])[..48].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_per_execution_and_distinct_across() {
        let a = "arn:aws:states:af-south-1:123456789012:execution:bbws-backup:one";
        let b = "arn:aws:states:af-south-1:123456789012:execution:bbws-backup:two";
        assert_eq!(tenant_backup_id(a, "t-1"), tenant_backup_id(a, "t-1"));
        assert_ne!(tenant_backup_id(a, "t-1"), tenant_backup_id(b, "t-1"));
        assert_ne!(tenant_backup_id(a, "t-1"), tenant_backup_id(a, "t-2"));
        assert!(tenant_backup_id(a, "t-1").starts_with("tb-"));
        assert_eq!(tenant_backup_id(a, "t-1").len(), 23);
        assert_eq!(
            idempotency_token(a, "backup", "fs"),
            idempotency_token(a, "backup", "fs")
        );
        assert_ne!(
            idempotency_token(a, "backup", "fs"),
            idempotency_token(a, "backup", "db")
        );
        assert_ne!(
            idempotency_token(a, "backup", "fs"),
            idempotency_token(b, "backup", "fs")
        );
    }

    #[test]
    fn polling_backs_off_to_a_cap() {
        let polling = Polling {
            initial_seconds: 5,
            max_seconds: 60,
        };
        let waits: Vec<u64> = (0..6).map(|a| polling.wait_after(a)).collect();
        assert_eq!(waits, [5, 10, 20, 40, 60, 60]);
        assert_eq!(polling.wait_after(u32::MAX), 60);
    }
}
