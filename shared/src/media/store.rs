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
//! The tenant's directory is writable by its site, so the site could have put a symbolic
//! link where a directory is expected, to have this root-mounted writer write into another
//! tenant's files: every directory on the way is checked not to be a link, and the
//! temporary file is created new (`O_EXCL`, which never follows a link).

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::unique_name;
use crate::layout;
use crate::tenant_id::TenantId;

/// WordPress's user and group in the tenants' containers (`www-data`).
pub const WORDPRESS_OWNER: (u32, u32) = (33, 33);
/// A file's mode in the uploads.
pub const FILE_MODE: u32 = 0o644;
/// A directory's mode in the uploads, as WordPress makes them.
pub const DIR_MODE: u32 = 0o755;

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
    (year, month): (u16, u8),
    name: &str,
    content: &[u8],
    owner: Option<(u32, u32)>,
    temp_tag: &str,
) -> io::Result<Stored> {
    let relative_dir = layout::uploads_month(year, month);
    let mut dir = mount.to_path_buf();
    for part in std::iter::once(tenant.as_str()).chain(relative_dir.split('/')) {
        dir.push(part);
        ensure_dir(&dir, owner)?;
    }

    let temp = dir.join(layout::upload_temp_name(temp_tag));
    let written = write_temp(&temp, content, owner);
    let linked = written.and_then(|()| link_free_name(&dir, name, &temp));
    // The temporary name goes whether the file was linked or not.
    let _ = fs::remove_file(&temp);
    let file_name = linked?;
    Ok(Stored {
        file_path: layout::site_path(&format!("{relative_dir}/{file_name}")),
        full_path: dir.join(&file_name),
        file_name,
    })
}

/// `dir` exists as a real directory (not a link): made with [`DIR_MODE`] and `owner` if not.
fn ensure_dir(dir: &Path, owner: Option<(u32, u32)>) -> io::Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_dir() => Ok(()),
        Ok(_) => Err(io::Error::other(format!(
            "{} is not a directory (a link or a file): nothing is written through it",
            dir.display()
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            match fs::create_dir(dir) {
                Ok(()) => {}
                // Made meanwhile by another writer: checked again below.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return ensure_dir(dir, owner)
                }
                Err(e) => return Err(e),
            }
            fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))?;
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::lchown(dir, Some(uid), Some(gid))?;
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn write_temp(temp: &Path, content: &[u8], owner: Option<(u32, u32)>) -> io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(temp)?;
    file.write_all(content)?;
    // The mode again: the process's umask may have narrowed it.
    file.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::fchown(&file, Some(uid), Some(gid))?;
    }
    file.sync_all()
}

/// Links `temp` as `name`, or the first free `name-<n>`; a name taken meanwhile is skipped.
fn link_free_name(dir: &Path, name: &str, temp: &Path) -> io::Result<String> {
    let exists = |n: &str| fs::symlink_metadata(dir.join(n)).is_ok();
    for _ in 0..100 {
        let free = unique_name(name, exists);
        match fs::hard_link(temp, dir.join(&free)) {
            Ok(()) => return Ok(free),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "no free name for {name} in {} after 100 tries",
        dir.display()
    )))
}

#[cfg(test)]
mod tests {
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
        assert!(error.to_string().contains("not a directory"), "{error}");
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
}
