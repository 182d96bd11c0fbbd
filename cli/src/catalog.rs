//! `bbws catalog rebuild`: the tenant backup catalog made again from the vault, the tenants'
//! access points and the copy jobs (`bbws::catalog::rebuild`), with progress on stderr.
//! `bbws catalog replay`: the events the catalog function failed on, handed back to it.

use bbws::catalog::rebuild::{Report, Sources};
use serde_json::json;

use crate::output::Term;

/// Rebuilds, printing each phase as it starts; the report is the last line.
pub async fn rebuild(sources: &Sources, term: &mut Term) -> anyhow::Result<i32> {
    let report = {
        let mut progress = |line: &str| term.note(format!("rebuild: {line}"));
        sources.rebuild(&mut progress).await
    };
    match report {
        Ok(report) => {
            show(&report, term);
            Ok(0)
        }
        Err(error) => {
            term.note(format!("bbws: the rebuild stopped: {error}"));
            Ok(crate::exit::exit_code(error.name()))
        }
    }
}

fn show(report: &Report, term: &mut Term) {
    if term.json {
        term.json_line(&json!(report));
        return;
    }
    term.line(format!(
        "Rebuilt {} from vault {}: {} recovery points read, {} lives, {} backup points \
         written ({} already there), {} DR copies written, {} points of no tenant; the table \
         holds {} items.",
        report.table,
        report.vault,
        report.recovery_points_read,
        report.lives,
        report.points_written,
        report.points_already_recorded,
        report.copies_written,
        report.points_without_tenant,
        report.items_after
    ));
    if !report.lives_unknown.is_empty() {
        term.line(format!(
            "Access points with no recorded tenant life (their hourly backups are not placed): {}",
            report.lives_unknown.join(", ")
        ));
    }
}

/// Lambda's record of an asynchronous invocation that failed after its retries, as an
/// on-failure destination receives it: the function and the event it was given
/// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailedInvocation {
    request_context: RequestContext,
    request_payload: serde_json::Value,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext {
    function_arn: String,
}

/// Takes every message of the dead-letter queue `queue` once and invokes the function it
/// names with its event, synchronously; a message whose event is now recorded is deleted,
/// one that fails again is left for the next replay. Exit code 0 when every event was
/// recorded, 1 otherwise.
pub async fn replay(
    sqs: &aws_sdk_sqs::Client,
    lambda: &aws_sdk_lambda::Client,
    queue: &str,
    term: &mut Term,
) -> anyhow::Result<i32> {
    use anyhow::Context as _;
    let url = sqs
        .get_queue_url()
        .queue_name(queue)
        .send()
        .await
        .with_context(|| format!("finding the queue {queue}"))?
        .queue_url()
        .unwrap_or_default()
        .to_owned();
    let (mut replayed, mut failed) = (0, 0);
    let mut seen = std::collections::HashSet::new();
    loop {
        // Each message stays hidden for the whole replay: one failing again is not met twice.
        let received = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .visibility_timeout(900)
            .send()
            .await
            .with_context(|| format!("reading the queue {queue}"))?;
        let messages = received.messages();
        if messages.is_empty() {
            break;
        }
        for message in messages {
            let id = message.message_id().unwrap_or_default().to_owned();
            if !seen.insert(id.clone()) {
                continue;
            }
            let record: FailedInvocation =
                match serde_json::from_str(message.body().unwrap_or_default()) {
                    Ok(record) => record,
                    Err(e) => {
                        failed += 1;
                        term.note(format!(
                            "bbws: message {id} is not a failed invocation's record: {e}"
                        ));
                        continue;
                    }
                };
            let out = lambda
                .invoke()
                .function_name(&record.request_context.function_arn)
                .payload(aws_smithy_types::Blob::new(serde_json::to_vec(
                    &record.request_payload,
                )?))
                .send()
                .await
                .with_context(|| format!("invoking {}", record.request_context.function_arn))?;
            if out.function_error().is_some() {
                failed += 1;
                let answer = out
                    .payload()
                    .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned())
                    .unwrap_or_default();
                term.note(format!("bbws: message {id} failed again: {answer}"));
                continue;
            }
            if let Some(handle) = message.receipt_handle() {
                sqs.delete_message()
                    .queue_url(&url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .with_context(|| format!("deleting message {id} from {queue}"))?;
            }
            replayed += 1;
        }
    }
    if term.json {
        term.json_line(&json!({"queue": queue, "replayed": replayed, "failed": failed}));
    } else {
        term.line(format!(
            "Replayed {replayed} catalog event(s) from {queue}; {failed} failed again and stay \
             in the queue."
        ));
    }
    Ok(if failed == 0 { 0 } else { 1 })
}
