//! Tag keys the product writes and reads.

pub const TENANT_ID: &str = "bbws:tenant-id";
pub const BACKUP_ID: &str = "bbws:backup-id";
pub const BACKUP_TYPE: &str = "bbws:backup-type";
pub const COMPONENT: &str = "bbws:component";
/// Prefix of the tag a joined shared file-system recovery point gets for each tenant backup
/// without a database of its own that joined it (the others say it by [`FILES_POINT`]): `bbws:backup:<tenant backup id>` = `<tenant id>/<kind>` (kind `fleet` or
/// `on-demand`; a bare `<tenant id>` is on-demand). `bbws catalog rebuild` reads it.
pub const JOINED_BACKUP_PREFIX: &str = "bbws:backup:";
/// On a tenant backup's own database recovery point: the shared file-system recovery point
/// the backup joined, so that the shared point needs no tag per tenant (50 at most).
/// `bbws catalog rebuild` reads it.
pub const FILES_POINT: &str = "bbws:files-point";
/// On a tenant's access point: when its life on the file system began, as the catalog
/// records it (`YYYYMMDDTHHMMSSZ`). `bbws catalog rebuild` reads it.
pub const ONBOARDED_AT: &str = "bbws:onboarded-at";
/// Prefix of the tag an offboarded tenant's life leaves on its newest file-system recovery
/// points: `bbws:life:<access point id>` = `<tenant id>/<onboarded at>/<offboarded at>`
/// (`YYYYMMDDTHHMMSSZ`). The newest point of a kind is the last of that kind to expire, so
/// the life is readable for as long as any point it decides about exists.
pub const LIFE_PREFIX: &str = "bbws:life:";
pub const ENVIRONMENT: &str = "bbws:environment";
/// On a backup's own file-system point: the manifest of the tenant's files when the job
/// started (`<files>/<bytes>/<sha256 hex>`), so a catalog rebuild knows it too.
pub const MANIFEST: &str = "bbws:manifest";
/// On a restored database: the tenant backup id it was restored from.
pub const RESTORED_FROM: &str = "bbws:restored-from";
/// On a restored database: the tenant it was restored for (not yet its database).
pub const RESTORED_FOR: &str = "bbws:restored-for";
/// On a promoted database: when it became the tenant's database (`YYYYMMDDTHHMMSSZ`).
/// Of several databases tagged with one tenant, the latest promoted is the tenant's.
pub const PROMOTED_AT: &str = "bbws:promoted-at";
/// On a tenant's previous database once a restore put another live: the tenant it was
/// (its `bbws:tenant-id` tag is removed, so no plan or backup takes it for the tenant's),
/// the identifier of the database that replaced it, and when (`YYYYMMDDTHHMMSSZ`).
pub const SUPERSEDED_TENANT_ID: &str = "bbws:superseded-tenant-id";
pub const SUPERSEDED_BY: &str = "bbws:superseded-by";
pub const SUPERSEDED_AT: &str = "bbws:superseded-at";
