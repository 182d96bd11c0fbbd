//! The commands against the real SDK clients, answered by aws-smithy-mocks rules: what is
//! sent to AWS, and what the operator sees and gets as exit code.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_backup::operation::list_copy_jobs::ListCopyJobsOutput;
use aws_sdk_backup::operation::list_recovery_points_by_backup_vault::ListRecoveryPointsByBackupVaultOutput;
use aws_sdk_backup::operation::list_tags::ListTagsOutput;
use aws_sdk_backup::types::{
    CopyJob, CopyJobState, RecoveryPointByBackupVault, RecoveryPointStatus,
};
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::operation::get_execution_history::{
    GetExecutionHistoryError, GetExecutionHistoryOutput,
};
use aws_sdk_sfn::operation::list_state_machines::ListStateMachinesOutput;
use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
use aws_sdk_sfn::types::error::KmsThrottlingException;
use aws_sdk_sfn::types::{
    ExecutionStatus, HistoryEvent, HistoryEventType, StateEnteredEventDetails,
    StateMachineListItem, StateMachineType,
};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::DateTime;
use clap::Parser;
use serde_json::{json, Value};
use time::macros::datetime;

use crate::output::Term;
use crate::{backup_command, backups, follow, BackupArgs, Cli, Command};

const REGION_ACCOUNT: &str = "af-south-1:123456789012";

fn machine_arn(name: &str) -> String {
    format!("arn:aws:states:{REGION_ACCOUNT}:stateMachine:{name}")
}

fn execution_arn(name: &str) -> String {
    format!("arn:aws:states:{REGION_ACCOUNT}:execution:bbws-dev-tenant-backup:{name}")
}

fn sfn(rules: &[&Rule]) -> aws_sdk_sfn::Client {
    mock_client!(aws_sdk_sfn, RuleMode::MatchAny, rules, |c| c
        .retry_config(aws_sdk_sfn::config::retry::RetryConfig::disabled()))
}

fn backup_client(rules: &[&Rule]) -> aws_sdk_backup::Client {
    mock_client!(aws_sdk_backup, RuleMode::MatchAny, rules, |c| c
        .retry_config(aws_sdk_backup::config::retry::RetryConfig::disabled()))
}

fn machine(name: &str) -> StateMachineListItem {
    StateMachineListItem::builder()
        .name(name)
        .state_machine_arn(machine_arn(name))
        .r#type(StateMachineType::Standard)
        .creation_date(DateTime::from_secs(1_700_000_000))
        .build()
        .unwrap()
}

/// ListStateMachines in two pages; the backup state machine is on the second.
fn state_machines() -> Rule {
    mock!(aws_sdk_sfn::Client::list_state_machines).then_compute_output(|req| {
        match req.next_token() {
            None => ListStateMachinesOutput::builder()
                .state_machines(machine("bbws-sit-tenant-backup"))
                .state_machines(machine("other"))
                .next_token("page-2")
                .build()
                .unwrap(),
            Some(_) => ListStateMachinesOutput::builder()
                .state_machines(machine("bbws-dev-tenant-backup"))
                .build()
                .unwrap(),
        }
    })
}

fn execution(
    name: &str,
    status: ExecutionStatus,
) -> aws_sdk_sfn::operation::describe_execution::builders::DescribeExecutionOutputBuilder {
    let started = DateTime::from(SystemTime::now());
    let builder = DescribeExecutionOutput::builder()
        .execution_arn(execution_arn(name))
        .state_machine_arn(machine_arn("bbws-dev-tenant-backup"))
        .status(status.clone())
        .start_date(started);
    if status == ExecutionStatus::Running {
        builder
    } else {
        builder.stop_date(DateTime::from_secs(started.secs() + 42))
    }
}

/// DescribeExecution answers RUNNING `running` times, then `end`.
fn describe(running: usize, end: DescribeExecutionOutput) -> Rule {
    let name = end.name().unwrap_or("run").to_owned();
    if running == 0 {
        return mock!(aws_sdk_sfn::Client::describe_execution).then_output(move || end.clone());
    }
    mock!(aws_sdk_sfn::Client::describe_execution)
        .sequence()
        .output(move || execution(&name, ExecutionStatus::Running).build().unwrap())
        .times(running)
        .output(move || end.clone())
        .build()
}

