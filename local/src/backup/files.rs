//! Real file semantics for EFS: a recovery point is a copy of the file system's directory
//! tree, and an item-level restore copies items back under `aws-backup-restore_<time>/`.
//!
//! Copies keep regular files, directories, symlinks (as symlinks), modes and modification
//! times, and ownership when the process may set it (as root). Sockets, FIFOs and devices
//! are left out, as AWS Backup leaves them out of EFS backups.

use std::fs::{self, File, FileTimes, Metadata};
use std::io;
use std::os::unix::fs::{lchown, symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Copies the tree at `src` to `dst`, which must not exist. Returns the bytes of file data
/// copied.
pub fn copy_tree(src: &Path, dst: &Path) -> io::Result<u64> {
    let meta = fs::symlink_metadata(src)?;
    copy_entry(src, dst, &meta)
}

fn copy_entry(src: &Path, dst: &Path, meta: &Metadata) -> io::Result<u64> {
    let kind = meta.file_type();
    if kind.is_symlink() {
        symlink(fs::read_link(src)?, dst)?;
        keep_owner(dst, meta);
        Ok(0)
    } else if kind.is_dir() {
        fs::create_dir(dst)?;
        let mut bytes = 0;
        let mut entries = fs::read_dir(src)?.collect::<io::Result<Vec<_>>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let child_meta = fs::symlink_metadata(entry.path())?;
            bytes += copy_entry(&entry.path(), &dst.join(entry.file_name()), &child_meta)?;
        }
        // Last, so a read-only directory could still be filled.
        finish_attributes(dst, meta)?;
        Ok(bytes)
    } else if kind.is_file() {
        let bytes = fs::copy(src, dst)?;
        finish_attributes(dst, meta)?;
        Ok(bytes)
    } else {
        Ok(0)
    }
}

/// Owner, then times, then mode: a chown clears set-uid bits, and a mode without write or
/// read permission must not stop the times being set.
fn finish_attributes(dst: &Path, meta: &Metadata) -> io::Result<()> {
    keep_owner(dst, meta);
    if let Ok(modified) = meta.modified() {
        // Times are best effort: they need the file open, which its mode may forbid.
        if let Ok(f) = File::open(dst) {
            let _ = f.set_times(FileTimes::new().set_modified(modified));
        }
    }
    fs::set_permissions(dst, fs::Permissions::from_mode(meta.mode() & 0o7777))
}

/// Ownership is kept when the process may set it (as root); otherwise the copy is ours.
fn keep_owner(dst: &Path, meta: &Metadata) {
    let _ = lchown(dst, Some(meta.uid()), Some(meta.gid()));
}

/// Snapshots file system directory `fs_dir` into `dst` (a recovery point's directory).
pub fn snapshot(fs_id: &str, fs_dir: &Path, dst: &Path) -> Result<u64, String> {
    if !fs_dir.is_dir() {
        return Err(format!(
            "The file system {fs_id} was not found: its directory {} does not exist.",
            fs_dir.display()
        ));
    }
    if let Some(parent) = dst.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("Cannot prepare the vault: {e}"))?;
    }
    copy_tree(fs_dir, dst).map_err(|e| {
        let _ = remove_tree(dst);
        format!("Cannot read the file system {fs_id}: {e}")
    })
}

/// Removes a tree, read-only directories included. A missing tree is fine.
pub fn remove_tree(dir: &Path) -> io::Result<()> {
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
        Ok(m) if !m.is_dir() => return fs::remove_file(dir),
        Ok(_) => {}
    }
    make_writable(dir);
    fs::remove_dir_all(dir)
}

fn make_writable(dir: &Path) {
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                make_writable(&entry.path());
            }
        }
    }
}

