//! A tenant backup: copied to DR, joining the shared file system's running job, and how it
//! fails (a job already running, a failed job, a slow one, throttling, a bad tenant id).

use aws_sdk_backup::types::BackupJobState;
use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::{json, Value};

use crate::stack::{unique, Stack};

#[tokio::test]
async fn a_backup_completes_and_is_copied_to_dr() {
    let stack = Stack::new().await;
    let tenant = stack.seed_tenant("e2e-happy");
    let (code, out) = stack.bbws(&[
        "backup",
        "--tenant",
        "e2e-happy",
        "--poll-seconds",
        "1",
        "--wait-for-copy",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["status"], "SUCCEEDED");
    let result = &out["output"];
    assert_eq!(result["tenantId"], "e2e-happy");
    let points = result["recoveryPoints"].as_array().unwrap();
    assert_eq!(points.len(), 2, "{result}");
    assert!(points
        .iter()
        .all(|p| p["state"] == "COMPLETED" && p["recoveryPointArn"].is_string()));
    assert!(points
        .iter()
        .any(|p| p["resourceArn"] == tenant.database_arn.as_str()));
    let copies = result["drCopies"].as_array().unwrap();
    assert_eq!(copies.len(), 2);
    assert!(copies.iter().all(|c| c["state"] == "COMPLETED"), "{result}");

    // The copies are in the DR region's vault.
    let listed = stack
        .dr_backup
        .list_recovery_points_by_backup_vault()
        .backup_vault_name("bbws-dr-vault")
        .send()
        .await
        .unwrap();
    for copy in copies {
        let arn = copy["recoveryPointArn"].as_str().unwrap();
        assert!(arn.contains(":eu-west-1:"), "{arn}");
        assert!(listed
            .recovery_points()
            .iter()
            .any(|rp| rp.recovery_point_arn() == Some(arn)));
    }

    // The operator sees the backup listed, newest first, with its DR copy state.
    let (code, listing) = stack.bbws(&["backups", "--tenant", "e2e-happy"]);
    assert_eq!(code, 0);
    let first = &listing.as_array().expect("a JSON array")[0];
    assert_eq!(first["backupId"], result["backupId"]);
}

#[tokio::test]
async fn a_running_efs_job_is_joined_not_collided_with() {
    let stack = Stack::new().await;
    stack.seed_tenant("e2e-join");
    let fs = stack.file_system_arn();
    let before = stack.jobs_on(&fs).await.len();
    stack.slow_jobs(8).await;
    let hourly = stack.start_job_directly(&fs, "e2e-join-hourly").await;
    stack.slow_jobs(0).await;
    let (code, out) = stack.bbws(&[
        "backup",
        "--tenant",
        "e2e-join",
        "--poll-seconds",
        "1",
        "--no-dr-copy",
    ]);
    assert_eq!(code, 0, "{out}");
    let points = out["output"]["recoveryPoints"].as_array().unwrap();
    let efs = points.iter().find(|p| p["resource"] == "efs").unwrap();
    assert_eq!(efs["jobId"], hourly.as_str());
    assert_eq!(efs["joined"], true);
    let after = stack.jobs_on(&fs).await;
    assert_eq!(
        after.len(),
        before + 1,
        "only the hourly job ran on the shared file system"
    );
    // The joined recovery point is found by this tenant backup's id.
    let backup_id = out["output"]["backupId"].as_str().unwrap().to_owned();
    let (code, out) = stack.bbws(&[
        "restore",
        "--yes",
        "--tenant",
        "e2e-join",
        "--backup",
        &backup_id,
        "--files-only",
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(after
        .iter()
        .all(|j| j.state() != Some(&BackupJobState::Expired)));
}

#[tokio::test]
async fn a_job_on_the_tenant_database_is_backup_already_running() {
    let stack = Stack::new().await;
    let tenant = stack.seed_tenant("e2e-busy");
    stack.slow_jobs(8).await;
    stack
        .start_job_directly(&tenant.database_arn, "e2e-busy-db")
        .await;
    stack.slow_jobs(0).await;
    let fs_jobs = stack.jobs_on(&stack.file_system_arn()).await.len();
    let (code, out) = stack.bbws(&["backup", "--tenant", "e2e-busy", "--poll-seconds", "1"]);
    assert_eq!(code, 49, "{out}");
    assert_eq!(out["error"], "BackupAlreadyRunning");
    assert!(out["cause"].as_str().unwrap().contains("409"), "{out}");
    assert_eq!(
        stack.jobs_on(&stack.file_system_arn()).await.len(),
        fs_jobs,
        "nothing started on the file system"
    );
}

#[tokio::test]
async fn a_failed_job_is_backup_failed() {
    let stack = Stack::new().await;
    stack.seed_tenant("e2e-fail");
    stack
        .fail_next_job("backup", "Insufficient privileges to perform this action.")
        .await;
    let (code, out) = stack.bbws(&[
        "backup",
        "--tenant",
        "e2e-fail",
        "--poll-seconds",
        "1",
        "--files-only",
    ]);
    assert_eq!(code, 50, "{out}");
    assert_eq!(out["error"], "BackupFailed");
    assert!(
        out["cause"]
            .as_str()
            .unwrap()
            .contains("Insufficient privileges"),
        "{out}"
    );
}

#[tokio::test]
async fn a_slow_job_is_backup_timeout() {
    let stack = Stack::new().await;
    stack.seed_tenant("e2e-slow");
    stack.slow_jobs(12).await;
    let (code, out) = stack.bbws(&[
        "backup",
        "--tenant",
        "e2e-slow",
        "--poll-seconds",
        "1",
        "--timeout-efs",
        "3",
        "--timeout-db",
        "3",
    ]);
    assert_eq!(code, 54, "{out}");
    assert_eq!(out["error"], "BackupTimeout");
}

#[tokio::test]
async fn a_throttled_call_is_retried_and_the_backup_succeeds() {
    let stack = Stack::new().await;
    stack.seed_tenant("e2e-throttle");
    // More throttled answers than the SDK's own three attempts: the state machine retries too.
    stack.throttle("StartBackupJob", 4).await;
    let (code, out) = stack.bbws(&[
        "backup",
        "--tenant",
        "e2e-throttle",
        "--poll-seconds",
        "1",
        "--no-dr-copy",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["status"], "SUCCEEDED");
}

#[tokio::test]
async fn invalid_tenant_ids_fail_with_no_job_started() {
    let stack = Stack::new().await;
    let before = stack.all_jobs().await.len();
    let long = "a".repeat(64);
    for (i, bad) in ["../x", "A", "", long.as_str(), "tenänt", "tenant one"]
        .iter()
        .enumerate()
    {
        let done = stack
            .run_execution(
                "backup",
                &unique(&format!("invalid-{i}")),
                &json!({"tenantId": bad, "pollSeconds": 1}),
            )
            .await;
        assert_eq!(done.status(), &ExecutionStatus::Failed, "{bad:?}");
        assert_eq!(done.error(), Some("InvalidTenant"), "{bad:?}");
        assert!(done.cause().unwrap_or_default().contains("400"), "{bad:?}");
    }
    assert_eq!(stack.all_jobs().await.len(), before, "no job was started");
}

#[tokio::test]
async fn the_same_execution_started_twice_starts_one_set_of_jobs() {
    let stack = Stack::new().await;
    let tenant = stack.seed_tenant("e2e-twice");
    let db = tenant.database_arn;
    let before = stack.jobs_on(&db).await.len();
    let name = unique("twice");
    let input = json!({"tenantId": "e2e-twice", "pollSeconds": 1, "copyToDr": false});
    let first = stack.start_execution("backup", &name, &input).await;
    let second = stack.start_execution("backup", &name, &input).await;
    assert_eq!(first, second);
    let done = stack.wait_for_execution(&first).await;
    assert_eq!(
        done.status(),
        &ExecutionStatus::Succeeded,
        "{:?}",
        done.error()
    );
    assert_eq!(
        stack.jobs_on(&db).await.len(),
        before + 1,
        "one database job"
    );
}

#[tokio::test]
async fn recovery_points_carry_the_resources_tags_and_copies_carry_them_to_dr() {
    let stack = Stack::new().await;
    let tenant = stack.seed_tenant("e2e-tags");
    stack
        .rds
        .add_tags_to_resource()
        .resource_name(&tenant.database_arn)
        .tags(
            aws_sdk_rds::types::Tag::builder()
                .key("owner")
                .value("platform")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (code, out) = stack.bbws(&[
        "backup",
        "--tenant",
        "e2e-tags",
        "--poll-seconds",
        "1",
        "--wait-for-copy",
    ]);
    assert_eq!(code, 0, "{out}");
    let job = stack.jobs_on(&tenant.database_arn).await;
    let point = job[0].recovery_point_arn().unwrap().to_owned();
    let tags = stack.rds_tags(&point).await;
    // The database's own tag, and the backup's, which win over the database's.
    assert_eq!(
        tags.get("owner").map(String::as_str),
        Some("platform"),
        "{tags:?}"
    );
    assert_eq!(
        tags.get("bbws:backup-type").map(String::as_str),
        Some("on-demand")
    );
    assert_eq!(
        tags.get("bbws:tenant-id").map(String::as_str),
        Some("e2e-tags")
    );

    let copies = stack.copy_jobs_on(&tenant.database_arn).await;
    let copy = copies[0]
        .destination_recovery_point_arn()
        .expect("the copy completed")
        .to_owned();
    assert!(copy.contains(":eu-west-1:"), "{copy}");
    assert_eq!(
        stack.rds_tags(&copy).await,
        tags,
        "the copy carries every tag"
    );
}

#[tokio::test]
async fn an_oversized_field_is_invalid_tenant_with_a_short_cause() {
    let stack = Stack::new().await;
    let huge = "x".repeat(200_000);
    let done = stack
        .run_execution(
            "backup",
            &unique("oversized"),
            &json!({"tenantId": huge, "pollSeconds": 1}),
        )
        .await;
    assert_eq!(done.status(), &ExecutionStatus::Failed);
    assert_eq!(done.error(), Some("InvalidTenant"));
    let cause = done.cause().unwrap_or_default();
    assert!(
        cause.len() < 3_000,
        "the cause echoes {} bytes",
        cause.len()
    );
    // The cause is the handler's error as JSON; its message cuts the value short.
    let error: Value = serde_json::from_str(cause).expect("the cause is JSON");
    let message = error["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("x…\""), "{message}");
}

#[tokio::test]
async fn an_input_that_is_not_an_object_gets_the_named_error() {
    let stack = Stack::new().await;
    for (i, input) in [
        json!("tenant-1"),
        json!(42),
        json!(true),
        json!(null),
        json!(["tenant-1"]),
    ]
    .iter()
    .enumerate()
    {
        for (machine, error) in [
            ("backup", "InvalidTenant"),
            ("restore", "InvalidRestoreTarget"),
            ("fleet-backup", "InvalidTenant"),
            ("sync-content", "InvalidTenant"),
            ("restore-drill", "InvalidRestoreTarget"),
        ] {
            let done = stack
                .run_execution(machine, &unique(&format!("not-object-{i}")), input)
                .await;
            assert_eq!(done.status(), &ExecutionStatus::Failed, "{machine} {input}");
            assert_eq!(
                done.error(),
                Some(error),
                "{machine} {input}: {:?}",
                done.cause()
            );
        }
    }
}

/// Every state machine refuses a field it cannot use with its named 400, whose cause names
/// the field, before any AWS call that changes anything.
#[tokio::test]
async fn a_malformed_field_is_refused_by_every_machine_naming_the_field() {
    let stack = Stack::new().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let future = bbws::clock::rfc3339(now + 2 * 86_400);
    let cases = [
        (
            "fleet-backup",
            json!({"pageSize": "ten"}),
            "InvalidTenant",
            "pageSize",
        ),
        (
            "fleet-backup",
            json!({"pageSize": 0}),
            "InvalidTenant",
            "pageSize",
        ),
        (
            "fleet-backup",
            json!({"copyToDR": true}),
            "InvalidTenant",
            "copyToDR",
        ),
        (
            "restore-drill",
            json!({"count": 0}),
            "InvalidRestoreTarget",
            "count",
        ),
        (
            "restore-drill",
            json!({"count": "two"}),
            "InvalidRestoreTarget",
            "count",
        ),
        (
            "restore-drill",
            json!({"count": -1}),
            "InvalidRestoreTarget",
            "count",
        ),
        (
            "restore-drill",
            json!({"tenants": "tenant-1"}),
            "InvalidRestoreTarget",
            "tenants",
        ),
        (
            "restore-drill",
            json!({"tenants": []}),
            "InvalidRestoreTarget",
            "tenants",
        ),
        (
            "restore-drill",
            json!({"tenants": ["ok-1", "Not Valid"]}),
            "InvalidTenant",
            "tenants[1]",
        ),
        (
            "sync-content",
            json!({"tenantId": 7}),
            "InvalidTenant",
            "tenantId",
        ),
        (
            "sync-content",
            json!({"tenantId": "t-1", "delete": "yes"}),
            "InvalidTenant",
            "delete",
        ),
        (
            "backup",
            json!({"tenantId": "t-1", "copyToDr": "yes"}),
            "InvalidTenant",
            "copyToDr",
        ),
        (
            "restore",
            json!({"tenantId": "t-1", "at": future}),
            "InvalidRestoreTarget",
            "in the future",
        ),
    ];
    let before = stack.all_recorded_calls().len();
    for (i, (machine, input, error, field)) in cases.iter().enumerate() {
        let done = stack
            .run_execution(machine, &unique(&format!("bad-field-{i}")), input)
            .await;
        assert_eq!(done.status(), &ExecutionStatus::Failed, "{machine} {input}");
        assert_eq!(
            done.error(),
            Some(*error),
            "{machine} {input}: {:?}",
            done.cause()
        );
        let cause = done.cause().unwrap_or_default();
        assert!(cause.contains(field), "{machine} {input}: {cause}");
    }
    // Nothing was asked of AWS beyond reading and the outcome's announcement.
    let changed: Vec<String> = stack.all_recorded_calls()[before..]
        .iter()
        .filter(|c| !c["caller"].is_null())
        .filter_map(|c| c["operation"].as_str().map(str::to_owned))
        .filter(|op| {
            ["Start", "Create", "Delete", "Put", "Update", "Tag", "Copy"]
                .iter()
                .any(|verb| op.starts_with(verb))
                && op != "PutEvents"
        })
        .collect();
    assert!(changed.is_empty(), "calls that change AWS: {changed:?}");
}

/// A StartExecution whose input is over Step Functions' 256 KiB is refused at the API, as
/// AWS refuses it, instead of an execution failing with an error no caller can name.
#[tokio::test]
async fn an_input_over_256_kib_is_refused_at_the_api() {
    let stack = Stack::new().await;
    let input = json!({"tenantId": "x".repeat(262_144)}).to_string();
    let refused = stack
        .sfn
        .start_execution()
        .state_machine_arn(stack.state_machine_arn("backup"))
        .name(unique("too-large"))
        .input(input)
        .send()
        .await
        .expect_err("refused");
    let service = refused.into_service_error();
    assert_eq!(
        aws_sdk_sfn::error::ProvideErrorMetadata::code(&service),
        Some("ValidationException"),
        "{service:?}"
    );
}
