//! Faults injected through the admin API, seen through the real `aws-sdk-backup` client.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_backup::error::ProvideErrorMetadata;
use aws_sdk_backup::types::{BackupJobState, CopyJobState};
use common::*;
use hyper::{Method, StatusCode};
use serde_json::json;

async fn post_fault(local: &Local, fault: serde_json::Value) {
    let (status, body) = local
        .admin(Method::POST, "/_local/faults", Some(fault))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_next_job_fails_only_the_next_job() {
    let local = start(0.2).await;
    local.create_vaults().await;
    local.write_tenant(FS_ID, "tenant-1");
    let c = &local.backup;
    post_fault(
        &local,
        json!({"fault": "fail-next-job", "message": "Injected: disk on fire"}),
    )
    .await;

    let failed = start_backup(c, &efs_arn(FS_ID), None).await;
    let failed = backup_job_ended(c, failed.backup_job_id().unwrap()).await;
    assert_eq!(failed.state(), Some(&BackupJobState::Failed));
    assert_eq!(failed.status_message(), Some("Injected: disk on fire"));

    let next = start_backup(c, &efs_arn(FS_ID), None).await;
    let next = backup_job_ended(c, next.backup_job_id().unwrap()).await;
    assert_eq!(next.state(), Some(&BackupJobState::Completed));
    let rps = c
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(VAULT)
        .send()
        .await
        .unwrap();
    assert_eq!(
        rps.recovery_points().len(),
        1,
        "the failed job made no recovery point"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_scoped_to_copies_waits_for_a_copy() {
    let local = start(0.2).await;
    local.create_vaults().await;
    local.write_tenant(FS_ID, "tenant-1");
    let c = &local.backup;
    post_fault(
        &local,
        json!({"fault": "fail-next-job", "message": "copy broke", "kind": "copy"}),
    )
    .await;

    let backup = start_backup(c, &efs_arn(FS_ID), None).await;
    let backup = backup_job_ended(c, backup.backup_job_id().unwrap()).await;
    assert_eq!(backup.state(), Some(&BackupJobState::Completed));
    let copy = c
        .start_copy_job()
        .recovery_point_arn(backup.recovery_point_arn().unwrap())
        .source_backup_vault_name(VAULT)
        .destination_backup_vault_arn(dr_vault_arn())
        .iam_role_arn(ROLE)
        .send()
        .await
        .unwrap();
    let copy = copy_job_ended(c, copy.copy_job_id().unwrap()).await;
    assert_eq!(copy.state(), Some(&CopyJobState::Failed));
    assert_eq!(copy.status_message(), Some("copy broke"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expire_next_job_expires_a_backup() {
    let local = start(0.2).await;
    local.create_vaults().await;
    local.write_tenant(FS_ID, "tenant-1");
    let c = &local.backup;
    post_fault(&local, json!({"fault": "expire-next-job"})).await;
    let job = start_backup(c, &efs_arn(FS_ID), None).await;
    let job = backup_job_ended(c, job.backup_job_id().unwrap()).await;
    assert_eq!(job.state(), Some(&BackupJobState::Expired));
    assert!(job.status_message().is_some());

    let (status, _) = local
        .admin(
            Method::POST,
            "/_local/faults",
            Some(json!({"fault": "expire-next-job", "kind": "restore"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "restores cannot expire in AWS Backup"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_jobs_take_longer_until_reset() {
    let local = start(0.1).await;
    local.create_vaults().await;
    let c = &local.backup;
    let db = format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:d");
    post_fault(&local, json!({"fault": "slow-jobs", "seconds": 1.5})).await;

    let began = Instant::now();
    let slow = start_backup(c, &db, None).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let midway = c
        .describe_backup_job()
        .backup_job_id(slow.backup_job_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(midway.state(), Some(&BackupJobState::Running));
    backup_job_ended(c, slow.backup_job_id().unwrap()).await;
    assert!(began.elapsed() >= Duration::from_millis(1500));

    post_fault(&local, json!({"fault": "slow-jobs", "seconds": 0})).await;
    let began = Instant::now();
    let fast = start_backup(c, &db, None).await;
    let fast = backup_job_ended(c, fast.backup_job_id().unwrap()).await;
    assert_eq!(fast.state(), Some(&BackupJobState::Completed));
    assert!(began.elapsed() < Duration::from_millis(1200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_calls_answer_throttling_exception() {
    let local = start(0.2).await;
    local.create_vaults().await;
    let no_retries = backup_client(&local.endpoint, "us-east-1", false);
    let db = format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:d");
    post_fault(
        &local,
        json!({"fault": "throttle", "operation": "StartBackupJob", "count": 2}),
    )
    .await;

    for _ in 0..2 {
        let e = no_retries
            .start_backup_job()
            .backup_vault_name(VAULT)
            .resource_arn(&db)
            .iam_role_arn(ROLE)
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("ThrottlingException"));
        let raw = e.raw_response().unwrap();
        assert_eq!(raw.status().as_u16(), 400);
    }
    // Other operations are not throttled, and the third call goes through.
    no_retries.list_backup_jobs().send().await.unwrap();
    start_backup(&no_retries, &db, None).await;

    // The SDK's standard retries ride over a single throttle.
    post_fault(
        &local,
        json!({"fault": "throttle", "operation": "ListBackupJobs"}),
    )
    .await;
    local.backup.list_backup_jobs().send().await.unwrap();

    // DELETE clears every fault.
    post_fault(
        &local,
        json!({"fault": "throttle", "operation": "ListBackupJobs", "count": 5}),
    )
    .await;
    post_fault(&local, json!({"fault": "fail-next-job"})).await;
    let (status, faults) = local.admin(Method::DELETE, "/_local/faults", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(faults["throttles"], json!({}));
    assert_eq!(faults["nextJobs"], json!([]));
    no_retries.list_backup_jobs().send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_faults_are_refused() {
    let local = start(0.2).await;
    for bad in [
        json!({"fault": "melt"}),
        json!({"fault": "throttle", "operation": "DeleteEverything"}),
        json!({"fault": "slow-jobs"}),
    ] {
        let (status, body) = local
            .admin(Method::POST, "/_local/faults", Some(bad.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body["error"].is_string());
    }
}
