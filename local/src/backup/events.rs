//! The events AWS Backup sends to EventBridge as its jobs change state: "AWS Backup sends
//! events to Amazon EventBridge when the state of a backup or copy job changes", with
//! `source` `aws.backup` (https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html,
//! and the list of its event types in
//! https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-backup.html).
//!
//! Each event follows that page's example events field for field: the names, which values
//! are strings and which numbers (a backup job's `backupSizeInBytes` is a string, a copy
//! job's a number), where the recovery point goes (`resources`, not `detail`), and
//! `createdBy` as the examples spell it (`backupPlanRuleId`, where the API says
//! `BackupRuleId`) and only where they have it: of the backup job examples only RUNNING and
//! EXPIRED carry `createdBy` (COMPLETED, FAILED, ABORTED and PENDING do not), while the copy
//! job examples that name a job (RUNNING, COMPLETED) do. A member the job has no value for is
//! left out; the examples' undocumented `retryCount` is too. An event is sent for each
//! state the page has an example of: backup jobs CREATED, PENDING, RUNNING, ABORTED,
//! COMPLETED, FAILED, EXPIRED; copy jobs CREATED, RUNNING, COMPLETED, FAILED; restore jobs
//! PENDING, RUNNING, COMPLETED, FAILED (the page's restore CREATED is a state the API's
//! `RestoreJobStatus` lacks). AWS sends them "in a best-effort manner"; the stand-in sends
//! each as its job changes, in order.
//!
//! They go to the default event bus of the job's region, in moto, through PutEvents signed
//! for `events` as any client would sign it: EventBridge refuses `aws.` sources from
//! callers, but moto, standing in for AWS's own delivery here, takes them.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use hyper::header::HeaderValue;
use hyper::{HeaderMap, Method};
use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use super::model::JobState::{Aborted, Completed, Created, Expired, Failed, Pending, Running};
use super::model::{Creator, Detail, Job, JobKind, JobState};
use super::views::{percent, Obj};
use crate::ids;
use crate::proxy::Upstream;

/// The `source` of every AWS Backup event.
pub const SOURCE: &str = "aws.backup";

/// One event, as PutEvents takes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The job's region: the event goes to that region's default bus.
    pub region: String,
    pub detail_type: &'static str,
    pub resources: Vec<String>,
    pub detail: Value,
    /// When the state changed (epoch seconds).
    pub time: f64,
}

impl Entry {
    /// The PutEvents request body (JSON 1.1): one entry on the default bus.
    pub fn put_events_body(&self) -> Value {
        json!({"Entries": [{
            "Source": SOURCE,
            "DetailType": self.detail_type,
            "Detail": self.detail.to_string(),
            "Resources": self.resources,
            "Time": self.time,
        }]})
    }
}

/// The event for the state `job` is in now, if AWS sends one for it.
pub fn entry_for(job: &Job, now: f64) -> Option<Entry> {
    let (detail_type, sent) = match job.kind {
        JobKind::Backup => ("Backup Job State Change", BACKUP_STATES),
        JobKind::Copy => ("Copy Job State Change", COPY_STATES),
        JobKind::Restore => ("Restore Job State Change", RESTORE_STATES),
    };
    if !sent.contains(&job.state) {
        return None;
    }
    let (resources, detail) = match job.kind {
        JobKind::Backup => backup_detail(job, now),
        JobKind::Copy => copy_detail(job),
        JobKind::Restore => restore_detail(job, now),
    };
    Some(Entry {
        region: job.region.clone(),
        detail_type,
        resources,
        detail,
        time: now,
    })
}

const BACKUP_STATES: &[JobState] = &[
    Created, Pending, Running, Aborted, Completed, Failed, Expired,
];
const COPY_STATES: &[JobState] = &[Created, Running, Completed, Failed];
/// The backup job states whose example event names the plan (`createdBy`).
const BACKUP_STATES_WITH_PLAN: &[JobState] = &[Running, Expired];
const RESTORE_STATES: &[JobState] = &[Pending, Running, Completed, Failed];

