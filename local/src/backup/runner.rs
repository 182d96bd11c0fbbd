//! Jobs moving through their states over time, one tokio task per job:
//! queued (CREATED, or PENDING for restores) for a tenth of the job's duration, then RUNNING,
//! then ended at the full duration. An EFS backup snapshots the file system the moment it
//! turns RUNNING (a point in time); an EFS restore writes its files when it completes, and a
//! database restore creates its DB instance or cluster in moto then.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::{sleep, sleep_until, Instant};

use super::files;
use super::model::{
    backup_recovery_point_arn, copy_recovery_point_arn, is_continuous, restore_target_arn, Detail,
    Job, JobKind, JobState, Outcome, RecoveryPoint,
};
use super::rds::NewDatabase;
use super::store::{State, Store};
use crate::ids;

/// The share of a job's duration spent queued before RUNNING.
const QUEUED_SHARE: f64 = 0.1;
/// How often a copy waiting for its turn looks again.
const TURN_EVERY: Duration = Duration::from_millis(50);
/// The longest a stopped job stays ABORTING.
const ABORTING_AT_MOST: Duration = Duration::from_secs(1);

/// The work a job does, decided when it starts.
#[derive(Clone, Debug)]
pub enum Work {
    None,
    /// An EFS backup: copy the file system's tree to `dst` when the job turns RUNNING.
    Snapshot {
        fs_id: String,
        fs_dir: PathBuf,
        dst: PathBuf,
    },
    /// A copy of an EFS recovery point: its snapshot `src` to `dst`.
    CopySnapshot {
        src: PathBuf,
        dst: PathBuf,
    },
    /// An EFS restore of `items` (all when empty) into file system `fs_id`, on completion.
    Restore {
        snapshot: PathBuf,
        fs_id: String,
        fs_dir: PathBuf,
        items: Vec<String>,
    },
    /// A database backup: one more consistent copy of `schema` in `dir` when the job turns
    /// RUNNING (a continuous recovery point's directory keeps every run's copy).
    Dump {
        schema: String,
        dir: PathBuf,
    },
    /// A database restore: create the DB instance or cluster in moto, on completion, and its
    /// schema from the recovery point's `content` (up to `at`, Unix seconds, for a point in
    /// time).
    CreateDatabase {
        db: NewDatabase,
        content: Option<PathBuf>,
        at: Option<i64>,
    },
}

impl Work {
    /// The recovery-point directory this work makes, to remove if the job does not complete.
    fn made_dir(&self) -> Option<&PathBuf> {
        match self {
            Work::Snapshot { dst, .. } | Work::CopySnapshot { dst, .. } => Some(dst),
            Work::None | Work::Restore { .. } | Work::CreateDatabase { .. } | Work::Dump { .. } => {
                None
            }
        }
    }

    /// The directory the recovery point it makes keeps as its content.
    fn content_dir(&self) -> Option<&PathBuf> {
        match self {
            Work::Dump { dir, .. } => Some(dir),
            other => other.made_dir(),
        }
    }
}

/// Drives `job` to its end in the background.
pub fn spawn(store: Arc<Store>, job: &Job, work: Work) {
    let run = Run {
        id: job.id.clone(),
        kind: job.kind,
        total: Duration::from_secs_f64(job.seconds),
        outcome: job.outcome.clone(),
        work,
    };
    tokio::spawn(run.go(store));
}

/// A stopped backup job turns from ABORTING to ABORTED shortly after; its runner removes
/// whatever it had snapshotted when it sees the job stopped.
pub fn spawn_abort(store: Arc<Store>, id: String, job_seconds: f64) {
    let delay = Duration::from_secs_f64(job_seconds * QUEUED_SHARE).min(ABORTING_AT_MOST);
    tokio::spawn(async move {
        sleep(delay).await;
        let aborted = store.with(|s| {
            let job = s
                .jobs
                .get_mut(&id)
                .filter(|j| j.state == JobState::Aborting)?;
            job.state = JobState::Aborted;
            job.completed = Some(ids::now());
            Some(job.clone())
        });
        if let Some(job) = aborted {
            store.settings.events.job_changed(&job);
        }
    });
}

