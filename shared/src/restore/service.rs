//! Restoring a tenant from a tenant backup id (or one recovery point ARN), in two steps like
//! the backup: **plan** validates, finds the recovery points and checks whose they are, and
//! changes nothing; **start** starts the restore jobs with idempotency tokens derived from
//! the execution.
//!
//! EFS restores are item-level restores of the tenant's directory into the shared file system
//! (AWS Backup writes them under `aws-backup-restore_<datetime>/`; promote-restore moves them
//! into place). Database restores create a new instance or cluster beside the tenant's
//! database, which is never touched; the same function then finishes the restored database
//! and, when asked, promotes it (see [`super::database`]).

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_backup::primitives::DateTime;
use aws_sdk_backup::types::RecoveryPointStatus;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use super::database::DatabaseService;
use super::request::{
    restored_identifier, RestoreInput, RestorePlan, RestoreRequest, RestoreSource, RestoreTimeouts,
};
use crate::aws::{database_kind, recovery_points, ResourceKind};
use crate::config::{Config, ConfigError, TimeoutOverrides, Vault};
use crate::error::{Error, ErrorKind, Operation};
use crate::jobs::{idempotency_token, planned_at, Clock, Job, JobKind, JobSet, JobState};
use crate::runtime::{encode, parse, Service};
use crate::tags;
use crate::tenant_id::TenantId;
use crate::tenants::resolve::Resolver;
use crate::tenants::FileSystemTarget;

const OP: Operation = Operation::Restore;

/// How long before its planning a backup's recovery point may have been created: a tenant
/// backup joins a file-system job already running, which may have started up to a plan's
/// start and completion windows earlier (the hourly plan's: 60 + 120 minutes), or an
/// on-demand job's timeout. Twelve hours covers both with room.
const WINDOW_BEFORE_SECONDS: i64 = 12 * 3600;
/// How long after its planning a backup's own jobs may start: the start step follows the
/// plan at once, retries included.
const WINDOW_AFTER_SECONDS: i64 = 3600;

/// A recovery point found for a tenant backup id, with the tenant it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Found {
    arn: String,
    resource_arn: String,
    resource_type: String,
    status: Option<RecoveryPointStatus>,
    owner: Option<String>,
}

pub struct RestoreService {
    pub config: Config,
    pub vault: Vault,
    pub backup: aws_sdk_backup::Client,
    pub efs: aws_sdk_efs::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// Finishing and promoting the restored database.
    pub database: DatabaseService,
    pub clock: Clock,
}

impl Service for RestoreService {
    fn build(
        sdk: &SdkConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let config = Config::from_lookup(lookup)?;
        Ok(Self {
            vault: Vault::from_lookup(&lookup)?,
            backup: aws_sdk_backup::Client::new(sdk),
            efs: aws_sdk_efs::Client::new(sdk),
            tagging: aws_sdk_resourcegroupstagging::Client::new(sdk),
            database: DatabaseService {
                config: config.clone(),
                rds: aws_sdk_rds::Client::new(sdk),
                ssm: aws_sdk_ssm::Client::new(sdk),
                clock: Clock::System,
            },
            config,
            clock: Clock::System,
        })
    }
}

/// The `restore` handler: runs whichever step the input names; the output goes back into
/// the state machine.
pub async fn handler(event: LambdaEvent<Value>, service: &RestoreService) -> Result<Value, Error> {
    match parse(OP, "restore", event.payload)? {
        RestoreInput::Plan {
            execution_id,
            request,
        } => encode(OP, &service.plan(&execution_id, &request).await?),
        RestoreInput::Start { execution_id, plan } => {
            encode(OP, &service.start(&execution_id, &plan).await?)
        }
        RestoreInput::FinishDatabase { plan, restore } => {
            encode(OP, &service.database.finish(&plan, &restore).await?)
        }
        RestoreInput::PromoteDatabase { plan, restore } => {
            encode(OP, &service.database.promote(&plan, &restore).await?)
        }
    }
}

