//! The operations: each checks its input as AWS Backup does, changes the state under the
//! lock, and starts a job's runner once the lock is released.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::error::ApiError;
use super::files;
use super::model::{
    efs_recovery_point_arn, parse_vault_arn, restore_target_arn, vault_arn, Detail, Job, JobKind,
    JobState, RecoveryPoint, Resource, ResourceKind, Vault, ACCOUNT,
};
use super::query::Query;
use super::rds::NewDatabase;
use super::runner::{self, Work};
use super::store::{State, Store};
use super::views::{self, Obj};
use crate::ids;

pub type ApiResult = Result<Value, ApiError>;

/// AWS Backup's default start window: 8 hours.
const DEFAULT_START_WINDOW_MINUTES: i64 = 8 * 60;
/// AWS refuses a start window shorter than this.
const MIN_START_WINDOW_MINUTES: i64 = 60;
/// A recovery point in cold storage must stay there this long before deletion.
const MIN_COLD_DAYS: i64 = 90;
const MAX_ITEMS_TO_RESTORE: usize = 5;

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

/// `DeleteAfterDays` must leave at least 90 days after the move to cold storage.
fn check_lifecycle(lifecycle: Option<&Value>) -> Result<(), ApiError> {
    let Some(lifecycle) = lifecycle else {
        return Ok(());
    };
    let days = |member: &str| lifecycle.get(member).and_then(Value::as_i64);
    if let (Some(cold), Some(delete)) =
        (days("MoveToColdStorageAfterDays"), days("DeleteAfterDays"))
    {
        if delete < cold + MIN_COLD_DAYS {
            return Err(ApiError::invalid_parameter(format!(
                "Invalid lifecycle. DeleteAfterDays ({delete}) must be at least \
                 {MIN_COLD_DAYS} days after MoveToColdStorageAfterDays ({cold})."
            )));
        }
    }
    Ok(())
}

/// What an operation decides about the job it starts; [`start_job`] adds the rest.
struct NewJob {
    resource: Resource,
    vault_name: String,
    vault_arn: String,
    iam_role_arn: Option<String>,
    recovery_point_arn: Option<String>,
    lifecycle: Option<Value>,
    size_bytes: Option<u64>,
    detail: Detail,
    work: Work,
}

/// Starts the job `build` describes and its runner, or returns the job `token` already
/// started (an idempotent retry starts nothing).
fn start_job(
    store: &Arc<Store>,
    kind: JobKind,
    region: &str,
    token: Option<String>,
    build: impl FnOnce(&State) -> Result<NewJob, ApiError>,
) -> Result<Job, ApiError> {
    let started = store.with(|s| {
        if let Some(job) = s.replay(kind, token.as_deref()) {
            return Ok((job.clone(), None));
        }
        let new = build(s)?;
        let job = Job {
            kind,
            id: ids::upper_uuid(),
            region: region.to_owned(),
            idempotency_token: token.clone(),
            state: match kind {
                JobKind::Restore => JobState::Pending,
                JobKind::Backup | JobKind::Copy => JobState::Created,
            },
            status_message: None,
            created: ids::now(),
            completed: None,
            seconds: store.job_seconds(s, kind),
            outcome: s.plan_outcome(kind, &new.resource.arn),
            iam_role_arn: new.iam_role_arn,
            resource: new.resource,
            vault_name: new.vault_name,
            vault_arn: new.vault_arn,
            recovery_point_arn: new.recovery_point_arn,
            lifecycle: new.lifecycle,
            size_bytes: new.size_bytes,
            detail: new.detail,
        };
        s.insert_job(job.clone());
        Ok::<_, ApiError>((job, Some(new.work)))
    })?;
    let (job, work) = started;
    if let Some(work) = work {
        runner::spawn(store.clone(), &job, work);
    }
    Ok(job)
}

// ---- vaults -------------------------------------------------------------------------------

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateBackupVaultInput {
    backup_vault_tags: Option<BTreeMap<String, String>>,
    creator_request_id: Option<String>,
    encryption_key_arn: Option<String>,
}

