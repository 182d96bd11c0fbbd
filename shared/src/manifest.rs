//! A tenant directory's manifest: how many regular files it holds, their bytes, and a digest
//! of the sorted list of their paths and sizes. Taken when a backup starts its file-system
//! job, and again over what a drill restored: the two must be equal. Beside it, the
//! tenant database's [`Tables`] (rows and `CHECKSUM TABLE` per table) taken at the same
//! moment, which a drill compares with the restored database's.
//!
//! The directory is opened once and walked beneath that handle ([`crate::held`]): a link is
//! neither counted nor entered, and a directory swapped for one meanwhile fails the walk, so
//! it cannot leave the directory it was given.

use std::collections::BTreeMap;
#[cfg(test)]
use std::fs;
use std::io;
use std::path::Path;

use crate::held::{Held, Kind};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub files: u64,
    pub bytes: u64,
    /// sha256 (hex) of `<path>\t<size>\n` for every regular file, paths relative to the
    /// directory with `/` separators, sorted bytewise.
    pub digest: String,
    /// The tenant database's tables when they could be read at backup time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tables: Option<Tables>,
}

/// A database's tables by name.
pub type Tables = BTreeMap<String, TableChecksum>;

/// One table's content in two numbers: its rows, and MySQL's `CHECKSUM TABLE` (a live
/// checksum of every row; `None` where the server gives none, e.g. a view).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableChecksum {
    pub rows: u64,
    pub checksum: Option<u64>,
}

/// What differs between the tables recorded at backup time and the restored database's, in
/// words; empty when every recorded table is there with the same rows and checksum. A table
/// made since the backup is no difference: the backup never had it.
pub fn table_differences(recorded: &Tables, restored: &Tables) -> Vec<String> {
    let mut out = Vec::new();
    for (name, was) in recorded {
        match restored.get(name) {
            None => out.push(format!(
                "table {name} is missing from the restored database"
            )),
            Some(now) if now.rows != was.rows => out.push(format!(
                "table {name}: {} rows restored, {} recorded at backup time",
                now.rows, was.rows
            )),
            Some(now) if now.checksum != was.checksum => out.push(format!(
                "table {name}: checksum {} restored, {} recorded at backup time",
                shown(now.checksum),
                shown(was.checksum)
            )),
            Some(_) => {}
        }
    }
    out
}

fn shown(checksum: Option<u64>) -> String {
    checksum.map_or_else(|| "none".to_owned(), |c| c.to_string())
}

/// The manifest of the directory `root`.
pub fn take(root: &Path) -> io::Result<Manifest> {
    take_beneath(&Held::open(root)?)
}