/// "Backup Job State Change". CREATED carries only the id, the state and the creation date;
/// COMPLETED names the recovery point in `resources`. Sizes are strings, `percentDone` a
/// number, `statusMessage` in quotes, as in the examples.
fn backup_detail(job: &Job, now: f64) -> (Vec<String>, Value) {
    if job.state == Created {
        let detail = Obj::new()
            .set("backupJobId", job.id.as_str())
            .set("state", job.state.as_str())
            .set("creationDate", iso_millis(job.created))
            .build();
        return (Vec::new(), detail);
    }
    let start_by = match &job.detail {
        Detail::Backup {
            start_window_minutes,
            ..
        } => Some(job.created + *start_window_minutes as f64 * 60.0),
        _ => None,
    };
    let completed = job.state == Completed;
    let transferred = if completed { job.size_bytes } else { None };
    let detail = Obj::new()
        .set("backupJobId", job.id.as_str())
        .opt("backupSizeInBytes", job.size_bytes.map(|b| b.to_string()))
        .set("backupVaultArn", job.vault_arn.as_str())
        .set("backupVaultName", job.vault_name.as_str())
        .set("bytesTransferred", transferred.unwrap_or(0).to_string())
        .set("creationDate", iso_millis(job.created))
        .opt("iamRoleArn", job.iam_role_arn.as_deref())
        .set("resourceArn", job.resource.arn.as_str())
        .set("resourceType", job.resource.kind.as_str())
        .set("state", job.state.as_str())
        .opt(
            "statusMessage",
            job.status_message.as_deref().map(|m| format!("\"{m}\"")),
        )
        .opt("completionDate", job.completed.map(iso_millis))
        .opt("startBy", start_by.map(iso_millis))
        .opt(
            "expectedCompletionDate",
            (job.state == Running).then(|| expected_completion(job.created + job.seconds)),
        )
        .set("percentDone", percent(job, now).floor() as u64)
        .opt(
            "createdBy",
            job.created_by
                .as_ref()
                .filter(|_| BACKUP_STATES_WITH_PLAN.contains(&job.state))
                .map(created_by),
        )
        .build();
    let resources = match (&job.recovery_point_arn, completed) {
        (Some(rp), true) => vec![rp.clone()],
        _ => Vec::new(),
    };
    (resources, detail)
}

/// "Copy Job State Change": `resources` names the recovery point copied; its size is a
/// number; `destinationRecoveryPointArn` is `{}` until the copy exists. CREATED carries the
/// creation date, the state and the two vaults only.
fn copy_detail(job: &Job) -> (Vec<String>, Value) {
    let resources = job.recovery_point_arn.iter().cloned().collect();
    let (destination_vault, destination_rp) = match &job.detail {
        Detail::Copy {
            destination_vault_arn,
            destination_recovery_point_arn,
            ..
        } => (
            destination_vault_arn.as_str(),
            destination_recovery_point_arn.clone(),
        ),
        _ => ("", None),
    };
    if job.state == Created {
        let detail = Obj::new()
            .set("creationDate", iso_millis(job.created))
            .set("state", job.state.as_str())
            .set("sourceBackupVaultArn", job.vault_arn.as_str())
            .set("destinationBackupVaultArn", destination_vault)
            .build();
        return (resources, detail);
    }
    let detail = Obj::new()
        .set("copyJobId", job.id.as_str())
        .opt("backupSizeInBytes", job.size_bytes)
        .set("creationDate", iso_millis(job.created))
        .opt("iamRoleArn", job.iam_role_arn.as_deref())
        .set("resourceArn", job.resource.arn.as_str())
        .set("resourceType", job.resource.kind.as_str())
        .set("sourceBackupVaultArn", job.vault_arn.as_str())
        .set("state", job.state.as_str())
        .opt("statusMessage", job.status_message.as_deref())
        .opt("completionDate", job.completed.map(iso_millis))
        .set("destinationBackupVaultArn", destination_vault)
        .set(
            "destinationRecoveryPointArn",
            destination_rp.map_or_else(|| json!({}), Value::from),
        )
        .opt("createdBy", job.created_by.as_ref().map(created_by))
        .build();
    (resources, detail)
}

