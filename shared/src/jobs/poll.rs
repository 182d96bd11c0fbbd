//! `poll-job`: describes every job of a [`JobSet`] not yet complete and says what the set
//! amounts to: done, still running (with the next wait), failed or timed out (as the
//! operation's named error). Backup, copy and restore jobs, ECS deployments and DB instances
//! are watched alike.

#[cfg(feature = "sdk-ecs")]
use aws_sdk_ecs::types::DeploymentRolloutState;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use super::{Clock, Job, JobKind, JobSet, JobState};
use crate::aws::ResourceKind;
use crate::error::{Error, Operation};
use crate::runtime::{encode, parse};
use crate::tags;

/// RDS instance states after which the instance will not become available by itself.
const FAILED_DB_STATES: [&str; 6] = [
    "failed",
    "incompatible-restore",
    "incompatible-parameters",
    "incompatible-network",
    "storage-full",
    "inaccessible-encryption-credentials",
];

/// What a DB instance's status means as a job: COMPLETED once available, FAILED in a state
/// it will not leave by itself, else the status as RDS gives it.
pub fn job_state_of(db_status: &str) -> JobState {
    if db_status == "available" {
        JobState::Completed
    } else if FAILED_DB_STATES.contains(&db_status) {
        JobState::Failed
    } else {
        JobState::from(db_status)
    }
}

pub struct JobWatcher {
    pub backup: aws_sdk_backup::Client,
    /// Needed only to watch deployments.
    #[cfg(feature = "sdk-ecs")]
    pub ecs: Option<aws_sdk_ecs::Client>,
    /// Needed only to watch DB instances being created.
    #[cfg(feature = "sdk-rds")]
    pub rds: Option<aws_sdk_rds::Client>,
    /// Where a completed tenant backup is recorded (poll-job; not the copier's watcher).
    #[cfg(feature = "sdk-dynamodb")]
    pub catalog: Option<crate::catalog::Catalog>,
    pub clock: Clock,
}

/// `poll-job` watches every kind of job: it builds the ECS and RDS clients too.
#[cfg(all(feature = "sdk-ecs", feature = "sdk-rds", feature = "sdk-dynamodb"))]
impl crate::runtime::Service for JobWatcher {
    fn build(
        sdk: &aws_config::SdkConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, crate::config::ConfigError> {
        let config = crate::config::Config::from_lookup(lookup)?;
        Ok(Self {
            backup: aws_sdk_backup::Client::new(sdk),
            ecs: Some(aws_sdk_ecs::Client::new(sdk)),
            rds: Some(aws_sdk_rds::Client::new(sdk)),
            catalog: Some(crate::catalog::Catalog::from_lookup(
                sdk,
                lookup,
                config.retention.dr_delete_after_days,
            )?),
            clock: Clock::System,
        })
    }
}

/// The operation a poll is for, read before the rest so a malformed restore poll is named
/// as a restore error.
fn operation_of(event: &Value) -> Operation {
    match event.get("operation").and_then(Value::as_str) {
        Some("restore") => Operation::Restore,
        _ => Operation::Backup,
    }
}

/// The `poll-job` handler.
pub async fn handler(event: LambdaEvent<Value>, watcher: &JobWatcher) -> Result<Value, Error> {
    let op = operation_of(&event.payload);
    let set: JobSet = parse(op, "poll-job", event.payload)?;
    encode(op, &watcher.poll(set).await?)
}

/// What AWS said about a job just now.
#[derive(Default)]
struct Seen {
    state: JobState,
    status_message: Option<String>,
    recovery_point_arn: Option<String>,
    created_resource_arn: Option<String>,
    created_at: Option<i64>,
    completed_at: Option<i64>,
}

impl JobWatcher {
    /// A watcher of AWS Backup's jobs only.
    pub fn backup_jobs(backup: aws_sdk_backup::Client, clock: Clock) -> Self {
        Self {
            backup,
            #[cfg(feature = "sdk-ecs")]
            ecs: None,
            #[cfg(feature = "sdk-rds")]
            rds: None,
            #[cfg(feature = "sdk-dynamodb")]
            catalog: None,
            clock,
        }
    }

