//! Backup jobs, which make the recovery points: start, describe, stop and list them.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::jobs::{check_lifecycle, listed, start_job, JobFilter, NewJob};
use super::{parse_body, required, ApiResult};
use crate::backup::error::ApiError;
use crate::backup::model::{
    continuous_recovery_point_arn, efs_recovery_point_arn, is_continuous, Creator, Detail, Job,
    JobKind, JobState, Resource, ResourceKind,
};
use crate::backup::query::Query;
use crate::backup::runner::{self, Work};
use crate::backup::store::Store;
use crate::backup::views::{self, Obj};
use crate::ids;

/// AWS Backup's default start window: 8 hours.
const DEFAULT_START_WINDOW_MINUTES: i64 = 8 * 60;
/// AWS refuses a start window shorter than this.
const MIN_START_WINDOW_MINUTES: i64 = 60;

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StartBackupJobInput {
    backup_vault_name: Option<String>,
    resource_arn: Option<String>,
    iam_role_arn: Option<String>,
    idempotency_token: Option<String>,
    start_window_minutes: Option<i64>,
    lifecycle: Option<Value>,
    recovery_point_tags: Option<BTreeMap<String, String>>,
    backup_options: Option<Value>,
}

pub fn start_backup_job(store: &Arc<Store>, region: &str, body: &[u8]) -> ApiResult {
    let input: StartBackupJobInput = parse_body(body)?;
    let vault_name = required(input.backup_vault_name, "BackupVaultName")?;
    let resource_arn = required(input.resource_arn, "ResourceArn")?;
    let iam_role_arn = required(input.iam_role_arn, "IamRoleArn")?;
    let resource = Resource::parse(&resource_arn)?;
    let job = start_backup(
        store,
        region,
        BackupRequest {
            vault_name,
            resource,
            iam_role_arn,
            idempotency_token: input.idempotency_token,
            start_window_minutes: input.start_window_minutes,
            lifecycle: input.lifecycle,
            recovery_point_tags: input.recovery_point_tags.unwrap_or_default(),
            backup_options: input.backup_options,
            created_by: None,
            continuous: false,
        },
    )?;
    Ok(Obj::new()
        .set("BackupJobId", job.id.as_str())
        .set("CreationDate", job.created)
        .opt("RecoveryPointArn", job.recovery_point_arn.as_deref())
        .set("IsParent", false)
        .build())
}

/// A backup job to start, on demand (StartBackupJob) or by a plan's rule.
pub struct BackupRequest {
    pub vault_name: String,
    pub resource: Resource,
    pub iam_role_arn: String,
    pub idempotency_token: Option<String>,
    pub start_window_minutes: Option<i64>,
    pub lifecycle: Option<Value>,
    pub recovery_point_tags: BTreeMap<String, String>,
    pub backup_options: Option<Value>,
    /// The plan and rule starting it.
    pub created_by: Option<Creator>,
    /// A rule with `EnableContinuousBackup`: a database's job updates its one continuous
    /// recovery point in the vault (made by the first such job) instead of taking a
    /// snapshot.
    pub continuous: bool,
}

