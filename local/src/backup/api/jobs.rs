//! What backup, copy and restore jobs share, so all three start (idempotently) and list the
//! same way.

use std::sync::Arc;

use serde_json::Value;

use crate::backup::error::ApiError;
use crate::backup::model::{Creator, Detail, Job, JobKind, JobState, Resource};
use crate::backup::query::Query;
use crate::backup::runner::{self, Work};
use crate::backup::store::{State, Store};
use crate::ids;

/// A recovery point in cold storage must stay there this long before deletion.
const MIN_COLD_DAYS: i64 = 90;

/// `DeleteAfterDays` must leave at least 90 days after the move to cold storage.
pub fn check_lifecycle(lifecycle: Option<&Value>) -> Result<(), ApiError> {
    let Some(lifecycle) = lifecycle else {
        return Ok(());
    };
    let days = |member: &str| lifecycle.get(member).and_then(Value::as_i64);
    if let (Some(cold), Some(delete)) =
        (days("MoveToColdStorageAfterDays"), days("DeleteAfterDays"))
    {
        if delete < cold + MIN_COLD_DAYS {
            return Err(ApiError::invalid_parameter(format!(
                "Invalid lifecycle. DeleteAfterDays ({delete}) must be at least \
                 {MIN_COLD_DAYS} days after MoveToColdStorageAfterDays ({cold})."
            )));
        }
    }
    Ok(())
}

/// What an operation decides about the job it starts; [`start_job`] adds the rest.
pub struct NewJob {
    pub resource: Resource,
    pub vault_name: String,
    pub vault_arn: String,
    pub iam_role_arn: Option<String>,
    pub recovery_point_arn: Option<String>,
    pub lifecycle: Option<Value>,
    pub size_bytes: Option<u64>,
    /// The plan starting it; `None` on demand.
    pub created_by: Option<Creator>,
    pub detail: Detail,
    pub work: Work,
}

/// Starts the job `build` describes and its runner, or returns the job `token` already
/// started (an idempotent retry starts nothing).
pub fn start_job(
    store: &Arc<Store>,
    kind: JobKind,
    region: &str,
    token: Option<String>,
    build: impl FnOnce(&State) -> Result<NewJob, ApiError>,
) -> Result<Job, ApiError> {
    let started = store.with(|s| {
        if let Some(job) = s.replay(kind, token.as_deref()) {
            return Ok((job.clone(), None));
        }
        let new = build(s)?;
        let job = Job {
            kind,
            id: ids::upper_uuid(),
            region: region.to_owned(),
            idempotency_token: token.clone(),
            state: match kind {
                JobKind::Restore => JobState::Pending,
                JobKind::Backup | JobKind::Copy => JobState::Created,
            },
            status_message: None,
            created: ids::now(),
            completed: None,
            seconds: store.job_seconds(s, kind),
            outcome: s.plan_outcome(kind, &new.resource.arn),
            iam_role_arn: new.iam_role_arn,
            resource: new.resource,
            vault_name: new.vault_name,
            vault_arn: new.vault_arn,
            recovery_point_arn: new.recovery_point_arn,
            lifecycle: new.lifecycle,
            size_bytes: new.size_bytes,
            created_by: new.created_by,
            detail: new.detail,
        };
        s.insert_job(job.clone());
        Ok::<_, ApiError>((job, Some(new.work)))
    })?;
    let (job, work) = started;
    if let Some(work) = work {
        // Announced before its runner starts, so its first state's event comes first.
        store.settings.events.job_changed(&job);
        runner::spawn(store.clone(), &job, work);
    }
    Ok(job)
}

/// Newest first, keyed by id for pagination.
pub fn listed<'a>(
    jobs: impl Iterator<Item = &'a Job>,
    view: impl Fn(&Job) -> Value,
) -> Vec<(String, Value)> {
    let mut jobs: Vec<&Job> = jobs.collect();
    jobs.sort_by(|a, b| {
        b.created
            .total_cmp(&a.created)
            .then_with(|| a.id.cmp(&b.id))
    });
    jobs.into_iter().map(|j| (j.id.clone(), view(j))).collect()
}

/// The filters every job list has.
pub struct JobFilter {
    kind: JobKind,
    state: Option<JobState>,
    after: Option<f64>,
    before: Option<f64>,
    resource_type: Option<String>,
}

impl JobFilter {
    pub fn parse(kind: JobKind, q: &Query) -> Result<Self, ApiError> {
        let state_param = match kind {
            JobKind::Restore => "status",
            JobKind::Backup | JobKind::Copy => "state",
        };
        let state = q
            .get(state_param)
            .map(|v| {
                kind.parse_state(v).ok_or_else(|| {
                    ApiError::invalid_parameter(format!(
                        "{v:?} is not a {} job state",
                        kind.as_str()
                    ))
                })
            })
            .transpose()?;
        Ok(JobFilter {
            kind,
            state,
            after: q.time("createdAfter")?,
            before: q.time("createdBefore")?,
            resource_type: q.get("resourceType").map(str::to_owned),
        })
    }

    pub fn keeps(&self, job: &Job, region: &str) -> bool {
        job.kind == self.kind
            && job.region == region
            && self.state.is_none_or(|s| job.state == s)
            && self.after.is_none_or(|t| job.created > t)
            && self.before.is_none_or(|t| job.created < t)
            && self
                .resource_type
                .as_deref()
                .is_none_or(|t| job.resource.kind.as_str() == t)
    }
}
