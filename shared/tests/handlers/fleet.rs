//! advance-fleet against the real Step Functions client, answered by aws-smithy-mocks: each
//! tenant's backup started once, as an execution named from the run and the tenant.

use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::operation::start_execution::{
    StartExecutionError, StartExecutionInput, StartExecutionOutput,
};
use aws_sdk_sfn::types::error::ExecutionAlreadyExists;
use aws_sdk_sfn::types::ExecutionStatus;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::DateTime;
use bbws::backup::fleet::{FleetPage, Tally};
use bbws::backup::tenant_runs::{handler, PageProgress, RunStatus, TenantRuns};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

use crate::common::Sent;

const TENANT_MACHINE: &str =
    "arn:aws:states:af-south-1:123456789012:stateMachine:bbws-dev-tenant-backup";
const FLEET_MACHINE: &str =
    "arn:aws:states:af-south-1:123456789012:stateMachine:bbws-dev-fleet-backup";

fn runs(rules: &[Rule]) -> TenantRuns {
    TenantRuns {
        sfn: mock_client!(aws_sdk_sfn, RuleMode::MatchAny, rules.iter(), |c| c
            .retry_config(aws_sdk_sfn::config::retry::RetryConfig::disabled())),
        tenant_machine_arn: TENANT_MACHINE.into(),
    }
}

fn page(tenants: &[&str], max_concurrency: u64, more: bool) -> FleetPage {
    serde_json::from_value(json!({
        "options": {"pollSeconds": 15, "maxPollSeconds": 60, "copyToDr": true,
                    "maxConcurrency": max_concurrency, "pageSize": 100, "toleratedFailures": 0},
        "run": {"key": "0a1b2c3d4e", "firstExecution": "arn:first", "page": 1,
                "sharedFileSystemJob": {"fileSystemArn": "arn:fs", "jobId": "job-fs-1", "joined": false},
                "tally": {"tenants": 100, "succeeded": 99, "failedCount": 1, "failed": []}},
        "count": tenants.len(), "tenants": tenants, "more": more,
    }))
    .unwrap()
}

fn recording_starts(sent: &Sent<StartExecutionInput>) -> Rule {
    let sent = sent.clone();
    mock!(aws_sdk_sfn::Client::start_execution).then_compute_output(move |req| {
        sent.push(req);
        StartExecutionOutput::builder()
            .execution_arn(format!("arn:started:{}", req.name().unwrap_or_default()))
            .start_date(DateTime::from_secs(0))
            .build()
            .unwrap()
    })
}

fn described(name: &'static str, status: ExecutionStatus, error: Option<&'static str>) -> Rule {
    mock!(aws_sdk_sfn::Client::describe_execution)
        .match_requests(move |req| {
            req.execution_arn()
                .is_some_and(|a| a.ends_with(&format!(":{name}")))
        })
        .then_output(move || {
            DescribeExecutionOutput::builder()
                .execution_arn(format!("arn:{name}"))
                .state_machine_arn(TENANT_MACHINE)
                .status(status.clone())
                .start_date(DateTime::from_secs(0))
                .set_error(error.map(str::to_owned))
                .set_cause(error.map(|e| format!("500: {e} because of the injected fault")))
                .build()
                .unwrap()
        })
}

async fn advance(runs: &TenantRuns, fleet: &FleetPage, progress: Value) -> PageProgress {
    let out = handler(
        LambdaEvent::new(
            json!({"action": "advance", "fleet": fleet, "progress": progress}),
            Context::default(),
        ),
        runs,
    )
    .await
    .unwrap();
    serde_json::from_value(out).unwrap()
}

#[tokio::test]
async fn starts_at_most_max_concurrency_tenant_backups_named_from_the_run_and_tenant() {
    let starts = Sent::default();
    let runs = runs(&[recording_starts(&starts)]);
    let fleet = page(&["tenant-a", "tenant-b", "tenant-c"], 2, false);
    let progress = advance(&runs, &fleet, json!({})).await;

    let sent = starts.all();
    assert_eq!(sent.len(), 2, "two at a time");
    assert_eq!(sent[0].state_machine_arn(), Some(TENANT_MACHINE));
    assert_eq!(sent[0].name(), Some("fleet-0a1b2c3d4e-tenant-a"));
    assert_eq!(sent[1].name(), Some("fleet-0a1b2c3d4e-tenant-b"));
    let input: Value = serde_json::from_str(sent[0].input().unwrap()).unwrap();
    assert_eq!(
        input,
        json!({"tenantId": "tenant-a", "pollSeconds": 15, "maxPollSeconds": 60,
               "copyToDr": true, "sharedFileSystemJobId": "job-fs-1"})
    );
    let statuses: Vec<RunStatus> = progress.tenants.iter().map(|t| t.status).collect();
    assert_eq!(
        statuses,
        [RunStatus::Running, RunStatus::Running, RunStatus::Pending]
    );
    assert!(!progress.done);
    assert_eq!(progress.wait_seconds, 60);
}

