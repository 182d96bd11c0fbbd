//! Restoring a tenant's files from a tenant backup, and how a restore is refused or fails.

use serde_json::json;

use crate::stack::{snapshot, unique, Stack};

#[tokio::test]
async fn a_restore_brings_back_every_file_byte_identical_and_keeps_the_damaged_ones() {
    let stack = Stack::new().await;
    let tenant = stack.seed_tenant("e2e-restore");
    let dir = &tenant.directory;
    let before = snapshot(dir);
    assert!(before.len() >= 5);
    let backup_id = stack.backed_up("e2e-restore", &[]);

    // Damage: change one file, delete another, add one.
    std::fs::write(dir.join("index.php"), b"<?php echo 'defaced';").unwrap();
    std::fs::remove_file(dir.join("uploads/2026/11/logo.bin")).unwrap();
    std::fs::write(dir.join("malware.php"), b"<?php eval($_GET['x']);").unwrap();

    let (code, out) = stack.bbws(&[
        "restore",
        "--tenant",
        "e2e-restore",
        "--backup",
        &backup_id,
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    let result = &out["output"];
    assert_eq!(
        snapshot(dir),
        before,
        "every file byte-identical to the backup, nothing else"
    );

    let kept = std::path::PathBuf::from(result["files"]["keptAside"].as_str().unwrap());
    assert!(
        kept.starts_with(dir.parent().unwrap().join(".bbws-kept/e2e-restore")),
        "{kept:?}"
    );
    assert_eq!(
        std::fs::read(kept.join("index.php")).unwrap(),
        b"<?php echo 'defaced';"
    );
    assert!(kept.join("malware.php").exists());
    let deployment = &result["deployment"]["jobs"][0];
    assert_eq!(deployment["state"], "COMPLETED", "{result}");
    assert_eq!(deployment["resourceArn"], tenant.service_arn.as_str());
    let leftovers: Vec<_> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("aws-backup-restore_")
        })
        .filter(|e| e.path().join("e2e-restore").exists())
        .collect();
    assert!(
        leftovers.is_empty(),
        "the emptied restore directory is removed"
    );
}

#[tokio::test]
async fn a_restore_into_another_tenant_is_refused() {
    let stack = Stack::new().await;
    stack.seed_tenant("e2e-owner");
    let victim = stack.seed_tenant("e2e-victim");
    let before = snapshot(&victim.directory);
    let backup_id = stack.backed_up("e2e-owner", &["--files-only"]);
    let (code, out) = stack.bbws(&[
        "restore",
        "--tenant",
        "e2e-victim",
        "--backup",
        &backup_id,
        "--poll-seconds",
        "1",
    ]);
    // The victim's catalog holds no such backup: another tenant's id finds nothing.
    assert_eq!(code, 44, "{out}");
    assert_eq!(out["error"], "BackupNotFound");
    assert_eq!(snapshot(&victim.directory), before, "nothing changed");
}

#[tokio::test]
async fn restoring_an_unknown_backup_is_backup_not_found() {
    let stack = Stack::new().await;
    stack.seed_tenant("e2e-nobackup");
    let (code, out) = stack.bbws(&[
        "restore",
        "--tenant",
        "e2e-nobackup",
        "--backup",
        "tb-00000000000000000000",
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 44, "{out}");
    assert_eq!(out["error"], "BackupNotFound");
}

#[tokio::test]
async fn a_failed_restore_job_is_restore_failed_and_changes_nothing() {
    let stack = Stack::new().await;
    let tenant = stack.seed_tenant("e2e-restore-fail");
    let dir = &tenant.directory;
    let backup_id = stack.backed_up("e2e-restore-fail", &["--files-only"]);
    std::fs::write(dir.join("index.php"), b"changed after the backup").unwrap();
    stack
        .fail_next_job("restore", "Access denied to the file system")
        .await;
    let (code, out) = stack.bbws(&[
        "restore",
        "--tenant",
        "e2e-restore-fail",
        "--backup",
        &backup_id,
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 51, "{out}");
    assert_eq!(out["error"], "RestoreFailed");
    assert_eq!(
        std::fs::read(dir.join("index.php")).unwrap(),
        b"changed after the backup"
    );
}

#[tokio::test]
async fn a_slow_restore_is_restore_timeout() {
    let stack = Stack::new().await;
    stack.seed_tenant("e2e-restore-slow");
    let backup_id = stack.backed_up("e2e-restore-slow", &["--files-only"]);
    stack.slow_jobs(12).await;
    let execution = stack
        .start_execution(
            "restore",
            &unique("slow-restore"),
            &json!({"tenantId": "e2e-restore-slow", "backupId": backup_id, "pollSeconds": 1,
                    "timeouts": {"efsSeconds": 3}}),
        )
        .await;
    let (code, out) = stack.bbws(&["status", &execution, "--follow"]);
    assert_eq!(code, 55, "{out}");
    assert_eq!(out["error"], "RestoreTimeout");
    stack.slow_jobs(0).await;
}

/// A restore reads the recovery points of its backup's time and resources, not the vault:
/// in a vault of 10,000 recovery points it makes a few dozen calls. The figure is printed
/// (`cargo test ... -- --nocapture` shows it); reading every point's tags, as restores once
/// did, took one ListTags per recovery point: over 10,000 calls.
#[tokio::test]
async fn a_restore_in_a_vault_of_ten_thousand_recovery_points_reads_only_its_own() {
    let stack = Stack::new().await;
    let tenant = stack.seed_tenant("e2e-big-vault");
    let backup_id = stack.backed_up("e2e-big-vault", &[]);
    // An hourly plan's 5,000 hours of both resources, the newest a minute old.
    for resource in [stack.file_system_arn(), tenant.database_arn.clone()] {
        stack.fill_vault(&resource, 5_000, 3_600.0, 60.0).await;
    }
    let points = stack
        .backup
        .list_recovery_points_by_backup_vault()
        .backup_vault_name("bbws-dev-backup-vault")
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .len();
    assert!(points >= 10_000, "{points}");

    let before = stack.recorded_calls("restore").len();
    let (error, out) = stack
        .invoke(
            "restore",
            &json!({"action": "plan", "executionId": unique("big-vault"),
                    "request": {"tenantId": "e2e-big-vault", "backupId": backup_id}}),
        )
        .await;
    assert_eq!(error, None, "{out}");
    assert!(
        out["files"].is_object() && out["database"].is_object(),
        "{out}"
    );
    stack.unfill_vault().await;
    let calls = stack.recorded_calls("restore")[before..].to_vec();
    let count = |op: &str| calls.iter().filter(|c| c["operation"] == op).count();
    println!(
        "restore plan against a vault of {points} recovery points: {} AWS calls \
         ({} ListTags, {} RDS ListTagsForResource, {} ListRecoveryPointsByBackupVault)",
        calls.len(),
        count("ListTags"),
        count("ListTagsForResource"),
        count("ListRecoveryPointsByBackupVault")
    );
    assert!(calls.len() < 100, "{} calls: {calls:?}", calls.len());
}