struct Run {
    id: String,
    kind: JobKind,
    total: Duration,
    outcome: Outcome,
    work: Work,
}

impl Run {
    async fn go(self, store: Arc<Store>) {
        let mut end = Instant::now() + self.total;
        sleep(self.total.mul_f64(QUEUED_SHARE)).await;
        if let Outcome::Expire(message) = &self.outcome {
            // Never runs, never touches data: it waits out its window and expires.
            sleep_until(end).await;
            let expired = store.with(|s| {
                s.end_job(
                    &self.id,
                    JobState::Expired,
                    Some(message.clone()),
                    ids::now(),
                )
            });
            if expired {
                self.announce(&store);
            }
            return;
        }
        let running = match self.kind {
            JobKind::Copy => {
                let waiting = Instant::now();
                let admitted = self.wait_for_its_turn(&store).await;
                // Its work starts when it may run: the wait adds to its duration.
                end += waiting.elapsed();
                admitted
            }
            JobKind::Backup | JobKind::Restore => store.with(|s| s.mark_running(&self.id)),
        };
        if !running {
            return;
        }
        self.announce(&store);
        let prepared = match &self.outcome {
            Outcome::Fail(_) => Ok(0),
            _ => self.prepare(&store).await,
        };
        let size = match prepared {
            Ok(size) => size,
            Err(message) => return self.fail(&store, message).await,
        };
        sleep_until(end).await;
        match &self.outcome {
            Outcome::Fail(message) => self.fail(&store, message.clone()).await,
            _ => self.complete(&store, size).await,
        }
    }

    /// A copy waits in CREATED until its resource is free and its destination region has a
    /// slot (the quotas in [`State::admit_copy`]), then turns RUNNING; false if it ended
    /// meanwhile.
    async fn wait_for_its_turn(&self, store: &Store) -> bool {
        let quota = store.settings.copy_quota;
        loop {
            let (admitted, state) = store.with(|s| {
                let admitted = s.admit_copy(&self.id, quota);
                (admitted, s.jobs.get(&self.id).map(|j| j.state))
            });
            match (admitted, state) {
                (true, _) => return true,
                (false, Some(JobState::Created)) => sleep(TURN_EVERY).await,
                _ => return false,
            }
        }
    }

    /// The work done when the job turns RUNNING; returns the bytes it copied.
    async fn prepare(&self, store: &Store) -> Result<u64, String> {
        match self.work.clone() {
            Work::Snapshot { fs_id, fs_dir, dst } => {
                blocking(move || files::snapshot(&fs_id, &fs_dir, &dst)).await
            }
            Work::CopySnapshot { src, dst } => {
                blocking(move || {
                    files::copy_tree(&src, &dst)
                        .map_err(|e| format!("Cannot copy the recovery point's data: {e}"))
                })
                .await
            }
            Work::Dump { schema, dir } => {
                let Some(databases) = store.settings.databases.clone() else {
                    // No server (a stand-in run on its own): the point holds no content.
                    return std::fs::create_dir_all(&dir)
                        .map(|()| 0)
                        .map_err(|e| e.to_string());
                };
                blocking(move || databases.dump(&schema, &dir)).await
            }
            Work::None | Work::Restore { .. } | Work::CreateDatabase { .. } => Ok(0),
        }
    }

    async fn complete(&self, store: &Store, size: u64) {
        let snapshot = self.work.content_dir().cloned();
        let completed = match self.kind {
            JobKind::Backup => {
                let source = self.source_tags(store).await;
                store.with(|s| complete_backup(s, &self.id, size, snapshot, &source))
            }
            JobKind::Copy => store.with(|s| complete_copy(s, &self.id, size, snapshot)),
            JobKind::Restore => {
                let restored = self.restore(store).await;
                store.with(|s| complete_restore(s, &self.id, restored))
            }
        };
        if completed {
            self.announce(store);
        } else {
            self.discard().await;
        }
    }

    /// Sends the event of the state the job has just entered.
    fn announce(&self, store: &Store) {
        if let Some(job) = store.with(|s| s.jobs.get(&self.id).cloned()) {
            store.settings.events.job_changed(&job);
        }
    }

