//! Restore jobs, which bring a recovery point back as files or a database: start, describe
//! and list them, and what a restore's metadata asks for.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use super::jobs::{listed, start_job, JobFilter, NewJob};
use super::{parse_body, required, ApiResult};
use crate::backup::error::ApiError;
use crate::backup::files;
use crate::backup::model::{restore_target_arn, Detail, JobKind, RecoveryPoint, ResourceKind};
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
            check_point_in_time(rp, &metadata, ids::now())?;
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

/// RDS's longest backup retention, and so continuous backup's: "going back a maximum of 35
/// days" (https://docs.aws.amazon.com/aws-backup/latest/devguide/point-in-time-recovery.html).
const MAX_POINT_IN_TIME_DAYS: f64 = 35.0;

/// A point-in-time restore's metadata, as RDS's RestoreDBInstanceToPointInTime takes it
/// (`RestoreTime`, or `UseLatestRestorableTime` true; "You can restore to any point in time
/// before the time identified by the LatestRestorableTime property … up to the number of days
/// specified by the BackupRetentionPeriod property",
/// https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBInstanceToPointInTime.html).
/// A continuous recovery point needs exactly one of the two, and the time must lie in what
/// it can restore to: from its creation (or 35 days back) to now, the stand-in's latest
/// restorable time. A snapshot restores only as it was taken: either key is refused.
///
/// The moment's key is the engine's: `RestoreToTime` for an Aurora cluster (with
/// `DBClusterIdentifier`; the Aurora User Guide's "Restoring a DB cluster to a specified time
/// using AWS Backup", https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-pitr.html,
/// as RestoreDBClusterToPointInTime names it), `RestoreTime` for an RDS instance (the AWS
/// Backup guide's RDS restore metadata, https://docs.aws.amazon.com/aws-backup/latest/devguide/restoring-rds.html).
/// The other engine's key is refused, so a restore that sends the wrong one fails here as
/// it would in AWS instead of restoring the latest time.
pub fn point_in_time_key(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Aurora => "RestoreToTime",
        _ => "RestoreTime",
    }
}

