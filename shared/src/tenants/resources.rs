//! What holds a tenant's content: its directory on the shared file system (through its
//! access point), its database and its service, as resolution finds them or a request names
//! them.

use serde::{Deserialize, Serialize};

use crate::aws::ResourceKind;
pub use crate::aws::ServiceTarget;
use crate::tenant_id::TenantId;

/// Resources named explicitly in a request, instead of by tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Overrides {
    pub access_point_id: Option<String>,
    pub database_arn: Option<String>,
    pub service_arn: Option<String>,
}

/// The shared file system as seen by one tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileSystemTarget {
    pub file_system_id: String,
    pub file_system_arn: String,
    pub access_point_id: String,
    pub access_point_arn: String,
    /// The tenant's directory from the file system's root, e.g. `/tenant-1`.
    pub root_path: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseTarget {
    pub arn: String,
    pub kind: ResourceKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantResources {
    pub tenant_id: TenantId,
    pub file_system: FileSystemTarget,
    pub database: Option<DatabaseTarget>,
    pub service: Option<ServiceTarget>,
}