fn entered(id: i64, kind: HistoryEventType, state: &str) -> HistoryEvent {
    HistoryEvent::builder()
        .id(id)
        .timestamp(DateTime::from(SystemTime::now()))
        .r#type(kind)
        .state_entered_event_details(
            StateEnteredEventDetails::builder()
                .name(state)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

/// The history, newest first, as `reverse_order(true)` asks.
fn history(states: &'static [&'static str]) -> Rule {
    let calls = Arc::new(Mutex::new(0usize));
    mock!(aws_sdk_sfn::Client::get_execution_history)
        .match_requests(|req| req.reverse_order() == Some(true) && req.max_results().is_some())
        .then_compute_output(move |_| {
            let mut n = calls.lock().unwrap();
            let state = states[(*n).min(states.len() - 1)];
            *n += 1;
            GetExecutionHistoryOutput::builder()
                .events(
                    HistoryEvent::builder()
                        .id(10)
                        .timestamp(DateTime::from(SystemTime::now()))
                        .r#type(HistoryEventType::TaskScheduled)
                        .build()
                        .unwrap(),
                )
                .events(entered(9, HistoryEventType::TaskStateEntered, state))
                .build()
                .unwrap()
        })
}

const SUCCEEDED_OUTPUT: &str = r#"{"tenantId":"tenant-1","backupId":"tb-0123456789abcdef0123","summary":"start a file-system job","recoveryPoints":[],"drCopies":[]}"#;

fn backup_args(args: &[&str]) -> (Cli, BackupArgs) {
    let cli = Cli::try_parse_from([&["bbws", "backup"], args].concat()).unwrap();
    let args = match &cli.command {
        Command::Backup(args) => args.clone(),
        other => panic!("not a backup: {other:?}"),
    };
    (cli, args)
}

#[tokio::test]
async fn backup_starts_the_named_execution_and_follows_it_to_success() {
    let name = "backup-tenant-1-20260304T050607Z";
    let sent: Arc<Mutex<Vec<(String, String, Value)>>> = Arc::default();
    let start = {
        let sent = sent.clone();
        mock!(aws_sdk_sfn::Client::start_execution).then_compute_output(move |req| {
            sent.lock().unwrap().push((
                req.state_machine_arn().unwrap().to_owned(),
                req.name().unwrap().to_owned(),
                serde_json::from_str(req.input().unwrap()).unwrap(),
            ));
            StartExecutionOutput::builder()
                .execution_arn(execution_arn(req.name().unwrap()))
                .start_date(DateTime::from(SystemTime::now()))
                .build()
                .unwrap()
        })
    };
    let machines = state_machines();
    let describe = describe(
        2,
        execution(name, ExecutionStatus::Succeeded)
            .name(name)
            .output(SUCCEEDED_OUTPUT)
            .build()
            .unwrap(),
    );
    let history = history(&["Plan the backup", "Poll backup jobs"]);
    let client = sfn(&[&machines, &start, &describe, &history]);

    let (cli, args) = backup_args(&[
        "--tenant",
        "tenant-1",
        "--files-only",
        "--poll-interval",
        "0.001",
    ]);
    let tenant = bbws::TenantId::parse("tenant-1").unwrap();
    let (mut term, out, err) = Term::captured(false, false);
    let code = backup_command(
        &client,
        &cli.global,
        &args,
        &tenant,
        datetime!(2026-03-04 05:06:07 UTC),
        &mut term,
    )
    .await
    .unwrap();

    assert_eq!(code, 0, "stderr: {}", err.text());
    assert_eq!(
        sent.lock().unwrap().clone(),
        [(
            machine_arn("bbws-dev-tenant-backup"),
            name.to_owned(),
            json!({"tenantId": "tenant-1", "includeDatabase": false})
        )]
    );
    assert_eq!(machines.num_calls(), 2, "both pages of state machines");
    assert_eq!(describe.num_calls(), 3);
    let text = out.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("Started {name}: {}", execution_arn(name)));
    // A log gets one line per state, not one per poll.
    assert!(lines[1].ends_with("] Plan the backup"), "{text}");
    assert!(lines[2].ends_with("] Poll backup jobs"), "{text}");
    assert!(lines[3].starts_with("✅ SUCCEEDED in 42s"), "{text}");
    let printed: Value = serde_json::from_str(&lines[4..].join("\n")).unwrap();
    assert_eq!(
        printed,
        serde_json::from_str::<Value>(SUCCEEDED_OUTPUT).unwrap()
    );
}

