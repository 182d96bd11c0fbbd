//! promote-restore on real directories.

use std::cell::Cell;
use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use bbws::restore::files::{put_in_place, put_in_place_with, Placement, KEPT_DIR};
use bbws::TenantId;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fresh directory standing for the mounted file system's root.
fn mount() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "bbws-promote-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

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
        into: None,
    }
}

/// The tenant's damaged current content and a restore of its backup.
fn scene(mount: &Path) -> PathBuf {
    write(&mount.join("tenant-1/wp-content/index.php"), b"damaged");
    write(
        &mount.join("tenant-1/wp-content/new-since-backup.txt"),
        b"new",
    );
    let restored = mount.join("aws-backup-restore_2026-11-25T12-00-00-000Z/tenant-1");
    write(&restored.join("wp-content/index.php"), b"<?php // original");
    write(
        &restored.join("wp-content/uploads/logo.bin"),
        &[0, 1, 2, 255],
    );
    fs::set_permissions(
        restored.join("wp-content/index.php"),
        fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    write(
        &mount.join("tenant-2/wp-content/index.php"),
        b"other tenant",
    );
    restored
}

#[test]
fn puts_the_restored_files_in_place_and_keeps_the_old_ones_aside() {
    let mount = mount();
    scene(&mount);
    let outcome = put_in_place(&mount, &request("tenant-1", "tenant-1")).unwrap();

    assert_eq!(
        fs::read(mount.join("tenant-1/wp-content/index.php")).unwrap(),
        b"<?php // original"
    );
    assert_eq!(
        fs::read(mount.join("tenant-1/wp-content/uploads/logo.bin")).unwrap(),
        [0, 1, 2, 255]
    );
    assert!(!mount
        .join("tenant-1/wp-content/new-since-backup.txt")
        .exists());
    let mode = fs::metadata(mount.join("tenant-1/wp-content/index.php"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640, "modes are kept");
    assert_eq!(outcome.files, 2);

    let kept = mount
        .join(KEPT_DIR)
        .join("tenant-1/20261125T120000Z-restore-1");
    assert_eq!(outcome.kept_aside.as_deref(), Some(kept.to_str().unwrap()));
    assert_eq!(
        fs::read(kept.join("wp-content/index.php")).unwrap(),
        b"damaged"
    );
    assert_eq!(
        fs::read(kept.join("wp-content/new-since-backup.txt")).unwrap(),
        b"new"
    );
    assert!(
        !mount
            .join("aws-backup-restore_2026-11-25T12-00-00-000Z")
            .exists(),
        "emptied restore dir removed"
    );
    assert_eq!(
        fs::read(mount.join("tenant-2/wp-content/index.php")).unwrap(),
        b"other tenant"
    );

    // A retried step finds the work done and says so.
    let again = put_in_place(&mount, &request("tenant-1", "tenant-1")).unwrap();
    assert!(again.already_promoted);
    assert_eq!(
        fs::read(mount.join("tenant-1/wp-content/index.php")).unwrap(),
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
        fs::read(mount.join("tenant-1/wp-content/index.php")).unwrap(),
        b"damaged"
    );
    assert!(
        restored.join("wp-content/index.php").exists(),
        "the restored files are still there"
    );
}

#[test]
fn refuses_symlinks_that_leave_the_tenant_directory() {
    for target in ["../../tenant-2/wp-content/index.php", "/etc/passwd"] {
        let mount = mount();
        let restored = scene(&mount);
        symlink(target, restored.join("wp-content/escape")).unwrap();
        let err = put_in_place(&mount, &request("tenant-1", "tenant-1")).unwrap_err();
        assert_eq!(err.name(), "RestoreFailed");
        assert!(err.to_string().contains("outside the tenant"), "{err}");
        assert_eq!(
            fs::read(mount.join("tenant-1/wp-content/index.php")).unwrap(),
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
    symlink(
        "../wp-content/index.php",
        restored.join("wp-content/alias.php"),
    )
    .unwrap();
    put_in_place(&mount, &request("tenant-1", "tenant-1")).unwrap();
    assert_eq!(
        fs::read(mount.join("tenant-1/wp-content/alias.php")).unwrap(),
        b"<?php // original"
    );
}

#[test]
fn an_empty_restore_never_replaces_a_site_that_has_files() {
    let mount = mount();
    write(&mount.join("tenant-1/wp-content/index.php"), b"current");
    let restored = mount.join("aws-backup-restore_2026-11-25T12-00-00-000Z/tenant-1");
    fs::create_dir_all(restored.join("wp-content/uploads")).unwrap();
    let err = put_in_place(&mount, &request("tenant-1", "tenant-1")).unwrap_err();
    assert_eq!(err.name(), "RestoreFailed");
    assert!(err.to_string().contains("holds no file"), "{err}");
    assert_eq!(
        fs::read(mount.join("tenant-1/wp-content/index.php")).unwrap(),
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
    write(&mount.join("tenant-1/wp-content/index.php"), b"current");
    let err = put_in_place(&mount, &request("tenant-1", "tenant-1")).unwrap_err();
    assert_eq!(err.name(), "RestoreFailed");
    assert_eq!(
        fs::read(mount.join("tenant-1/wp-content/index.php")).unwrap(),
        b"current"
    );
}

#[test]
fn a_clone_puts_another_tenants_backup_in_the_target_directory() {
    let mount = mount();
    scene(&mount);
    put_in_place(&mount, &request("tenant-3", "tenant-1")).unwrap();
    assert_eq!(
        fs::read(mount.join("tenant-3/wp-content/index.php")).unwrap(),
        b"<?php // original"
    );
    assert_eq!(
        fs::read(mount.join("tenant-1/wp-content/index.php")).unwrap(),
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
        fs::read(mount.join("tenant-1/wp-content/index.php")).unwrap(),
        b"<?php // original"
    );
    assert_eq!(
        fs::read(kept.join("wp-content/index.php")).unwrap(),
        b"damaged"
    );
}

#[test]
fn a_side_by_side_restore_puts_the_files_beside_and_touches_nothing_of_the_tenants() {
    let mount = mount();
    scene(&mount);
    let request = Placement {
        into: Some("/.bbws-side-by-side/tenant-1/abcd1234".into()),
        ..request("tenant-1", "tenant-1")
    };
    let outcome = put_in_place(&mount, &request).unwrap();
    let beside = mount.join(".bbws-side-by-side/tenant-1/abcd1234");
    assert_eq!(outcome.put_in_place, beside.display().to_string());
    assert_eq!(outcome.kept_aside, None);
    assert_eq!(outcome.files, 2);
    assert_eq!(
        fs::read(beside.join("wp-content/index.php")).unwrap(),
        b"<?php // original"
    );
    // The live site is exactly as it was, and nothing was kept aside.
    assert_eq!(
        fs::read(mount.join("tenant-1/wp-content/index.php")).unwrap(),
        b"damaged"
    );
    assert!(mount
        .join("tenant-1/wp-content/new-since-backup.txt")
        .exists());
    assert!(!mount.join(KEPT_DIR).exists());
    // A retried step finds the work done.
    assert!(put_in_place(&mount, &request).unwrap().already_promoted);
    // A path that climbs out of the root is refused.
    let climbing = Placement {
        into: Some("/../elsewhere".into()),
        ..request.clone()
    };
    assert!(put_in_place(&mount, &climbing).is_err());
    fs::remove_dir_all(&mount).unwrap();
}