#[tokio::test]
async fn an_execution_already_started_by_a_retried_step_counts_as_started() {
    let refused = mock!(aws_sdk_sfn::Client::start_execution).then_error(|| {
        StartExecutionError::ExecutionAlreadyExists(
            ExecutionAlreadyExists::builder()
                .message("Execution Already Exists")
                .build(),
        )
    });
    let runs = runs(&[refused]);
    let fleet = page(&["tenant-a"], 5, false);
    let progress = advance(&runs, &fleet, json!({})).await;
    assert_eq!(progress.tenants[0].status, RunStatus::Running);
}

#[tokio::test]
async fn ended_executions_are_tallied_with_their_named_errors_and_free_a_slot() {
    let starts = Sent::default();
    let rules = [
        recording_starts(&starts),
        described(
            "fleet-0a1b2c3d4e-tenant-a",
            ExecutionStatus::Succeeded,
            None,
        ),
        described(
            "fleet-0a1b2c3d4e-tenant-b",
            ExecutionStatus::Failed,
            Some("BackupFailed"),
        ),
        described("fleet-0a1b2c3d4e-tenant-c", ExecutionStatus::Running, None),
    ];
    let runs = runs(&rules);
    let fleet = page(&["tenant-a", "tenant-b", "tenant-c"], 1, false);
    let progress = advance(&runs, &fleet, json!({})).await;
    assert_eq!(starts.all().len(), 1);
    // One at a time: each ended execution frees the slot for the next.
    let progress = advance(&runs, &fleet, serde_json::to_value(&progress).unwrap()).await;
    let progress = advance(&runs, &fleet, serde_json::to_value(&progress).unwrap()).await;
    assert!(!progress.done, "c still runs");
    let names: Vec<String> = starts
        .all()
        .iter()
        .map(|s| s.name().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "fleet-0a1b2c3d4e-tenant-a",
            "fleet-0a1b2c3d4e-tenant-b",
            "fleet-0a1b2c3d4e-tenant-c"
        ]
    );
    let b = &progress.tenants[1];
    assert_eq!(b.status, RunStatus::Failed);
    assert_eq!(b.error.as_deref(), Some("BackupFailed"));
    assert!(b.cause.as_deref().unwrap().contains("injected fault"));
}

#[tokio::test]
async fn a_done_page_adds_its_tenants_to_the_run_tally() {
    let rules = [
        described(
            "fleet-0a1b2c3d4e-tenant-a",
            ExecutionStatus::Succeeded,
            None,
        ),
        described("fleet-0a1b2c3d4e-tenant-b", ExecutionStatus::TimedOut, None),
    ];
    let runs = runs(&rules);
    let fleet = page(&["tenant-a", "tenant-b"], 5, false);
    let running = json!({"started": true, "tenants": [
        {"tenantId": "tenant-a", "execution": "fleet-0a1b2c3d4e-tenant-a", "status": "RUNNING"},
        {"tenantId": "tenant-b", "execution": "fleet-0a1b2c3d4e-tenant-b", "status": "RUNNING"}]});
    let progress = advance(&runs, &fleet, running).await;
    assert!(progress.done);
    let tally: Tally = progress.tally.unwrap();
    assert_eq!(
        (tally.tenants, tally.succeeded, tally.failed_count),
        (102, 100, 2)
    );
    assert_eq!(
        tally.failed.len(),
        1,
        "the earlier page's failure was counted, not listed"
    );
    assert_eq!(tally.failed[0].tenant_id, "tenant-b");
    assert_eq!(tally.failed[0].error, "States.Timeout");
}

#[tokio::test]
async fn the_next_page_is_one_execution_named_from_the_run_and_page() {
    let starts = Sent::default();
    let refused = mock!(aws_sdk_sfn::Client::start_execution)
        .match_requests(|r| r.name() == Some("fleet-0a1b2c3d4e-page-2"))
        .then_error(|| {
            StartExecutionError::ExecutionAlreadyExists(ExecutionAlreadyExists::builder().build())
        });
    for rules in [vec![recording_starts(&starts)], vec![refused]] {
        let runs = runs(&rules);
        let fleet = page(&["tenant-a", "tenant-b"], 5, true);
        let out = handler(
            LambdaEvent::new(
                json!({"action": "continue", "stateMachineArn": FLEET_MACHINE,
                       "fleet": fleet, "tally": Tally::default()}),
                Context::default(),
            ),
            &runs,
        )
        .await
        .unwrap();
        assert_eq!(
            out["executionArn"],
            "arn:aws:states:af-south-1:123456789012:execution:bbws-dev-fleet-backup:fleet-0a1b2c3d4e-page-2"
        );
    }
    let sent = starts.all();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].state_machine_arn(), Some(FLEET_MACHINE));
    let input: Value = serde_json::from_str(sent[0].input().unwrap()).unwrap();
    assert_eq!(input["run"]["page"], 2);
    assert_eq!(input["run"]["after"], "tenant-b");
    assert_eq!(input["run"]["sharedFileSystemJob"]["jobId"], "job-fs-1");
    assert_eq!(input["maxConcurrency"], 5);
}