/// Starts a backup job, checked as StartBackupJob checks its input.
pub fn start_backup(
    store: &Arc<Store>,
    region: &str,
    request: BackupRequest,
) -> Result<Job, ApiError> {
    let BackupRequest {
        vault_name,
        resource,
        iam_role_arn,
        idempotency_token,
        start_window_minutes,
        lifecycle,
        recovery_point_tags,
        backup_options,
        created_by,
        continuous,
    } = request;
    same_region(&resource, region)?;
    check_lifecycle(lifecycle.as_ref())?;
    let start_window_minutes = start_window_minutes.unwrap_or(DEFAULT_START_WINDOW_MINUTES);
    if start_window_minutes < MIN_START_WINDOW_MINUTES {
        return Err(ApiError::invalid_parameter(format!(
            "StartWindowMinutes must be at least {MIN_START_WINDOW_MINUTES}."
        )));
    }
    start_job(store, JobKind::Backup, region, idempotency_token, |s| {
        let vault = s.vault(region, &vault_name)?;
        let rp_id = ids::upper_uuid();
        let (work, recovery_point_arn) = match resource.kind {
            // AWS names an EFS recovery point at once; a database snapshot once it exists.
            ResourceKind::Efs => (
                Work::Snapshot {
                    fs_id: resource.id.clone(),
                    fs_dir: store.settings.file_system_dir(&resource.id),
                    dst: store.settings.recovery_point_dir(&rp_id),
                },
                Some(efs_recovery_point_arn(region, &rp_id)),
            ),
            ResourceKind::Rds | ResourceKind::Aurora if continuous => {
                let existing = s
                    .recovery_points
                    .values()
                    .find(|rp| {
                        rp.vault_arn == vault.arn
                            && rp.resource.arn == resource.arn
                            && is_continuous(&rp.arn)
                    })
                    .map(|rp| rp.arn.clone());
                // Every run adds its copy to the continuous recovery point's one directory.
                let dir = match &existing {
                    Some(arn) => s.recovery_points[arn]
                        .snapshot_dir
                        .clone()
                        .unwrap_or_else(|| store.settings.recovery_point_dir(&rp_id)),
                    None => store.settings.recovery_point_dir(&rp_id),
                };
                let arn = existing
                    .unwrap_or_else(|| continuous_recovery_point_arn(&resource, &ids::uuid()));
                (dump(&resource, dir), Some(arn))
            }
            ResourceKind::Rds | ResourceKind::Aurora => (
                dump(&resource, store.settings.recovery_point_dir(&rp_id)),
                None,
            ),
        };
        Ok(NewJob {
            resource: resource.clone(),
            vault_name: vault.name.clone(),
            vault_arn: vault.arn.clone(),
            iam_role_arn: Some(iam_role_arn),
            recovery_point_arn,
            lifecycle,
            size_bytes: None,
            created_by,
            detail: Detail::Backup {
                recovery_point_tags,
                recovery_point_id: rp_id,
                start_window_minutes,
                backup_options,
            },
            work,
        })
    })
}

pub fn describe_backup_job(store: &Store, region: &str, id: &str) -> ApiResult {
    let now = ids::now();
    store.with(|s| Ok(views::backup_job(s.job(JobKind::Backup, region, id)?, now)))
}

pub fn stop_backup_job(store: &Arc<Store>, region: &str, id: &str) -> ApiResult {
    let seconds = store.with(|s| {
        let job = s
            .jobs
            .get_mut(id)
            .filter(|j| j.kind == JobKind::Backup && j.region == region)
            .ok_or_else(|| ApiError::not_found(format!("Cannot find backup job with ID {id}.")))?;
        // StopBackupJob is not supported for Amazon RDS and Amazon Aurora.
        if job.resource.kind != ResourceKind::Efs {
            return Err(ApiError::invalid_request(format!(
                "StopBackupJob is not supported for resource type {}.",
                job.resource.kind.as_str()
            )));
        }
        if !matches!(job.state, JobState::Created | JobState::Running) {
            return Err(ApiError::invalid_request(format!(
                "Backup job {id} is {} and cannot be stopped.",
                job.state.as_str()
            )));
        }
        job.state = JobState::Aborting;
        Ok(job.seconds)
    })?;
    runner::spawn_abort(store.clone(), id.to_owned(), seconds);
    Ok(Value::Null)
}

pub fn list_backup_jobs(store: &Store, region: &str, q: &Query) -> ApiResult {
    let filter = JobFilter::parse(JobKind::Backup, q)?;
    let resource_arn = q.get("resourceArn");
    let vault = q.get("backupVaultName");
    let now = ids::now();
    let items = store.with(|s| {
        listed(
            s.jobs.values().filter(|j| {
                filter.keeps(j, region)
                    && resource_arn.is_none_or(|a| j.resource.arn == a)
                    && vault.is_none_or(|v| j.vault_name == v)
            }),
            |j| views::backup_job(j, now),
        )
    });
    let (page, next) = q.page(items)?;
    Ok(Obj::new()
        .set("BackupJobs", page)
        .opt("NextToken", next)
        .build())
}

/// AWS Backup works on resources of its own region only.
fn same_region(resource: &Resource, region: &str) -> Result<(), ApiError> {
    if resource.region == region {
        return Ok(());
    }
    Err(ApiError::invalid_parameter(format!(
        "Resource {} is in {}, not in this region ({region}).",
        resource.arn, resource.region
    )))
}

/// A database backup's work: a copy of the schema behind the resource (its identifier in its
/// region, [`crate::backup::database::schema`]).
fn dump(resource: &crate::backup::model::Resource, dir: std::path::PathBuf) -> Work {
    Work::Dump {
        schema: crate::backup::database::schema(&resource.region, &resource.id),
        dir,
    }
}
