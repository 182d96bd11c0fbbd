//! End to end on the local stack: the real backup state machine run by a real Step Functions
//! interpreter, calling the real handler binaries, against AWS APIs served locally.
//! `make e2e` starts the stack, runs these one at a time (`--test-threads=1`: the fault
//! injection and the shared file system are global) and stops it.

use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_backup::types::BackupJobState;
use aws_sdk_sfn::types::ExecutionStatus;
use bbws_tests::root;
use serde_json::{json, Value};

fn endpoint() -> String {
    std::env::var("BBWS_LOCAL_ENDPOINT")
        .expect("BBWS_LOCAL_ENDPOINT is not set: run these tests with `make e2e`, which starts the local stack")
}

fn platform() -> Value {
    let text = std::fs::read_to_string(root().join(".local/platform.json"))
        .expect(".local/platform.json: the local stack was not seeded");
    serde_json::from_str(&text).unwrap()
}

async fn sdk(region: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new(region.to_owned()))
        .load()
        .await
}

/// Sends a JSON request to the front server's admin API.
fn admin(method: &str, path: &str, body: Option<Value>) -> Value {
    let url = format!("{}/_local/{path}", endpoint());
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "-f",
        "-X",
        method,
        &url,
        "-H",
        "content-type: application/json",
    ]);
    if let Some(body) = body {
        cmd.args(["-d", &body.to_string()]);
    }
    let out = cmd.output().expect("curl runs");
    assert!(
        out.status.success(),
        "{method} {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn fault(body: Value) {
    admin("POST", "faults", Some(body));
}

