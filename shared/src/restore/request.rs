//! What a tenant restore is asked, and the plan the state machine carries between its steps.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::ResourceKind;
use crate::config::{Polling, TimeoutOverrides};
use crate::jobs::{idempotency_token, JobSet};
use crate::tenant_id::TenantId;
use crate::tenants::{DatabaseTarget, FileSystemTarget, Overrides, ServiceTarget};

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestoreRequest {
    /// The tenant the backup belongs to, and the tenant restored unless `cloneTo` is given.
    pub tenant_id: String,
    /// A tenant backup id (`tb-…`, `hourly-…`) or one recovery point ARN; or, instead, `at`.
    #[serde(default)]
    pub backup_id: String,
    /// A moment (RFC 3339): the newest file-system point at or before it, with the database
    /// from as close to it as the catalog allows.
    pub at: Option<String>,
    /// Restore the files (default: when the backup holds them).
    pub files: Option<bool>,
    /// Restore the database to a new instance (default: when the backup holds one).
    pub database: Option<bool>,
    /// Put the restored database live: point the tenant's database setting at it (default:
    /// whenever the database is restored, unless `sideBySide`). Files and database restored
    /// together always go live together: `false` then is refused.
    pub promote_database: Option<bool>,
    /// Put nothing live: the files go to a scratch directory beside the tenant's, the database
    /// to a new instance; nothing is promoted, flushed or redeployed.
    pub side_by_side: Option<bool>,
    /// Restore into this other tenant instead: the only way a backup crosses tenants.
    pub clone_to: Option<String>,
    pub timeouts: Option<TimeoutOverrides>,
    pub poll_seconds: Option<u64>,
    pub max_poll_seconds: Option<u64>,
    /// Resources of the tenant restored into, instead of those its tags name.
    pub resources: Option<Overrides>,
    /// A restore drill: `cloneTo` names a scratch tenant (`drill-…`) that has no resources of
    /// its own. The files go to `/.bbws-scratch/<scratch>` on the source tenant's file system
    /// (outside every tenant's directory, [`crate::layout`]), the database
    /// to a new instance; no service is redeployed and nothing of the source tenant's is
    /// touched.
    pub drill: Option<bool>,
    /// Plan only: the state machine ends with the plan, and nothing is changed in AWS.
    pub dry_run: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreTimeouts {
    pub efs_seconds: u64,
    pub database_seconds: u64,
    pub service_seconds: u64,
}

/// One recovery point to restore, with the metadata its restore job is started with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreSource {
    pub recovery_point_arn: String,
    pub resource: ResourceKind,
    /// AWS Backup's resource type: `EFS`, `RDS` or `Aurora`.
    pub resource_type: String,
    pub metadata: HashMap<String, String>,
    /// What the restore creates: the tenant's directory, or the new database's identifier.
    pub target: String,
    /// The vault the recovery point is in, when it is not the region's own backup vault (a
    /// DR copy restored in the DR region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<String>,
    /// When the point restored is a DR copy: the recovery point it is a copy of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_of: Option<String>,
    /// The recovery point's size in bytes, where the catalog or the vault knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestorePlan {
    /// The tenant restored into.
    pub tenant_id: TenantId,
    /// The tenant the backup was made of.
    pub source_tenant_id: TenantId,
    pub backup_id: String,
    pub file_system: Option<FileSystemTarget>,
    pub files: Option<RestoreSource>,
    pub database: Option<RestoreSource>,
    pub service: Option<ServiceTarget>,
    /// The tenant's database when the restore was planned: never changed by the restore.
    #[serde(default)]
    pub current_database: Option<DatabaseTarget>,
    pub promote_database: bool,
    /// Nothing goes live: the restored files are put in `files_into`, the database stays a
    /// new instance beside the tenant's.
    #[serde(default)]
    pub side_by_side: bool,
    /// Where the restored files go, from the file system's root, when not into the tenant's
    /// own directory (a side-by-side restore's scratch directory).
    #[serde(default)]
    pub files_into: Option<String>,
    /// True when the restore changes what the tenant's site serves (its files, database,
    /// cache or tasks): false for a drill and a side-by-side restore.
    #[serde(default)]
    pub live: bool,
    /// What goes live, in words, for the report and a dry run.
    #[serde(default)]
    pub goes_live: String,
    /// A restore drill's: into a scratch tenant that nothing serves (no cache to flush).
    #[serde(default)]
    pub drill: bool,
    /// For a restore to a moment (`at`): which points were taken, and how far apart.
    #[serde(default)]
    pub point_in_time: Option<PointInTime>,
    /// The catalog's backups the restore uses, noted on each once the jobs start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub used: Vec<UsedBackup>,
    pub timeouts: RestoreTimeouts,
    pub polling: Polling,
    pub summary: String,
    /// The tenant lease the restore takes when it starts (see [`crate::lease`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<PlanLease>,
}

