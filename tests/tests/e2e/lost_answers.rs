//! A call AWS carried out whose answer never came back (a connection timing out): the retry
//! sends the same idempotency token or client token, and nothing is started twice.

use crate::stack::Stack;

#[tokio::test]
async fn lost_answers_to_backup_and_copy_starts_start_each_job_once() {
    let stack = Stack::new().await;
    let tenant = stack.seed_tenant("e2e-lost-backup");
    let fs_jobs = stack.jobs_on(&stack.file_system_arn()).await.len();
    stack.lose_response("StartBackupJob", 2).await;
    stack.lose_response("StartCopyJob", 2).await;
    let (code, out) = stack.bbws(&[
        "backup",
        "--tenant",
        "e2e-lost-backup",
        "--poll-seconds",
        "1",
        "--wait-for-copy",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(
        stack.jobs_on(&tenant.database_arn).await.len(),
        1,
        "one backup job on the tenant's database"
    );
    assert_eq!(
        stack.jobs_on(&stack.file_system_arn()).await.len(),
        fs_jobs + 1,
        "one more backup job on the shared file system"
    );
    let copies = stack.copy_jobs_on(&tenant.database_arn).await;
    assert_eq!(
        copies.len(),
        1,
        "one copy of the database's recovery point: {copies:?}"
    );
    assert_eq!(stack.faults_left().await, 0, "every lost answer was taken");
}

#[tokio::test]
async fn a_lost_answer_to_a_restore_start_starts_one_restore_job() {
    let stack = Stack::new().await;
    stack.seed_tenant("e2e-lost-restore");
    let backup_id = stack.backed_up("e2e-lost-restore", &["--files-only"]);
    let before = stack.restore_jobs().await;
    stack.lose_response("StartRestoreJob", 1).await;
    let (code, out) = stack.bbws(&[
        "restore",
        "--yes",
        "--tenant",
        "e2e-lost-restore",
        "--backup",
        &backup_id,
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(stack.restore_jobs().await, before + 1, "one restore job");
    assert_eq!(stack.faults_left().await, 0, "the lost answer was taken");
}

#[tokio::test]
async fn a_lost_answer_to_an_access_point_create_makes_one_access_point() {
    let stack = Stack::new().await;
    stack.lose_response("CreateAccessPoint", 1).await;
    let event = crate::stack::tenant_created("e2e-lost-onboard");
    let (error, out) = stack.invoke("onboard-tenant", &event).await;
    assert_eq!(error, None, "{out}");
    assert_eq!(
        stack.access_points_of("e2e-lost-onboard").await.len(),
        1,
        "exactly one access point"
    );
    assert_eq!(out["created"], true, "{out}");
    assert_eq!(stack.faults_left().await, 0, "the lost answer was taken");
}