/// "Restore Job State Change": `resources` names the recovery point restored; the state is
/// `status`, as in DescribeRestoreJob; the size is a string.
fn restore_detail(job: &Job, now: f64) -> (Vec<String>, Value) {
    let resources = job.recovery_point_arn.iter().cloned().collect();
    let created_resource = match &job.detail {
        Detail::Restore {
            created_resource_arn,
            ..
        } => created_resource_arn.as_deref(),
        _ => None,
    };
    let detail = Obj::new()
        .set("restoreJobId", job.id.as_str())
        .set("backupVaultArn", job.vault_arn.as_str())
        .opt("recoveryPointArn", job.recovery_point_arn.as_deref())
        .set("sourceResourceArn", job.resource.arn.as_str())
        .opt("backupSizeInBytes", job.size_bytes.map(|b| b.to_string()))
        .set("creationDate", iso_millis(job.created))
        .opt("iamRoleArn", job.iam_role_arn.as_deref())
        .set("percentDone", percent(job, now).floor() as u64)
        .set("resourceType", job.resource.kind.as_str())
        .set("status", job.state.as_str())
        .opt("statusMessage", job.status_message.as_deref())
        .opt("createdResourceArn", created_resource)
        .opt("completionDate", job.completed.map(iso_millis))
        .build();
    (resources, detail)
}

/// `createdBy` as the backup and copy job examples spell it.
fn created_by(c: &Creator) -> Value {
    Obj::new()
        .set("backupPlanId", c.backup_plan_id.as_str())
        .set("backupPlanArn", c.backup_plan_arn.as_str())
        .set("backupPlanVersion", c.backup_plan_version.as_str())
        .set("backupPlanRuleId", c.backup_rule_id.as_str())
        .build()
}

/// `t` (epoch seconds) in UTC, to the millisecond.
fn utc(t: f64) -> time::OffsetDateTime {
    let nanos = (t * 1000.0).round() as i128 * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// `2020-07-29T20:13:07.392Z`, the examples' dates.
pub fn iso_millis(t: f64) -> String {
    let d = utc(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second(),
        d.millisecond()
    )
}

/// `Jul 15, 2020 9:39:07 PM`, the RUNNING example's `expectedCompletionDate` (UTC).
pub fn expected_completion(t: f64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let d = utc(t);
    let hour = match d.hour() % 12 {
        0 => 12,
        h => h,
    };
    format!(
        "{} {}, {} {}:{:02}:{:02} {}",
        MONTHS[usize::from(u8::from(d.month())) - 1],
        d.day(),
        d.year(),
        hour,
        d.minute(),
        d.second(),
        if d.hour() < 12 { "AM" } else { "PM" }
    )
}

/// Sends the events, one at a time in the order their jobs changed, to EventBridge in moto.
/// Off (every event dropped) when made with no upstream.
pub struct Events {
    sender: Option<UnboundedSender<Entry>>,
    /// Taken by the first event, which starts the task that sends them.
    worker: Mutex<Option<(UnboundedReceiver<Entry>, Arc<Upstream>)>>,
}

impl Events {
    /// Events put to EventBridge at `moto` (its base URL); `None`: none are sent.
    pub fn new(moto: Option<&str>) -> std::io::Result<Self> {
        let Some(moto) = moto else {
            return Ok(Events {
                sender: None,
                worker: Mutex::new(None),
            });
        };
        let upstream = Arc::new(Upstream::new(moto)?);
        let (sender, receiver) = unbounded_channel();
        Ok(Events {
            sender: Some(sender),
            worker: Mutex::new(Some((receiver, upstream))),
        })
    }

    /// Announces the state `job` is in now (nothing for a state AWS sends no event for).
    pub fn job_changed(&self, job: &Job) {
        let Some(sender) = &self.sender else {
            return;
        };
        let Some(entry) = entry_for(job, ids::now()) else {
            return;
        };
        self.start_worker();
        if sender.send(entry).is_err() {
            tracing::warn!(job = %job.id, "the event sender has stopped");
        }
    }

    fn start_worker(&self) {
        let mut worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner);
        if worker.is_none() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no runtime to send events from");
            return;
        };
        if let Some((mut receiver, moto)) = worker.take() {
            runtime.spawn(async move {
                while let Some(entry) = receiver.recv().await {
                    put(&moto, &entry).await;
                }
            });
        }
    }
}