#[tokio::test]
async fn a_failed_execution_exits_with_the_code_of_its_error_and_shows_the_message() {
    let name = "backup-tenant-1-x";
    let cause = r#"{"errorType":"BackupAlreadyRunning","errorMessage":"409: backup job j-1 is running on arn:aws:rds:af-south-1:123456789012:db:tenant-1"}"#;
    let describe = describe(
        1,
        execution(name, ExecutionStatus::Failed)
            .error("BackupAlreadyRunning")
            .cause(cause)
            .build()
            .unwrap(),
    );
    let history = history(&["Plan the backup"]);
    let client = sfn(&[&describe, &history]);

    let (mut term, out, err) = Term::captured(false, true);
    let outcome = follow::follow(&client, &execution_arn(name), Duration::ZERO, &mut term)
        .await
        .unwrap();

    assert_eq!(outcome.exit_code, 49);
    assert_eq!(outcome.error.as_deref(), Some("BackupAlreadyRunning"));
    assert_eq!(err.text(), "");
    let text = out.text();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(
        last,
        json!({
            "status": "FAILED",
            "error": "BackupAlreadyRunning",
            "cause": "409: backup job j-1 is running on arn:aws:rds:af-south-1:123456789012:db:tenant-1",
            "executionArn": execution_arn(name),
            "elapsedSeconds": 42,
        })
    );

    // For people: error and message on stderr, same exit code.
    let describe = describe_failed(name, cause);
    let client = sfn(&[&describe, &history]);
    let (mut term, _out, err) = Term::captured(false, false);
    let outcome = follow::follow(&client, &execution_arn(name), Duration::ZERO, &mut term)
        .await
        .unwrap();
    assert_eq!(outcome.exit_code, 49);
    assert!(err
        .text()
        .contains("error: BackupAlreadyRunning\ncause: 409: backup job j-1"));
}

fn describe_failed(name: &str, cause: &str) -> Rule {
    describe(
        1,
        execution(name, ExecutionStatus::Failed)
            .error("BackupAlreadyRunning")
            .cause(cause)
            .build()
            .unwrap(),
    )
}

#[tokio::test]
async fn following_goes_on_without_the_history_and_ends_on_a_timeout_with_1() {
    let name = "backup-tenant-1-y";
    let describe = describe(
        2,
        execution(name, ExecutionStatus::TimedOut).build().unwrap(),
    );
    let history = mock!(aws_sdk_sfn::Client::get_execution_history).then_error(|| {
        GetExecutionHistoryError::KmsThrottlingException(
            KmsThrottlingException::builder()
                .message("rate exceeded")
                .build(),
        )
    });
    let client = sfn(&[&describe, &history]);
    let (mut term, out, err) = Term::captured(true, false);
    let outcome = follow::follow(&client, &execution_arn(name), Duration::ZERO, &mut term)
        .await
        .unwrap();
    assert_eq!(outcome.exit_code, 1);
    assert_eq!(outcome.status, "TIMED_OUT");
    assert_eq!(history.num_calls(), 2);
    // A terminal gets the progress line rewritten in place, then cleared.
    let text = out.text();
    let drawn: Vec<&str> = text.split("\r\x1b[2K").collect();
    assert_eq!(drawn.len(), 4, "{text:?}");
    assert_eq!(drawn[0], "");
    for line in &drawn[1..3] {
        assert!(
            line.starts_with("⏳ ") && line.ends_with("s  running"),
            "{text:?}"
        );
    }
    assert_eq!(drawn[3], "", "the line is cleared at the end: {text:?}");
    assert!(err.text().contains("ended TIMED_OUT after 42s"));
}

