//! The fleet backup: pages of tenants, each page one execution of the fleet state machine,
//! each tenant's backup its own execution of the tenant backup state machine, all sharing
//! one file-system job.

use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use serde_json::{json, Value};

use crate::stack::{unique, Stack};

/// A fleet run: every page's execution, in order, the last one's end being the run's.
struct Run {
    pages: Vec<DescribeExecutionOutput>,
}

impl Run {
    fn last(&self) -> &DescribeExecutionOutput {
        self.pages.last().expect("a run has a page")
    }

    fn output(&self) -> Value {
        serde_json::from_str(self.last().output().unwrap_or("null")).unwrap()
    }
}

/// Starts a fleet run with `input` and follows it page by page to its end.
async fn run_fleet(stack: &Stack, name: &str, input: &Value) -> Run {
    let arn = stack.start_execution("fleet-backup", name, input).await;
    follow_fleet(stack, arn).await
}

/// Follows the fleet run whose first page is the execution `arn` to its end.
async fn follow_fleet(stack: &Stack, mut arn: String) -> Run {
    let mut pages = Vec::new();
    loop {
        let done = stack.wait_for_execution(&arn).await;
        let next = serde_json::from_str::<Value>(done.output().unwrap_or("null"))
            .ok()
            .and_then(|o| o["continuedAs"].as_str().map(str::to_owned));
        pages.push(done);
        match next {
            Some(next) => arn = next,
            None => return Run { pages },
        }
    }
}

/// The executions of the tenant backup state machine whose name starts with `prefix`.
async fn tenant_executions(stack: &Stack, prefix: &str) -> Vec<String> {
    let machine = stack.state_machine_arn("backup");
    let pages = stack
        .sfn
        .list_executions()
        .state_machine_arn(machine)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let mut names: Vec<String> = pages
        .iter()
        .flat_map(|p| p.executions())
        .map(|e| e.name().to_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
}

async fn history(stack: &Stack, arn: &str) -> Vec<HistoryEvent> {
    stack
        .sfn
        .get_execution_history()
        .execution_arn(arn)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
}

/// Waits until no copy job is still under way.
async fn wait_for_copies(stack: &Stack) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let jobs = stack
            .backup
            .list_copy_jobs()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap();
        let busy = jobs
            .iter()
            .any(|j| matches!(j.state().map(|s| s.as_str()), Some("CREATED" | "RUNNING")));
        if !busy {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "copies still running");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

fn database_arn(tenant: &str) -> String {
    format!("arn:aws:rds:us-east-1:123456789012:db:{tenant}")
}

#[tokio::test]
async fn a_fleet_larger_than_a_page_runs_page_by_page_on_one_file_system_job() {
    let stack = Stack::new().await;
    let tenants = stack.seed_tenants("e2e-fleet-paged", 5);
    let fs = stack.file_system_arn();
    let fs_jobs_before = stack.jobs_on(&fs).await.len();
    let run = run_fleet(
        &stack,
        &unique("fleet-paged"),
        &json!({"pollSeconds": 1, "maxPollSeconds": 1, "copyToDr": false,
                "tenantPrefix": "e2e-fleet-paged-", "pageSize": 2, "maxConcurrency": 2}),
    )
    .await;

    // Three pages of at most two tenants, each its own execution, the last the run's end.
    assert_eq!(run.pages.len(), 3, "5 tenants in pages of 2");
    for page in &run.pages {
        assert_eq!(
            page.status(),
            &ExecutionStatus::Succeeded,
            "{:?}",
            page.cause()
        );
    }
    for page in &run.pages[..2] {
        let out: Value = serde_json::from_str(page.output().unwrap()).unwrap();
        assert_eq!(out["tenants"].as_array().unwrap().len(), 2, "{out}");
    }
    let out = run.output();
    assert_eq!(out["pages"], 3, "{out}");
    assert_eq!(out["tenants"], 5, "{out}");
    assert_eq!(out["succeeded"], 5, "{out}");
    assert_eq!(out["failedCount"], 0, "{out}");

    // Each tenant backed up once, by its own execution of the tenant backup state machine.
    let key = out["runKey"].as_str().unwrap();
    let names = tenant_executions(&stack, &format!("fleet-{key}-")).await;
    let expected: Vec<String> = tenants.iter().map(|t| format!("fleet-{key}-{t}")).collect();
    assert_eq!(names, expected);
    // One file-system job for the whole run, joined by every tenant of every page.
    assert_eq!(stack.jobs_on(&fs).await.len(), fs_jobs_before + 1);
    let shared = out["sharedFileSystemJob"]["jobId"].as_str().unwrap();
    for name in &names {
        let arn = stack.execution_arn("backup", name);
        let done = stack.wait_for_execution(&arn).await;
        let report: Value = serde_json::from_str(done.output().unwrap()).unwrap();
        let efs: Vec<&Value> = report["recoveryPoints"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["resource"] == "efs")
            .collect();
        assert_eq!(efs.len(), 1, "{report}");
        assert_eq!(efs[0]["jobId"], shared, "{report}");
    }
    // One job per tenant database.
    for t in &tenants {
        assert_eq!(stack.jobs_on(&database_arn(t)).await.len(), 1, "{t}");
    }
    let completed = stack
        .drain_events()
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "TenantBackupCompleted")
        .count();
    assert_eq!(completed, 5, "each tenant's outcome is announced");
}

