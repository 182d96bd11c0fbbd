//! `bbws restore`: the restore state machine's input from the command line.

use bbws::TenantId;
use serde_json::{json, Map, Value};

use crate::RestoreArgs;

/// The restore state machine's input: only the keys the flags set.
pub fn restore_input(args: &RestoreArgs, tenant: &TenantId, clone_to: Option<&TenantId>) -> Value {
    let mut input = Map::new();
    input.insert("tenantId".into(), json!(tenant.as_str()));
    match &args.at {
        Some(at) => input.insert("at".into(), json!(at)),
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
    Value::Object(input)
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
        restore_input(&args, &tenant, clone_to.as_ref())
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
