//! Watching AWS jobs (`poll-job`) and copying recovery points to the disaster-recovery vault
//! (`copy-to-dr`). Both take and return a [`JobSet`], the shape the state machines' wait loops
//! pass round.

use aws_sdk_backup::types::Lifecycle;
use aws_sdk_ecs::types::DeploymentRolloutState;

use crate::config::Config;
use crate::error::{Error, Operation};
use crate::model::{idempotency_token, tags, Clock, Job, JobKind, JobSet, ResourceKind};
use crate::resolve::service_target;

const COMPLETED: &str = "COMPLETED";
/// States in which a job has ended without doing all its work. PARTIAL counts: a backup
/// that silently missed items is worse than a failed one.
const FAILED_STATES: [&str; 4] = ["FAILED", "ABORTED", "EXPIRED", "PARTIAL"];

pub struct JobWatcher<'a> {
    pub backup: &'a aws_sdk_backup::Client,
    /// Needed only to watch deployments.
    pub ecs: Option<&'a aws_sdk_ecs::Client>,
    /// Needed only to watch DB instances being created.
    pub rds: Option<&'a aws_sdk_rds::Client>,
    pub clock: Clock,
}

/// What AWS said about a job just now.
#[derive(Default)]
struct Seen {
    state: String,
    status_message: Option<String>,
    recovery_point_arn: Option<String>,
    created_resource_arn: Option<String>,
}

impl JobWatcher<'_> {
    /// Describes every job not yet complete and says what the set amounts to: done, still
    /// running (with the next wait), failed or timed out (as the operation's named error).
    pub async fn poll(&self, mut set: JobSet) -> Result<JobSet, Error> {
        let op = set.operation;
        for job in set.jobs.iter_mut().filter(|j| j.state != COMPLETED) {
            let seen = self.describe(op, job).await?;
            // Every tenant backup names the shared file-system recovery point it used, whether
            // its own job made it or it joined another's (a fleet's tenants share one).
            if job.kind == JobKind::Backup
                && job.resource == ResourceKind::Efs
                && seen.state == COMPLETED
            {
                let rp = seen
                    .recovery_point_arn
                    .as_deref()
                    .or(job.recovery_point_arn.as_deref());
                if let Some(rp) = rp {
                    self.tag_joined(op, rp, &set.tenant_id, &set.backup_id)
                        .await?;
                }
            }
            job.state = seen.state;
            job.status_message = seen.status_message;
            if seen.recovery_point_arn.is_some() {
                job.recovery_point_arn = seen.recovery_point_arn;
            }
            if seen.created_resource_arn.is_some() {
                job.created_resource_arn = seen.created_resource_arn;
            }
        }

        let failed: Vec<String> = set
            .jobs
            .iter()
            .filter(|j| FAILED_STATES.contains(&j.state.as_str()))
            .map(describe_failure)
            .collect();
        if !failed.is_empty() {
            return Err(op.failed(failed.join("; ")));
        }
        if set.jobs.iter().all(|j| j.state == COMPLETED) {
            set.done = true;
            set.wait_seconds = 0;
            return Ok(set);
        }

        let now = self.clock.now();
        let late: Vec<String> = set
            .jobs
            .iter()
            .filter(|j| j.state != COMPLETED && now > j.deadline)
            .map(|j| {
                format!(
                    "{} job {} on {} is still {} past its deadline ({} s late); it was left \
                     running and may still complete",
                    kind_name(j.kind),
                    j.job_id,
                    j.resource_arn,
                    j.state,
                    now - j.deadline
                )
            })
            .collect();
        if !late.is_empty() {
            return Err(op.timeout(late.join("; ")));
        }
        set.attempt = set.attempt.saturating_add(1);
        set.wait_seconds = set.polling.wait_after(set.attempt);
        Ok(set)
    }

    /// Tags a shared file-system recovery point `bbws:backup:<backup id>` = `<tenant id>`, so a
    /// restore finds it by this tenant backup's id even when another backup made it.
    async fn tag_joined(
        &self,
        op: Operation,
        recovery_point_arn: &str,
        tenant_id: &str,
        backup_id: &str,
    ) -> Result<(), Error> {
        self.backup
            .tag_resource()
            .resource_arn(recovery_point_arn)
            .tags(
                format!("{}{backup_id}", tags::JOINED_BACKUP_PREFIX),
                tenant_id,
            )
            .send()
            .await
            .map_err(|e| op.aws(&format!("tagging recovery point {recovery_point_arn}"), e))?;
        Ok(())
    }

    async fn describe(&self, op: Operation, job: &Job) -> Result<Seen, Error> {
        match job.kind {
            JobKind::Backup => {
                let out = self
                    .backup
                    .describe_backup_job()
                    .backup_job_id(&job.job_id)
                    .send()
                    .await
                    .map_err(|e| op.aws(&format!("describing backup job {}", job.job_id), e))?;
                Ok(Seen {
                    state: out
                        .state()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    status_message: out.status_message().map(str::to_owned),
                    recovery_point_arn: out.recovery_point_arn().map(str::to_owned),
                    ..Seen::default()
                })
            }
            JobKind::Copy => {
                let out = self
                    .backup
                    .describe_copy_job()
                    .copy_job_id(&job.job_id)
                    .send()
                    .await
                    .map_err(|e| op.aws(&format!("describing copy job {}", job.job_id), e))?;
                let copy = out.copy_job();
                Ok(Seen {
                    state: copy
                        .and_then(|c| c.state())
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    status_message: copy.and_then(|c| c.status_message()).map(str::to_owned),
                    recovery_point_arn: copy
                        .and_then(|c| c.destination_recovery_point_arn())
                        .map(str::to_owned),
                    ..Seen::default()
                })
            }
            JobKind::Restore => {
                let out = self
                    .backup
                    .describe_restore_job()
                    .restore_job_id(&job.job_id)
                    .send()
                    .await
                    .map_err(|e| op.aws(&format!("describing restore job {}", job.job_id), e))?;
                Ok(Seen {
                    state: out
                        .status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    status_message: out.status_message().map(str::to_owned),
                    created_resource_arn: out.created_resource_arn().map(str::to_owned),
                    ..Seen::default()
                })
            }
            JobKind::Deployment => self.deployment(op, job).await,
            JobKind::Database => self.db_instance(op, job).await,
        }
    }

    /// A DB instance is done when `available`; it has failed in a state it will not leave
    /// by itself.
    async fn db_instance(&self, op: Operation, job: &Job) -> Result<Seen, Error> {
        let rds = self
            .rds
            .ok_or_else(|| op.failed("this function cannot watch DB instances"))?;
        let instance = crate::database::describe_instance(rds, op, &job.job_id).await?;
        let status = instance.db_instance_status().unwrap_or("unknown");
        Ok(Seen {
            state: crate::database::job_state_of(status).to_owned(),
            status_message: Some(format!("DB instance {} is {status}", job.job_id)),
            ..Seen::default()
        })
    }

    /// A forced deployment is done when the service is stable: one deployment left, its
    /// rollout COMPLETED, and as many tasks running as desired.
    async fn deployment(&self, op: Operation, job: &Job) -> Result<Seen, Error> {
        let ecs = self
            .ecs
            .ok_or_else(|| op.failed("this function cannot watch ECS deployments"))?;
        let target = service_target(&job.resource_arn)
            .ok_or_else(|| op.failed(format!("{} is not an ECS service ARN", job.resource_arn)))?;
        let out = ecs
            .describe_services()
            .cluster(&target.cluster)
            .services(&target.name)
            .send()
            .await
            .map_err(|e| op.aws(&format!("describing service {}", target.arn), e))?;
        let Some(service) = out.services().first() else {
            return Ok(Seen {
                state: "FAILED".into(),
                status_message: Some(format!("service {} no longer exists", target.arn)),
                ..Seen::default()
            });
        };
        let deployments = service.deployments();
        let ours = deployments
            .iter()
            .find(|d| d.id() == Some(job.job_id.as_str()));
        let rollout = ours.and_then(|d| d.rollout_state());
        if rollout == Some(&DeploymentRolloutState::Failed) {
            return Ok(Seen {
                state: "FAILED".into(),
                status_message: ours
                    .and_then(|d| d.rollout_state_reason())
                    .map(str::to_owned),
                ..Seen::default()
            });
        }
        let stable = deployments.len() == 1
            && rollout == Some(&DeploymentRolloutState::Completed)
            && service.running_count() == service.desired_count();
        Ok(Seen {
            state: if stable { COMPLETED } else { "RUNNING" }.into(),
            status_message: Some(format!(
                "{} deployment(s), {} of {} tasks running",
                deployments.len(),
                service.running_count(),
                service.desired_count()
            )),
            ..Seen::default()
        })
    }
}