pub fn create_backup_vault(store: &Store, region: &str, name: &str, body: &[u8]) -> ApiResult {
    let valid_name = (2..=50).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_name {
        return Err(ApiError::invalid_parameter(format!(
            "Backup vault name {name:?} must be 2 to 50 letters, digits, hyphens or underscores."
        )));
    }
    let input: CreateBackupVaultInput = parse_body(body)?;
    let arn = vault_arn(region, name);
    let vault = Vault {
        name: name.to_owned(),
        arn: arn.clone(),
        region: region.to_owned(),
        created: ids::now(),
        creator_request_id: input.creator_request_id,
        encryption_key_arn: input
            .encryption_key_arn
            .unwrap_or_else(|| format!("arn:aws:kms:{region}:{ACCOUNT}:key/{}", ids::uuid())),
        tags: input.backup_vault_tags.unwrap_or_default(),
    };
    store.with(|s| {
        if s.vaults.contains_key(&arn) {
            return Err(ApiError::already_exists(format!(
                "Backup vault {name} already exists."
            )));
        }
        let out = Obj::new()
            .set("BackupVaultName", name)
            .set("BackupVaultArn", arn.as_str())
            .set("CreationDate", vault.created)
            .build();
        s.vaults.insert(arn.clone(), vault);
        Ok(out)
    })
}

pub fn describe_backup_vault(store: &Store, region: &str, name: &str) -> ApiResult {
    store.with(|s| {
        let vault = s.vault(region, name)?;
        let count = s
            .recovery_points
            .values()
            .filter(|rp| rp.vault_arn == vault.arn)
            .count();
        Ok(views::vault(vault, count))
    })
}

// ---- backup jobs --------------------------------------------------------------------------

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
    same_region(&resource, region)?;
    check_lifecycle(input.lifecycle.as_ref())?;
    let start_window_minutes = input
        .start_window_minutes
        .unwrap_or(DEFAULT_START_WINDOW_MINUTES);
    if start_window_minutes < MIN_START_WINDOW_MINUTES {
        return Err(ApiError::invalid_parameter(format!(
            "StartWindowMinutes must be at least {MIN_START_WINDOW_MINUTES}."
        )));
    }
    let job = start_job(
        store,
        JobKind::Backup,
        region,
        input.idempotency_token,
        |s| {
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
                ResourceKind::Rds | ResourceKind::Aurora => (Work::None, None),
            };
            Ok(NewJob {
                resource: resource.clone(),
                vault_name: vault.name.clone(),
                vault_arn: vault.arn.clone(),
                iam_role_arn: Some(iam_role_arn),
                recovery_point_arn,
                lifecycle: input.lifecycle,
                size_bytes: None,
                detail: Detail::Backup {
                    recovery_point_tags: input.recovery_point_tags.unwrap_or_default(),
                    recovery_point_id: rp_id,
                    start_window_minutes,
                    backup_options: input.backup_options,
                },
                work,
            })
        },
    )?;
    Ok(Obj::new()
        .set("BackupJobId", job.id.as_str())
        .set("CreationDate", job.created)
        .opt("RecoveryPointArn", job.recovery_point_arn.as_deref())
        .set("IsParent", false)
        .build())
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

/// Newest first, keyed by id for pagination.
fn listed<'a>(
    jobs: impl Iterator<Item = &'a Job>,
    view: impl Fn(&Job) -> Value,
) -> Vec<(String, Value)> {
    let mut jobs: Vec<&Job> = jobs.collect();
    jobs.sort_by(|a, b| {
        b.created
            .total_cmp(&a.created)
            .then_with(|| a.id.cmp(&b.id))
    });
    jobs.into_iter().map(|j| (j.id.clone(), view(j))).collect()
}

/// The filters every job list has.
struct JobFilter {
    kind: JobKind,
    state: Option<JobState>,
    after: Option<f64>,
    before: Option<f64>,
    resource_type: Option<String>,
}

