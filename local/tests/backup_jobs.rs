//! Backup and copy jobs through the real `aws-sdk-backup` client.

mod common;

use aws_sdk_backup::error::ProvideErrorMetadata;
use aws_sdk_backup::types::{BackupJobState, CopyJobState, Lifecycle};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_efs_backup_completes_with_a_tagged_recovery_point() {
    let local = start(0.4).await;
    local.create_vaults().await;
    local.write_tenant(FS_ID, "tenant-1");
    let c = &local.backup;

    let started = start_backup(c, &efs_arn(FS_ID), None).await;
    let rp_arn = started
        .recovery_point_arn()
        .expect("EFS: the ARN comes at once")
        .to_owned();
    assert!(
        rp_arn.starts_with(&format!(
            "arn:aws:backup:us-east-1:{ACCOUNT}:recovery-point:"
        )),
        "{rp_arn}"
    );
    let id = started.backup_job_id().unwrap();
    let first = c
        .describe_backup_job()
        .backup_job_id(id)
        .send()
        .await
        .unwrap();
    assert!(matches!(
        first.state(),
        Some(BackupJobState::Created | BackupJobState::Running)
    ));

    eventually("RUNNING", || async {
        let job = c
            .describe_backup_job()
            .backup_job_id(id)
            .send()
            .await
            .unwrap();
        matches!(
            job.state(),
            Some(BackupJobState::Running | BackupJobState::Completed)
        )
        .then_some(())
    })
    .await;
    let done = backup_job_ended(c, id).await;
    assert_eq!(done.state(), Some(&BackupJobState::Completed));
    assert_eq!(done.recovery_point_arn(), Some(rp_arn.as_str()));
    assert_eq!(done.resource_type(), Some("EFS"));
    assert_eq!(done.backup_vault_name(), Some(VAULT));
    assert_eq!(done.iam_role_arn(), Some(ROLE));
    assert_eq!(done.percent_done(), Some("100.0"));
    assert!(done.completion_date().is_some() && done.start_by().is_some());
    assert!(done.backup_size_in_bytes().unwrap() > 0);

    let rp = c
        .describe_recovery_point()
        .backup_vault_name(VAULT)
        .recovery_point_arn(&rp_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(rp.status().map(|s| s.as_str()), Some("COMPLETED"));
    assert_eq!(rp.resource_arn(), Some(efs_arn(FS_ID).as_str()));

    let listed = c
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(VAULT)
        .by_resource_arn(efs_arn(FS_ID))
        .send()
        .await
        .unwrap();
    let arns: Vec<_> = listed
        .recovery_points()
        .iter()
        .filter_map(|r| r.recovery_point_arn())
        .collect();
    assert_eq!(arns, vec![rp_arn.as_str()]);

    let tags = c.list_tags().resource_arn(&rp_arn).send().await.unwrap();
    let tags = tags.tags().unwrap();
    assert_eq!(
        tags.get("bbws:tenant-id").map(String::as_str),
        Some("tenant-1")
    );
    assert_eq!(tags.get("bbws:component").map(String::as_str), Some("efs"));

    c.tag_resource()
        .resource_arn(&rp_arn)
        .tags("bbws:backup:tb-2", "tenant-2")
        .send()
        .await
        .unwrap();
    c.untag_resource()
        .resource_arn(&rp_arn)
        .tag_key_list("bbws:component")
        .send()
        .await
        .unwrap();
    let tags = c.list_tags().resource_arn(&rp_arn).send().await.unwrap();
    let keys: Vec<_> = tags
        .tags()
        .unwrap()
        .keys()
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(keys, vec!["bbws:backup:tb-2", "bbws:tenant-id"]);

    // The snapshot is on disk.
    let snap = std::fs::read_dir(local.state_dir.join("recovery-points"))
        .unwrap()
        .count();
    assert_eq!(snap, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_job_on_a_busy_resource_expires() {
    let local = start(0.6).await;
    local.create_vaults().await;
    local.write_tenant(FS_ID, "tenant-1");
    let c = &local.backup;

    let first = start_backup(c, &efs_arn(FS_ID), None).await;
    let second = start_backup(c, &efs_arn(FS_ID), None).await;
    let second_id = second.backup_job_id().unwrap();
    assert_ne!(first.backup_job_id(), Some(second_id));

    let ended = backup_job_ended(c, second_id).await;
    assert_eq!(ended.state(), Some(&BackupJobState::Expired));
    assert_eq!(
        ended.status_message(),
        Some(bbws_local::backup::RUNNING_JOB_MESSAGE)
    );
    let first = backup_job_ended(c, first.backup_job_id().unwrap()).await;
    assert_eq!(first.state(), Some(&BackupJobState::Completed));

    // The expired job never made a recovery point.
    let rps = c
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(VAULT)
        .send()
        .await
        .unwrap();
    assert_eq!(rps.recovery_points().len(), 1);
    // The shared code's look-up: jobs by resource and creation time.
    let jobs = c
        .list_backup_jobs()
        .by_resource_arn(efs_arn(FS_ID))
        .by_created_after(aws_smithy_types::DateTime::from_secs(0))
        .send()
        .await
        .unwrap();
    assert_eq!(jobs.backup_jobs().len(), 2);
    let expired = c
        .list_backup_jobs()
        .by_state(BackupJobState::Expired)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.backup_jobs().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_idempotency_token_returns_the_same_job() {
    let local = start(0.3).await;
    local.create_vaults().await;
    local.write_tenant(FS_ID, "tenant-1");
    let c = &local.backup;

    let a = start_backup(c, &efs_arn(FS_ID), Some("exec-1-backup")).await;
    let b = start_backup(c, &efs_arn(FS_ID), Some("exec-1-backup")).await;
    assert_eq!(a.backup_job_id(), b.backup_job_id());
    assert_eq!(a.recovery_point_arn(), b.recovery_point_arn());
    let jobs = c.list_backup_jobs().send().await.unwrap();
    assert_eq!(jobs.backup_jobs().len(), 1);
    let done = backup_job_ended(c, a.backup_job_id().unwrap()).await;
    assert_eq!(done.state(), Some(&BackupJobState::Completed));

    let (_, state) = local.admin(hyper::Method::GET, "/_local/state", None).await;
    let jobs = state["jobs"].as_object().unwrap();
    assert_eq!(jobs.len(), 1);
    let job = jobs.values().next().unwrap();
    assert_eq!(job["idempotencyToken"], "exec-1-backup");
    assert_eq!(job["state"], "COMPLETED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_file_system_directory_fails_the_job() {
    let local = start(0.2).await;
    local.create_vaults().await;
    let c = &local.backup;
    let started = start_backup(c, &efs_arn("fs-0000000000000dead"), None).await;
    let ended = backup_job_ended(c, started.backup_job_id().unwrap()).await;
    assert_eq!(ended.state(), Some(&BackupJobState::Failed));
    let message = ended.status_message().unwrap();
    assert!(
        message.contains("fs-0000000000000dead") && message.contains("does not exist"),
        "{message}"
    );
    let rps = c
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(VAULT)
        .send()
        .await
        .unwrap();
    assert!(rps.recovery_points().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_recovery_points_are_named_once_the_job_completes() {
    let local = start(0.2).await;
    local.create_vaults().await;
    let c = &local.backup;

    let db = format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:tenant-1-db");
    let started = start_backup(c, &db, None).await;
    assert_eq!(started.recovery_point_arn(), None);
    let id = started.backup_job_id().unwrap();
    let done = backup_job_ended(c, id).await;
    assert_eq!(done.resource_type(), Some("RDS"));
    let expected = format!(
        "arn:aws:rds:us-east-1:{ACCOUNT}:snapshot:awsbackup:job-{}",
        id.to_lowercase()
    );
    assert_eq!(done.recovery_point_arn(), Some(expected.as_str()));
    let meta = c
        .get_recovery_point_restore_metadata()
        .backup_vault_name(VAULT)
        .recovery_point_arn(&expected)
        .send()
        .await
        .unwrap();
    let meta = meta.restore_metadata().unwrap();
    assert_eq!(meta["DBInstanceIdentifier"], "tenant-1-db");
    assert_eq!(meta["Engine"], "mysql");

    let cluster = format!("arn:aws:rds:us-east-1:{ACCOUNT}:cluster:tenant-1-cluster");
    let started = start_backup(c, &cluster, None).await;
    let done = backup_job_ended(c, started.backup_job_id().unwrap()).await;
    assert_eq!(done.resource_type(), Some("Aurora"));
    let rp = done.recovery_point_arn().unwrap();
    assert!(rp.contains(":cluster-snapshot:awsbackup:job-"), "{rp}");
    let meta = c
        .get_recovery_point_restore_metadata()
        .backup_vault_name(VAULT)
        .recovery_point_arn(rp)
        .send()
        .await
        .unwrap();
    let meta = meta.restore_metadata().unwrap();
    assert_eq!(meta["DBClusterIdentifier"], "tenant-1-cluster");
    assert_eq!(meta["AvailabilityZones"], "[\"us-east-1a\"]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_job_aborts_and_leaves_nothing() {
    let local = start(2.0).await;
    local.create_vaults().await;
    local.write_tenant(FS_ID, "tenant-1");
    let c = &local.backup;
    let rp_dirs = || {
        std::fs::read_dir(local.state_dir.join("recovery-points"))
            .unwrap()
            .count()
    };

    // Stopped while still CREATED.
    let queued = start_backup(c, &efs_arn(FS_ID), None).await;
    let id = queued.backup_job_id().unwrap();
    c.stop_backup_job().backup_job_id(id).send().await.unwrap();
    let now = c
        .describe_backup_job()
        .backup_job_id(id)
        .send()
        .await
        .unwrap();
    assert_eq!(now.state(), Some(&BackupJobState::Aborting));
    let ended = backup_job_ended(c, id).await;
    assert_eq!(ended.state(), Some(&BackupJobState::Aborted));
    let again = c
        .stop_backup_job()
        .backup_job_id(id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some("InvalidRequestException"));

    // Stopped while RUNNING, after its snapshot was taken: the snapshot goes.
    let running = start_backup(c, &efs_arn(FS_ID), None).await;
    let id = running.backup_job_id().unwrap();
    eventually("RUNNING", || async {
        let job = c
            .describe_backup_job()
            .backup_job_id(id)
            .send()
            .await
            .unwrap();
        (job.state() == Some(&BackupJobState::Running)).then_some(())
    })
    .await;
    c.stop_backup_job().backup_job_id(id).send().await.unwrap();
    assert_eq!(
        backup_job_ended(c, id).await.state(),
        Some(&BackupJobState::Aborted)
    );
    eventually("the snapshot to go", || async {
        (rp_dirs() == 0).then_some(())
    })
    .await;
    let rps = c
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(VAULT)
        .send()
        .await
        .unwrap();
    assert!(rps.recovery_points().is_empty());

    let db = start_backup(c, &format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:d"), None).await;
    let refused = c
        .stop_backup_job()
        .backup_job_id(db.backup_job_id().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("InvalidRequestException"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_as_aws_refuses_them() {
    let local = start(0.2).await;
    local.create_vaults().await;
    let c = &local.backup;

    let no_vault = c
        .start_backup_job()
        .backup_vault_name("nope")
        .resource_arn(efs_arn(FS_ID))
        .iam_role_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    assert_eq!(no_vault.code(), Some("ResourceNotFoundException"));

    let no_role = c
        .start_backup_job()
        .backup_vault_name(VAULT)
        .resource_arn(efs_arn(FS_ID))
        .send()
        .await
        .unwrap_err();
    assert_eq!(no_role.code(), Some("InvalidParameterValueException"));
    assert!(no_role.message().unwrap().contains("IamRoleArn"));

    let bad_arn = c
        .start_backup_job()
        .backup_vault_name(VAULT)
        .resource_arn("arn:aws:s3:::a-bucket")
        .iam_role_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad_arn.code(), Some("InvalidParameterValueException"));

    let cold = c
        .start_backup_job()
        .backup_vault_name(VAULT)
        .resource_arn(efs_arn(FS_ID))
        .iam_role_arn(ROLE)
        .lifecycle(
            Lifecycle::builder()
                .move_to_cold_storage_after_days(1)
                .delete_after_days(7)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(cold.code(), Some("InvalidParameterValueException"));

    let missing_job = c
        .describe_backup_job()
        .backup_job_id("NOPE")
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing_job.code(), Some("ResourceNotFoundException"));
    let vault_again = c
        .create_backup_vault()
        .backup_vault_name(VAULT)
        .send()
        .await
        .unwrap_err();
    assert_eq!(vault_again.code(), Some("AlreadyExistsException"));
    let vault = c
        .describe_backup_vault()
        .backup_vault_name(VAULT)
        .send()
        .await
        .unwrap();
    assert_eq!(
        vault.backup_vault_arn(),
        Some(format!("arn:aws:backup:us-east-1:{ACCOUNT}:backup-vault:{VAULT}").as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_jobs_list_by_filter_and_page() {
    let local = start(0.2).await;
    local.create_vaults().await;
    let c = &local.backup;
    for name in ["a", "b", "c"] {
        start_backup(
            c,
            &format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:{name}"),
            None,
        )
        .await;
    }
    let pages: Vec<usize> = c
        .list_backup_jobs()
        .max_results(2)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .iter()
        .map(|p| p.backup_jobs().len())
        .collect();
    assert_eq!(pages, vec![2, 1]);
    let one = c
        .list_backup_jobs()
        .by_resource_arn(format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:b"))
        .by_backup_vault_name(VAULT)
        .send()
        .await
        .unwrap();
    assert_eq!(one.backup_jobs().len(), 1);
    let future = c
        .list_backup_jobs()
        .by_created_after(aws_smithy_types::DateTime::from_secs(4_000_000_000))
        .send()
        .await
        .unwrap();
    assert!(future.backup_jobs().is_empty());
    let past = c
        .list_backup_jobs()
        .by_created_before(aws_smithy_types::DateTime::from_secs(1))
        .send()
        .await
        .unwrap();
    assert!(past.backup_jobs().is_empty());
    let other_vault = c
        .list_backup_jobs()
        .by_backup_vault_name("other")
        .send()
        .await
        .unwrap();
    assert!(other_vault.backup_jobs().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_lands_in_the_dr_vault_in_another_region() {
    let local = start(0.3).await;
    local.create_vaults().await;
    local.write_tenant(FS_ID, "tenant-1");
    let c = &local.backup;
    let started = start_backup(c, &efs_arn(FS_ID), None).await;
    let rp = backup_job_ended(c, started.backup_job_id().unwrap())
        .await
        .recovery_point_arn()
        .unwrap()
        .to_owned();

    let copy = c
        .start_copy_job()
        .recovery_point_arn(&rp)
        .source_backup_vault_name(VAULT)
        .destination_backup_vault_arn(dr_vault_arn())
        .iam_role_arn(ROLE)
        .idempotency_token("exec-1-copy")
        .lifecycle(Lifecycle::builder().delete_after_days(30).build())
        .send()
        .await
        .unwrap();
    let copy_id = copy.copy_job_id().unwrap();
    let again = c
        .start_copy_job()
        .recovery_point_arn(&rp)
        .source_backup_vault_name(VAULT)
        .destination_backup_vault_arn(dr_vault_arn())
        .iam_role_arn(ROLE)
        .idempotency_token("exec-1-copy")
        .send()
        .await
        .unwrap();
    assert_eq!(again.copy_job_id(), Some(copy_id));

    let job = copy_job_ended(c, copy_id).await;
    assert_eq!(job.state(), Some(&CopyJobState::Completed));
    assert_eq!(job.source_recovery_point_arn(), Some(rp.as_str()));
    assert_eq!(job.resource_arn(), Some(efs_arn(FS_ID).as_str()));
    let copied = job.destination_recovery_point_arn().unwrap();
    assert!(
        copied.starts_with(&format!(
            "arn:aws:backup:eu-west-1:{ACCOUNT}:recovery-point:"
        )),
        "{copied}"
    );

    let dr = local.client_in("eu-west-1");
    let listed = dr
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(DR_VAULT)
        .send()
        .await
        .unwrap();
    let only = &listed.recovery_points()[0];
    assert_eq!(only.recovery_point_arn(), Some(copied));
    assert_eq!(
        only.source_backup_vault_arn(),
        Some(format!("arn:aws:backup:us-east-1:{ACCOUNT}:backup-vault:{VAULT}").as_str())
    );
    assert_eq!(
        only.lifecycle().and_then(|l| l.delete_after_days()),
        Some(30)
    );
    let tags = dr.list_tags().resource_arn(copied).send().await.unwrap();
    assert_eq!(tags.tags().unwrap()["bbws:tenant-id"], "tenant-1");

    // Listed by the source recovery point, by resource, by state and by destination.
    for listed in [
        c.list_copy_jobs()
            .by_resource_arn(&rp)
            .send()
            .await
            .unwrap(),
        c.list_copy_jobs()
            .by_resource_arn(efs_arn(FS_ID))
            .send()
            .await
            .unwrap(),
        c.list_copy_jobs()
            .by_source_recovery_point_arn(&rp)
            .send()
            .await
            .unwrap(),
        c.list_copy_jobs()
            .by_state(CopyJobState::Completed)
            .send()
            .await
            .unwrap(),
        c.list_copy_jobs()
            .by_destination_vault_arn(dr_vault_arn())
            .send()
            .await
            .unwrap(),
    ] {
        let ids: Vec<_> = listed
            .copy_jobs()
            .iter()
            .filter_map(|j| j.copy_job_id())
            .collect();
        assert_eq!(ids, vec![copy_id]);
    }
    let none = c
        .list_copy_jobs()
        .by_state(CopyJobState::Failed)
        .send()
        .await
        .unwrap();
    assert!(none.copy_jobs().is_empty());

    let nowhere = c
        .start_copy_job()
        .recovery_point_arn(&rp)
        .source_backup_vault_name(VAULT)
        .destination_backup_vault_arn(format!(
            "arn:aws:backup:eu-west-1:{ACCOUNT}:backup-vault:missing"
        ))
        .iam_role_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    assert_eq!(nowhere.code(), Some("ResourceNotFoundException"));
}
