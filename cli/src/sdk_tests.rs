//! The commands against the real SDK clients, answered by aws-smithy-mocks rules: what is
//! sent to AWS, and what the operator sees and gets as exit code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::types::AttributeValue;
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

use bbws::catalog::Catalog;

use crate::output::Term;
use crate::{
    backup_command, backups, follow, restore_command, BackupArgs, Cli, Command, RestoreRun,
};

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
const TABLE: &str = "bbws-dev-backup-catalog";

fn rp(id: &str) -> String {
    format!("arn:aws:backup:af-south-1:123456789012:recovery-point:{id}")
}

fn catalog(rules: &[&Rule]) -> Catalog {
    Catalog {
        dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules, |c| c
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())),
        table: TABLE.into(),
        dr_delete_after_days: 30,
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn point_item(id: &str, resource: &str, at: i64, size: i64) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("recoveryPointArn".into(), s(&rp(id))),
        ("resourceArn".into(), s(resource)),
        (
            "resourceType".into(),
            s(if resource == FS { "EFS" } else { "RDS" }),
        ),
        ("vault".into(), s("bbws-dev-backup-vault")),
        ("createdAt".into(), n(at)),
        ("sizeBytes".into(), n(size)),
        ("status".into(), s("COMPLETED")),
    ]))
}

/// A tenant backup item as the catalog writes it, `hours` before 2026-09-21T14:00:00Z.
fn backup_item(hours: i64) -> HashMap<String, AttributeValue> {
    let t = 1_790_000_000 - 1_790_000_000 % 3600 - hours * 3600;
    let id = bbws::catalog::hourly_backup_id(t);
    let sk = format!(
        "backup#{}#{id}",
        DateTime::from_secs(t)
            .fmt(aws_smithy_types::date_time::Format::DateTime)
            .unwrap()
            .replace(['-', ':'], "")
    );
    HashMap::from([
        ("pk".into(), s("tenant#tenant-1")),
        ("sk".into(), s(&sk)),
        ("tenantId".into(), s("tenant-1")),
        ("backupId".into(), s(&id)),
        ("kind".into(), s("hourly")),
        ("time".into(), n(t)),
        (
            "files".into(),
            point_item(&format!("efs-{hours}"), FS, t + 60, 4096),
        ),
        (
            "database".into(),
            point_item(&format!("db-{hours}"), DB, t + 90, 1024),
        ),
    ])
}

fn copies_rule() -> Rule {
    mock!(aws_sdk_dynamodb::Client::batch_get_item).then_compute_output(|req| {
        let keys = req.request_items().unwrap()[TABLE].keys();
        // Only the file-system points were copied.
        let items: Vec<HashMap<String, AttributeValue>> = keys
            .iter()
            .filter_map(|key| {
                let arn = key["pk"].as_s().unwrap().strip_prefix("point#")?.to_owned();
                arn.contains(":efs-").then(|| {
                    HashMap::from([
                        ("pk".into(), key["pk"].clone()),
                        ("sk".into(), s("point")),
                        ("recoveryPointArn".into(), s(&arn)),
                        (
                            "drCopy".into(),
                            AttributeValue::M(HashMap::from([
                                ("copyJobId".into(), s("copy-1")),
                                ("vaultArn".into(), s(DR_VAULT)),
                                ("state".into(), s("COMPLETED")),
                                ("createdAt".into(), n(1_790_000_000)),
                                ("rank".into(), n(3)),
                            ])),
                        ),
                    ])
                })
            })
            .collect();
        BatchGetItemOutput::builder()
            .responses(TABLE, items)
            .build()
    })
}

