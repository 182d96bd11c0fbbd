//! AWS Backup's quotas, as the stand-in enforces them, through the real `aws-sdk-backup`
//! client (https://docs.aws.amazon.com/aws-backup/latest/devguide/aws-backup-limits.html).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_backup::error::ProvideErrorMetadata;
use aws_sdk_backup::types::{BackupJobState, CopyJobState};
use bbws_local::config::CopyQuota;
use common::*;

const OTHER_FS: &str = "fs-0fedcba9876543210";

/// Backs up `fs_id` and waits: the completed job's recovery point.
async fn completed_point(local: &Local, fs_id: &str) -> String {
    local.write_tenant(fs_id, "tenant-1");
    let started = start_backup(&local.backup, &efs_arn(fs_id), None).await;
    let job = backup_job_ended(&local.backup, started.backup_job_id().unwrap()).await;
    assert_eq!(job.state(), Some(&BackupJobState::Completed));
    job.recovery_point_arn().unwrap().to_owned()
}

async fn start_copy(c: &aws_sdk_backup::Client, rp: &str) -> String {
    c.start_copy_job()
        .recovery_point_arn(rp)
        .source_backup_vault_name(VAULT)
        .destination_backup_vault_arn(dr_vault_arn())
        .iam_role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .copy_job_id()
        .unwrap()
        .to_owned()
}

async fn copy_state(c: &aws_sdk_backup::Client, id: &str) -> CopyJobState {
    c.describe_copy_job()
        .copy_job_id(id)
        .send()
        .await
        .unwrap()
        .copy_job()
        .and_then(|j| j.state().cloned())
        .unwrap()
}

async fn tags(c: &aws_sdk_backup::Client, rp: &str) -> BTreeMap<String, String> {
    c.list_tags()
        .resource_arn(rp)
        .send()
        .await
        .unwrap()
        .tags()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_point_takes_fifty_tags_and_refuses_the_fifty_first_unchanged() {
    let local = start(0.3).await;
    local.create_vaults().await;
    let c = &local.backup;
    let rp = completed_point(&local, FS_ID).await;
    let mut n = tags(c, &rp).await.len();
    while n < 50 {
        c.tag_resource()
            .resource_arn(&rp)
            .tags(format!("bbws:backup:tb-{n:02}"), "tenant/on-demand")
            .send()
            .await
            .unwrap();
        n += 1;
    }
    let full = tags(c, &rp).await;
    assert_eq!(full.len(), 50);
    // A tag it already has changes a value, not the count: still within the quota.
    c.tag_resource()
        .resource_arn(&rp)
        .tags("bbws:backup:tb-49", "tenant/fleet")
        .send()
        .await
        .unwrap();
    let full = tags(c, &rp).await;

    let refused = c
        .tag_resource()
        .resource_arn(&rp)
        .tags("bbws:backup:tb-50", "tenant/on-demand")
        .tags("bbws:backup:tb-49", "changed")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Some("LimitExceededException"),
        "{refused:?}"
    );
    assert!(
        refused.message().unwrap_or_default().contains("50"),
        "{refused:?}"
    );
    assert_eq!(
        tags(c, &rp).await,
        full,
        "a refused request changes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_copy_holds_its_resource_so_a_backup_of_it_expires() {
    let local = start(0.8).await;
    local.create_vaults().await;
    let c = &local.backup;
    let rp = completed_point(&local, FS_ID).await;
    let copy = start_copy(c, &rp).await;
    eventually("the copy to run", || async {
        (copy_state(c, &copy).await == CopyJobState::Running).then_some(())
    })
    .await;

    let backup = start_backup(c, &efs_arn(FS_ID), None).await;
    let ended = backup_job_ended(c, backup.backup_job_id().unwrap()).await;
    assert_eq!(ended.state(), Some(&BackupJobState::Expired));
    assert_eq!(
        ended.status_message(),
        Some(bbws_local::backup::RUNNING_JOB_MESSAGE)
    );
    assert_eq!(
        copy_job_ended(c, &copy).await.state(),
        Some(&CopyJobState::Completed)
    );
    // Another file system is not held by that copy.
    let other = completed_point(&local, OTHER_FS).await;
    assert!(other.contains(":recovery-point:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_waits_in_created_while_a_backup_holds_its_resource() {
    let local = start(0.8).await;
    local.create_vaults().await;
    let c = &local.backup;
    let rp = completed_point(&local, FS_ID).await;
    let backup = start_backup(c, &efs_arn(FS_ID), None).await;
    let backup_id = backup.backup_job_id().unwrap();
    let copy = start_copy(c, &rp).await;

    // While the backup has not ended the copy never runs.
    for _ in 0..400 {
        let job = c
            .describe_backup_job()
            .backup_job_id(backup_id)
            .send()
            .await
            .unwrap();
        let state = copy_state(c, &copy).await;
        if !matches!(
            job.state(),
            Some(BackupJobState::Created | BackupJobState::Pending | BackupJobState::Running)
        ) {
            break;
        }
        assert_eq!(
            state,
            CopyJobState::Created,
            "the backup holds the file system"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let done = copy_job_ended(c, &copy).await;
    assert_eq!(done.state(), Some(&CopyJobState::Completed));
    let backup = backup_job_ended(c, backup_id).await;
    assert!(
        done.creation_date().unwrap().as_secs_f64() + 0.8
            < done.completion_date().unwrap().as_secs_f64(),
        "the copy ran its full time after it waited"
    );
    assert!(backup.completion_date().unwrap() <= done.completion_date().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_past_the_destination_region_quota_wait_in_created_for_a_slot() {
    let local = start_with(0.6, |config| {
        config.copy_quota = CopyQuota {
            per_region: 1,
            per_vault: 1,
        }
    })
    .await;
    local.create_vaults().await;
    let c = &local.backup;
    let first = completed_point(&local, FS_ID).await;
    let second = completed_point(&local, OTHER_FS).await;
    let a = start_copy(c, &first).await;
    let b = start_copy(c, &second).await;

    let mut seen_waiting = false;
    for _ in 0..500 {
        let (sa, sb) = (copy_state(c, &a).await, copy_state(c, &b).await);
        assert!(
            !(sa == CopyJobState::Running && sb == CopyJobState::Running),
            "one copy at a time into eu-west-1"
        );
        seen_waiting |= [(&sa, &sb), (&sb, &sa)]
            .iter()
            .any(|(x, y)| **x == CopyJobState::Running && **y == CopyJobState::Created);
        if sa == CopyJobState::Completed && sb == CopyJobState::Completed {
            break;
        }
        assert!(
            ![sa, sb].contains(&CopyJobState::Failed),
            "a copy waits, it does not fail"
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert_eq!(
        copy_job_ended(c, &a).await.state(),
        Some(&CopyJobState::Completed)
    );
    assert_eq!(
        copy_job_ended(c, &b).await.state(),
        Some(&CopyJobState::Completed)
    );
    assert!(
        seen_waiting,
        "one copy waited in CREATED while the other ran"
    );
}

#[test]
fn the_copy_quota_defaults_to_aws_s() {
    assert_eq!(
        CopyQuota::default(),
        CopyQuota {
            per_region: 100,
            per_vault: 5
        }
    );
    use clap::Parser;
    let args = bbws_local::config::Args::parse_from([
        "bbws-local",
        "--state-dir",
        "/tmp/s",
        "--efs-root",
        "/tmp/e",
        "--outbound-copies-per-region",
        "2",
    ]);
    let config = bbws_local::Config::from(args);
    assert_eq!(config.copy_quota.per_region, 2);
    assert_eq!(config.copy_quota.per_vault, 5);
}
