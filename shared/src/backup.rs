//! Starting a tenant backup, in two steps the state machine calls in turn:
//!
//! * **plan** looks and changes nothing: validates the request, resolves the tenant, refuses
//!   when a job already runs on the tenant's database (409) and decides what to do about the
//!   shared file system (start a job, join the running one, or wait for it to end);
//! * **start** carries the plan out with idempotency tokens derived from the execution, so a
//!   retried step starts nothing twice.
//!
//! Keeping the look apart from the start matters: a retried start must not mistake the
//! database job it started itself for someone else's.

use aws_sdk_backup::types::{BackupJob, BackupJobState, Lifecycle};
use aws_smithy_types::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{timeout_or_default, Config, Polling};
use crate::error::{Error, Operation};
use crate::model::ResourceKind;
use crate::model::{idempotency_token, tags, tenant_backup_id, Clock, Job, JobKind, JobSet};
use crate::resolve::{DatabaseTarget, FileSystemTarget, Overrides, Resolver};
use crate::tenant::TenantId;

/// Jobs older than this are not looked at when checking what runs on a resource: AWS Backup
/// ends a job when its completion window (at most days) runs out.
const RUNNING_JOB_LOOKBACK_SECONDS: i64 = 7 * 24 * 3600;

/// A backup request as an operator, a schedule or the console sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupRequest {
    pub tenant_id: String,
    /// Back up the tenant's database as well as its files (default true).
    pub include_database: Option<bool>,
    /// Never join a file-system job someone else started: wait for it to end and start a
    /// fresh one (default false).
    pub fresh: Option<bool>,
    /// Copy the recovery points to the disaster-recovery vault (default true).
    pub copy_to_dr: Option<bool>,
    /// Wait until the DR copies complete (default false: they are started and reported).
    pub wait_for_copy: Option<bool>,
    pub timeouts: Option<TimeoutOverrides>,
    pub poll_seconds: Option<u64>,
    pub max_poll_seconds: Option<u64>,
    pub resources: Option<Overrides>,
    /// Offboarding: once this backup succeeded, delete the tenant's access point (never its
    /// files).
    pub offboard: Option<bool>,
    /// The plan of the previous round, when the state machine comes back after waiting.
    pub plan: Option<Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TimeoutOverrides {
    pub efs_seconds: Option<u64>,
    pub database_seconds: Option<u64>,
    pub copy_seconds: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupTimeouts {
    pub efs_seconds: u64,
    pub database_seconds: u64,
    pub copy_seconds: u64,
}

/// What to do about the shared file system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum FileSystemAction {
    /// Nothing runs on it: start a job.
    Start,
    /// A job already runs on it: this backup uses that job's recovery point.
    #[serde(rename_all = "camelCase")]
    Join {
        job_id: String,
        recovery_point_arn: Option<String>,
        vault: String,
        state: String,
    },
    /// A job runs on it that cannot be joined (the request asked for a fresh backup, or the
    /// job is being aborted): wait and plan again.
    #[serde(rename_all = "camelCase")]
    Wait { job_id: String, state: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupPlan {
    pub tenant_id: TenantId,
    pub backup_id: String,
    pub file_system: FileSystemTarget,
    pub database: Option<DatabaseTarget>,
    pub file_system_action: FileSystemAction,
    /// True when the state machine must wait `waitSeconds` and plan again.
    pub must_wait: bool,
    pub wait_seconds: u64,
    /// Seconds since the epoch after which waiting for the file system is a BackupTimeout.
    pub wait_deadline: i64,
    pub copy_to_dr: bool,
    pub wait_for_copy: bool,
    pub offboard: bool,
    pub timeouts: BackupTimeouts,
    pub polling: Polling,
    /// A line for people: what this plan means.
    pub summary: String,
}

/// The input of the `start-backup` handler: which of the two steps to run.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum StartBackupInput {
    #[serde(rename_all = "camelCase")]
    Plan {
        execution_id: String,
        request: Value,
    },
    #[serde(rename_all = "camelCase")]
    Start {
        execution_id: String,
        plan: Box<BackupPlan>,
    },
    /// A fleet backup's first step: one job on the shared file system, which every tenant's
    /// backup then joins (N tenants cost one file-system job).
    #[serde(rename_all = "camelCase")]
    StartShared { execution_id: String },
}

/// What the fleet's shared file-system step did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedBackup {
    pub file_system_arn: String,
    pub job_id: String,
    /// True when a job was already running and is used instead.
    pub joined: bool,
}

