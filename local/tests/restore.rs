//! Restores through the real `aws-sdk-backup` client: EFS item-level restores write real
//! files, byte-identical to the file system at backup time; database restores create the
//! instance or cluster in (a fake) moto.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use aws_sdk_backup::error::ProvideErrorMetadata;
use aws_sdk_backup::types::{BackupJobState, RestoreJobStatus};
use bbws_local::web::query_pairs;
use bytes::Bytes;
use common::*;
use http_body_util::Full;
use hyper::{Method, Response, StatusCode};
use serde_json::json;

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
    std::os::unix::fs::symlink("uploads/photo.jpg", tenant.join("latest.jpg")).unwrap();
    std::fs::set_permissions(
        tenant.join("index.php"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    local.write_tenant(FS_ID, "tenant-2");
    let before = tree(&tenant);

    let rp = backed_up(&local).await;

    // The tenant's files change after the backup.
    std::fs::write(tenant.join("index.php"), b"broken").unwrap();
    std::fs::remove_file(tenant.join("uploads/photo.jpg")).unwrap();
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
    // Dated while the job ran, as promotion (bbws::restore::files) needs to tell it apart.
    let at = bbws::layout::restore_dir_time(&name).expect("a dated name");
    let created = done.creation_date().unwrap().secs();
    let completed = done.completion_date().unwrap();
    let completed = completed.secs() + i64::from(completed.subsec_nanos() > 0);
    assert!(
        (created..=completed).contains(&at),
        "{created} {at} {completed}"
    );
    // Only the item asked for, byte-identical to the backup.
    let top: Vec<_> = std::fs::read_dir(&restored[0])
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(top, vec![std::ffi::OsString::from("tenant-1")]);
    assert_eq!(tree(&restored[0].join("tenant-1")), before);
    // The live files are left alone.
    assert_eq!(std::fs::read(tenant.join("index.php")).unwrap(), b"broken");

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

/// A fake moto serving RDS's Query API: `answer(action)` gives each call's status and body.
async fn fake_rds(answer: fn(&str) -> (u16, &'static str)) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let (addr, seen) = fake_server(move |req| {
        let (status, body) = answer(&form_of(req)["Action"]);
        let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        *resp.status_mut() = StatusCode::from_u16(status).unwrap();
        resp.headers_mut()
            .insert("content-type", "text/xml".parse().unwrap());
        resp
    })
    .await;
    (format!("http://{addr}"), seen)
}

/// The parameters of a Query API call.
fn form_of(req: &Seen) -> BTreeMap<String, String> {
    query_pairs(std::str::from_utf8(&req.body).unwrap())
        .into_iter()
        .collect()
}

fn actions(seen: &Mutex<Vec<Seen>>) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|r| form_of(r)["Action"].clone())
        .collect()
}

const CREATED: (u16, &str) = (200, "<CreateResponse><CreateResult/></CreateResponse>");
const INSTANCE_EXISTS: &str = "<ErrorResponse><Error><Code>DBInstanceAlreadyExists</Code>\
    <Message>DB instance already exists</Message></Error></ErrorResponse>";
const NO_CLUSTER: &str = "<ErrorResponse><Error><Code>DBClusterNotFoundFault</Code>\
    <Message>DBCluster tenant-1-restored not found.</Message></Error></ErrorResponse>";

/// A local stack whose moto is at `moto`, with a completed backup of database `resource_arn`
/// (that reads only the database's tags from moto, which its recovery point copies: `seen`
/// is cleared after checking so); returns it with the recovery point's ARN.
async fn database_backed_up(
    moto: &str,
    seen: &Mutex<Vec<Seen>>,
    resource_arn: &str,
) -> (Local, String) {
    let local = start_with(0.2, |c| c.moto = moto.to_owned()).await;
    local.create_vaults().await;
    let started = start_backup(&local.backup, resource_arn, None).await;
    let done = backup_job_ended(&local.backup, started.backup_job_id().unwrap()).await;
    assert_eq!(done.state(), Some(&BackupJobState::Completed));
    let rp = done.recovery_point_arn().unwrap().to_owned();
    {
        let mut seen = seen.lock().unwrap();
        for call in seen.iter() {
            let form = form_of(call);
            assert_eq!(form["Action"], "ListTagsForResource", "{form:?}");
            assert_eq!(form["ResourceName"], resource_arn);
        }
        seen.clear();
    }
    (local, rp)
}

fn db_arn(kind: &str, id: &str) -> String {
    format!("arn:aws:rds:us-east-1:{ACCOUNT}:{kind}:{id}")
}