/// The manifest of the held directory `root`.
pub fn take_beneath(root: &Held) -> io::Result<Manifest> {
    let mut entries: Vec<(String, u64)> = Vec::new();
    let mut pending = vec![(root.clone(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        for entry in dir.entries()? {
            let raw = entry.name.to_string_lossy().into_owned();
            let path = if prefix.is_empty() {
                raw.clone()
            } else {
                format!("{prefix}/{raw}")
            };
            // The entry's own type: a symbolic link is reported as a link, never followed.
            match (entry.kind, entry.name.to_str()) {
                (Kind::Dir, Some(name)) => pending.push((dir.dir(name)?, path)),
                (Kind::File, Some(name)) => {
                    if let Some(stat) = dir.stat(name)?.filter(|s| s.kind == Kind::File) {
                        entries.push((path, stat.size));
                    }
                }
                // A name that is not UTF-8 cannot be resolved here: counted, its size as 0.
                (Kind::Dir, None) => {
                    return Err(io::Error::other(format!(
                        "{}: a directory whose name is not UTF-8",
                        dir.path().join(&entry.name).display()
                    )))
                }
                (Kind::File, None) => entries.push((path, 0)),
                (Kind::Other, _) => {}
            }
        }
    }
    entries.sort();
    let mut hash = Sha256::new();
    let mut bytes = 0u64;
    for (path, size) in &entries {
        hash.update(format!("{path}\t{size}\n").as_bytes());
        bytes += size;
    }
    Ok(Manifest {
        files: entries.len() as u64,
        bytes,
        digest: hex(&hash.finalize()),
        tables: None,
    })
}

impl Manifest {
    /// As the `bbws:manifest` tag holds it: `<files>/<bytes>/<digest>` (characters AWS
    /// allows in a tag value, 64 + 42 at most of its 256).
    pub fn to_tag(&self) -> String {
        format!("{}/{}/{}", self.files, self.bytes, self.digest)
    }

    pub fn from_tag(value: &str) -> Option<Manifest> {
        let mut parts = value.split('/');
        let files = parts.next()?.parse().ok()?;
        let bytes = parts.next()?.parse().ok()?;
        let digest = parts.next()?;
        if parts.next().is_some()
            || digest.len() != 64
            || !digest.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return None;
        }
        Some(Manifest {
            files,
            bytes,
            digest: digest.to_owned(),
            tables: None,
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What differs between the manifest recorded at backup time and the restored one, in words;
/// empty when they are equal.
pub fn differences(recorded: &Manifest, restored: &Manifest) -> Vec<String> {
    let mut out = Vec::new();
    if recorded.files != restored.files {
        out.push(format!(
            "{} files restored, {} recorded at backup time",
            restored.files, recorded.files
        ));
    }
    if recorded.bytes != restored.bytes {
        out.push(format!(
            "{} bytes restored, {} recorded at backup time",
            restored.bytes, recorded.bytes
        ));
    }
    if out.is_empty() && recorded.digest != restored.digest {
        out.push("the same count and bytes, but other paths or sizes".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_counts_regular_files_and_never_follows_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("t");
        fs::create_dir_all(root.join("wp-content/uploads")).unwrap();
        fs::write(root.join("wp-content/index.php"), b"<?php\n").unwrap();
        fs::write(root.join("wp-content/uploads/a.jpg"), vec![0u8; 100]).unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("big"), vec![0u8; 5000]).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("wp-content/link")).unwrap();
        let m = take(&root).unwrap();
        assert_eq!((m.files, m.bytes), (2, 106));
        assert_eq!(m.digest.len(), 64);
        assert_eq!(Manifest::from_tag(&m.to_tag()), Some(m.clone()));
        assert_eq!(Manifest::from_tag("2/106"), None);
        assert_eq!(Manifest::from_tag(&format!("2/x/{}", m.digest)), None);

        // The same tree elsewhere has the same manifest; a changed size or name does not.
        let copy = dir.path().join("copy");
        fs::create_dir_all(copy.join("wp-content/uploads")).unwrap();
        fs::write(copy.join("wp-content/index.php"), b"<?php\n").unwrap();
        fs::write(copy.join("wp-content/uploads/a.jpg"), vec![1u8; 100]).unwrap();
        assert_eq!(take(&copy).unwrap(), m);
        assert!(differences(&m, &take(&copy).unwrap()).is_empty());
        fs::rename(
            copy.join("wp-content/uploads/a.jpg"),
            copy.join("wp-content/uploads/b.jpg"),
        )
        .unwrap();
        let renamed = take(&copy).unwrap();
        assert_eq!(
            differences(&m, &renamed),
            ["the same count and bytes, but other paths or sizes"]
        );
        fs::write(copy.join("wp-content/index.php"), b"<?php // more\n").unwrap();
        let changed = take(&copy).unwrap();
        assert_eq!(
            differences(&m, &changed),
            ["114 bytes restored, 106 recorded at backup time"]
        );
    }

    #[test]
    fn restored_tables_differ_by_a_missing_table_its_rows_or_its_checksum() {
        let t = |rows, checksum| TableChecksum { rows, checksum };
        let recorded: Tables = [
            ("wp_posts".to_owned(), t(2, Some(11))),
            ("wp_users".to_owned(), t(1, Some(22))),
            ("wp_options".to_owned(), t(3, Some(33))),
        ]
        .into();
        assert!(table_differences(&recorded, &recorded).is_empty());

        let mut restored = recorded.clone();
        restored.insert("wp_new".into(), t(5, Some(1)));
        assert!(
            table_differences(&recorded, &restored).is_empty(),
            "a new table is no difference"
        );

        restored.remove("wp_options");
        restored.insert("wp_users".into(), t(2, Some(22)));
        restored.insert("wp_posts".into(), t(2, Some(12)));
        assert_eq!(
            table_differences(&recorded, &restored),
            [
                "table wp_options is missing from the restored database",
                "table wp_posts: checksum 12 restored, 11 recorded at backup time",
                "table wp_users: 2 rows restored, 1 recorded at backup time",
            ]
        );
    }
}
