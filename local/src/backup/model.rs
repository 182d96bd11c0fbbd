//! What the stand-in keeps: vaults, jobs and recovery points, and the ARNs that name them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::ApiError;

/// The one account of the local stack.
pub const ACCOUNT: &str = "123456789012";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Backup,
    Copy,
    Restore,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Backup => "backup",
            JobKind::Copy => "copy",
            JobKind::Restore => "restore",
        }
    }
}

/// Every state any job can be in; each kind uses some (see [`JobKind::states`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
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
}

impl JobState {
    pub fn as_str(self) -> &'static str {
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
        }
    }

    /// Still holding its resource: AWS Backup runs one job per resource at a time.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            JobState::Created | JobState::Pending | JobState::Running | JobState::Aborting
        )
    }
}

impl JobKind {
    /// The states AWS Backup's API has for this kind (`BackupJobState`, `CopyJobState`,
    /// `RestoreJobStatus`).
    pub fn states(self) -> &'static [JobState] {
        use JobState::*;
        match self {
            JobKind::Backup => &[
                Created, Pending, Running, Aborting, Aborted, Completed, Failed, Expired, Partial,
            ],
            JobKind::Copy => &[Created, Running, Completed, Failed, Partial],
            JobKind::Restore => &[Pending, Running, Completed, Aborted, Failed],
        }
    }

    pub fn parse_state(self, s: &str) -> Option<JobState> {
        self.states().iter().copied().find(|st| st.as_str() == s)
    }
}

/// How a job is set to end, fixed when it starts.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "end", content = "message", rename_all = "camelCase")]
pub enum Outcome {
    Complete,
    Fail(String),
    Expire(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ResourceKind {
    #[serde(rename = "EFS")]
    Efs,
    #[serde(rename = "RDS")]
    Rds,
    Aurora,
}

impl ResourceKind {
    /// AWS Backup's `ResourceType`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Efs => "EFS",
            ResourceKind::Rds => "RDS",
            ResourceKind::Aurora => "Aurora",
        }
    }
}

/// A resource AWS Backup can protect here: an EFS file system, an RDS instance or an Aurora
/// cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub arn: String,
    pub kind: ResourceKind,
    pub region: String,
    /// `fs-…`, the DB instance identifier or the cluster identifier.
    pub id: String,
}

impl Resource {
    pub fn parse(arn: &str) -> Result<Resource, ApiError> {
        let refuse = || {
            ApiError::invalid_parameter(format!(
                "Invalid resource ARN {arn:?}: expected an EFS file system \
                 (arn:aws:elasticfilesystem:<region>:<account>:file-system/fs-…), an RDS \
                 instance (arn:aws:rds:<region>:<account>:db:<name>) or an Aurora cluster \
                 (arn:aws:rds:<region>:<account>:cluster:<name>)"
            ))
        };
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let ["arn", _partition, service, region, _account, rest] = parts.as_slice() else {
            return Err(refuse());
        };
        let (kind, id) = match (*service, rest.split_once(['/', ':'])) {
            ("elasticfilesystem", Some(("file-system", id))) if id.starts_with("fs-") => {
                (ResourceKind::Efs, id)
            }
            ("rds", Some(("db", id))) => (ResourceKind::Rds, id),
            ("rds", Some(("cluster", id))) => (ResourceKind::Aurora, id),
            _ => return Err(refuse()),
        };
        // The id names a directory (EFS) or a snapshot: keep it to what AWS allows.
        if region.is_empty() || !is_plain_id(id) {
            return Err(refuse());
        }
        Ok(Resource {
            arn: arn.to_owned(),
            kind,
            region: (*region).to_owned(),
            id: id.to_owned(),
        })
    }

    pub fn efs_arn(region: &str, fs_id: &str) -> String {
        format!("arn:aws:elasticfilesystem:{region}:{ACCOUNT}:file-system/{fs_id}")
    }
}

/// Letters, digits and hyphens: what file system ids and DB identifiers are made of.
pub fn is_plain_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Vault {
    pub name: String,
    pub arn: String,
    pub region: String,
    pub created: f64,
    pub creator_request_id: Option<String>,
    pub encryption_key_arn: String,
    pub tags: BTreeMap<String, String>,
}

pub fn vault_arn(region: &str, name: &str) -> String {
    format!("arn:aws:backup:{region}:{ACCOUNT}:backup-vault:{name}")
}

/// `(region, name)` of a vault ARN.
pub fn parse_vault_arn(arn: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    match parts.as_slice() {
        ["arn", _, "backup", region, _, "backup-vault", name]
            if !region.is_empty() && !name.is_empty() =>
        {
            Some(((*region).to_owned(), (*name).to_owned()))
        }
        _ => None,
    }
}

