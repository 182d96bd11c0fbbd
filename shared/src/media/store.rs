//! Putting an accepted upload into a tenant's WordPress uploads on the mounted file system:
//! `/<tenant>/uploads/YYYY/MM/<name>` (the tenant's directory is its wp-content, see
//! [`crate::layout`]), owned by WordPress (33:33), mode 0644.
//!
//! The file is written whole to a temporary name in the same directory, flushed, given its
//! mode and owner, and only then linked under its final name, so the site never sees half a
//! file. A hard link rather than a rename: a link never replaces a file that appeared under
//! that name meanwhile (it fails, and the next free name is taken), where a rename would.
//! The temporary name is removed in every case.
//!
//! The tenant's directory is writable by its site, so the site could swap a directory on
//! the way for a symbolic link at any moment, to have this root-mounted writer write into
//! another tenant's files: the tenant's directory is opened once ([`crate::held`]), every
//! directory below it is made or opened beneath that handle through no link, modes and
//! owners are set on the handles, and the temporary file is created new beneath its month's
//! handle (`O_EXCL`, never through a link).
//!
//! A temporary file is never left: removed when the write fails at any step, and one an
//! invocation that died left behind (older than [`STALE_TEMP_SECONDS`]) is removed by the
//! next upload into that month.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::unique_name;
use crate::held::{Held, Kind};
use crate::layout;
use crate::tenant_id::TenantId;

/// WordPress's user and group in the tenants' containers (`www-data`).
pub const WORDPRESS_OWNER: (u32, u32) = (33, 33);
/// A file's mode in the uploads.
pub const FILE_MODE: u32 = 0o644;
/// A directory's mode in the uploads, as WordPress makes them.
pub const DIR_MODE: u32 = 0o755;
/// A temporary file older than this was left by an invocation that died: Lambda ends any
/// invocation within 15 minutes.
pub const STALE_TEMP_SECONDS: i64 = 900;

/// Where an upload was put.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Its name, `-<n>` added on a clash.
    pub file_name: String,
    /// Its path as the tenant's site sees it, from its document root (the tenant's directory
    /// is mounted as `wp-content`): `wp-content/uploads/YYYY/MM/<name>`.
    pub file_path: String,
    /// Its path on the mounted file system.
    pub full_path: PathBuf,
}

/// Writes `content` as `name` into the tenant's uploads for `year`/`month`, under `mount`
/// (the file system's root). `owner` is given to the file and to every directory made;
/// `None` leaves them the writer's. `temp_tag` names the temporary file (the upload's id).
pub fn store(
    mount: &Path,
    tenant: &TenantId,
    when: (u16, u8),
    name: &str,
    content: &[u8],
    owner: Option<(u32, u32)>,
    temp_tag: &str,
) -> io::Result<Stored> {
    let root = Held::open(mount)?;
    let tenant_dir = root
        .ensure_dir(tenant.as_str(), DIR_MODE, owner)
        .map_err(|e| io::Error::new(e.kind(), format!("tenant {tenant}'s directory: {e}")))?;
    root.race_point(&format!("ingest-tenant-held.{tenant}"));
    store_beneath(&tenant_dir, when, name, content, owner, temp_tag)
}

/// [`store`] into the tenant's directory already held.
pub fn store_beneath(
    tenant_dir: &Held,
    (year, month): (u16, u8),
    name: &str,
    content: &[u8],
    owner: Option<(u32, u32)>,
    temp_tag: &str,
) -> io::Result<Stored> {
    let relative_dir = layout::uploads_month(year, month);
    let mut dir = tenant_dir.clone();
    for part in relative_dir.split('/') {
        dir = dir.ensure_dir(part, DIR_MODE, owner)?;
    }
    sweep_stale_temps(&dir);

    let temp = layout::upload_temp_name(temp_tag);
    let written = write_temp(&dir, &temp, content, owner);
    let linked = written.and_then(|()| link_free_name(&dir, name, &temp));
    // The temporary name goes whether the file was linked or not.
    let _ = dir.remove_file(&temp);
    let file_name = linked?;
    Ok(Stored {
        file_path: layout::site_path(&format!("{relative_dir}/{file_name}")),
        full_path: dir.path().join(&file_name),
        file_name,
    })
}