async fn restore_db(
    local: &Local,
    rp: &str,
    metadata: &[(&str, &str)],
) -> aws_sdk_backup::operation::describe_restore_job::DescribeRestoreJobOutput {
    let mut start = local
        .backup
        .start_restore_job()
        .recovery_point_arn(rp)
        .iam_role_arn(ROLE);
    for (k, v) in metadata {
        start = start.metadata(*k, *v);
    }
    let started = start.send().await.unwrap();
    restore_job_ended(&local.backup, started.restore_job_id().unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rds_restore_creates_the_instance_in_moto() {
    let (moto, seen) = fake_rds(|_| CREATED).await;
    let (local, rp) = database_backed_up(&moto, &seen, &db_arn("db", "tenant-1-db")).await;
    let done = restore_db(
        &local,
        &rp,
        &[
            ("DBInstanceIdentifier", "tenant-1-db-restored"),
            ("DBInstanceClass", "db.t3.small"),
        ],
    )
    .await;
    assert_eq!(
        done.status(),
        Some(&RestoreJobStatus::Completed),
        "{:?}",
        done.status_message()
    );
    assert_eq!(
        done.created_resource_arn(),
        Some(db_arn("db", "tenant-1-db-restored").as_str())
    );

    let call = {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "{seen:?}");
        seen[0].clone()
    };
    assert_eq!((call.method.as_str(), call.uri.as_str()), ("POST", "/"));
    assert!(call.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/x-www-form-urlencoded"));
    let auth = call.headers["authorization"].to_str().unwrap();
    assert!(auth.contains("/us-east-1/rds/aws4_request"), "{auth}");
    let form = form_of(&call);
    for (key, value) in [
        ("Action", "CreateDBInstance"),
        ("DBInstanceIdentifier", "tenant-1-db-restored"),
        ("Engine", "mysql"),
        ("DBInstanceClass", "db.t3.small"),
        ("AllocatedStorage", "20"),
        ("MasterUsername", "restored"),
    ] {
        assert_eq!(form.get(key).map(String::as_str), Some(value), "{key}");
    }
    assert!(!form.keys().any(|k| k.starts_with("Tags")), "{form:?}");

    let no_id = local
        .backup
        .start_restore_job()
        .recovery_point_arn(&rp)
        .metadata("Engine", "mysql")
        .send()
        .await
        .unwrap_err();
    assert_eq!(no_id.code(), Some("InvalidParameterValueException"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aurora_restore_creates_the_cluster_and_no_instance() {
    let (moto, seen) = fake_rds(|action| match action {
        "DescribeDBClusters" => (404, NO_CLUSTER),
        _ => CREATED,
    })
    .await;
    let (local, rp) = database_backed_up(&moto, &seen, &db_arn("cluster", "tenant-1")).await;
    let done = restore_db(&local, &rp, &[("DBClusterIdentifier", "tenant-1-restored")]).await;
    assert_eq!(
        done.status(),
        Some(&RestoreJobStatus::Completed),
        "{:?}",
        done.status_message()
    );
    assert_eq!(
        done.created_resource_arn(),
        Some(db_arn("cluster", "tenant-1-restored").as_str())
    );
    assert_eq!(
        actions(&seen),
        ["DescribeDBClusters", "CreateDBCluster"],
        "the cluster only, no instance in it"
    );
    let form = form_of(&seen.lock().unwrap()[1]);
    assert_eq!(form["DBClusterIdentifier"], "tenant-1-restored");
    assert_eq!(form["Engine"], "aurora-mysql");
    assert!(form.contains_key("MasterUserPassword"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_moto_refuses_fails_with_its_message() {
    let (moto, seen) = fake_rds(|_| (400, INSTANCE_EXISTS)).await;
    let (local, rp) = database_backed_up(&moto, &seen, &db_arn("db", "tenant-1-db")).await;
    let done = restore_db(&local, &rp, &[("DBInstanceIdentifier", "tenant-1-db")]).await;
    assert_eq!(done.status(), Some(&RestoreJobStatus::Failed));
    let message = done.status_message().unwrap();
    assert!(
        message.contains("DB instance already exists")
            && message.contains("DBInstanceAlreadyExists"),
        "{message}"
    );
    assert_eq!(done.created_resource_arn(), None);
    assert_eq!(actions(&seen), ["CreateDBInstance"]);
    let rp_now = local
        .backup
        .describe_recovery_point()
        .backup_vault_name(VAULT)
        .recovery_point_arn(&rp)
        .send()
        .await
        .unwrap();
    assert_eq!(rp_now.last_restore_time(), None, "nothing else changes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_onto_an_existing_cluster_fails_and_replaces_nothing() {
    // moto would replace the cluster; AWS refuses. Every call answers: the cluster exists.
    let (moto, seen) = fake_rds(|_| CREATED).await;
    let (local, rp) = database_backed_up(&moto, &seen, &db_arn("cluster", "tenant-1")).await;
    let done = restore_db(&local, &rp, &[("DBClusterIdentifier", "tenant-1")]).await;
    assert_eq!(done.status(), Some(&RestoreJobStatus::Failed));
    let message = done.status_message().unwrap();
    assert!(message.contains("DBClusterAlreadyExistsFault"), "{message}");
    assert_eq!(actions(&seen), ["DescribeDBClusters"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restore_fails_when_moto_cannot_be_reached() {
    let (local, rp) = database_backed_up(
        &closed_url(),
        &Mutex::default(),
        &db_arn("db", "tenant-1-db"),
    )
    .await;
    let done = restore_db(&local, &rp, &[("DBInstanceIdentifier", "restored")]).await;
    assert_eq!(done.status(), Some(&RestoreJobStatus::Failed));
    let message = done.status_message().unwrap();
    assert!(
        message.contains("Could not reach RDS to create DB instance restored"),
        "{message}"
    );
    assert_eq!(done.created_resource_arn(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_set_to_fail_creates_nothing() {
    let (moto, seen) = fake_rds(|_| CREATED).await;
    let (local, rp) = database_backed_up(&moto, &seen, &db_arn("db", "tenant-1-db")).await;
    let (status, body) = local
        .admin(
            Method::POST,
            "/_local/faults",
            Some(json!({"fault": "fail-next-job", "kind": "restore", "message": "Injected"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let done = restore_db(&local, &rp, &[("DBInstanceIdentifier", "restored")]).await;
    assert_eq!(done.status(), Some(&RestoreJobStatus::Failed));
    assert_eq!(done.status_message(), Some("Injected"));
    assert_eq!(done.created_resource_arn(), None);
    assert!(seen.lock().unwrap().is_empty(), "nothing was created");
}