/// An EFS recovery point (AWS Backup's own ARN, named when the job starts).
pub fn efs_recovery_point_arn(region: &str, rp_id: &str) -> String {
    format!("arn:aws:backup:{region}:{ACCOUNT}:recovery-point:{rp_id}")
}

/// The recovery point a backup of `resource` makes, named as AWS names it: a Backup ARN for
/// EFS, an RDS snapshot ARN (`awsbackup:job-<job id>`) for databases.
pub fn backup_recovery_point_arn(resource: &Resource, job_id: &str, rp_id: &str) -> String {
    let region = &resource.region;
    let job = job_id.to_lowercase();
    match resource.kind {
        ResourceKind::Efs => efs_recovery_point_arn(region, rp_id),
        ResourceKind::Rds => format!("arn:aws:rds:{region}:{ACCOUNT}:snapshot:awsbackup:job-{job}"),
        ResourceKind::Aurora => {
            format!("arn:aws:rds:{region}:{ACCOUNT}:cluster-snapshot:awsbackup:job-{job}")
        }
    }
}

/// A database's continuous recovery point, the one a rule with `EnableContinuousBackup`
/// makes and then updates on every run ("The continuous backup plan creates one continuous
/// recovery point and updates that recovery point whenever the job runs",
/// https://docs.aws.amazon.com/aws-backup/latest/devguide/point-in-time-recovery.html), in
/// AWS's shape: `arn:aws:backup:<region>:<account>:recovery-point:continuous:db-<…>-<…>`.
pub fn continuous_recovery_point_arn(resource: &Resource, suffix: &str) -> String {
    let prefix = match resource.kind {
        ResourceKind::Aurora => "cluster",
        _ => "db",
    };
    let suffix: String = suffix
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<String>()
        .to_lowercase();
    format!(
        "arn:aws:backup:{}:{ACCOUNT}:recovery-point:continuous:{prefix}-{}-{suffix}",
        resource.region,
        resource.id.to_lowercase()
    )
}

/// Whether a recovery point ARN is a continuous one.
pub fn is_continuous(arn: &str) -> bool {
    arn.contains(":recovery-point:continuous:")
}

/// The recovery point a copy makes in `region` (`awsbackup:copyjob-<job id>` for databases).
pub fn copy_recovery_point_arn(
    kind: ResourceKind,
    region: &str,
    job_id: &str,
    rp_id: &str,
) -> String {
    let job = job_id.to_lowercase();
    match kind {
        ResourceKind::Efs => efs_recovery_point_arn(region, rp_id),
        ResourceKind::Rds => {
            format!("arn:aws:rds:{region}:{ACCOUNT}:snapshot:awsbackup:copyjob-{job}")
        }
        ResourceKind::Aurora => {
            format!("arn:aws:rds:{region}:{ACCOUNT}:cluster-snapshot:awsbackup:copyjob-{job}")
        }
    }
}

/// What a restore writes to or makes: the EFS file system it writes into (`file-system-id`),
/// or the DB instance (`DBInstanceIdentifier`) or cluster (`DBClusterIdentifier`) it creates.
pub fn restore_target_arn(
    kind: ResourceKind,
    region: &str,
    metadata: &BTreeMap<String, String>,
) -> Result<String, ApiError> {
    let id = restore_target_id(kind, metadata)?;
    Ok(match kind {
        ResourceKind::Efs => Resource::efs_arn(region, id),
        ResourceKind::Rds => format!("arn:aws:rds:{region}:{ACCOUNT}:db:{id}"),
        ResourceKind::Aurora => format!("arn:aws:rds:{region}:{ACCOUNT}:cluster:{id}"),
    })
}

/// The identifier of what a restore of a `kind` recovery point writes to or makes, from its
/// metadata, checked.
pub fn restore_target_id(
    kind: ResourceKind,
    metadata: &BTreeMap<String, String>,
) -> Result<&str, ApiError> {
    let key = match kind {
        ResourceKind::Efs => "file-system-id",
        ResourceKind::Rds => "DBInstanceIdentifier",
        ResourceKind::Aurora => "DBClusterIdentifier",
    };
    match metadata.get(key) {
        Some(id) if is_plain_id(id) => Ok(id),
        Some(id) => Err(ApiError::invalid_parameter(format!(
            "Metadata {key} {id:?} is not a valid identifier"
        ))),
        None => Err(ApiError::invalid_parameter(format!(
            "Metadata {key} is required to restore a {} recovery point",
            kind.as_str()
        ))),
    }
}

/// The backup plan and rule that started a job and made its recovery point: AWS Backup's
/// `RecoveryPointCreator`, which DescribeBackupJob, DescribeCopyJob, DescribeRecoveryPoint
/// and the list operations give as `CreatedBy`
/// (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_RecoveryPointCreator.html).
/// On-demand jobs have none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Creator {
    pub backup_plan_id: String,
    pub backup_plan_arn: String,
    pub backup_plan_version: String,
    pub backup_plan_name: String,
    pub backup_rule_id: String,
    pub backup_rule_name: String,
}