#[tokio::test]
async fn no_follow_prints_the_execution_arn_only() {
    let start = mock!(aws_sdk_sfn::Client::start_execution).then_compute_output(|req| {
        StartExecutionOutput::builder()
            .execution_arn(execution_arn(req.name().unwrap()))
            .start_date(DateTime::from(SystemTime::now()))
            .build()
            .unwrap()
    });
    let describe = describe(
        0,
        execution("x", ExecutionStatus::Succeeded).build().unwrap(),
    );
    let client = sfn(&[&start, &describe]);
    let (cli, args) = backup_args(&[
        "--tenant",
        "tenant-1",
        "--no-follow",
        "--execution-name",
        "my-run",
        "--state-machine-arn",
        &machine_arn("custom"),
    ]);
    let (mut term, out, _err) = Term::captured(false, false);
    let tenant = bbws::TenantId::parse("tenant-1").unwrap();
    let code = backup_command(
        &client,
        &cli.global,
        &args,
        &tenant,
        datetime!(2026-01-01 0:00 UTC),
        &mut term,
    )
    .await
    .unwrap();
    assert_eq!(code, 0);
    assert_eq!(out.text(), format!("{}\n", execution_arn("my-run")));
    assert_eq!(describe.num_calls(), 0);
}

#[tokio::test]
async fn the_state_machine_is_found_by_name_across_pages_or_reported_missing() {
    let machines = state_machines();
    let client = sfn(&[&machines]);
    assert_eq!(
        crate::backup::find_state_machine(&client, "bbws-dev-tenant-backup")
            .await
            .unwrap(),
        machine_arn("bbws-dev-tenant-backup")
    );
    assert_eq!(
        crate::backup::find_state_machine(&client, "bbws-sit-tenant-backup")
            .await
            .unwrap(),
        machine_arn("bbws-sit-tenant-backup")
    );
    let error = crate::backup::find_state_machine(&client, "bbws-prod-tenant-backup")
        .await
        .unwrap_err();
    assert!(error
        .to_string()
        .starts_with("no state machine named bbws-prod-tenant-backup"));
}

#[tokio::test]
async fn status_of_a_running_execution_shows_its_state_and_exits_0() {
    let describe = describe(
        5,
        execution("z", ExecutionStatus::Succeeded).build().unwrap(),
    );
    let history = history(&["Wait for backup jobs"]);
    let client = sfn(&[&describe, &history]);
    let (mut term, out, _err) = Term::captured(false, true);
    let outcome = follow::show(&client, &execution_arn("z"), &mut term)
        .await
        .unwrap();
    assert_eq!(outcome.exit_code, 0);
    let line: Value = serde_json::from_str(out.text().trim_end()).unwrap();
    assert_eq!(line["status"], "RUNNING");
    assert_eq!(line["state"], "Wait for backup jobs");
    assert_eq!(line["executionArn"], execution_arn("z").as_str());
}

const FS: &str =
    "arn:aws:elasticfilesystem:af-south-1:123456789012:file-system/fs-0123456789abcdef0";
const DB: &str = "arn:aws:rds:af-south-1:123456789012:db:tenant-1";
const DR_VAULT: &str = "arn:aws:backup:eu-west-1:123456789012:backup-vault:bbws-dr-vault";

fn rp(id: &str) -> String {
    format!("arn:aws:backup:af-south-1:123456789012:recovery-point:{id}")
}

fn vault_point(id: &str, resource: &str, at: i64) -> RecoveryPointByBackupVault {
    RecoveryPointByBackupVault::builder()
        .recovery_point_arn(rp(id))
        .resource_arn(resource)
        .resource_type(if resource == FS { "EFS" } else { "RDS" })
        .status(RecoveryPointStatus::Completed)
        .creation_date(DateTime::from_secs(at))
        .build()
}

fn tags_of(id: &'static str, tags: &'static [(&'static str, &'static str)]) -> Rule {
    mock!(aws_sdk_backup::Client::list_tags)
        .match_requests(move |req| req.resource_arn() == Some(rp(id).as_str()))
        .then_output(move || {
            let mut out = ListTagsOutput::builder();
            for (k, v) in tags {
                out = out.tags(*k, *v);
            }
            out.build()
        })
}

