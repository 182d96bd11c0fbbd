//! The stand-in's state, all in memory behind one mutex (never held across an await), and
//! the look-ups every operation shares.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

use super::error::ApiError;
use super::faults::Faults;
use super::model::{Job, JobKind, JobState, Outcome, RecoveryPoint, Vault};
use super::rds::Rds;
use crate::config::JobDurations;

/// AWS's wording for a backup job started while another holds the resource.
pub const RUNNING_JOB_MESSAGE: &str = "There was a running job for the same resource.";

pub struct Settings {
    pub state_dir: PathBuf,
    pub efs_root: PathBuf,
    pub durations: JobDurations,
    /// RDS in moto, where a database restore creates its instance or cluster.
    pub rds: Rds,
    /// The tags of backed-up resources in moto, which their recovery points copy.
    pub source_tags: super::source_tags::SourceTags,
    /// Where each job's state changes are announced (EventBridge in moto).
    pub events: super::events::Events,
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

    /// Whether a backup job holds `resource_arn` now.
    pub fn resource_busy(&self, resource_arn: &str) -> bool {
        self.jobs.values().any(|j| {
            j.kind == JobKind::Backup && j.resource.arn == resource_arn && j.state.is_active()
        })
    }

    /// How a job being started will end: an injected fault first, else an expiry when a
    /// backup finds its resource held, else completion.
    pub fn plan_outcome(&mut self, kind: JobKind, resource_arn: &str) -> Outcome {
        if let Some(outcome) = self.faults.take_job_fault(kind, resource_arn) {
            return outcome;
        }
        if kind == JobKind::Backup && self.resource_busy(resource_arn) {
            return Outcome::Expire(RUNNING_JOB_MESSAGE.to_owned());
        }
        Outcome::Complete
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
