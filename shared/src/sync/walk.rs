//! A tenant's wp-content as the sync reads it: regular files only, in the order S3 lists
//! their keys (UTF-8 bytes, https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html:
//! "returns objects in ascending order, based on the UTF-8 binary representation of the key"),
//! resumed after a cursor, in bounded batches. No AWS.
//!
//! Nothing outside the tenant's directory is read: the tenant's directory is held open
//! ([`crate::held`]) and the walk and every later read resolve beneath that handle through
//! no link. The walk reads each entry's own type and passes over links and special files
//! (and uploads' temporary files, which are never content); a directory swapped for a link
//! between the walk and the read makes the read fail rather than leave the tenant.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;

use sha2::{Digest, Sha256};

use crate::held::{Held, Kind};

/// A regular file of the tenant's wp-content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalFile {
    /// Its path under wp-content, `/`-separated: the object's key after the prefix.
    pub path: String,
    pub size: u64,
    /// Its modification time as `<seconds>.<nanoseconds>`, as the object's metadata keeps it.
    pub mtime: String,
}

/// One batch of the walk.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Batch {
    pub files: Vec<LocalFile>,
    /// The walk reached the end: no file after the batch's last.
    pub exhausted: bool,
    /// Symlinks, special files and names that are not UTF-8 passed over in this batch's range.
    pub passed_over: u64,
}

/// `<seconds>.<nanoseconds>` of a file's modification time.
pub fn mtime_of(meta: &std::fs::Metadata) -> String {
    format!("{}.{:09}", meta.mtime(), meta.mtime_nsec())
}

fn mtime_of_stat(stat: &crate::held::Stat) -> String {
    format!("{}.{:09}", stat.mtime, stat.mtime_nsec)
}

/// The regular files under `root` whose paths sort after `cursor` (all of them without one),
/// in key order: at most `max_files`, and no more than `max_bytes` together, though always
/// at least one file when any is left, however large.
pub fn walk_after(
    root: &Held,
    cursor: Option<&str>,
    max_files: usize,
    max_bytes: u64,
) -> io::Result<Batch> {
    let mut walk = Walk {
        cursor,
        max_files: max_files.max(1),
        max_bytes,
        bytes: 0,
        batch: Batch::default(),
        passed_over_at_last_file: 0,
    };
    let stopped = walk.visit(root, "")?;
    let mut batch = walk.batch;
    batch.exhausted = !stopped;
    if stopped {
        // What lies after the batch's last file is the next batch's to count.
        batch.passed_over = walk.passed_over_at_last_file;
    }
    Ok(batch)
}

struct Walk<'c> {
    cursor: Option<&'c str>,
    max_files: usize,
    max_bytes: u64,
    bytes: u64,
    batch: Batch,
    passed_over_at_last_file: u64,
}

