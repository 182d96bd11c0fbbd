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

/// Runs the seed script with `args`; its output is one JSON value.
fn seed(args: &[&str]) -> Value {
    let out = Command::new(root().join(".venv/bin/python"))
        .arg(root().join("scripts/local_seed.py"))
        .args(args)
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

/// Creates (or refreshes) a tenant: files, access point, database, service.
fn seed_tenant(tenant: &str) -> Value {
    seed(&["tenant", tenant])
}

/// The events the product put on EventBridge since the last call.
fn drain_events() -> Vec<Value> {
    seed(&["drain-events"])
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Invokes a function through the front server as EventBridge or Step Functions would;
/// returns the function error's type (if it failed) and the payload.
fn invoke(function: &str, payload: &Value) -> (Option<String>, Value) {
    let url = format!("{}/2015-03-31/functions/{function}/invocations", endpoint());
    let out = Command::new("curl")
        .args(["-sS", "-i", "-X", "POST", &url, "-d", &payload.to_string()])
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let failed = head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("x-amz-function-error"));
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let error = failed.then(|| body["errorType"].as_str().unwrap_or("?").to_owned());
    (error, body)
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
    drain_events();
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
    let d = run_machine("backup", input, name).await;
    (
        d.status().clone(),
        d.error().map(str::to_owned),
        d.cause().map(str::to_owned),
    )
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

/// Backs `tenant` up through the CLI (no DR copy, `extra` flags added) and returns the
/// tenant backup id; the backup must succeed.
fn backed_up(tenant: &str, extra: &[&str]) -> String {
    let args = [
        &[
            "backup",
            "--tenant",
            tenant,
            "--poll-seconds",
            "1",
            "--no-dr-copy",
        ][..],
        extra,
    ]
    .concat();
    let (code, out) = bbws(&args);
    assert_eq!(code, 0, "{out}");
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
    let backup_id = backed_up("e2e-restore", &[]);

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
    let backup_id = backed_up("e2e-owner", &["--files-only"]);
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
    let backup_id = backed_up("e2e-restore-fail", &["--files-only"]);
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
    let backup_id = backed_up("e2e-restore-slow", &["--files-only"]);
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

/// The tags of an RDS resource, as a map.
async fn rds_tags(
    rds: &aws_sdk_rds::Client,
    arn: &str,
) -> std::collections::BTreeMap<String, String> {
    rds.list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .unwrap()
        .tag_list()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_promoted_database_restore_points_the_tenant_at_the_restored_database() {
    wait_idle().await;
    let tenant = seed_tenant("e2e-promote");
    let old_db = tenant["databaseArn"].as_str().unwrap().to_owned();
    let config = sdk("us-east-1").await;
    let rds = aws_sdk_rds::Client::new(&config);
    let ssm = aws_sdk_ssm::Client::new(&config);
    let old_tags = rds_tags(&rds, &old_db).await;
    let backup_id = backed_up("e2e-promote", &[]);

    let (code, out) = bbws(&[
        "restore",
        "--tenant",
        "e2e-promote",
        "--backup",
        &backup_id,
        "--database-only",
        "--promote-database",
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    let promotion = &out["output"]["databasePromotion"];
    let parameter = "/bbws/dev/tenants/e2e-promote/database-endpoint";
    assert_eq!(promotion["parameter"], parameter, "{out}");
    assert_eq!(promotion["previousDatabase"]["arn"], old_db.as_str());

    // The parameter names the restored instance's endpoint.
    let restored_arn = promotion["database"]["arn"].as_str().unwrap().to_owned();
    let restored_id = promotion["database"]["identifier"].as_str().unwrap();
    assert!(restored_id.starts_with("r-e2e-promote-"), "{restored_id}");
    let value = ssm
        .get_parameter()
        .name(parameter)
        .send()
        .await
        .unwrap()
        .parameter()
        .and_then(|p| p.value())
        .unwrap()
        .to_owned();
    let restored = rds
        .describe_db_instances()
        .db_instance_identifier(restored_id)
        .send()
        .await
        .unwrap()
        .db_instances()[0]
        .clone();
    let endpoint = restored.endpoint().unwrap();
    assert_eq!(
        value,
        format!(
            "{}:{}",
            endpoint.address().unwrap(),
            endpoint.port().unwrap()
        )
    );
    assert_eq!(promotion["endpoint"], value.as_str());

    // The restored database is the tenant's now; the previous one is exactly as it was.
    let tags = rds_tags(&rds, &restored_arn).await;
    assert_eq!(
        tags.get("bbws:tenant-id").map(String::as_str),
        Some("e2e-promote")
    );
    assert_eq!(tags.get("bbws:restored-from"), Some(&backup_id));
    assert!(tags.contains_key("bbws:promoted-at"), "{tags:?}");
    assert_eq!(
        rds_tags(&rds, &old_db).await,
        old_tags,
        "the previous database is untouched"
    );

    // The next backup of the tenant backs up the promoted database, not the previous one.
    let before_on_old = jobs_on(&old_db).await.len();
    backed_up("e2e-promote", &[]);
    assert_eq!(jobs_on(&restored_arn).await.len(), 1);
    assert_eq!(jobs_on(&old_db).await.len(), before_on_old);
}

#[tokio::test]
async fn an_aurora_restore_gets_a_serverless_instance_beside_the_tenants_cluster() {
    wait_idle().await;
    let tenant = seed(&["aurora-tenant", "e2e-aurora"]);
    let cluster_arn = tenant["databaseArn"].as_str().unwrap().to_owned();
    assert!(cluster_arn.contains(":cluster:"), "{cluster_arn}");
    let dir = std::path::PathBuf::from(tenant["directory"].as_str().unwrap());
    let before = snapshot(&dir);
    let backup_id = backed_up("e2e-aurora", &[]);
    assert_eq!(
        jobs_on(&cluster_arn).await.len(),
        1,
        "the cluster is backed up"
    );
    std::fs::write(dir.join("wp-content/index.php"), b"changed").unwrap();

    let (code, out) = bbws(&[
        "restore",
        "--tenant",
        "e2e-aurora",
        "--backup",
        &backup_id,
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(snapshot(&dir), before);
    let result = &out["output"];
    assert_eq!(result["databasePromotion"]["skipped"], true);
    let watched = &result["database"]["jobs"][0];
    assert_eq!(watched["kind"], "database", "{result}");
    assert_eq!(watched["state"], "COMPLETED");
    let cluster_created = watched["createdResourceArn"].as_str().unwrap();
    let restored_cluster = cluster_created.rsplit(':').next().unwrap();
    assert!(
        restored_cluster.starts_with("r-e2e-aurora-"),
        "{restored_cluster}"
    );
    let instance_id = watched["jobId"].as_str().unwrap();
    assert_eq!(instance_id, format!("{restored_cluster}-1"));

    let rds = aws_sdk_rds::Client::new(&sdk("us-east-1").await);
    let instance = rds
        .describe_db_instances()
        .db_instance_identifier(instance_id)
        .send()
        .await
        .unwrap()
        .db_instances()[0]
        .clone();
    assert_eq!(instance.db_instance_class(), Some("db.serverless"));
    assert_eq!(instance.db_cluster_identifier(), Some(restored_cluster));
    assert_eq!(instance.db_instance_status(), Some("available"));
    let cluster = rds
        .describe_db_clusters()
        .db_cluster_identifier(restored_cluster)
        .send()
        .await
        .unwrap()
        .db_clusters()[0]
        .clone();
    let members: Vec<_> = cluster
        .db_cluster_members()
        .iter()
        .filter_map(|m| m.db_instance_identifier())
        .collect();
    assert_eq!(members, [instance_id]);
    let tags = rds_tags(&rds, cluster_created).await;
    assert_eq!(tags.get("bbws:restored-from"), Some(&backup_id));
    assert!(
        !tags.contains_key("bbws:tenant-id"),
        "not promoted: not the tenant's database"
    );

    // The tenant's own cluster keeps its one instance.
    let own = rds
        .describe_db_clusters()
        .db_cluster_identifier("e2e-aurora")
        .send()
        .await
        .unwrap()
        .db_clusters()[0]
        .db_cluster_members()
        .len();
    assert_eq!(own, 1);
}

fn tenant_created(tenant: &str) -> Value {
    json!({
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "TenantCreated", "source": "bbws.tenants",
        "account": "123456789012", "time": "2026-11-25T12:00:00Z", "region": "us-east-1",
        "resources": [], "detail": {"tenantId": tenant}
    })
}

async fn access_points_of(tenant: &str) -> Vec<aws_sdk_efs::types::AccessPointDescription> {
    let efs = aws_sdk_efs::Client::new(&sdk("us-east-1").await);
    efs.describe_access_points()
        .file_system_id(platform()["fileSystemId"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .access_points()
        .iter()
        .filter(|ap| ap.root_directory().and_then(|r| r.path()) == Some(&format!("/{tenant}")))
        .cloned()
        .collect()
}

#[tokio::test]
async fn an_onboarding_event_delivered_twice_creates_one_access_point_as_designed() {
    wait_idle().await;
    // The platform made the tenant's database without the tag the backup plan selects on.
    let db = seed(&["database", "e2e-onboard"])["databaseArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(seed(&["rds-tags", &db]), json!({}));
    let mut event = tenant_created("e2e-onboard");
    event["detail"]["databaseArn"] = json!(db);
    for _ in 0..2 {
        let (error, out) = invoke("onboard-tenant", &event);
        assert_eq!(error, None, "{out}");
    }
    assert_eq!(
        seed(&["rds-tags", &db]),
        json!({"bbws:tenant-id": "e2e-onboard"})
    );
    let points = access_points_of("e2e-onboard").await;
    assert_eq!(points.len(), 1, "exactly one access point");
    let ap = &points[0];
    let user = ap.posix_user().unwrap();
    assert_eq!((user.uid(), user.gid()), (33, 33));
    let info = ap.root_directory().unwrap().creation_info().unwrap();
    assert_eq!(
        (info.owner_uid(), info.owner_gid(), info.permissions()),
        (33, 33, "0755")
    );
    assert!(ap
        .tags()
        .iter()
        .any(|t| t.key() == "bbws:tenant-id" && t.value() == "e2e-onboard"));

    let ready: Vec<Value> = drain_events()
        .into_iter()
        .filter(|e| {
            e["detail-type"] == "TenantStorageReady" && e["detail"]["tenantId"] == "e2e-onboard"
        })
        .collect();
    assert_eq!(ready.len(), 2, "each delivery is answered");
    assert!(ready
        .iter()
        .all(|e| e["detail"]["accessPointId"] == ap.access_point_id().unwrap()));
    assert_eq!(
        ready
            .iter()
            .filter(|e| e["detail"]["created"] == true)
            .count(),
        1
    );
}

#[tokio::test]
async fn an_invalid_onboarding_event_creates_nothing() {
    wait_idle().await;
    let (error, out) = invoke("onboard-tenant", &tenant_created("../e2e-evil"));
    assert_eq!(error.as_deref(), Some("InvalidTenant"), "{out}");
    let mut wrong = tenant_created("e2e-wrong-source");
    wrong["source"] = json!("somebody.else");
    let (error, _) = invoke("onboard-tenant", &wrong);
    assert_eq!(error.as_deref(), Some("InvalidTenant"));
    assert!(access_points_of("e2e-wrong-source").await.is_empty());
    assert!(drain_events()
        .iter()
        .all(|e| e["detail-type"] != "TenantStorageReady"));
}

#[tokio::test]
async fn outcomes_are_published_as_events() {
    wait_idle().await;
    seed_tenant("e2e-events");
    let (code, out) = bbws(&[
        "backup",
        "--tenant",
        "e2e-events",
        "--poll-seconds",
        "1",
        "--no-dr-copy",
    ]);
    assert_eq!(code, 0, "{out}");
    fault(json!({"fault": "fail-next-job", "kind": "backup", "message": "injected"}));
    let (code, _) = bbws(&[
        "backup",
        "--tenant",
        "e2e-events",
        "--poll-seconds",
        "1",
        "--no-dr-copy",
    ]);
    assert_eq!(code, 50);
    let events = drain_events();
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| e["detail-type"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["TenantBackupCompleted", "TenantBackupFailed"],
        "{events:?}"
    );
    assert_eq!(events[0]["source"], "bbws.content");
    assert_eq!(events[0]["detail"]["backupId"], out["output"]["backupId"]);
    assert_eq!(events[1]["detail"]["error"]["Error"], "BackupFailed");
}

async fn run_machine(
    machine: &str,
    input: Value,
    name: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    let sfn = aws_sdk_sfn::Client::new(&sdk("us-east-1").await);
    let arn = platform()["stateMachines"][machine]
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
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let d = sfn
            .describe_execution()
            .execution_arn(started.execution_arn())
            .send()
            .await
            .unwrap();
        if d.status() != &ExecutionStatus::Running {
            return d;
        }
        assert!(Instant::now() < deadline, "execution {name} still running");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn a_fleet_backup_costs_one_file_system_job_and_one_job_per_database() {
    wait_idle().await;
    for tenant in ["e2e-fleet-1", "e2e-fleet-2", "e2e-fleet-3"] {
        seed_tenant(tenant);
    }
    let fs = fs_arn();
    let fs_jobs_before = jobs_on(&fs).await.len();
    // Long enough for every tenant's plan to find the shared job still running.
    fault(json!({"fault": "slow-jobs", "seconds": 6}));
    let done = run_machine(
        "fleet-backup",
        json!({"pollSeconds": 1, "maxPollSeconds": 2, "copyToDr": false, "maxConcurrency": 10}),
        &format!("fleet-{}", std::process::id()),
    )
    .await;
    fault(json!({"fault": "slow-jobs", "seconds": 0}));
    assert_eq!(
        done.status(),
        &ExecutionStatus::Succeeded,
        "{:?} {:?}",
        done.error(),
        done.cause()
    );
    let out: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    let tenants = out["tenants"].as_array().unwrap();
    for t in ["e2e-fleet-1", "e2e-fleet-2", "e2e-fleet-3"] {
        assert!(tenants.contains(&json!(t)), "{t} is in the fleet");
    }
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), tenants.len());
    assert!(
        results.iter().all(|r| r["status"] == "SUCCEEDED"),
        "{results:?}"
    );

    // One job on the shared file system, which every tenant joined or started.
    assert_eq!(
        jobs_on(&fs).await.len(),
        fs_jobs_before + 1,
        "one file-system job"
    );
    let shared = out["sharedFileSystemJob"]["jobId"].as_str().unwrap();
    for r in results {
        let efs: Vec<&Value> = r["recoveryPoints"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["resource"] == "efs")
            .collect();
        assert_eq!(efs.len(), 1);
        assert_eq!(efs[0]["jobId"], shared, "{r}");
    }
    // One database job per fleet tenant with a database.
    for t in ["e2e-fleet-1", "e2e-fleet-2", "e2e-fleet-3"] {
        let db = format!("arn:aws:rds:us-east-1:123456789012:db:{t}");
        assert_eq!(jobs_on(&db).await.len(), 1, "{t}");
    }
    // Each tenant's outcome is announced.
    let completed: Vec<Value> = drain_events()
        .into_iter()
        .filter(|e| e["detail-type"] == "TenantBackupCompleted")
        .collect();
    assert_eq!(completed.len(), tenants.len());
    for t in ["e2e-fleet-1", "e2e-fleet-2", "e2e-fleet-3"] {
        assert!(
            completed.iter().any(|e| e["detail"]["tenantId"] == t),
            "{t}"
        );
    }
}

#[tokio::test]
async fn offboarding_backs_up_then_deletes_the_access_point_and_keeps_the_files() {
    wait_idle().await;
    let tenant = seed_tenant("e2e-offboard");
    let dir = std::path::PathBuf::from(tenant["directory"].as_str().unwrap());
    let files = snapshot(&dir);
    let done = run_machine(
        "backup",
        json!({"tenantId": "e2e-offboard", "fresh": true, "offboard": true, "pollSeconds": 1, "copyToDr": false}),
        &format!("offboard-{}", std::process::id()),
    )
    .await;
    assert_eq!(
        done.status(),
        &ExecutionStatus::Succeeded,
        "{:?} {:?}",
        done.error(),
        done.cause()
    );
    assert!(
        access_points_of("e2e-offboard").await.is_empty(),
        "the access point is gone"
    );
    assert_eq!(snapshot(&dir), files, "the files stay");
    let out: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    let (code, listing) = bbws(&["backups", "--tenant", "e2e-offboard"]);
    assert_eq!(code, 0);
    assert_eq!(
        listing[0]["backupId"], out["backupId"],
        "the final backup is listed"
    );
}