fn check_point_in_time(
    rp: &RecoveryPoint,
    metadata: &BTreeMap<String, String>,
    now: f64,
) -> Result<(), ApiError> {
    let key = point_in_time_key(rp.resource.kind);
    let wrong = if key == "RestoreTime" {
        "RestoreToTime"
    } else {
        "RestoreTime"
    };
    if metadata.contains_key(wrong) {
        return Err(ApiError::invalid_parameter(format!(
            "{wrong} is not a restore option of a {} recovery point: give {key}.",
            rp.resource.kind.as_str()
        )));
    }
    let time = metadata.get(key).filter(|v| !v.is_empty());
    let latest = metadata
        .get("UseLatestRestorableTime")
        .map(|v| v.eq_ignore_ascii_case("true"));
    if !crate::backup::model::is_continuous(&rp.arn) {
        if time.is_some() || latest == Some(true) {
            return Err(ApiError::invalid_parameter(format!(
                "Recovery point {} is a snapshot: {key} and UseLatestRestorableTime \
                 apply to continuous recovery points only.",
                rp.arn
            )));
        }
        return Ok(());
    }
    let time = match (time, latest) {
        (Some(_), Some(true)) => {
            return Err(ApiError::invalid_parameter(format!(
                "{key} and UseLatestRestorableTime true cannot both be given."
            )))
        }
        (None, Some(true)) => return Ok(()),
        (None, _) => {
            return Err(ApiError::invalid_parameter(format!(
                "Restoring continuous recovery point {} needs {key} or \
                 UseLatestRestorableTime true.",
                rp.arn
            )))
        }
        (Some(t), _) => t,
    };
    let at = time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            ApiError::invalid_parameter(format!(
                "{key} {time:?} is not a time such as 2026-11-26T07:00:00Z."
            ))
        })?;
    let at = at.unix_timestamp() as f64;
    let earliest = rp.created.max(now - MAX_POINT_IN_TIME_DAYS * 86_400.0);
    // Whole seconds: the times AWS shows are to the second.
    if at < earliest.floor() || at > now {
        return Err(ApiError::invalid_parameter(format!(
            "{key} {time} is outside what recovery point {} can restore to: from {} to \
             {}.",
            rp.arn,
            crate::backup::events::iso_millis(earliest),
            crate::backup::events::iso_millis(now)
        )));
    }
    Ok(())
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
        // A point in time: the time asked, or now for the latest restorable time (the
        // stand-in's log is current); a snapshot restores as it was taken.
        let at = match metadata
            .get(point_in_time_key(rp.resource.kind))
            .filter(|v| !v.is_empty())
        {
            Some(t) => {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .ok()
                    .map(|t| t.unix_timestamp())
            }
            None if metadata
                .get("UseLatestRestorableTime")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")) =>
            {
                Some(ids::now().ceil() as i64)
            }
            None => None,
        };
        return Ok(Work::CreateDatabase {
            db,
            content: rp.snapshot_dir.clone(),
            at,
        });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::model::Resource;

    fn point(arn: &str, created: f64) -> RecoveryPoint {
        RecoveryPoint {
            arn: arn.into(),
            id: "rp".into(),
            region: "us-east-1".into(),
            vault_name: "v".into(),
            vault_arn: "arn:aws:backup:us-east-1:123456789012:backup-vault:v".into(),
            resource: Resource::parse("arn:aws:rds:us-east-1:123456789012:db:t").unwrap(),
            created,
            completed: created,
            size_bytes: 0,
            iam_role_arn: None,
            lifecycle: None,
            tags: BTreeMap::new(),
            source_vault_arn: None,
            created_by_job: "job".into(),
            created_by: None,
            encryption_key_arn: String::new(),
            last_restore_time: None,
            snapshot_dir: None,
        }
    }

    fn metadata(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const CONTINUOUS: &str =
        "arn:aws:backup:us-east-1:123456789012:recovery-point:continuous:db-t-1a2b3c4d";
    const SNAPSHOT: &str = "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-1";
    // 2026-11-26T07:00:00Z
    const SEVEN: f64 = 1_795_676_400.0;

    #[test]
    fn a_continuous_point_restores_to_a_second_of_its_window() {
        let rp = point(CONTINUOUS, SEVEN);
        let now = SEVEN + 3600.0;
        let at = |t: &str| metadata(&[("RestoreTime", t)]);
        assert!(check_point_in_time(&rp, &at("2026-11-26T07:30:00Z"), now).is_ok());
        assert!(check_point_in_time(&rp, &at("2026-11-26T07:00:00Z"), now).is_ok());
        assert!(
            check_point_in_time(&rp, &metadata(&[("UseLatestRestorableTime", "true")]), now)
                .is_ok()
        );
        for refused in [
            at("2026-11-26T06:59:59Z"), // before the point was made
            at("2026-11-26T08:00:01Z"), // after now
            at("yesterday"),            // not a time
            metadata(&[]),              // no moment at all
            metadata(&[("UseLatestRestorableTime", "false")]),
            metadata(&[
                ("RestoreTime", "2026-11-26T07:30:00Z"),
                ("UseLatestRestorableTime", "true"),
            ]),
        ] {
            let e = check_point_in_time(&rp, &refused, now).unwrap_err();
            assert_eq!(e.code, "InvalidParameterValueException", "{refused:?}");
        }
        // More than 35 days back is gone, however old the point.
        let old = point(CONTINUOUS, SEVEN - 40.0 * 86_400.0);
        assert!(check_point_in_time(&old, &at("2026-10-20T07:00:00Z"), SEVEN).is_err());
        assert!(check_point_in_time(&old, &at("2026-11-01T07:00:00Z"), SEVEN).is_ok());
    }

    #[test]
    fn each_engine_takes_its_own_point_in_time_key_and_refuses_the_other() {
        let now = SEVEN + 3600.0;
        let instance = point(CONTINUOUS, SEVEN);
        let mut cluster = point(CONTINUOUS, SEVEN);
        cluster.resource = Resource::parse("arn:aws:rds:us-east-1:123456789012:cluster:t").unwrap();
        let at = |key: &str| metadata(&[(key, "2026-11-26T07:30:00Z")]);
        assert!(check_point_in_time(&instance, &at("RestoreTime"), now).is_ok());
        assert!(check_point_in_time(&cluster, &at("RestoreToTime"), now).is_ok());
        for (rp, wrong) in [(&instance, "RestoreToTime"), (&cluster, "RestoreTime")] {
            let e = check_point_in_time(rp, &at(wrong), now).unwrap_err();
            assert_eq!(e.code, "InvalidParameterValueException", "{wrong}");
        }
        // A time outside the window is refused up front for either engine.
        let early = |key: &str| metadata(&[(key, "2026-11-26T06:00:00Z")]);
        assert!(check_point_in_time(&cluster, &early("RestoreToTime"), now).is_err());
    }

    #[test]
    fn a_snapshot_refuses_a_moment() {
        let rp = point(SNAPSHOT, SEVEN);
        assert!(check_point_in_time(&rp, &metadata(&[]), SEVEN).is_ok());
        let e = check_point_in_time(
            &rp,
            &metadata(&[("RestoreTime", "2026-11-26T07:00:00Z")]),
            SEVEN,
        )
        .unwrap_err();
        assert_eq!(e.code, "InvalidParameterValueException");
    }
}
