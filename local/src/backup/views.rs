//! The JSON AWS Backup answers with, member names as in `aws-sdk-backup`'s deserializers
//! (`protocol_serde/shape_*.rs`). Timestamps are epoch seconds.

use serde_json::{Map, Value};

use super::model::{Creator, Detail, Job, JobState, RecoveryPoint, Vault, ACCOUNT};

/// A JSON object that leaves out members with no value, as AWS does.
#[derive(Default)]
pub struct Obj(Map<String, Value>);

impl Obj {
    pub fn new() -> Self {
        Obj::default()
    }

    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    pub fn opt<V: Into<Value>>(self, key: &str, value: Option<V>) -> Self {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }

    pub fn build(self) -> Value {
        Value::Object(self.0)
    }
}

const DAY: f64 = 86_400.0;

/// How far along a job is, in percent: 100 once completed, the share of its duration gone
/// while it runs (at most 99), else 0.
pub fn percent(job: &Job, now: f64) -> f64 {
    match job.state {
        JobState::Completed => 100.0,
        JobState::Running | JobState::Aborting if job.seconds > 0.0 => {
            ((now - job.created) / job.seconds * 100.0).clamp(0.0, 99.0)
        }
        _ => 0.0,
    }
}

/// How far along a job is, as AWS writes it ("42.0").
fn percent_done(job: &Job, now: f64) -> String {
    format!("{:.1}", percent(job, now))
}

/// Who started a job or made a recovery point (`RecoveryPointCreator`).
fn creator(c: &Creator) -> Value {
    Obj::new()
        .set("BackupPlanId", c.backup_plan_id.as_str())
        .set("BackupPlanArn", c.backup_plan_arn.as_str())
        .set("BackupPlanVersion", c.backup_plan_version.as_str())
        .set("BackupPlanName", c.backup_plan_name.as_str())
        .set("BackupRuleId", c.backup_rule_id.as_str())
        .set("BackupRuleName", c.backup_rule_name.as_str())
        .build()
}

pub fn backup_job(job: &Job, now: f64) -> Value {
    let (start_by, options) = match &job.detail {
        Detail::Backup {
            start_window_minutes,
            backup_options,
            ..
        } => (
            Some(job.created + *start_window_minutes as f64 * 60.0),
            backup_options.clone(),
        ),
        _ => (None, None),
    };
    Obj::new()
        .set("AccountId", ACCOUNT)
        .set("BackupJobId", job.id.as_str())
        .set("BackupVaultName", job.vault_name.as_str())
        .set("BackupVaultArn", job.vault_arn.as_str())
        .opt("RecoveryPointArn", job.recovery_point_arn.as_deref())
        .set("ResourceArn", job.resource.arn.as_str())
        .set("ResourceType", job.resource.kind.as_str())
        .set("CreationDate", job.created)
        .set("InitiationDate", job.created)
        .opt("CompletionDate", job.completed)
        .set("State", job.state.as_str())
        .opt("StatusMessage", job.status_message.as_deref())
        .set("PercentDone", percent_done(job, now))
        .opt("BackupSizeInBytes", job.size_bytes)
        .opt("BytesTransferred", job.size_bytes)
        .opt("IamRoleArn", job.iam_role_arn.as_deref())
        .opt("StartBy", start_by)
        .opt("RecoveryPointLifecycle", job.lifecycle.clone())
        .opt("BackupOptions", options)
        .opt("CreatedBy", job.created_by.as_ref().map(creator))
        .set("IsParent", false)
        .set("IsEncrypted", true)
        .set("VaultType", "BACKUP_VAULT")
        .build()
}

pub fn copy_job(job: &Job) -> Value {
    let (destination_vault, destination_rp, by_backup_job) = match &job.detail {
        Detail::Copy {
            destination_vault_arn,
            destination_recovery_point_arn,
            created_by_backup_job_id,
            ..
        } => (
            Some(destination_vault_arn.as_str()),
            destination_recovery_point_arn.as_deref(),
            created_by_backup_job_id.as_deref(),
        ),
        _ => (None, None, None),
    };
    Obj::new()
        .set("AccountId", ACCOUNT)
        .set("CopyJobId", job.id.as_str())
        .set("SourceBackupVaultArn", job.vault_arn.as_str())
        .opt("SourceRecoveryPointArn", job.recovery_point_arn.as_deref())
        .opt("DestinationBackupVaultArn", destination_vault)
        .opt("DestinationRecoveryPointArn", destination_rp)
        .opt("DestinationRecoveryPointLifecycle", job.lifecycle.clone())
        .set("ResourceArn", job.resource.arn.as_str())
        .set("ResourceType", job.resource.kind.as_str())
        .set("CreationDate", job.created)
        .opt("CompletionDate", job.completed)
        .set("State", job.state.as_str())
        .opt("StatusMessage", job.status_message.as_deref())
        .opt("BackupSizeInBytes", job.size_bytes)
        .opt("IamRoleArn", job.iam_role_arn.as_deref())
        .opt("CreatedBy", job.created_by.as_ref().map(creator))
        .opt("CreatedByBackupJobId", by_backup_job)
        .set("IsParent", false)
        .set("DestinationVaultType", "BACKUP_VAULT")
        .build()
}

