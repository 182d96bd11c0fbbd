//! poll-job and copy-to-dr against the real SDK clients, answered by aws-smithy-mocks.

use aws_sdk_backup::operation::describe_backup_job::{
    DescribeBackupJobError, DescribeBackupJobOutput,
};
use aws_sdk_backup::operation::describe_copy_job::DescribeCopyJobOutput;
use aws_sdk_backup::operation::list_copy_jobs::{ListCopyJobsInput, ListCopyJobsOutput};
use aws_sdk_backup::operation::start_copy_job::{StartCopyJobInput, StartCopyJobOutput};
use aws_sdk_backup::types::{BackupJobState, CopyJob, CopyJobState};
use aws_smithy_mocks::{mock, Rule};
use aws_smithy_types::error::ErrorMetadata;
use bbws::config::Polling;

use crate::common::*;
use bbws::aws::ResourceKind;
use bbws::jobs::{idempotency_token, Job, JobKind, JobSet};
use bbws::Operation;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const RP_EFS: &str = "arn:aws:backup:af-south-1:123456789012:recovery-point:rp-efs-1";
const RP_DB: &str = "arn:aws:backup:af-south-1:123456789012:recovery-point:awsbackup:job-db-1";

/// A backup job started 10 s ago that times out at `deadline`.
fn backup_job(id: &str, resource: ResourceKind, arn: &str, state: &str, deadline: i64) -> Job {
    let started = NOW - 10;
    Job::new(
        JobKind::Backup,
        resource,
        arn,
        id,
        state.into(),
        started,
        (deadline - started) as u64,
    )
    .in_vault("bbws-dev-backup-vault")
}

fn set(jobs: Vec<Job>) -> JobSet {
    let polling = Polling {
        initial_seconds: 5,
        max_seconds: 60,
    };
    JobSet::new(Operation::Backup, "tenant-1", "tb-0123", jobs, polling)
}

fn describes(
    id: &'static str,
    state: BackupJobState,
    message: Option<&'static str>,
    rp: Option<&'static str>,
) -> Rule {
    mock!(aws_sdk_backup::Client::describe_backup_job)
        .match_requests(move |req| req.backup_job_id() == Some(id))
        .then_output(move || {
            DescribeBackupJobOutput::builder()
                .backup_job_id(id)
                .state(state.clone())
                .set_status_message(message.map(str::to_owned))
                .set_recovery_point_arn(rp.map(str::to_owned))
                .build()
        })
}

fn tags_accepted() -> Rule {
    mock!(aws_sdk_backup::Client::tag_resource).then_output(|| {
        aws_sdk_backup::operation::tag_resource::TagResourceOutput::builder().build()
    })
}

async fn poll(deps: &Deps, set: &JobSet) -> Result<JobSet, bbws::Error> {
    let out = poll_job(
        LambdaEvent::new(serde_json::to_value(set).unwrap(), Context::default()),
        deps,
    )
    .await?;
    Ok(serde_json::from_value(out).unwrap())
}

#[tokio::test]
async fn all_completed_is_done_with_recovery_points() {
    let mut mocks = Mocks::new();
    mocks.backup.push(describes(
        "job-db-1",
        BackupJobState::Completed,
        None,
        Some(RP_DB),
    ));
    mocks.backup.push(describes(
        "job-efs-1",
        BackupJobState::Completed,
        None,
        Some(RP_EFS),
    ));
    mocks.backup.push(tags_accepted());
    let deps = mocks.deps();
    let out = poll(
        &deps,
        &set(vec![
            backup_job(
                "job-db-1",
                ResourceKind::RdsInstance,
                DB_ARN,
                "RUNNING",
                NOW + 100,
            ),
            backup_job("job-efs-1", ResourceKind::Efs, FS_ARN, "CREATED", NOW + 100),
        ]),
    )
    .await
    .unwrap();
    assert!(out.done);
    assert_eq!(out.jobs[0].recovery_point_arn.as_deref(), Some(RP_DB));
    assert_eq!(out.jobs[1].recovery_point_arn.as_deref(), Some(RP_EFS));
    assert!(out.jobs.iter().all(|j| j.state == "COMPLETED"));
}

