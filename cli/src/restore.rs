//! `bbws restore`: the restore state machine's input from the command line, the moment
//! `--at` names, the confirmation asked before a restore puts something live, and a dry
//! run's plan as the operator reads it.

use std::io::BufRead;

use bbws::clock::{parse_rfc3339, rfc3339};
use bbws::TenantId;
use serde_json::{json, Map, Value};

use crate::backups::human_size;
use crate::output::Term;
use crate::RestoreArgs;

/// What `--at` names: a moment as written, or a span back from now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum At {
    /// An RFC 3339 time, sent as given.
    Moment(String),
    /// Seconds before the local clock's now (`-4h`, `90m-ago`).
    Ago { seconds: i64, written: String },
}

/// The longest span back `--at` takes: AWS Backup keeps nothing useful much longer, and a
/// bound keeps the arithmetic far from overflow.
const MAX_AGO_SECONDS: i64 = 10 * 366 * 86_400;

/// Reads `--at`: an RFC 3339 time, or a span back from now written `-<span>` or
/// `<span>-ago`, the span one or more `<n><unit>` (units s, m, h, d, w), e.g. `-4h`,
/// `90m-ago`, `1h30m-ago`. A bare span (`4h`) is refused: it does not say which way.
pub fn parse_at(raw: &str) -> Result<At, String> {
    let text = raw.trim();
    if parse_rfc3339(text).is_some() {
        return Ok(At::Moment(text.to_owned()));
    }
    let span = text
        .strip_prefix('-')
        .or_else(|| text.strip_suffix("-ago"))
        .or_else(|| text.strip_suffix(" ago"))
        .ok_or_else(|| {
            format!(
                "{raw:?} is neither an RFC 3339 time (2026-11-26T07:00:00Z) nor a span back \
                 from now (-4h, 90m-ago, 2d-ago)"
            )
        })?;
    let seconds = span_seconds(span).ok_or_else(|| {
        format!("{raw:?}: the span back is one or more <n><unit>, units s, m, h, d, w (e.g. -4h, 1h30m-ago)")
    })?;
    if seconds == 0 || seconds > MAX_AGO_SECONDS {
        return Err(format!(
            "{raw:?} is {seconds} s back: between 1 s and {} days back",
            MAX_AGO_SECONDS / 86_400
        ));
    }
    Ok(At::Ago {
        seconds,
        written: text.to_owned(),
    })
}

/// `1h30m` as seconds; None unless it is wholly `<digits><unit>` pairs.
fn span_seconds(span: &str) -> Option<i64> {
    if span.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in span.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return None,
        };
        let n: i64 = digits.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        digits.clear();
    }
    // A number must end with its unit.
    digits.is_empty().then_some(total)
}

impl At {
    /// The RFC 3339 time the request carries, `now` being seconds since the epoch.
    pub fn resolve(&self, now: i64) -> String {
        match self {
            At::Moment(text) => text.clone(),
            At::Ago { seconds, .. } => rfc3339(now - seconds),
        }
    }
}

/// The restore state machine's input: only the keys the flags set; `now` (seconds since
/// the epoch) resolves a relative `--at`.
pub fn restore_input(
    args: &RestoreArgs,
    tenant: &TenantId,
    clone_to: Option<&TenantId>,
    now: i64,
) -> Value {
    let mut input = Map::new();
    input.insert("tenantId".into(), json!(tenant.as_str()));
    match &args.at {
        Some(at) => input.insert("at".into(), json!(at.resolve(now))),
        None => input.insert("backupId".into(), json!(args.backup)),
    };
    if args.files_only {
        input.insert("files".into(), json!(true));
        input.insert("database".into(), json!(false));
    }
    if args.database_only {
        input.insert("files".into(), json!(false));
        input.insert("database".into(), json!(true));
    }
    if args.promote_database {
        input.insert("promoteDatabase".into(), json!(true));
    }
    if args.side_by_side {
        input.insert("sideBySide".into(), json!(true));
    }
    if let Some(target) = clone_to {
        input.insert("cloneTo".into(), json!(target.as_str()));
    }
    if let Some(seconds) = args.poll_seconds {
        input.insert("pollSeconds".into(), json!(seconds));
        input.insert("maxPollSeconds".into(), json!(seconds.saturating_mul(2)));
    }
    let mut timeouts = Map::new();
    for (key, value) in [
        ("efsSeconds", args.timeout_files),
        ("databaseSeconds", args.timeout_database),
        ("serviceSeconds", args.timeout_service),
    ] {
        if let Some(seconds) = value {
            timeouts.insert(key.into(), json!(seconds));
        }
    }
    if !timeouts.is_empty() {
        input.insert("timeouts".into(), Value::Object(timeouts));
    }
    if args.dry_run {
        input.insert("dryRun".into(), json!(true));
    }
    Value::Object(input)
}