impl RestoreService {
    pub async fn plan(
        &self,
        execution_id: &str,
        request: &RestoreRequest,
    ) -> Result<RestorePlan, Error> {
        // Everything about the request is checked before any AWS call.
        let source = TenantId::parse(&request.tenant_id)?;
        let target = match &request.clone_to {
            Some(raw) => TenantId::parse(raw)?,
            None => source.clone(),
        };
        if request.backup_id.trim().is_empty() {
            return Err(OP.bad_request("backupId is empty"));
        }
        if request.files == Some(false) && request.database == Some(false) {
            return Err(OP.bad_request("nothing to restore: files and database are both false"));
        }
        if request.promote_database == Some(true) && request.database == Some(false) {
            return Err(OP.bad_request(
                "promoteDatabase needs the database restored: it cannot be combined with \
                 database: false",
            ));
        }
        let timeouts = self.timeouts(request.timeouts.as_ref())?;
        let polling = self
            .config
            .polling
            .overridden(request.poll_seconds, request.max_poll_seconds);

        let found = self.find(&request.backup_id, &source).await?;
        for point in &found {
            match &point.owner {
                Some(owner) if owner == source.as_str() => {}
                Some(owner) => {
                    return Err(Error::new(
                        ErrorKind::InvalidRestoreTarget,
                        format!(
                            "backup {} belongs to tenant {owner}, not {source}; to copy it into \
                         another tenant, ask for tenant {owner} with cloneTo",
                            request.backup_id
                        ),
                    ))
                }
                None => {
                    return Err(Error::new(
                        ErrorKind::InvalidRestoreTarget,
                        format!(
                            "recovery point {} carries no {} tag: it cannot be tied to tenant \
                         {source}",
                            point.arn,
                            tags::TENANT_ID
                        ),
                    ))
                }
            }
            if !matches!(
                point.status,
                Some(RecoveryPointStatus::Completed | RecoveryPointStatus::Available)
            ) {
                return Err(Error::new(
                    ErrorKind::BackupNotFound,
                    format!(
                        "recovery point {} of backup {} is {}: it cannot be restored",
                        point.arn,
                        request.backup_id,
                        point
                            .status
                            .as_ref()
                            .map(|s| s.as_str())
                            .unwrap_or("of unknown status")
                    ),
                ));
            }
        }
        let efs_point = found.iter().find(|p| p.resource_type == "EFS");
        let db_point = found
            .iter()
            .find(|p| p.resource_type == "RDS" || p.resource_type == "Aurora");
        let want_files = request.files.unwrap_or(efs_point.is_some());
        let want_database = request.database.unwrap_or(db_point.is_some());
        if want_files && efs_point.is_none() {
            return Err(Error::new(
                ErrorKind::BackupNotFound,
                format!(
                    "backup {} holds no file-system recovery point",
                    request.backup_id
                ),
            ));
        }
        let promote_database = request.promote_database.unwrap_or(false);
        if promote_database && !want_database {
            return Err(Error::new(
                ErrorKind::BackupNotFound,
                format!(
                    "backup {} holds no database recovery point to promote",
                    request.backup_id
                ),
            ));
        }
        if want_database && db_point.is_none() {
            return Err(Error::new(
                ErrorKind::BackupNotFound,
                format!(
                    "backup {} holds no database recovery point",
                    request.backup_id
                ),
            ));
        }

        let resolver = Resolver {
            tagging: &self.tagging,
            efs: &self.efs,
            operation: OP,
        };
        let overrides = request.resources.clone().unwrap_or_default();
        let resources = resolver.resolve(&target, &overrides).await?;

        let files = match (want_files, efs_point) {
            (true, Some(point)) => Some(
                self.efs_source(point, &source, &resources.file_system)
                    .await?,
            ),
            _ => None,
        };
        let database = match (want_database, db_point) {
            (true, Some(point)) => Some(self.database_source(point, &target, execution_id).await?),
            _ => None,
        };
        let summary = format!(
            "restore backup {} of tenant {source} into tenant {target}: {}{}{}",
            request.backup_id,
            if files.is_some() { "files" } else { "" },
            if files.is_some() && database.is_some() {
                " and "
            } else {
                ""
            },
            database
                .as_ref()
                .map(|d| format!("database to new {}", d.target))
                .unwrap_or_default()
        );
        Ok(RestorePlan {
            tenant_id: target,
            source_tenant_id: source,
            backup_id: request.backup_id.clone(),
            file_system: Some(resources.file_system),
            files,
            database,
            service: resources.service,
            current_database: resources.database,
            promote_database,
            timeouts,
            polling,
            summary,
        })
    }

