//! The CLI's exit codes: one per named error an execution can fail with, so a script can
//! tell the outcomes apart without parsing output.

use bbws::ErrorKind;

/// The exit code for an execution that failed with the named error. Any other name (a
/// `States.*` error, a name from a newer state machine) is 1.
pub fn exit_code(error_name: &str) -> i32 {
    match ErrorKind::from_name(error_name) {
        Some(kind) => code_of(kind),
        None => 1,
    }
}

/// Every kind has its own code: adding a kind to the library's table fails to compile
/// here until it has one.
fn code_of(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::InvalidTenant => 40,
        ErrorKind::InvalidRestoreTarget => 41,
        ErrorKind::BackupNotFound => 44,
        ErrorKind::BackupAlreadyRunning => 49,
        ErrorKind::BackupFailed => 50,
        ErrorKind::RestoreFailed => 51,
        ErrorKind::Transient => 53,
        ErrorKind::BackupTimeout => 54,
        ErrorKind::RestoreTimeout => 55,
        ErrorKind::TenantBackupsFailed => 56,
        ErrorKind::RestoreDrillFailed => 57,
        ErrorKind::SyncFailed => 58,
        ErrorKind::CacheNotFlushed => 59,
        ErrorKind::TenantBusy => 60,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_name_has_its_own_cli_exit_code() {
        let codes = [
            ("InvalidTenant", 40),
            ("InvalidRestoreTarget", 41),
            ("BackupNotFound", 44),
            ("BackupAlreadyRunning", 49),
            ("BackupFailed", 50),
            ("RestoreFailed", 51),
            ("TransientAwsError", 53),
            ("BackupTimeout", 54),
            ("RestoreTimeout", 55),
            ("TenantBackupsFailed", 56),
            ("RestoreDrillFailed", 57),
            ("SyncFailed", 58),
            ("CacheNotFlushed", 59),
            ("TenantBusy", 60),
        ];
        assert_eq!(codes.len(), ErrorKind::ALL.len());
        for (name, code) in codes {
            assert_eq!(exit_code(name), code, "{name}");
        }
        for unknown in ["States.Timeout", "States.TaskFailed", "", "invalidtenant"] {
            assert_eq!(exit_code(unknown), 1, "{unknown}");
        }
    }
}