fn kind_name(kind: JobKind) -> &'static str {
    match kind {
        JobKind::Backup => "backup",
        JobKind::Copy => "copy",
        JobKind::Restore => "restore",
        JobKind::Deployment => "deployment",
        JobKind::Database => "database instance",
    }
}

fn describe_failure(job: &Job) -> String {
    format!(
        "{} job {} on {} ended {}: {}",
        kind_name(job.kind),
        job.job_id,
        job.resource_arn,
        job.state,
        job.status_message
            .as_deref()
            .unwrap_or("AWS Backup gave no reason")
    )
}

pub struct DrCopier<'a> {
    pub config: &'a Config,
    pub backup: &'a aws_sdk_backup::Client,
    pub clock: Clock,
}

impl DrCopier<'_> {
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
            match (job.state.as_str(), job.recovery_point_arn.as_deref()) {
                (COMPLETED, Some(rp)) => sources.push((job, rp)),
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
                .destination_backup_vault_arn(&self.config.dr_vault_arn)
                .iam_role_arn(&self.config.backup_role_arn)
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
            copies.push(Job {
                kind: JobKind::Copy,
                resource: job.resource,
                resource_arn: rp.to_owned(),
                job_id: copy_job_id.to_owned(),
                recovery_point_arn: None,
                vault: self.config.dr_vault_arn.clone(),
                state: "CREATED".to_owned(),
                joined: false,
                deadline: now + timeout_seconds as i64,
                status_message: None,
                created_resource_arn: None,
                started_at: now,
            });
        }
        let watcher = JobWatcher {
            backup: self.backup,
            ecs: None,
            rds: None,
            clock: self.clock,
        };
        let set = JobSet {
            operation: op,
            tenant_id: backups.tenant_id.clone(),
            backup_id: backups.backup_id.clone(),
            jobs: copies,
            done: false,
            attempt: 0,
            wait_seconds: backups.polling.initial_seconds,
            polling: backups.polling,
        };
        watcher.poll(set).await
    }
}
