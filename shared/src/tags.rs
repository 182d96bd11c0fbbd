//! Tag keys the product writes and reads.

pub const TENANT_ID: &str = "bbws:tenant-id";
pub const BACKUP_ID: &str = "bbws:backup-id";
pub const BACKUP_TYPE: &str = "bbws:backup-type";
pub const COMPONENT: &str = "bbws:component";
/// Prefix of the tag a joined shared file-system recovery point gets for each tenant backup
/// that joined it: `bbws:backup:<tenant backup id>` = `<tenant id>`.
pub const JOINED_BACKUP_PREFIX: &str = "bbws:backup:";
pub const ENVIRONMENT: &str = "bbws:environment";
/// On a restored database: the tenant backup id it was restored from.
pub const RESTORED_FROM: &str = "bbws:restored-from";
/// On a restored database: the tenant it was restored for (not yet its database).
pub const RESTORED_FOR: &str = "bbws:restored-for";
/// On a promoted database: when it became the tenant's database (`YYYYMMDDTHHMMSSZ`).
/// Of several databases tagged with one tenant, the latest promoted is the tenant's.
pub const PROMOTED_AT: &str = "bbws:promoted-at";
