//! Content sync: `bbws sync` runs the sync state machine, whose function mirrors a tenant's
//! wp-content (its directory) on the shared file system to the content bucket (moto S3): everything the
//! first time, nothing when nothing changed, only what changed, objects of deleted files
//! removed with `--delete`, symlinks never followed, and a long sync cut into batches that
//! continue as new executions.

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::Path;

use serde_json::Value;

use crate::stack::Stack;

/// Every regular file under `dir` (symlinks not followed), by `/`-separated path, with its
/// bytes.
fn regular_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                let rel = entry
                    .path()
                    .strip_prefix(dir)
                    .unwrap()
                    .display()
                    .to_string();
                files.insert(rel, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    files
}

/// A tenant id of this run of the suite: objects of an earlier run on the same stack are
/// never this tenant's.
fn tenant_of_this_run(what: &str) -> String {
    format!("sync-{what}-{}", std::process::id())
}

impl Stack {
    fn content_bucket(&self) -> &str {
        self.platform["contentBucket"]
            .as_str()
            .expect("platform.json names the content bucket")
    }

    /// Every object under `prefix` in the content bucket, by key after the prefix, with its
    /// bytes and metadata.
    async fn content_objects(
        &self,
        prefix: &str,
    ) -> BTreeMap<String, (Vec<u8>, BTreeMap<String, String>)> {
        let mut found = BTreeMap::new();
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(self.content_bucket())
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for object in page.unwrap().contents() {
                let key = object.key().unwrap();
                let got = self
                    .s3
                    .get_object()
                    .bucket(self.content_bucket())
                    .key(key)
                    .send()
                    .await
                    .unwrap();
                let metadata: BTreeMap<String, String> = got
                    .metadata()
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                let bytes = got.body.collect().await.unwrap().into_bytes().to_vec();
                found.insert(
                    key.strip_prefix(prefix).unwrap().to_owned(),
                    (bytes, metadata),
                );
            }
        }
        found
    }

    /// `bbws sync` with `flags`, as its own execution; returns the exit code and the last
    /// JSON line (the run's last execution).
    fn sync(&self, tenant: &str, flags: &[&str]) -> (i32, Value) {
        let name = format!(
            "sync-{tenant}-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        self.bbws(
            &[
                &["sync", "--tenant", tenant, "--execution-name", &name][..],
                flags,
            ]
            .concat(),
        )
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_sync_uploads_everything_then_nothing_then_what_changed_and_deletes_what_is_gone() {
    let stack = Stack::new().await;
    let tenant_id = tenant_of_this_run("site");
    let tenant = stack.onboarded_tenant(&tenant_id).await;
    // The tenant's directory is its wp-content (seed 000 4.4).
    let wp_content = tenant.directory.clone();
    // A video over the multipart threshold (16 MiB): two 8 MiB parts and a last one.
    let video: Vec<u8> = (0..17 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(wp_content.join("uploads/2026/11/intro.mp4"), &video).unwrap();
    // Links out of the tenant's directory, to a file and to a directory: never followed.
    let outside = tenant
        .directory
        .parent()
        .unwrap()
        .join(format!("{tenant_id}-outside"));
    std::fs::create_dir_all(outside.join("dir")).unwrap();
    std::fs::write(outside.join("secret.txt"), "another tenant's secret").unwrap();
    std::fs::write(outside.join("dir/inner.txt"), "also outside").unwrap();
    symlink(
        outside.join("secret.txt"),
        wp_content.join("uploads/secret.txt"),
    )
    .unwrap();
    symlink(outside.join("dir"), wp_content.join("linked-dir")).unwrap();
    stack.drain_events().await;

    let files = regular_files(&wp_content);
    let total: usize = files.values().map(Vec::len).sum();
    let prefix = format!("{tenant_id}/wp-content/");

    // First run: every file.
    let (code, out) = stack.sync(&tenant_id, &[]);
    assert_eq!(code, 0, "{out}");
    let result = &out["output"];
    assert_eq!(result["filesSynced"], files.len(), "{result}");
    assert_eq!(result["bytesSynced"], total, "{result}");
    assert_eq!(result["filesSkipped"], 0);
    assert_eq!(result["linksSkipped"], 2, "{result}");
    assert_eq!(result["s3Bucket"], stack.content_bucket());
    assert_eq!(result["s3Prefix"], prefix.as_str());
    assert!(result["syncedAt"]
        .as_str()
        .is_some_and(|t| t.starts_with("20")));
    let objects = stack.content_objects(&prefix).await;
    assert_eq!(
        objects.keys().collect::<Vec<_>>(),
        files.keys().collect::<Vec<_>>(),
        "one object per regular file, none for the links"
    );
    for (path, bytes) in &files {
        let (body, metadata) = &objects[path];
        assert_eq!(body, bytes, "{path}");
        assert_eq!(metadata["size"], bytes.len().to_string(), "{path}");
        assert_eq!(metadata["sha256"], sha256_hex(bytes), "{path}");
    }
    assert!(
        stack
            .recorded_calls("sync-content")
            .iter()
            .any(|c| c["method"] == "POST"
                && c["params"].get("uploads").is_some()
                && c["path"].as_str().is_some_and(|p| p.ends_with("intro.mp4"))),
        "the video went up as a multipart upload"
    );
    let synced: Vec<Value> = stack
        .drain_events()
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "TenantContentSynced")
        .map(|e| e["detail"].clone())
        .collect();
    assert_eq!(synced.len(), 1, "{synced:?}");
    assert_eq!(synced[0]["tenantId"], tenant_id.as_str());
    assert_eq!(synced[0]["filesSynced"], files.len());

    // Second run: nothing changed, nothing uploaded.
    let (code, out) = stack.sync(&tenant_id, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["output"]["filesSynced"], 0, "{out}");
    assert_eq!(out["output"]["bytesSynced"], 0);
    assert_eq!(out["output"]["filesSkipped"], files.len());

    // One file changed; another rewritten with the same bytes (a new mtime, the same
    // sha256): only the first goes up.
    let style = wp_content.join("themes/twentytwentyfour/style.css");
    std::fs::write(&style, "body { margin: 1em; }\n").unwrap();
    let plugin = wp_content.join("plugins/akismet/akismet.php");
    let same = std::fs::read(&plugin).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&plugin, &same).unwrap();
    let (code, out) = stack.sync(&tenant_id, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["output"]["filesSynced"], 1, "{out}");
    assert_eq!(out["output"]["filesSkipped"], files.len() - 1);
    let objects = stack.content_objects(&prefix).await;
    assert_eq!(
        objects["themes/twentytwentyfour/style.css"].0,
        b"body { margin: 1em; }\n"
    );

    // One file deleted: its object stays without --delete, and goes with it.
    std::fs::remove_file(wp_content.join("index.php")).unwrap();
    let (code, out) = stack.sync(&tenant_id, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["output"]["filesDeleted"], 0);
    assert!(stack
        .content_objects(&prefix)
        .await
        .contains_key("index.php"));
    let (code, out) = stack.sync(&tenant_id, &["--delete"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["output"]["filesDeleted"], 1, "{out}");
    assert_eq!(out["output"]["filesSynced"], 0);
    let objects = stack.content_objects(&prefix).await;
    assert!(!objects.contains_key("index.php"));
    assert_eq!(objects.len(), files.len() - 1);
    // Nothing of what the links point at was read into the bucket.
    assert!(objects
        .values()
        .all(|(body, _)| body != b"another tenant's secret" && body != b"also outside"));
}

#[tokio::test]
async fn a_long_sync_goes_in_batches_and_continues_as_new_executions() {
    let stack = Stack::new().await;
    let tenant_id = tenant_of_this_run("batches");
    let tenant = stack.onboarded_tenant(&tenant_id).await;
    // The tenant's directory is its wp-content (seed 000 4.4).
    let wp_content = tenant.directory.clone();
    for i in 0..20 {
        let dir = wp_content.join(format!("uploads/2026/{:02}", i % 3 + 1));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("photo-{i}.txt")), format!("photo {i}")).unwrap();
    }
    let files = regular_files(&wp_content);
    let prefix = format!("{tenant_id}/wp-content/");
    // Four files a batch, two batches an execution.
    let (code, out) = stack.sync(
        &tenant_id,
        &["--batch-files", "4", "--batches-per-execution", "2"],
    );
    assert_eq!(code, 0, "{out}");
    let result = &out["output"];
    let batches = files.len().div_ceil(4);
    assert_eq!(result["filesSynced"], files.len(), "{result}");
    assert_eq!(result["batches"], batches, "{result}");
    assert_eq!(result["executions"], batches.div_ceil(2), "{result}");
    let objects = stack.content_objects(&prefix).await;
    assert_eq!(
        objects.keys().collect::<Vec<_>>(),
        files.keys().collect::<Vec<_>>()
    );
    // The first execution ended by continuing, with the cursor in its output.
    let first = result["firstExecution"].as_str().unwrap();
    let described = stack
        .wait_for_execution(&stack.execution_arn("sync-content", first))
        .await;
    let output: Value = serde_json::from_str(described.output().unwrap()).unwrap();
    assert!(
        output["continuedAs"]
            .as_str()
            .is_some_and(|a| a.ends_with(&format!("{first}-1"))),
        "{output}"
    );
    assert_eq!(output["tally"]["filesSynced"], 8, "{output}");
}