#[tokio::test]
async fn still_running_backs_off_and_skips_completed_jobs() {
    let mut mocks = Mocks::new();
    let running = describes("job-efs-1", BackupJobState::Running, None, Some(RP_EFS));
    let done = describes("job-db-1", BackupJobState::Completed, None, Some(RP_DB));
    mocks.backup.push(running);
    mocks.backup.push(done);
    let deps = mocks.deps();
    let mut input = set(vec![
        backup_job(
            "job-db-1",
            ResourceKind::RdsInstance,
            DB_ARN,
            "COMPLETED",
            NOW + 100,
        ),
        backup_job("job-efs-1", ResourceKind::Efs, FS_ARN, "RUNNING", NOW + 100),
    ]);
    input.attempt = 2;
    let out = poll(&deps, &input).await.unwrap();
    assert!(!out.done);
    assert_eq!(out.attempt, 3);
    assert_eq!(out.wait_seconds, 40);
    assert_eq!(
        mocks.backup[1].num_calls(),
        0,
        "a completed job is not described again"
    );
    assert_eq!(mocks.backup[0].num_calls(), 1);
}

#[tokio::test]
async fn failed_aborted_expired_and_partial_jobs_are_backup_failed_with_aws_message() {
    for state in [
        BackupJobState::Failed,
        BackupJobState::Aborted,
        BackupJobState::Expired,
        BackupJobState::Partial,
    ] {
        let mut mocks = Mocks::new();
        let name = state.as_str().to_owned();
        mocks.backup.push(describes(
            "job-efs-1",
            state,
            Some("There was a running job for the same resource"),
            None,
        ));
        let deps = mocks.deps();
        let err = poll(
            &deps,
            &set(vec![backup_job(
                "job-efs-1",
                ResourceKind::Efs,
                FS_ARN,
                "RUNNING",
                NOW + 100,
            )]),
        )
        .await
        .unwrap_err();
        assert_eq!(err.name(), "BackupFailed", "{name}");
        assert_eq!(err.status(), 500);
        let text = err.to_string();
        assert!(
            text.contains(&name) && text.contains("running job for the same resource"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_job_past_its_deadline_is_backup_timeout() {
    let mut mocks = Mocks::new();
    mocks
        .backup
        .push(describes("job-db-1", BackupJobState::Running, None, None));
    let deps = mocks.deps();
    let err = poll(
        &deps,
        &set(vec![backup_job(
            "job-db-1",
            ResourceKind::RdsInstance,
            DB_ARN,
            "RUNNING",
            NOW - 1,
        )]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "BackupTimeout");
    assert_eq!(err.status(), 504);
    assert!(err.to_string().contains("job-db-1"), "{err}");
}

#[tokio::test]
async fn a_restore_poll_names_restore_errors() {
    let mut mocks = Mocks::new();
    mocks
        .backup
        .push(describes("job-db-1", BackupJobState::Running, None, None));
    let deps = mocks.deps();
    let mut input = set(vec![backup_job(
        "job-db-1",
        ResourceKind::RdsInstance,
        DB_ARN,
        "RUNNING",
        NOW - 1,
    )]);
    input.operation = Operation::Restore;
    let err = poll(&deps, &input).await.unwrap_err();
    assert_eq!(err.name(), "RestoreTimeout");
}

#[tokio::test]
async fn throttled_describe_is_transient() {
    let mut mocks = Mocks::new();
    mocks.backup.push(
        mock!(aws_sdk_backup::Client::describe_backup_job).then_error(|| {
            DescribeBackupJobError::generic(
                ErrorMetadata::builder().code("ThrottlingException").build(),
            )
        }),
    );
    let deps = mocks.deps();
    let err = poll(
        &deps,
        &set(vec![backup_job(
            "job-db-1",
            ResourceKind::RdsInstance,
            DB_ARN,
            "RUNNING",
            NOW + 5,
        )]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "TransientAwsError");
}

#[tokio::test]
async fn a_malformed_poll_is_a_named_error() {
    let deps = Mocks::new().deps();
    let err = poll_job(
        LambdaEvent::new(json!({"jobs": 3}), Context::default()),
        &deps,
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "InvalidTenant");
    let err = poll_job(
        LambdaEvent::new(json!({"operation": "restore"}), Context::default()),
        &deps,
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "InvalidRestoreTarget");
}

fn copy_rules(sent: &Sent<StartCopyJobInput>, state: CopyJobState) -> Vec<Rule> {
    let sent = sent.clone();
    vec![
        mock!(aws_sdk_backup::Client::start_copy_job).then_compute_output(move |req| {
            sent.push(req);
            let id = if req.recovery_point_arn() == Some(RP_EFS) {
                "copy-efs"
            } else {
                "copy-db"
            };
            StartCopyJobOutput::builder().copy_job_id(id).build()
        }),
        // No copy of the shared point yet.
        mock!(aws_sdk_backup::Client::list_copy_jobs)
            .then_output(|| ListCopyJobsOutput::builder().build()),
        mock!(aws_sdk_backup::Client::describe_copy_job).then_compute_output(move |req| {
            DescribeCopyJobOutput::builder()
                .copy_job(
                    CopyJob::builder()
                        .copy_job_id(req.copy_job_id().unwrap_or_default())
                        .state(state.clone())
                        .build(),
                )
                .build()
        }),
    ]
}

fn completed_backups() -> JobSet {
    let mut db = backup_job(
        "job-db-1",
        ResourceKind::RdsInstance,
        DB_ARN,
        "COMPLETED",
        NOW,
    );
    db.recovery_point_arn = Some(RP_DB.into());
    let mut efs = backup_job("hourly-7", ResourceKind::Efs, FS_ARN, "COMPLETED", NOW);
    efs.recovery_point_arn = Some(RP_EFS.into());
    efs.joined = true;
    let mut s = set(vec![db, efs]);
    s.done = true;
    s
}

async fn copy(deps: &Deps, backups: &JobSet) -> Result<JobSet, bbws::Error> {
    let payload: Value =
        json!({"executionId": EXECUTION, "backups": backups, "timeoutSeconds": 3600});
    let out = copy_to_dr(LambdaEvent::new(payload, Context::default()), deps).await?;
    Ok(serde_json::from_value(out).unwrap())
}

#[tokio::test]
async fn copies_each_recovery_point_to_the_dr_vault_for_thirty_days() {
    let sent = Sent::default();
    let mut mocks = Mocks::new();
    mocks
        .backup
        .extend(copy_rules(&sent, CopyJobState::Running));
    let deps = mocks.deps();
    let out = copy(&deps, &completed_backups()).await.unwrap();

    assert!(!out.done);
    assert_eq!(out.backup_id, "tb-0123");
    let ids: Vec<_> = out
        .jobs
        .iter()
        .map(|j| (j.job_id.as_str(), j.state.as_str(), j.kind))
        .collect();
    assert_eq!(
        ids,
        [
            ("copy-db", "RUNNING", JobKind::Copy),
            ("copy-efs", "RUNNING", JobKind::Copy)
        ]
    );
    assert_eq!(out.jobs[0].deadline, NOW + 3600);

    let requests = sent.all();
    assert_eq!(requests.len(), 2);
    for req in &requests {
        assert_eq!(
            req.source_backup_vault_name(),
            Some("bbws-dev-backup-vault")
        );
        assert_eq!(
            req.destination_backup_vault_arn(),
            Some("arn:aws:backup:eu-west-1:123456789012:backup-vault:bbws-dr-vault")
        );
        assert_eq!(
            req.iam_role_arn(),
            Some("arn:aws:iam::123456789012:role/bbws-dev-backup")
        );
        assert_eq!(req.lifecycle().unwrap().delete_after_days(), Some(30));
    }
    // The database's copy is this execution's; the shared point's is the point's own, the
    // same for every tenant that asks.
    assert_eq!(
        requests[0].idempotency_token(),
        Some(idempotency_token(EXECUTION, "copy", RP_DB).as_str())
    );
    let shared_token = requests[1].idempotency_token().unwrap();
    assert_ne!(
        shared_token,
        idempotency_token(EXECUTION, "copy", RP_EFS).as_str()
    );
}

fn listed_copy(id: &str, state: CopyJobState) -> CopyJob {
    CopyJob::builder()
        .copy_job_id(id)
        .source_recovery_point_arn(RP_EFS)
        .state(state)
        .build()
}

#[tokio::test]
async fn a_shared_point_already_being_copied_is_joined_not_copied_again() {
    let sent = Sent::default();
    let listed: Sent<ListCopyJobsInput> = Sent::default();
    let rec = listed.clone();
    let mut mocks = Mocks::new();
    // The plan's copy action (or another tenant) copies the shared point already; an older
    // copy of it failed.
    mocks.backup.push(
        mock!(aws_sdk_backup::Client::list_copy_jobs).then_compute_output(move |req| {
            rec.push(req);
            ListCopyJobsOutput::builder()
                .copy_jobs(listed_copy("copy-failed", CopyJobState::Failed))
                .copy_jobs(listed_copy("copy-of-the-plan", CopyJobState::Running))
                .build()
        }),
    );
    mocks
        .backup
        .extend(copy_rules(&sent, CopyJobState::Running));
    let out = copy(&mocks.deps(), &completed_backups()).await.unwrap();
    let ids: Vec<_> = out.jobs.iter().map(|j| j.job_id.as_str()).collect();
    assert_eq!(ids, ["copy-db", "copy-of-the-plan"]);
    assert!(out.jobs[1].joined);
    let requests = sent.all();
    assert_eq!(requests.len(), 1, "only the tenant's database is copied");
    assert_eq!(requests[0].recovery_point_arn(), Some(RP_DB));
    let asked = listed.all();
    assert_eq!(asked[0].by_source_recovery_point_arn(), Some(RP_EFS));
    assert_eq!(
        asked[0].by_destination_vault_arn(),
        Some("arn:aws:backup:eu-west-1:123456789012:backup-vault:bbws-dr-vault")
    );
}

#[tokio::test]
async fn two_tenants_copying_one_shared_point_send_one_token_and_a_failed_copy_is_retried() {
    let sent = Sent::default();
    let mut mocks = Mocks::new();
    mocks
        .backup
        .extend(copy_rules(&sent, CopyJobState::Running));
    let deps = mocks.deps();
    let first = completed_backups();
    let mut second = completed_backups();
    second.tenant_id = "tenant-2".into();
    second.backup_id = "tb-0456".into();
    copy(&deps, &first).await.unwrap();
    copy(&deps, &second).await.unwrap();
    let tokens: Vec<_> = sent
        .all()
        .iter()
        .filter(|r| r.recovery_point_arn() == Some(RP_EFS))
        .map(|r| r.idempotency_token().unwrap().to_owned())
        .collect();
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[0], tokens[1], "AWS Backup answers both with one job");

    // Once that copy failed, the next ask starts a new one: another token.
    let sent_after = Sent::default();
    let mut mocks = Mocks::new();
    mocks.backup.push(
        mock!(aws_sdk_backup::Client::list_copy_jobs).then_output(|| {
            ListCopyJobsOutput::builder()
                .copy_jobs(listed_copy("copy-efs", CopyJobState::Failed))
                .build()
        }),
    );
    mocks
        .backup
        .extend(copy_rules(&sent_after, CopyJobState::Running));
    copy(&mocks.deps(), &first).await.unwrap();
    let retried = sent_after
        .all()
        .into_iter()
        .find(|r| r.recovery_point_arn() == Some(RP_EFS))
        .unwrap();
    assert_ne!(retried.idempotency_token().unwrap(), tokens[0]);
}

#[tokio::test]
async fn copies_already_complete_are_done() {
    let sent = Sent::default();
    let mut mocks = Mocks::new();
    mocks
        .backup
        .extend(copy_rules(&sent, CopyJobState::Completed));
    let out = copy(&mocks.deps(), &completed_backups()).await.unwrap();
    assert!(out.done);
}

#[tokio::test]
async fn a_failed_copy_is_backup_failed() {
    let sent = Sent::default();
    let mut mocks = Mocks::new();
    mocks.backup.extend(copy_rules(&sent, CopyJobState::Failed));
    let err = copy(&mocks.deps(), &completed_backups()).await.unwrap_err();
    assert_eq!(err.name(), "BackupFailed");
    assert!(err.to_string().contains("copy job"), "{err}");
}

#[tokio::test]
async fn nothing_is_copied_before_every_backup_completed() {
    let sent = Sent::default();
    let mut mocks = Mocks::new();
    mocks
        .backup
        .extend(copy_rules(&sent, CopyJobState::Running));
    let mut backups = completed_backups();
    backups.jobs[1].state = "RUNNING".into();
    let err = copy(&mocks.deps(), &backups).await.unwrap_err();
    assert_eq!(err.name(), "BackupFailed");
    assert!(
        sent.all().is_empty(),
        "no copy starts while a backup is unfinished"
    );
}

#[tokio::test]
async fn a_joined_shared_point_is_named_on_the_backups_own_database_point() {
    use aws_sdk_backup::operation::tag_resource::{TagResourceInput, TagResourceOutput};
    let tags: Sent<TagResourceInput> = Sent::default();
    let rec = tags.clone();
    let mut mocks = Mocks::new();
    mocks.backup.push(describes(
        "hourly-7",
        BackupJobState::Completed,
        None,
        Some(RP_EFS),
    ));
    mocks.backup.push(describes(
        "job-db-1",
        BackupJobState::Running,
        None,
        Some(RP_DB),
    ));
    mocks.backup.push(
        mock!(aws_sdk_backup::Client::tag_resource).then_compute_output(move |r| {
            rec.push(r);
            TagResourceOutput::builder().build()
        }),
    );
    let deps = mocks.deps();
    let mut joined = backup_job("hourly-7", ResourceKind::Efs, FS_ARN, "RUNNING", NOW + 100);
    joined.joined = true;
    let db = backup_job(
        "job-db-1",
        ResourceKind::RdsInstance,
        DB_ARN,
        "RUNNING",
        NOW + 100,
    );
    // Nothing is tagged while the database's job runs.
    let out = poll(&deps, &set(vec![db, joined])).await.unwrap();
    assert!(!out.done);
    assert!(tags.all().is_empty());

    let mut mocks = Mocks::new();
    mocks.backup.push(describes(
        "job-db-1",
        BackupJobState::Completed,
        None,
        Some(RP_DB),
    ));
    let rec = tags.clone();
    mocks.backup.push(
        mock!(aws_sdk_backup::Client::tag_resource).then_compute_output(move |r| {
            rec.push(r);
            TagResourceOutput::builder().build()
        }),
    );
    let out = poll(&mocks.deps(), &out).await.unwrap();
    assert!(out.done);
    let sent = tags.all();
    assert_eq!(sent.len(), 1, "the shared point gets no tag per tenant");
    assert_eq!(sent[0].resource_arn(), Some(RP_DB));
    assert_eq!(
        sent[0]
            .tags()
            .unwrap()
            .get("bbws:files-point")
            .map(String::as_str),
        Some(RP_EFS)
    );
}

#[tokio::test]
async fn a_joined_backup_without_a_database_tags_the_shared_point() {
    use aws_sdk_backup::operation::tag_resource::{TagResourceInput, TagResourceOutput};
    let tags: Sent<TagResourceInput> = Sent::default();
    let rec = tags.clone();
    let mut mocks = Mocks::new();
    mocks.backup.push(describes(
        "hourly-7",
        BackupJobState::Completed,
        None,
        Some(RP_EFS),
    ));
    mocks.backup.push(
        mock!(aws_sdk_backup::Client::tag_resource).then_compute_output(move |r| {
            rec.push(r);
            TagResourceOutput::builder().build()
        }),
    );
    let mut joined = backup_job("hourly-7", ResourceKind::Efs, FS_ARN, "RUNNING", NOW + 100);
    joined.joined = true;
    let out = poll(&mocks.deps(), &set(vec![joined])).await.unwrap();
    assert!(out.done);
    let sent = tags.all();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].resource_arn(), Some(RP_EFS));
    assert_eq!(
        sent[0]
            .tags()
            .unwrap()
            .get("bbws:backup:tb-0123")
            .map(String::as_str),
        // The tenant and the backup's kind (a set without a kind is an on-demand backup's).
        Some("tenant-1/on-demand")
    );
}

#[tokio::test]
async fn a_joined_point_with_no_room_for_a_tag_is_backup_failed_not_retried() {
    use aws_sdk_backup::operation::tag_resource::TagResourceError;
    let mut mocks = Mocks::new();
    mocks.backup.push(describes(
        "hourly-7",
        BackupJobState::Completed,
        None,
        Some(RP_EFS),
    ));
    mocks
        .backup
        .push(mock!(aws_sdk_backup::Client::tag_resource).then_error(|| {
            TagResourceError::generic(
                ErrorMetadata::builder()
                    .code("LimitExceededException")
                    .message("Metadata tags per backup: 50")
                    .build(),
            )
        }));
    let deps = mocks.deps();
    let mut joined = backup_job("hourly-7", ResourceKind::Efs, FS_ARN, "RUNNING", NOW + 100);
    joined.joined = true;
    let err = poll(&deps, &set(vec![joined])).await.unwrap_err();
    assert_eq!(err.name(), "BackupFailed", "{err}");
    let text = err.to_string();
    assert!(
        text.contains("LimitExceededException") && text.contains("service quota"),
        "{text}"
    );
}
