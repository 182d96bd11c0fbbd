//! A tenant's wp-content mirrored to the content bucket (seed 000's `syncContentToS3`):
//! `/<tenant>/<path>` on the shared file system (the tenant's directory is its wp-content,
//! [`crate::layout`]) becomes `s3://<content bucket>/<tenant>/wp-content/<path>`.
//!
//! * **Incremental.** Each object records its file's `size`, `mtime` (nanoseconds) and
//!   `sha256` in its user metadata. A file whose object has the same size and mtime is
//!   skipped without being read (rsync's quick check: most files of a site never change,
//!   and reading all of them each run would cost a whole-site read per sync). When the size
//!   matches but the mtime does not (a restore, a `touch`, a copy), the file is hashed and
//!   skipped if its sha256 is the one recorded, so unchanged content is never uploaded
//!   again. A different size, or no object, uploads without asking for the metadata.
//! * **Large files** (at least [`MULTIPART_THRESHOLD`]) go up as multipart uploads of
//!   [`PART_SIZE`] parts (more when a file would need over 10,000).
//! * **`delete: true`** removes the objects under the prefix whose files are gone.
//! * **Bounded.** The walk is sorted in key order and resumes after a cursor; an
//!   invocation takes at most `batchFiles` files or `batchBytes` bytes, and an execution
//!   at most `batchesPerExecution` batches before it continues as a new execution with the
//!   cursor and the tally, so no invocation nears Lambda's time limit and no execution
//!   nears the history limit, however many files a tenant has.
//! * **Confined.** See [`walk`]: no symlink is followed, nothing outside the tenant's
//!   directory is opened.

pub mod walk;

#[cfg(all(feature = "sdk-s3", feature = "sdk-sfn", feature = "sdk-tagging"))]
pub mod service;

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

/// Files of at least this size go up as multipart uploads.
pub const MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;
/// The size of a multipart upload's parts (S3's minimum is 5 MiB, its maximum part count
/// 10,000).
pub const PART_SIZE: u64 = 8 * 1024 * 1024;
/// S3's most parts in one upload.
pub const MAX_PARTS: u64 = 10_000;

/// Files per invocation unless set otherwise (`SYNC_BATCH_FILES`).
pub const DEFAULT_BATCH_FILES: u32 = 1000;
/// Bytes per invocation unless set otherwise (`SYNC_BATCH_BYTES`): 512 MiB, a minute's
/// upload at a modest rate, well inside the function's five minutes.
pub const DEFAULT_BATCH_BYTES: u64 = 512 * 1024 * 1024;
/// Batches per execution unless set otherwise (`SYNC_BATCHES_PER_EXECUTION`): a batch's
/// loop writes about seven history events, so 200 batches stay far below the 25,000.
pub const DEFAULT_BATCHES_PER_EXECUTION: u32 = 200;
/// The most batches one execution may run (its history stays below 25,000 events).
pub const MAX_BATCHES_PER_EXECUTION: u32 = 2000;

/// The metadata keys of an object (sent as `x-amz-meta-<key>`).
pub const META_SIZE: &str = "size";
pub const META_MTIME: &str = "mtime";
pub const META_SHA256: &str = "sha256";

/// The object key prefix of a tenant's wp-content.
pub fn prefix(tenant: &crate::TenantId) -> String {
    crate::layout::content_prefix(tenant)
}

/// The part size for a file of `size` bytes: [`PART_SIZE`], or larger (whole MiB) when
/// that would take more than [`MAX_PARTS`] parts.
pub fn part_size(size: u64) -> u64 {
    let mib = 1024 * 1024;
    let needed = size.div_ceil(MAX_PARTS).div_ceil(mib) * mib;
    PART_SIZE.max(needed)
}

/// How the sync is cut into batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub batch_files: u32,
    pub batch_bytes: u64,
    pub batches_per_execution: u32,
}

impl Limits {
    /// From `SYNC_BATCH_FILES`, `SYNC_BATCH_BYTES` and `SYNC_BATCHES_PER_EXECUTION`.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let number = |name: &'static str, default: u64, max: u64| -> Result<u64, ConfigError> {
            match lookup(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(default),
                Some(raw) => raw
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| ConfigError::Invalid {
                        name,
                        reason: format!("{raw:?} is not a number from 1 to {max}"),
                    }),
            }
        };
        Ok(Self {
            batch_files: number("SYNC_BATCH_FILES", DEFAULT_BATCH_FILES.into(), 100_000)? as u32,
            batch_bytes: number("SYNC_BATCH_BYTES", DEFAULT_BATCH_BYTES, u64::MAX)?,
            batches_per_execution: number(
                "SYNC_BATCHES_PER_EXECUTION",
                DEFAULT_BATCHES_PER_EXECUTION.into(),
                MAX_BATCHES_PER_EXECUTION.into(),
            )? as u32,
        })
    }
}

/// What a sync has done so far, carried from batch to batch and execution to execution.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tally {
    pub files_synced: u64,
    pub bytes_synced: u64,
    pub files_skipped: u64,
    pub files_deleted: u64,
    /// Symlinks and special files passed over (never followed, never uploaded).
    pub links_skipped: u64,
    pub batches: u64,
}

