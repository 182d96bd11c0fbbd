//! Tenant restores: the request and plan ([`request`]), the `restore` handler that plans and
//! starts the restore jobs and finishes and promotes the restored database ([`service`],
//! [`database`]), `promote-restore`, which puts restored files in place ([`files`]), and
//! `force-redeploy`, which restarts the tenant's service ([`redeploy`]).

#[cfg(all(feature = "sdk-rds", feature = "sdk-ssm", feature = "sdk-backup"))]
pub mod database;
pub mod files;
#[cfg(feature = "sdk-ecs")]
pub mod redeploy;
pub mod request;
#[cfg(all(
    feature = "sdk-backup",
    feature = "sdk-dynamodb",
    feature = "sdk-efs",
    feature = "sdk-tagging",
    feature = "sdk-rds",
    feature = "sdk-ssm"
))]
pub mod service;

pub use request::{
    request_key, restored_identifier, writer_identifier, PlanLease, PointInTime, RestoreInput,
    RestorePlan, RestoreRequest, RestoreSource, RestoreTimeouts, UsedBackup, DRILL_PREFIX,
};
#[cfg(all(
    feature = "sdk-backup",
    feature = "sdk-dynamodb",
    feature = "sdk-efs",
    feature = "sdk-tagging",
    feature = "sdk-rds",
    feature = "sdk-ssm"
))]
pub use service::{handler, DatabaseNetwork, RestoreService};
