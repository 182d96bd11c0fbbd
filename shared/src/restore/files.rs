//! `promote-restore`: putting an EFS item-level restore into the tenant's directory.
//!
//! AWS Backup never restores EFS in place: it writes `aws-backup-restore_<datetime>/<path>` at
//! the file system's root. This step runs with the whole file system mounted (a root access
//! point) and puts the restored tree where the tenant's access point looks (a drill's: into
//! its scratch directory, [`crate::layout`]):
//!
//! 1. take the one `aws-backup-restore_<datetime>/<source tenant>` whose datetime lies within
//!    this restore job's own CreationDate and CompletionDate, so a concurrent restore of the
//!    same tenant (a drill, a clone) never puts its point in time live; none or several is
//!    refused with nothing moved;
//! 2. refuse a restored tree holding a symlink that leaves the tenant's directory;
//! 3. move the tenant's current directory aside, under `.bbws-kept/<tenant>/<name>`, never
//!    deleted;
//! 4. rename the restored directory into place (renames on one file system are atomic),
//!    rolling the first move back if this fails;
//! 5. remove the restore directory if nothing else is left in it.
//!
//! Every step can be repeated: a retried promotion finishes what a crashed one started.
//!
//! The renames name only entries at the file system's root and under `.bbws-kept` and
//! `aws-backup-restore_*`, which no tenant's access point reaches; inside a tenant's
//! directory, which its site can change meanwhile, files are counted beneath a held handle.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use aws_config::SdkConfig;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::ResourceKind;
use crate::config::{required, ConfigError};
use crate::error::{Error, ErrorKind, Operation};
use crate::held::{Held, Kind};
use crate::jobs::{compact_utc, JobSet};
use crate::layout;
use crate::runtime::{encode, parse, Service};
use crate::tenant_id::TenantId;

pub use crate::layout::{KEPT_DIR, RESTORE_DIR_PREFIX};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// The tenant whose directory receives the restored files.
    pub tenant_id: TenantId,
    /// The tenant the backup was made of (differs from `tenant_id` for a clone).
    pub source_tenant_id: TenantId,
    /// The restore job that wrote the files; names the kept-aside directory.
    pub restore_job_id: String,
    /// When the restore job was started, as `YYYYMMDDTHHMMSSZ`: dates the kept-aside name.
    pub restore_started: String,
    /// The restore job's CreationDate and CompletionDate (seconds since the epoch, the first
    /// rounded down, the second up): the directory it wrote is dated between them.
    pub window: (i64, i64),
    /// A drill's: the files go to the scratch directory named `tenant_id`, not a tenant's.
    #[serde(default)]
    pub drill: bool,
    /// A side-by-side restore's directory (from the root): the files go there, and the
    /// tenant's own directory is not touched.
    #[serde(default)]
    pub into: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Placed {
    /// The tenant's directory, now holding the restored files.
    pub put_in_place: String,
    /// The directory the restore job wrote, which the files came from.
    pub restored_from: String,
    /// Where the tenant's previous content is kept (an empty directory when it had none).
    pub kept_aside: Option<String>,
    /// Files now in the tenant's directory.
    pub files: u64,
    /// True when an earlier attempt had already put the files in place.
    pub already_promoted: bool,
}

/// The whole file system, mounted through its root access point (`EFS_MOUNT_PATH`): this
/// function calls no AWS API.
pub struct MountedFileSystem {
    pub mount: PathBuf,
}

impl Service for MountedFileSystem {
    fn sdk() -> impl std::future::Future<Output = SdkConfig> {
        std::future::ready(SdkConfig::builder().build())
    }

