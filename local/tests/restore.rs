//! Restores through the real `aws-sdk-backup` client: EFS item-level restores write real
//! files, byte-identical to the file system at backup time.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use aws_sdk_backup::error::ProvideErrorMetadata;
use aws_sdk_backup::types::{BackupJobState, RestoreJobStatus};
use common::*;

/// Every entry under `root`: files with their bytes and mode, symlinks with their target.
fn tree(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, at: &Path, out: &mut BTreeMap<PathBuf, String>) {
    for entry in std::fs::read_dir(at).unwrap() {
        let path = entry.unwrap().path();
        let rel = path.strip_prefix(root).unwrap().to_path_buf();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o7777;
        if meta.file_type().is_symlink() {
            out.insert(
                rel,
                format!("link -> {}", std::fs::read_link(&path).unwrap().display()),
            );
        } else if meta.is_dir() {
            out.insert(rel, format!("dir {mode:o}"));
            walk(root, &path, out);
        } else {
            out.insert(
                rel,
                format!("file {mode:o} {:?}", std::fs::read(&path).unwrap()),
            );
        }
    }
}

async fn backed_up(local: &Local) -> String {
    let started = start_backup(&local.backup, &efs_arn(FS_ID), None).await;
    let done = backup_job_ended(&local.backup, started.backup_job_id().unwrap()).await;
    assert_eq!(done.state(), Some(&BackupJobState::Completed));
    done.recovery_point_arn().unwrap().to_owned()
}