    /// The backed-up resource's tags, which its recovery point copies; none when they cannot
    /// be read (the recovery point then carries the tags assigned during backup only).
    async fn source_tags(&self, store: &Store) -> BTreeMap<String, String> {
        let Some(resource) = store.with(|s| s.jobs.get(&self.id).map(|j| j.resource.clone()))
        else {
            return BTreeMap::new();
        };
        store
            .settings
            .source_tags
            .of(&resource)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(resource = %resource.arn, error = %e, "resource tags not read");
                BTreeMap::new()
            })
    }

    /// What a restore makes as it completes: an EFS restore's files (returns the directory
    /// they are in), or a database restore's instance or cluster. The error is the job's
    /// status message.
    async fn restore(&self, store: &Store) -> Result<Option<PathBuf>, String> {
        match self.work.clone() {
            Work::Restore {
                snapshot,
                fs_id,
                fs_dir,
                items,
            } => {
                blocking(move || {
                    let dir_name = ids::restore_dir_name(SystemTime::now());
                    files::restore(&snapshot, &fs_id, &fs_dir, &dir_name, &items).map(Some)
                })
                .await
            }
            Work::CreateDatabase { db, content, at } => {
                store.settings.rds.create(&db).await?;
                let Some(databases) = store.settings.databases.clone() else {
                    return Ok(None);
                };
                let target = super::database::schema(db.region(), db.id());
                blocking(move || databases.restore(content.as_deref(), &target, at)).await?;
                Ok(None)
            }
            Work::None | Work::Snapshot { .. } | Work::CopySnapshot { .. } | Work::Dump { .. } => {
                Ok(None)
            }
        }
    }

    async fn fail(&self, store: &Store, message: String) {
        if store.with(|s| s.end_job(&self.id, JobState::Failed, Some(message), ids::now())) {
            self.announce(store);
        }
        self.discard().await;
    }

    /// Removes the data of a job that made no recovery point.
    async fn discard(&self) {
        if let Some(dir) = self.work.made_dir().cloned() {
            let _ = blocking(move || files::remove_tree(&dir).map_err(|e| e.to_string())).await;
        }
    }
}

/// Runs file work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(format!("Internal error: {e}")))
}

/// The job, if it is still RUNNING (not stopped meanwhile).
fn running<'a>(s: &'a mut State, id: &str) -> Option<&'a mut Job> {
    s.jobs.get_mut(id).filter(|j| j.state == JobState::Running)
}

fn mark_completed(job: &mut Job, size: u64, now: f64) {
    job.state = JobState::Completed;
    job.status_message = None;
    job.completed = Some(now);
    job.size_bytes = Some(size);
}

/// Completes a backup job and makes its recovery point, with the tags it was started with
/// and, after them, the resource's own (`source`).
fn complete_backup(
    s: &mut State,
    id: &str,
    size: u64,
    snapshot: Option<PathBuf>,
    source: &BTreeMap<String, String>,
) -> bool {
    let now = ids::now();
    let Some(job) = running(s, id) else {
        return false;
    };
    let Detail::Backup {
        recovery_point_tags,
        recovery_point_id,
        ..
    } = &job.detail
    else {
        return false;
    };
    let recovery_point_tags = recovery_point_tags.clone();
    let arn = job
        .recovery_point_arn
        .clone()
        .unwrap_or_else(|| backup_recovery_point_arn(&job.resource, &job.id, recovery_point_id));
    let mut rp_id = recovery_point_id.clone();
    let mut created = job.created;
    // A continuous recovery point is made by its first job and updated by every later one:
    // it keeps its id and creation date (the start of what it can restore to), and its
    // completion date moves on to this job's end.
    if let Some(rp) = s.recovery_points.get(&arn).filter(|_| is_continuous(&arn)) {
        rp_id = rp.id.clone();
        created = rp.created;
    }
    let Some(job) = running(s, id) else {
        return false;
    };
    let rp = RecoveryPoint {
        arn: arn.clone(),
        id: rp_id,
        region: job.region.clone(),
        vault_name: job.vault_name.clone(),
        vault_arn: job.vault_arn.clone(),
        resource: job.resource.clone(),
        created,
        completed: now,
        size_bytes: size,
        iam_role_arn: job.iam_role_arn.clone(),
        lifecycle: job.lifecycle.clone(),
        tags: super::source_tags::merged(&recovery_point_tags, source),
        source_vault_arn: None,
        created_by_job: job.id.clone(),
        created_by: job.created_by.clone(),
        encryption_key_arn: String::new(),
        last_restore_time: None,
        snapshot_dir: snapshot,
    };
    job.recovery_point_arn = Some(arn.clone());
    mark_completed(job, size, now);
    insert_recovery_point(s, rp);
    true
}

