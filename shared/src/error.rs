//! The error taxonomy: every handler failure is one of the kinds in [`error_table!`], the one
//! list that gives each its name (the Lambda `errorType` Step Functions matches in Retry and
//! Catch) and the status code the specification gives it.

use std::error::Error as StdError;
use std::fmt;

use lambda_runtime::Diagnostic;
use serde::{Deserialize, Serialize};

/// Writes [`ErrorKind`] and its table once: a variant, its `errorType` and its status code.
macro_rules! error_table {
    ($($(#[$doc:meta])* $kind:ident = $name:literal, $status:literal;)+) => {
        /// What went wrong, as the state machines and the CLI tell outcomes apart.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorKind {
            $($(#[$doc])* $kind,)+
        }

        impl ErrorKind {
            /// Every kind, in the table's order.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$kind),+];

            /// The stable name Step Functions sees as the error.
            pub const fn name(self) -> &'static str {
                match self {
                    $(ErrorKind::$kind => $name,)+
                }
            }

            /// The HTTP-style status code the specification gives the outcome.
            pub const fn status(self) -> u16 {
                match self {
                    $(ErrorKind::$kind => $status,)+
                }
            }
        }
    };
}

error_table! {
    InvalidTenant = "InvalidTenant", 400;
    BackupAlreadyRunning = "BackupAlreadyRunning", 409;
    BackupFailed = "BackupFailed", 500;
    BackupTimeout = "BackupTimeout", 504;
    BackupNotFound = "BackupNotFound", 404;
    InvalidRestoreTarget = "InvalidRestoreTarget", 400;
    RestoreFailed = "RestoreFailed", 500;
    RestoreTimeout = "RestoreTimeout", 504;
    /// The restored content is in place, but the tenant's object cache could not be
    /// flushed (unreachable or refusing): the site may serve objects cached before it.
    CacheNotFlushed = "CacheNotFlushed", 503;
    /// A fleet backup in which more tenants' backups failed than it tolerates; every other
    /// tenant was still backed up.
    TenantBackupsFailed = "TenantBackupsFailed", 500;
    /// A restore drill run in which a tenant's drill failed (its restore, its check against
    /// the backup's manifest, or its clean-up); the other tenants were drilled.
    RestoreDrillFailed = "RestoreDrillFailed", 500;
    /// A tenant's wp-content could not be mirrored to the content bucket (S3, the file
    /// system); what was uploaded before stays, and the next sync skips it.
    SyncFailed = "SyncFailed", 500;
    /// Another operation (restore, drill, sync, media ingest) holds the tenant's lease:
    /// nothing was changed; the message names the holder's execution.
    TenantBusy = "TenantBusy", 409;
    /// Throttling, a 5xx answer, a timeout or a dropped connection: the state machines retry
    /// it with backoff.
    Transient = "TransientAwsError", 503;
}

impl ErrorKind {
    /// The kind an execution's error name stands for; `None` for any other name (a
    /// `States.*` error, a name from a newer state machine).
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.iter().copied().find(|k| k.name() == name)
    }
}

/// A handler failure: its kind, a message for people, and the AWS error behind it, if any.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: capped(message.into(), MAX_MESSAGE_CHARS),
            source: None,
        }
    }

    /// An error caused by `source`; the message already says what the cause said.
    pub fn caused_by(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self {
            kind,
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Transient
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// Two errors are the same outcome when kind and message agree; the cause is detail.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for Error {}

impl From<Error> for Diagnostic {
    fn from(error: Error) -> Self {
        Diagnostic {
            error_type: error.name().to_owned(),
            error_message: format!("{}: {}", error.status(), error),
        }
    }
}

/// Which family of outcomes a failure belongs to: a failed AWS call during a backup is a
/// BackupFailed, during a restore a RestoreFailed, during a content sync a SyncFailed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Backup,
    Restore,
    Sync,
}

impl Operation {
    pub fn failed(self, message: impl Into<String>) -> Error {
        Error::new(self.failed_kind(), message)
    }

    pub fn failed_kind(self) -> ErrorKind {
        match self {
            Operation::Backup => ErrorKind::BackupFailed,
            Operation::Restore => ErrorKind::RestoreFailed,
            Operation::Sync => ErrorKind::SyncFailed,
        }
    }

    pub fn timeout(self, message: impl Into<String>) -> Error {
        let kind = match self {
            Operation::Backup => ErrorKind::BackupTimeout,
            Operation::Restore => ErrorKind::RestoreTimeout,
            // A sync is bounded by its batches, each within the function's own timeout.
            Operation::Sync => ErrorKind::SyncFailed,
        };
        Error::new(kind, message)
    }

    /// A request that cannot be understood: nothing has been asked of AWS yet.
    pub fn bad_request(self, message: impl Into<String>) -> Error {
        let kind = match self {
            Operation::Backup => ErrorKind::InvalidTenant,
            Operation::Restore => ErrorKind::InvalidRestoreTarget,
            Operation::Sync => ErrorKind::InvalidTenant,
        };
        Error::new(kind, message)
    }
}

/// The most of one input value an error message repeats: a console user's 300 KB field
/// must not make the error itself too large for Step Functions (its 256 KB payload limit
/// would end the execution `States.DataLimitExceeded` instead of with this error's name).
pub const MAX_ECHO_CHARS: usize = 100;
/// The most any error message carries.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// `value` as an error message repeats it: at most [`MAX_ECHO_CHARS`] characters, then "…".
pub fn echo(value: &str) -> String {
    capped(value.to_owned(), MAX_ECHO_CHARS)
}

/// `text` cut after `max_chars` characters, with "…" where it was cut.
pub fn capped(mut text: String, max_chars: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(max_chars) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_the_specified_name_and_status() {
        let cases = [
            (ErrorKind::InvalidTenant, "InvalidTenant", 400),
            (ErrorKind::BackupAlreadyRunning, "BackupAlreadyRunning", 409),
            (ErrorKind::BackupFailed, "BackupFailed", 500),
            (ErrorKind::BackupTimeout, "BackupTimeout", 504),
            (ErrorKind::BackupNotFound, "BackupNotFound", 404),
            (ErrorKind::InvalidRestoreTarget, "InvalidRestoreTarget", 400),
            (ErrorKind::RestoreFailed, "RestoreFailed", 500),
            (ErrorKind::RestoreTimeout, "RestoreTimeout", 504),
            (ErrorKind::CacheNotFlushed, "CacheNotFlushed", 503),
            (ErrorKind::TenantBackupsFailed, "TenantBackupsFailed", 500),
            (ErrorKind::RestoreDrillFailed, "RestoreDrillFailed", 500),
            (ErrorKind::SyncFailed, "SyncFailed", 500),
            (ErrorKind::TenantBusy, "TenantBusy", 409),
            (ErrorKind::Transient, "TransientAwsError", 503),
        ];
        assert_eq!(cases.len(), ErrorKind::ALL.len());
        for (kind, name, status) in cases {
            let error = Error::new(kind, "x");
            assert_eq!(error.name(), name);
            assert_eq!(error.status(), status);
            assert_eq!(ErrorKind::from_name(name), Some(kind));
        }
        assert_eq!(ErrorKind::from_name("States.Timeout"), None);
    }

    #[test]
    fn diagnostic_carries_the_stable_name_and_the_status_code() {
        let diagnostic: Diagnostic = Error::new(
            ErrorKind::BackupAlreadyRunning,
            "job j-1 is running on db-1",
        )
        .into();
        assert_eq!(diagnostic.error_type, "BackupAlreadyRunning");
        assert_eq!(diagnostic.error_message, "409: job j-1 is running on db-1");
    }

    #[test]
    fn the_cause_is_kept_as_the_source() {
        let cause = std::io::Error::other("disk on fire");
        let error = Error::caused_by(
            ErrorKind::RestoreFailed,
            "moving files: disk on fire",
            cause,
        );
        assert_eq!(error.source().unwrap().to_string(), "disk on fire");
        assert_eq!(error.to_string(), "moving files: disk on fire");
    }

    #[test]
    fn operation_picks_the_family() {
        assert_eq!(Operation::Backup.failed("x").name(), "BackupFailed");
        assert_eq!(Operation::Restore.failed("x").name(), "RestoreFailed");
        assert_eq!(Operation::Backup.timeout("x").name(), "BackupTimeout");
        assert_eq!(Operation::Restore.timeout("x").name(), "RestoreTimeout");
        assert_eq!(Operation::Backup.bad_request("x").name(), "InvalidTenant");
        assert_eq!(
            Operation::Restore.bad_request("x").name(),
            "InvalidRestoreTarget"
        );
        assert_eq!(Operation::Sync.failed("x").name(), "SyncFailed");
        assert_eq!(Operation::Sync.bad_request("x").name(), "InvalidTenant");
    }

    #[test]
    fn echoed_values_and_messages_are_capped() {
        assert_eq!(echo("short"), "short");
        let long = "é".repeat(300);
        let echoed = echo(&long);
        assert_eq!(echoed.chars().count(), MAX_ECHO_CHARS + 1);
        assert!(echoed.ends_with('…'));
        let huge = Error::new(ErrorKind::InvalidTenant, "x".repeat(300_000));
        assert_eq!(huge.to_string().chars().count(), MAX_MESSAGE_CHARS + 1);
    }
}