    fn build(_: &SdkConfig, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            mount: required(&lookup, "EFS_MOUNT_PATH")?.into(),
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlaceInput {
    tenant_id: TenantId,
    source_tenant_id: TenantId,
    restore: JobSet,
    #[serde(default)]
    drill: bool,
    #[serde(default)]
    files_into: Option<String>,
}

/// The `promote-restore` handler.
pub async fn handler(event: LambdaEvent<Value>, fs: &MountedFileSystem) -> Result<Value, Error> {
    let op = Operation::Restore;
    let input: PlaceInput = parse(op, "promote-restore", event.payload)?;
    let job = input
        .restore
        .completed_restore("file-system", |r| r == ResourceKind::Efs)?;
    let (Some(created), Some(completed)) = (job.created_at, job.completed_at) else {
        return Err(failed(format!(
            "restore job {} carries no CreationDate and CompletionDate: the directory it wrote \
             cannot be told from another restore's; nothing was moved",
            job.job_id
        )));
    };
    check_fields(
        op,
        &job.job_id,
        &input.tenant_id,
        input.files_into.as_deref(),
    )?;
    let request = Placement {
        tenant_id: input.tenant_id,
        source_tenant_id: input.source_tenant_id,
        restore_job_id: job.job_id.clone(),
        restore_started: compact_utc(job.started_at),
        window: (created, completed),
        drill: input.drill,
        into: input.files_into,
    };
    let mount = fs.mount.clone();
    // File-system work blocks: keep it off the runtime's threads.
    let outcome = tokio::task::spawn_blocking(move || put_in_place(&mount, &request))
        .await
        .map_err(|e| op.failed(format!("the promotion stopped: {e}")))??;
    tracing::info!(?outcome, "restore promoted");
    encode(op, &outcome)
}

/// Every field that names a path is held to its grammar before any is used: a restore job
/// id (AWS Backup's are GUIDs: letters, digits and hyphens) dates the kept-aside directory's
/// name, and a side-by-side directory is only ever the one the plan derived for the tenant.
fn check_fields(
    op: Operation,
    job_id: &str,
    tenant: &TenantId,
    files_into: Option<&str>,
) -> Result<(), Error> {
    if job_id.is_empty()
        || job_id.len() > 128
        || !job_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(op.bad_request(format!(
            "restore.jobs[].jobId {:?} is not a restore job id (letters, digits and hyphens)",
            crate::error::echo(job_id)
        )));
    }
    if let Some(into) = files_into {
        let prefix = layout::scratch_root_path(&format!("side-by-side/{}/", tenant.as_str()));
        let suffix = into.strip_prefix(&prefix).unwrap_or_default();
        if suffix.len() != 8
            || !suffix
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        {
            return Err(op.bad_request(format!(
                "filesInto {:?} is not tenant {}'s side-by-side directory ({prefix}<8 hex digits>)",
                crate::error::echo(into),
                tenant
            )));
        }
    }
    Ok(())
}

fn failed(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::RestoreFailed, message)
}

fn io_failed(what: &str, path: &Path, error: io::Error) -> Error {
    Error::caused_by(
        ErrorKind::RestoreFailed,
        format!("{what} {}: {error}", path.display()),
        error,
    )
}

/// Promotes the restore of `request` under `mount`, the file system's root.
pub fn put_in_place(mount: &Path, request: &Placement) -> Result<Placed, Error> {
    put_in_place_with(mount, request, |from, to| fs::rename(from, to))
}