/// Checks an `ItemsToRestore` path: absolute, plain components only (no `.`, `..`, `//`);
/// a trailing `/` is allowed.
pub fn valid_item(item: &str) -> bool {
    let Some(rest) = item.strip_prefix('/') else {
        return false;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    !rest.is_empty()
        && rest
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// Where `item` is in `snapshot`, refusing a path that goes through a symlink in the
/// snapshot (it would lead out of the recovery point).
fn item_in_snapshot(snapshot: &Path, item: &str) -> Option<PathBuf> {
    let mut at = snapshot.to_path_buf();
    let components: Vec<_> = Path::new(item).components().skip(1).collect();
    for (i, c) in components.iter().enumerate() {
        at.push(c);
        let meta = fs::symlink_metadata(&at).ok()?;
        let last = i + 1 == components.len();
        if !last && !meta.is_dir() {
            return None;
        }
    }
    Some(at)
}

/// Restores `items` (all of the snapshot when empty) from `snapshot` into a new directory
/// `dir_name` at the root of the file system directory `fs_dir`, keeping each item's path
/// (`/tenant-1` → `<fs_dir>/<dir_name>/tenant-1`). Nothing is written unless every item is
/// in the snapshot. Returns the directory written.
pub fn restore(
    snapshot: &Path,
    fs_id: &str,
    fs_dir: &Path,
    dir_name: &str,
    items: &[String],
) -> Result<PathBuf, String> {
    if !fs_dir.is_dir() {
        return Err(format!(
            "The file system {fs_id} was not found: its directory {} does not exist.",
            fs_dir.display()
        ));
    }
    if !snapshot.is_dir() {
        return Err(format!(
            "The recovery point's data is missing ({} does not exist).",
            snapshot.display()
        ));
    }
    let target = fs_dir.join(dir_name);
    if items.is_empty() {
        copy_tree(snapshot, &target).map_err(|e| write_failed(&target, &e))?;
        return Ok(target);
    }
    let mut sources = Vec::new();
    for item in top_items(items) {
        let src = item_in_snapshot(snapshot, item)
            .ok_or_else(|| format!("The item {item} was not found in the recovery point."))?;
        sources.push((item, src));
    }
    fs::create_dir(&target).map_err(|e| write_failed(&target, &e))?;
    for (item, src) in sources {
        let dst = target.join(item.trim_start_matches('/'));
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent).map_err(|e| write_failed(parent, &e))?;
        }
        copy_tree(&src, &dst).map_err(|e| write_failed(&dst, &e))?;
    }
    Ok(target)
}

/// The items not inside another listed item: restoring `/a` restores `/a/b` already.
fn top_items(items: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for item in items {
        let inside_other = items
            .iter()
            .any(|other| other != item && Path::new(item).starts_with(Path::new(other.as_str())));
        if !inside_other && !out.contains(&item.as_str()) {
            out.push(item);
        }
    }
    out
}

fn write_failed(path: &Path, e: &io::Error) -> String {
    format!("Cannot write {}: {e}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let fs_dir = dir.path().join("fs");
        fs::create_dir_all(fs_dir.join("tenant-1/uploads")).unwrap();
        fs::write(fs_dir.join("tenant-1/uploads/a.txt"), b"alpha").unwrap();
        fs::write(fs_dir.join("tenant-1/index.php"), b"<?php").unwrap();
        fs::set_permissions(
            fs_dir.join("tenant-1/index.php"),
            fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        symlink("uploads/a.txt", fs_dir.join("tenant-1/link")).unwrap();
        symlink("/etc", fs_dir.join("escape")).unwrap();
        dir
    }

    #[test]
    fn snapshots_keep_files_modes_and_symlinks() {
        let dir = tree();
        let snap = dir.path().join("rp");
        let bytes = snapshot("fs-1", &dir.path().join("fs"), &snap).unwrap();
        assert_eq!(bytes, 10);
        assert_eq!(
            fs::read(snap.join("tenant-1/uploads/a.txt")).unwrap(),
            b"alpha"
        );
        let mode = fs::metadata(snap.join("tenant-1/index.php"))
            .unwrap()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(
            fs::read_link(snap.join("tenant-1/link")).unwrap(),
            Path::new("uploads/a.txt")
        );
    }

    #[test]
    fn a_missing_file_system_fails_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let e = snapshot("fs-9", &dir.path().join("fs-9"), &dir.path().join("rp")).unwrap_err();
        assert!(e.contains("fs-9") && e.contains("does not exist"), "{e}");
    }

    #[test]
    fn items_are_restored_under_their_paths() {
        let dir = tree();
        let snap = dir.path().join("rp");
        snapshot("fs-1", &dir.path().join("fs"), &snap).unwrap();
        let fs_dir = dir.path().join("fs");
        let items = vec!["/tenant-1".to_owned(), "/tenant-1/index.php".to_owned()];
        let out = restore(&snap, "fs-1", &fs_dir, "aws-backup-restore_x", &items).unwrap();
        assert_eq!(out, fs_dir.join("aws-backup-restore_x"));
        assert_eq!(
            fs::read(out.join("tenant-1/uploads/a.txt")).unwrap(),
            b"alpha"
        );
    }

    #[test]
    fn a_missing_item_writes_nothing() {
        let dir = tree();
        let snap = dir.path().join("rp");
        snapshot("fs-1", &dir.path().join("fs"), &snap).unwrap();
        let fs_dir = dir.path().join("fs");
        for item in ["/tenant-2", "/escape/passwd"] {
            let e = restore(&snap, "fs-1", &fs_dir, "r", &[item.to_owned()]).unwrap_err();
            assert!(e.contains(item), "{e}");
        }
        assert!(!fs_dir.join("r").exists());
    }

    #[test]
    fn item_paths_must_be_absolute_and_plain() {
        assert!(valid_item("/tenant-1"));
        assert!(valid_item("/tenant-1/uploads/2026"));
        assert!(valid_item("/tenant-1/"));
        for bad in ["tenant-1", "/", "/a/../b", "/./a", "//a", "/a//b", ""] {
            assert!(!valid_item(bad), "{bad}");
        }
    }
}