#[tokio::test]
async fn backups_queries_the_catalog_newest_first_page_by_page_up_to_the_limit() {
    // 7 backups, an hour apart; DynamoDB answers at most 2 items a page (a page may end
    // before Limit: at 1 MB), so a limit of 5 takes three pages and stops there.
    let all: Vec<_> = (0..7).map(backup_item).collect();
    let pages = all.clone();
    let query = mock!(aws_sdk_dynamodb::Client::query).then_compute_output(move |req| {
        assert_eq!(req.table_name(), Some(TABLE));
        assert_eq!(req.scan_index_forward(), Some(false), "newest first");
        let from = match req.exclusive_start_key() {
            None => 0,
            Some(key) => pages.iter().position(|i| i["sk"] == key["sk"]).unwrap() + 1,
        };
        let take = (req.limit().unwrap() as usize).min(2);
        let items: Vec<_> = pages.iter().skip(from).take(take).cloned().collect();
        let mut out = QueryOutput::builder().set_items(Some(items.clone()));
        if from + take < pages.len() {
            let last = items.last().unwrap();
            out = out
                .last_evaluated_key("pk", last["pk"].clone())
                .last_evaluated_key("sk", last["sk"].clone());
        }
        out.build()
    });
    let copies = copies_rule();
    let catalog = catalog(&[&query, &copies]);

    let (mut term, out, err) = Term::captured(false, true);
    let code = backups::list(&catalog, "tenant-1", None, 5, &mut term)
        .await
        .unwrap();
    assert_eq!(code, 0, "{}", err.text());
    assert_eq!(query.num_calls(), 3, "three pages for five backups");
    assert_eq!(copies.num_calls(), 1, "one BatchGetItem for the DR copies");
    let json: Value = serde_json::from_str(out.text().trim_end()).unwrap();
    let ids: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["backupId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "hourly-20260921T1400Z",
            "hourly-20260921T1300Z",
            "hourly-20260921T1200Z",
            "hourly-20260921T1100Z",
            "hourly-20260921T1000Z",
        ]
    );
    assert_eq!(
        json[0],
        json!({
            "backupId": "hourly-20260921T1400Z",
            "tenantId": "tenant-1",
            "kind": "hourly",
            "time": "2026-09-21T14:00:00Z",
            "sizeBytes": 5120,
            "files": {"recoveryPointArn": rp("efs-0"), "createdAt": "2026-09-21T14:01:00Z",
                      "sizeBytes": 4096, "status": "COMPLETED", "drCopy": "COMPLETED"},
            "database": {"recoveryPointArn": rp("db-0"), "createdAt": "2026-09-21T14:01:30Z",
                         "sizeBytes": 1024, "status": "COMPLETED", "drCopy": null},
        })
    );

    // Everything there is: the last page carries no LastEvaluatedKey.
    let (mut term, out, _) = Term::captured(false, true);
    backups::list(&catalog, "tenant-1", None, 100, &mut term)
        .await
        .unwrap();
    let json: Value = serde_json::from_str(out.text().trim_end()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 7);
    assert_eq!(query.num_calls(), 3 + 4);
}

#[tokio::test]
async fn since_bounds_the_key_condition() {
    let query = mock!(aws_sdk_dynamodb::Client::query).then_compute_output(|req| {
        let values = req.expression_attribute_values().unwrap();
        assert_eq!(values[":pk"], s("tenant#tenant-1"));
        assert_eq!(values[":from"], s("backup#20260921T120000Z"));
        assert_eq!(values[":to"], s("backup#~"));
        QueryOutput::builder()
            .set_items(Some(vec![backup_item(0), backup_item(1)]))
            .build()
    });
    let copies = copies_rule();
    let catalog = catalog(&[&query, &copies]);
    let (mut term, out, _) = Term::captured(false, false);
    let since = 1_790_000_000 - 1_790_000_000 % 3600 - 2 * 3600;
    let code = backups::list(&catalog, "tenant-1", Some(since), 20, &mut term)
        .await
        .unwrap();
    assert_eq!(code, 0);
    assert_eq!(query.num_calls(), 1);
    let lines: Vec<String> = out.text().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[1].starts_with("hourly-20260921T1400Z  hourly"),
        "{lines:?}"
    );
    assert!(lines[1].contains("5.0 KiB"), "{lines:?}");
}

