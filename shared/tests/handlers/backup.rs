//! start-backup against the real SDK clients, answered by aws-smithy-mocks.

use aws_sdk_backup::operation::list_backup_jobs::ListBackupJobsError;
use aws_sdk_backup::operation::start_backup_job::{
    StartBackupJobError, StartBackupJobInput, StartBackupJobOutput,
};
use aws_sdk_backup::operation::tag_resource::{TagResourceInput, TagResourceOutput};
use aws_sdk_backup::types::BackupJobState;
use aws_smithy_mocks::{mock, Rule};
use aws_smithy_types::error::ErrorMetadata;
use bbws::backup::{BackupPlan, FileSystemAction};

use crate::common::*;
use bbws::jobs::{idempotency_token, tenant_backup_id, JobSet};
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::{json, Value};

async fn call(deps: &Deps, payload: Value) -> Result<Value, bbws::Error> {
    start_backup(LambdaEvent::new(payload, Context::default()), deps).await
}

async fn plan(deps: &Deps, request: Value) -> Result<BackupPlan, bbws::Error> {
    let out = call(
        deps,
        json!({"action": "plan", "executionId": EXECUTION, "request": request}),
    )
    .await?;
    Ok(serde_json::from_value(out).expect("a plan"))
}

async fn start(deps: &Deps, plan: &BackupPlan) -> Result<JobSet, bbws::Error> {
    let out = call(
        deps,
        json!({"action": "start", "executionId": EXECUTION, "plan": plan}),
    )
    .await?;
    Ok(serde_json::from_value(out).expect("a job set"))
}

/// A tenant with an access point, an RDS instance and a service, and nothing running.
fn healthy_tenant(sent_lists: &Sent<String>) -> Mocks {
    let mut mocks = Mocks::new();
    mocks.tagging.push(tagged(&[AP_ARN, DB_ARN, SERVICE_ARN]));
    mocks.efs.push(access_point("/tenant-1"));
    mocks.backup.push(jobs_on(DB_ARN, vec![], sent_lists));
    mocks.backup.push(jobs_on(FS_ARN, vec![], sent_lists));
    mocks
}

fn recording_start(sent: &Sent<StartBackupJobInput>) -> Rule {
    let sent = sent.clone();
    mock!(aws_sdk_backup::Client::start_backup_job).then_compute_output(move |req| {
        sent.push(req);
        let resource = req.resource_arn().unwrap_or_default();
        let (id, rp) = if resource == FS_ARN {
            (
                "job-efs-1",
                Some("arn:aws:backup:af-south-1:123456789012:recovery-point:rp-efs-1"),
            )
        } else {
            ("job-db-1", None)
        };
        StartBackupJobOutput::builder()
            .backup_job_id(id)
            .set_recovery_point_arn(rp.map(str::to_owned))
            .build()
    })
}

#[tokio::test]
async fn invalid_tenant_ids_are_refused_before_any_aws_call() {
    let tagging = tagged(&[AP_ARN]);
    let mut mocks = Mocks::new();
    mocks.tagging.push(tagging);
    let deps = mocks.deps();
    let long = "a".repeat(64);
    for bad in ["../x", "A", "", long.as_str(), "tenänt", "tenant 1", "a/b"] {
        let err = plan(&deps, json!({"tenantId": bad})).await.unwrap_err();
        assert_eq!(err.name(), "InvalidTenant", "{bad:?}");
        assert_eq!(err.status(), 400);
    }
    assert_eq!(
        mocks.tagging[0].num_calls(),
        0,
        "no AWS call for an invalid id"
    );
}

