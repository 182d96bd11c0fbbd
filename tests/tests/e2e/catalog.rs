//! The tenant backup catalog: the hourly plans' points become each tenant's backups through
//! the real rule → catalog function path, a restore finds them through the catalog, a tenant
//! gets only the points of its own life on the file system, and a repeated event changes
//! nothing.

use serde_json::{json, Value};

use crate::stack::{snapshot, tenant_created, unique, Stack};

/// Runs the plans (`efs`, `database` or `all`; the database rule with continuous backup as
/// the template's default has it, or taking snapshots), waits for their jobs and copies, and
/// hands their events to the catalog function; returns the hourly backup id and the
/// file-system recovery point the run made.
async fn plan_run_recorded(stack: &Stack, plan: &str, continuous: bool) -> (String, String) {
    let jobs = if continuous {
        stack.plan_run(plan).await
    } else {
        stack.plan_run_snapshots(plan).await
    };
    stack.wait_for_jobs().await;
    let efs_job = jobs
        .iter()
        .find(|j| j["resourceArn"] == stack.file_system_arn().as_str())
        .expect("the EFS plan backs up the shared file system");
    let described = stack
        .backup
        .describe_backup_job()
        .backup_job_id(efs_job["backupJobId"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let point = described.recovery_point_arn().unwrap().to_owned();
    let created = described.creation_date().unwrap().secs();
    let recorded = stack.deliver_catalog_events().await;
    assert!(
        !recorded.is_empty(),
        "the plan run's events reach the catalog"
    );
    (bbws::catalog::hourly_backup_id(created), point)
}

fn text<'a>(
    item: &'a std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    key: &str,
) -> &'a str {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .unwrap_or_default()
}

#[tokio::test]
async fn a_plan_run_restores_one_tenant_and_leaves_the_others_untouched() {
    let stack = Stack::new().await;
    let restored = stack.onboarded_tenant("e2e-hourly-a").await;
    let other = stack.onboarded_tenant("e2e-hourly-b").await;
    let before = snapshot(&restored.directory);
    let (backup_id, _) = plan_run_recorded(&stack, "all", false).await;

    // The run is one hourly backup of each tenant on the file system: its file-system point
    // paired with the run's point of the tenant's own database.
    let items = stack.catalog_backups("e2e-hourly-a").await;
    let item = items
        .iter()
        .find(|i| text(i, "backupId") == backup_id)
        .unwrap_or_else(|| panic!("no {backup_id} in {items:?}"));
    assert_eq!(text(item, "kind"), "hourly");
    let database = item["database"].as_m().expect("the run's database point");
    assert_eq!(
        database["resourceArn"].as_s().unwrap(),
        &restored.database_arn
    );
    assert!(item["files"].as_m().is_ok(), "the run's file-system point");
    assert!(stack
        .catalog_backups("e2e-hourly-b")
        .await
        .iter()
        .any(|i| text(i, "backupId") == backup_id));

    // The tenant's files change after the run; the other tenant's stay as they are.
    std::fs::write(restored.directory.join("index.php"), "<?php // defaced\n").unwrap();
    std::fs::remove_file(restored.directory.join("uploads/2026/11/logo.bin")).unwrap();
    let others_before = snapshot(&other.directory);

    let execution = stack
        .run_execution(
            "restore",
            &unique("hourly-restore"),
            &json!({"tenantId": "e2e-hourly-a", "backupId": backup_id, "database": false,
                    "pollSeconds": 1, "maxPollSeconds": 1}),
        )
        .await;
    assert_eq!(
        execution.status().as_str(),
        "SUCCEEDED",
        "{:?}",
        execution.cause()
    );
    assert_eq!(
        snapshot(&restored.directory),
        before,
        "files byte-identical"
    );
    assert_eq!(
        snapshot(&other.directory),
        others_before,
        "the other tenant untouched"
    );

    // The backup names the restore that used it.
    let item = stack
        .catalog_backups("e2e-hourly-a")
        .await
        .into_iter()
        .find(|i| text(i, "backupId") == backup_id)
        .unwrap();
    let restores = item["restores"].as_ss().expect("the restores that used it");
    assert_eq!(restores.len(), 1, "{restores:?}");
}

