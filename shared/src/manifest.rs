//! A tenant directory's manifest: how many regular files it holds, their bytes, and a digest
//! of the sorted list of their paths and sizes. Taken when a backup starts its file-system
//! job, and again over what a drill restored: the two must be equal.
//!
//! The directory is opened once and walked beneath that handle ([`crate::held`]): a link is
//! neither counted nor entered, and a directory swapped for one meanwhile fails the walk, so
//! it cannot leave the directory it was given.

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
}