/// Whether a restore may start: one that puts nothing live (a dry run, side by side) needs
/// no answer, `--yes` has answered; else a terminal asks, and without one the CLI refuses
/// (a usage error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consent {
    Go,
    Ask,
    Refuse,
}

pub fn consent(puts_something_live: bool, yes: bool, stdin_is_terminal: bool) -> Consent {
    match (!puts_something_live || yes, stdin_is_terminal) {
        (true, _) => Consent::Go,
        (false, true) => Consent::Ask,
        (false, false) => Consent::Refuse,
    }
}

/// Whether the restore the flags ask for can put something live: all but a dry run and a
/// side-by-side restore.
pub fn puts_something_live(args: &RestoreArgs) -> bool {
    !args.dry_run && !args.side_by_side
}

/// The usage error of a restore that nobody can confirm.
pub const NO_TERMINAL: &str = "a restore puts a backup live and asks for confirmation, but \
    stdin is not a terminal: give --yes to restore, or --dry-run to see the plan; nothing was \
    started";

/// The region and account of a Step Functions ARN
/// (`arn:aws:states:<region>:<account>:stateMachine:<name>`).
pub fn region_and_account(arn: &str) -> (&str, &str) {
    let mut parts = arn.split(':').skip(3);
    (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    )
}

/// What the confirmation says is about to happen, from the flags (the plan is not made
/// yet): where, and into which tenant.
pub fn confirmation_text(
    args: &RestoreArgs,
    env: &str,
    state_machine_arn: &str,
    target: &TenantId,
) -> String {
    let (region, account) = region_and_account(state_machine_arn);
    let what = match &args.at {
        Some(At::Moment(at)) => format!("tenant {} as it was at {at}", args.tenant),
        Some(At::Ago { written, .. }) => format!("tenant {} as it was {written}", args.tenant),
        None => format!("backup {} of tenant {}", args.backup, args.tenant),
    };
    let live = if args.files_only {
        "the restored files go live (the current ones kept aside), the database is left as it is"
    } else if args.database_only {
        "the restored database goes live (the current one kept, marked superseded)"
    } else {
        "what the backup holds, files and database, goes live together (the current ones kept \
         aside)"
    };
    format!(
        "Restore {what} into tenant {target}\n  environment {env}, account {account}, region \
         {region}\n  {live}; --dry-run shows the whole plan first"
    )
}

/// Asks on the terminal; true only when the answer is the target tenant's id.
pub fn ask(term: &mut Term, input: &mut impl BufRead, text: &str, target: &TenantId) -> bool {
    term.note(text);
    term.note(format!(
        "Type the tenant id ({target}) to go on, anything else stops:"
    ));
    let mut answer = String::new();
    if input.read_line(&mut answer).is_err() {
        return false;
    }
    answer.trim() == target.as_str()
}

