//! Copy jobs, which put a recovery point in another vault (another region's): start,
//! describe and list them.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::jobs::{check_lifecycle, listed, start_job, JobFilter, NewJob};
use super::{parse_body, required, ApiResult};
use crate::backup::error::ApiError;
use crate::backup::model::{parse_vault_arn, Creator, Detail, Job, JobKind};
use crate::backup::query::Query;
use crate::backup::runner::Work;
use crate::backup::store::Store;
use crate::backup::views::{self, Obj};
use crate::ids;

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
    let job = start_copy(
        store,
        region,
        CopyRequest {
            recovery_point_arn: required(input.recovery_point_arn, "RecoveryPointArn")?,
            source_vault_name: required(input.source_backup_vault_name, "SourceBackupVaultName")?,
            destination_vault_arn: required(
                input.destination_backup_vault_arn,
                "DestinationBackupVaultArn",
            )?,
            iam_role_arn: required(input.iam_role_arn, "IamRoleArn")?,
            idempotency_token: input.idempotency_token,
            lifecycle: input.lifecycle,
            created_by: None,
            created_by_backup_job_id: None,
        },
    )?;
    Ok(Obj::new()
        .set("CopyJobId", job.id.as_str())
        .set("CreationDate", job.created)
        .set("IsParent", false)
        .build())
}

/// A copy job to start, on demand (StartCopyJob) or by a plan rule's copy action.
pub struct CopyRequest {
    pub recovery_point_arn: String,
    pub source_vault_name: String,
    pub destination_vault_arn: String,
    pub iam_role_arn: String,
    pub idempotency_token: Option<String>,
    pub lifecycle: Option<Value>,
    /// The plan and rule whose copy action starts it, and the backup job it follows.
    pub created_by: Option<Creator>,
    pub created_by_backup_job_id: Option<String>,
}

/// Starts a copy job, checked as StartCopyJob checks its input.
pub fn start_copy(store: &Arc<Store>, region: &str, request: CopyRequest) -> Result<Job, ApiError> {
    let CopyRequest {
        recovery_point_arn: rp_arn,
        source_vault_name: source_vault,
        destination_vault_arn: destination,
        iam_role_arn,
        idempotency_token,
        lifecycle,
        created_by,
        created_by_backup_job_id,
    } = request;
    check_lifecycle(lifecycle.as_ref())?;
    let (dest_region, dest_name) = parse_vault_arn(&destination).ok_or_else(|| {
        ApiError::invalid_parameter(format!(
            "DestinationBackupVaultArn {destination:?} is not a backup vault ARN."
        ))
    })?;
    start_job(store, JobKind::Copy, region, idempotency_token, |s| {
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
            lifecycle,
            size_bytes: Some(rp.size_bytes),
            created_by,
            detail: Detail::Copy {
                destination_vault_arn,
                destination_recovery_point_arn: None,
                recovery_point_id: rp_id,
                created_by_backup_job_id,
            },
            work,
        })
    })
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
