//! Following a Step Functions execution to its end: progress while it runs, then its output
//! or its error, and the exit code that tells the outcome. Shared by every command that
//! starts or watches an execution.

use std::time::{Duration, SystemTime};

use anyhow::Context;
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use aws_smithy_types::DateTime;
use serde_json::{json, Value};

use crate::output::Term;

/// How many history events to read, newest first, to find the current state: a Task state
/// writes about five, so this covers the last few states.
const HISTORY_EVENTS: i32 = 25;

/// How an execution ended, as the CLI reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub status: String,
    pub exit_code: i32,
    pub elapsed_seconds: u64,
    /// The parsed output of a SUCCEEDED execution.
    pub output: Option<Value>,
    /// The error name and the readable cause of a FAILED execution.
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// Polls the execution every `poll_interval` until it ends, showing which state it is in,
/// then reports the end and returns it.
pub async fn follow(
    sfn: &aws_sdk_sfn::Client,
    execution_arn: &str,
    poll_interval: Duration,
    term: &mut Term,
) -> anyhow::Result<Outcome> {
    follow_showing(sfn, execution_arn, poll_interval, term, true).await
}

/// As [`follow`]; with `show_output` false, a succeeded execution's output is not printed
/// as text (the caller presents it), though `--json` still carries it.
pub async fn follow_showing(
    sfn: &aws_sdk_sfn::Client,
    execution_arn: &str,
    poll_interval: Duration,
    term: &mut Term,
    show_output: bool,
) -> anyhow::Result<Outcome> {
    let mut state: Option<String> = None;
    let mut printed: Option<String> = None;
    let mut drawn = false;
    loop {
        let execution = describe(sfn, execution_arn).await?;
        if !is_running(execution.status()) {
            if drawn {
                term.clear_line();
            }
            return Ok(report_end(&execution, term, show_output));
        }
        // The history only names the state: without it the status alone still tells
        // when the execution ends.
        if let Ok(Some(current)) = current_state(sfn, execution_arn).await {
            state = Some(current);
        }
        let label = state.as_deref().unwrap_or("running");
        let elapsed = elapsed_seconds(&execution, SystemTime::now());
        if term.tty {
            term.rewrite(&progress_line(elapsed, label, true));
            drawn = true;
        } else if printed.as_deref() != Some(label) {
            term.line(progress_line(elapsed, label, false));
            printed = Some(label.to_owned());
        }
        tokio::time::sleep(poll_interval).await;
    }
}

/// One look at the execution: a running one is shown with its current state, an ended one
/// is reported as [`follow`] reports it.
pub async fn show(
    sfn: &aws_sdk_sfn::Client,
    execution_arn: &str,
    term: &mut Term,
) -> anyhow::Result<Outcome> {
    let execution = describe(sfn, execution_arn).await?;
    if !is_running(execution.status()) {
        return Ok(report_end(&execution, term, true));
    }
    let state = current_state(sfn, execution_arn).await.ok().flatten();
    let status = execution.status().as_str().to_owned();
    let elapsed = elapsed_seconds(&execution, SystemTime::now());
    if term.json {
        term.json_line(&json!({
            "status": status,
            "executionArn": execution_arn,
            "elapsedSeconds": elapsed,
            "state": state,
        }));
    } else {
        let state = state.map(|s| format!("  {s}")).unwrap_or_default();
        term.line(format!("{status} {elapsed}s{state}"));
        term.line(execution_arn);
    }
    Ok(Outcome {
        status,
        exit_code: 0,
        elapsed_seconds: elapsed,
        output: None,
        error: None,
        cause: None,
    })
}

async fn describe(
    sfn: &aws_sdk_sfn::Client,
    execution_arn: &str,
) -> anyhow::Result<DescribeExecutionOutput> {
    sfn.describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .with_context(|| format!("cannot describe execution {execution_arn}"))
}

fn is_running(status: &ExecutionStatus) -> bool {
    matches!(
        status,
        ExecutionStatus::Running | ExecutionStatus::PendingRedrive
    )
}