/// A dry run's plan (the execution's `plan`) as lines for the operator: the points, the
/// database's moment and gap, the sizes, and what would go live.
pub fn plan_lines(plan: &Value) -> Vec<String> {
    let text = |v: &Value| v.as_str().unwrap_or("?").to_owned();
    let size = |source: &Value| human_size(source["sizeBytes"].as_i64());
    let mut lines = vec![
        "Dry run: nothing was started or changed. The restore would:".to_owned(),
        format!("  {}", text(&plan["summary"])),
    ];
    let pit = &plan["pointInTime"];
    if pit.is_object() {
        lines.push(format!(
            "  moment:   {} -> files of {} (backup {})",
            text(&pit["at"]),
            text(&pit["filesCreatedAt"]),
            text(&pit["filesBackupId"])
        ));
        if pit["databaseContinuousPoint"].is_string() {
            lines.push("  database: to the files' second (continuous backup), gap 0 s".into());
        } else if pit["databaseCreatedAt"].is_string() {
            lines.push(format!(
                "  database: of {} (backup {}), gap {} s",
                text(&pit["databaseCreatedAt"]),
                pit["databaseBackupId"].as_str().unwrap_or("-"),
                pit["gapSeconds"]
            ));
        }
    }
    let files = &plan["files"];
    if files.is_object() {
        let into = match plan["filesInto"].as_str() {
            Some(dir) => format!("beside the tenant's, in {dir} (not live)"),
            None => format!(
                "live in the tenant's directory {} (the previous files kept aside)",
                text(&files["target"])
            ),
        };
        lines.push(format!(
            "  files:    {} ({}) -> {into}",
            text(&files["recoveryPointArn"]),
            size(files),
        ));
    }
    let database = &plan["database"];
    if database.is_object() {
        let live = if plan["promoteDatabase"] == true {
            "promoted: the tenant's database endpoint setting will point at it".to_owned()
        } else {
            let current = plan["currentDatabase"]["arn"]
                .as_str()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            format!("side by side: not promoted, the site keeps its current database{current}")
        };
        lines.push(format!(
            "  database: {} ({}) -> new {}, {live}",
            text(&database["recoveryPointArn"]),
            size(database),
            text(&database["target"])
        ));
    }
    if let Some(service) = plan["service"]["arn"].as_str() {
        lines.push(format!("  service:  {service} redeployed"));
    }
    if let Some(live) = plan["goesLive"].as_str().filter(|l| !l.is_empty()) {
        lines.push(format!("  {live}"));
    }
    lines
}