#[tokio::test]
async fn an_unknown_tenant_or_backup_is_named_with_its_exit_code() {
    let empty = mock!(aws_sdk_dynamodb::Client::query)
        .then_output(|| QueryOutput::builder().set_items(Some(vec![])).build());
    let none =
        mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| GetItemOutput::builder().build());
    let catalog = catalog(&[&empty, &none]);

    let (mut term, out, err) = Term::captured(false, true);
    let code = backups::list(&catalog, "nobody", None, 20, &mut term)
        .await
        .unwrap();
    assert_eq!(code, 40);
    // The listing, the probe for any backup, and the tenant's lives.
    assert_eq!(empty.num_calls(), 3);
    let line: Value = serde_json::from_str(out.text().trim_end()).unwrap();
    assert_eq!(line["error"], "InvalidTenant");
    assert!(err.text().contains("tenant nobody is not in the catalog"));

    let (mut term, out, err) = Term::captured(false, true);
    let code = backups::describe(&catalog, "tenant-1", "hourly-20260921T1400Z", &mut term)
        .await
        .unwrap();
    assert_eq!(code, 44);
    assert_eq!(none.num_calls(), 1);
    let line: Value = serde_json::from_str(out.text().trim_end()).unwrap();
    assert_eq!(line["error"], "BackupNotFound");
    assert!(err
        .text()
        .contains("tenant tenant-1 has no backup hourly-20260921T1400Z"));
}

#[tokio::test]
async fn one_backup_in_detail_is_one_get_item_and_its_copies() {
    let get = mock!(aws_sdk_dynamodb::Client::get_item).then_compute_output(|req| {
        assert_eq!(req.consistent_read(), Some(true));
        let mut item = backup_item(0);
        assert_eq!(req.key().unwrap()["sk"], item["sk"]);
        item.insert(
            "restores".into(),
            AttributeValue::Ss(vec!["arn:restore-b".into(), "arn:restore-a".into()]),
        );
        item.insert("expiresAt".into(), n(1_790_000_000 + 30 * 86_400));
        GetItemOutput::builder().set_item(Some(item)).build()
    });
    let copies = copies_rule();
    let catalog = catalog(&[&get, &copies]);
    let (mut term, out, _) = Term::captured(false, true);
    let code = backups::describe(&catalog, "tenant-1", "hourly-20260921T1400Z", &mut term)
        .await
        .unwrap();
    assert_eq!(code, 0);
    assert_eq!((get.num_calls(), copies.num_calls()), (1, 1));
    let json: Value = serde_json::from_str(out.text().trim_end()).unwrap();
    assert_eq!(json["files"]["drCopy"]["state"], "COMPLETED");
    assert_eq!(json["files"]["sizeBytes"], 4096);
    assert_eq!(json["database"]["drCopy"], Value::Null);
    assert_eq!(json["expiresAt"], "2026-10-21T14:13:20Z");
    assert_eq!(json["restores"], json!(["arn:restore-a", "arn:restore-b"]));
}

const DRY_RUN_OUTPUT: &str = r#"{"dryRun":true,"plan":{"tenantId":"tenant-1","summary":"restore backup tb-1 of tenant tenant-1 into tenant tenant-1: files","files":{"recoveryPointArn":"arn:aws:backup:af-south-1:123456789012:recovery-point:rp-f","target":"/tenant-1","sizeBytes":2048},"promoteDatabase":false,"pointInTime":{"at":"2026-03-04T01:06:07Z","filesBackupId":"tb-1","filesCreatedAt":"2026-03-04T01:00:00Z"}}}"#;