/// The state the execution is in: the newest state it entered.
async fn current_state(
    sfn: &aws_sdk_sfn::Client,
    execution_arn: &str,
) -> anyhow::Result<Option<String>> {
    let history = sfn
        .get_execution_history()
        .execution_arn(execution_arn)
        .reverse_order(true)
        .max_results(HISTORY_EVENTS)
        .send()
        .await?;
    Ok(newest_state_entered(history.events()))
}

/// The name of the newest `*StateEntered` event, by event id: some Step Functions
/// implementations ignore `reverseOrder`, so the order of the list is not relied on.
pub fn newest_state_entered(events: &[HistoryEvent]) -> Option<String> {
    events
        .iter()
        .filter(|event| event.r#type().as_str().ends_with("StateEntered"))
        .filter_map(|event| {
            event
                .state_entered_event_details()
                .map(|details| (event.id(), details.name().to_owned()))
        })
        .max_by_key(|(id, _)| *id)
        .map(|(_, name)| name)
}

/// Seconds from the execution's start to its end, or to `now` while it runs.
fn elapsed_seconds(execution: &DescribeExecutionOutput, now: SystemTime) -> u64 {
    let end = execution
        .stop_date()
        .copied()
        .unwrap_or_else(|| DateTime::from(now));
    u64::try_from(end.secs() - execution.start_date().secs()).unwrap_or(0)
}

/// The progress line: `⏳ 12s  Poll backup jobs` on a terminal (rewritten in place),
/// `[  12s] Poll backup jobs` in a log.
pub fn progress_line(elapsed_seconds: u64, state: &str, tty: bool) -> String {
    if tty {
        format!("⏳ {elapsed_seconds}s  {state}")
    } else {
        format!("[{elapsed_seconds:>4}s] {state}")
    }
}

/// The readable part of a failure's cause: a Lambda error reaches Step Functions as a JSON
/// string holding `errorMessage`; any other cause is shown as it is.
pub fn cause_message(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|value| value.get("errorMessage")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| cause.to_owned())
}