/// Reads one line of confirmation from the process's stdin.
pub fn ask_on_stdin(term: &mut Term, text: &str, target: &TenantId) -> bool {
    ask(term, &mut std::io::stdin().lock(), text, target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cli, Command};
    use clap::Parser;

    fn input(args: &[&str]) -> Value {
        let cli = Cli::try_parse_from([&["bbws", "restore"], args].concat()).unwrap();
        let Command::Restore(args) = cli.command else {
            panic!("not a restore")
        };
        let tenant = TenantId::parse(&args.tenant).unwrap();
        let clone_to = args
            .clone_to
            .as_deref()
            .map(|t| TenantId::parse(t).unwrap());
        restore_input(&args, &tenant, clone_to.as_ref(), NOW)
    }

    /// 2026-11-26T08:00:00Z, the local clock's now in these tests.
    const NOW: i64 = 1_795_680_000;

    fn args(flags: &[&str]) -> Result<RestoreArgs, clap::Error> {
        let cli = Cli::try_parse_from([&["bbws", "restore"], flags].concat())?;
        match cli.command {
            Command::Restore(args) => Ok(args),
            other => panic!("not a restore: {other:?}"),
        }
    }

    #[test]
    fn a_moment_is_asked_for_instead_of_a_backup() {
        assert_eq!(
            input(&["--tenant", "t-1", "--at", "2026-11-26T07:30:00Z"]),
            json!({"tenantId": "t-1", "at": "2026-11-26T07:30:00Z"})
        );
        for both in [
            &[
                "--tenant",
                "t-1",
                "--backup",
                "tb-1",
                "--at",
                "2026-11-26T07:30:00Z",
            ][..],
            &["--tenant", "t-1"][..],
        ] {
            assert!(Cli::try_parse_from([&["bbws", "restore"], both].concat()).is_err());
        }
    }

    #[test]
    fn flags_map_to_the_restore_request() {
        assert_eq!(
            input(&["--tenant", "t-1", "--backup", "tb-1"]),
            json!({"tenantId": "t-1", "backupId": "tb-1"})
        );
        assert_eq!(
            input(&[
                "--tenant",
                "t-1",
                "--backup",
                "tb-1",
                "--files-only",
                "--clone-to",
                "t-2",
                "--poll-seconds",
                "1"
            ]),
            json!({"tenantId": "t-1", "backupId": "tb-1", "files": true, "database": false,
                   "cloneTo": "t-2", "pollSeconds": 1, "maxPollSeconds": 2})
        );
        assert_eq!(
            input(&[
                "--tenant",
                "t-1",
                "--backup",
                "tb-1",
                "--database-only",
                "--promote-database"
            ]),
            json!({"tenantId": "t-1", "backupId": "tb-1", "files": false, "database": true,
                   "promoteDatabase": true})
        );
    }

    #[test]
    fn the_input_is_a_request_the_restore_handler_accepts() {
        let value = input(&[
            "--tenant",
            "t-1",
            "--backup",
            "tb-1",
            "--files-only",
            "--clone-to",
            "t-2",
        ]);
        let request: bbws::restore::RestoreRequest = serde_json::from_value(value).unwrap();
        assert_eq!(request.clone_to.as_deref(), Some("t-2"));
    }

    #[test]
    fn side_by_side_asks_for_nothing_live_and_excludes_promotion() {
        assert_eq!(
            input(&["--tenant", "t-1", "--backup", "tb-1", "--side-by-side"]),
            json!({"tenantId": "t-1", "backupId": "tb-1", "sideBySide": true})
        );
        assert!(Cli::try_parse_from([
            "bbws",
            "restore",
            "--tenant",
            "t",
            "--backup",
            "b",
            "--side-by-side",
            "--promote-database",
        ])
        .is_err());
    }

    #[test]
    fn a_relative_at_is_resolved_against_the_local_clock() {
        assert_eq!(rfc3339(NOW), "2026-11-26T08:00:00Z");
        for (written, resolved) in [
            ("-4h", "2026-11-26T04:00:00Z"),
            ("90m-ago", "2026-11-26T06:30:00Z"),
            ("2d-ago", "2026-11-24T08:00:00Z"),
            ("-30m", "2026-11-26T07:30:00Z"),
            ("1h30m-ago", "2026-11-26T06:30:00Z"),
            ("45s ago", "2026-11-26T07:59:15Z"),
            ("-1w", "2026-11-19T08:00:00Z"),
        ] {
            let at = parse_at(written).unwrap();
            assert!(matches!(at, At::Ago { .. }), "{written}");
            assert_eq!(at.resolve(NOW), resolved, "{written}");
        }
        // An RFC 3339 time is sent as written, offset included.
        let moment = parse_at("2026-11-26T09:30:00+02:00").unwrap();
        assert_eq!(moment.resolve(NOW), "2026-11-26T09:30:00+02:00");
    }

    #[test]
    fn the_request_carries_the_resolved_moment_whichever_way_the_flag_is_written() {
        for flags in [&["--at", "-4h"][..], &["--at=-4h"], &["--at", "4h-ago"]] {
            assert_eq!(
                input(&[&["--tenant", "t-1"][..], flags].concat()),
                json!({"tenantId": "t-1", "at": "2026-11-26T04:00:00Z"}),
                "{flags:?}"
            );
        }
    }

    #[test]
    fn a_moment_that_is_neither_a_time_nor_a_span_back_is_a_usage_error() {
        for bad in [
            "4h",
            "-",
            "-ago",
            "-4",
            "4-ago",
            "-4x",
            "-h",
            "-h4",
            "-0m",
            "-4h-ago",
            "+4h",
            "yesterday",
            "2026-11-26",
            "-999999w",
            "-99999999999999999999s",
        ] {
            assert!(parse_at(bad).is_err(), "{bad}");
            let error = args(&["--tenant", "t-1", "--at", bad]).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn timeout_flags_map_to_the_requests_timeouts() {
        assert_eq!(
            input(&[
                "--tenant",
                "t-1",
                "--backup",
                "tb-1",
                "--timeout-files",
                "600",
                "--timeout-database",
                "3600",
                "--timeout-service",
                "300",
            ]),
            json!({"tenantId": "t-1", "backupId": "tb-1", "timeouts":
                   {"efsSeconds": 600, "databaseSeconds": 3600, "serviceSeconds": 300}})
        );
        assert_eq!(
            input(&[
                "--tenant",
                "t-1",
                "--backup",
                "tb-1",
                "--timeout-service",
                "7200"
            ]),
            json!({"tenantId": "t-1", "backupId": "tb-1", "timeouts": {"serviceSeconds": 7200}})
        );
        // What the handler refuses is refused before anything starts.
        for (flag, bad) in [
            ("--timeout-files", "0"),
            ("--timeout-database", "7201"),
            ("--timeout-service", "-1"),
            ("--timeout-files", "ten"),
        ] {
            let error = args(&["--tenant", "t-1", "--backup", "tb-1", flag, bad]).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{flag} {bad}");
        }
    }

    #[test]
    fn a_dry_run_asks_for_the_plan_only() {
        let value = input(&[
            "--tenant",
            "t-1",
            "--at",
            "-4h",
            "--dry-run",
            "--timeout-files",
            "60",
        ]);
        assert_eq!(
            value,
            json!({"tenantId": "t-1", "at": "2026-11-26T04:00:00Z", "dryRun": true,
                   "timeouts": {"efsSeconds": 60}})
        );
        let request: bbws::restore::RestoreRequest = serde_json::from_value(value).unwrap();
        assert_eq!(request.dry_run, Some(true));
        assert_eq!(request.timeouts.unwrap().efs_seconds, Some(60));
    }

    #[test]
    fn only_a_confirmed_terminal_or_yes_or_a_dry_run_lets_a_restore_start() {
        use Consent::*;
        for (nothing_live, yes, terminal, expected) in [
            (false, false, true, Ask),
            (false, false, false, Refuse),
            (false, true, true, Go),
            (false, true, false, Go),
            (true, false, true, Go),
            (true, false, false, Go),
            (true, true, true, Go),
            (true, true, false, Go),
        ] {
            assert_eq!(
                consent(!nothing_live, yes, terminal),
                expected,
                "nothing live {nothing_live}, --yes {yes}, terminal {terminal}"
            );
        }
        let parsed = args(&["--tenant", "t-1", "--backup", "tb-1", "-y"]).unwrap();
        assert!(parsed.yes && puts_something_live(&parsed));
        // A dry run and a side-by-side restore put nothing live.
        for flag in ["--dry-run", "--side-by-side"] {
            let parsed = args(&["--tenant", "t-1", "--backup", "tb-1", flag]).unwrap();
            assert!(!puts_something_live(&parsed), "{flag}");
        }
    }

    #[test]
    fn the_question_names_where_and_only_the_tenant_id_confirms() {
        let parsed = args(&["--tenant", "t-1", "--at", "-4h", "--clone-to", "t-2"]).unwrap();
        let target = TenantId::parse("t-2").unwrap();
        let arn = "arn:aws:states:af-south-1:123456789012:stateMachine:bbws-prod-tenant-restore";
        assert_eq!(region_and_account(arn), ("af-south-1", "123456789012"));
        let text = confirmation_text(&parsed, "prod", arn, &target);
        for says in [
            "environment prod",
            "account 123456789012",
            "region af-south-1",
            "into tenant t-2",
            "tenant t-1 as it was -4h",
        ] {
            assert!(text.contains(says), "{says}: {text}");
        }
        for (answer, confirmed) in [
            ("t-2\n", true),
            ("  t-2  \n", true),
            ("t-1\n", false),
            ("y\n", false),
            ("yes\n", false),
            ("", false),
        ] {
            let (mut term, out, err) = Term::captured(true, false);
            let mut reader = std::io::Cursor::new(answer.as_bytes());
            assert_eq!(
                ask(&mut term, &mut reader, &text, &target),
                confirmed,
                "{answer:?}"
            );
            assert_eq!(out.text(), "", "the question goes to stderr");
            assert!(err.text().contains("Type the tenant id (t-2)"));
        }
    }

    #[test]
    fn a_dry_runs_plan_says_points_moment_gap_sizes_and_what_goes_live() {
        let plan = json!({
            "tenantId": "t-1",
            "summary": "restore backup tb-1 of tenant t-1 into tenant t-1: files and database to new r-t-1-abcd1234",
            "files": {"recoveryPointArn": "arn:aws:backup:af-south-1:123456789012:recovery-point:rp-f",
                      "target": "/t-1", "sizeBytes": 3_145_728},
            "database": {"recoveryPointArn": "arn:aws:backup:af-south-1:123456789012:recovery-point:rp-d",
                         "target": "r-t-1-abcd1234"},
            "currentDatabase": {"arn": "arn:aws:rds:af-south-1:123456789012:db:t-1", "kind": "rdsInstance"},
            "service": {"arn": "arn:aws:ecs:af-south-1:123456789012:service/c/t-1", "cluster": "c", "name": "t-1"},
            "promoteDatabase": false,
            "pointInTime": {"at": "2026-11-26T04:00:00Z", "filesBackupId": "tb-1",
                            "filesCreatedAt": "2026-11-26T03:00:00Z", "databaseBackupId": "tb-0",
                            "databaseCreatedAt": "2026-11-26T02:59:00Z", "gapSeconds": 60},
        });
        let text = plan_lines(&plan).join("\n");
        for says in [
            "nothing was started or changed",
            "restore backup tb-1 of tenant t-1",
            "2026-11-26T04:00:00Z -> files of 2026-11-26T03:00:00Z (backup tb-1)",
            "database: of 2026-11-26T02:59:00Z (backup tb-0), gap 60 s",
            "rp-f (3.0 MiB) -> live in the tenant's directory /t-1",
            "rp-d (-) -> new r-t-1-abcd1234, side by side",
            "keeps its current database (arn:aws:rds:af-south-1:123456789012:db:t-1)",
            "service/c/t-1 redeployed",
        ] {
            assert!(text.contains(says), "{says}:\n{text}");
        }
        let promoted = json!({"summary": "s", "promoteDatabase": true,
                              "goesLive": "goes live: the database as r-1 (the current one kept, marked superseded)",
                              "database": {"recoveryPointArn": "rp", "target": "r-1", "sizeBytes": 10}});
        let text = plan_lines(&promoted).join("\n");
        assert!(text.contains("rp (10 B) -> new r-1, promoted"), "{text}");
        assert!(
            text.ends_with(
                "  goes live: the database as r-1 (the current one kept, marked superseded)"
            ),
            "{text}"
        );
        assert!(
            !text.contains("files:") && !text.contains("moment:"),
            "{text}"
        );
        let beside = json!({"summary": "s", "filesInto": "/.bbws-side-by-side/t-1/abcd1234",
                            "files": {"recoveryPointArn": "rp", "target": "/t-1"}});
        let text = plan_lines(&beside).join("\n");
        assert!(
            text.contains(
                "rp (-) -> beside the tenant's, in /.bbws-side-by-side/t-1/abcd1234 (not live)"
            ),
            "{text}"
        );
    }

    #[test]
    fn files_only_and_database_only_exclude_each_other() {
        let error = Cli::try_parse_from([
            "bbws",
            "restore",
            "--tenant",
            "t",
            "--backup",
            "b",
            "--files-only",
            "--database-only",
        ])
        .unwrap_err();
        assert_eq!(error.exit_code(), 2);
    }
}