#[tokio::test]
async fn two_failed_tenants_of_twenty_are_named_and_the_other_eighteen_backed_up() {
    let stack = Stack::new().await;
    let tenants = stack.seed_tenants("e2e-fleet-twenty", 20);
    let failing = [&tenants[3], &tenants[14]];
    for t in failing {
        stack
            .fail_next_job_on(&database_arn(t), "Injected: the snapshot failed.")
            .await;
    }
    let run = run_fleet(
        &stack,
        &unique("fleet-twenty"),
        &json!({"pollSeconds": 1, "maxPollSeconds": 1, "copyToDr": false,
                "tenantPrefix": "e2e-fleet-twenty-", "pageSize": 10, "maxConcurrency": 10,
                "toleratedFailures": 1}),
    )
    .await;
    assert_eq!(run.pages.len(), 2);
    assert_eq!(run.pages[0].status(), &ExecutionStatus::Succeeded);
    let last = run.last();
    assert_eq!(
        last.status(),
        &ExecutionStatus::Failed,
        "{:?}",
        last.output()
    );
    assert_eq!(last.error(), Some("TenantBackupsFailed"));
    let cause = last.cause().unwrap_or_default();
    assert!(cause.starts_with("500: 2 of the 20 tenants"), "{cause}");
    let listed: Value =
        serde_json::from_str(&cause[cause.find('[').expect("the failed tenants")..]).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{cause}");
    for (failure, tenant) in listed.iter().zip(failing) {
        assert_eq!(failure["tenantId"], json!(tenant));
        assert_eq!(failure["error"], "BackupFailed");
        assert!(
            failure["cause"]
                .as_str()
                .unwrap()
                .contains("Injected: the snapshot failed."),
            "{failure}"
        );
    }
    // Every other tenant was backed up and announced.
    let completed: Vec<Value> = stack
        .drain_events()
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "TenantBackupCompleted")
        .collect();
    assert_eq!(completed.len(), 18);
    for t in tenants.iter().filter(|t| !failing.contains(t)) {
        assert!(
            completed
                .iter()
                .any(|e| e["detail"]["tenantId"] == json!(t)),
            "{t} was backed up"
        );
        let jobs = stack.jobs_on(&database_arn(t)).await;
        assert_eq!(jobs.len(), 1, "{t}");
        assert_eq!(
            jobs[0].state().map(|s| s.as_str()),
            Some("COMPLETED"),
            "{t}"
        );
    }
}

