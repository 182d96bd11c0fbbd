//! Copy jobs, which put a recovery point in another vault (another region's): start,
//! describe and list them.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::jobs::{check_lifecycle, listed, start_job, JobFilter, NewJob};
use super::{parse_body, required, ApiResult};
use crate::backup::error::ApiError;
use crate::backup::model::{parse_vault_arn, Detail, Job, JobKind};
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
