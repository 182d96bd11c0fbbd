//! `bbws sync`: the sync state machine's input from the command line, and a run followed
//! across its executions (a long sync continues as new executions, each named in the last
//! one's output as `continuedAs`).

use std::time::Duration;

use bbws::TenantId;
use serde_json::{json, Map, Value};

use crate::follow::{self, Outcome};
use crate::output::Term;
use crate::SyncArgs;

/// The sync state machine's input: only the keys the flags set.
pub fn sync_input(args: &SyncArgs, tenant: &TenantId) -> Value {
    let mut input = Map::new();
    input.insert("tenantId".into(), json!(tenant.as_str()));
    if args.delete {
        input.insert("delete".into(), json!(true));
    }
    if let Some(n) = args.batch_files {
        input.insert("batchFiles".into(), json!(n));
    }
    if let Some(n) = args.batches_per_execution {
        input.insert("batchesPerExecution".into(), json!(n));
    }
    Value::Object(input)
}

/// The execution a finished one continued as, if it did.
pub fn continued_as(outcome: &Outcome) -> Option<String> {
    outcome
        .output
        .as_ref()?
        .get("continuedAs")?
        .as_str()
        .map(str::to_owned)
}

/// Follows the run from `execution_arn` through every execution it continues as; the last
/// one's outcome is the run's.
pub async fn follow_run(
    sfn: &aws_sdk_sfn::Client,
    execution_arn: &str,
    poll_interval: Duration,
    term: &mut Term,
) -> anyhow::Result<Outcome> {
    let mut arn = execution_arn.to_owned();
    loop {
        let outcome = follow::follow(sfn, &arn, poll_interval, term).await?;
        match continued_as(&outcome) {
            Some(next) if outcome.exit_code == 0 => {
                if !term.json {
                    let tally = outcome
                        .output
                        .as_ref()
                        .and_then(|o| o.get("tally"))
                        .cloned()
                        .unwrap_or(Value::Null);
                    term.line(format!("Continued as {next} (so far: {tally})"));
                }
                arn = next;
            }
            _ => return Ok(outcome),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cli, Command};
    use clap::Parser;

    fn args(flags: &[&str]) -> SyncArgs {
        let cli = Cli::try_parse_from([&["bbws", "sync", "--tenant", "t-1"][..], flags].concat())
            .unwrap();
        match cli.command {
            Command::Sync(args) => args,
            other => panic!("not sync: {other:?}"),
        }
    }

    #[test]
    fn the_input_holds_only_what_the_flags_set() {
        let tenant = TenantId::parse("t-1").unwrap();
        assert_eq!(sync_input(&args(&[]), &tenant), json!({"tenantId": "t-1"}));
        assert_eq!(
            sync_input(
                &args(&[
                    "--delete",
                    "--batch-files",
                    "5",
                    "--batches-per-execution",
                    "2"
                ]),
                &tenant
            ),
            json!({"tenantId": "t-1", "delete": true, "batchFiles": 5, "batchesPerExecution": 2})
        );
        assert!(
            Cli::try_parse_from(["bbws", "sync", "--tenant", "t", "--batch-files", "0"]).is_err()
        );
    }

    #[test]
    fn a_run_goes_on_where_the_output_names_its_next_execution() {
        let mut outcome = Outcome {
            status: "SUCCEEDED".into(),
            exit_code: 0,
            elapsed_seconds: 1,
            output: Some(json!({"continuedAs": "arn:x:2", "tally": {}})),
            error: None,
            cause: None,
        };
        assert_eq!(continued_as(&outcome).as_deref(), Some("arn:x:2"));
        outcome.output = Some(json!({"filesSynced": 3}));
        assert_eq!(continued_as(&outcome), None);
    }
}
