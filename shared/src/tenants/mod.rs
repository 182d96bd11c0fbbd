//! Tenants: what holds a tenant's content and how it is found (resolution by tag), the list
//! of every tenant, and the tenant lifecycle (onboarding and offboarding).

#[cfg(feature = "sdk-efs")]
pub mod access_points;
pub mod cache_user;
pub mod endpoint;
pub mod lifecycle;
#[cfg(feature = "sdk-tagging")]
pub mod list;
#[cfg(all(
    feature = "sdk-efs",
    feature = "sdk-tagging",
    feature = "sdk-eventbridge",
    feature = "sdk-rds",
    feature = "sdk-ssm"
))]
pub mod onboarding;
#[cfg(all(feature = "sdk-efs", feature = "sdk-tagging"))]
pub mod resolve;
pub mod resources;

pub use lifecycle::{parse_event, TenantEvent};
pub use resources::{DatabaseTarget, FileSystemTarget, Overrides, ServiceTarget, TenantResources};

/// The tagging API's name for an EFS access point.
#[cfg(feature = "sdk-tagging")]
const TYPE_ACCESS_POINT: &str = "elasticfilesystem:access-point";
