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

use aws_config::SdkConfig;
use aws_sdk_backup::operation::describe_backup_job::DescribeBackupJobOutput;
use aws_sdk_backup::types::{BackupJob, BackupJobState, Lifecycle};
use aws_smithy_types::DateTime;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use super::request::{
    BackupPlan, BackupRequest, BackupTimeouts, FileSystemAction, SharedBackup, StartBackupInput,
};
use crate::aws::ResourceKind;
use crate::config::{Config, ConfigError, TimeoutOverrides, Vault};
use crate::error::{Error, ErrorKind, Operation};
use crate::jobs::{idempotency_token, tenant_backup_id, Clock, Job, JobKind, JobSet, JobState};
use crate::runtime::{encode, parse, Service};
use crate::tags;
use crate::tenant_id::TenantId;
use crate::tenants::resolve::Resolver;

pub struct BackupService {
    pub config: Config,
    pub vault: Vault,
    pub backup: aws_sdk_backup::Client,
    pub efs: aws_sdk_efs::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub clock: Clock,
}

/// Jobs older than this are not looked at when checking what runs on a resource: AWS Backup
/// ends a job when its completion window (at most days) runs out.
const RUNNING_JOB_LOOKBACK_SECONDS: i64 = 7 * 24 * 3600;

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

/// How long the most recent completed job of `jobs` took, in whole seconds.
fn last_duration(jobs: &[BackupJob]) -> Option<u64> {
    jobs.iter()
        .filter(|j| j.state() == Some(&BackupJobState::Completed))
        .filter_map(|j| Some((j.creation_date()?, j.completion_date()?)))
        .max_by_key(|(created, _)| created.secs())
        .map(|(created, completed)| (completed.secs() - created.secs()).max(0) as u64)
}

fn state_name(state: Option<&BackupJobState>) -> JobState {
    state.map(|s| s.as_str()).unwrap_or_default().into()
}

impl Service for BackupService {
    fn build(
        sdk: &SdkConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            config: Config::from_lookup(lookup)?,
            vault: Vault::from_lookup(&lookup)?,
            backup: aws_sdk_backup::Client::new(sdk),
            efs: aws_sdk_efs::Client::new(sdk),
            tagging: aws_sdk_resourcegroupstagging::Client::new(sdk),
            clock: Clock::System,
        })
    }
}

/// The `start-backup` handler: runs whichever step the input names; the output goes back
/// into the state machine.
pub async fn handler(event: LambdaEvent<Value>, service: &BackupService) -> Result<Value, Error> {
    match parse(OP, "start-backup", event.payload)? {
        StartBackupInput::Plan {
            execution_id,
            request,
        } => {
            let request = parse(OP, "backup request", request)?;
            encode(OP, &service.plan(&execution_id, &request).await?)
        }
        StartBackupInput::Start { execution_id, plan } => {
            encode(OP, &service.start(&execution_id, &plan).await?)
        }
        StartBackupInput::StartShared { execution_id } => {
            encode(OP, &service.start_shared(&execution_id).await?)
        }
    }
}