/// The run a sync belongs to: its first execution and how many times it has continued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Run {
    pub first_execution: String,
    pub generation: u32,
    pub started_at: String,
}

/// Where an execution's sync stands; the state machine passes it from batch to batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncState {
    pub tenant_id: String,
    pub delete: bool,
    pub s3_bucket: String,
    pub s3_prefix: String,
    pub limits: Limits,
    /// The last path synced; the next batch starts after it.
    pub cursor: Option<String>,
    pub tally: Tally,
    pub run: Run,
    /// Batches this execution has run.
    pub batches_here: u32,
    pub done: bool,
    /// This execution has run its batches: the sync goes on as a new execution.
    pub continue_now: bool,
    /// Seed 000's SyncResult, once done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<SyncResult>,
    /// Who holds the tenant's lease for the run: its first execution's ARN.
    #[serde(default)]
    pub holder: String,
}

/// Seed 000's SyncResult, with what was skipped and deleted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncResult {
    pub tenant_id: String,
    pub files_synced: u64,
    pub bytes_synced: u64,
    pub s3_bucket: String,
    pub s3_prefix: String,
    pub synced_at: String,
    pub files_skipped: u64,
    pub files_deleted: u64,
    pub links_skipped: u64,
    pub delete: bool,
    pub batches: u64,
    pub executions: u32,
    pub first_execution: String,
}

impl SyncState {
    /// The result of a finished sync.
    pub fn result(&self, synced_at: String) -> SyncResult {
        SyncResult {
            tenant_id: self.tenant_id.clone(),
            files_synced: self.tally.files_synced,
            bytes_synced: self.tally.bytes_synced,
            s3_bucket: self.s3_bucket.clone(),
            s3_prefix: self.s3_prefix.clone(),
            synced_at,
            files_skipped: self.tally.files_skipped,
            files_deleted: self.tally.files_deleted,
            links_skipped: self.tally.links_skipped,
            delete: self.delete,
            batches: self.tally.batches,
            executions: self.run.generation + 1,
            first_execution: self.run.first_execution.clone(),
        }
    }
}

/// The name of the run's `generation`th execution: the first one's name, cut so that
/// `-<generation>` fits Step Functions' 80 characters. Derived, so a retried continue
/// starts nothing twice.
pub fn continuation_name(first_execution: &str, generation: u32) -> String {
    let suffix = format!("-{generation}");
    let keep = 80 - suffix.len();
    let base: String = first_execution.chars().take(keep).collect();
    format!("{base}{suffix}")
}

/// The S3 metadata an object of `size` bytes, modified at `mtime`, with `sha256` carries.
pub fn metadata(size: u64, mtime: &str, sha256: &str) -> [(&'static str, String); 3] {
    [
        (META_SIZE, size.to_string()),
        (META_MTIME, mtime.to_owned()),
        (META_SHA256, sha256.to_owned()),
    ]
}

/// A content type for a key, by its extension, for the files a WordPress site serves; S3's
/// own default (`binary/octet-stream`) for anything else.
pub fn content_type(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "css" => "text/css",
        "js" | "mjs" => "text/javascript",
        "json" => "application/json",
        "html" | "htm" => "text/html",
        "txt" => "text/plain",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        other => crate::media::MediaType::ALL
            .iter()
            .find(|t| t.extensions().contains(&other))?
            .mime_type(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_8_mib_until_a_file_would_need_more_than_10000() {
        assert_eq!(part_size(200 * 1024 * 1024), PART_SIZE);
        assert_eq!(part_size(80_000 * 1024 * 1024), PART_SIZE);
        let huge: u64 = 200 * 1024 * 1024 * 1024;
        assert!(huge.div_ceil(part_size(huge)) <= MAX_PARTS);
        assert_eq!(part_size(huge) % (1024 * 1024), 0);
    }

    #[test]
    fn continuation_names_fit_80_characters_and_follow_the_run() {
        assert_eq!(continuation_name("sync-t-20261126", 1), "sync-t-20261126-1");
        let long = "x".repeat(80);
        let name = continuation_name(&long, 12);
        assert_eq!(name.len(), 80);
        assert!(name.ends_with("-12"));
    }

    #[test]
    fn limits_have_defaults_and_refuse_nonsense() {
        let none = |_: &str| None;
        let limits = Limits::from_lookup(&none).unwrap();
        assert_eq!(limits.batch_files, 1000);
        assert_eq!(limits.batches_per_execution, 200);
        let small = |n: &str| (n == "SYNC_BATCH_FILES").then(|| "3".to_owned());
        assert_eq!(Limits::from_lookup(&small).unwrap().batch_files, 3);
        for bad in ["0", "x", "-1"] {
            let lookup = move |n: &str| (n == "SYNC_BATCHES_PER_EXECUTION").then(|| bad.to_owned());
            assert!(Limits::from_lookup(&lookup).is_err(), "{bad}");
        }
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("themes/a/style.css"), Some("text/css"));
        assert_eq!(content_type("uploads/2026/11/A.JPG"), Some("image/jpeg"));
        assert_eq!(content_type("uploads/x.pdf"), Some("application/pdf"));
        assert_eq!(content_type("plugins/a/readme"), None);
        assert_eq!(content_type("x.unknown"), None);
    }
}