/// What the restore's lease is taken with: the tenant it guards (a drill's source tenant,
/// else the tenant restored into), the request's key, and its generation: the execution
/// that first ran this request, whose idempotency tokens, restored database name and
/// started jobs a rerun after RestoreTimeout adopts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanLease {
    pub tenant_id: TenantId,
    pub request_key: String,
    pub generation: String,
    /// True when the generation is a timed-out execution's whose jobs are adopted.
    pub adopting: bool,
    /// How long the lease lasts: the restore's own timeouts and an hour's margin.
    pub seconds: i64,
}

/// The key of a restore request as planned: the same tenant, points and target give the
/// same key, whatever execution asks.
pub fn request_key(parts: &[&str]) -> String {
    idempotency_token("restore-request", &parts.join("\n"), "")
}

/// What a restore to a moment took.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PointInTime {
    /// The moment asked for, as given.
    pub at: String,
    /// The backup whose file-system point was taken, and when that point was made.
    pub files_backup_id: String,
    pub files_created_at: String,
    /// The backup whose database point was taken, and when, if the database is restored.
    #[serde(default)]
    pub database_backup_id: Option<String>,
    #[serde(default)]
    pub database_created_at: Option<String>,
    /// How many seconds apart the files and the database are (0: the same moment).
    #[serde(default)]
    pub gap_seconds: Option<i64>,
    /// The continuous recovery point the database is restored from, to exactly the files'
    /// moment (`RestoreTime`), when the tenant's database has continuous backup there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_continuous_point: Option<String>,
}

/// A catalog backup a restore uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsedBackup {
    pub tenant_id: String,
    pub backup_id: String,
    pub time: i64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum RestoreInput {
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
        plan: Box<RestorePlan>,
    },
    /// After the restore jobs: tag the restored database and, for Aurora, add its instance.
    #[serde(rename_all = "camelCase")]
    FinishDatabase {
        plan: Box<RestorePlan>,
        restore: JobSet,
    },
    /// Point the tenant's database endpoint parameter at the restored database.
    #[serde(rename_all = "camelCase")]
    PromoteDatabase {
        plan: Box<RestorePlan>,
        restore: JobSet,
    },
    /// Before anything is promoted: this execution still holds the tenant, renewed.
    #[serde(rename_all = "camelCase")]
    CheckLease {
        execution_id: String,
        plan: Box<RestorePlan>,
    },
    /// The execution's end, whichever: the lease given back, or kept for a rerun after a
    /// RestoreTimeout of the restore jobs. `state` is the execution's whole state (it may
    /// hold no plan when the plan step failed).
    #[serde(rename_all = "camelCase")]
    Release { execution_id: String, state: Value },
}

/// A new database identifier: starts with a letter, at most 63 of letters, digits and single
/// hyphens, stable for one execution.
/// The instance added to a restored Aurora cluster.
pub fn writer_identifier(cluster: &str) -> String {
    format!("{cluster}-1")
}

pub use crate::layout::DRILL_PREFIX;

/// Where a side-by-side restore puts the files, from the file system's root: scratch space
/// no tenant id can name, one directory per execution
/// (`/.bbws-scratch/side-by-side/<tenant>/<suffix>`).
pub fn side_by_side_directory(tenant: &TenantId, execution_id: &str) -> String {
    let suffix = &idempotency_token(execution_id, "side-by-side", tenant.as_str())[..8];
    crate::layout::scratch_root_path(&format!("side-by-side/{tenant}/{suffix}"))
}

/// Derived from the restore's generation (its first execution, see [`PlanLease`]), so a
/// rerun that adopts a timed-out restore names the database its job is creating.
pub fn restored_identifier(tenant: &TenantId, generation: &str) -> String {
    let suffix = &idempotency_token(generation, "restored-db", tenant.as_str())[..8];
    let mut base: String = tenant.as_str().chars().take(40).collect();
    while base.contains("--") {
        base = base.replace("--", "-");
    }
    format!("r-{}-{suffix}", base.trim_end_matches('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restored_identifiers_are_valid_database_names() {
        let exec = "arn:aws:states:af-south-1:123456789012:execution:restore:run-1";
        for tenant in ["tenant-1", "9lives", "a--b", &"x".repeat(63)] {
            let id = restored_identifier(&TenantId::parse(tenant).unwrap(), exec);
            assert!(id.len() <= 63, "{id}");
            assert!(id.starts_with("r-"));
            assert!(!id.contains("--"), "{id}");
            assert!(!id.ends_with('-'));
            assert!(id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            assert_eq!(
                id,
                restored_identifier(&TenantId::parse(tenant).unwrap(), exec)
            );
        }
    }
}