impl BackupService {
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
            tagging: &self.tagging,
            efs: &self.efs,
            operation: OP,
        };
        let resources = resolver.resolve(&tenant, &overrides).await?;
        let database = if request.include_database.unwrap_or(true) {
            resources.database.clone()
        } else {
            None
        };

        let mut expected_seconds = None;
        if let Some(db) = &database {
            let jobs = self.recent_jobs(&db.arn, now).await?;
            expected_seconds = last_duration(&jobs);
            if let Some(job) = jobs.iter().find(|j| is_active(j.state())) {
                return Err(Error::new(
                    ErrorKind::BackupAlreadyRunning,
                    format!(
                        "backup job {} ({}) is already running on the database {} of tenant \
                     {tenant}; wait for it to end",
                        job.backup_job_id().unwrap_or("?"),
                        state_name(job.state()),
                        db.arn
                    ),
                ));
            }
        }

        let fresh = request.fresh.unwrap_or(false);
        let fs_arn = &resources.file_system.file_system_arn;
        if let Some(job_id) = &request.shared_file_system_job_id {
            if fresh {
                return Err(OP.bad_request(
                    "fresh and sharedFileSystemJobId ask opposite things: a fresh backup \
                     never joins another's job",
                ));
            }
            let job = self.shared_job(job_id, fs_arn).await?;
            let state = state_name(job.state());
            let summary = format!(
                "join the fleet's backup job {job_id} ({state}) of the shared file system \
                 {fs_arn}"
            );
            tracing::info!(tenant = %tenant, %summary, "backup planned");
            return Ok(BackupPlan {
                backup_id: tenant_backup_id(execution_id, tenant.as_str(), now),
                tenant_id: tenant,
                file_system: resources.file_system,
                manifest: None,
                database,
                file_system_action: FileSystemAction::Join {
                    job_id: job_id.clone(),
                    recovery_point_arn: job.recovery_point_arn().map(str::to_owned),
                    vault: job.backup_vault_name().unwrap_or_default().to_owned(),
                    state,
                },
                must_wait: false,
                wait_seconds: polling.initial_seconds,
                wait_deadline,
                copy_to_dr: request.copy_to_dr.unwrap_or(true),
                wait_for_copy: request.wait_for_copy.unwrap_or(false),
                offboard: request.offboard.unwrap_or(false),
                // Joining a fleet run's shared job makes it one of that run's backups: the
                // fleet starts each tenant's backup as an execution of this state machine.
                kind: crate::catalog::BackupKind::Fleet,
                timeouts,
                polling,
                expected_seconds,
                summary,
            });
        }
        let running = self.active_jobs(fs_arn, now).await?;
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
            return Err(OP.timeout(format!(
                "the shared file system {fs_arn} stayed busy past the {} s deadline: {summary}",
                timeouts.efs_seconds
            )));
        }
        tracing::info!(tenant = %tenant, %summary, "backup planned");
        Ok(BackupPlan {
            backup_id: tenant_backup_id(execution_id, tenant.as_str(), now),
            tenant_id: tenant,
            file_system: resources.file_system,
            manifest: None,
            database,
            file_system_action: action,
            must_wait,
            wait_seconds: polling.initial_seconds,
            wait_deadline,
            copy_to_dr: request.copy_to_dr.unwrap_or(true),
            wait_for_copy: request.wait_for_copy.unwrap_or(false),
            offboard: request.offboard.unwrap_or(false),
            kind: crate::catalog::BackupKind::OnDemand,
            timeouts,
            polling,
            expected_seconds,
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
                    plan.timeouts.database_seconds,
                )
                .await?,
            );
        }
        let fs = &plan.file_system;
        let efs_job = match &plan.file_system_action {
            FileSystemAction::Join {
                job_id,
                recovery_point_arn,
                vault,
                state,
            } => {
                // The joined recovery point is tagged for this backup once its job completes
                // (poll-job): AWS Backup may not accept tags on it before. A job already
                // completed is recorded as not yet read, so the poll reads and tags it.
                let state = if state.is_completed() {
                    JobState::Unknown
                } else {
                    state.clone()
                };
                Job::new(
                    JobKind::Backup,
                    ResourceKind::Efs,
                    &fs.file_system_arn,
                    job_id,
                    state,
                    now,
                    plan.timeouts.efs_seconds,
                )
                .in_vault(vault)
                .with_recovery_point(recovery_point_arn.clone())
                .joined()
            }
            FileSystemAction::Start | FileSystemAction::Wait { .. } => {
                self.start_job(
                    execution_id,
                    plan,
                    &fs.file_system_arn,
                    ResourceKind::Efs,
                    plan.timeouts.efs_seconds,
                )
                .await?
            }
        };
        jobs.push(efs_job);
        let mut set = JobSet::new(
            OP,
            plan.tenant_id.as_str(),
            &plan.backup_id,
            jobs,
            plan.polling,
        )
        .recorded_as(plan.kind);
        set.wait_seconds = plan.first_wait_seconds();
        Ok(set)
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
            .backup_vault_name(&self.vault.name)
            .resource_arn(&fs_arn)
            .iam_role_arn(&self.vault.role_arn)
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
        let o = overrides.cloned().unwrap_or_default();
        o.refuse(OP, "serviceSeconds")?;
        Ok(BackupTimeouts {
            efs_seconds: o.seconds(OP, "efsSeconds", defaults.efs_backup)?,
            database_seconds: o.seconds(OP, "databaseSeconds", defaults.database_backup)?,
            copy_seconds: o.seconds(OP, "copySeconds", defaults.copy)?,
        })
    }

    /// Jobs that hold `resource_arn` now, whoever started them.
    async fn active_jobs(&self, resource_arn: &str, now: i64) -> Result<Vec<BackupJob>, Error> {
        let jobs = self.recent_jobs(resource_arn, now).await?;
        Ok(jobs.into_iter().filter(|j| is_active(j.state())).collect())
    }

    /// The fleet's job `job_id`, which must be a backup of the shared file system `fs_arn`.
    async fn shared_job(
        &self,
        job_id: &str,
        fs_arn: &str,
    ) -> Result<DescribeBackupJobOutput, Error> {
        let job = self
            .backup
            .describe_backup_job()
            .backup_job_id(job_id)
            .send()
            .await
            .map_err(|e| OP.aws(&format!("describing backup job {job_id}"), e))?;
        if job.resource_arn() != Some(fs_arn) {
            return Err(OP.bad_request(format!(
                "backup job {} is not a backup of the shared file system {fs_arn}",
                crate::error::echo(job_id)
            )));
        }
        Ok(job)
    }

    /// Every job of `resource_arn` of the last week, newest first as AWS lists them.
    async fn recent_jobs(&self, resource_arn: &str, now: i64) -> Result<Vec<BackupJob>, Error> {
        self.backup
            .list_backup_jobs()
            .by_resource_arn(resource_arn)
            .by_created_after(DateTime::from_secs(now - RUNNING_JOB_LOOKBACK_SECONDS))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| OP.aws(&format!("listing backup jobs of {resource_arn}"), e))
    }

    async fn start_job(
        &self,
        execution_id: &str,
        plan: &BackupPlan,
        resource_arn: &str,
        resource: ResourceKind,
        timeout_seconds: u64,
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
        let manifest = match (resource, &plan.manifest) {
            (ResourceKind::Efs, Some(m)) => Some(m.to_tag()),
            _ => None,
        };
        let mut start = self
            .backup
            .start_backup_job()
            .backup_vault_name(&self.vault.name)
            .resource_arn(resource_arn)
            .iam_role_arn(&self.vault.role_arn)
            .idempotency_token(idempotency_token(execution_id, "backup", resource_arn))
            .start_window_minutes(60)
            .complete_window_minutes(120)
            .lifecycle(lifecycle)
            .recovery_point_tags(tags::TENANT_ID, plan.tenant_id.as_str())
            .recovery_point_tags(tags::BACKUP_ID, &plan.backup_id)
            .recovery_point_tags(tags::BACKUP_TYPE, plan.kind.as_str())
            .recovery_point_tags(tags::COMPONENT, resource.component());
        if let Some(manifest) = manifest {
            start = start.recovery_point_tags(tags::MANIFEST, manifest);
        }
        let started = start
            .send()
            .await
            .map_err(|e| OP.aws(&format!("starting a backup job of {resource_arn}"), e))?;
        let job_id = started.backup_job_id().ok_or_else(|| {
            OP.failed(format!(
                "AWS Backup started a job of {resource_arn} without a job id"
            ))
        })?;
        tracing::info!(job_id, resource_arn, "backup job started");
        Ok(Job::new(
            JobKind::Backup,
            resource,
            resource_arn,
            job_id,
            JobState::Created,
            now,
            timeout_seconds,
        )
        .in_vault(&self.vault.name)
        .with_recovery_point(started.recovery_point_arn().map(str::to_owned)))
    }
}