#[tokio::test]
async fn a_tenant_onboarded_after_a_plan_run_does_not_get_its_point() {
    let stack = Stack::new().await;
    let (backup_id, point) = plan_run_recorded(&stack, "efs", true).await;
    let late = stack.onboarded_tenant("e2e-hourly-late").await;
    let before = snapshot(&late.directory);
    for id in [backup_id.as_str(), point.as_str()] {
        let (code, out) = stack.bbws(&[
            "restore",
            "--yes",
            "--tenant",
            "e2e-hourly-late",
            "--backup",
            id,
            "--poll-seconds",
            "1",
        ]);
        assert_eq!(code, 44, "{id}: {out}");
        assert_eq!(out["error"], "BackupNotFound", "{id}: {out}");
    }
    assert_eq!(snapshot(&late.directory), before, "nothing changed");
}

#[tokio::test]
async fn a_redelivered_job_event_changes_nothing() {
    let stack = Stack::new().await;
    stack.onboarded_tenant("e2e-hourly-again").await;
    stack.plan_run("all").await;
    stack.wait_for_jobs().await;
    let events = stack.catalog_events().await;
    assert!(
        events
            .iter()
            .any(|e| e["detail-type"] == "Copy Job State Change"),
        "the plans' copies are caught too"
    );
    let first = stack.deliver(&events).await;
    assert!(
        first.iter().any(|r| r["tenants"]
            .as_array()
            .is_some_and(|t| t.contains(&Value::from("e2e-hourly-again")))),
        "{first:?}"
    );
    let once = stack.catalog_items().await;
    let again = stack.deliver(&events).await;
    assert_eq!(
        stack.catalog_items().await,
        once,
        "the catalog is as it was"
    );
    assert!(
        again
            .iter()
            .all(|r| r["tenants"].as_array().is_none_or(Vec::is_empty)),
        "no tenant got a point twice: {again:?}"
    );
}

/// Now, to the second, as RFC 3339 (what `--since` and `--at` take).
fn now_rfc3339() -> (i64, String) {
    use aws_sdk_backup::primitives::{DateTime, DateTimeFormat};
    let secs = DateTime::from(std::time::SystemTime::now()).secs();
    (
        secs,
        DateTime::from_secs(secs)
            .fmt(DateTimeFormat::DateTime)
            .unwrap(),
    )
}

fn seconds_of(rfc3339: &Value) -> i64 {
    use aws_sdk_backup::primitives::{DateTime, DateTimeFormat};
    DateTime::from_str(rfc3339.as_str().expect("a time"), DateTimeFormat::DateTime)
        .expect("RFC 3339")
        .secs()
}