#[tokio::test]
async fn malformed_requests_are_named_errors_without_aws_calls() {
    let mocks = Mocks::new();
    let deps = mocks.deps();
    let err = plan(
        &deps,
        json!({"tenantId": "tenant-1", "includeDatabase": "yes"}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "InvalidTenant");
    let err = plan(&deps, json!({"tenantId": "tenant-1", "surprise": 1}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("surprise"), "{err}");
    let err = call(&deps, json!({"action": "dance"})).await.unwrap_err();
    assert_eq!(err.name(), "InvalidTenant");
    let err = plan(
        &deps,
        json!({"tenantId": "tenant-1", "timeouts": {"efsSeconds": 0}}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "InvalidTenant");

    // What Step Functions sees: the stable name and the status code.
    let diagnostic: Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, "InvalidTenant");
    assert!(diagnostic.error_message.starts_with("400: "));
}

#[tokio::test]
async fn a_tenant_without_an_access_point_is_invalid() {
    let mut mocks = Mocks::new();
    mocks.tagging.push(tagged(&[DB_ARN]));
    let deps = mocks.deps();
    let err = plan(&deps, json!({"tenantId": "tenant-1"}))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidTenant");
    assert!(err.to_string().contains("no EFS access point"), "{err}");
}

#[tokio::test]
async fn an_access_point_rooted_elsewhere_is_refused() {
    let mut mocks = Mocks::new();
    mocks.tagging.push(tagged(&[AP_ARN]));
    mocks.efs.push(access_point("/tenant-2"));
    let deps = mocks.deps();
    let err = plan(&deps, json!({"tenantId": "tenant-1"}))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidTenant");
    assert!(err.to_string().contains("/tenant-2"), "{err}");
}

#[tokio::test]
async fn plans_a_fresh_backup_of_files_and_database() {
    let lists = Sent::default();
    let deps = healthy_tenant(&lists).deps();
    let plan = plan(&deps, json!({"tenantId": "tenant-1"})).await.unwrap();
    assert_eq!(plan.backup_id, tenant_backup_id(EXECUTION, "tenant-1", NOW));
    assert_eq!(plan.file_system.file_system_arn, FS_ARN);
    assert_eq!(plan.file_system.root_path, "/tenant-1");
    assert_eq!(plan.database.as_ref().unwrap().arn, DB_ARN);
    assert_eq!(plan.file_system_action, FileSystemAction::Start);
    assert!(!plan.must_wait);
    assert!(plan.copy_to_dr);
    assert_eq!(plan.timeouts.efs_seconds, 300);
    assert_eq!(plan.timeouts.database_seconds, 600);
    // Both resources were checked for running jobs.
    assert_eq!(lists.all(), vec![DB_ARN.to_string(), FS_ARN.to_string()]);
}

#[tokio::test]
async fn request_overrides_timeouts_polling_and_resources() {
    let lists = Sent::default();
    let mut mocks = Mocks::new();
    let other_db = "arn:aws:rds:af-south-1:123456789012:cluster:tenant-1-aurora";
    // A named database must be the tenant's own: it carries the tenant's tag.
    mocks.tagging.push(tagged(&[AP_ARN, DB_ARN, other_db]));
    mocks.efs.push(access_point("/tenant-1"));
    mocks.backup.push(jobs_on(other_db, vec![], &lists));
    mocks.backup.push(jobs_on(FS_ARN, vec![], &lists));
    let deps = mocks.deps();
    let plan = plan(
        &deps,
        json!({"tenantId": "tenant-1", "timeouts": {"efsSeconds": 20, "databaseSeconds": 30},
               "pollSeconds": 1, "maxPollSeconds": 2, "copyToDr": false,
               "resources": {"databaseArn": other_db}}),
    )
    .await
    .unwrap();
    assert_eq!(plan.timeouts.efs_seconds, 20);
    assert_eq!(plan.timeouts.database_seconds, 30);
    assert_eq!(plan.polling.initial_seconds, 1);
    assert_eq!(plan.polling.max_seconds, 2);
    assert!(!plan.copy_to_dr);
    assert_eq!(plan.database.unwrap().arn, other_db);
    assert_eq!(plan.wait_deadline, NOW + 20);
}

#[tokio::test]
async fn a_named_resource_that_is_not_the_tenants_is_refused_before_any_job() {
    for resources in [
        json!({"databaseArn": "arn:aws:rds:af-south-1:123456789012:db:tenant-2"}),
        json!({"serviceArn": "arn:aws:ecs:af-south-1:123456789012:service/bbws-dev/tenant-2"}),
    ] {
        let mut mocks = Mocks::new();
        mocks.tagging.push(tagged(&[AP_ARN, DB_ARN]));
        mocks.efs.push(access_point("/tenant-1"));
        // No backup rule: a ListBackupJobs or StartBackupJob call would fail the test.
        let deps = mocks.deps();
        let err = plan(
            &deps,
            json!({"tenantId": "tenant-1", "resources": resources}),
        )
        .await
        .unwrap_err();
        assert_eq!(err.status(), 400, "{err}");
        assert!(
            err.to_string()
                .contains("does not carry bbws:tenant-id=tenant-1"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_job_running_on_the_tenant_database_is_backup_already_running() {
    let lists = Sent::default();
    let mut mocks = Mocks::new();
    mocks.tagging.push(tagged(&[AP_ARN, DB_ARN]));
    mocks.efs.push(access_point("/tenant-1"));
    mocks.backup.push(jobs_on(
        DB_ARN,
        vec![
            job("old", DB_ARN, BackupJobState::Completed, None),
            job("busy-1", DB_ARN, BackupJobState::Running, None),
        ],
        &lists,
    ));
    let start_rule = mock!(aws_sdk_backup::Client::start_backup_job)
        .then_output(|| StartBackupJobOutput::builder().backup_job_id("x").build());
    mocks.backup.push(start_rule);
    let deps = mocks.deps();
    let err = plan(&deps, json!({"tenantId": "tenant-1"}))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "BackupAlreadyRunning");
    assert_eq!(err.status(), 409);
    assert!(err.to_string().contains("busy-1"), "{err}");
    assert_eq!(mocks.backup[1].num_calls(), 0, "nothing started");
}

#[tokio::test]
async fn joins_running_efs_job_instead_of_starting_a_second() {
    let lists = Sent::default();
    let rp = "arn:aws:backup:af-south-1:123456789012:recovery-point:rp-hourly";
    let mut mocks = Mocks::new();
    mocks.tagging.push(tagged(&[AP_ARN]));
    mocks.efs.push(access_point("/tenant-1"));
    mocks.backup.push(jobs_on(
        FS_ARN,
        vec![job("hourly-7", FS_ARN, BackupJobState::Running, Some(rp))],
        &lists,
    ));
    let starts = Sent::default();
    mocks.backup.push(recording_start(&starts));
    let tags: Sent<TagResourceInput> = Sent::default();
    let tags_rec = tags.clone();
    mocks.backup.push(
        mock!(aws_sdk_backup::Client::tag_resource).then_compute_output(move |req| {
            tags_rec.push(req);
            TagResourceOutput::builder().build()
        }),
    );
    let deps = mocks.deps();

    let plan = plan(
        &deps,
        json!({"tenantId": "tenant-1", "includeDatabase": true}),
    )
    .await
    .unwrap();
    assert!(plan.database.is_none(), "the tenant has no database tagged");
    assert!(
        matches!(&plan.file_system_action, FileSystemAction::Join { job_id, .. } if job_id == "hourly-7")
    );
    assert!(
        plan.summary.contains("join backup job hourly-7"),
        "{}",
        plan.summary
    );

    let set = start(&deps, &plan).await.unwrap();
    assert!(
        starts.all().is_empty(),
        "no second job on the shared file system"
    );
    assert_eq!(set.jobs.len(), 1);
    let efs = &set.jobs[0];
    assert!(efs.joined);
    assert_eq!(efs.job_id, "hourly-7");
    assert_eq!(efs.recovery_point_arn.as_deref(), Some(rp));
    assert!(
        tags.all().is_empty(),
        "tagged once the job completes, by poll-job"
    );
}

#[tokio::test]
async fn fresh_waits_for_the_running_efs_job_then_times_out() {
    let lists = Sent::default();
    let mut mocks = Mocks::new();
    mocks.tagging.push(tagged(&[AP_ARN]));
    mocks.efs.push(access_point("/tenant-1"));
    mocks.backup.push(jobs_on(
        FS_ARN,
        vec![job("hourly-7", FS_ARN, BackupJobState::Pending, None)],
        &lists,
    ));
    let deps = mocks.deps();
    let first = plan(&deps, json!({"tenantId": "tenant-1", "fresh": true}))
        .await
        .unwrap();
    assert!(first.must_wait);
    assert!(
        matches!(&first.file_system_action, FileSystemAction::Wait { job_id, .. } if job_id == "hourly-7")
    );
    assert_eq!(first.wait_deadline, NOW + 300);

    // Starting from a plan that says wait is refused.
    let err = start(&deps, &first).await.unwrap_err();
    assert_eq!(err.name(), "BackupFailed");

    // The state machine comes back with the previous plan; its deadline has passed.
    let mut request = json!({"tenantId": "tenant-1", "fresh": true});
    request["plan"] = json!({"waitDeadline": NOW - 1});
    let err = plan(&deps, request).await.unwrap_err();
    assert_eq!(err.name(), "BackupTimeout");
    assert_eq!(err.status(), 504);
}

#[tokio::test]
async fn an_aborting_job_is_waited_for_even_without_fresh() {
    let lists = Sent::default();
    let mut mocks = Mocks::new();
    mocks.tagging.push(tagged(&[AP_ARN]));
    mocks.efs.push(access_point("/tenant-1"));
    mocks.backup.push(jobs_on(
        FS_ARN,
        vec![job("dying", FS_ARN, BackupJobState::Aborting, None)],
        &lists,
    ));
    let deps = mocks.deps();
    let plan = plan(&deps, json!({"tenantId": "tenant-1"})).await.unwrap();
    assert!(plan.must_wait);
}

#[tokio::test]
async fn starts_both_jobs_with_tokens_tags_vault_and_lifecycle() {
    let lists = Sent::default();
    let mut mocks = healthy_tenant(&lists);
    let starts = Sent::default();
    mocks.backup.push(recording_start(&starts));
    let deps = mocks.deps();
    let plan = plan(&deps, json!({"tenantId": "tenant-1"})).await.unwrap();
    let set = start(&deps, &plan).await.unwrap();

    assert_eq!(set.backup_id, plan.backup_id);
    assert_eq!(set.tenant_id, "tenant-1");
    assert!(!set.done);
    assert_eq!(set.wait_seconds, 15);
    let kinds: Vec<_> = set
        .jobs
        .iter()
        .map(|j| (j.job_id.as_str(), j.deadline))
        .collect();
    assert_eq!(kinds, [("job-db-1", NOW + 600), ("job-efs-1", NOW + 300)]);
    assert_eq!(
        set.jobs[1].recovery_point_arn.as_deref(),
        Some("arn:aws:backup:af-south-1:123456789012:recovery-point:rp-efs-1")
    );

    let sent = starts.all();
    assert_eq!(sent.len(), 2);
    for req in &sent {
        let resource = req.resource_arn().unwrap();
        assert_eq!(req.backup_vault_name(), Some("bbws-dev-backup-vault"));
        assert_eq!(
            req.iam_role_arn(),
            Some("arn:aws:iam::123456789012:role/bbws-dev-backup")
        );
        assert_eq!(
            req.idempotency_token(),
            Some(idempotency_token(EXECUTION, "backup", resource).as_str())
        );
        assert_eq!(req.start_window_minutes(), Some(60));
        assert_eq!(req.complete_window_minutes(), Some(120));
        let tags = req.recovery_point_tags().unwrap();
        assert_eq!(tags["bbws:tenant-id"], "tenant-1");
        assert_eq!(tags["bbws:backup-id"], plan.backup_id);
        assert_eq!(tags["bbws:backup-type"], "on-demand");
    }
    let db = sent
        .iter()
        .find(|r| r.resource_arn() == Some(DB_ARN))
        .unwrap();
    let efs = sent
        .iter()
        .find(|r| r.resource_arn() == Some(FS_ARN))
        .unwrap();
    assert_eq!(
        db.recovery_point_tags().unwrap()["bbws:component"],
        "database"
    );
    assert_eq!(efs.recovery_point_tags().unwrap()["bbws:component"], "efs");
    let efs_life = efs.lifecycle().unwrap();
    assert_eq!(efs_life.move_to_cold_storage_after_days(), Some(1));
    assert_eq!(efs_life.delete_after_days(), Some(91));
    let db_life = db.lifecycle().unwrap();
    assert_eq!(db_life.move_to_cold_storage_after_days(), None);
    assert_eq!(db_life.delete_after_days(), Some(7));
}

#[tokio::test]
async fn a_retried_start_sends_the_same_idempotency_tokens() {
    let lists = Sent::default();
    let mut mocks = healthy_tenant(&lists);
    let starts = Sent::default();
    mocks.backup.push(recording_start(&starts));
    let deps = mocks.deps();
    let plan = plan(&deps, json!({"tenantId": "tenant-1"})).await.unwrap();
    let first = start(&deps, &plan).await.unwrap();
    let second = start(&deps, &plan).await.unwrap();
    assert_eq!(first, second);
    let tokens: Vec<_> = starts
        .all()
        .iter()
        .map(|r| r.idempotency_token().unwrap().to_owned())
        .collect();
    assert_eq!(tokens.len(), 4);
    assert_eq!(tokens[0], tokens[2]);
    assert_eq!(tokens[1], tokens[3]);
    assert_ne!(tokens[0], tokens[1]);
}

#[tokio::test]
async fn throttling_is_the_transient_error() {
    let lists = Sent::default();
    let mut mocks = healthy_tenant(&lists);
    mocks.backup.push(
        mock!(aws_sdk_backup::Client::start_backup_job).then_error(|| {
            StartBackupJobError::generic(
                ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .message("Rate exceeded")
                    .build(),
            )
        }),
    );
    let deps = mocks.deps();
    let plan = plan(&deps, json!({"tenantId": "tenant-1"})).await.unwrap();
    let err = start(&deps, &plan).await.unwrap_err();
    assert_eq!(err.name(), "TransientAwsError");
    assert!(err.to_string().contains("Rate exceeded"), "{err}");
}

#[tokio::test]
async fn a_quota_refusal_is_backup_failed_on_the_first_answer_and_throttling_stays_transient() {
    for (code, name) in [
        ("LimitExceededException", "BackupFailed"),
        ("ThrottlingException", "TransientAwsError"),
        ("TooManyRequestsException", "TransientAwsError"),
        ("RequestLimitExceeded", "TransientAwsError"),
    ] {
        let lists = Sent::default();
        let mut mocks = healthy_tenant(&lists);
        mocks.backup.push(
            mock!(aws_sdk_backup::Client::start_backup_job).then_error(move || {
                StartBackupJobError::generic(
                    ErrorMetadata::builder()
                        .code(code)
                        .message("A limit in the request has been exceeded")
                        .build(),
                )
            }),
        );
        let deps = mocks.deps();
        let plan = plan(&deps, json!({"tenantId": "tenant-1"})).await.unwrap();
        let err = start(&deps, &plan).await.unwrap_err();
        assert_eq!(err.name(), name, "{code}: {err}");
        let text = err.to_string();
        assert!(text.contains(code), "{text}");
        assert_eq!(
            text.contains("service quota"),
            code == "LimitExceededException",
            "only a quota refusal names the quota: {text}"
        );
    }
}

#[tokio::test]
async fn a_server_error_is_transient_and_access_denied_is_not() {
    let mut mocks = Mocks::new();
    mocks.tagging.push(tagged(&[AP_ARN]));
    mocks.efs.push(access_point("/tenant-1"));
    mocks.backup.push(
        mock!(aws_sdk_backup::Client::list_backup_jobs).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(503).unwrap(),
                aws_smithy_types::body::SdkBody::from("{}"),
            )
        }),
    );
    let err = plan(&mocks.deps(), json!({"tenantId": "tenant-1"}))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "TransientAwsError", "{err}");

    let mut mocks = Mocks::new();
    mocks.tagging.push(tagged(&[AP_ARN]));
    mocks.efs.push(access_point("/tenant-1"));
    mocks.backup.push(
        mock!(aws_sdk_backup::Client::list_backup_jobs).then_error(|| {
            ListBackupJobsError::generic(
                ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .message("not allowed")
                    .build(),
            )
        }),
    );
    let err = plan(&mocks.deps(), json!({"tenantId": "tenant-1"}))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "BackupFailed");
    assert!(err.to_string().contains("AccessDeniedException"), "{err}");
}