#[tokio::test]
async fn failures_within_the_tolerance_are_listed_in_a_run_that_succeeds() {
    let stack = Stack::new().await;
    let tenants = stack.seed_tenants("e2e-fleet-tolerant", 3);
    stack
        .fail_next_job_on(&database_arn(&tenants[1]), "Injected.")
        .await;
    let run = run_fleet(
        &stack,
        &unique("fleet-tolerant"),
        &json!({"pollSeconds": 1, "maxPollSeconds": 1, "copyToDr": false,
                "tenantPrefix": "e2e-fleet-tolerant-", "toleratedFailures": 1}),
    )
    .await;
    assert_eq!(run.last().status(), &ExecutionStatus::Succeeded);
    let out = run.output();
    assert_eq!(
        (out["succeeded"].as_u64(), out["failedCount"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(out["failed"][0]["tenantId"], json!(tenants[1]));
    assert_eq!(out["failed"][0]["error"], "BackupFailed");
}

#[tokio::test]
async fn a_retried_fleet_step_starts_no_tenant_backup_twice() {
    let stack = Stack::new().await;
    let tenants = stack.seed_tenants("e2e-fleet-retried", 3);
    // The answers to the next four StartExecution calls are lost after moto carried them
    // out: the first is this test's own start of the run (sent once, without retries), the
    // next three the three attempts the fleet step's SDK makes to start the first tenant's
    // backup, so the step fails TransientAwsError and the state machine retries it.
    stack.lose_response("StartExecution", 4).await;
    let name = unique("fleet-retried");
    let once = aws_sdk_sfn::Client::from_conf(
        stack
            .sfn
            .config()
            .to_builder()
            .retry_config(aws_sdk_sfn::config::retry::RetryConfig::disabled())
            .build(),
    );
    let input = json!({"pollSeconds": 1, "maxPollSeconds": 1, "copyToDr": false,
                       "tenantPrefix": "e2e-fleet-retried-"});
    let lost = once
        .start_execution()
        .state_machine_arn(stack.state_machine_arn("fleet-backup"))
        .name(&name)
        .input(input.to_string())
        .send()
        .await;
    assert!(lost.is_err(), "the answer was lost: {lost:?}");
    let run = follow_fleet(&stack, stack.execution_arn("fleet-backup", &name)).await;
    assert_eq!(stack.faults_left().await, 0, "every lost answer was taken");
    assert_eq!(
        run.last().status(),
        &ExecutionStatus::Succeeded,
        "{:?}",
        run.last().cause()
    );
    let events = history(&stack, run.pages[0].execution_arn()).await;
    let retried = events.iter().any(|e| {
        let failed = e
            .lambda_function_failed_event_details()
            .and_then(|d| d.error())
            .or_else(|| e.task_failed_event_details().and_then(|d| d.error()));
        failed == Some("TransientAwsError")
    });
    assert!(retried, "the fleet step failed once and was retried");
    let out = run.output();
    assert_eq!(out["succeeded"], 3, "{out}");
    let key = out["runKey"].as_str().unwrap();
    let names = tenant_executions(&stack, &format!("fleet-{key}-")).await;
    assert_eq!(names.len(), 3, "one execution per tenant: {names:?}");
    for t in &tenants {
        assert_eq!(stack.jobs_on(&database_arn(t)).await.len(), 1, "{t}");
    }
}

#[tokio::test]
async fn sixty_tenants_with_copies_on_share_one_point_and_one_dr_copy_of_it() {
    let stack = Stack::new().await;
    let tenants = stack.seed_tenants("e2e-fleet-sixty", 60);
    let run = run_fleet(
        &stack,
        &unique("fleet-sixty"),
        &json!({"pollSeconds": 1, "maxPollSeconds": 1, "copyToDr": true,
                "tenantPrefix": "e2e-fleet-sixty-", "pageSize": 60, "maxConcurrency": 20}),
    )
    .await;
    let out = run.output();
    assert_eq!(
        run.last().status(),
        &ExecutionStatus::Succeeded,
        "{:?}",
        run.last().cause()
    );
    assert_eq!(out["succeeded"], 60, "{out}");
    assert_eq!(out["failedCount"], 0, "{out}");
    stack.wait_for_jobs().await;
    wait_for_copies(&stack).await;

    let shared_job = out["sharedFileSystemJob"]["jobId"].as_str().unwrap();
    let shared = stack
        .backup
        .describe_backup_job()
        .backup_job_id(shared_job)
        .send()
        .await
        .unwrap()
        .recovery_point_arn()
        .unwrap()
        .to_owned();
    // One copy of the shared point for all sixty tenants, completed.
    let copies = stack
        .backup
        .list_copy_jobs()
        .by_source_recovery_point_arn(&shared)
        .send()
        .await
        .unwrap();
    let copies = copies.copy_jobs();
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert_eq!(copies[0].state().map(|s| s.as_str()), Some("COMPLETED"));
    // No tag per tenant on the shared point: each tenant's own database point names it.
    let tags = stack
        .backup
        .list_tags()
        .resource_arn(&shared)
        .send()
        .await
        .unwrap();
    let tags = tags.tags().cloned().unwrap_or_default();
    assert!(tags.len() <= 50, "{tags:?}");
    assert!(
        !tags.keys().any(|k| k.starts_with("bbws:backup:")),
        "{tags:?}"
    );
    for t in &tenants {
        let jobs = stack.jobs_on(&database_arn(t)).await;
        assert_eq!(jobs.len(), 1, "{t}");
        let point = jobs[0].recovery_point_arn().unwrap();
        let tagged = stack
            .rds
            .list_tags_for_resource()
            .resource_name(point)
            .send()
            .await
            .unwrap();
        let files = tagged
            .tag_list()
            .iter()
            .find(|tag| tag.key() == Some("bbws:files-point"))
            .and_then(|tag| tag.value());
        assert_eq!(files, Some(shared.as_str()), "{t}");
        // The tenant's database point is still copied for the tenant.
        let db_copies = stack
            .backup
            .list_copy_jobs()
            .by_source_recovery_point_arn(point)
            .send()
            .await
            .unwrap();
        assert_eq!(db_copies.copy_jobs().len(), 1, "{t}");
    }
}