/// Removes the temporary files of invocations that died in `dir`; a failure is only logged.
fn sweep_stale_temps(dir: &Held) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let Ok(entries) = dir.entries() else { return };
    for entry in entries {
        let Some(name) = entry.name.to_str() else {
            continue;
        };
        if entry.kind != Kind::File || !is_upload_temp(name) {
            continue;
        }
        let stale = dir
            .stat(name)
            .ok()
            .flatten()
            .is_some_and(|s| now - s.mtime > STALE_TEMP_SECONDS);
        if stale {
            match dir.remove_file(name) {
                Ok(()) => tracing::info!(name, "a temporary file an earlier upload left: removed"),
                Err(e) => tracing::warn!(name, error = %e, "a stale temporary file stays"),
            }
        }
    }
}

/// Whether `name` is an upload's temporary file (`.bbws-upload-<tag>.tmp`).
pub fn is_upload_temp(name: &str) -> bool {
    name.starts_with(layout::UPLOAD_TEMP_PREFIX) && name.ends_with(".tmp")
}

fn write_temp(dir: &Held, temp: &str, content: &[u8], owner: Option<(u32, u32)>) -> io::Result<()> {
    // Created with its mode, set again on the handle past the umask.
    let mut file = dir.create_new(temp, FILE_MODE)?;
    file.write_all(content)?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::fchown(&file, Some(uid), Some(gid))?;
    }
    file.sync_all()
}