impl JobFilter {
    fn parse(kind: JobKind, q: &Query) -> Result<Self, ApiError> {
        let state_param = match kind {
            JobKind::Restore => "status",
            JobKind::Backup | JobKind::Copy => "state",
        };
        let state = q
            .get(state_param)
            .map(|v| {
                kind.parse_state(v).ok_or_else(|| {
                    ApiError::invalid_parameter(format!(
                        "{v:?} is not a {} job state",
                        kind.as_str()
                    ))
                })
            })
            .transpose()?;
        Ok(JobFilter {
            kind,
            state,
            after: q.time("createdAfter")?,
            before: q.time("createdBefore")?,
            resource_type: q.get("resourceType").map(str::to_owned),
        })
    }

    fn keeps(&self, job: &Job, region: &str) -> bool {
        job.kind == self.kind
            && job.region == region
            && self.state.is_none_or(|s| job.state == s)
            && self.after.is_none_or(|t| job.created > t)
            && self.before.is_none_or(|t| job.created < t)
            && self
                .resource_type
                .as_deref()
                .is_none_or(|t| job.resource.kind.as_str() == t)
    }
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

// ---- copy jobs ----------------------------------------------------------------------------

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StartCopyJobInput {
    recovery_point_arn: Option<String>,
    source_backup_vault_name: Option<String>,
    destination_backup_vault_arn: Option<String>,
    iam_role_arn: Option<String>,
    idempotency_token: Option<String>,
    lifecycle: Option<Value>,
}

pub fn start_copy_job(store: &Arc<Store>, region: &str, body: &[u8]) -> ApiResult {
    let input: StartCopyJobInput = parse_body(body)?;
    let rp_arn = required(input.recovery_point_arn, "RecoveryPointArn")?;
    let source_vault = required(input.source_backup_vault_name, "SourceBackupVaultName")?;
    let destination = required(
        input.destination_backup_vault_arn,
        "DestinationBackupVaultArn",
    )?;
    let iam_role_arn = required(input.iam_role_arn, "IamRoleArn")?;
    check_lifecycle(input.lifecycle.as_ref())?;
    let (dest_region, dest_name) = parse_vault_arn(&destination).ok_or_else(|| {
        ApiError::invalid_parameter(format!(
            "DestinationBackupVaultArn {destination:?} is not a backup vault ARN."
        ))
    })?;
    let job = start_job(store, JobKind::Copy, region, input.idempotency_token, |s| {
        let vault = s.vault(region, &source_vault)?;
        let rp = s.recovery_point_in(&vault.arn, &rp_arn)?;
        let destination_vault_arn = s.vault(&dest_region, &dest_name)?.arn.clone();
        let rp_id = ids::upper_uuid();
        let work = match &rp.snapshot_dir {
            Some(src) => Work::CopySnapshot {
                src: src.clone(),
                dst: store.settings.recovery_point_dir(&rp_id),
            },
            None => Work::None,
        };
        Ok(NewJob {
            resource: rp.resource.clone(),
            vault_name: vault.name.clone(),
            vault_arn: vault.arn.clone(),
            iam_role_arn: Some(iam_role_arn),
            recovery_point_arn: Some(rp.arn.clone()),
            lifecycle: input.lifecycle,
            size_bytes: Some(rp.size_bytes),
            detail: Detail::Copy {
                destination_vault_arn,
                destination_recovery_point_arn: None,
                recovery_point_id: rp_id,
            },
            work,
        })
    })?;
    Ok(Obj::new()
        .set("CopyJobId", job.id.as_str())
        .set("CreationDate", job.created)
        .set("IsParent", false)
        .build())
}

pub fn describe_copy_job(store: &Store, region: &str, id: &str) -> ApiResult {
    store.with(|s| {
        Ok(Obj::new()
            .set(
                "CopyJob",
                views::copy_job(s.job(JobKind::Copy, region, id)?),
            )
            .build())
    })
}

fn destination_of(job: &Job) -> &str {
    match &job.detail {
        Detail::Copy {
            destination_vault_arn,
            ..
        } => destination_vault_arn,
        _ => "",
    }
}

pub fn list_copy_jobs(store: &Store, region: &str, q: &Query) -> ApiResult {
    let filter = JobFilter::parse(JobKind::Copy, q)?;
    let resource_arn = q.get("resourceArn");
    let source_rp = q.get("sourceRecoveryPointArn");
    let destination = q.get("destinationVaultArn");
    let items = store.with(|s| {
        listed(
            s.jobs.values().filter(|j| {
                let copied = j.recovery_point_arn.as_deref();
                // By resource: the protected resource, as AWS filters; the source recovery
                // point is accepted too, as callers holding only the recovery point ask.
                filter.keeps(j, region)
                    && resource_arn.is_none_or(|a| j.resource.arn == a || copied == Some(a))
                    && source_rp.is_none_or(|a| copied == Some(a))
                    && destination.is_none_or(|d| destination_of(j) == d)
            }),
            views::copy_job,
        )
    });
    let (page, next) = q.page(items)?;
    Ok(Obj::new()
        .set("CopyJobs", page)
        .opt("NextToken", next)
        .build())
}

// ---- restore jobs -------------------------------------------------------------------------

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StartRestoreJobInput {
    recovery_point_arn: Option<String>,
    metadata: Option<BTreeMap<String, String>>,
    iam_role_arn: Option<String>,
    idempotency_token: Option<String>,
    resource_type: Option<String>,
}

pub fn start_restore_job(store: &Arc<Store>, region: &str, body: &[u8]) -> ApiResult {
    let input: StartRestoreJobInput = parse_body(body)?;
    let rp_arn = required(input.recovery_point_arn, "RecoveryPointArn")?;
    let metadata = input
        .metadata
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ApiError::missing("Metadata"))?;
    let job = start_job(
        store,
        JobKind::Restore,
        region,
        input.idempotency_token,
        |s| {
            let rp = s
                .recovery_point(&rp_arn)
                .ok()
                .filter(|rp| rp.region == region)
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "Recovery point {rp_arn} was not found in {region}."
                    ))
                })?;
            if let Some(t) = input.resource_type.as_deref() {
                if t != rp.resource.kind.as_str() {
                    return Err(ApiError::invalid_parameter(format!(
                        "ResourceType {t} does not match the recovery point's ({}).",
                        rp.resource.kind.as_str()
                    )));
                }
            }
            restore_target_arn(rp.resource.kind, region, &metadata)?;
            Ok(NewJob {
                work: restore_work(store, rp, &metadata)?,
                resource: rp.resource.clone(),
                vault_name: rp.vault_name.clone(),
                vault_arn: rp.vault_arn.clone(),
                iam_role_arn: input.iam_role_arn,
                recovery_point_arn: Some(rp.arn.clone()),
                lifecycle: None,
                size_bytes: Some(rp.size_bytes),
                detail: Detail::Restore {
                    metadata: metadata.clone(),
                    created_resource_arn: None,
                    recovery_point_created: rp.created,
                    restore_directory: None,
                },
            })
        },
    )?;
    Ok(Obj::new().set("RestoreJobId", job.id.as_str()).build())
}

