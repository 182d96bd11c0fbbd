//! `copy-to-dr`: copies a backup's completed recovery points to the disaster-recovery vault,
//! then watches the copies like any other job set.

use aws_config::SdkConfig;
use aws_sdk_backup::types::Lifecycle;
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde_json::Value;

use super::poll::JobWatcher;
use super::{idempotency_token, Clock, Job, JobKind, JobSet, JobState};
use crate::aws::ResourceKind;
use crate::config::{Config, ConfigError, DrVault};
use crate::error::{Error, Operation};
use crate::runtime::{encode, parse, Service};

pub struct DrCopier {
    pub config: Config,
    pub dr_vault: DrVault,
    pub backup: aws_sdk_backup::Client,
    pub clock: Clock,
}

impl Service for DrCopier {
    fn build(
        sdk: &SdkConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            config: Config::from_lookup(lookup)?,
            dr_vault: DrVault::from_lookup(&lookup)?,
            backup: aws_sdk_backup::Client::new(sdk),
            clock: Clock::System,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CopyInput {
    execution_id: String,
    backups: JobSet,
    timeout_seconds: Option<u64>,
}

/// The `copy-to-dr` handler.
pub async fn handler(event: LambdaEvent<Value>, copier: &DrCopier) -> Result<Value, Error> {
    let input: CopyInput = parse(Operation::Backup, "copy-to-dr", event.payload)?;
    let timeout = input.timeout_seconds.unwrap_or(copier.config.timeouts.copy);
    encode(
        Operation::Backup,
        &copier
            .copy(&input.execution_id, &input.backups, timeout)
            .await?,
    )
}

impl DrCopier {
    /// Starts a copy of each completed recovery point to the DR vault and describes each
    /// once. The result is a set of copy jobs, done when every copy already completed.
    pub async fn copy(
        &self,
        execution_id: &str,
        backups: &JobSet,
        timeout_seconds: u64,
    ) -> Result<JobSet, Error> {
        let op = Operation::Backup;
        let now = self.clock.now();
        // Every recovery point must exist before any copy starts: a refusal half-way would
        // leave some copies started and others not.
        let mut sources = Vec::new();
        for job in &backups.jobs {
            match (job.state.is_completed(), job.recovery_point_arn.as_deref()) {
                (true, Some(rp)) => sources.push((job, rp)),
                _ => {
                    return Err(op.failed(format!(
                        "backup job {} on {} is {} without a recovery point: nothing to copy",
                        job.job_id, job.resource_arn, job.state
                    )))
                }
            }
        }
        let mut copies = Vec::new();
        for (job, rp) in sources {
            // The shared file system's point is every tenant's: it is copied once, whoever
            // asks first, and the others use that copy (running or done).
            let copy = if job.resource == ResourceKind::Efs {
                self.shared_copy(rp, &job.vault, now, timeout_seconds)
                    .await?
            } else {
                let token = idempotency_token(execution_id, "copy", rp);
                let id = self.start_copy(rp, &job.vault, &token).await?;
                Job::new(
                    JobKind::Copy,
                    job.resource,
                    rp,
                    id,
                    JobState::Created,
                    now,
                    timeout_seconds,
                )
                .in_vault(&self.dr_vault.arn)
            };
            copies.push(copy);
        }
        let set = JobSet::new(
            op,
            &backups.tenant_id,
            &backups.backup_id,
            copies,
            backups.polling,
        );
        JobWatcher::backup_jobs(self.backup.clone(), self.clock)
            .poll(set)
            .await
    }

    /// Starts one copy of `rp` to the DR vault; answers the copy job's id.
    async fn start_copy(&self, rp: &str, vault: &str, token: &str) -> Result<String, Error> {
        let op = Operation::Backup;
        let started = self
            .backup
            .start_copy_job()
            .recovery_point_arn(rp)
            .source_backup_vault_name(vault)
            .destination_backup_vault_arn(&self.dr_vault.arn)
            .iam_role_arn(&self.dr_vault.role_arn)
            .idempotency_token(token)
            .lifecycle(
                Lifecycle::builder()
                    .delete_after_days(self.config.retention.dr_delete_after_days)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| op.aws(&format!("starting a copy of {rp} to the DR vault"), e))?;
        let copy_job_id = started.copy_job_id().ok_or_else(|| {
            op.failed(format!(
                "AWS Backup started a copy of {rp} without a job id"
            ))
        })?;
        tracing::info!(copy_job_id, recovery_point = rp, "copy to DR started");
        Ok(copy_job_id.to_owned())
    }

    /// The one copy of a shared file-system point to the DR vault: a copy already made or
    /// under way (by a tenant, a fleet run or the plan's copy action) is joined; else one is
    /// started with a token that depends only on the point and on how many copies of it
    /// failed, so tenants racing here get AWS Backup's one job back ("retrying a successful
    /// request with the same idempotency token results in a success message with no action
    /// taken": https://docs.aws.amazon.com/aws-backup/latest/devguide/API_StartCopyJob.html),
    /// and a retry after a failed copy starts a new one.
    async fn shared_copy(
        &self,
        rp: &str,
        vault: &str,
        now: i64,
        timeout_seconds: u64,
    ) -> Result<Job, Error> {
        let op = Operation::Backup;
        let listed = self
            .backup
            .list_copy_jobs()
            .by_source_recovery_point_arn(rp)
            .by_destination_vault_arn(&self.dr_vault.arn)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| op.aws(&format!("listing the copy jobs of {rp}"), e))?;
        let mut failed = 0;
        let mut usable = None;
        for copy in &listed {
            let state = JobState::from(copy.state().map(|s| s.as_str()).unwrap_or_default());
            if state.has_failed() {
                failed += 1;
            } else if usable.is_none() || state.is_completed() {
                usable = Some((copy, state));
            }
        }
        if let Some((copy, state)) = usable {
            let id = copy.copy_job_id().unwrap_or_default();
            tracing::info!(copy_job_id = id, recovery_point = rp, %state, "joined the DR copy");
            // A completed copy is recorded as not yet read, so the poll reads its point.
            let state = if state.is_completed() {
                JobState::Unknown
            } else {
                state
            };
            return Ok(Job::new(
                JobKind::Copy,
                ResourceKind::Efs,
                rp,
                id,
                state,
                now,
                timeout_seconds,
            )
            .in_vault(&self.dr_vault.arn)
            .joined());
        }
        let token = idempotency_token(&format!("shared-copy-{failed}"), &self.dr_vault.arn, rp);
        let id = self.start_copy(rp, vault, &token).await?;
        Ok(Job::new(
            JobKind::Copy,
            ResourceKind::Efs,
            rp,
            id,
            JobState::Created,
            now,
            timeout_seconds,
        )
        .in_vault(&self.dr_vault.arn))
    }
}
