//! One operation per tenant: while a restore holds a tenant's lease, a drill of it and a
//! sync of it and an upload into it are TenantBusy and change nothing; a rerun after RestoreTimeout adopts the
//! restore jobs still running instead of starting new ones.

use serde_json::json;

use crate::stack::{unique, Stack};

/// Waits until the Backup stand-in has started `count` restore jobs in all.
async fn until_restore_jobs(stack: &Stack, count: usize) {
    for _ in 0..120 {
        if stack.restore_jobs().await >= count {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    panic!("the restore started no job");
}

/// How many StartRestoreJob calls the restore function has made on the stack.
fn start_restore_calls(stack: &Stack) -> usize {
    stack
        .recorded_calls("restore")
        .iter()
        .filter(|c| c["operation"] == "StartRestoreJob")
        .count()
}

/// `bbws sync` of `tenant`, its execution named by the tenant and `step`.
fn sync(stack: &Stack, tenant: &str, step: &str) -> (i32, serde_json::Value) {
    stack.bbws(&[
        "sync",
        "--tenant",
        tenant,
        "--execution-name",
        &format!("{tenant}-{step}"),
    ])
}

#[tokio::test]
async fn a_drill_and_a_sync_during_a_restore_are_tenant_busy_and_change_nothing() {
    let stack = Stack::new().await;
    // Named per run: a lease outlives a failed run of the suite on the same stack.
    let tenant = &unique("e2e-lease-busy");
    let seeded = stack.onboarded_tenant(tenant).await;
    let backup_id = stack.backed_up(tenant, &[]);
    let jobs_before = stack.restore_jobs().await;
    stack.slow_jobs(10).await;
    let restore = stack
        .start_execution(
            "restore",
            &unique("lease-restore"),
            &json!({"tenantId": tenant, "backupId": backup_id, "pollSeconds": 1}),
        )
        .await;
    until_restore_jobs(&stack, jobs_before + 2).await;

    let (code, out) = sync(&stack, tenant, "sync-1");
    assert_eq!(code, 60, "{out}");
    assert_eq!(out["error"], "TenantBusy", "{out}");
    assert!(
        out.to_string().contains(&restore),
        "names the holder: {out}"
    );

    // An upload arriving now: signed and put, but its ingest is TenantBusy, nothing written
    // and the staging object kept; Lambda's retry of the same event writes it later.
    let body = crate::media::jpeg(false);
    let request = json!({"tenantId": tenant, "fileName": "during-restore.jpg", "size": body.len()});
    let (error, signed) = stack.invoke("upload-media", &request).await;
    assert_eq!(error, None, "{signed}");
    let status = stack
        .put_presigned(signed["url"].as_str().unwrap(), &signed["headers"], body)
        .await;
    assert!(status.is_success(), "{status}");
    let notifications: Vec<_> = stack
        .media_notifications()
        .await
        .into_iter()
        .filter(|n| n.get("Records").is_some())
        .collect();
    assert_eq!(notifications.len(), 1, "{notifications:?}");
    let (error, out) = stack.invoke("ingest-media", &notifications[0]).await;
    assert_eq!(error.as_deref(), Some("TenantBusy"), "{out}");
    assert!(
        out.to_string().contains(&restore),
        "names the holder: {out}"
    );
    let uploaded = seeded.directory.join("uploads");
    let written = |name: &str| {
        walk(&uploaded)
            .iter()
            .any(|p| p.to_string_lossy().ends_with(name))
    };
    assert!(!written("during-restore.jpg"), "nothing written");

    let (code, out) = stack.bbws(&["drill", "--tenant", tenant]);
    assert_eq!(code, 57, "{out}");
    let (_, drills) = stack.bbws(&["drills"]);
    let drilled = drills.to_string();
    assert!(
        drilled.contains(tenant.as_str()) && drilled.contains("TenantBusy"),
        "the drill failed on the tenant's lease: {drills}"
    );
    assert_eq!(
        stack.restore_jobs().await,
        jobs_before + 2,
        "the drill started no restore job"
    );
    // Scratch space is .bbws-scratch at the root (never a tenant's name): nothing there.
    let root = seeded.directory.parent().unwrap();
    let scratch_left = [root.to_path_buf(), root.join(".bbws-scratch")]
        .iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("drill-e2e-lease-busy")
        });
    assert!(!scratch_left, "no scratch directory of the drill");

    let (code, out) = stack.bbws(&["status", &restore, "--follow"]);
    assert_eq!(code, 0, "the restore that held the tenant finished: {out}");
    stack.slow_jobs(0).await;
    // Given back: the retried upload lands, and the next operation takes the tenant.
    let (error, out) = stack.invoke("ingest-media", &notifications[0]).await;
    assert_eq!(error, None, "{out}");
    assert_eq!(out["results"][0]["outcome"], "uploaded", "{out}");
    assert!(written("during-restore.jpg"));
    let (code, out) = sync(&stack, tenant, "sync-2");
    assert_eq!(code, 0, "{out}");
}

/// Every file under `dir` (none when it does not exist).
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test]
async fn a_rerun_after_restore_timeout_adopts_the_running_job_and_finishes() {
    let stack = Stack::new().await;
    let tenant = &unique("e2e-lease-rerun");
    let seeded = stack.onboarded_tenant(tenant).await;
    let backup_id = stack.backed_up(tenant, &["--files-only"]);
    std::fs::write(
        seeded.directory.join("index.php"),
        b"changed after the backup",
    )
    .unwrap();
    let jobs_before = stack.restore_jobs().await;
    let calls_before = start_restore_calls(&stack);
    stack.slow_jobs(15).await;
    let request = |efs_seconds: u64| {
        json!({"tenantId": tenant, "backupId": backup_id, "pollSeconds": 1,
               "timeouts": {"efsSeconds": efs_seconds}})
    };
    let first = stack
        .start_execution("restore", &unique("lease-timeout"), &request(3))
        .await;
    let (code, out) = stack.bbws(&["status", &first, "--follow"]);
    assert_eq!(code, 55, "{out}");
    assert_eq!(out["error"], "RestoreTimeout");
    assert_eq!(stack.restore_jobs().await, jobs_before + 1);

    // The timed-out restore's job still runs: another operation is refused meanwhile.
    let (code, out) = sync(&stack, tenant, "sync-3");
    assert_eq!(code, 60, "{out}");
    assert!(out.to_string().contains("timed out"), "{out}");

    let rerun = stack
        .start_execution("restore", &unique("lease-rerun"), &request(120))
        .await;
    let (code, out) = stack.bbws(&["status", &rerun, "--follow"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        stack.restore_jobs().await,
        jobs_before + 1,
        "the rerun adopted the running job: no second restore job"
    );
    assert_eq!(
        start_restore_calls(&stack),
        calls_before + 1,
        "the rerun asked AWS Backup for no restore"
    );
    assert_ne!(
        std::fs::read(seeded.directory.join("index.php")).unwrap(),
        b"changed after the backup",
        "the adopted job's files are in place"
    );
    stack.slow_jobs(0).await;
    // Given back once the adopted restore finished.
    let (code, out) = sync(&stack, tenant, "sync-4");
    assert_eq!(code, 0, "{out}");
}