#[tokio::test]
async fn a_sync_of_a_tenant_that_is_not_valid_or_not_onboarded_changes_nothing() {
    let stack = Stack::new().await;
    // Refused before any AWS call.
    let (code, _) = stack.bbws(&["sync", "--tenant", "Not_Valid"]);
    assert_eq!(code, 40);
    // Never onboarded: the execution fails InvalidTenant, with nothing written.
    stack.drain_events().await;
    let tenant_id = tenant_of_this_run("nobody");
    let (code, out) = stack.sync(&tenant_id, &[]);
    assert_eq!(code, 40, "{out}");
    assert_eq!(out["error"], "InvalidTenant", "{out}");
    assert!(stack
        .content_objects(&format!("{tenant_id}/"))
        .await
        .is_empty());
    let failed: Vec<Value> = stack
        .drain_events()
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "TenantContentSyncFailed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
}

#[tokio::test]
async fn a_directory_swapped_for_a_link_mid_sync_is_refused_and_nothing_of_another_tenant_is_read()
{
    let stack = Stack::new().await;
    let tenant_id = tenant_of_this_run("race");
    let tenant = stack.onboarded_tenant(&tenant_id).await;
    let mount = tenant.directory.parent().unwrap().to_path_buf();
    // Another tenant's directory beside it, holding a file at the same path.
    let other = format!("{tenant_id}-other");
    let other_dir = mount.join(&other);
    std::fs::create_dir_all(other_dir.join("uploads/2026/11")).unwrap();
    let secret = b"another tenant's secret".to_vec();
    std::fs::write(other_dir.join("uploads/2026/11/photo.jpg"), &secret).unwrap();
    std::fs::create_dir_all(tenant.directory.join("uploads/2026/11")).unwrap();
    std::fs::write(tenant.directory.join("uploads/2026/11/photo.jpg"), b"mine").unwrap();
    let other_before = crate::stack::snapshot(&other_dir);
    // Between the walk and the reads, the site swaps its uploads for a link to the other
    // tenant's (the debug build's race hook does it, deterministically).
    bbws::held::set_race_hook(
        &mount,
        &format!("sync-walked.{tenant_id}"),
        &format!("{tenant_id}/uploads"),
        &format!("../{other}/uploads"),
    )
    .unwrap();
    stack.drain_events().await;

    let (code, out) = stack.sync(&tenant_id, &[]);
    assert_eq!(code, 58, "SyncFailed: {out}");
    assert_eq!(out["error"], "SyncFailed", "{out}");
    assert!(
        out.to_string().contains("symbolic link"),
        "the refusal names the link: {out}"
    );
    let swapped = tenant.directory.join("uploads");
    assert!(
        std::fs::symlink_metadata(&swapped)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the hook fired"
    );
    let objects = stack.content_objects(&format!("{tenant_id}/")).await;
    assert!(
        objects.values().all(|(bytes, _)| *bytes != secret),
        "nothing of the other tenant's mirrored: {:?}",
        objects.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        crate::stack::snapshot(&other_dir),
        other_before,
        "the other tenant's files untouched"
    );

    // Put the tenant back as it was, and remove the other directory.
    std::fs::remove_file(&swapped).unwrap();
    std::fs::rename(tenant.directory.join("uploads.swapped-away"), &swapped).unwrap();
    std::fs::remove_dir_all(&other_dir).unwrap();
}
