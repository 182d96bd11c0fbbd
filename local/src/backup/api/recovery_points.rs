//! Recovery points, which a restore starts from: describe and list them, and give the
//! metadata a restore of each takes.

use serde_json::Value;

use super::ApiResult;
use crate::backup::error::ApiError;
use crate::backup::model::{RecoveryPoint, ResourceKind};
use crate::backup::query::Query;
use crate::backup::store::Store;
use crate::backup::views::{self, Obj};

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

/// `POST /_local/recovery-points` (admin): fills a vault with `count` completed recovery
/// points of one resource, as an hourly plan leaves them (tagged `bbws:backup-type:
/// automated`, one every `everySeconds`, the newest `newestSecondsAgo` ago), so a test can
/// count what a restore reads from a vault of realistic size. They hold no files: they are
/// listed and described, never restored.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fill {
    vault: String,
    resource_arn: String,
    count: u32,
    every_seconds: f64,
    newest_seconds_ago: f64,
}

/// The tag that marks a recovery point made by [`fill`], so [`unfill`] removes only those.
const FILLED: &str = "local:filled";

/// `DELETE /_local/recovery-points` (admin): removes every recovery point [`fill`] made.
pub fn unfill(store: &Store) -> Value {
    store.with(|s| {
        let before = s.recovery_points.len();
        s.recovery_points
            .retain(|_, rp| !rp.tags.contains_key(FILLED));
        Obj::new()
            .set("removed", (before - s.recovery_points.len()) as u64)
            .build()
    })
}

pub fn fill(store: &Store, body: &[u8]) -> ApiResult {
    let fill: Fill = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_parameter(format!("not a fill request: {e}")))?;
    let resource = crate::backup::model::Resource::parse(&fill.resource_arn)?;
    let now = crate::ids::now();
    store.with(|s| {
        let vault = s.vault(&resource.region, &fill.vault)?.clone();
        for i in 0..fill.count {
            let id = crate::ids::uuid();
            let job_id = crate::ids::uuid();
            let arn = crate::backup::model::backup_recovery_point_arn(&resource, &job_id, &id);
            let at = now - fill.newest_seconds_ago - f64::from(i) * fill.every_seconds;
            s.recovery_points.insert(
                arn.clone(),
                RecoveryPoint {
                    arn,
                    id,
                    region: resource.region.clone(),
                    vault_name: vault.name.clone(),
                    vault_arn: vault.arn.clone(),
                    resource: resource.clone(),
                    created: at,
                    completed: at + 60.0,
                    size_bytes: 0,
                    iam_role_arn: None,
                    lifecycle: None,
                    tags: [
                        ("bbws:backup-type".to_owned(), "automated".to_owned()),
                        (FILLED.to_owned(), "true".to_owned()),
                    ]
                    .into(),
                    source_vault_arn: None,
                    created_by_job: job_id,
                    created_by: None,
                    encryption_key_arn: vault.encryption_key_arn.clone(),
                    last_restore_time: None,
                    snapshot_dir: None,
                },
            );
        }
        Ok(Obj::new().set("filled", fill.count).build())
    })
}