/// What a restore does, from its metadata. A database restore creates the DB instance or
/// cluster the metadata names. An EFS restore writes files: `file-system-id`, `newFileSystem`
/// ("false": into that existing file system), `ItemsToRestore` (a JSON array of at most 5
/// absolute paths; the whole recovery point when absent), `Encrypted`, `PerformanceMode`.
fn restore_work(
    store: &Store,
    rp: &RecoveryPoint,
    metadata: &BTreeMap<String, String>,
) -> Result<Work, ApiError> {
    if let Some(db) = NewDatabase::for_restore(rp.resource.kind, &rp.region, metadata)? {
        return Ok(Work::CreateDatabase(db));
    }
    let choice = |key: &str, allowed: &[&str]| match metadata.get(key) {
        Some(v) if !allowed.contains(&v.as_str()) => Err(ApiError::invalid_parameter(format!(
            "Metadata {key} must be one of {allowed:?}, not {v:?}."
        ))),
        _ => Ok(()),
    };
    choice("Encrypted", &["true", "false"])?;
    choice("PerformanceMode", &["generalPurpose", "maxIO"])?;
    match metadata.get("newFileSystem").map(String::as_str) {
        Some("false") => {}
        Some("true") => {
            return Err(ApiError::invalid_parameter(
                "Metadata newFileSystem=true (a restore to a new EFS file system) is not \
                 supported by the local stand-in; restore to the existing file system with \
                 newFileSystem=false.",
            ))
        }
        other => {
            return Err(ApiError::invalid_parameter(format!(
                "Metadata newFileSystem must be \"true\" or \"false\", not {other:?}."
            )))
        }
    }
    let fs_id = metadata.get("file-system-id").cloned().unwrap_or_default();
    let items = match metadata.get("ItemsToRestore") {
        None => Vec::new(),
        Some(json) => items_to_restore(json)?,
    };
    Ok(Work::Restore {
        snapshot: rp.snapshot_dir.clone().unwrap_or_default(),
        fs_dir: store.settings.file_system_dir(&fs_id),
        fs_id,
        items,
    })
}

