//! promote-restore on real directories.

use std::cell::Cell;
use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use bbws::restore::files::{put_in_place, put_in_place_with, Placement, KEPT_DIR};
use bbws::TenantId;

/// A fresh directory standing for the mounted file system's root, removed when dropped.
struct Mount(tempfile::TempDir);

impl std::ops::Deref for Mount {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

fn mount() -> Mount {
    Mount(
        tempfile::Builder::new()
            .prefix("bbws-promote-")
            .tempdir()
            .unwrap(),
    )
}

/// 2026-11-25T12:00:00Z, when the scene's restore directory is dated.
const RESTORED_AT: i64 = 1_795_608_000;

fn write(path: &Path, content: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

fn request(tenant: &str, source: &str) -> Placement {
    Placement {
        tenant_id: TenantId::parse(tenant).unwrap(),
        source_tenant_id: TenantId::parse(source).unwrap(),
        restore_job_id: "restore-1".into(),
        restore_started: "20261125T120000Z".into(),
        // The job ran from a minute before the scene's restore directory to a minute after.
        window: (RESTORED_AT - 60, RESTORED_AT + 60),
        drill: false,
        into: None,
    }
}

/// The tenant's damaged current content and a restore of its backup.
fn scene(mount: &Path) -> PathBuf {
    write(&mount.join("tenant-1/index.php"), b"damaged");
    write(&mount.join("tenant-1/new-since-backup.txt"), b"new");
    let restored = mount.join("aws-backup-restore_2026-11-25T12-00-00-000Z/tenant-1");
    write(&restored.join("index.php"), b"<?php // original");
    write(&restored.join("uploads/logo.bin"), &[0, 1, 2, 255]);
    fs::set_permissions(
        restored.join("index.php"),
        fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    write(&mount.join("tenant-2/index.php"), b"other tenant");
    restored
}

#[test]
fn puts_the_restored_files_in_place_and_keeps_the_old_ones_aside() {
    let mount = mount();
    scene(&mount);
    let outcome = put_in_place(&mount, &request("tenant-1", "tenant-1")).unwrap();

    assert_eq!(
        fs::read(mount.join("tenant-1/index.php")).unwrap(),
        b"<?php // original"
    );
    assert_eq!(
        fs::read(mount.join("tenant-1/uploads/logo.bin")).unwrap(),
        [0, 1, 2, 255]
    );
    assert!(!mount.join("tenant-1/new-since-backup.txt").exists());
    let mode = fs::metadata(mount.join("tenant-1/index.php"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640, "modes are kept");
    assert_eq!(outcome.files, 2);

    let kept = mount
        .join(KEPT_DIR)
        .join("tenant-1/20261125T120000Z-restore-1");
    assert_eq!(outcome.kept_aside.as_deref(), Some(kept.to_str().unwrap()));
    assert_eq!(fs::read(kept.join("index.php")).unwrap(), b"damaged");
    assert_eq!(fs::read(kept.join("new-since-backup.txt")).unwrap(), b"new");
    assert!(
        !mount
            .join("aws-backup-restore_2026-11-25T12-00-00-000Z")
            .exists(),
        "emptied restore dir removed"
    );
    assert_eq!(
        fs::read(mount.join("tenant-2/index.php")).unwrap(),
        b"other tenant"
    );

    // A retried step finds the work done and says so.
    let again = put_in_place(&mount, &request("tenant-1", "tenant-1")).unwrap();
    assert!(again.already_promoted);
    assert_eq!(
        fs::read(mount.join("tenant-1/index.php")).unwrap(),
        b"<?php // original"
    );
}

#[test]
fn rolls_back_when_the_second_rename_fails() {
    let mount = mount();
    let restored = scene(&mount);
    let calls = Cell::new(0);
    let err = put_in_place_with(&mount, &request("tenant-1", "tenant-1"), |from, to| {
        calls.set(calls.get() + 1);
        if calls.get() == 2 {
            return Err(io::Error::other("injected failure"));
        }
        fs::rename(from, to)
    })
    .unwrap_err();
    assert_eq!(err.name(), "RestoreFailed");
    assert!(err.to_string().contains("put back"), "{err}");
    assert_eq!(
        fs::read(mount.join("tenant-1/index.php")).unwrap(),
        b"damaged"
    );
    assert!(
        restored.join("index.php").exists(),
        "the restored files are still there"
    );
}

#[test]
fn refuses_symlinks_that_leave_the_tenant_directory() {
    for target in ["../../tenant-2/index.php", "/etc/passwd"] {
        let mount = mount();
        let restored = scene(&mount);
        symlink(target, restored.join("escape")).unwrap();
        let err = put_in_place(&mount, &request("tenant-1", "tenant-1")).unwrap_err();
        assert_eq!(err.name(), "RestoreFailed");
        assert!(err.to_string().contains("outside the tenant"), "{err}");
        assert_eq!(
            fs::read(mount.join("tenant-1/index.php")).unwrap(),
            b"damaged",
            "nothing moved"
        );
        assert!(
            !mount.join(KEPT_DIR).join("tenant-1").exists()
                || fs::read_dir(mount.join(KEPT_DIR).join("tenant-1"))
                    .unwrap()
                    .next()
                    .is_none()
        );
    }
}

#[test]
fn links_inside_the_tenant_directory_are_fine() {
    let mount = mount();
    let restored = scene(&mount);
    symlink("../index.php", restored.join("uploads/alias.php")).unwrap();
    put_in_place(&mount, &request("tenant-1", "tenant-1")).unwrap();
    assert_eq!(
        fs::read(mount.join("tenant-1/uploads/alias.php")).unwrap(),
        b"<?php // original"
    );
}

#[test]
fn an_empty_restore_never_replaces_a_site_that_has_files() {
    let mount = mount();
    write(&mount.join("tenant-1/index.php"), b"current");
    let restored = mount.join("aws-backup-restore_2026-11-25T12-00-00-000Z/tenant-1");
    fs::create_dir_all(restored.join("uploads")).unwrap();
    let err = put_in_place(&mount, &request("tenant-1", "tenant-1")).unwrap_err();
    assert_eq!(err.name(), "RestoreFailed");
    assert!(err.to_string().contains("holds no file"), "{err}");
    assert_eq!(
        fs::read(mount.join("tenant-1/index.php")).unwrap(),
        b"current",
        "nothing moved"
    );
    assert!(
        restored.exists(),
        "the restored directory is left for the operator"
    );
    // A tenant with no files yet takes an empty restore.
    let empty = mount.join("tenant-2");
    fs::create_dir_all(&empty).unwrap();
    let restored_2 = mount.join("aws-backup-restore_2026-11-25T12-00-00-000Z/tenant-2");
    fs::create_dir_all(&restored_2).unwrap();
    put_in_place(&mount, &request("tenant-2", "tenant-2")).unwrap();
}

#[test]
fn a_restore_that_wrote_nothing_is_restore_failed() {
    let mount = mount();
    write(&mount.join("tenant-1/index.php"), b"current");
    let err = put_in_place(&mount, &request("tenant-1", "tenant-1")).unwrap_err();
    assert_eq!(err.name(), "RestoreFailed");
    assert_eq!(
        fs::read(mount.join("tenant-1/index.php")).unwrap(),
        b"current"
    );
}

#[test]
fn a_clone_puts_another_tenants_backup_in_the_target_directory() {
    let mount = mount();
    scene(&mount);
    put_in_place(&mount, &request("tenant-3", "tenant-1")).unwrap();
    assert_eq!(
        fs::read(mount.join("tenant-3/index.php")).unwrap(),
        b"<?php // original"
    );
    assert_eq!(
        fs::read(mount.join("tenant-1/index.php")).unwrap(),
        b"damaged",
        "source untouched"
    );
}

#[test]
fn finishes_a_promotion_interrupted_between_the_two_renames() {
    let mount = mount();
    scene(&mount);
    let kept = mount
        .join(KEPT_DIR)
        .join("tenant-1/20261125T120000Z-restore-1");
    fs::create_dir_all(kept.parent().unwrap()).unwrap();
    fs::rename(mount.join("tenant-1"), &kept).unwrap();
    let outcome = put_in_place(&mount, &request("tenant-1", "tenant-1")).unwrap();
    assert!(!outcome.already_promoted);
    assert_eq!(
        fs::read(mount.join("tenant-1/index.php")).unwrap(),
        b"<?php // original"
    );
    assert_eq!(fs::read(kept.join("index.php")).unwrap(), b"damaged");
}

#[test]
fn of_two_restores_of_the_tenant_only_the_jobs_own_directory_is_taken() {
    let mount = mount();
    let own = scene(&mount);
    // A drill of the same tenant, an hour and a half later, restored another point in time.
    let other = mount.join("aws-backup-restore_2026-11-25T13-30-00-000Z/tenant-1");
    write(&other.join("index.php"), b"<?php // another point in time");
    let outcome = put_in_place(&mount, &request("tenant-1", "tenant-1")).unwrap();
    assert_eq!(outcome.restored_from, own.display().to_string());
    assert_eq!(
        fs::read(mount.join("tenant-1/index.php")).unwrap(),
        b"<?php // original"
    );
    assert_eq!(
        fs::read(other.join("index.php")).unwrap(),
        b"<?php // another point in time",
        "the other restore's directory is left as it was"
    );
    // The other job, dated by its own window, takes its own directory.
    let mut later = request("tenant-1", "tenant-1");
    later.restore_job_id = "restore-2".into();
    later.window = (RESTORED_AT + 5_340, RESTORED_AT + 5_460);
    let outcome = put_in_place(&mount, &later).unwrap();
    assert_eq!(outcome.restored_from, other.display().to_string());
}

#[test]
fn two_restored_directories_within_the_jobs_run_are_refused_with_nothing_moved() {
    let mount = mount();
    let own = scene(&mount);
    let other = mount.join("aws-backup-restore_2026-11-25T12-00-30-000Z/tenant-1");
    write(&other.join("index.php"), b"<?php // concurrent");
    let err = put_in_place(&mount, &request("tenant-1", "tenant-1")).unwrap_err();
    assert_eq!(err.name(), "RestoreFailed");
    let message = err.to_string();
    assert!(message.contains("2 restored directories"), "{message}");
    assert!(message.contains(&own.display().to_string()), "{message}");
    assert!(message.contains(&other.display().to_string()), "{message}");
    assert_eq!(
        fs::read(mount.join("tenant-1/index.php")).unwrap(),
        b"damaged",
        "nothing moved"
    );
    assert!(own.join("index.php").exists() && other.join("index.php").exists());
    assert!(!mount.join(KEPT_DIR).exists());
}

#[test]
fn a_restore_directory_dated_outside_the_jobs_run_is_not_taken() {
    let mount = mount();
    scene(&mount);
    let mut request = request("tenant-1", "tenant-1");
    request.window = (RESTORED_AT + 3_600, RESTORED_AT + 3_700);
    let err = put_in_place(&mount, &request).unwrap_err();
    assert_eq!(err.name(), "RestoreFailed");
    assert!(err.to_string().contains("dated within"), "{err}");
    assert_eq!(
        fs::read(mount.join("tenant-1/index.php")).unwrap(),
        b"damaged"
    );
}

#[test]
fn a_drill_fills_its_scratch_directory_and_never_a_tenants() {
    let mount = mount();
    scene(&mount);
    // A tenant onboarded under the scratch's name before such names were reserved.
    write(
        &mount.join("drill-tenant-1-20261125/index.php"),
        b"namesake",
    );
    let mut request = request("drill-tenant-1-20261125", "tenant-1");
    request.drill = true;
    let outcome = put_in_place(&mount, &request).unwrap();
    let scratch = mount.join(".bbws-scratch/drill-tenant-1-20261125");
    assert_eq!(outcome.put_in_place, scratch.display().to_string());
    assert_eq!(
        fs::read(scratch.join("index.php")).unwrap(),
        b"<?php // original"
    );
    assert_eq!(
        fs::read(mount.join("drill-tenant-1-20261125/index.php")).unwrap(),
        b"namesake"
    );
    assert_eq!(
        fs::read(mount.join("tenant-1/index.php")).unwrap(),
        b"damaged"
    );
    assert!(mount
        .join(KEPT_DIR)
        .join(".bbws-scratch/drill-tenant-1-20261125")
        .is_dir());
}

#[test]
fn a_side_by_side_restore_puts_the_files_beside_and_touches_nothing_of_the_tenants() {
    let mount = mount();
    scene(&mount);
    let request = Placement {
        into: Some("/.bbws-scratch/side-by-side/tenant-1/abcd1234".into()),
        ..request("tenant-1", "tenant-1")
    };
    let outcome = put_in_place(&mount, &request).unwrap();
    let beside = mount.join(".bbws-scratch/side-by-side/tenant-1/abcd1234");
    assert_eq!(outcome.put_in_place, beside.display().to_string());
    assert_eq!(outcome.kept_aside, None);
    assert_eq!(outcome.files, 2);
    assert_eq!(
        fs::read(beside.join("index.php")).unwrap(),
        b"<?php // original"
    );
    // The live site is exactly as it was, and nothing was kept aside.
    assert_eq!(
        fs::read(mount.join("tenant-1/index.php")).unwrap(),
        b"damaged"
    );
    assert!(mount.join("tenant-1/new-since-backup.txt").exists());
    assert!(!mount.join(KEPT_DIR).exists());
    // A retried step finds the work done.
    assert!(put_in_place(&mount, &request).unwrap().already_promoted);
    // A path that climbs out of the root is refused.
    let climbing = Placement {
        into: Some("/../elsewhere".into()),
        ..request.clone()
    };
    assert!(put_in_place(&mount, &climbing).is_err());
}
