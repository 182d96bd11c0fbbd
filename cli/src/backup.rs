//! `bbws backup`: start the backup state machine for one tenant (and follow it).

use anyhow::{bail, Context};
use bbws::TenantId;
use serde_json::{json, Map, Value};
use time::macros::format_description;
use time::OffsetDateTime;

use crate::BackupArgs;

/// The longest execution name Step Functions accepts.
const MAX_EXECUTION_NAME: usize = 80;

/// The state machine input for the flags: only what was asked for, so the state machine's
/// own defaults apply to the rest (and unknown keys, which it refuses, never appear).
pub fn backup_input(args: &BackupArgs, tenant: &TenantId) -> Value {
    let mut input = Map::new();
    input.insert("tenantId".into(), json!(tenant.as_str()));
    if args.files_only {
        input.insert("includeDatabase".into(), json!(false));
    }
    if args.fresh {
        input.insert("fresh".into(), json!(true));
    }
    if args.no_dr_copy {
        input.insert("copyToDr".into(), json!(false));
    }
    if args.wait_for_copy {
        input.insert("waitForCopy".into(), json!(true));
    }
    if let Some(seconds) = args.poll_seconds {
        input.insert("pollSeconds".into(), json!(seconds));
        input.insert("maxPollSeconds".into(), json!(seconds.saturating_mul(2)));
    }
    let mut timeouts = Map::new();
    if let Some(seconds) = args.timeout_efs {
        timeouts.insert("efsSeconds".into(), json!(seconds));
    }
    if let Some(seconds) = args.timeout_db {
        timeouts.insert("databaseSeconds".into(), json!(seconds));
    }
    if !timeouts.is_empty() {
        input.insert("timeouts".into(), Value::Object(timeouts));
    }
    Value::Object(input)
}

/// `backup-<tenant>-<yyyymmddThhmmssZ>` in UTC. Step Functions allows 80 characters, so a
/// very long tenant id is shortened (the timestamp is kept).
pub fn default_execution_name(tenant: &TenantId, now: OffsetDateTime) -> String {
    execution_name("backup", tenant, now)
}

/// `<what>-<tenant>-<UTC time>`, the tenant shortened to fit Step Functions' 80 characters.
pub fn execution_name(what: &str, tenant: &TenantId, now: OffsetDateTime) -> String {
    let stamp = now
        .to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .expect("a fixed format always formats");
    let room = MAX_EXECUTION_NAME - what.len() - 2 - stamp.len();
    let tenant = tenant.as_str();
    let tenant = tenant[..tenant.len().min(room)].trim_end_matches('-');
    format!("{what}-{tenant}-{stamp}")
}

/// The ARN of the state machine named `name`.
pub async fn find_state_machine(sfn: &aws_sdk_sfn::Client, name: &str) -> anyhow::Result<String> {
    let mut machines = sfn.list_state_machines().into_paginator().items().send();
    while let Some(machine) = machines.next().await {
        let machine = machine.context("cannot list the state machines")?;
        if machine.name() == name {
            return Ok(machine.state_machine_arn().to_owned());
        }
    }
    bail!(
        "no state machine named {name} in this account and region \
         (deployed? right --env and --region? or give --state-machine-arn)"
    )
}

/// Starts the execution and returns its ARN.
pub async fn start(
    sfn: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
    name: &str,
    input: &Value,
) -> anyhow::Result<String> {
    let started = sfn
        .start_execution()
        .state_machine_arn(state_machine_arn)
        .name(name)
        .input(input.to_string())
        .send()
        .await
        .with_context(|| format!("cannot start execution {name} of {state_machine_arn}"))?;
    Ok(started.execution_arn().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cli, Command};
    use clap::Parser;
    use time::macros::datetime;

    fn parse(args: &[&str]) -> BackupArgs {
        let cli = Cli::try_parse_from([&["bbws", "backup"], args].concat()).unwrap();
        match cli.command {
            Command::Backup(args) => args,
            other => panic!("not a backup: {other:?}"),
        }
    }

    fn input(args: &[&str]) -> Value {
        let args = parse(args);
        backup_input(&args, &TenantId::parse(&args.tenant).unwrap())
    }

    #[test]
    fn only_the_tenant_when_no_flag_is_given() {
        assert_eq!(
            input(&["--tenant", "tenant-1"]),
            json!({"tenantId": "tenant-1"})
        );
    }

    #[test]
    fn files_only_leaves_the_database_out() {
        assert_eq!(
            input(&["--tenant", "tenant-1", "--files-only"]),
            json!({"tenantId": "tenant-1", "includeDatabase": false})
        );
    }

    #[test]
    fn every_flag_maps_to_its_key() {
        assert_eq!(
            input(&[
                "--tenant",
                "tenant-1",
                "--files-only",
                "--fresh",
                "--wait-for-copy",
                "--poll-seconds",
                "5",
                "--timeout-efs",
                "120",
                "--timeout-db",
                "900",
            ]),
            json!({
                "tenantId": "tenant-1",
                "includeDatabase": false,
                "fresh": true,
                "waitForCopy": true,
                "pollSeconds": 5,
                "maxPollSeconds": 10,
                "timeouts": {"efsSeconds": 120, "databaseSeconds": 900},
            })
        );
        assert_eq!(
            input(&["--tenant", "tenant-1", "--no-dr-copy", "--timeout-db", "60"]),
            json!({"tenantId": "tenant-1", "copyToDr": false, "timeouts": {"databaseSeconds": 60}})
        );
    }

    #[test]
    fn the_input_is_a_request_the_backup_handler_accepts() {
        let value = input(&[
            "--tenant",
            "tenant-1",
            "--files-only",
            "--fresh",
            "--wait-for-copy",
            "--poll-seconds",
            "5",
            "--timeout-efs",
            "120",
            "--timeout-db",
            "900",
        ]);
        // The request type refuses unknown fields: a key the CLI invents would fail here.
        let request: bbws::backup::BackupRequest = serde_json::from_value(value).unwrap();
        assert_eq!(request.include_database, Some(false));
        assert_eq!(request.max_poll_seconds, Some(10));
    }

    #[test]
    fn conflicting_and_invalid_flags_are_usage_errors() {
        for args in [
            &["backup", "--tenant", "t", "--no-dr-copy", "--wait-for-copy"][..],
            &["backup", "--tenant", "t", "--poll-seconds", "0"],
            &["backup", "--tenant", "t", "--timeout-efs", "-1"],
            &["backup"],
            &["backup", "--tenant", "t", "--env", "staging"],
        ] {
            let error = Cli::try_parse_from([&["bbws"], args].concat()).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn the_default_execution_name_is_the_tenant_and_the_utc_time() {
        let tenant = TenantId::parse("tenant-1").unwrap();
        assert_eq!(
            default_execution_name(&tenant, datetime!(2026-03-04 05:06:07 +02:00)),
            "backup-tenant-1-20260304T030607Z"
        );
        let long = TenantId::parse(&format!("{}-{}", "a".repeat(55), "b".repeat(7))).unwrap();
        let name = default_execution_name(&long, datetime!(2026-03-04 05:06:07 UTC));
        assert_eq!(name.len(), 79);
        assert_eq!(name, format!("backup-{}-20260304T050607Z", "a".repeat(55)));
    }
}
