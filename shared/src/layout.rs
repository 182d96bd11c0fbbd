//! Where the product's files live on the shared file system, named once.
//!
//! Seed 000 §4.4 mounts a tenant's access point (root `/<tenant>`, §4.2) at
//! `/var/www/html/wp-content`: the tenant's directory IS its wp-content. WordPress reads
//! `/<tenant>/uploads/YYYY/MM/…`, `/<tenant>/themes/…` and `/<tenant>/plugins/…`; nothing
//! may add a `wp-content/` level inside it.
//!
//! Beside the tenants' directories, at the file system's root, live only names no tenant id
//! can take (ids are `[a-z0-9-]`, so a leading dot or underscore is safe):
//!
//! * `.bbws-kept/<tenant>/<name>`: a tenant's content a restore replaced, never deleted;
//! * `.bbws-scratch/<name>`: scratch space nothing serves (a drill's restore);
//! * `aws-backup-restore_<datetime>/<item path>`: what AWS Backup's EFS item-level restores
//!   write (<https://docs.aws.amazon.com/aws-backup/latest/devguide/restoring-efs.html>).

use std::path::{Path, PathBuf};

use crate::tenant_id::TenantId;

/// WordPress's uploads, inside the tenant's directory: `uploads/YYYY/MM/<name>`.
pub const UPLOADS: &str = "uploads";
/// WordPress's themes, inside the tenant's directory.
pub const THEMES: &str = "themes";
/// WordPress's plugins, inside the tenant's directory.
pub const PLUGINS: &str = "plugins";
/// Where replaced directories are kept, at the file system's root.
pub const KEPT_DIR: &str = ".bbws-kept";
/// Scratch space that nothing serves, at the file system's root.
pub const SCRATCH_DIR: &str = ".bbws-scratch";
/// Prefix of the directories AWS Backup's EFS item-level restores create at the root.
pub const RESTORE_DIR_PREFIX: &str = "aws-backup-restore_";
/// Prefix of an upload's temporary file, in the month's uploads directory it lands in.
pub const UPLOAD_TEMP_PREFIX: &str = ".bbws-upload-";
/// How a drill's scratch is named (`drill-<tenant>-<date>`): also its restore's execution
/// and database names, so no tenant may be onboarded under it.
pub const DRILL_PREFIX: &str = "drill-";
/// What the site calls the tenant's directory: ECS mounts it at `/var/www/html/wp-content`.
/// Paths told to people and the content bucket's keys (`<tenant>/wp-content/<path>`) use it.
pub const SITE_DIR: &str = "wp-content";

/// The tenant's directory (= its wp-content) under `mount`, the file system's root.
pub fn tenant_dir(mount: &Path, tenant: &TenantId) -> PathBuf {
    mount.join(tenant.as_str())
}

/// A month's uploads, from the tenant's directory: `uploads/YYYY/MM`.
pub fn uploads_month(year: u16, month: u8) -> String {
    format!("{UPLOADS}/{year:04}/{month:02}")
}

/// The temporary file an upload is written to before it is linked under its name.
pub fn upload_temp_name(tag: &str) -> String {
    format!("{UPLOAD_TEMP_PREFIX}{tag}.tmp")
}

/// A scratch directory under `mount`: `.bbws-scratch/<name>`.
pub fn scratch_dir(mount: &Path, name: &str) -> PathBuf {
    mount.join(SCRATCH_DIR).join(name)
}

/// A scratch directory's path from the file system's root, as access points and restores
/// name paths: `/.bbws-scratch/<name>`.
pub fn scratch_root_path(name: &str) -> String {
    format!("/{SCRATCH_DIR}/{name}")
}

/// Where the directory `dir` (relative to the root) is kept when a restore replaces it:
/// `.bbws-kept/<dir>/<name>`.
pub fn kept_dir(mount: &Path, dir: &Path, name: &str) -> PathBuf {
    kept_root(mount, dir).join(name)
}

/// Every kept copy of the directory `dir` (relative to the root): `.bbws-kept/<dir>`.
pub fn kept_root(mount: &Path, dir: &Path) -> PathBuf {
    mount.join(KEPT_DIR).join(dir)
}

/// The content bucket's key prefix of a tenant's directory.
pub fn content_prefix(tenant: &TenantId) -> String {
    format!("{tenant}/{SITE_DIR}/")
}