    pub async fn start(&self, execution_id: &str, plan: &RestorePlan) -> Result<JobSet, Error> {
        let now = self.clock.now();
        let mut jobs = Vec::new();
        for (source, timeout) in [
            (&plan.files, plan.timeouts.efs_seconds),
            (&plan.database, plan.timeouts.database_seconds),
        ] {
            let Some(source) = source else { continue };
            let started = self
                .backup
                .start_restore_job()
                .recovery_point_arn(&source.recovery_point_arn)
                .set_metadata(Some(source.metadata.clone()))
                .iam_role_arn(&self.vault.role_arn)
                .idempotency_token(idempotency_token(
                    execution_id,
                    "restore",
                    &source.recovery_point_arn,
                ))
                .resource_type(&source.resource_type)
                .send()
                .await
                .map_err(|e| {
                    OP.aws(
                        &format!("starting a restore of {}", source.recovery_point_arn),
                        e,
                    )
                })?;
            let job_id = started.restore_job_id().ok_or_else(|| {
                OP.failed(format!(
                    "AWS Backup started a restore of {} without a job id",
                    source.recovery_point_arn
                ))
            })?;
            tracing::info!(job_id, recovery_point = %source.recovery_point_arn, "restore started");
            jobs.push(
                Job::new(
                    JobKind::Restore,
                    source.resource,
                    &source.recovery_point_arn,
                    job_id,
                    JobState::Pending,
                    now,
                    timeout,
                )
                .in_vault(&self.vault.name),
            );
        }
        Ok(JobSet::new(
            OP,
            plan.tenant_id.as_str(),
            &plan.backup_id,
            jobs,
            plan.polling,
        ))
    }

    fn timeouts(&self, overrides: Option<&TimeoutOverrides>) -> Result<RestoreTimeouts, Error> {
        let defaults = &self.config.timeouts;
        let o = overrides.cloned().unwrap_or_default();
        o.refuse(OP, "copySeconds")?;
        Ok(RestoreTimeouts {
            efs_seconds: o.seconds(OP, "efsSeconds", defaults.efs_restore)?,
            database_seconds: o.seconds(OP, "databaseSeconds", defaults.database_restore)?,
            service_seconds: o.seconds(OP, "serviceSeconds", defaults.service)?,
        })
    }

    /// The recovery points a backup id names: one ARN, or the recovery points of the source
    /// tenant's resources tagged with the tenant backup id (as their own, or as a joined
    /// one). Only those are read: the shared file system's and each database the tenant has
    /// had, around the time the id says the backup was planned (ids made before they carried
    /// a time: all of those resources' recovery points). The rest of the vault is never read.
    async fn find(&self, backup_id: &str, source: &TenantId) -> Result<Vec<Found>, Error> {
        let vault = &self.vault.name;
        if backup_id.starts_with("arn:") {
            let described = self
                .backup
                .describe_recovery_point()
                .backup_vault_name(vault)
                .recovery_point_arn(backup_id)
                .send()
                .await
                .map_err(|e| match e.as_service_error() {
                    Some(err) if err.is_resource_not_found_exception() => Error::new(
                        ErrorKind::BackupNotFound,
                        format!("no recovery point {backup_id} in vault {vault}"),
                    ),
                    Some(err) if err.is_invalid_parameter_value_exception() => Error::new(
                        ErrorKind::BackupNotFound,
                        format!("{backup_id} is not a recovery point of vault {vault}"),
                    ),
                    _ => OP.aws(&format!("describing recovery point {backup_id}"), e),
                })?;
            let tags = self.tags_of(backup_id).await?;
            return Ok(vec![Found {
                arn: backup_id.to_owned(),
                resource_arn: described.resource_arn().unwrap_or_default().to_owned(),
                resource_type: described.resource_type().unwrap_or_default().to_owned(),
                status: described.status().cloned(),
                owner: tags.get(tags::TENANT_ID).cloned(),
            }]);
        }
        let window = planned_at(backup_id).map(|t| {
            (
                DateTime::from_secs(t - WINDOW_BEFORE_SECONDS),
                DateTime::from_secs(t + WINDOW_AFTER_SECONDS),
            )
        });
        let resolver = Resolver {
            tagging: &self.tagging,
            efs: &self.efs,
            operation: OP,
        };
        // The shared file system is the vault's only EFS resource; each database by its ARN.
        let mut listings = vec![(Some("EFS".to_owned()), None)];
        for arn in resolver.databases_ever(source).await? {
            listings.push((None, Some(arn)));
        }
        let joined_key = format!("{}{backup_id}", tags::JOINED_BACKUP_PREFIX);
        let mut found = Vec::new();
        for (resource_type, resource_arn) in listings {
            let points = self
                .backup
                .list_recovery_points_by_backup_vault()
                .backup_vault_name(vault)
                .set_by_resource_type(resource_type)
                .set_by_resource_arn(resource_arn)
                .set_by_created_after(window.map(|w| w.0))
                .set_by_created_before(window.map(|w| w.1))
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(|e| OP.aws(&format!("listing the recovery points of {vault}"), e))?;
            for point in points {
                let Some(arn) = point.recovery_point_arn() else {
                    continue;
                };
                let tags = self.tags_of(arn).await?;
                let owner = if tags.get(tags::BACKUP_ID).map(String::as_str) == Some(backup_id) {
                    tags.get(tags::TENANT_ID).cloned()
                } else if let Some(joined_by) = tags.get(&joined_key) {
                    Some(joined_by.clone())
                } else {
                    continue;
                };
                found.push(Found {
                    arn: arn.to_owned(),
                    resource_arn: point.resource_arn().unwrap_or_default().to_owned(),
                    resource_type: point.resource_type().unwrap_or_default().to_owned(),
                    status: point.status().cloned(),
                    owner,
                });
            }
        }
        if found.is_empty() {
            return Err(Error::new(
                ErrorKind::BackupNotFound,
                format!(
                    "no recovery point of tenant {source}'s file system or databases in vault \
                     {vault} belongs to backup {backup_id}"
                ),
            ));
        }
        Ok(found)
    }