fn efs_restore(
    c: &aws_sdk_backup::Client,
    rp: &str,
    items: &str,
) -> aws_sdk_backup::operation::start_restore_job::builders::StartRestoreJobFluentBuilder {
    c.start_restore_job()
        .recovery_point_arn(rp)
        .iam_role_arn(ROLE)
        .resource_type("EFS")
        .metadata("file-system-id", FS_ID)
        .metadata("newFileSystem", "false")
        .metadata("Encrypted", "false")
        .metadata("PerformanceMode", "generalPurpose")
        .metadata("ItemsToRestore", items)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_level_restore_writes_the_files_as_they_were() {
    let local = start(0.3).await;
    local.create_vaults().await;
    let tenant = local.write_tenant(FS_ID, "tenant-1");
    std::os::unix::fs::symlink("wp-content/uploads/photo.jpg", tenant.join("latest.jpg")).unwrap();
    std::fs::set_permissions(
        tenant.join("wp-config.php"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    local.write_tenant(FS_ID, "tenant-2");
    let before = tree(&tenant);

    let rp = backed_up(&local).await;

    // The tenant's files change after the backup.
    std::fs::write(tenant.join("wp-config.php"), b"broken").unwrap();
    std::fs::remove_file(tenant.join("wp-content/uploads/photo.jpg")).unwrap();
    std::fs::write(tenant.join("new.txt"), b"new").unwrap();

    let c = &local.backup;
    let meta = c
        .get_recovery_point_restore_metadata()
        .backup_vault_name(VAULT)
        .recovery_point_arn(&rp)
        .send()
        .await
        .unwrap();
    let meta = meta.restore_metadata().unwrap();
    assert_eq!(meta["file-system-id"], FS_ID);
    assert_eq!(meta["newFileSystem"], "true");
    assert_eq!(meta["PerformanceMode"], "generalPurpose");

    let started = efs_restore(c, &rp, r#"["/tenant-1"]"#)
        .send()
        .await
        .unwrap();
    let id = started.restore_job_id().unwrap();
    let first = c
        .describe_restore_job()
        .restore_job_id(id)
        .send()
        .await
        .unwrap();
    assert!(matches!(
        first.status(),
        Some(RestoreJobStatus::Pending | RestoreJobStatus::Running)
    ));
    let done = restore_job_ended(c, id).await;
    assert_eq!(
        done.status(),
        Some(&RestoreJobStatus::Completed),
        "{:?}",
        done.status_message()
    );
    assert_eq!(done.created_resource_arn(), Some(efs_arn(FS_ID).as_str()));
    assert_eq!(done.recovery_point_arn(), Some(rp.as_str()));

    let restored: Vec<PathBuf> = std::fs::read_dir(local.efs_root.join(FS_ID))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("aws-backup-restore_")
        })
        .collect();
    assert_eq!(restored.len(), 1);
    let name = restored[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    // aws-backup-restore_2025-03-28T14-13-02-250589632Z
    assert_eq!(
        name.len(),
        "aws-backup-restore_2025-03-28T14-13-02-250589632Z".len(),
        "{name}"
    );
    assert!(name.ends_with('Z') && name.as_bytes()[29] == b'T', "{name}");
    // Only the item asked for, byte-identical to the backup.
    let top: Vec<_> = std::fs::read_dir(&restored[0])
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(top, vec![std::ffi::OsString::from("tenant-1")]);
    assert_eq!(tree(&restored[0].join("tenant-1")), before);
    // The live files are left alone.
    assert_eq!(
        std::fs::read(tenant.join("wp-config.php")).unwrap(),
        b"broken"
    );

    let rp_now = c
        .describe_recovery_point()
        .backup_vault_name(VAULT)
        .recovery_point_arn(&rp)
        .send()
        .await
        .unwrap();
    assert!(rp_now.last_restore_time().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_of_a_missing_item_fails_and_writes_nothing() {
    let local = start(0.2).await;
    local.create_vaults().await;
    local.write_tenant(FS_ID, "tenant-1");
    let rp = backed_up(&local).await;
    let c = &local.backup;
    let started = efs_restore(c, &rp, r#"["/tenant-1", "/tenant-9"]"#)
        .send()
        .await
        .unwrap();
    let done = restore_job_ended(c, started.restore_job_id().unwrap()).await;
    assert_eq!(done.status(), Some(&RestoreJobStatus::Failed));
    assert!(
        done.status_message().unwrap().contains("/tenant-9"),
        "{:?}",
        done.status_message()
    );
    let written = std::fs::read_dir(local.efs_root.join(FS_ID))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("aws-backup-restore_")
        })
        .count();
    assert_eq!(written, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_requests_are_checked() {
    let local = start(0.2).await;
    local.create_vaults().await;
    local.write_tenant(FS_ID, "tenant-1");
    let rp = backed_up(&local).await;
    let c = &local.backup;

    let new_fs = c
        .start_restore_job()
        .recovery_point_arn(&rp)
        .metadata("file-system-id", FS_ID)
        .metadata("newFileSystem", "true")
        .send()
        .await
        .unwrap_err();
    assert_eq!(new_fs.code(), Some("InvalidParameterValueException"));
    assert!(new_fs.message().unwrap().contains("newFileSystem"));

    for items in [
        r#"["tenant-1"]"#,
        r#"["/a/../etc"]"#,
        "/tenant-1",
        r#"["/1","/2","/3","/4","/5","/6"]"#,
    ] {
        let e = efs_restore(c, &rp, items).send().await.unwrap_err();
        assert_eq!(e.code(), Some("InvalidParameterValueException"), "{items}");
    }
    let unknown = efs_restore(
        c,
        &format!("arn:aws:backup:us-east-1:{ACCOUNT}:recovery-point:NOPE"),
        r#"["/tenant-1"]"#,
    )
    .send()
    .await
    .unwrap_err();
    assert_eq!(unknown.code(), Some("ResourceNotFoundException"));

    let a = efs_restore(c, &rp, r#"["/tenant-1"]"#)
        .idempotency_token("restore-1")
        .send()
        .await
        .unwrap();
    let b = efs_restore(c, &rp, r#"["/tenant-1"]"#)
        .idempotency_token("restore-1")
        .send()
        .await
        .unwrap();
    assert_eq!(a.restore_job_id(), b.restore_job_id());
    let listed = c.list_restore_jobs().send().await.unwrap();
    assert_eq!(listed.restore_jobs().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restore_names_the_instance_it_creates() {
    let local = start(0.2).await;
    local.create_vaults().await;
    let c = &local.backup;
    let started = start_backup(
        c,
        &format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:tenant-1-db"),
        None,
    )
    .await;
    let rp = backup_job_ended(c, started.backup_job_id().unwrap())
        .await
        .recovery_point_arn()
        .unwrap()
        .to_owned();
    let restore = c
        .start_restore_job()
        .recovery_point_arn(&rp)
        .iam_role_arn(ROLE)
        .metadata("DBInstanceIdentifier", "tenant-1-db-restored")
        .send()
        .await
        .unwrap();
    let done = restore_job_ended(c, restore.restore_job_id().unwrap()).await;
    assert_eq!(done.status(), Some(&RestoreJobStatus::Completed));
    assert_eq!(
        done.created_resource_arn(),
        Some(format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:tenant-1-db-restored").as_str())
    );
    let no_id = c
        .start_restore_job()
        .recovery_point_arn(&rp)
        .metadata("Engine", "mysql")
        .send()
        .await
        .unwrap_err();
    assert_eq!(no_id.code(), Some("InvalidParameterValueException"));
}
