//! Tenant backups: the request and plan ([`request`]), the `start-backup` handler that plans
//! and starts them ([`service`]), and the fleet backup's first step ([`fleet`]).

#[cfg(feature = "sdk-tagging")]
pub mod fleet;
pub mod request;
#[cfg(all(feature = "sdk-backup", feature = "sdk-efs", feature = "sdk-tagging"))]
pub mod service;

pub use request::{
    BackupPlan, BackupRequest, BackupTimeouts, FileSystemAction, SharedBackup, StartBackupInput,
};
#[cfg(all(feature = "sdk-backup", feature = "sdk-efs", feature = "sdk-tagging"))]
pub use service::{handler, BackupService};