pub fn restore_job(job: &Job, now: f64) -> Value {
    let (created_resource, rp_created) = match &job.detail {
        Detail::Restore {
            created_resource_arn,
            recovery_point_created,
            ..
        } => (
            created_resource_arn.as_deref(),
            Some(*recovery_point_created),
        ),
        _ => (None, None),
    };
    Obj::new()
        .set("AccountId", ACCOUNT)
        .set("RestoreJobId", job.id.as_str())
        .opt("RecoveryPointArn", job.recovery_point_arn.as_deref())
        .opt("RecoveryPointCreationDate", rp_created)
        .set("BackupVaultArn", job.vault_arn.as_str())
        .set("SourceResourceArn", job.resource.arn.as_str())
        .set("ResourceType", job.resource.kind.as_str())
        .set("CreationDate", job.created)
        .opt("CompletionDate", job.completed)
        .set("Status", job.state.as_str())
        .opt("StatusMessage", job.status_message.as_deref())
        .set("PercentDone", percent_done(job, now))
        .opt("BackupSizeInBytes", job.size_bytes)
        .opt("IamRoleArn", job.iam_role_arn.as_deref())
        .set(
            "ExpectedCompletionTimeMinutes",
            (job.seconds / 60.0).ceil() as i64,
        )
        .opt("CreatedResourceArn", created_resource)
        .set("IsParent", false)
        .build()
}

/// A recovery point as DescribeRecoveryPoint and ListRecoveryPointsByBackupVault show it.
pub fn recovery_point(rp: &RecoveryPoint) -> Value {
    Obj::new()
        .set("RecoveryPointArn", rp.arn.as_str())
        .set("BackupVaultName", rp.vault_name.as_str())
        .set("BackupVaultArn", rp.vault_arn.as_str())
        .opt("SourceBackupVaultArn", rp.source_vault_arn.as_deref())
        .set("ResourceArn", rp.resource.arn.as_str())
        .set("ResourceType", rp.resource.kind.as_str())
        .opt("IamRoleArn", rp.iam_role_arn.as_deref())
        .set("Status", "COMPLETED")
        .set("CreationDate", rp.created)
        .set("InitiationDate", rp.created)
        .set("CompletionDate", rp.completed)
        .set("BackupSizeInBytes", rp.size_bytes)
        .opt("Lifecycle", rp.lifecycle.clone())
        .opt("CalculatedLifecycle", calculated_lifecycle(rp))
        .set("EncryptionKeyArn", rp.encryption_key_arn.as_str())
        .set("IsEncrypted", true)
        .set("StorageClass", "WARM")
        .opt("LastRestoreTime", rp.last_restore_time)
        .opt("CreatedBy", rp.created_by.as_ref().map(creator))
        .set("IsParent", false)
        .set("VaultType", "BACKUP_VAULT")
        .build()
}

/// When the lifecycle moves the recovery point to cold storage and deletes it.
fn calculated_lifecycle(rp: &RecoveryPoint) -> Option<Value> {
    let lifecycle = rp.lifecycle.as_ref()?;
    let at = |member: &str| {
        lifecycle
            .get(member)
            .and_then(Value::as_f64)
            .map(|days| rp.created + days * DAY)
    };
    let delete_at = at("DeleteAfterDays");
    let cold_at = at("MoveToColdStorageAfterDays");
    if delete_at.is_none() && cold_at.is_none() {
        return None;
    }
    Some(
        Obj::new()
            .opt("DeleteAt", delete_at)
            .opt("MoveToColdStorageAt", cold_at)
            .build(),
    )
}

pub fn vault(v: &Vault, recovery_points: usize) -> Value {
    Obj::new()
        .set("BackupVaultName", v.name.as_str())
        .set("BackupVaultArn", v.arn.as_str())
        .set("VaultType", "BACKUP_VAULT")
        .set("VaultState", "AVAILABLE")
        .set("EncryptionKeyArn", v.encryption_key_arn.as_str())
        .set("CreationDate", v.created)
        .opt("CreatorRequestId", v.creator_request_id.as_deref())
        .set("NumberOfRecoveryPoints", recovery_points)
        .set("Locked", false)
        .build()
}