/// One PutEvents call; a failure is logged, as a lost best-effort event.
async fn put(moto: &Upstream, entry: &Entry) {
    let outcome = match headers(&entry.region) {
        Ok(headers) => moto
            .send(
                Method::POST,
                "/",
                headers,
                Bytes::from(entry.put_events_body().to_string()),
                false,
            )
            .await
            .map_err(|e| e.message),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(answer) if answer.status.is_success() => {
            let failed = serde_json::from_slice::<Value>(&answer.body)
                .ok()
                .and_then(|v| v["FailedEntryCount"].as_u64())
                .unwrap_or(0);
            if failed > 0 {
                tracing::warn!(detail_type = entry.detail_type, body = %String::from_utf8_lossy(&answer.body), "event refused");
            }
        }
        Ok(answer) => tracing::warn!(
            detail_type = entry.detail_type,
            status = %answer.status,
            "PutEvents refused an event"
        ),
        Err(e) => tracing::warn!(detail_type = entry.detail_type, error = %e, "event not sent"),
    }
}

/// EventBridge's JSON 1.1 protocol, scoped to `events` in `region` for moto.
fn headers(region: &str) -> Result<HeaderMap, String> {
    let mut headers =
        crate::sigv4::scoped_headers("events", region, Some("application/x-amz-json-1.1"))?;
    headers.insert(
        "x-amz-target",
        HeaderValue::from_static("AWSEvents.PutEvents"),
    );
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::model::{Outcome, Resource};
    use std::collections::BTreeMap;

    const CREATED_AT: f64 = 1_594_849_231.207; // 2020-07-15T21:40:31.207Z

    fn creator() -> Creator {
        Creator {
            backup_plan_id: "plan-1".into(),
            backup_plan_arn: "arn:aws:backup:us-east-1:123456789012:backup-plan:plan-1".into(),
            backup_plan_version: "djE=".into(),
            backup_plan_name: "bbws-dev-hourly-rds-backup".into(),
            backup_rule_id: "rule-1".into(),
            backup_rule_name: "hourly-rds-backup".into(),
        }
    }

    fn job(kind: JobKind, state: JobState) -> Job {
        let resource = Resource::parse("arn:aws:rds:us-east-1:123456789012:db:tenant-1").unwrap();
        let detail = match kind {
            JobKind::Backup => Detail::Backup {
                recovery_point_tags: BTreeMap::new(),
                recovery_point_id: "RP".into(),
                start_window_minutes: 60,
                backup_options: None,
            },
            JobKind::Copy => Detail::Copy {
                destination_vault_arn: "arn:aws:backup:eu-west-1:123456789012:backup-vault:dr"
                    .into(),
                destination_recovery_point_arn: None,
                recovery_point_id: "RP2".into(),
                created_by_backup_job_id: Some("JOB-1".into()),
            },
            JobKind::Restore => Detail::Restore {
                metadata: BTreeMap::new(),
                created_resource_arn: None,
                recovery_point_created: CREATED_AT - 60.0,
                restore_directory: None,
            },
        };
        Job {
            kind,
            id: "JOB-2".into(),
            region: "us-east-1".into(),
            idempotency_token: None,
            state,
            status_message: None,
            created: CREATED_AT,
            completed: None,
            seconds: 10.0,
            outcome: Outcome::Complete,
            iam_role_arn: Some("arn:aws:iam::123456789012:role/bbws-dev-backup".into()),
            resource,
            vault_name: "bbws-dev-backup-vault".into(),
            vault_arn: "arn:aws:backup:us-east-1:123456789012:backup-vault:bbws-dev-backup-vault"
                .into(),
            recovery_point_arn: None,
            lifecycle: None,
            size_bytes: None,
            created_by: None,
            detail,
        }
    }

    #[test]
    fn dates_are_written_as_the_examples_write_them() {
        assert_eq!(iso_millis(CREATED_AT), "2020-07-15T21:40:31.207Z");
        assert_eq!(
            expected_completion(1_594_849_147.0),
            "Jul 15, 2020 9:39:07 PM"
        );
        assert_eq!(
            expected_completion(1_594_771_200.0),
            "Jul 15, 2020 12:00:00 AM"
        );
    }

    #[test]
    fn a_created_backup_job_says_only_its_id_state_and_creation() {
        let e = entry_for(&job(JobKind::Backup, JobState::Created), CREATED_AT).unwrap();
        assert_eq!(e.detail_type, "Backup Job State Change");
        assert!(e.resources.is_empty());
        assert_eq!(
            e.detail,
            json!({"backupJobId": "JOB-2", "state": "CREATED",
                   "creationDate": "2020-07-15T21:40:31.207Z"})
        );
    }

    #[test]
    fn a_running_plan_backup_job_names_its_plan_and_expected_end() {
        let mut j = job(JobKind::Backup, JobState::Running);
        j.created_by = Some(creator());
        let e = entry_for(&j, CREATED_AT + 5.0).unwrap();
        assert_eq!(
            e.detail,
            json!({
                "backupJobId": "JOB-2",
                "backupVaultArn": "arn:aws:backup:us-east-1:123456789012:backup-vault:bbws-dev-backup-vault",
                "backupVaultName": "bbws-dev-backup-vault",
                "bytesTransferred": "0",
                "creationDate": "2020-07-15T21:40:31.207Z",
                "iamRoleArn": "arn:aws:iam::123456789012:role/bbws-dev-backup",
                "resourceArn": "arn:aws:rds:us-east-1:123456789012:db:tenant-1",
                "resourceType": "RDS",
                "state": "RUNNING",
                "startBy": "2020-07-15T22:40:31.207Z",
                "expectedCompletionDate": "Jul 15, 2020 9:40:41 PM",
                "percentDone": 50,
                "createdBy": {
                    "backupPlanId": "plan-1",
                    "backupPlanArn": "arn:aws:backup:us-east-1:123456789012:backup-plan:plan-1",
                    "backupPlanVersion": "djE=",
                    "backupPlanRuleId": "rule-1"
                }
            })
        );
        assert!(e.resources.is_empty());
    }

    #[test]
    fn only_running_and_expired_backup_events_name_the_plan_as_the_examples_do() {
        for state in [
            Created, Pending, Running, Aborted, Completed, Failed, Expired,
        ] {
            let mut j = job(JobKind::Backup, state);
            j.created_by = Some(creator());
            j.completed = Some(CREATED_AT + 1.0);
            let e = entry_for(&j, CREATED_AT + 1.0).unwrap();
            assert_eq!(
                e.detail.get("createdBy").is_some(),
                matches!(state, Running | Expired),
                "{state:?}: {}",
                e.detail
            );
        }
    }

    #[test]
    fn a_completed_backup_job_names_its_recovery_point_in_resources() {
        let mut j = job(JobKind::Backup, JobState::Completed);
        let rp = "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-job-2";
        j.recovery_point_arn = Some(rp.into());
        j.size_bytes = Some(36048);
        j.completed = Some(CREATED_AT + 34.714);
        let e = entry_for(&j, CREATED_AT + 40.0).unwrap();
        assert_eq!(e.resources, [rp]);
        assert_eq!(e.detail["backupSizeInBytes"], "36048");
        assert_eq!(e.detail["bytesTransferred"], "36048");
        assert_eq!(e.detail["completionDate"], "2020-07-15T21:41:05.921Z");
        assert_eq!(e.detail["percentDone"], 100);
        assert!(e.detail.get("recoveryPointArn").is_none());
        assert!(e.detail.get("createdBy").is_none(), "on demand");
        assert!(e.detail.get("expectedCompletionDate").is_none());
    }

    #[test]
    fn an_ended_backup_job_quotes_its_status_message() {
        for state in [JobState::Failed, JobState::Expired, JobState::Aborted] {
            let mut j = job(JobKind::Backup, state);
            j.status_message = Some("There was a running job for the same resource.".into());
            j.completed = Some(CREATED_AT + 1.0);
            let e = entry_for(&j, CREATED_AT + 1.0).unwrap();
            assert_eq!(e.detail["state"], state.as_str());
            assert_eq!(
                e.detail["statusMessage"],
                "\"There was a running job for the same resource.\""
            );
            assert_eq!(e.detail["percentDone"], 0);
            assert!(e.resources.is_empty());
        }
    }

    #[test]
    fn states_aws_sends_no_event_for_send_none() {
        assert!(entry_for(&job(JobKind::Backup, JobState::Aborting), CREATED_AT).is_none());
        assert!(entry_for(&job(JobKind::Backup, JobState::Partial), CREATED_AT).is_none());
        assert!(entry_for(&job(JobKind::Restore, JobState::Aborted), CREATED_AT).is_none());
    }

    #[test]
    fn copy_events_name_the_copied_recovery_point_and_the_copy() {
        let source = "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-job-1";
        let mut j = job(JobKind::Copy, JobState::Created);
        j.recovery_point_arn = Some(source.into());
        j.size_bytes = Some(3_221_225_472);
        let created = entry_for(&j, CREATED_AT).unwrap();
        assert_eq!(created.detail_type, "Copy Job State Change");
        assert_eq!(created.resources, [source]);
        assert_eq!(
            created.detail,
            json!({
                "creationDate": "2020-07-15T21:40:31.207Z",
                "state": "CREATED",
                "sourceBackupVaultArn": "arn:aws:backup:us-east-1:123456789012:backup-vault:bbws-dev-backup-vault",
                "destinationBackupVaultArn": "arn:aws:backup:eu-west-1:123456789012:backup-vault:dr"
            })
        );
        j.state = JobState::Running;
        j.created_by = Some(creator());
        let running = entry_for(&j, CREATED_AT).unwrap();
        assert_eq!(running.detail["copyJobId"], "JOB-2");
        assert_eq!(running.detail["backupSizeInBytes"], 3_221_225_472u64);
        assert_eq!(running.detail["destinationRecoveryPointArn"], json!({}));
        assert_eq!(running.detail["createdBy"]["backupPlanRuleId"], "rule-1");
        let copy = "arn:aws:rds:eu-west-1:123456789012:snapshot:awsbackup:copyjob-job-2";
        j.state = JobState::Completed;
        j.completed = Some(CREATED_AT + 90.904);
        if let Detail::Copy {
            destination_recovery_point_arn,
            ..
        } = &mut j.detail
        {
            *destination_recovery_point_arn = Some(copy.into());
        }
        let done = entry_for(&j, CREATED_AT + 91.0).unwrap();
        assert_eq!(done.detail["destinationRecoveryPointArn"], copy);
        assert_eq!(done.detail["completionDate"], "2020-07-15T21:42:02.111Z");
        assert_eq!(done.detail["resourceType"], "RDS");
        assert!(done.detail.get("statusMessage").is_none());
    }

    #[test]
    fn restore_events_say_status_and_what_was_made() {
        let mut j = job(JobKind::Restore, JobState::Completed);
        j.recovery_point_arn =
            Some("arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-x".into());
        j.size_bytes = Some(0);
        j.completed = Some(CREATED_AT + 10.0);
        if let Detail::Restore {
            created_resource_arn,
            ..
        } = &mut j.detail
        {
            *created_resource_arn = Some("arn:aws:rds:us-east-1:123456789012:db:t-2".into());
        }
        let e = entry_for(&j, CREATED_AT + 10.0).unwrap();
        assert_eq!(e.detail_type, "Restore Job State Change");
        assert_eq!(e.resources, [j.recovery_point_arn.clone().unwrap()]);
        assert_eq!(e.detail["restoreJobId"], "JOB-2");
        assert_eq!(e.detail["status"], "COMPLETED");
        assert!(e.detail.get("state").is_none());
        assert_eq!(e.detail["backupSizeInBytes"], "0");
        assert_eq!(
            e.detail["sourceResourceArn"],
            "arn:aws:rds:us-east-1:123456789012:db:tenant-1"
        );
        assert_eq!(
            e.detail["createdResourceArn"],
            "arn:aws:rds:us-east-1:123456789012:db:t-2"
        );
    }

    #[test]
    fn put_events_carries_the_event_on_the_default_bus() {
        let e = entry_for(&job(JobKind::Backup, JobState::Created), CREATED_AT).unwrap();
        let body = e.put_events_body();
        let entry = &body["Entries"][0];
        assert_eq!(entry["Source"], "aws.backup");
        assert_eq!(entry["DetailType"], "Backup Job State Change");
        assert!(entry.get("EventBusName").is_none(), "the default bus");
        let detail: Value = serde_json::from_str(entry["Detail"].as_str().unwrap()).unwrap();
        assert_eq!(detail, e.detail);
        assert_eq!(entry["Time"], CREATED_AT);
        assert_eq!(
            headers("eu-west-1").unwrap()["x-amz-target"],
            "AWSEvents.PutEvents"
        );
    }
}
