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