/// [`put_in_place`] with the rename made replaceable, so tests can make one fail.
pub fn put_in_place_with(
    mount: &Path,
    request: &Placement,
    rename: impl Fn(&Path, &Path) -> io::Result<()>,
) -> Result<Placed, Error> {
    let current = if request.drill {
        layout::scratch_dir(mount, request.tenant_id.as_str())
    } else {
        layout::tenant_dir(mount, &request.tenant_id)
    };
    let relative = current.strip_prefix(mount).expect("under the mount");
    let kept = layout::kept_dir(
        mount,
        relative,
        &format!("{}-{}", request.restore_started, request.restore_job_id),
    );
    let restored = find_restored(mount, &request.source_tenant_id, request.window)?;
    if let Some(into) = &request.into {
        return put_beside(mount, into, restored, request, &rename);
    }

    let Some(restored) = restored else {
        // Nothing left to promote: either an earlier attempt finished, or the restore wrote
        // nothing we can find.
        if current.is_dir() && kept.exists() {
            return Ok(Placed {
                put_in_place: current.display().to_string(),
                restored_from: String::new(),
                kept_aside: Some(kept.display().to_string()),
                files: count_files(&current),
                already_promoted: true,
            });
        }
        let (from, to) = request.window;
        return Err(failed(format!(
            "no {RESTORE_DIR_PREFIX}<datetime>/{} directory under {} is dated within restore \
             job {}'s run ({} to {}): it wrote nothing to promote; nothing was moved",
            request.source_tenant_id,
            mount.display(),
            request.restore_job_id,
            crate::clock::rfc3339(from),
            crate::clock::rfc3339(to),
        )));
    };

    refuse_escaping_symlinks(&restored)?;
    // A restore that brought back no file must not replace a tenant's site that has some:
    // that is a lost site, not a restore.
    if count_files(&restored) == 0 && current.is_dir() && count_files(&current) > 0 {
        return Err(failed(format!(
            "refusing to promote: the restored {} holds no file, but {} holds {}; nothing was \
             changed",
            restored.display(),
            current.display(),
            count_files(&current)
        )));
    }

    // Move the current directory aside, unless a crashed attempt already did. The kept path
    // always exists afterwards (empty when the tenant had no directory): it marks this restore
    // job's promotion as begun.
    let parent = kept.parent().expect("kept path has a parent");
    fs::create_dir_all(parent).map_err(|e| io_failed("creating", parent, e))?;
    // The scratch space is made on a drill's first use; a tenant's parent is the root.
    let home = current.parent().expect("a directory under the mount");
    fs::create_dir_all(home).map_err(|e| io_failed("creating", home, e))?;
    match fs::symlink_metadata(&current) {
        Ok(_) if kept.exists() => {
            return Err(failed(format!(
                "both {} and {} exist: an earlier promotion of restore job {} was \
                 interrupted; nothing was changed, move one of them by hand",
                current.display(),
                kept.display(),
                request.restore_job_id
            )));
        }
        Ok(_) => rename(&current, &kept).map_err(|e| io_failed("moving aside", &current, e))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if !kept.exists() {
                fs::create_dir(&kept).map_err(|e| io_failed("creating", &kept, e))?;
            }
        }
        Err(e) => return Err(io_failed("inspecting", &current, e)),
    }

    if let Err(error) = rename(&restored, &current) {
        // Roll back: the tenant must never be left without its directory.
        return Err(match rename(&kept, &current) {
            Ok(_) => failed(format!(
                "renaming {} into place failed ({error}); the previous content was put back at {}",
                restored.display(),
                current.display()
            )),
            Err(rollback_error) => failed(format!(
                "renaming {} into place failed ({error}) and putting the previous content back \
                 failed too ({rollback_error}): the previous content is at {}",
                restored.display(),
                kept.display()
            )),
        });
    }

    // The restore directory is removed only when empty: it may hold other restored items.
    if let Some(dir) = restored.parent() {
        let _ = fs::remove_dir(dir);
    }
    Ok(Placed {
        put_in_place: current.display().to_string(),
        restored_from: restored.display().to_string(),
        kept_aside: Some(kept.display().to_string()),
        files: count_files(&current),
        already_promoted: false,
    })
}

/// A side-by-side restore: the restored directory renamed to `into` (from the root), whose
/// parents are made; nothing of the tenant's is touched.
fn put_beside(
    mount: &Path,
    into: &str,
    restored: Option<PathBuf>,
    request: &Placement,
    rename: &impl Fn(&Path, &Path) -> io::Result<()>,
) -> Result<Placed, Error> {
    let relative = Path::new(into.trim_start_matches('/'));
    if relative.as_os_str().is_empty()
        || relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(failed(format!(
            "{into:?} is not a plain directory path from the file system's root"
        )));
    }
    let target = mount.join(relative);
    let Some(restored) = restored else {
        if target.is_dir() {
            return Ok(Placed {
                put_in_place: target.display().to_string(),
                restored_from: String::new(),
                kept_aside: None,
                files: count_files(&target),
                already_promoted: true,
            });
        }
        return Err(failed(format!(
            "no {RESTORE_DIR_PREFIX}*/{} directory under {}: the restore job {} wrote nothing \
             to put side by side",
            request.source_tenant_id,
            mount.display(),
            request.restore_job_id
        )));
    };
    refuse_escaping_symlinks(&restored)?;
    if fs::symlink_metadata(&target).is_ok() {
        return Err(failed(format!(
            "{} already exists: nothing was changed",
            target.display()
        )));
    }
    let parent = target.parent().expect("a path from the root has a parent");
    fs::create_dir_all(parent).map_err(|e| io_failed("creating", parent, e))?;
    rename(&restored, &target).map_err(|e| io_failed("moving", &restored, e))?;
    if let Some(dir) = restored.parent() {
        let _ = fs::remove_dir(dir);
    }
    Ok(Placed {
        put_in_place: target.display().to_string(),
        restored_from: restored.display().to_string(),
        kept_aside: None,
        files: count_files(&target),
        already_promoted: false,
    })
}