#[tokio::test]
async fn backups_lists_the_tenants_recovery_points_grouped_with_their_dr_copies() {
    let t = 1_790_000_000;
    let points = mock!(aws_sdk_backup::Client::list_recovery_points_by_backup_vault)
        .match_requests(|req| req.backup_vault_name() == Some("bbws-dev-backup-vault"))
        .then_compute_output(move |req| match req.next_token() {
            None => ListRecoveryPointsByBackupVaultOutput::builder()
                .recovery_points(vault_point("efs-1", FS, t))
                .recovery_points(vault_point("db-1", DB, t + 60))
                .next_token("more")
                .build(),
            Some(_) => ListRecoveryPointsByBackupVaultOutput::builder()
                .recovery_points(vault_point("efs-hourly", FS, t - 3600))
                .recovery_points(vault_point("efs-other", FS, t + 10))
                .build(),
        });
    let tags = [
        tags_of(
            "efs-1",
            &[
                ("bbws:tenant-id", "tenant-1"),
                ("bbws:backup-id", "tb-1"),
                ("bbws:component", "efs"),
            ],
        ),
        tags_of(
            "db-1",
            &[
                ("bbws:tenant-id", "tenant-1"),
                ("bbws:backup-id", "tb-1"),
                ("bbws:component", "database"),
            ],
        ),
        tags_of("efs-hourly", &[("bbws:backup:tb-0", "tenant-1")]),
        tags_of(
            "efs-other",
            &[("bbws:tenant-id", "tenant-2"), ("bbws:backup-id", "tb-2")],
        ),
    ];
    // Copy jobs are listed per source resource; the file system's include another
    // tenant's copy, which must not show.
    let copies = mock!(aws_sdk_backup::Client::list_copy_jobs).then_compute_output(move |req| {
        let job = |source: &str, state: CopyJobState, at: i64| {
            CopyJob::builder()
                .source_recovery_point_arn(rp(source))
                .resource_arn(req.by_resource_arn().unwrap())
                .destination_backup_vault_arn(DR_VAULT)
                .destination_recovery_point_arn(
                    rp(&format!("{source}-dr")).replace("af-south-1", "eu-west-1"),
                )
                .state(state)
                .creation_date(DateTime::from_secs(at))
                .build()
        };
        let mut out = ListCopyJobsOutput::builder();
        if req.by_resource_arn() == Some(FS) {
            out = out
                .copy_jobs(job("efs-1", CopyJobState::Failed, t + 100))
                .copy_jobs(job("efs-1", CopyJobState::Completed, t + 200))
                .copy_jobs(job("efs-other", CopyJobState::Running, t + 300));
        }
        out.build()
    });
    let mut rules: Vec<&Rule> = vec![&points, &copies];
    rules.extend(tags.iter());
    let client = backup_client(&rules);

    let (mut term, out, err) = Term::captured(false, true);
    let rds = aws_sdk_rds::Client::from_conf(
        aws_sdk_rds::Config::builder()
            .behavior_version(aws_sdk_rds::config::BehaviorVersion::latest())
            .region(aws_sdk_rds::config::Region::new("us-east-1"))
            .build(),
    );
    let listed = backups::list(
        &client,
        &rds,
        "bbws-dev-backup-vault",
        "tenant-1",
        &mut term,
    )
    .await
    .unwrap();
    assert_eq!(err.text(), "");
    assert_eq!(points.num_calls(), 2);
    assert_eq!(
        copies.num_calls(),
        2,
        "once per resource: the file system and the database"
    );

    let json: Value = serde_json::from_str(out.text().trim_end()).unwrap();
    assert_eq!(json, serde_json::to_value(&listed).unwrap());
    assert_eq!(
        json,
        json!([
            {
                "backupId": "tb-1",
                "automated": false,
                "tenantId": "tenant-1",
                "createdAt": "2026-09-21T14:14:20Z",
                "recoveryPoints": [
                    {"arn": rp("db-1"), "component": "database", "resourceType": "RDS",
                     "status": "COMPLETED", "createdAt": "2026-09-21T14:14:20Z", "drCopy": null},
                    {"arn": rp("efs-1"), "component": "efs", "resourceType": "EFS",
                     "status": "COMPLETED", "createdAt": "2026-09-21T14:13:20Z",
                     "drCopy": {"state": "COMPLETED", "destinationVaultArn": DR_VAULT,
                                "destinationRecoveryPointArn": rp("efs-1-dr").replace("af-south-1", "eu-west-1")}},
                ]
            },
            {
                "backupId": "tb-0",
                "automated": false,
                "tenantId": "tenant-1",
                "createdAt": "2026-09-21T13:13:20Z",
                "recoveryPoints": [
                    {"arn": rp("efs-hourly"), "component": "EFS", "resourceType": "EFS",
                     "status": "COMPLETED", "createdAt": "2026-09-21T13:13:20Z", "drCopy": null},
                ]
            },
        ])
    );
}