fn items_to_restore(json: &str) -> Result<Vec<String>, ApiError> {
    let items: Vec<String> = serde_json::from_str(json).map_err(|_| {
        ApiError::invalid_parameter(format!(
            "Metadata ItemsToRestore must be a JSON array of paths such as [\"/tenant-1\"], \
             not {json:?}."
        ))
    })?;
    if items.len() > MAX_ITEMS_TO_RESTORE {
        return Err(ApiError::invalid_parameter(format!(
            "Metadata ItemsToRestore lists {} items; at most {MAX_ITEMS_TO_RESTORE} are allowed.",
            items.len()
        )));
    }
    if let Some(bad) = items.iter().find(|i| !files::valid_item(i)) {
        return Err(ApiError::invalid_parameter(format!(
            "ItemsToRestore path {bad:?} must be absolute (/…) with no . or .. components."
        )));
    }
    Ok(items)
}

pub fn describe_restore_job(store: &Store, region: &str, id: &str) -> ApiResult {
    let now = ids::now();
    store.with(|s| {
        Ok(views::restore_job(
            s.job(JobKind::Restore, region, id)?,
            now,
        ))
    })
}

pub fn list_restore_jobs(store: &Store, region: &str, q: &Query) -> ApiResult {
    let filter = JobFilter::parse(JobKind::Restore, q)?;
    let now = ids::now();
    let items = store.with(|s| {
        listed(s.jobs.values().filter(|j| filter.keeps(j, region)), |j| {
            views::restore_job(j, now)
        })
    });
    let (page, next) = q.page(items)?;
    Ok(Obj::new()
        .set("RestoreJobs", page)
        .opt("NextToken", next)
        .build())
}

// ---- recovery points ----------------------------------------------------------------------

pub fn describe_recovery_point(store: &Store, region: &str, vault: &str, arn: &str) -> ApiResult {
    store.with(|s| {
        let vault_arn = s.vault(region, vault)?.arn.clone();
        Ok(views::recovery_point(s.recovery_point_in(&vault_arn, arn)?))
    })
}

pub fn list_recovery_points(store: &Store, region: &str, vault: &str, q: &Query) -> ApiResult {
    let resource_arn = q.get("resourceArn");
    let resource_type = q.get("resourceType");
    let (after, before) = (q.time("createdAfter")?, q.time("createdBefore")?);
    let items = store.with(|s| {
        let vault_arn = s.vault(region, vault)?.arn.clone();
        let mut rps: Vec<&RecoveryPoint> = s
            .recovery_points
            .values()
            .filter(|rp| {
                rp.vault_arn == vault_arn
                    && resource_arn.is_none_or(|a| rp.resource.arn == a)
                    && resource_type.is_none_or(|t| rp.resource.kind.as_str() == t)
                    && after.is_none_or(|t| rp.created > t)
                    && before.is_none_or(|t| rp.created < t)
            })
            .collect();
        rps.sort_by(|a, b| {
            b.created
                .total_cmp(&a.created)
                .then_with(|| a.arn.cmp(&b.arn))
        });
        Ok::<_, ApiError>(
            rps.into_iter()
                .map(|rp| (rp.arn.clone(), views::recovery_point(rp)))
                .collect(),
        )
    })?;
    let (page, next) = q.page(items)?;
    Ok(Obj::new()
        .set("RecoveryPoints", page)
        .opt("NextToken", next)
        .build())
}