    /// Describes every job not yet complete and says what the set amounts to.
    pub async fn poll(&self, mut set: JobSet) -> Result<JobSet, Error> {
        let op = set.operation;
        for job in set.jobs.iter_mut().filter(|j| !j.state.is_completed()) {
            let seen = self.describe(op, job).await?;
            job.state = seen.state;
            job.status_message = seen.status_message;
            if seen.recovery_point_arn.is_some() {
                job.recovery_point_arn = seen.recovery_point_arn;
            }
            if seen.created_resource_arn.is_some() {
                job.created_resource_arn = seen.created_resource_arn;
            }
            job.created_at = seen.created_at.or(job.created_at);
            job.completed_at = seen.completed_at.or(job.completed_at);
        }

        let failed: Vec<String> = set
            .jobs
            .iter()
            .filter(|j| j.state.has_failed())
            .map(Job::failure)
            .collect();
        if !failed.is_empty() {
            return Err(op.failed(failed.join("; ")));
        }
        if set.jobs.iter().all(|j| j.state.is_completed()) {
            self.note_membership(&set).await?;
            #[cfg(feature = "sdk-dynamodb")]
            self.record(&set).await?;
            set.done = true;
            set.wait_seconds = 0;
            return Ok(set);
        }

        let now = self.clock.now();
        let late: Vec<String> = set
            .jobs
            .iter()
            .filter(|j| !j.state.is_completed() && now > j.deadline)
            .map(|j| {
                format!(
                    "{} job {} on {} is still {} past its deadline ({} s late); it was left \
                     running and may still complete",
                    j.kind.name(),
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

    /// Records a completed tenant backup in the catalog: each of its recovery points, as AWS
    /// Backup describes it. Conditional writes: a repeated poll records nothing twice.
    #[cfg(feature = "sdk-dynamodb")]
    async fn record(&self, set: &JobSet) -> Result<(), Error> {
        let (Some(catalog), Some(kind)) = (&self.catalog, set.backup_kind) else {
            return Ok(());
        };
        let op = set.operation;
        for job in set.jobs.iter().filter(|j| j.kind == JobKind::Backup) {
            let Some(arn) = &job.recovery_point_arn else {
                continue;
            };
            let point = crate::catalog::describe_point(&self.backup, op, &job.vault, arn).await?;
            let component = match job.resource {
                ResourceKind::Efs => crate::catalog::Component::Files,
                _ => crate::catalog::Component::Database,
            };
            let time = crate::catalog::backup_time(&set.backup_id).unwrap_or(point.created_at);
            catalog
                .record_point(
                    op,
                    &set.tenant_id,
                    &set.backup_id,
                    kind,
                    time,
                    component,
                    &point,
                )
                .await?;
        }
        Ok(())
    }

    /// Notes which shared file-system point a tenant backup that joined it holds, where a
    /// catalog rebuild reads it back: on the backup's own database point (`bbws:files-point`),
    /// one tag per tenant, since a shared point takes at most 50 tags ("Metadata tags per
    /// backup: 50", https://docs.aws.amazon.com/aws-backup/latest/devguide/aws-backup-limits.html).
    /// AWS Backup's TagResource tags RDS recovery points too
    /// (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_TagResource.html). A
    /// backup without a database of its own tags the shared point as before.
    async fn note_membership(&self, set: &JobSet) -> Result<(), Error> {
        let kind = set.backup_kind.unwrap_or_default();
        let backups = || set.jobs.iter().filter(|j| j.kind == JobKind::Backup);
        let Some(files) = backups()
            .find(|j| j.resource == ResourceKind::Efs && j.joined)
            .and_then(|j| j.recovery_point_arn.as_deref())
        else {
            return Ok(());
        };
        let database = backups()
            .find(|j| j.resource != ResourceKind::Efs)
            .and_then(|j| j.recovery_point_arn.as_deref());
        let op = set.operation;
        let (arn, key, value) = match database {
            Some(db) => (db, tags::FILES_POINT.to_owned(), files.to_owned()),
            None => (
                files,
                format!("{}{}", tags::JOINED_BACKUP_PREFIX, set.backup_id),
                crate::catalog::joined_tag_value(&set.tenant_id, kind),
            ),
        };
        self.backup
            .tag_resource()
            .resource_arn(arn)
            .tags(key, value)
            .send()
            .await
            .map_err(|e| op.aws(&format!("tagging recovery point {arn}"), e))?;
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
                    state: out.state().map(|s| s.as_str()).unwrap_or_default().into(),
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
                        .map(|s| s.as_str())
                        .unwrap_or_default()
                        .into(),
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
                    state: out.status().map(|s| s.as_str()).unwrap_or_default().into(),
                    status_message: out.status_message().map(str::to_owned),
                    created_resource_arn: out.created_resource_arn().map(str::to_owned),
                    // The job's own run: promotion finds the directory it wrote by it.
                    created_at: out.creation_date().map(|d| d.secs()),
                    completed_at: out
                        .completion_date()
                        .map(|d| d.secs() + i64::from(d.subsec_nanos() > 0)),
                    ..Seen::default()
                })
            }
            JobKind::Deployment => self.deployment(op, job).await,
            JobKind::Database => self.db_instance(op, job).await,
        }
    }

