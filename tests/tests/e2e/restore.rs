//! Restoring a tenant's files from a tenant backup, and how a restore is refused or fails;
//! steering it from the CLI (a dry run, a moment back from now, no restore unconfirmed).

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
        "--yes",
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
        "--yes",
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
        "--yes",
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
        "--yes",
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

/// A dry run plans against the real catalog and vault and changes nothing: after it, a
/// restore to a moment written back from now (`--at=-1s`) puts the files back.
#[tokio::test]
async fn a_dry_run_shows_the_plan_and_changes_nothing_then_a_relative_moment_restores() {
    let stack = Stack::new().await;
    let tenant = stack.seed_tenant("e2e-dry-run");
    let dir = &tenant.directory;
    let before = snapshot(dir);
    let backup_id = stack.backed_up("e2e-dry-run", &["--files-only"]);
    std::fs::write(dir.join("index.php"), b"<?php echo 'defaced';").unwrap();
    let damaged = snapshot(dir);
    // The moment back from now must be after the backup's point was made.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;

    let calls_before = stack.all_recorded_calls().len();
    let jobs_before = stack.restore_jobs().await;
    let (code, out) = stack.bbws(&[
        "restore",
        "--tenant",
        "e2e-dry-run",
        "--at=-1s",
        "--files-only",
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["output"]["dryRun"], true, "{out}");
    let plan = &out["output"]["plan"];
    assert_eq!(
        plan["pointInTime"]["filesBackupId"],
        backup_id.as_str(),
        "{plan}"
    );
    assert!(plan["files"]["recoveryPointArn"].is_string(), "{plan}");
    assert!(
        plan["summary"].as_str().unwrap().contains("files"),
        "{plan}"
    );
    assert_eq!(plan["promoteDatabase"], false);

    // Zero mutations: the CLI started the execution, the plan step only read.
    let calls = stack.all_recorded_calls()[calls_before..].to_vec();
    let mutations: Vec<&serde_json::Value> = calls.iter().filter(|c| mutates(c)).collect();
    assert!(
        calls.iter().any(|c| c["caller"] == "restore"),
        "the plan step ran: {calls:?}"
    );
    assert_eq!(
        mutations
            .iter()
            .map(|c| &c["operation"])
            .collect::<Vec<_>>(),
        [&json!("StartExecution")],
        "{mutations:?}"
    );
    assert_eq!(stack.restore_jobs().await, jobs_before, "no restore job");
    assert_eq!(snapshot(dir), damaged, "the tenant's files untouched");

    let (code, out) = stack.bbws(&[
        "restore",
        "--yes",
        "--tenant",
        "e2e-dry-run",
        "--at",
        "-1s",
        "--files-only",
        "--poll-seconds",
        "1",
        "--timeout-files",
        "600",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out["output"]["pointInTime"]["filesBackupId"],
        backup_id.as_str()
    );
    assert_eq!(snapshot(dir), before, "the files as they were backed up");
}

/// A call that changes something in AWS. Reads are named Describe/List/Get/Query/Scan (or
/// are GETs on the REST APIs); Step Functions' own Invoke of a task's function is the
/// execution running, not a change.
fn mutates(call: &serde_json::Value) -> bool {
    let operation = call["operation"].as_str().unwrap_or_default();
    let read = ["Describe", "List", "Get", "BatchGet", "Query", "Scan"]
        .iter()
        .any(|p| operation.starts_with(p));
    let invoke = call["service"] == "lambda"
        && call["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("/invocations"));
    let rest_read = operation.is_empty() && matches!(call["method"].as_str(), Some("GET" | "HEAD"));
    !(read || invoke || rest_read)
}

#[tokio::test]
async fn a_restore_without_a_terminal_or_yes_is_a_usage_error_and_starts_nothing() {
    let stack = Stack::new().await;
    let tenant = stack.seed_tenant("e2e-unconfirmed");
    let before = snapshot(&tenant.directory);
    let calls_before = stack.all_recorded_calls().len();
    // The CLI's stdin here is no terminal: nobody can confirm.
    let (code, out) = stack.bbws(&[
        "restore",
        "--tenant",
        "e2e-unconfirmed",
        "--backup",
        "tb-00000000000000000000",
    ]);
    assert_eq!(code, 2, "{out}");
    let calls = stack.all_recorded_calls()[calls_before..].to_vec();
    assert!(
        calls.iter().all(|c| c["caller"] != "bbws-cli"),
        "the CLI called nothing: {calls:?}"
    );
    assert_eq!(snapshot(&tenant.directory), before);
}