/// Reports an ended execution (its output, or its error and cause) and returns how it ended.
fn report_end(execution: &DescribeExecutionOutput, term: &mut Term, show_output: bool) -> Outcome {
    let arn = execution.execution_arn();
    let status = execution.status().as_str().to_owned();
    let elapsed = elapsed_seconds(execution, SystemTime::now());
    let mut outcome = Outcome {
        status: status.clone(),
        exit_code: 1,
        elapsed_seconds: elapsed,
        output: None,
        error: None,
        cause: None,
    };
    match execution.status() {
        ExecutionStatus::Succeeded => {
            let output = execution.output().map(|raw| {
                serde_json::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.into()))
            });
            if term.json {
                term.json_line(&json!({
                    "status": status,
                    "executionArn": arn,
                    "elapsedSeconds": elapsed,
                    "output": output,
                }));
            } else {
                term.line(format!("✅ SUCCEEDED in {elapsed}s: {arn}"));
                if let Some(output) = output.as_ref().filter(|_| show_output) {
                    term.line(serde_json::to_string_pretty(output).unwrap_or_default());
                }
            }
            outcome.exit_code = 0;
            outcome.output = output;
        }
        ExecutionStatus::Failed => {
            let error = execution.error().unwrap_or("").to_owned();
            let cause = execution.cause().map(cause_message);
            if term.json {
                term.json_line(&json!({
                    "status": status,
                    "error": error,
                    "cause": cause,
                    "executionArn": arn,
                    "elapsedSeconds": elapsed,
                }));
            } else {
                term.note(format!("❌ FAILED in {elapsed}s: {arn}"));
                term.note(format!("error: {error}"));
                if let Some(cause) = &cause {
                    term.note(format!("cause: {cause}"));
                }
            }
            outcome.exit_code = crate::exit::exit_code(&error);
            outcome.error = Some(error);
            outcome.cause = cause;
        }
        _ => {
            // TIMED_OUT, ABORTED, or a status newer than this CLI.
            if term.json {
                term.json_line(&json!({
                    "status": status,
                    "executionArn": arn,
                    "elapsedSeconds": elapsed,
                }));
            } else {
                term.note(format!(
                    "❌ the execution ended {status} after {elapsed}s: {arn}"
                ));
            }
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sfn::types::{HistoryEventType, StateEnteredEventDetails};

    fn event(id: i64, kind: HistoryEventType, entered: Option<&str>) -> HistoryEvent {
        HistoryEvent::builder()
            .id(id)
            .timestamp(DateTime::from_secs(1_790_000_000 + id))
            .r#type(kind)
            .set_state_entered_event_details(entered.map(|name| {
                StateEnteredEventDetails::builder()
                    .name(name)
                    .build()
                    .unwrap()
            }))
            .build()
            .unwrap()
    }

    #[test]
    fn the_current_state_is_the_newest_state_entered() {
        let newest_first = [
            event(9, HistoryEventType::TaskScheduled, None),
            event(
                8,
                HistoryEventType::TaskStateEntered,
                Some("Poll backup jobs"),
            ),
            event(7, HistoryEventType::WaitStateExited, None),
            event(
                6,
                HistoryEventType::WaitStateEntered,
                Some("Wait for backup jobs"),
            ),
        ];
        assert_eq!(
            newest_state_entered(&newest_first).as_deref(),
            Some("Poll backup jobs")
        );
        assert_eq!(
            newest_state_entered(&newest_first[2..]).as_deref(),
            Some("Wait for backup jobs")
        );
        assert_eq!(newest_state_entered(&newest_first[..1]), None);
        assert_eq!(newest_state_entered(&[]), None);
        // Oldest first, as an implementation that ignores reverseOrder answers.
        let mut oldest_first = newest_first.clone();
        oldest_first.reverse();
        assert_eq!(
            newest_state_entered(&oldest_first).as_deref(),
            Some("Poll backup jobs")
        );
    }

    #[test]
    fn progress_lines_for_a_terminal_and_for_a_log() {
        assert_eq!(
            progress_line(12, "Poll backup jobs", true),
            "⏳ 12s  Poll backup jobs"
        );
        assert_eq!(
            progress_line(12, "Poll backup jobs", false),
            "[  12s] Poll backup jobs"
        );
        assert_eq!(
            progress_line(0, "Plan the backup", false),
            "[   0s] Plan the backup"
        );
        assert_eq!(progress_line(12345, "x", false), "[12345s] x");
    }

    #[test]
    fn cause_shows_the_lambda_error_message_when_there_is_one() {
        let lambda = r#"{"errorType":"BackupAlreadyRunning","errorMessage":"409: backup job j-1 is running on arn:aws:rds:af-south-1:123456789012:db:tenant-1"}"#;
        assert_eq!(
            cause_message(lambda),
            "409: backup job j-1 is running on arn:aws:rds:af-south-1:123456789012:db:tenant-1"
        );
        assert_eq!(cause_message("States.Timeout"), "States.Timeout");
        assert_eq!(cause_message(r#"{"other":"x"}"#), r#"{"other":"x"}"#);
        assert_eq!(
            cause_message(r#"{"errorMessage":3}"#),
            r#"{"errorMessage":3}"#
        );
        assert_eq!(cause_message("\"just a string\""), "\"just a string\"");
        assert_eq!(cause_message(""), "");
    }

    #[test]
    fn elapsed_runs_to_the_stop_date_or_to_now() {
        let started = DescribeExecutionOutput::builder()
            .execution_arn("arn:aws:states:af-south-1:123456789012:execution:m:e")
            .state_machine_arn("arn:aws:states:af-south-1:123456789012:stateMachine:m")
            .status(ExecutionStatus::Running)
            .start_date(DateTime::from_secs(1_790_000_000));
        let running = started.clone().build().unwrap();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_042);
        assert_eq!(elapsed_seconds(&running, now), 42);
        let stopped = started
            .stop_date(DateTime::from_secs(1_790_000_007))
            .build()
            .unwrap();
        assert_eq!(elapsed_seconds(&stopped, now), 7);
        let before_start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_789_999_999);
        assert_eq!(elapsed_seconds(&running, before_start), 0);
    }
}