impl Walk<'_> {
    /// Visits `dir` (whose entries' paths start with `prefix`); true when the batch is full.
    fn visit(&mut self, dir: &Held, prefix: &str) -> io::Result<bool> {
        let mut entries = Vec::new();
        for entry in dir.entries()? {
            // The entry's own type: a symlink is a symlink, never what it points at.
            let kind = entry.kind;
            match entry.name.into_string() {
                Ok(name) if kind == Kind::File && crate::media::store::is_upload_temp(&name) => {
                    // An upload being written (or one a dead invocation left): not content.
                    tracing::debug!(name, "an upload's temporary file: passed over");
                }
                Ok(name) => {
                    // A directory's entries sort as their keys do: after `<name>/`.
                    let sort_key = match kind {
                        Kind::Dir => format!("{prefix}{name}/"),
                        _ => format!("{prefix}{name}"),
                    };
                    entries.push((sort_key, name, kind));
                }
                Err(raw) => {
                    tracing::warn!(name = ?raw, dir = %dir.path().display(), "a name that is not UTF-8 cannot be a key: passed over");
                    self.batch.passed_over += 1;
                }
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, name, kind) in entries {
            let after_cursor = self.cursor.is_none_or(|c| key.as_str() > c);
            match kind {
                Kind::Dir => {
                    // Skipped whole when every key under it sorts before the cursor.
                    if !after_cursor && !self.cursor.is_some_and(|c| c.starts_with(&key)) {
                        continue;
                    }
                    if self.visit(&dir.dir(&name)?, &key)? {
                        return Ok(true);
                    }
                }
                Kind::File if after_cursor => {
                    let Some(meta) = dir.stat(&name)?.filter(|m| m.kind == Kind::File) else {
                        self.batch.passed_over += 1;
                        continue;
                    };
                    let size = meta.size;
                    let full = self.batch.files.len() >= self.max_files
                        || (!self.batch.files.is_empty()
                            && self.bytes.saturating_add(size) > self.max_bytes);
                    if full {
                        return Ok(true);
                    }
                    self.bytes += size;
                    self.batch.files.push(LocalFile {
                        path: key,
                        size,
                        mtime: mtime_of_stat(&meta),
                    });
                    self.passed_over_at_last_file = self.batch.passed_over;
                }
                Kind::Other if after_cursor => {
                    tracing::info!(path = %key, "not a regular file (a symlink is never followed): passed over");
                    self.batch.passed_over += 1;
                }
                _ => {}
            }
        }
        Ok(false)
    }
}

/// Opens the file at `relative` beneath `root` (the tenant's wp-content, held) for
/// reading: through no link, never anything but a regular file.
pub fn open_inside(root: &Held, relative: &str) -> io::Result<File> {
    root.file(relative)
}

/// The SHA-256 of the first `size` bytes of `file`, in lower-case hex.
pub fn sha256_hex(file: &mut File, size: u64) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut left = size;
    let mut buffer = vec![0u8; 1 << 20];
    while left > 0 {
        let want = buffer
            .len()
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = file.read(&mut buffer[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while it was read",
            ));
        }
        hasher.update(&buffer[..n]);
        left -= n as u64;
    }
    Ok(hex(&hasher.finalize()))
}

