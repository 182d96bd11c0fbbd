//! `catalog`: records AWS Backup's job events in the catalog, driven by an EventBridge rule on
//! "Backup Job State Change" and "Copy Job State Change" (source `aws.backup`).
//!
//! * A plan's completed backup of the shared file system becomes a point of the hourly
//!   backup of every tenant that was on the file system when the point was made (the
//!   catalog's lives);
//! * a plan's completed backup of a database, a point of the hourly backup of the tenant the
//!   database is tagged for (`bbws:tenant-id`);
//! * every copy job's state, on the copied point's DR copy.
//!
//! On-demand and fleet backups are recorded by their own flow (poll-job), which knows their
//! tenant backup ids. Every write is conditional: a re-delivered event changes nothing.

use aws_config::SdkConfig;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::items::{BackupKind, Component, DrCopy};
use super::{hourly_backup_id, Catalog};
use crate::config::{Config, ConfigError};
use crate::error::{Error, Operation};
use crate::runtime::{encode, Service};

const OP: Operation = Operation::Backup;
const BACKUP_EVENT: &str = "Backup Job State Change";
const COPY_EVENT: &str = "Copy Job State Change";

pub struct CatalogRecorder {
    pub catalog: Catalog,
    pub backup: aws_sdk_backup::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// The shared file system: the only EFS resource whose points hold tenants.
    pub file_system_id: Option<String>,
}

impl Service for CatalogRecorder {
    fn build(
        sdk: &SdkConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let config = Config::from_lookup(lookup)?;
        Ok(Self {
            catalog: Catalog::from_lookup(sdk, lookup, config.retention.dr_delete_after_days)?,
            backup: aws_sdk_backup::Client::new(sdk),
            tagging: aws_sdk_resourcegroupstagging::Client::new(sdk),
            file_system_id: config.file_system_id,
        })
    }
}

/// An EventBridge event from AWS Backup, as far as the catalog reads it.
#[derive(Debug, Deserialize)]
struct BackupEvent {
    source: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    #[serde(default)]
    resources: Vec<String>,
    detail: Value,
}

/// What one event did to the catalog.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    /// The tenants whose backup got a new point (or whose point's copy moved on).
    pub tenants: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_id: Option<String>,
    /// Why nothing was recorded, when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl Recorded {
    fn skipped(why: impl Into<String>) -> Self {
        Self {
            skipped: Some(why.into()),
            ..Self::default()
        }
    }
}

/// The `catalog` handler.
pub async fn handler(
    event: LambdaEvent<Value>,
    recorder: &CatalogRecorder,
) -> Result<Value, Error> {
    let event: BackupEvent = serde_json::from_value(event.payload).map_err(|e| {
        OP.failed(format!(
            "not an AWS Backup job event: {}",
            crate::error::capped(e.to_string(), 300)
        ))
    })?;
    if event.source != "aws.backup" {
        return Err(OP.failed(format!(
            "an event of source {:?}: the catalog reads aws.backup's only",
            crate::error::echo(&event.source)
        )));
    }
    let recorded = match event.detail_type.as_str() {
        BACKUP_EVENT => recorder.backup_job(&event).await?,
        COPY_EVENT => recorder.copy_job(&event).await?,
        other => Recorded::skipped(format!(
            "{} events are not recorded",
            crate::error::echo(other)
        )),
    };
    tracing::info!(?recorded, "catalog event");
    encode(OP, &recorded)
}

fn text<'a>(detail: &'a Value, field: &str) -> Option<&'a str> {
    detail
        .get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// AWS Backup's event times: RFC 3339 with milliseconds.
fn seconds(value: Option<&str>) -> Option<i64> {
    crate::clock::parse_rfc3339(value?)
}

