//! Tenant backups: the request and plan ([`request`]), the `start-backup` handler that plans
//! and starts them ([`service`]), and the fleet backup: its pages of tenants ([`fleet`]) and
//! the tenant backup executions each page starts and follows ([`tenant_runs`]).

pub mod fleet;
pub mod request;
#[cfg(all(feature = "sdk-backup", feature = "sdk-efs", feature = "sdk-tagging"))]
pub mod service;
#[cfg(feature = "sdk-sfn")]
pub mod tenant_runs;

pub use request::{
    BackupPlan, BackupRequest, BackupTimeouts, FileSystemAction, SharedBackup, StartBackupInput,
};
#[cfg(all(feature = "sdk-backup", feature = "sdk-efs", feature = "sdk-tagging"))]
pub use service::{handler, BackupService};