/// `bbws restore` with `flags`, started at 2026-03-04T05:06:07Z without a question; returns
/// the exit code, stdout, stderr and what StartExecution was sent (name, input).
async fn restore_run(flags: &[&str], json: bool) -> (i32, String, String, Vec<(String, Value)>) {
    let sent: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let start = {
        let sent = sent.clone();
        mock!(aws_sdk_sfn::Client::start_execution).then_compute_output(move |req| {
            sent.lock().unwrap().push((
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
    let machines = mock!(aws_sdk_sfn::Client::list_state_machines).then_output(|| {
        ListStateMachinesOutput::builder()
            .state_machines(machine("bbws-dev-tenant-backup"))
            .state_machines(machine("bbws-dev-tenant-restore"))
            .build()
            .unwrap()
    });
    let describe = describe(
        1,
        execution("run", ExecutionStatus::Succeeded)
            .output(DRY_RUN_OUTPUT)
            .build()
            .unwrap(),
    );
    let history = history(&["Plan the restore"]);
    let client = sfn(&[&machines, &start, &describe, &history]);
    let cli = Cli::try_parse_from(
        [
            &[
                "bbws",
                "--poll-interval",
                "0.001",
                "restore",
                "--tenant",
                "tenant-1",
            ][..],
            flags,
        ]
        .concat(),
    )
    .unwrap();
    let Command::Restore(args) = &cli.command else {
        panic!("not a restore")
    };
    let tenant = bbws::TenantId::parse("tenant-1").unwrap();
    let run = RestoreRun {
        args,
        tenant: &tenant,
        clone_to: None,
        ask: false,
        now: datetime!(2026-03-04 05:06:07 UTC),
    };
    let (mut term, out, err) = Term::captured(false, json);
    let code = restore_command(&client, &cli.global, &run, &mut term)
        .await
        .unwrap();
    let sent = sent.lock().unwrap().clone();
    (code, out.text(), err.text(), sent)
}

#[tokio::test]
async fn a_dry_run_starts_the_plan_only_and_shows_it() {
    let (code, out, err, sent) = restore_run(&["--at", "-4h", "--dry-run"], false).await;
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(
        sent,
        [(
            "restore-plan-tenant-1-20260304T050607Z".to_owned(),
            json!({"tenantId": "tenant-1", "at": "2026-03-04T01:06:07Z", "dryRun": true})
        )]
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "--at -4h is 2026-03-04T01:06:07Z", "{out}");
    assert!(lines[1].starts_with("Started restore-plan-tenant-1-20260304T050607Z (dry run)"));
    assert!(out.contains("✅ SUCCEEDED"), "{out}");
    assert!(
        out.contains("Dry run: nothing was started or changed"),
        "{out}"
    );
    assert!(out.contains("rp-f (2.0 KiB) -> live in the tenant's directory /tenant-1"));
    assert!(!out.contains("\"dryRun\""), "the plan, not its JSON: {out}");

    // --json: the execution's output on the last line, the resolved moment on stderr.
    let (code, out, err, _) = restore_run(&["--at", "90m-ago", "--dry-run"], true).await;
    assert_eq!(code, 0);
    assert_eq!(err, "--at 90m-ago is 2026-03-04T03:36:07Z\n");
    let last: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["status"], "SUCCEEDED");
    assert_eq!(last["output"]["dryRun"], true);
    assert_eq!(last["output"]["plan"]["files"]["sizeBytes"], 2048);
}

#[tokio::test]
async fn a_confirmed_restore_starts_with_its_timeouts() {
    let (code, _out, err, sent) = restore_run(
        &[
            "--backup",
            "tb-1",
            "--yes",
            "--timeout-files",
            "900",
            "--timeout-service",
            "120",
        ],
        true,
    )
    .await;
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(
        sent,
        [(
            "restore-tenant-1-20260304T050607Z".to_owned(),
            json!({"tenantId": "tenant-1", "backupId": "tb-1",
                   "timeouts": {"efsSeconds": 900, "serviceSeconds": 120}})
        )]
    );
}

/// A failed invocation's record as Lambda sends it to an on-failure destination.
fn failed_invocation(event: &Value) -> String {
    json!({
        "version": "1.0",
        "timestamp": "2026-12-07T10:00:00.000Z",
        "requestContext": {
            "requestId": "r-1",
            "functionArn": "arn:aws:lambda:af-south-1:123456789012:function:bbws-dev-catalog:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "TransientAwsError", "errorMessage": "throttled"}
    })
    .to_string()
}

#[tokio::test]
async fn catalog_replay_hands_each_failed_event_back_and_keeps_those_that_fail_again() {
    use aws_sdk_lambda::operation::invoke::{InvokeInput, InvokeOutput};
    use aws_sdk_sqs::operation::delete_message::{DeleteMessageInput, DeleteMessageOutput};
    use aws_sdk_sqs::operation::get_queue_url::GetQueueUrlOutput;
    use aws_sdk_sqs::operation::receive_message::ReceiveMessageOutput;
    use aws_sdk_sqs::types::Message;

    let recorded =
        json!({"source": "aws.backup", "detail-type": "Backup Job State Change", "id": "e-1"});
    let failing =
        json!({"source": "aws.backup", "detail-type": "Backup Job State Change", "id": "e-2"});
    let batch = vec![
        Message::builder()
            .message_id("m-1")
            .receipt_handle("h-1")
            .body(failed_invocation(&recorded))
            .build(),
        Message::builder()
            .message_id("m-2")
            .receipt_handle("h-2")
            .body(failed_invocation(&failing))
            .build(),
    ];
    let received = Arc::new(Mutex::new(0));
    let count = received.clone();
    let deleted: Arc<Mutex<Vec<DeleteMessageInput>>> = Arc::default();
    let sent = deleted.clone();
    let sqs = mock_client!(
        aws_sdk_sqs,
        RuleMode::MatchAny,
        [
            &mock!(aws_sdk_sqs::Client::get_queue_url)
                .match_requests(|r| r.queue_name() == Some("bbws-dev-catalog-dlq"))
                .then_output(|| GetQueueUrlOutput::builder()
                    .queue_url(
                        "https://sqs.af-south-1.amazonaws.com/123456789012/bbws-dev-catalog-dlq"
                    )
                    .build()),
            // The batch once, then an empty queue.
            &mock!(aws_sdk_sqs::Client::receive_message).then_compute_output(move |_| {
                let mut n = count.lock().unwrap();
                *n += 1;
                let messages = if *n == 1 { batch.clone() } else { Vec::new() };
                ReceiveMessageOutput::builder()
                    .set_messages(Some(messages))
                    .build()
            }),
            &mock!(aws_sdk_sqs::Client::delete_message).then_compute_output(move |r| {
                sent.lock().unwrap().push(r.clone());
                DeleteMessageOutput::builder().build()
            }),
        ]
    );
    let invoked: Arc<Mutex<Vec<InvokeInput>>> = Arc::default();
    let calls = invoked.clone();
    let lambda = mock_client!(
        aws_sdk_lambda,
        RuleMode::MatchAny,
        [
            &mock!(aws_sdk_lambda::Client::invoke).then_compute_output(move |r| {
                calls.lock().unwrap().push(r.clone());
                let event: Value = serde_json::from_slice(r.payload().unwrap().as_ref()).unwrap();
                let out = InvokeOutput::builder().status_code(200);
                if event["id"] == "e-2" {
                    out.function_error("Unhandled")
                        .payload(aws_smithy_types::Blob::new(
                            r#"{"errorType":"TransientAwsError"}"#,
                        ))
                        .build()
                } else {
                    out.payload(aws_smithy_types::Blob::new("{}")).build()
                }
            })
        ]
    );
    let (mut term, out, err) = Term::captured(false, false);
    let code = crate::catalog::replay(&sqs, &lambda, "bbws-dev-catalog-dlq", &mut term)
        .await
        .unwrap();
    assert_eq!(code, 1, "one event failed again");
    let invoked = invoked.lock().unwrap();
    assert_eq!(invoked.len(), 2);
    // The function the record names, with the very event it failed on.
    assert_eq!(
        invoked[0].function_name(),
        Some("arn:aws:lambda:af-south-1:123456789012:function:bbws-dev-catalog:$LATEST")
    );
    let given: Value = serde_json::from_slice(invoked[0].payload().unwrap().as_ref()).unwrap();
    assert_eq!(given, recorded);
    let deleted = deleted.lock().unwrap();
    assert_eq!(deleted.len(), 1, "only the recorded event leaves the queue");
    assert_eq!(deleted[0].receipt_handle(), Some("h-1"));
    assert!(
        out.text().contains("Replayed 1 catalog event(s)"),
        "{}",
        out.text()
    );
    assert!(err.text().contains("m-2 failed again"), "{}", err.text());
}