/// Creates (or refreshes) a tenant: files, access point, database, service.
fn seed_tenant(tenant: &str) -> Value {
    let out = Command::new(root().join(".venv/bin/python"))
        .arg(root().join("scripts/local_seed.py"))
        .args(["tenant", tenant])
        .env("FRONT_PORT", endpoint().rsplit(':').next().unwrap())
        .output()
        .expect("the seed script runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs the operator CLI; returns its exit code and the JSON object on its last line.
fn bbws(args: &[&str]) -> (i32, Value) {
    let out = Command::new(root().join("target/debug/bbws"))
        .args(["--endpoint-url", &endpoint(), "--json"])
        .args(args)
        .output()
        .expect("target/debug/bbws runs (make e2e builds it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with(['{', '[']))
        .unwrap_or("null");
    let value = serde_json::from_str(last).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), value)
}

/// Jobs the Backup stand-in knows, of one resource.
async fn jobs_on(resource_arn: &str) -> Vec<aws_sdk_backup::types::BackupJob> {
    let backup = aws_sdk_backup::Client::new(&sdk("us-east-1").await);
    backup
        .list_backup_jobs()
        .by_resource_arn(resource_arn)
        .send()
        .await
        .unwrap()
        .backup_jobs()
        .to_vec()
}

fn fs_arn() -> String {
    format!(
        "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/{}",
        platform()["fileSystemId"].as_str().unwrap()
    )
}

/// Waits until no backup job runs anywhere, so one scenario does not see the last one's jobs.
async fn wait_idle() {
    let backup = aws_sdk_backup::Client::new(&sdk("us-east-1").await);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let jobs = backup.list_backup_jobs().send().await.unwrap();
        let busy = jobs.backup_jobs().iter().any(|j| {
            matches!(
                j.state(),
                Some(
                    BackupJobState::Created
                        | BackupJobState::Pending
                        | BackupJobState::Running
                        | BackupJobState::Aborting
                )
            )
        });
        if !busy {
            break;
        }
        assert!(Instant::now() < deadline, "jobs still running after 60 s");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    admin("DELETE", "faults", None);
}

/// Starts a job on a resource directly, as the hourly backup plan would.
async fn start_job_directly(resource_arn: &str, token: &str) -> String {
    let backup = aws_sdk_backup::Client::new(&sdk("us-east-1").await);
    backup
        .start_backup_job()
        .backup_vault_name("bbws-dev-backup-vault")
        .resource_arn(resource_arn)
        .iam_role_arn("arn:aws:iam::123456789012:role/bbws-dev-backup")
        .idempotency_token(token)
        .recovery_point_tags("bbws:backup-type", "automated")
        .send()
        .await
        .unwrap()
        .backup_job_id()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_backup_completes_and_is_copied_to_dr() {
    wait_idle().await;
    let tenant = seed_tenant("e2e-happy");
    let (code, out) = bbws(&[
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
        .any(|p| p["resourceArn"] == tenant["databaseArn"]));
    let copies = result["drCopies"].as_array().unwrap();
    assert_eq!(copies.len(), 2);
    assert!(copies.iter().all(|c| c["state"] == "COMPLETED"), "{result}");

    // The copies are in the DR region's vault.
    let dr = aws_sdk_backup::Client::new(&sdk("eu-west-1").await);
    let listed = dr
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
    let (code, listing) = bbws(&["backups", "--tenant", "e2e-happy"]);
    assert_eq!(code, 0);
    let first = &listing.as_array().expect("a JSON array")[0];
    assert_eq!(first["backupId"], result["backupId"]);
}

#[tokio::test]
async fn a_running_efs_job_is_joined_not_collided_with() {
    wait_idle().await;
    seed_tenant("e2e-join");
    let fs = fs_arn();
    let before = jobs_on(&fs).await.len();
    fault(json!({"fault": "slow-jobs", "seconds": 8}));
    let hourly = start_job_directly(&fs, "e2e-join-hourly").await;
    fault(json!({"fault": "slow-jobs", "seconds": 0}));
    let (code, out) = bbws(&[
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
    let after = jobs_on(&fs).await;
    assert_eq!(
        after.len(),
        before + 1,
        "only the hourly job ran on the shared file system"
    );
    // The joined recovery point is found by this tenant backup's id.
    let backup_id = out["output"]["backupId"].as_str().unwrap().to_owned();
    let (code, out) = bbws(&[
        "restore",
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
    wait_idle().await;
    let tenant = seed_tenant("e2e-busy");
    let db = tenant["databaseArn"].as_str().unwrap();
    fault(json!({"fault": "slow-jobs", "seconds": 8}));
    start_job_directly(db, "e2e-busy-db").await;
    fault(json!({"fault": "slow-jobs", "seconds": 0}));
    let fs_jobs = jobs_on(&fs_arn()).await.len();
    let (code, out) = bbws(&["backup", "--tenant", "e2e-busy", "--poll-seconds", "1"]);
    assert_eq!(code, 49, "{out}");
    assert_eq!(out["error"], "BackupAlreadyRunning");
    assert!(out["cause"].as_str().unwrap().contains("409"), "{out}");
    assert_eq!(
        jobs_on(&fs_arn()).await.len(),
        fs_jobs,
        "nothing started on the file system"
    );
}

#[tokio::test]
async fn a_failed_job_is_backup_failed() {
    wait_idle().await;
    seed_tenant("e2e-fail");
    fault(
        json!({"fault": "fail-next-job", "kind": "backup", "message": "Insufficient privileges to perform this action."}),
    );
    let (code, out) = bbws(&[
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
    wait_idle().await;
    seed_tenant("e2e-slow");
    fault(json!({"fault": "slow-jobs", "seconds": 12}));
    let (code, out) = bbws(&[
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
    wait_idle().await;
    seed_tenant("e2e-throttle");
    // More throttled answers than the SDK's own three attempts: the state machine retries too.
    fault(json!({"fault": "throttle", "operation": "StartBackupJob", "count": 4}));
    let (code, out) = bbws(&[
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

async fn run_execution(
    input: Value,
    name: &str,
) -> (ExecutionStatus, Option<String>, Option<String>) {
    let sfn = aws_sdk_sfn::Client::new(&sdk("us-east-1").await);
    let arn = platform()["stateMachines"]["backup"]
        .as_str()
        .unwrap()
        .to_owned();
    let started = sfn
        .start_execution()
        .state_machine_arn(&arn)
        .name(name)
        .input(input.to_string())
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let d = sfn
            .describe_execution()
            .execution_arn(started.execution_arn())
            .send()
            .await
            .unwrap();
        if d.status() != &ExecutionStatus::Running {
            return (
                d.status().clone(),
                d.error().map(str::to_owned),
                d.cause().map(str::to_owned),
            );
        }
        assert!(Instant::now() < deadline, "execution {name} still running");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn invalid_tenant_ids_fail_with_no_job_started() {
    wait_idle().await;
    let backup = aws_sdk_backup::Client::new(&sdk("us-east-1").await);
    let count = || async {
        backup
            .list_backup_jobs()
            .send()
            .await
            .unwrap()
            .backup_jobs()
            .len()
    };
    let before = count().await;
    let long = "a".repeat(64);
    for (i, bad) in ["../x", "A", "", long.as_str(), "tenänt", "tenant one"]
        .iter()
        .enumerate()
    {
        let (status, error, cause) = run_execution(
            json!({"tenantId": bad, "pollSeconds": 1}),
            &format!("invalid-{i}-{}", std::process::id()),
        )
        .await;
        assert_eq!(status, ExecutionStatus::Failed, "{bad:?}");
        assert_eq!(error.as_deref(), Some("InvalidTenant"), "{bad:?}");
        assert!(cause.unwrap_or_default().contains("400"), "{bad:?}");
    }
    assert_eq!(count().await, before, "no job was started");
}

#[tokio::test]
async fn the_same_execution_started_twice_starts_one_set_of_jobs() {
    wait_idle().await;
    let tenant = seed_tenant("e2e-twice");
    let db = tenant["databaseArn"].as_str().unwrap().to_owned();
    let before = jobs_on(&db).await.len();
    let sfn = aws_sdk_sfn::Client::new(&sdk("us-east-1").await);
    let arn = platform()["stateMachines"]["backup"]
        .as_str()
        .unwrap()
        .to_owned();
    let name = format!("twice-{}", std::process::id());
    let input = json!({"tenantId": "e2e-twice", "pollSeconds": 1, "copyToDr": false}).to_string();
    let first = sfn
        .start_execution()
        .state_machine_arn(&arn)
        .name(&name)
        .input(&input)
        .send()
        .await
        .unwrap();
    let second = sfn
        .start_execution()
        .state_machine_arn(&arn)
        .name(&name)
        .input(&input)
        .send()
        .await
        .unwrap();
    assert_eq!(first.execution_arn(), second.execution_arn());
    let (status, error, _) = loop {
        let d = sfn
            .describe_execution()
            .execution_arn(first.execution_arn())
            .send()
            .await
            .unwrap();
        if d.status() != &ExecutionStatus::Running {
            break (
                d.status().clone(),
                d.error().map(str::to_owned),
                d.cause().map(str::to_owned),
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(status, ExecutionStatus::Succeeded, "{error:?}");
    assert_eq!(jobs_on(&db).await.len(), before + 1, "one database job");
}

/// Every file under `dir`, by path relative to it, with its bytes.
fn snapshot(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                files.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

fn backup_id_of(out: &Value) -> String {
    out["output"]["backupId"]
        .as_str()
        .expect("a backup id")
        .to_owned()
}

#[tokio::test]
async fn a_restore_brings_back_every_file_byte_identical_and_keeps_the_damaged_ones() {
    wait_idle().await;
    let tenant = seed_tenant("e2e-restore");
    let dir = std::path::PathBuf::from(tenant["directory"].as_str().unwrap());
    let before = snapshot(&dir);
    assert!(before.len() >= 5);
    let (code, out) = bbws(&[
        "backup",
        "--tenant",
        "e2e-restore",
        "--poll-seconds",
        "1",
        "--no-dr-copy",
    ]);
    assert_eq!(code, 0, "{out}");
    let backup_id = backup_id_of(&out);

    // Damage: change one file, delete another, add one.
    std::fs::write(dir.join("wp-content/index.php"), b"<?php echo 'defaced';").unwrap();
    std::fs::remove_file(dir.join("wp-content/uploads/2026/11/logo.bin")).unwrap();
    std::fs::write(
        dir.join("wp-content/malware.php"),
        b"<?php eval($_GET['x']);",
    )
    .unwrap();

    let (code, out) = bbws(&[
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
        snapshot(&dir),
        before,
        "every file byte-identical to the backup, nothing else"
    );

    let kept = std::path::PathBuf::from(result["files"]["keptAside"].as_str().unwrap());
    assert!(
        kept.starts_with(dir.parent().unwrap().join(".bbws-kept/e2e-restore")),
        "{kept:?}"
    );
    assert_eq!(
        std::fs::read(kept.join("wp-content/index.php")).unwrap(),
        b"<?php echo 'defaced';"
    );
    assert!(kept.join("wp-content/malware.php").exists());
    let deployment = &result["deployment"]["jobs"][0];
    assert_eq!(deployment["state"], "COMPLETED", "{result}");
    assert_eq!(deployment["resourceArn"], tenant["serviceArn"]);
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
    wait_idle().await;
    seed_tenant("e2e-owner");
    let victim = seed_tenant("e2e-victim");
    let victim_dir = std::path::PathBuf::from(victim["directory"].as_str().unwrap());
    let before = snapshot(&victim_dir);
    let (code, out) = bbws(&[
        "backup",
        "--tenant",
        "e2e-owner",
        "--poll-seconds",
        "1",
        "--no-dr-copy",
        "--files-only",
    ]);
    assert_eq!(code, 0, "{out}");
    let backup_id = backup_id_of(&out);
    let (code, out) = bbws(&[
        "restore",
        "--tenant",
        "e2e-victim",
        "--backup",
        &backup_id,
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 41, "{out}");
    assert_eq!(out["error"], "InvalidRestoreTarget");
    assert_eq!(snapshot(&victim_dir), before, "nothing changed");
}

#[tokio::test]
async fn restoring_an_unknown_backup_is_backup_not_found() {
    wait_idle().await;
    seed_tenant("e2e-nobackup");
    let (code, out) = bbws(&[
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
    wait_idle().await;
    let tenant = seed_tenant("e2e-restore-fail");
    let dir = std::path::PathBuf::from(tenant["directory"].as_str().unwrap());
    let (code, out) = bbws(&[
        "backup",
        "--tenant",
        "e2e-restore-fail",
        "--poll-seconds",
        "1",
        "--no-dr-copy",
        "--files-only",
    ]);
    assert_eq!(code, 0, "{out}");
    let backup_id = backup_id_of(&out);
    std::fs::write(
        dir.join("wp-content/index.php"),
        b"changed after the backup",
    )
    .unwrap();
    fault(
        json!({"fault": "fail-next-job", "kind": "restore", "message": "Access denied to the file system"}),
    );
    let (code, out) = bbws(&[
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
        std::fs::read(dir.join("wp-content/index.php")).unwrap(),
        b"changed after the backup"
    );
}

#[tokio::test]
async fn a_slow_restore_is_restore_timeout() {
    wait_idle().await;
    seed_tenant("e2e-restore-slow");
    let (code, out) = bbws(&[
        "backup",
        "--tenant",
        "e2e-restore-slow",
        "--poll-seconds",
        "1",
        "--no-dr-copy",
        "--files-only",
    ]);
    assert_eq!(code, 0, "{out}");
    let backup_id = backup_id_of(&out);
    fault(json!({"fault": "slow-jobs", "seconds": 12}));
    let sfn = aws_sdk_sfn::Client::new(&sdk("us-east-1").await);
    let arn = platform()["stateMachines"]["restore"]
        .as_str()
        .unwrap()
        .to_owned();
    let started = sfn
        .start_execution()
        .state_machine_arn(&arn)
        .name(format!("slow-restore-{}", std::process::id()))
        .input(
            json!({"tenantId": "e2e-restore-slow", "backupId": backup_id, "pollSeconds": 1,
                      "timeouts": {"efsSeconds": 3}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let (code, out) = bbws(&["status", started.execution_arn(), "--follow"]);
    assert_eq!(code, 55, "{out}");
    assert_eq!(out["error"], "RestoreTimeout");
    fault(json!({"fault": "slow-jobs", "seconds": 0}));
}
