//! `copy-to-dr`: copies a backup's completed recovery points to the disaster-recovery vault,
//! then watches the copies like any other job set.

use aws_config::SdkConfig;
use aws_sdk_backup::types::Lifecycle;
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde_json::Value;

use super::poll::JobWatcher;
use super::{idempotency_token, Clock, Job, JobKind, JobSet, JobState};
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
            let started = self
                .backup
                .start_copy_job()
                .recovery_point_arn(rp)
                .source_backup_vault_name(&job.vault)
                .destination_backup_vault_arn(&self.dr_vault.arn)
                .iam_role_arn(&self.dr_vault.role_arn)
                .idempotency_token(idempotency_token(execution_id, "copy", rp))
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
            copies.push(
                Job::new(
                    JobKind::Copy,
                    job.resource,
                    rp,
                    copy_job_id,
                    JobState::Created,
                    now,
                    timeout_seconds,
                )
                .in_vault(&self.dr_vault.arn),
            );
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
}