    /// A DB instance is done when `available`; it has failed in a state it will not leave
    /// by itself.
    #[cfg(feature = "sdk-rds")]
    async fn db_instance(&self, op: Operation, job: &Job) -> Result<Seen, Error> {
        let rds = self
            .rds
            .as_ref()
            .ok_or_else(|| op.failed("this function cannot watch DB instances"))?;
        let instance = crate::aws::rds::describe_instance(rds, op, &job.job_id).await?;
        let status = instance.db_instance_status().unwrap_or("unknown");
        Ok(Seen {
            state: job_state_of(status),
            status_message: Some(format!("DB instance {} is {status}", job.job_id)),
            ..Seen::default()
        })
    }

    #[cfg(not(feature = "sdk-rds"))]
    async fn db_instance(&self, op: Operation, _: &Job) -> Result<Seen, Error> {
        Err(op.failed("this function cannot watch DB instances"))
    }

    /// A forced deployment is done when the service is stable: one deployment left, its
    /// rollout COMPLETED, and as many tasks running as desired.
    #[cfg(feature = "sdk-ecs")]
    async fn deployment(&self, op: Operation, job: &Job) -> Result<Seen, Error> {
        let ecs = self
            .ecs
            .as_ref()
            .ok_or_else(|| op.failed("this function cannot watch ECS deployments"))?;
        let target = crate::aws::service_target(&job.resource_arn)
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
                state: JobState::Failed,
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
                state: JobState::Failed,
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
            state: if stable {
                JobState::Completed
            } else {
                JobState::Running
            },
            status_message: Some(format!(
                "{} deployment(s), {} of {} tasks running",
                deployments.len(),
                service.running_count(),
                service.desired_count()
            )),
            ..Seen::default()
        })
    }

    #[cfg(not(feature = "sdk-ecs"))]
    async fn deployment(&self, op: Operation, _: &Job) -> Result<Seen, Error> {
        Err(op.failed("this function cannot watch ECS deployments"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_states_map_to_job_states() {
        assert_eq!(job_state_of("available"), JobState::Completed);
        assert_eq!(job_state_of("creating").as_str(), "creating");
        assert_eq!(job_state_of("incompatible-restore"), JobState::Failed);
        assert_eq!(job_state_of("storage-full"), JobState::Failed);
    }
}