#[tokio::test]
async fn backups_lists_the_catalog_newest_first_and_describes_one_backup() {
    let stack = Stack::new().await;
    let tenant = stack.onboarded_tenant("e2e-listed").await;
    let (hourly, point) = plan_run_recorded(&stack, "all", false).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (_, since) = now_rfc3339();
    let on_demand = stack.backed_up("e2e-listed", &[]);

    // Newest first: the on-demand backup, then the plan run's.
    let (code, listing) = stack.bbws(&["backups", "--tenant", "e2e-listed"]);
    assert_eq!(code, 0, "{listing}");
    let listed = listing.as_array().expect("a JSON array");
    let ids: Vec<&str> = listed
        .iter()
        .map(|b| b["backupId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [on_demand.as_str(), hourly.as_str()]);
    assert_eq!(listed[0]["kind"], "on-demand");
    assert_eq!(listed[1]["kind"], "hourly");
    assert_eq!(listed[1]["files"]["recoveryPointArn"], point.as_str());
    assert!(
        listed[1]["sizeBytes"].as_i64().is_some_and(|n| n > 0),
        "{listing}"
    );
    // The plan copies its points to the DR vault; the on-demand backup asked for no copy.
    assert!(listed[1]["files"]["drCopy"].is_string(), "{listing}");
    assert_eq!(listed[0]["files"]["drCopy"], Value::Null);

    let (code, limited) = stack.bbws(&["backups", "--tenant", "e2e-listed", "--limit", "1"]);
    assert_eq!(code, 0, "{limited}");
    assert_eq!(limited.as_array().unwrap().len(), 1);
    assert_eq!(limited[0]["backupId"], on_demand.as_str());
    let (code, recent) = stack.bbws(&["backups", "--tenant", "e2e-listed", "--since", &since]);
    assert_eq!(code, 0, "{recent}");
    assert_eq!(recent.as_array().unwrap().len(), 1, "{recent}");
    assert_eq!(recent[0]["backupId"], on_demand.as_str());

    // One backup in detail: its points, sizes, DR copies, expiry and the restores using it.
    let (code, detail) = stack.bbws(&["backups", "--tenant", "e2e-listed", "--id", &hourly]);
    assert_eq!(code, 0, "{detail}");
    assert_eq!(detail["backupId"], hourly.as_str());
    assert_eq!(detail["files"]["recoveryPointArn"], point.as_str());
    assert_eq!(
        detail["database"]["resourceArn"],
        tenant.database_arn.as_str()
    );
    assert!(detail["expiresAt"].is_string(), "{detail}");
    assert!(
        detail["files"]["drCopy"]["copyJobId"].is_string(),
        "{detail}"
    );
    assert_eq!(detail["restores"], json!([]));

    let (code, out) = stack.bbws(&["backups", "--tenant", "e2e-listed", "--id", "tb-nothing"]);
    assert_eq!(code, 44, "{out}");
    assert_eq!(out["error"], "BackupNotFound");
    let (code, out) = stack.bbws(&["backups", "--tenant", "e2e-never-onboarded"]);
    assert_eq!(code, 40, "{out}");
    assert_eq!(out["error"], "InvalidTenant");
}

#[tokio::test]
async fn at_between_two_backups_takes_the_older_pair_and_reports_the_gap() {
    let stack = Stack::new().await;
    let tenant = stack.onboarded_tenant("e2e-at").await;
    let before = snapshot(&tenant.directory);
    // One plan run, its database job two seconds after its file-system job: one hourly
    // backup whose files and database are apart.
    let (hourly, _) = plan_run_recorded(&stack, "efs", true).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    stack.plan_run_snapshots("database").await;
    stack.wait_for_jobs().await;
    stack.deliver_catalog_events().await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (_, at) = now_rfc3339();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    std::fs::write(
        tenant.directory.join("index.php"),
        "<?php // changed after the moment\n",
    )
    .unwrap();
    let newer = stack.backed_up("e2e-at", &[]);
    assert_ne!(newer, hourly);

    let (code, out) = stack.bbws(&[
        "restore",
        "--yes",
        "--tenant",
        "e2e-at",
        "--at",
        &at,
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    let pit = &out["output"]["pointInTime"];
    assert_eq!(pit["at"], at.as_str(), "{out}");
    assert_eq!(pit["filesBackupId"], hourly.as_str(), "{out}");
    assert_eq!(pit["databaseBackupId"], hourly.as_str(), "{out}");
    let gap = seconds_of(&pit["databaseCreatedAt"]) - seconds_of(&pit["filesCreatedAt"]);
    assert!(gap >= 2, "the database job ran after the files': {out}");
    assert_eq!(pit["gapSeconds"], gap, "{out}");
    assert!(
        out["output"]["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("{gap} s apart")),
        "{out}"
    );
    assert_eq!(
        snapshot(&tenant.directory),
        before,
        "the files as they were at the moment"
    );
}

/// Waits until no copy job is still under way, then hands the catalog every event so far.
async fn copies_settled_and_recorded(stack: &Stack) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let jobs = stack.all_copy_jobs().await;
        let busy = jobs.iter().any(|j| {
            matches!(
                j.state(),
                Some(
                    aws_sdk_backup::types::CopyJobState::Created
                        | aws_sdk_backup::types::CopyJobState::Running
                )
            )
        });
        if !busy {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "copies still running after 60 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    stack.wait_for_jobs().await;
    stack.deliver_catalog_events().await;
}

type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// The items of `tenants` (their backups and lives) and of the DR copies of their points,
/// by key.
fn tenants_items(items: &[Item], tenants: &[&str]) -> std::collections::BTreeMap<String, Item> {
    let pks: Vec<String> = tenants.iter().map(|t| format!("tenant#{t}")).collect();
    let of_tenants: Vec<&Item> = items
        .iter()
        .filter(|i| pks.iter().any(|pk| text(i, "pk") == pk))
        .collect();
    let mut points = std::collections::BTreeSet::new();
    for item in &of_tenants {
        for component in ["files", "database"] {
            if let Some(point) = item.get(component).and_then(|p| p.as_m().ok()) {
                points.insert(format!("point#{}", text(point, "recoveryPointArn")));
            }
        }
    }
    items
        .iter()
        .filter(|i| pks.iter().any(|pk| text(i, "pk") == pk) || points.contains(text(i, "pk")))
        .map(|i| (format!("{} {}", text(i, "pk"), text(i, "sk")), i.clone()))
        .collect()
}

#[tokio::test]
async fn a_rebuild_into_an_empty_table_gives_the_same_items() {
    let stack = Stack::new().await;
    let (kept, gone) = ("e2e-rebuild-kept", "e2e-rebuild-gone");
    stack.onboarded_tenant(kept).await;
    stack.onboarded_tenant(gone).await;
    // An on-demand backup of one; an hourly run of both, copied to the DR vault; then the
    // other is offboarded (its final backup, then its access point goes).
    stack.backed_up(kept, &[]);
    // The database rule with continuous backup: one continuous point per database.
    plan_run_recorded(&stack, "all", true).await;
    // A fleet run of both, copied to DR: each joins the fleet's one file-system point, which
    // its own database point names.
    let fleet = stack
        .run_execution(
            "fleet-backup",
            &unique("rebuild-fleet"),
            &json!({"pollSeconds": 1, "maxPollSeconds": 1, "copyToDr": true,
                    "tenantPrefix": "e2e-rebuild-", "pageSize": 10}),
        )
        .await;
    assert_eq!(
        fleet.status(),
        &aws_sdk_sfn::types::ExecutionStatus::Succeeded,
        "{:?}",
        fleet.cause()
    );
    stack.wait_for_jobs().await;
    let done = stack
        .run_execution(
            "backup",
            &unique("rebuild-offboard"),
            &json!({"tenantId": gone, "fresh": true, "offboard": true, "pollSeconds": 1, "copyToDr": false}),
        )
        .await;
    assert_eq!(
        done.status(),
        &aws_sdk_sfn::types::ExecutionStatus::Succeeded,
        "{:?}",
        done.cause()
    );
    copies_settled_and_recorded(&stack).await;
    let original = tenants_items(&stack.catalog_items().await, &[kept, gone]);
    let kinds: std::collections::BTreeSet<&str> = original
        .values()
        .map(|i| text(i, "kind"))
        .filter(|k| !k.is_empty())
        .collect();
    assert_eq!(
        kinds,
        ["fleet", "hourly", "on-demand"].into(),
        "the scenario has every kind"
    );
    assert!(
        original
            .values()
            .any(|i| i.get("drCopy").is_some() && text(i, "pk").starts_with("point#")),
        "and DR copies: {original:?}"
    );
    assert!(
        original
            .values()
            .any(|i| text(i, "sk").starts_with("continuous#")),
        "and continuous database points: {original:?}"
    );
    let gone_life = original
        .iter()
        .find(|(k, _)| k.starts_with(&format!("tenant#{gone} life#")))
        .map(|(_, i)| i.clone())
        .expect("the offboarded tenant's life");
    assert!(gone_life.contains_key("offboardedAt"), "{gone_life:?}");

    // An empty table of the catalog's own design.
    let source = stack.platform["catalogTable"].as_str().unwrap().to_owned();
    let table = stack
        .empty_copy_of_table(&source, &unique("catalog-rebuild"))
        .await;
    let (code, report) = stack.bbws(&[
        "--catalog-table",
        &table,
        "catalog",
        "rebuild",
        "--file-system-id",
        stack.file_system_id(),
    ]);
    assert_eq!(code, 0, "{report}");
    assert!(
        report["recoveryPointsRead"].as_u64().unwrap() > 0
            && report["pointsWritten"].as_u64().unwrap() > 0,
        "{report}"
    );
    let rebuilt = tenants_items(&stack.table_items(&table).await, &[kept, gone]);
    assert_eq!(
        rebuilt.keys().collect::<Vec<_>>(),
        original.keys().collect::<Vec<_>>(),
        "the same items"
    );
    for (key, item) in &original {
        assert_eq!(&rebuilt[key], item, "item {key}");
    }

    // Into the catalog itself, a rebuild changes none of these items.
    let (code, report) = stack.bbws(&[
        "catalog",
        "rebuild",
        "--file-system-id",
        stack.file_system_id(),
    ]);
    assert_eq!(code, 0, "{report}");
    assert!(
        report["pointsAlreadyRecorded"].as_u64().unwrap() > 0,
        "{report}"
    );
    assert_eq!(
        tenants_items(&stack.catalog_items().await, &[kept, gone]),
        original
    );
}

#[tokio::test]
async fn continuous_backup_restores_the_database_to_the_files_second() {
    let stack = Stack::new().await;
    let tenant = stack.onboarded_tenant("e2e-pitr").await;
    let before = snapshot(&tenant.directory);
    // The database rule first (it makes the database's continuous point), then the file
    // system's: the files' moment lies in what the continuous point restores to.
    stack.plan_run("database").await;
    stack.wait_for_jobs().await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (hourly, _) = plan_run_recorded(&stack, "efs", true).await;

    // One catalog item for the continuous point, none per run.
    let items = stack.catalog_items().await;
    let continuous: Vec<&Item> = items
        .iter()
        .filter(|i| text(i, "pk") == "tenant#e2e-pitr" && text(i, "sk").starts_with("continuous#"))
        .collect();
    assert_eq!(continuous.len(), 1, "{items:?}");
    let point = continuous[0]["database"].as_m().unwrap();
    assert_eq!(text(point, "resourceArn"), tenant.database_arn.as_str());
    let continuous_arn = text(point, "recoveryPointArn").to_owned();
    assert!(
        continuous_arn.contains(":recovery-point:continuous:db-"),
        "{continuous_arn}"
    );

    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (_, at) = now_rfc3339();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    std::fs::write(
        tenant.directory.join("index.php"),
        "<?php // changed after the moment\n",
    )
    .unwrap();

    // To a moment: the files of the plan run, the database to the same second.
    let (code, out) = stack.bbws(&[
        "restore",
        "--yes",
        "--tenant",
        "e2e-pitr",
        "--at",
        &at,
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    let pit = &out["output"]["pointInTime"];
    assert_eq!(pit["filesBackupId"], hourly.as_str(), "{out}");
    assert_eq!(pit["gapSeconds"], 0, "{out}");
    assert_eq!(pit["databaseCreatedAt"], pit["filesCreatedAt"], "{out}");
    assert_eq!(
        pit["databaseContinuousPoint"],
        continuous_arn.as_str(),
        "{out}"
    );
    let files_at = pit["filesCreatedAt"].as_str().unwrap();
    let summary = out["output"]["summary"].as_str().unwrap();
    assert!(summary.contains(&format!("as of {files_at}")), "{summary}");
    assert!(summary.contains("0 s apart"), "{summary}");
    assert_eq!(
        snapshot(&tenant.directory),
        before,
        "the files of the moment"
    );

    // By the hourly backup's id: the same pair, the database to the files' second.
    let execution = stack
        .run_execution(
            "restore",
            &unique("pitr-by-id"),
            &json!({"tenantId": "e2e-pitr", "backupId": hourly, "pollSeconds": 1,
                    "maxPollSeconds": 1}),
        )
        .await;
    assert_eq!(
        execution.status().as_str(),
        "SUCCEEDED",
        "{:?}",
        execution.cause()
    );
    let output: Value = serde_json::from_str(execution.output().unwrap()).unwrap();
    let summary = output["summary"].as_str().unwrap_or_default().to_owned();
    assert!(summary.contains(&format!("as of {files_at}")), "{output}");
}

/// An Aurora cluster restores to a moment under its own key (`RestoreToTime`), an RDS
/// instance under `RestoreTime`: the stand-in refuses the other engine's key, so a restore
/// that sent the wrong one would fail here as in AWS.
#[tokio::test]
async fn an_aurora_cluster_restores_to_a_moment_under_its_own_key() {
    let stack = Stack::new().await;
    stack.seed_aurora_tenant("e2e-pitr-aurora");
    let (error, out) = stack
        .invoke("onboard-tenant", &tenant_created("e2e-pitr-aurora"))
        .await;
    assert_eq!(error, None, "{out}");
    stack.plan_run("database").await;
    stack.wait_for_jobs().await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    plan_run_recorded(&stack, "efs", true).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (_, at) = now_rfc3339();
    let (code, out) = stack.bbws(&[
        "restore",
        "--yes",
        "--tenant",
        "e2e-pitr-aurora",
        "--at",
        &at,
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    let restores: Vec<Value> = stack
        .recorded_calls("restore")
        .into_iter()
        .filter(|c| c["operation"] == "StartRestoreJob")
        .filter(|c| c["params"]["Metadata"]["DBClusterIdentifier"].is_string())
        .filter(|c| {
            c["params"]["Metadata"]["DBClusterIdentifier"]
                .as_str()
                .is_some_and(|id| id.starts_with("r-e2e-pitr-aurora"))
        })
        .collect();
    assert_eq!(restores.len(), 1, "{restores:?}");
    let metadata = &restores[0]["params"]["Metadata"];
    assert!(metadata["RestoreToTime"].is_string(), "{metadata}");
    assert!(metadata.get("RestoreTime").is_none(), "{metadata}");
}

#[tokio::test]
async fn a_catalog_event_that_fails_lands_in_the_dead_letter_queue_and_is_replayed() {
    let stack = Stack::new().await;
    // Its own tenant each run: the catalog keeps what an earlier run recorded.
    let tenant = &unique("e2e-catalog-replay");
    stack.onboarded_tenant(tenant).await;
    let jobs = stack.plan_run_snapshots("efs").await;
    stack.wait_for_jobs().await;
    let efs_job = jobs
        .iter()
        .find(|j| j["resourceArn"] == stack.file_system_arn().as_str())
        .and_then(|j| j["backupJobId"].as_str())
        .unwrap()
        .to_owned();
    let event = stack
        .catalog_events()
        .await
        .into_iter()
        .find(|e| {
            e["detail-type"] == "Backup Job State Change"
                && e["detail"]["backupJobId"] == efs_job.as_str()
                && e["detail"]["state"] == "COMPLETED"
        })
        .expect("the plan job's completed event");
    // The queue holds only this scenario's event (an earlier, interrupted run may have left one).
    let url = stack
        .sqs
        .get_queue_url()
        .queue_name("bbws-dev-catalog-dlq")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    stack.sqs.purge_queue().queue_url(url).send().await.unwrap();
    // AWS Backup throttles the function through all three of Lambda's attempts (three SDK
    // attempts each): the event goes to the on-failure destination.
    stack.throttle("DescribeRecoveryPoint", 9).await;
    let error = stack
        .invoke_async("catalog", &event, "bbws-dev-catalog-dlq")
        .await;
    assert_eq!(error.as_deref(), Some("TransientAwsError"));
    let hourly = |items: &[std::collections::HashMap<
        String,
        aws_sdk_dynamodb::types::AttributeValue,
    >]| {
        items
            .iter()
            .filter(|i| text(i, "pk") == format!("tenant#{tenant}") && text(i, "kind") == "hourly")
            .count()
    };
    assert_eq!(hourly(&stack.catalog_items().await), 0, "not recorded yet");

    let (code, out) = stack.bbws(&["catalog", "replay"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["replayed"], 1, "{out}");
    assert_eq!(out["failed"], 0, "{out}");
    assert_eq!(
        hourly(&stack.catalog_items().await),
        1,
        "recorded by the replay"
    );
    // The queue is empty: a second replay has nothing to do.
    let (code, out) = stack.bbws(&["catalog", "replay"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["replayed"], 0, "{out}");
}