#[tokio::test]
async fn a_fleet_tenant_joins_the_runs_job_by_id_even_once_it_completed() {
    use aws_sdk_backup::operation::describe_backup_job::DescribeBackupJobOutput;
    let lists = Sent::default();
    let rp = "arn:aws:backup:af-south-1:123456789012:recovery-point:rp-fleet";
    let mut mocks = Mocks::new();
    mocks.tagging.push(tagged(&[AP_ARN, DB_ARN]));
    mocks.efs.push(access_point("/tenant-1"));
    // The tenant's last database backup took 480 s.
    let previous = aws_sdk_backup::types::BackupJob::builder()
        .backup_job_id("job-db-yesterday")
        .resource_arn(DB_ARN)
        .state(BackupJobState::Completed)
        .creation_date(aws_smithy_types::DateTime::from_secs(NOW - 86_400))
        .completion_date(aws_smithy_types::DateTime::from_secs(NOW - 86_400 + 480))
        .build();
    mocks.backup.push(jobs_on(DB_ARN, vec![previous], &lists));
    mocks.backup.push(
        mock!(aws_sdk_backup::Client::describe_backup_job)
            .match_requests(|r| r.backup_job_id() == Some("job-fleet-1"))
            .then_output(move || {
                DescribeBackupJobOutput::builder()
                    .backup_job_id("job-fleet-1")
                    .resource_arn(FS_ARN)
                    .state(BackupJobState::Completed)
                    .recovery_point_arn(rp)
                    .backup_vault_name("bbws-dev-backup-vault")
                    .build()
            }),
    );
    let starts = Sent::default();
    mocks.backup.push(recording_start(&starts));
    let deps = mocks.deps();

    let plan = plan(
        &deps,
        json!({"tenantId": "tenant-1", "sharedFileSystemJobId": "job-fleet-1"}),
    )
    .await
    .unwrap();
    assert_eq!(
        lists.all(),
        [DB_ARN],
        "the file system's running jobs are not looked for"
    );
    assert!(
        matches!(&plan.file_system_action, FileSystemAction::Join { job_id, .. } if job_id == "job-fleet-1")
    );
    let set = start(&deps, &plan).await.unwrap();
    let started: Vec<String> = starts
        .all()
        .iter()
        .map(|s| s.resource_arn().unwrap().to_owned())
        .collect();
    assert_eq!(started, [DB_ARN], "only the database job starts");
    let efs = set.jobs.iter().find(|j| j.resource_arn == FS_ARN).unwrap();
    assert!(efs.joined);
    assert_eq!(efs.recovery_point_arn.as_deref(), Some(rp));
    assert!(
        !efs.state.is_completed(),
        "left for poll-job to read, which tags the point for this backup"
    );
    assert_eq!(
        set.wait_seconds, 480,
        "the first wait is the last backup's duration"
    );
}

#[tokio::test]
async fn a_fleet_job_of_another_resource_is_refused_and_fresh_cannot_join() {
    use aws_sdk_backup::operation::describe_backup_job::DescribeBackupJobOutput;
    let lists = Sent::default();
    let mut mocks = healthy_tenant(&lists);
    mocks.backup.push(
        mock!(aws_sdk_backup::Client::describe_backup_job).then_output(|| {
            DescribeBackupJobOutput::builder()
                .backup_job_id("job-other")
                .resource_arn(DB_ARN)
                .state(BackupJobState::Running)
                .build()
        }),
    );
    let deps = mocks.deps();
    let err = plan(
        &deps,
        json!({"tenantId": "tenant-1", "sharedFileSystemJobId": "job-other"}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "InvalidTenant");
    assert!(
        err.message()
            .contains("not a backup of the shared file system"),
        "{err}"
    );
    let err = plan(
        &deps,
        json!({"tenantId": "tenant-1", "sharedFileSystemJobId": "job-other", "fresh": true}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "InvalidTenant");
}