    async fn tags_of(&self, arn: &str) -> Result<HashMap<String, String>, Error> {
        recovery_points::tags(&self.backup, &self.database.rds, OP, arn).await
    }

    async fn metadata(&self, arn: &str) -> Result<HashMap<String, String>, Error> {
        let out = self
            .backup
            .get_recovery_point_restore_metadata()
            .backup_vault_name(&self.vault.name)
            .recovery_point_arn(arn)
            .send()
            .await
            .map_err(|e| OP.aws(&format!("reading the restore metadata of {arn}"), e))?;
        Ok(out.restore_metadata().cloned().unwrap_or_default())
    }

    /// An item-level restore of the source tenant's directory into the shared file system.
    async fn efs_source(
        &self,
        point: &Found,
        source: &TenantId,
        file_system: &FileSystemTarget,
    ) -> Result<RestoreSource, Error> {
        let backed_up = point.resource_arn.rsplit('/').next().unwrap_or_default();
        if backed_up != file_system.file_system_id {
            return Err(Error::new(
                ErrorKind::InvalidRestoreTarget,
                format!(
                "recovery point {} is of file system {backed_up}, but the tenant's files are on \
                 {}",
                point.arn, file_system.file_system_id
            ),
            ));
        }
        let mut metadata = self.metadata(&point.arn).await?;
        metadata.insert("file-system-id".into(), file_system.file_system_id.clone());
        metadata.insert("newFileSystem".into(), "false".into());
        // Paths from the file system's root, as a JSON array in a string.
        metadata.insert(
            "ItemsToRestore".into(),
            serde_json::to_string(&[source.root_path()]).expect("a list of strings encodes"),
        );
        Ok(RestoreSource {
            recovery_point_arn: point.arn.clone(),
            resource: ResourceKind::Efs,
            resource_type: "EFS".into(),
            metadata,
            target: file_system.root_path.clone(),
        })
    }

    /// A restore of the database to a new identifier beside the tenant's database.
    async fn database_source(
        &self,
        point: &Found,
        target: &TenantId,
        execution_id: &str,
    ) -> Result<RestoreSource, Error> {
        let kind =
            database_kind(&point.resource_arn).unwrap_or(if point.resource_type == "Aurora" {
                ResourceKind::AuroraCluster
            } else {
                ResourceKind::RdsInstance
            });
        let identifier = restored_identifier(target, execution_id);
        let mut metadata = self.metadata(&point.arn).await?;
        let key = match kind {
            ResourceKind::AuroraCluster => "DBClusterIdentifier",
            _ => "DBInstanceIdentifier",
        };
        metadata.insert(key.into(), identifier.clone());
        Ok(RestoreSource {
            recovery_point_arn: point.arn.clone(),
            resource: kind,
            resource_type: point.resource_type.clone(),
            metadata,
            target: identifier,
        })
    }
}
