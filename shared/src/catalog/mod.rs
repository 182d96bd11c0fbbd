//! The tenant backup catalog: one DynamoDB table that says, per tenant, which restore points
//! exist, without reading a vault. Its items:
//!
//! * **a tenant backup** (`pk` `tenant#<id>`, `sk` `backup#<YYYYMMDDTHHMMSSZ>#<backup id>`):
//!   the kind (on-demand, fleet, hourly), the time the id carries, and the file-system and
//!   database recovery points (ARN, resource, creation time, size, status, expiry), plus the
//!   restores that used it. A tenant's backups sort by time: `bbws backups` is one query,
//!   newest first;
//! * **a recovery point's DR copy** (`pk` `point#<recovery point ARN>`, `sk` `point`): one
//!   item per point, not per tenant, because a shared file-system point belongs to every
//!   tenant on the file system and its copy changes state once for all of them. The DR
//!   region's replica of the table gives a regional-outage restore these ARNs;
//! * **a tenant's life on the file system** (`pk` `tenant#<id>`, `sk` `life#<access point
//!   id>`): onboarded at, offboarded at. Each is also in the sparse index `lives`, so the
//!   catalog function finds every tenant that was on the file system when a shared point
//!   was made.
//!
//! Every write is conditional (or an `ADD` to a set): a repeated event or a retried step
//! changes nothing.

mod ids;
pub mod items;
#[cfg(feature = "sdk-dynamodb")]
pub mod store;
#[cfg(feature = "sdk-dynamodb")]
mod values;

#[cfg(all(
    feature = "sdk-dynamodb",
    feature = "sdk-backup",
    feature = "sdk-tagging"
))]
pub mod events;
#[cfg(all(
    feature = "sdk-dynamodb",
    feature = "sdk-backup",
    feature = "sdk-efs",
    feature = "sdk-rds",
    feature = "sdk-tagging"
))]
pub mod rebuild;

pub use ids::{backup_time, hourly_backup_id, planned_at};
pub use items::{
    is_continuous, joined_tag_value, parse_joined_tag_value, BackupKind, Component, DrCopy, Life,
    Point, TenantBackup,
};
#[cfg(feature = "sdk-dynamodb")]
pub use store::Catalog;

/// A recovery point as AWS Backup describes it, as the catalog keeps it.
#[cfg(feature = "sdk-backup")]
pub async fn describe_point(
    backup: &aws_sdk_backup::Client,
    op: crate::error::Operation,
    vault: &str,
    arn: &str,
) -> Result<Point, crate::error::Error> {
    Ok(describe_point_and_plan(backup, op, vault, arn).await?.0)
}

/// A recovery point as the catalog keeps it, and the id of the backup plan that made it
/// (DescribeRecoveryPoint's `CreatedBy.BackupPlanId`; `None` for an on-demand point). The
/// plan is read here, not from the job's event: AWS's example COMPLETED "Backup Job State
/// Change" event carries no `createdBy`, only its RUNNING and EXPIRED ones do
/// (https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html).
#[cfg(feature = "sdk-backup")]
pub async fn describe_point_and_plan(
    backup: &aws_sdk_backup::Client,
    op: crate::error::Operation,
    vault: &str,
    arn: &str,
) -> Result<(Point, Option<String>), crate::error::Error> {
    let out = backup
        .describe_recovery_point()
        .backup_vault_name(vault)
        .recovery_point_arn(arn)
        .send()
        .await
        .map_err(|e| op.aws(&format!("describing recovery point {arn}"), e))?;
    let plan_id = out
        .created_by()
        .and_then(|c| c.backup_plan_id())
        .filter(|id| !id.is_empty())
        .map(str::to_owned);
    let point = Point {
        recovery_point_arn: arn.to_owned(),
        resource_arn: out.resource_arn().unwrap_or_default().to_owned(),
        resource_type: out.resource_type().unwrap_or_default().to_owned(),
        vault: vault.to_owned(),
        created_at: out.creation_date().map(|d| d.secs()).unwrap_or_default(),
        size_bytes: out.backup_size_in_bytes(),
        status: out
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        delete_at: out
            .calculated_lifecycle()
            .and_then(|l| l.delete_at())
            .map(|d| d.secs()),
    };
    Ok((point, plan_id))
}

/// The tenant a database is tagged for (`bbws:tenant-id`), if any: how a plan's database
/// point finds its tenant.
#[cfg(feature = "sdk-tagging")]
pub async fn tenant_of(
    tagging: &aws_sdk_resourcegroupstagging::Client,
    op: crate::error::Operation,
    database_arn: &str,
) -> Result<Option<String>, crate::error::Error> {
    let out = tagging
        .get_resources()
        .resource_arn_list(database_arn)
        .send()
        .await
        .map_err(|e| op.aws(&format!("reading the tags of {database_arn}"), e))?;
    Ok(out
        .resource_tag_mapping_list()
        .iter()
        .flat_map(|m| m.tags())
        .find(|t| t.key() == crate::tags::TENANT_ID)
        .map(|t| t.value().to_owned()))
}

/// The environment variable that names the table.
pub const TABLE_VARIABLE: &str = "CATALOG_TABLE_NAME";

/// The table's name for an environment, as `template.yaml` names it.
pub fn table_name(environment: &str) -> String {
    format!("bbws-{environment}-backup-catalog")
}