/// The `aws-backup-restore_<datetime>/<source>` directory the restore job wrote: the one
/// whose datetime lies within the job's `window`. AWS documents only that an item-level
/// restore creates `aws-backup-restore_datetime` off the root
/// (<https://docs.aws.amazon.com/aws-backup/latest/devguide/restoring-efs.html>); the job
/// makes it while it runs, so its datetime lies between the job's CreationDate and
/// CompletionDate. Another restore of the same tenant running meanwhile makes the choice
/// ambiguous: refused, naming the candidates, rather than guessed.
fn find_restored(
    mount: &Path,
    source: &TenantId,
    (from, to): (i64, i64),
) -> Result<Option<PathBuf>, Error> {
    let entries = fs::read_dir(mount).map_err(|e| io_failed("listing", mount, e))?;
    let mut candidates: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            layout::restore_dir_time(&e.file_name().to_string_lossy())
                .is_some_and(|at| (from..=to).contains(&at))
        })
        .map(|e| e.path().join(source.as_str()))
        .filter(|p| {
            fs::symlink_metadata(p)
                .map(|m| m.file_type().is_dir())
                .unwrap_or(false)
        })
        .collect();
    candidates.sort();
    if candidates.len() > 1 {
        let names: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        return Err(failed(format!(
            "{} restored directories of {source} are dated within the restore job's run ({} to \
             {}): {}; another restore of {source} ran meanwhile, and which one this job wrote \
             cannot be told; nothing was moved",
            candidates.len(),
            crate::clock::rfc3339(from),
            crate::clock::rfc3339(to),
            names.join(", ")
        )));
    }
    Ok(candidates.pop())
}

