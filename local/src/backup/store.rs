//! The stand-in's state, all in memory behind one mutex (never held across an await), and
//! the look-ups every operation shares.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

use super::error::ApiError;
use super::faults::Faults;
use super::model::{Detail, Job, JobKind, JobState, Outcome, RecoveryPoint, Vault};
use super::rds::Rds;
use crate::config::{CopyQuota, JobDurations};

/// AWS's wording for a backup job that could not start because another job held its
/// resource: the status message of AWS's example EXPIRED "Backup Job State Change" event
/// (https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html).
pub const RUNNING_JOB_MESSAGE: &str =
    "Backup job failed because there was a running job for the same resource.";

pub struct Settings {
    pub state_dir: PathBuf,
    pub efs_root: PathBuf,
    pub durations: JobDurations,
    /// RDS in moto, where a database restore creates its instance or cluster.
    pub rds: Rds,
    /// The local database server behind RDS, when the stack runs one.
    pub databases: Option<super::database::Databases>,
    /// The tags of backed-up resources in moto, which their recovery points copy.
    pub source_tags: super::source_tags::SourceTags,
    /// Where each job's state changes are announced (EventBridge in moto).
    pub events: super::events::Events,
    /// How many copy jobs may run at once into a destination region.
    pub copy_quota: CopyQuota,
}

impl Settings {
    /// Where recovery point `id`'s snapshot lives.
    pub fn recovery_point_dir(&self, id: &str) -> PathBuf {
        self.state_dir.join("recovery-points").join(id)
    }

    /// The directory that is EFS file system `fs_id`.
    pub fn file_system_dir(&self, fs_id: &str) -> PathBuf {
        self.efs_root.join(fs_id)
    }
}

pub struct Store {
    state: Mutex<State>,
    pub settings: Settings,
}

#[derive(Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// By ARN.
    pub vaults: BTreeMap<String, Vault>,
    /// By job id.
    pub jobs: BTreeMap<String, Job>,
    /// By ARN.
    pub recovery_points: BTreeMap<String, RecoveryPoint>,
    /// (kind, idempotency token) → job id.
    #[serde(skip)]
    pub tokens: HashMap<(JobKind, String), String>,
    pub faults: Faults,
}

impl Store {
    pub fn new(settings: Settings) -> Self {
        Store {
            state: Mutex::new(State::default()),
            settings,
        }
    }

    /// Runs `f` on the state under the lock. A panic elsewhere must not make the whole
    /// stand-in unusable, so a poisoned lock is taken over.
    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut state)
    }

    /// How long a job of `kind` started now takes.
    pub fn job_seconds(&self, state: &State, kind: JobKind) -> f64 {
        if let Some(slow) = state.faults.slow_seconds {
            return slow;
        }
        let d = &self.settings.durations;
        match kind {
            JobKind::Backup => d.backup,
            JobKind::Copy => d.copy,
            JobKind::Restore => d.restore,
        }
        .as_secs_f64()
    }
}

/// How long a restore's idempotency token replays its job (see [`State::replay`]).
const TOKEN_SECONDS: f64 = 3600.0;

impl State {
    pub fn vault(&self, region: &str, name: &str) -> Result<&Vault, ApiError> {
        self.vault_by_arn(&super::model::vault_arn(region, name))
    }

    pub fn vault_by_arn(&self, arn: &str) -> Result<&Vault, ApiError> {
        self.vaults
            .get(arn)
            .ok_or_else(|| ApiError::not_found(format!("Backup vault {arn} does not exist.")))
    }

    /// A job of `kind` started in `region` (jobs are regional, as in AWS).
    pub fn job(&self, kind: JobKind, region: &str, id: &str) -> Result<&Job, ApiError> {
        let found = self.jobs.get(id);
        found
            .filter(|j| j.kind == kind && j.region == region)
            .ok_or_else(|| {
                ApiError::not_found(format!("Cannot find {} job with ID {id}.", kind.as_str()))
            })
    }

    pub fn recovery_point(&self, arn: &str) -> Result<&RecoveryPoint, ApiError> {
        self.recovery_points
            .get(arn)
            .ok_or_else(|| ApiError::not_found(format!("Recovery point {arn} was not found.")))
    }