/// A path in the tenant's directory as the site names it, from its document root:
/// `uploads/2026/11/a.jpg` is `wp-content/uploads/2026/11/a.jpg`.
pub fn site_path(in_tenant_dir: &str) -> String {
    format!("{SITE_DIR}/{in_tenant_dir}")
}

/// Why `tenant` may not be onboarded, if a name the product reserves could collide with it.
pub fn reserved(tenant: &TenantId) -> Option<String> {
    tenant.as_str().starts_with(DRILL_PREFIX).then(|| {
        format!(
            "tenant id {tenant} is reserved: ids starting with {DRILL_PREFIX} name restore \
             drills' scratch space, executions and databases"
        )
    })
}

/// The moment an `aws-backup-restore_<datetime>` directory names, in whole seconds since the
/// epoch (a fraction is dropped). AWS documents the name only as `aws-backup-restore_datetime`;
/// the local stand-in writes `aws-backup-restore_2025-03-28T14-13-02-250589632Z`. Read: the
/// date, `T`, hours, minutes and seconds, each joined by `-`, then anything (a fraction, `Z`).
pub fn restore_dir_time(name: &str) -> Option<i64> {
    let rest = name.strip_prefix(RESTORE_DIR_PREFIX)?;
    let (date, time) = rest.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i32>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    if d.next().is_some() {
        return None;
    }
    let digits = |s: Option<&str>| s.filter(|s| s.len() == 2)?.parse::<u8>().ok();
    let mut t = time.split(['-', ':', '.', 'Z']);
    let (hour, minute, second) = (digits(t.next())?, digits(t.next())?, digits(t.next())?);
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month as u8).ok()?, day as u8)
            .ok()?;
    let time = time::Time::from_hms(hour, minute, second).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, time)
            .assume_utc()
            .unix_timestamp(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tenant_directory_is_its_wp_content() {
        let t = TenantId::parse("tenant-1").unwrap();
        let mount = Path::new("/mnt/efs");
        assert_eq!(tenant_dir(mount, &t), Path::new("/mnt/efs/tenant-1"));
        assert_eq!(uploads_month(2026, 3), "uploads/2026/03");
        assert_eq!(content_prefix(&t), "tenant-1/wp-content/");
        assert_eq!(
            site_path(&format!("{}/a.jpg", uploads_month(2026, 11))),
            "wp-content/uploads/2026/11/a.jpg"
        );
        assert_eq!(
            kept_dir(mount, Path::new("tenant-1"), "x"),
            Path::new("/mnt/efs/.bbws-kept/tenant-1/x")
        );
    }

    #[test]
    fn scratch_and_kept_space_lie_outside_the_tenant_id_namespace() {
        for name in [
            KEPT_DIR,
            SCRATCH_DIR,
            "aws-backup-restore_2026-01-01T00-00-00Z",
        ] {
            assert!(TenantId::parse(name).is_err(), "{name}");
        }
        assert_eq!(
            scratch_dir(Path::new("/m"), "drill-t-20261126"),
            Path::new("/m/.bbws-scratch/drill-t-20261126")
        );
        assert_eq!(
            scratch_root_path("drill-t-1"),
            "/.bbws-scratch/drill-t-1".to_owned()
        );
    }

    #[test]
    fn drill_names_are_reserved_and_others_are_not() {
        assert!(reserved(&TenantId::parse("drill-shop-20261126").unwrap()).is_some());
        assert!(reserved(&TenantId::parse("drills").unwrap()).is_none());
        assert!(reserved(&TenantId::parse("tenant-1").unwrap()).is_none());
    }

    #[test]
    fn restore_directories_are_read_to_the_second() {
        // 2025-03-28T14:13:02Z
        let at = 1_743_171_182;
        for name in [
            "aws-backup-restore_2025-03-28T14-13-02-250589632Z",
            "aws-backup-restore_2025-03-28T14-13-02Z",
            "aws-backup-restore_2025-03-28T14-13-02",
            "aws-backup-restore_2025-03-28T14-13-02-479137Z",
        ] {
            assert_eq!(restore_dir_time(name), Some(at), "{name}");
        }
        for name in [
            "aws-backup-restore_",
            "aws-backup-restore_x",
            "aws-backup-restore_2025-13-28T14-13-02Z",
            "aws-backup-restore_2025-03-28T1-13-02Z",
            "tenant-1",
        ] {
            assert_eq!(restore_dir_time(name), None, "{name}");
        }
    }
}