/// A job of any kind. The fields every kind has are here; the rest is in [`Detail`].
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub kind: JobKind,
    pub id: String,
    pub region: String,
    pub idempotency_token: Option<String>,
    pub state: JobState,
    pub status_message: Option<String>,
    pub created: f64,
    pub completed: Option<f64>,
    /// How long the job takes, start to end.
    pub seconds: f64,
    pub outcome: Outcome,
    pub iam_role_arn: Option<String>,
    /// The protected resource (for a restore: the one the recovery point is of).
    pub resource: Resource,
    /// Backup: the target vault; copy: the source vault; restore: the recovery point's.
    pub vault_name: String,
    pub vault_arn: String,
    /// Backup: the recovery point it makes; copy and restore: the one they read.
    pub recovery_point_arn: Option<String>,
    pub lifecycle: Option<Value>,
    pub size_bytes: Option<u64>,
    /// The plan that started it; `None` on demand.
    pub created_by: Option<Creator>,
    pub detail: Detail,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Detail {
    #[serde(rename_all = "camelCase")]
    Backup {
        recovery_point_tags: BTreeMap<String, String>,
        /// The id of the recovery point it makes (the EFS recovery point uuid).
        recovery_point_id: String,
        start_window_minutes: i64,
        backup_options: Option<Value>,
    },
    #[serde(rename_all = "camelCase")]
    Copy {
        destination_vault_arn: String,
        destination_recovery_point_arn: Option<String>,
        /// The id of the recovery point it makes.
        recovery_point_id: String,
        /// A plan's copy action: the backup job whose recovery point it copies.
        created_by_backup_job_id: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Restore {
        metadata: BTreeMap<String, String>,
        created_resource_arn: Option<String>,
        recovery_point_created: f64,
        /// EFS: the `aws-backup-restore_…` directory it wrote.
        restore_directory: Option<PathBuf>,
    },
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryPoint {
    pub arn: String,
    pub id: String,
    pub region: String,
    pub vault_name: String,
    pub vault_arn: String,
    pub resource: Resource,
    pub created: f64,
    pub completed: f64,
    pub size_bytes: u64,
    pub iam_role_arn: Option<String>,
    pub lifecycle: Option<Value>,
    pub tags: BTreeMap<String, String>,
    /// A copy: the vault it was copied from.
    pub source_vault_arn: Option<String>,
    pub created_by_job: String,
    /// The plan whose job made it (the job's [`Job::created_by`]).
    pub created_by: Option<Creator>,
    pub encryption_key_arn: String,
    pub last_restore_time: Option<f64>,
    /// EFS: the snapshot of the file system's tree.
    pub snapshot_dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_arns_are_recognised() {
        let efs = Resource::parse(
            "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123abcd",
        )
        .unwrap();
        assert_eq!(
            (efs.kind, efs.id.as_str()),
            (ResourceKind::Efs, "fs-0123abcd")
        );
        let db = Resource::parse("arn:aws:rds:us-east-1:123456789012:db:tenant-1").unwrap();
        assert_eq!((db.kind, db.id.as_str()), (ResourceKind::Rds, "tenant-1"));
        let cluster = Resource::parse("arn:aws:rds:eu-west-1:123456789012:cluster:c-1").unwrap();
        assert_eq!(
            (cluster.kind, cluster.region.as_str()),
            (ResourceKind::Aurora, "eu-west-1")
        );
    }

    #[test]
    fn other_arns_are_refused() {
        for arn in [
            "arn:aws:s3:::bucket",
            "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-1",
            "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-../../etc",
            "arn:aws:rds:us-east-1:123456789012:snapshot:s",
            "fs-123",
        ] {
            let e = Resource::parse(arn).unwrap_err();
            assert_eq!(e.code, "InvalidParameterValueException", "{arn}");
        }
    }

    #[test]
    fn recovery_point_arns_have_aws_shapes() {
        let db = Resource::parse("arn:aws:rds:us-east-1:123456789012:db:d").unwrap();
        assert_eq!(
            backup_recovery_point_arn(&db, "AB-12", "x"),
            "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-ab-12"
        );
        assert_eq!(
            copy_recovery_point_arn(ResourceKind::Aurora, "eu-west-1", "CD", "x"),
            "arn:aws:rds:eu-west-1:123456789012:cluster-snapshot:awsbackup:copyjob-cd"
        );
        assert_eq!(
            parse_vault_arn("arn:aws:backup:eu-west-1:123456789012:backup-vault:dr"),
            Some(("eu-west-1".into(), "dr".into()))
        );
        assert_eq!(
            parse_vault_arn("arn:aws:backup:eu-west-1:1:recovery-point:x"),
            None
        );
    }
}