    /// A recovery point that must be in vault `vault_arn`.
    pub fn recovery_point_in(
        &self,
        vault_arn: &str,
        arn: &str,
    ) -> Result<&RecoveryPoint, ApiError> {
        self.recovery_points
            .get(arn)
            .filter(|rp| rp.vault_arn == vault_arn)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "Recovery point {arn} was not found in backup vault {vault_arn}."
                ))
            })
    }

    /// The job an idempotency token already started, if any. A restore's token lasts an
    /// hour: "Idempotency tokens time out after one hour" (StartRestoreJob's
    /// IdempotencyToken, https://docs.aws.amazon.com/aws-backup/latest/devguide/API_StartRestoreJob.html);
    /// after that the same token starts a new job.
    pub fn replay(&self, kind: JobKind, token: Option<&str>) -> Option<&Job> {
        let id = self.tokens.get(&(kind, token?.to_owned()))?;
        self.jobs
            .get(id)
            .filter(|j| kind != JobKind::Restore || crate::ids::now() - j.created < TOKEN_SECONDS)
    }

    /// Whether `job` holds its resource: "Concurrent backup and copy jobs per resource: 1"
    /// (https://docs.aws.amazon.com/aws-backup/latest/devguide/aws-backup-limits.html). A
    /// backup holds it from its start until it ends, unless it is set to expire (it never
    /// runs); a copy holds the resource its recovery point is of while it runs, not while it
    /// waits in CREATED for its turn.
    pub fn holds_resource(job: &Job) -> bool {
        match job.kind {
            JobKind::Backup => job.state.is_active() && !matches!(job.outcome, Outcome::Expire(_)),
            JobKind::Copy => job.state == JobState::Running,
            JobKind::Restore => false,
        }
    }

    /// Whether a backup or copy job holds `resource_arn` now.
    pub fn resource_busy(&self, resource_arn: &str) -> bool {
        self.jobs
            .values()
            .any(|j| j.resource.arn == resource_arn && Self::holds_resource(j))
    }

    /// How a job being started will end: an injected fault first, else an expiry when a
    /// backup finds its resource held, else completion.
    ///
    /// AWS queues a backup whose resource is held: "additional scheduled or on-demand backup
    /// requests for the resource are queued and will start only after the existing backup
    /// job is completed. If the backup job is not started or completed within the backup
    /// window, the request fails" (https://docs.aws.amazon.com/timestream/latest/developerguide/backups-limits.html),
    /// and the job ends EXPIRED with [`RUNNING_JOB_MESSAGE`]. The stand-in's jobs take
    /// seconds where start windows take an hour or more, so it compresses the window to the
    /// job's own duration, which a holder started first outlasts: the queued backup expires.
    pub fn plan_outcome(&mut self, kind: JobKind, resource_arn: &str) -> Outcome {
        if let Some(outcome) = self.faults.take_job_fault(kind, resource_arn) {
            return outcome;
        }
        if kind == JobKind::Backup && self.resource_busy(resource_arn) {
            return Outcome::Expire(RUNNING_JOB_MESSAGE.to_owned());
        }
        Outcome::Complete
    }

    /// Moves copy job `id` from CREATED to RUNNING if it may run now: no other job holds the
    /// resource its recovery point is of, and the copy quota into its destination region
    /// leaves it a slot (`quota`, [`CopyQuota`]). Copies have no start window
    /// (StartCopyJob takes none): one that may not run yet stays CREATED.
    pub fn admit_copy(&mut self, id: &str, quota: CopyQuota) -> bool {
        let Some(job) = self.jobs.get(id).filter(|j| j.state == JobState::Created) else {
            return false;
        };
        let Detail::Copy {
            destination_vault_arn,
            ..
        } = &job.detail
        else {
            return false;
        };
        let region = super::model::parse_vault_arn(destination_vault_arn).map(|(r, _)| r);
        let held = self
            .jobs
            .values()
            .any(|j| j.id != id && j.resource.arn == job.resource.arn && Self::holds_resource(j));
        let (mut into_region, mut into_vault) = (0, 0);
        for other in self.jobs.values() {
            let Detail::Copy {
                destination_vault_arn: other_vault,
                ..
            } = &other.detail
            else {
                continue;
            };
            if other.state != JobState::Running {
                continue;
            }
            if other_vault == destination_vault_arn {
                into_vault += 1;
            }
            if super::model::parse_vault_arn(other_vault).map(|(r, _)| r) == region {
                into_region += 1;
            }
        }
        let slot = into_region < quota.per_region || into_vault < quota.per_vault;
        if held || !slot {
            return false;
        }
        self.mark_running(id)
    }

    pub fn insert_job(&mut self, job: Job) {
        if let Some(token) = &job.idempotency_token {
            self.tokens
                .insert((job.kind, token.clone()), job.id.clone());
        }
        self.jobs.insert(job.id.clone(), job);
    }

    /// Moves a queued job to RUNNING; false when it was stopped meanwhile.
    pub fn mark_running(&mut self, id: &str) -> bool {
        match self.jobs.get_mut(id) {
            Some(job) if matches!(job.state, JobState::Created | JobState::Pending) => {
                job.state = JobState::Running;
                true
            }
            _ => false,
        }
    }

    /// Ends a job that has not ended yet; false when it already had (stopped meanwhile).
    pub fn end_job(
        &mut self,
        id: &str,
        state: JobState,
        message: Option<String>,
        now: f64,
    ) -> bool {
        match self.jobs.get_mut(id) {
            Some(job) if job.state.is_active() && job.state != JobState::Aborting => {
                job.state = state;
                job.status_message = message;
                job.completed = Some(now);
                true
            }
            _ => false,
        }
    }
}
