//! What the product knows of AWS itself, apart from any one capability: ARNs and the kinds
//! of resource they name, how a failed SDK call is classified, and EFS and RDS look-ups.

pub mod arn;
#[cfg(feature = "sdk-efs")]
pub mod efs;
#[cfg(feature = "sdk-rds")]
pub mod rds;
#[cfg(all(feature = "sdk-backup", feature = "sdk-rds"))]
pub mod recovery_points;
pub mod sdk;

pub use arn::{database_kind, service_target, Arn, ResourceKind, ServiceTarget};