/// `bytes` in lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            let path = dir.path().join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, f.as_bytes()).unwrap();
        }
        dir
    }

    fn held(dir: &tempfile::TempDir) -> Held {
        Held::open(dir.path()).unwrap()
    }

    fn paths(batch: &Batch) -> Vec<&str> {
        batch.files.iter().map(|f| f.path.as_str()).collect()
    }

    #[test]
    fn files_come_in_the_order_s3_lists_their_keys() {
        // '-' (0x2D) sorts before '/' (0x2F), which sorts before '0' and letters: a
        // directory-by-directory walk would give a/b before a-c.
        let dir = tree(&["a/b", "a-c", "a0", "b/c/d", "b/c.txt", "index.php"]);
        let batch = walk_after(&held(&dir), None, 100, u64::MAX).unwrap();
        assert_eq!(
            paths(&batch),
            ["a-c", "a/b", "a0", "b/c.txt", "b/c/d", "index.php"]
        );
        let mut sorted = paths(&batch);
        sorted.sort();
        assert_eq!(paths(&batch), sorted);
        assert!(batch.exhausted);
    }

    #[test]
    fn batches_resume_after_the_cursor_and_cover_every_file_once() {
        let names: Vec<String> = (0..25).map(|i| format!("uploads/{}/f{i}", i % 4)).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let dir = tree(&refs);
        let mut cursor: Option<String> = None;
        let mut seen = Vec::new();
        let mut batches = 0;
        loop {
            let batch = walk_after(&held(&dir), cursor.as_deref(), 4, u64::MAX).unwrap();
            batches += 1;
            assert!(batch.files.len() <= 4);
            seen.extend(batch.files.iter().map(|f| f.path.clone()));
            if batch.exhausted {
                break;
            }
            cursor = batch.files.last().map(|f| f.path.clone());
        }
        let mut expected = names.clone();
        expected.sort();
        assert_eq!(seen, expected);
        assert_eq!(batches, 7);
    }

    #[test]
    fn a_batch_stops_at_its_bytes_but_takes_at_least_one_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), vec![0u8; 100]).unwrap();
        std::fs::write(dir.path().join("b"), vec![0u8; 100]).unwrap();
        std::fs::write(dir.path().join("c"), vec![0u8; 10]).unwrap();
        let first = walk_after(&held(&dir), None, 10, 50).unwrap();
        assert_eq!(paths(&first), ["a"]);
        assert!(!first.exhausted);
        let second = walk_after(&held(&dir), Some("a"), 10, 105).unwrap();
        assert_eq!(paths(&second), ["b"]);
        let last = walk_after(&held(&dir), Some("b"), 10, 150).unwrap();
        assert_eq!(paths(&last), ["c"]);
        assert!(last.exhausted);
    }

    #[test]
    fn symlinks_are_passed_over_never_followed() {
        let outside = tree(&["secret.txt", "dir/inner.txt"]);
        let dir = tree(&["index.php"]);
        symlink(
            outside.path().join("secret.txt"),
            dir.path().join("link.txt"),
        )
        .unwrap();
        symlink(outside.path().join("dir"), dir.path().join("linked-dir")).unwrap();
        let batch = walk_after(&held(&dir), None, 100, u64::MAX).unwrap();
        assert_eq!(paths(&batch), ["index.php"]);
        assert_eq!(batch.passed_over, 2);
        let root = held(&dir);
        assert!(open_inside(&root, "link.txt").is_err());
        assert!(open_inside(&root, "linked-dir/inner.txt").is_err());
        assert!(open_inside(&root, "../x").is_err());
        let mut file = open_inside(&root, "index.php").unwrap();
        assert_eq!(
            sha256_hex(&mut file, 9).unwrap(),
            // sha256("index.php")
            hex(&Sha256::digest(b"index.php"))
        );
    }

    #[test]
    fn the_modification_time_keeps_its_nanoseconds() {
        let dir = tree(&["a"]);
        let meta = std::fs::metadata(dir.path().join("a")).unwrap();
        let mtime = mtime_of(&meta);
        let (secs, nanos) = mtime.split_once('.').unwrap();
        assert_eq!(secs.parse::<i64>().unwrap(), meta.mtime());
        assert_eq!(nanos.len(), 9);
    }

    #[test]
    fn a_directory_swapped_for_a_link_after_the_walk_is_never_read() {
        let mount = tempfile::tempdir().unwrap();
        for t in ["tenant-a", "tenant-b"] {
            let dir = mount.path().join(t).join("uploads");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("photo.jpg"), t).unwrap();
        }
        let root = Held::open(mount.path()).unwrap();
        let a = root.dir("tenant-a").unwrap();
        let batch = walk_after(&a, None, 100, u64::MAX).unwrap();
        assert_eq!(paths(&batch), ["uploads/photo.jpg"]);
        crate::held::set_race_hook(
            mount.path(),
            "sync-walked",
            "tenant-a/uploads",
            "../tenant-b/uploads",
        )
        .unwrap();
        root.race_point("sync-walked");
        let error = open_inside(&a, "uploads/photo.jpg").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::PermissionDenied, "{error}");
        // The walk again passes over the link and finds nothing of tenant-b's.
        let again = walk_after(&a, None, 100, u64::MAX).unwrap();
        assert_eq!(paths(&again), ["uploads.swapped-away/photo.jpg"]);
    }

    #[test]
    fn uploads_being_written_are_not_content() {
        let dir = tree(&[
            "uploads/2026/11/a.jpg",
            "uploads/2026/11/.bbws-upload-u1.tmp",
        ]);
        let batch = walk_after(&held(&dir), None, 100, u64::MAX).unwrap();
        assert_eq!(paths(&batch), ["uploads/2026/11/a.jpg"]);
    }
}