pub struct BackupService<'a> {
    pub config: &'a Config,
    pub backup: &'a aws_sdk_backup::Client,
    pub efs: &'a aws_sdk_efs::Client,
    pub tagging: &'a aws_sdk_resourcegroupstagging::Client,
    pub clock: Clock,
}

const OP: Operation = Operation::Backup;

/// Job states in which a job still holds its resource.
fn is_active(state: Option<&BackupJobState>) -> bool {
    matches!(
        state,
        Some(
            BackupJobState::Created
                | BackupJobState::Pending
                | BackupJobState::Running
                | BackupJobState::Aborting
        )
    )
}

fn state_name(state: Option<&BackupJobState>) -> String {
    state.map(|s| s.as_str().to_owned()).unwrap_or_default()
}

impl BackupService<'_> {
    /// Runs whichever step the input names; the output goes back into the state machine.
    pub async fn handle(&self, input: StartBackupInput) -> Result<Value, Error> {
        let output = match input {
            StartBackupInput::Plan {
                execution_id,
                request,
            } => {
                let request: BackupRequest = serde_json::from_value(request)
                    .map_err(|e| OP.bad_request(format!("the backup request is not valid: {e}")))?;
                serde_json::to_value(self.plan(&execution_id, &request).await?)
            }
            StartBackupInput::Start { execution_id, plan } => {
                serde_json::to_value(self.start(&execution_id, &plan).await?)
            }
            StartBackupInput::StartShared { execution_id } => {
                serde_json::to_value(self.start_shared(&execution_id).await?)
            }
        };
        output.map_err(|e| OP.failed(format!("could not encode the output: {e}")))
    }

    pub async fn plan(
        &self,
        execution_id: &str,
        request: &BackupRequest,
    ) -> Result<BackupPlan, Error> {
        // Validation comes before any AWS call.
        let tenant = TenantId::parse(&request.tenant_id)?;
        let overrides = request.resources.clone().unwrap_or_default();
        let timeouts = self.timeouts(request.timeouts.as_ref())?;
        let polling = self
            .config
            .polling
            .overridden(request.poll_seconds, request.max_poll_seconds);
        let now = self.clock.now();
        let previous_deadline = request
            .plan
            .as_ref()
            .and_then(|p| p.get("waitDeadline"))
            .and_then(Value::as_i64);
        let wait_deadline = previous_deadline.unwrap_or(now + timeouts.efs_seconds as i64);

        let resolver = Resolver {
            tagging: self.tagging,
            efs: self.efs,
            operation: OP,
        };
        let resources = resolver.resolve(&tenant, &overrides).await?;
        let database = if request.include_database.unwrap_or(true) {
            resources.database.clone()
        } else {
            None
        };

        if let Some(db) = &database {
            if let Some(job) = self.active_jobs(&db.arn, now).await?.first() {
                return Err(Error::BackupAlreadyRunning(format!(
                    "backup job {} ({}) is already running on the database {} of tenant \
                     {tenant}; wait for it to end",
                    job.backup_job_id().unwrap_or("?"),
                    state_name(job.state()),
                    db.arn
                )));
            }
        }

        let fresh = request.fresh.unwrap_or(false);
        let running = self
            .active_jobs(&resources.file_system.file_system_arn, now)
            .await?;
        let fs_arn = &resources.file_system.file_system_arn;
        let (action, summary) = match running.first() {
            None => (
                FileSystemAction::Start,
                format!("start a backup of the shared file system {fs_arn}"),
            ),
            Some(job) => {
                let job_id = job.backup_job_id().unwrap_or_default().to_owned();
                let state = state_name(job.state());
                if fresh || job.state() == Some(&BackupJobState::Aborting) {
                    (
                        FileSystemAction::Wait {
                            job_id: job_id.clone(),
                            state: state.clone(),
                        },
                        format!(
                            "backup job {job_id} ({state}) is running on the shared file \
                             system {fs_arn}; waiting for it to end before starting a fresh one"
                        ),
                    )
                } else {
                    (
                        FileSystemAction::Join {
                            job_id: job_id.clone(),
                            recovery_point_arn: job.recovery_point_arn().map(str::to_owned),
                            vault: job.backup_vault_name().unwrap_or_default().to_owned(),
                            state: state.clone(),
                        },
                        format!(
                            "join backup job {job_id} ({state}) already running on the shared \
                             file system {fs_arn}"
                        ),
                    )
                }
            }
        };
        let must_wait = matches!(action, FileSystemAction::Wait { .. });
        if must_wait && now > wait_deadline {
            return Err(Error::BackupTimeout(format!(
                "the shared file system {fs_arn} stayed busy past the {} s deadline: {summary}",
                timeouts.efs_seconds
            )));
        }
        tracing::info!(tenant = %tenant, %summary, "backup planned");
        Ok(BackupPlan {
            backup_id: tenant_backup_id(execution_id, tenant.as_str()),
            tenant_id: tenant,
            file_system: resources.file_system,
            database,
            file_system_action: action,
            must_wait,
            wait_seconds: polling.initial_seconds,
            wait_deadline,
            copy_to_dr: request.copy_to_dr.unwrap_or(true),
            wait_for_copy: request.wait_for_copy.unwrap_or(false),
            offboard: request.offboard.unwrap_or(false),
            timeouts,
            polling,
            summary,
        })
    }

    pub async fn start(&self, execution_id: &str, plan: &BackupPlan) -> Result<JobSet, Error> {
        if plan.must_wait {
            return Err(OP.failed(format!(
                "the plan for tenant {} says to wait, not to start: {}",
                plan.tenant_id, plan.summary
            )));
        }
        let now = self.clock.now();
        let mut jobs = Vec::new();
        if let Some(db) = &plan.database {
            jobs.push(
                self.start_job(
                    execution_id,
                    plan,
                    &db.arn,
                    db.kind,
                    now + plan.timeouts.database_seconds as i64,
                )
                .await?,
            );
        }
        let fs = &plan.file_system;
        let efs_deadline = now + plan.timeouts.efs_seconds as i64;
        let efs_job = match &plan.file_system_action {
            FileSystemAction::Join {
                job_id,
                recovery_point_arn,
                vault,
                state,
            } => {
                // The joined recovery point is tagged for this backup once its job completes
                // (poll-job): AWS Backup may not accept tags on it before.
                Job {
                    kind: JobKind::Backup,
                    resource: ResourceKind::Efs,
                    resource_arn: fs.file_system_arn.clone(),
                    job_id: job_id.clone(),
                    recovery_point_arn: recovery_point_arn.clone(),
                    vault: vault.clone(),
                    state: state.clone(),
                    joined: true,
                    deadline: efs_deadline,
                    status_message: None,
                    created_resource_arn: None,
                    started_at: now,
                }
            }
            FileSystemAction::Start | FileSystemAction::Wait { .. } => {
                self.start_job(
                    execution_id,
                    plan,
                    &fs.file_system_arn,
                    ResourceKind::Efs,
                    efs_deadline,
                )
                .await?
            }
        };
        jobs.push(efs_job);
        Ok(JobSet {
            operation: OP,
            tenant_id: plan.tenant_id.to_string(),
            backup_id: plan.backup_id.clone(),
            jobs,
            done: false,
            attempt: 0,
            wait_seconds: plan.polling.initial_seconds,
            polling: plan.polling,
        })
    }

    /// Starts a backup of the shared file system unless a job already runs on it. The token
    /// is the one a tenant's own start would send for the file system in this execution, so
    /// a tenant that raced past this step gets this very job back from AWS Backup.
    pub async fn start_shared(&self, execution_id: &str) -> Result<SharedBackup, Error> {
        let fs_id = self
            .config
            .file_system_id
            .as_deref()
            .ok_or_else(|| OP.failed("FILE_SYSTEM_ID is not set: no shared file system"))?;
        let described = self
            .efs
            .describe_file_systems()
            .file_system_id(fs_id)
            .send()
            .await
            .map_err(|e| OP.aws(&format!("describing file system {fs_id}"), e))?;
        let fs_arn = described
            .file_systems()
            .first()
            .and_then(|fs| fs.file_system_arn())
            .ok_or_else(|| OP.failed(format!("file system {fs_id} was not found")))?
            .to_owned();
        let now = self.clock.now();
        if let Some(job) = self.active_jobs(&fs_arn, now).await?.first() {
            return Ok(SharedBackup {
                file_system_arn: fs_arn,
                job_id: job.backup_job_id().unwrap_or_default().to_owned(),
                joined: true,
            });
        }
        let retention = &self.config.retention;
        let started = self
            .backup
            .start_backup_job()
            .backup_vault_name(&self.config.backup_vault_name)
            .resource_arn(&fs_arn)
            .iam_role_arn(&self.config.backup_role_arn)
            .idempotency_token(idempotency_token(execution_id, "backup", &fs_arn))
            .start_window_minutes(60)
            .complete_window_minutes(120)
            .lifecycle(
                Lifecycle::builder()
                    .set_move_to_cold_storage_after_days(retention.efs_cold_after_days)
                    .delete_after_days(retention.efs_delete_after_days)
                    .build(),
            )
            .recovery_point_tags(tags::BACKUP_TYPE, "fleet")
            .recovery_point_tags(tags::COMPONENT, "efs")
            .send()
            .await
            .map_err(|e| OP.aws(&format!("starting a backup job of {fs_arn}"), e))?;
        Ok(SharedBackup {
            file_system_arn: fs_arn,
            job_id: started.backup_job_id().unwrap_or_default().to_owned(),
            joined: false,
        })
    }

    fn timeouts(&self, overrides: Option<&TimeoutOverrides>) -> Result<BackupTimeouts, Error> {
        let defaults = &self.config.timeouts;
        let pick = |value, default, name| timeout_or_default(OP, value, default, name);
        let o = overrides.cloned().unwrap_or_default();
        Ok(BackupTimeouts {
            efs_seconds: pick(o.efs_seconds, defaults.efs_backup, "efsSeconds")?,
            database_seconds: pick(
                o.database_seconds,
                defaults.database_backup,
                "databaseSeconds",
            )?,
            copy_seconds: pick(o.copy_seconds, defaults.copy, "copySeconds")?,
        })
    }

    /// Jobs that hold `resource_arn` now, whoever started them.
    async fn active_jobs(&self, resource_arn: &str, now: i64) -> Result<Vec<BackupJob>, Error> {
        let jobs = self
            .backup
            .list_backup_jobs()
            .by_resource_arn(resource_arn)
            .by_created_after(DateTime::from_secs(now - RUNNING_JOB_LOOKBACK_SECONDS))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| OP.aws(&format!("listing backup jobs of {resource_arn}"), e))?;
        Ok(jobs.into_iter().filter(|j| is_active(j.state())).collect())
    }

    async fn start_job(
        &self,
        execution_id: &str,
        plan: &BackupPlan,
        resource_arn: &str,
        resource: ResourceKind,
        deadline: i64,
    ) -> Result<Job, Error> {
        let now = self.clock.now();
        let retention = &self.config.retention;
        let lifecycle = match resource {
            ResourceKind::Efs => Lifecycle::builder()
                .set_move_to_cold_storage_after_days(retention.efs_cold_after_days)
                .delete_after_days(retention.efs_delete_after_days)
                .build(),
            _ => Lifecycle::builder()
                .delete_after_days(retention.database_delete_after_days)
                .build(),
        };
        let started = self
            .backup
            .start_backup_job()
            .backup_vault_name(&self.config.backup_vault_name)
            .resource_arn(resource_arn)
            .iam_role_arn(&self.config.backup_role_arn)
            .idempotency_token(idempotency_token(execution_id, "backup", resource_arn))
            .start_window_minutes(60)
            .complete_window_minutes(120)
            .lifecycle(lifecycle)
            .recovery_point_tags(tags::TENANT_ID, plan.tenant_id.as_str())
            .recovery_point_tags(tags::BACKUP_ID, &plan.backup_id)
            .recovery_point_tags(tags::BACKUP_TYPE, "on-demand")
            .recovery_point_tags(tags::COMPONENT, resource.component())
            .send()
            .await
            .map_err(|e| OP.aws(&format!("starting a backup job of {resource_arn}"), e))?;
        let job_id = started.backup_job_id().ok_or_else(|| {
            OP.failed(format!(
                "AWS Backup started a job of {resource_arn} without a job id"
            ))
        })?;
        tracing::info!(job_id, resource_arn, "backup job started");
        Ok(Job {
            kind: JobKind::Backup,
            resource,
            resource_arn: resource_arn.to_owned(),
            job_id: job_id.to_owned(),
            recovery_point_arn: started.recovery_point_arn().map(str::to_owned),
            vault: self.config.backup_vault_name.clone(),
            state: BackupJobState::Created.as_str().to_owned(),
            joined: false,
            deadline,
            status_message: None,
            created_resource_arn: None,
            started_at: now,
        })
    }
}
