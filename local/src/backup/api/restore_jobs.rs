//! Restore jobs, which bring a recovery point back as files or a database: start, describe
//! and list them, and what a restore's metadata asks for.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use super::jobs::{listed, start_job, JobFilter, NewJob};
use super::{parse_body, required, ApiResult};
use crate::backup::error::ApiError;
use crate::backup::files;
use crate::backup::model::{restore_target_arn, Detail, JobKind, RecoveryPoint};
use crate::backup::query::Query;
use crate::backup::rds::NewDatabase;
use crate::backup::runner::Work;
use crate::backup::store::Store;
use crate::backup::views::{self, Obj};
use crate::ids;

const MAX_ITEMS_TO_RESTORE: usize = 5;

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
                created_by: None,
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