/// Completes a copy job and makes the copy in the destination vault, with the source's tags.
fn complete_copy(s: &mut State, id: &str, size: u64, snapshot: Option<PathBuf>) -> bool {
    let now = ids::now();
    // Field by field, so the source recovery point can be read while the job is changed.
    let Some(job) = s.jobs.get_mut(id).filter(|j| j.state == JobState::Running) else {
        return false;
    };
    let Detail::Copy {
        destination_vault_arn,
        destination_recovery_point_arn,
        recovery_point_id,
        ..
    } = &mut job.detail
    else {
        return false;
    };
    let Some(source) = job
        .recovery_point_arn
        .as_ref()
        .and_then(|arn| s.recovery_points.get(arn))
    else {
        return false;
    };
    let Some((region, vault_name)) = super::model::parse_vault_arn(destination_vault_arn) else {
        return false;
    };
    let arn = copy_recovery_point_arn(source.resource.kind, &region, &job.id, recovery_point_id);
    let rp = RecoveryPoint {
        arn: arn.clone(),
        id: recovery_point_id.clone(),
        region,
        vault_name,
        vault_arn: destination_vault_arn.clone(),
        resource: source.resource.clone(),
        created: job.created,
        completed: now,
        size_bytes: source.size_bytes,
        iam_role_arn: job.iam_role_arn.clone(),
        lifecycle: job.lifecycle.clone(),
        tags: source.tags.clone(),
        source_vault_arn: Some(source.vault_arn.clone()),
        created_by_job: job.id.clone(),
        created_by: job.created_by.clone(),
        encryption_key_arn: String::new(),
        last_restore_time: None,
        snapshot_dir: snapshot,
    };
    *destination_recovery_point_arn = Some(arn);
    let size = if size > 0 { size } else { source.size_bytes };
    mark_completed(job, size, now);
    insert_recovery_point(s, rp);
    true
}

/// A recovery point takes its vault's encryption key.
fn insert_recovery_point(s: &mut State, mut rp: RecoveryPoint) {
    if let Some(vault) = s.vaults.get(&rp.vault_arn) {
        rp.encryption_key_arn = vault.encryption_key_arn.clone();
    }
    s.recovery_points.insert(rp.arn.clone(), rp);
}

/// Completes a restore job once its files are written or its database created; fails it
/// with the message when that could not be done.
fn complete_restore(s: &mut State, id: &str, restored: Result<Option<PathBuf>, String>) -> bool {
    let now = ids::now();
    let dir = match restored {
        Ok(dir) => dir,
        Err(message) => return s.end_job(id, JobState::Failed, Some(message), now),
    };
    let Some(job) = running(s, id) else {
        return false;
    };
    let target = match &job.detail {
        Detail::Restore { metadata, .. } => {
            restore_target_arn(job.resource.kind, &job.region, metadata).ok()
        }
        _ => None,
    };
    let size = job.size_bytes.unwrap_or_default();
    if let Detail::Restore {
        created_resource_arn,
        restore_directory,
        ..
    } = &mut job.detail
    {
        *created_resource_arn = target;
        *restore_directory = dir;
    }
    mark_completed(job, size, now);
    let rp_arn = job.recovery_point_arn.clone().unwrap_or_default();
    if let Some(rp) = s.recovery_points.get_mut(&rp_arn) {
        rp.last_restore_time = Some(now);
    }
    true
}