impl CatalogRecorder {
    async fn backup_job(&self, event: &BackupEvent) -> Result<Recorded, Error> {
        let detail = &event.detail;
        if text(detail, "state") != Some("COMPLETED") {
            return Ok(Recorded::skipped("the job has not completed"));
        }
        let (Some(recovery_point), Some(vault)) =
            (event.resources.first(), text(detail, "backupVaultName"))
        else {
            return Err(OP.failed(format!(
                "completed backup job {} names no recovery point or vault",
                text(detail, "backupJobId").unwrap_or("?")
            )));
        };
        // Only the plans' points: on-demand and fleet jobs are recorded by their own flow.
        // The plan is the point's `CreatedBy`, since a COMPLETED event carries none.
        let (point, plan) =
            super::describe_point_and_plan(&self.backup, OP, vault, recovery_point).await?;
        if plan.is_none() {
            return Ok(Recorded::skipped("not a backup plan's job"));
        }
        // A continuous point is one item per tenant for its whole life: every run updates
        // the same point, and a restore takes it to whatever second it needs.
        if super::is_continuous(recovery_point)
            && matches!(point.resource_type.as_str(), "RDS" | "Aurora")
        {
            let mut recorded = Vec::new();
            if let Some(tenant) = super::tenant_of(&self.tagging, OP, &point.resource_arn).await? {
                if self.catalog.record_continuous(OP, &tenant, &point).await? {
                    recorded.push(tenant);
                }
            }
            return Ok(Recorded {
                tenants: recorded,
                backup_id: None,
                skipped: None,
            });
        }
        let backup_id = hourly_backup_id(point.created_at);
        let time = super::backup_time(&backup_id).unwrap_or(point.created_at);
        let (component, tenants) = match point.resource_type.as_str() {
            "EFS" => {
                let shared = self
                    .file_system_id
                    .as_deref()
                    .is_some_and(|fs| point.resource_arn.ends_with(&format!("/{fs}")));
                if !shared {
                    return Ok(Recorded::skipped(format!(
                        "{} is not the shared file system",
                        point.resource_arn
                    )));
                }
                let mut tenants: Vec<String> = self
                    .catalog
                    .lives(OP)
                    .await?
                    .into_iter()
                    .filter(|life| life.covers(point.created_at))
                    .map(|life| life.tenant_id)
                    .collect();
                tenants.sort();
                tenants.dedup();
                (Component::Files, tenants)
            }
            "RDS" | "Aurora" => (
                Component::Database,
                super::tenant_of(&self.tagging, OP, &point.resource_arn)
                    .await?
                    .into_iter()
                    .collect(),
            ),
            other => {
                return Ok(Recorded::skipped(format!(
                    "{} recovery points hold no tenant",
                    crate::error::echo(other)
                )))
            }
        };
        let recorded = self
            .catalog
            .record_point_for_all(
                OP,
                tenants,
                &backup_id,
                BackupKind::Hourly,
                time,
                component,
                &point,
            )
            .await?;
        Ok(Recorded {
            tenants: recorded,
            backup_id: Some(backup_id),
            skipped: None,
        })
    }

    async fn copy_job(&self, event: &BackupEvent) -> Result<Recorded, Error> {
        let detail = &event.detail;
        // CREATED carries no job id yet; RUNNING and the end states do.
        let (Some(source), Some(copy_job_id), Some(state)) = (
            event.resources.first(),
            text(detail, "copyJobId"),
            text(detail, "state"),
        ) else {
            return Ok(Recorded::skipped("the event names no copy job yet"));
        };
        let copy = DrCopy {
            copy_job_id: copy_job_id.to_owned(),
            recovery_point_arn: text(detail, "destinationRecoveryPointArn").map(str::to_owned),
            vault_arn: text(detail, "destinationBackupVaultArn")
                .unwrap_or_default()
                .to_owned(),
            state: state.to_owned(),
            created_at: seconds(text(detail, "creationDate")).unwrap_or_default(),
            delete_at: None,
        };
        let moved = self.catalog.record_copy(OP, source, &copy).await?;
        Ok(if moved {
            Recorded {
                tenants: Vec::new(),
                backup_id: None,
                skipped: None,
            }
        } else {
            Recorded::skipped("the catalog already knows the copy this far")
        })
    }
}
