//! What the site sees: a directory standing for the container's `/var/www/html`, whose
//! `wp-content` is mapped to the tenant's access point root as ECS mounts it (seed 000 4.4:
//! the access point's RootDirectory.Path, as DescribeAccessPoints gives it, at
//! `/var/www/html/wp-content`). An upload, a sync and a restore are read through it, the
//! way WordPress reads them, never through the tenant's directory on the file system.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::stack::Stack;

/// `/var/www/html` of the tenant's container, removed when dropped.
struct SiteRoot(PathBuf);

impl SiteRoot {
    /// The tenant's access point mounted at `<html>/wp-content`: the file system's
    /// directory `file_system` seen from the access point's root path.
    fn mounted(file_system: &Path, root_path: &str) -> SiteRoot {
        let html = std::env::temp_dir().join(format!(
            "bbws-site-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&html).unwrap();
        let inside = root_path
            .strip_prefix('/')
            .expect("an access point's root path is absolute");
        std::os::unix::fs::symlink(file_system.join(inside), html.join("wp-content")).unwrap();
        SiteRoot(html)
    }

    /// A file as the site reads it, by its path from the document root.
    fn read(&self, path: &str) -> Vec<u8> {
        std::fs::read(self.0.join(path)).unwrap_or_else(|e| panic!("the site reads {path}: {e}"))
    }
}

impl Drop for SiteRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn the_site_sees_an_upload_a_sync_and_a_restore_through_its_mount() {
    let stack = Stack::new().await;
    let tenant_id = format!("e2e-site-{}", std::process::id());
    let tenant = stack.onboarded_tenant(&tenant_id).await;
    let access_points = stack.access_points_of(&tenant_id).await;
    assert_eq!(access_points.len(), 1, "{access_points:?}");
    let root_path = access_points[0]
        .root_directory()
        .and_then(|r| r.path())
        .expect("the access point's root directory")
        .to_owned();
    let file_system = tenant.directory.parent().unwrap();
    let site = SiteRoot::mounted(file_system, &root_path);
    // The seeded WordPress content is where WordPress looks for it.
    assert!(site.read("wp-content/index.php").starts_with(b"<?php"));
    assert!(!site
        .read("wp-content/themes/twentytwentyfour/style.css")
        .is_empty());
    assert!(!site
        .read("wp-content/plugins/akismet/akismet.php")
        .is_empty());

    // An upload, by bbws upload: its filePath is where the site serves it from.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    let local = site.0.join("banner.png");
    std::fs::write(&local, &png).unwrap();
    let (code, out) = stack
        .bbws_delivering_uploads(&[
            "upload",
            "--tenant",
            &tenant_id,
            "--function",
            "upload-media",
            "--poll-interval",
            "0.2",
            local.to_str().unwrap(),
        ])
        .await;
    assert_eq!(code, 0, "{out}");
    let file_path = out["uploads"][0]["detail"]["filePath"]
        .as_str()
        .unwrap_or_else(|| panic!("an uploaded file: {out}"))
        .to_owned();
    assert!(file_path.starts_with("wp-content/uploads/"), "{file_path}");
    assert_eq!(site.read(&file_path), png, "the site serves the upload");
    assert!(
        !site.0.join("wp-content/wp-content").exists(),
        "no wp-content inside wp-content"
    );

    // A sync: every object's key, after the tenant, is a file the site serves, same bytes.
    let (code, out) = stack.bbws(&["sync", "--tenant", &tenant_id]);
    assert_eq!(code, 0, "{out}");
    let prefix = out["output"]["s3Prefix"].as_str().unwrap().to_owned();
    assert_eq!(prefix, format!("{tenant_id}/wp-content/"));
    let bucket = stack.platform["contentBucket"].as_str().unwrap();
    let listed = stack
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(&prefix)
        .send()
        .await
        .unwrap();
    let keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    assert_eq!(keys.len() as u64, out["output"]["filesSynced"], "{out}");
    let uploaded_key = format!("{tenant_id}/{file_path}");
    assert!(keys.contains(&uploaded_key), "{keys:?}");
    for key in &keys {
        let object = stack
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        let bytes = object.body.collect().await.unwrap().into_bytes().to_vec();
        let seen_by_site = key.strip_prefix(&format!("{tenant_id}/")).unwrap();
        assert_eq!(site.read(seen_by_site), bytes, "{key}");
    }

    // A restore: the site is defaced, restored, and reads its backed-up files again.
    let backup_id = stack.backed_up(&tenant_id, &[]);
    let index = site.read("wp-content/index.php");
    std::fs::write(
        site.0.join("wp-content/index.php"),
        b"<?php echo 'defaced';",
    )
    .unwrap();
    std::fs::remove_file(site.0.join(&file_path)).unwrap();
    let (code, out) = stack.bbws(&[
        "restore",
        "--yes",
        "--tenant",
        &tenant_id,
        "--backup",
        &backup_id,
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    let restored: &Value = &out["output"]["files"];
    assert_eq!(
        restored["putInPlace"].as_str(),
        Some(tenant.directory.to_str().unwrap()),
        "{out}"
    );
    assert_eq!(
        site.read("wp-content/index.php"),
        index,
        "through the mount"
    );
    assert_eq!(site.read(&file_path), png, "the upload is back");
    assert!(!site.0.join("wp-content/wp-content").exists());
}