/// Links `temp` as `name`, or the first free `name-<n>`; a name taken meanwhile is skipped.
fn link_free_name(dir: &Held, name: &str, temp: &str) -> io::Result<String> {
    crate::held::plain_name(name)?;
    // A name that cannot be asked about counts as free: linking it then fails, named.
    let exists = |n: &str| matches!(dir.stat(n), Ok(Some(_)));
    for _ in 0..100 {
        let free = unique_name(name, exists);
        match dir.link(temp, &free) {
            Ok(()) => return Ok(free),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "no free name for {name} in {} after 100 tries",
        dir.path().display()
    )))
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::MetadataExt;

    use super::*;

    fn tenant() -> TenantId {
        TenantId::parse("tenant-1").unwrap()
    }

    #[test]
    fn a_file_lands_in_its_month_with_its_mode_and_nothing_else_left() {
        let mount = tempfile::tempdir().unwrap();
        let stored = store(
            mount.path(),
            &tenant(),
            (2026, 11),
            "a.jpg",
            b"bytes",
            None,
            "u1",
        )
        .unwrap();
        assert_eq!(stored.file_name, "a.jpg");
        assert_eq!(stored.file_path, "wp-content/uploads/2026/11/a.jpg");
        let full = mount.path().join("tenant-1/uploads/2026/11/a.jpg");
        assert_eq!(stored.full_path, full);
        assert_eq!(fs::read(&full).unwrap(), b"bytes");
        assert_eq!(fs::metadata(&full).unwrap().mode() & 0o777, 0o644);
        assert_eq!(
            fs::metadata(full.parent().unwrap()).unwrap().mode() & 0o777,
            0o755
        );
        let names: Vec<_> = fs::read_dir(full.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.jpg"], "no temporary file is left");
    }

    #[test]
    fn a_clash_gets_the_next_number_and_nothing_is_replaced() {
        let mount = tempfile::tempdir().unwrap();
        let first = store(
            mount.path(),
            &tenant(),
            (2026, 1),
            "a.jpg",
            b"one",
            None,
            "u1",
        )
        .unwrap();
        let second = store(
            mount.path(),
            &tenant(),
            (2026, 1),
            "a.jpg",
            b"two",
            None,
            "u2",
        )
        .unwrap();
        let third = store(
            mount.path(),
            &tenant(),
            (2026, 1),
            "a.jpg",
            b"three",
            None,
            "u3",
        )
        .unwrap();
        assert_eq!(
            [
                first.file_name.as_str(),
                second.file_name.as_str(),
                third.file_name.as_str()
            ],
            ["a.jpg", "a-1.jpg", "a-2.jpg"]
        );
        assert_eq!(fs::read(&first.full_path).unwrap(), b"one");
        assert_eq!(fs::read(&third.full_path).unwrap(), b"three");
    }

    #[test]
    fn the_owner_is_given_to_the_file_and_the_directories_made() {
        let mount = tempfile::tempdir().unwrap();
        let me = (
            fs::metadata(mount.path()).unwrap().uid(),
            fs::metadata(mount.path()).unwrap().gid(),
        );
        // Only root may give files away; as anyone else, giving them to oneself is the test.
        let owner = if me.0 == 0 { WORDPRESS_OWNER } else { me };
        let stored = store(
            mount.path(),
            &tenant(),
            (2026, 11),
            "a.png",
            b"x",
            Some(owner),
            "u1",
        )
        .unwrap();
        let meta = fs::metadata(&stored.full_path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), owner);
        for dir in ["tenant-1", "tenant-1/uploads", "tenant-1/uploads/2026/11"] {
            let meta = fs::metadata(mount.path().join(dir)).unwrap();
            assert_eq!((meta.uid(), meta.gid()), owner, "{dir}");
        }
    }

    #[test]
    fn a_link_on_the_way_is_never_followed() {
        let mount = tempfile::tempdir().unwrap();
        let other = mount.path().join("tenant-2/uploads");
        fs::create_dir_all(&other).unwrap();
        fs::create_dir_all(mount.path().join("tenant-1")).unwrap();
        std::os::unix::fs::symlink(&other, mount.path().join("tenant-1/uploads")).unwrap();
        let error = store(
            mount.path(),
            &tenant(),
            (2026, 11),
            "a.jpg",
            b"x",
            None,
            "u1",
        )
        .unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");
        assert_eq!(
            fs::read_dir(&other).unwrap().count(),
            0,
            "nothing written into tenant-2"
        );
    }

    #[test]
    fn a_linked_temporary_name_is_refused() {
        let mount = tempfile::tempdir().unwrap();
        let dir = mount.path().join("tenant-1/uploads/2026/11");
        fs::create_dir_all(&dir).unwrap();
        let target = mount.path().join("elsewhere");
        std::os::unix::fs::symlink(&target, dir.join(".bbws-upload-u1.tmp")).unwrap();
        assert!(store(
            mount.path(),
            &tenant(),
            (2026, 11),
            "a.jpg",
            b"x",
            None,
            "u1"
        )
        .is_err());
        assert!(!target.exists());
    }

    #[test]
    fn a_directory_swapped_for_a_link_after_the_tenant_is_held_is_refused() {
        let mount = tempfile::tempdir().unwrap();
        let victim = mount.path().join("tenant-2/uploads/2026/11");
        fs::create_dir_all(&victim).unwrap();
        fs::create_dir_all(mount.path().join("tenant-1/uploads/2026/11")).unwrap();
        crate::held::set_race_hook(
            mount.path(),
            "ingest-tenant-held.tenant-1",
            "tenant-1/uploads",
            "../tenant-2/uploads",
        )
        .unwrap();
        let error = store(
            mount.path(),
            &tenant(),
            (2026, 11),
            "a.jpg",
            b"x",
            None,
            "u1",
        )
        .unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");
        assert_eq!(
            fs::read_dir(&victim).unwrap().count(),
            0,
            "nothing in tenant-2"
        );
        assert_eq!(
            fs::read_dir(mount.path().join("tenant-1/uploads.swapped-away/2026/11"))
                .unwrap()
                .count(),
            0,
            "nothing left in tenant-1 either"
        );
    }

    #[test]
    fn a_write_that_fails_half_way_leaves_no_temporary_file() {
        let mount = tempfile::tempdir().unwrap();
        let dir = mount.path().join("tenant-1/uploads/2026/11");
        fs::create_dir_all(&dir).unwrap();
        let held = Held::open(mount.path()).unwrap().dir("tenant-1").unwrap();
        // Linking fails: a name that is not a plain name, after the temporary file is written.
        let error = store_beneath(&held, (2026, 11), "a/b.jpg", b"x", None, "u1").unwrap_err();
        assert!(error.to_string().contains("plain name"), "{error}");
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            0,
            "no temporary file left"
        );
    }

    #[test]
    fn a_temporary_file_a_dead_invocation_left_is_swept_and_a_fresh_one_kept() {
        let mount = tempfile::tempdir().unwrap();
        let dir = mount.path().join("tenant-1/uploads/2026/11");
        fs::create_dir_all(&dir).unwrap();
        let old = dir.join(".bbws-upload-dead.tmp");
        fs::write(&old, b"half").unwrap();
        let long_ago = SystemTime::now() - std::time::Duration::from_secs(3600);
        fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        let fresh = dir.join(".bbws-upload-live.tmp");
        fs::write(&fresh, b"being written").unwrap();
        store(
            mount.path(),
            &tenant(),
            (2026, 11),
            "a.jpg",
            b"x",
            None,
            "u1",
        )
        .unwrap();
        assert!(!old.exists(), "the stale temporary file is gone");
        assert!(fresh.exists(), "a live writer's is not touched");
        assert!(is_upload_temp(".bbws-upload-u1.tmp") && !is_upload_temp("a.tmp"));
    }
}