pub fn restore_metadata(store: &Store, region: &str, vault: &str, arn: &str) -> ApiResult {
    store.with(|s| {
        let vault_arn = s.vault(region, vault)?.arn.clone();
        let rp = s.recovery_point_in(&vault_arn, arn)?;
        Ok(Obj::new()
            .set("BackupVaultArn", vault_arn.as_str())
            .set("RecoveryPointArn", rp.arn.as_str())
            .set("ResourceType", rp.resource.kind.as_str())
            .set("RestoreMetadata", restore_metadata_of(rp))
            .build())
    })
}

/// The resource's configuration at backup time, as AWS gives it (every value a string,
/// arrays as JSON text).
fn restore_metadata_of(rp: &RecoveryPoint) -> Value {
    let id = rp.resource.id.as_str();
    let region = rp.region.as_str();
    match rp.resource.kind {
        ResourceKind::Efs => Obj::new()
            .set("file-system-id", id)
            .set("Encrypted", "false")
            .set("PerformanceMode", "generalPurpose")
            .set("newFileSystem", "true")
            .set("CreationToken", rp.id.as_str()),
        ResourceKind::Rds => Obj::new()
            .set("DBInstanceIdentifier", id)
            .set("Engine", "mysql")
            .set("DBInstanceClass", "db.t3.micro")
            .set("Port", "3306")
            .set("MultiAZ", "false")
            .set("StorageType", "gp2")
            .set("AvailabilityZone", format!("{region}a")),
        ResourceKind::Aurora => Obj::new()
            .set("DBClusterIdentifier", id)
            .set("Engine", "aurora-mysql")
            .set("EngineMode", "provisioned")
            .set("Port", "3306")
            .set("AvailabilityZones", format!("[\"{region}a\"]")),
    }
    .build()
}

// ---- tags ---------------------------------------------------------------------------------

/// The tags of a recovery point or a vault.
fn tags_of<'a>(s: &'a mut State, arn: &str) -> Result<&'a mut BTreeMap<String, String>, ApiError> {
    if let Some(rp) = s.recovery_points.get_mut(arn) {
        return Ok(&mut rp.tags);
    }
    if let Some(vault) = s.vaults.get_mut(arn) {
        return Ok(&mut vault.tags);
    }
    Err(ApiError::not_found(format!(
        "Resource {arn} was not found."
    )))
}

pub fn list_tags(store: &Store, arn: &str) -> ApiResult {
    store.with(|s| {
        let tags = tags_of(s, arn)?;
        Ok(Obj::new()
            .set("Tags", serde_json::to_value(&*tags).unwrap_or_default())
            .build())
    })
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagResourceInput {
    tags: Option<BTreeMap<String, String>>,
}

pub fn tag_resource(store: &Store, arn: &str, body: &[u8]) -> ApiResult {
    let input: TagResourceInput = parse_body(body)?;
    let tags = input
        .tags
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::missing("Tags"))?;
    if let Some(reserved) = tags
        .keys()
        .find(|k| k.to_ascii_lowercase().starts_with("aws:"))
    {
        return Err(ApiError::invalid_parameter(format!(
            "Tag key {reserved:?} uses the reserved prefix aws:."
        )));
    }
    store.with(|s| {
        tags_of(s, arn)?.extend(tags);
        Ok(Value::Null)
    })
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UntagResourceInput {
    tag_key_list: Option<Vec<String>>,
}

pub fn untag_resource(store: &Store, arn: &str, body: &[u8]) -> ApiResult {
    let input: UntagResourceInput = parse_body(body)?;
    let keys = input
        .tag_key_list
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::missing("TagKeyList"))?;
    store.with(|s| {
        let tags = tags_of(s, arn)?;
        for key in keys {
            tags.remove(&key);
        }
        Ok(Value::Null)
    })
}
