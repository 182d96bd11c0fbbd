//! The template's hourly backup plans, run by the AWS Backup stand-in as AWS Backup runs them
//! (`POST /_local/plan-run`), and the events AWS Backup sends to EventBridge about every job.
//! The stack is shared, so the databases a plan picks are those tagged in moto at the time,
//! other scenarios' tenants among them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_backup::operation::describe_backup_job::DescribeBackupJobOutput;
use aws_sdk_backup::types::{BackupJobState, CopyJob, CopyJobState};
use serde_json::Value;

use crate::stack::{unique, Stack};

const DR_VAULT_ARN: &str = "arn:aws:backup:eu-west-1:123456789012:backup-vault:bbws-dr-vault";
/// The longest a scenario here waits for jobs, copies or events.
const DEADLINE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_failed_plan_job_reports_its_failure_and_is_not_copied() {
    let stack = Stack::new().await;
    stack
        .fail_next_job("backup", "Injected by the plans scenario.")
        .await;
    let jobs = stack.plan_run("efs").await;
    assert_eq!(
        jobs.len(),
        1,
        "the EFS plan selects the file system only: {jobs:?}"
    );
    assert_eq!(jobs[0]["resourceArn"], stack.file_system_arn().as_str());
    let id = jobs[0]["backupJobId"].as_str().unwrap();
    let job = ended(&stack, id).await;
    assert_eq!(job.state(), Some(&BackupJobState::Failed));

    let events = backup_events_until(&stack, |events| {
        state_of(events, "Backup Job State Change", "backupJobId", id).contains(&"FAILED")
    })
    .await;
    let failed = find(
        &events,
        "Backup Job State Change",
        "backupJobId",
        id,
        "FAILED",
    );
    assert_eq!(
        failed["detail"]["statusMessage"],
        "\"Injected by the plans scenario.\""
    );
    // AWS's FAILED example event names no plan; the job does.
    assert!(failed["detail"].get("createdBy").is_none(), "{failed}");
    assert!(job.created_by().unwrap().backup_plan_id().is_some());
    assert_eq!(failed["resources"], serde_json::json!([]));
    assert!(
        copies_of(&stack, id).await.is_empty(),
        "a failed backup is not copied"
    );

    // The template's alert rule sends one alert naming the job and the resource (to the
    // queue that stands in for the alerts topic).
    let mut alerts = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    while alerts.is_empty() && Instant::now() < deadline {
        alerts.extend(stack.drain_alerts().await);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    alerts.extend(stack.drain_alerts().await);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!(alert["job"], id, "{alert}");
    assert_eq!(
        alert["resource"],
        stack.file_system_arn().as_str(),
        "{alert}"
    );
    assert_eq!(alert["state"], "FAILED", "{alert}");
    assert!(alert["alert"].is_string(), "{alert}");
}

#[tokio::test]
async fn a_plan_run_backs_up_the_file_system_and_each_tenant_database_and_copies_them_to_dr() {
    let stack = Stack::new().await;
    let rds = stack.seed_tenant("e2e-plan-rds");
    let aurora = stack.seed_aurora_tenant("e2e-plan-aurora");
    let untagged = stack.seed_database("e2e-plan-untagged");
    let tagged = stack.databases_tagged("bbws:tenant-id").await;
    assert!(tagged.contains(&rds.database_arn) && tagged.contains(&aurora.database_arn));
    assert!(!tagged.contains(&untagged));

    // Snapshots, as a deployment without continuous backup takes them (the continuous
    // points have their own scenario in `catalog`).
    let jobs = stack.plan_run_snapshots("all").await;
    let on = |plan: &str| -> Vec<String> {
        let mut arns: Vec<String> = jobs
            .iter()
            .filter(|j| j["plan"] == plan)
            .map(|j| j["resourceArn"].as_str().unwrap().to_owned())
            .collect();
        arns.sort();
        arns
    };
    assert_eq!(
        on("efs"),
        [stack.file_system_arn()],
        "one job on the file system"
    );
    assert_eq!(
        on("database"),
        tagged,
        "one job per tagged database, no other"
    );

    // Each completes with the plan's tags and lifecycle, started by the plan.
    let mut done: BTreeMap<String, DescribeBackupJobOutput> = BTreeMap::new();
    for job in &jobs {
        let id = job["backupJobId"].as_str().unwrap();
        let ended = ended(&stack, id).await;
        assert_eq!(ended.state(), Some(&BackupJobState::Completed), "{job}");
        let database = job["plan"] == "database";
        let by = ended.created_by().expect("started by the plan");
        assert_eq!(
            by.backup_rule_name(),
            Some(if database {
                "hourly-rds-backup"
            } else {
                "hourly-efs-backup"
            })
        );
        let rp_arn = ended.recovery_point_arn().unwrap();
        let rp = stack
            .backup
            .describe_recovery_point()
            .backup_vault_name("bbws-dev-backup-vault")
            .recovery_point_arn(rp_arn)
            .send()
            .await
            .unwrap();
        assert_eq!(
            rp.created_by().unwrap().backup_plan_id(),
            by.backup_plan_id()
        );
        let lifecycle = rp.lifecycle().unwrap();
        let tags = if database {
            assert_eq!(
                (
                    lifecycle.move_to_cold_storage_after_days(),
                    lifecycle.delete_after_days()
                ),
                (None, Some(7))
            );
            stack.rds_tags(rp_arn).await
        } else {
            assert_eq!(
                (
                    lifecycle.move_to_cold_storage_after_days(),
                    lifecycle.delete_after_days()
                ),
                (Some(1), Some(91))
            );
            let listed = stack
                .backup
                .list_tags()
                .resource_arn(rp_arn)
                .send()
                .await
                .unwrap();
            listed
                .tags()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect()
        };
        assert_eq!(tags["bbws:backup-type"], "automated", "{rp_arn}");
        assert_eq!(
            tags["bbws:component"],
            if database { "database" } else { "efs" }
        );
        done.insert(id.to_owned(), ended);
    }
    let rds_job = done
        .values()
        .find(|j| j.resource_arn() == Some(rds.database_arn.as_str()))
        .unwrap();
    assert!(rds_job
        .recovery_point_arn()
        .unwrap()
        .contains(":snapshot:awsbackup:job-"));

    // Each is copied to the DR vault by the rule's copy action.
    let mut copied: BTreeMap<String, CopyJob> = BTreeMap::new();
    for (id, job) in &done {
        let copy = eventually_copied(&stack, id).await;
        assert_eq!(copy.state(), Some(&CopyJobState::Completed));
        assert_eq!(copy.source_recovery_point_arn(), job.recovery_point_arn());
        assert_eq!(copy.destination_backup_vault_arn(), Some(DR_VAULT_ARN));
        assert_eq!(
            copy.destination_recovery_point_lifecycle()
                .and_then(|l| l.delete_after_days()),
            Some(30)
        );
        assert_eq!(
            copy.created_by().and_then(|b| b.backup_plan_id()),
            job.created_by().and_then(|b| b.backup_plan_id())
        );
        let dr = stack
            .dr_backup
            .describe_recovery_point()
            .backup_vault_name("bbws-dr-vault")
            .recovery_point_arn(copy.destination_recovery_point_arn().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(dr.resource_arn(), job.resource_arn());
        copied.insert(id.clone(), copy);
    }

    // And AWS Backup's events arrive for every job and every copy.
    let events = backup_events_until(&stack, |events| {
        copied.iter().all(|(id, copy)| {
            state_of(events, "Backup Job State Change", "backupJobId", id).contains(&"COMPLETED")
                && state_of(
                    events,
                    "Copy Job State Change",
                    "copyJobId",
                    copy.copy_job_id().unwrap(),
                )
                .contains(&"COMPLETED")
        })
    })
    .await;
    for (id, job) in &done {
        let states = state_of(&events, "Backup Job State Change", "backupJobId", id);
        assert!(states.contains(&"RUNNING"), "{id}: {states:?}");
        assert!(
            events
                .iter()
                .any(|e| e["detail-type"] == "Backup Job State Change"
                    && e["detail"]["state"] == "CREATED"
                    && e["detail"]["backupJobId"] == id.as_str()),
            "{id}: CREATED"
        );
        let completed = find(
            &events,
            "Backup Job State Change",
            "backupJobId",
            id,
            "COMPLETED",
        );
        // (moto's delivery to SQS leaves out the envelope's `account`.)
        assert_eq!(completed["source"], "aws.backup");
        assert_eq!(completed["region"], "us-east-1");
        let detail = &completed["detail"];
        assert_eq!(detail["resourceArn"], job.resource_arn().unwrap());
        assert_eq!(detail["resourceType"], job.resource_type().unwrap());
        assert_eq!(detail["backupVaultName"], "bbws-dev-backup-vault");
        assert_eq!(detail["iamRoleArn"], job.iam_role_arn().unwrap());
        assert_eq!(detail["percentDone"], 100);
        assert_eq!(
            completed["resources"],
            serde_json::json!([job.recovery_point_arn().unwrap()]),
            "the recovery point, in resources"
        );
        // As in AWS's examples, COMPLETED names no plan and RUNNING does; the recovery
        // point names it too (DescribeRecoveryPoint's CreatedBy), where the catalog reads it.
        assert!(detail.get("createdBy").is_none(), "{detail}");
        let by = job.created_by().unwrap();
        let running = find(
            &events,
            "Backup Job State Change",
            "backupJobId",
            id,
            "RUNNING",
        );
        let plan = &running["detail"]["createdBy"];
        assert_eq!(plan["backupPlanId"], by.backup_plan_id().unwrap());
        assert_eq!(plan["backupPlanArn"], by.backup_plan_arn().unwrap());
        assert_eq!(plan["backupPlanRuleId"], by.backup_rule_id().unwrap());
        let point = stack
            .backup
            .describe_recovery_point()
            .backup_vault_name("bbws-dev-backup-vault")
            .recovery_point_arn(job.recovery_point_arn().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(
            point.created_by().and_then(|c| c.backup_plan_id()),
            by.backup_plan_id()
        );

        let copy = &copied[id];
        let copy_id = copy.copy_job_id().unwrap();
        let copy_event = find(
            &events,
            "Copy Job State Change",
            "copyJobId",
            copy_id,
            "COMPLETED",
        );
        assert_eq!(
            copy_event["resources"],
            serde_json::json!([job.recovery_point_arn().unwrap()]),
            "the recovery point copied, in resources"
        );
        let detail = &copy_event["detail"];
        assert_eq!(
            detail["destinationRecoveryPointArn"],
            copy.destination_recovery_point_arn().unwrap()
        );
        assert_eq!(detail["destinationBackupVaultArn"], DR_VAULT_ARN);
        assert_eq!(
            detail["sourceBackupVaultArn"],
            job.backup_vault_arn().unwrap()
        );
        assert_eq!(detail["resourceArn"], job.resource_arn().unwrap());
        assert_eq!(
            detail["createdBy"]["backupPlanId"],
            by.backup_plan_id().unwrap()
        );
    }
}

#[tokio::test]
async fn an_on_demand_backup_reports_its_states_with_no_plan() {
    let stack = Stack::new().await;
    let tenant = stack.seed_tenant("e2e-plan-on-demand");
    let id = stack
        .start_job_directly(&tenant.database_arn, &unique("on-demand-events"))
        .await;
    let job = ended(&stack, &id).await;
    assert_eq!(job.state(), Some(&BackupJobState::Completed));
    let events = backup_events_until(&stack, |events| {
        state_of(events, "Backup Job State Change", "backupJobId", &id).contains(&"COMPLETED")
    })
    .await;
    let mine: Vec<&Value> = events
        .iter()
        .filter(|e| e["detail"]["backupJobId"] == id.as_str())
        .collect();
    let states: Vec<&str> = mine
        .iter()
        .filter_map(|e| e["detail"]["state"].as_str())
        .collect();
    assert_eq!(states, ["CREATED", "RUNNING", "COMPLETED"]);
    assert!(
        mine.iter().all(|e| e["detail"].get("createdBy").is_none()),
        "no plan started it: {mine:?}"
    );
    let completed = mine[2];
    assert_eq!(
        completed["resources"],
        serde_json::json!([job.recovery_point_arn().unwrap()])
    );
    assert_eq!(
        completed["detail"]["resourceArn"],
        tenant.database_arn.as_str()
    );
}

/// Backup job `id` once it has ended.
async fn ended(stack: &Stack, id: &str) -> DescribeBackupJobOutput {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let job = stack
            .backup
            .describe_backup_job()
            .backup_job_id(id)
            .send()
            .await
            .unwrap();
        let active = matches!(
            job.state(),
            Some(
                BackupJobState::Created
                    | BackupJobState::Pending
                    | BackupJobState::Running
                    | BackupJobState::Aborting
            )
        );
        if !active {
            return job;
        }
        assert!(Instant::now() < deadline, "backup job {id} still running");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The copy jobs a plan started for backup job `id`.
async fn copies_of(stack: &Stack, id: &str) -> Vec<CopyJob> {
    stack
        .all_copy_jobs()
        .await
        .into_iter()
        .filter(|c| c.created_by_backup_job_id() == Some(id))
        .collect()
}

/// The plan's copy of backup job `id`, once it has ended.
async fn eventually_copied(stack: &Stack, id: &str) -> CopyJob {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let copies = copies_of(stack, id).await;
        assert!(copies.len() <= 1, "one copy action, one copy: {copies:?}");
        if let Some(copy) = copies.into_iter().find(|c| {
            !matches!(
                c.state(),
                Some(CopyJobState::Created | CopyJobState::Running)
            )
        }) {
            return copy;
        }
        assert!(Instant::now() < deadline, "backup job {id} not copied");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The AWS Backup events drained until `enough` holds of all of them.
async fn backup_events_until(stack: &Stack, enough: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + DEADLINE;
    let mut events = Vec::new();
    loop {
        events.extend(stack.drain_backup_events().await);
        if enough(&events) {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "the AWS Backup events did not all arrive: {events:#?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The states of the events of `detail_type` about the job whose `id_key` is `id`.
fn state_of<'a>(events: &'a [Value], detail_type: &str, id_key: &str, id: &str) -> Vec<&'a str> {
    events
        .iter()
        .filter(|e| e["detail-type"] == detail_type && e["detail"][id_key] == id)
        .filter_map(|e| e["detail"]["state"].as_str())
        .collect()
}

/// The one event of `detail_type` about job `id` in `state`.
fn find<'a>(
    events: &'a [Value],
    detail_type: &str,
    id_key: &str,
    id: &str,
    state: &str,
) -> &'a Value {
    let found: Vec<&Value> = events
        .iter()
        .filter(|e| {
            e["detail-type"] == detail_type
                && e["detail"][id_key] == id
                && e["detail"]["state"] == state
        })
        .collect();
    assert_eq!(found.len(), 1, "one {state} event for {id}: {found:?}");
    found[0]
}