/// Refuses a tree holding a symlink whose target lies outside the tree: once promoted, such a
/// link would let the tenant's site read or write another tenant's files. Each link is
/// resolved as the kernel would, through the links it passes (a link `d -> ../../..` and a
/// link `e -> d/..` beside it resolve outside, though `e` reads as inside), and refused if
/// any step of it leaves the tree.
fn refuse_escaping_symlinks(root: &Path) -> Result<(), Error> {
    let real_root = fs::canonicalize(root).map_err(|e| io_failed("resolving", root, e))?;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| io_failed("listing", &dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_failed("listing", &dir, e))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|e| io_failed("inspecting", &path, e))?;
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_symlink() {
                let inside = resolves_inside(&real_root, &path)
                    .map_err(|e| io_failed("resolving link", &path, e))?;
                if !inside {
                    let target = fs::read_link(&path).unwrap_or_default();
                    return Err(failed(format!(
                        "refusing to promote: {} links to {}, outside the tenant's directory; \
                         nothing was changed",
                        path.display(),
                        target.display()
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Whether the symlink `link` resolves, step by step, inside `real_root` (a canonical path).
/// An absolute target is outside: the tenant's site sees the file system from elsewhere. A
/// part of the target that does not exist yet may only be followed by plain names.
fn resolves_inside(real_root: &Path, link: &Path) -> io::Result<bool> {
    let target = fs::read_link(link)?;
    if target.is_absolute() {
        return Ok(false);
    }
    let mut at = fs::canonicalize(link.parent().unwrap_or(real_root))?;
    let mut parts = target.components();
    while let Some(part) = parts.next() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                at.pop();
            }
            Component::Normal(name) => {
                let next = at.join(name);
                match fs::canonicalize(&next) {
                    Ok(real) => at = real,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        at = next;
                        for rest in parts.by_ref() {
                            match rest {
                                Component::Normal(name) => at.push(name),
                                Component::CurDir => {}
                                _ => return Ok(false),
                            }
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            Component::RootDir | Component::Prefix(_) => return Ok(false),
        }
        if !at.starts_with(real_root) {
            return Ok(false);
        }
    }
    Ok(at.starts_with(real_root))
}

/// The files under `root`, counted beneath its handle ([`crate::held`]): the tenant's site
/// may swap a directory of its own for a link while it is counted, and the count never
/// follows it out.
fn count_files(root: &Path) -> u64 {
    let Ok(root) = Held::open(root) else { return 0 };
    let mut count = 0;
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in dir.entries().into_iter().flatten() {
            match (entry.kind, entry.name.to_str()) {
                (Kind::Dir, Some(name)) => stack.extend(dir.dir(name).ok()),
                (Kind::Dir, None) => {}
                _ => count += 1,
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_id_or_side_by_side_directory_off_its_grammar_is_refused() {
        let op = Operation::Restore;
        let tenant = TenantId::parse("tenant-1").unwrap();
        let into = crate::restore::request::side_by_side_directory(&tenant, "exec-1");
        let job = "0f3c2a44-7c1e-4b9e-9d6c-2a1b3c4d5e6f";
        assert!(check_fields(op, job, &tenant, None).is_ok());
        assert!(check_fields(op, job, &tenant, Some(&into)).is_ok());
        for bad in ["", "../../tenant-2", "job/1", "a b", &"a".repeat(129)] {
            let e = check_fields(op, bad, &tenant, None).unwrap_err();
            assert_eq!(e.name(), "InvalidRestoreTarget", "{bad:?}");
        }
        let other = TenantId::parse("tenant-2").unwrap();
        let theirs = crate::restore::request::side_by_side_directory(&other, "exec-1");
        for bad in [
            theirs.as_str(),
            "/tenant-2",
            "/.bbws-scratch/side-by-side/tenant-1/../../tenant-2",
            "/.bbws-scratch/side-by-side/tenant-1/",
        ] {
            let e = check_fields(op, job, &tenant, Some(bad)).unwrap_err();
            assert!(e.message().contains("filesInto"), "{bad}: {e}");
        }
    }

    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tenant-1");
        fs::create_dir_all(root.join("a/b/c")).unwrap();
        fs::create_dir_all(dir.path().join("tenant-2")).unwrap();
        (dir, root)
    }

    #[test]
    fn links_are_resolved_through_the_links_they_pass() {
        let (_dir, root) = tree();
        let real = fs::canonicalize(&root).unwrap();
        // d climbs to the root itself: inside. e reads as a/b/c but passes through d: outside.
        symlink("../../..", root.join("a/b/c/d")).unwrap();
        symlink("d/..", root.join("a/b/c/e")).unwrap();
        assert!(resolves_inside(&real, &root.join("a/b/c/d")).unwrap());
        assert!(!resolves_inside(&real, &root.join("a/b/c/e")).unwrap());
        assert!(refuse_escaping_symlinks(&root).is_err());
    }

    #[test]
    fn plain_links_are_judged_as_before() {
        let (_dir, root) = tree();
        let real = fs::canonicalize(&root).unwrap();
        for (link, target, inside) in [
            ("a/up", "../x", true),
            ("a/b/sib", "../c", true),
            ("a/out", "../../tenant-2", false),
            ("abs", "/etc/passwd", false),
            ("a/b/c/dangling", "not-yet/there", true),
            ("a/b/c/dangling-up", "not-yet/../../../../..", false),
        ] {
            symlink(target, root.join(link)).unwrap();
            assert_eq!(
                resolves_inside(&real, &root.join(link)).unwrap(),
                inside,
                "{link} -> {target}"
            );
        }
    }
}
