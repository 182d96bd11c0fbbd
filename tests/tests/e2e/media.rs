//! Media uploads: upload-media's presigned PUT into the staging bucket (moto S3), the
//! bucket's notification handed to ingest-media as S3 invokes it, the file on the shared file
//! system, the staging object deleted and the outcome announced.

use std::os::unix::fs::MetadataExt;

use hyper::StatusCode;
use serde_json::{json, Value};

use crate::stack::{Stack, Tenant};

fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    s.extend_from_slice(payload);
    s
}

/// A JPEG's structure, with an Exif segment holding a GPS position when asked.
pub fn jpeg(with_exif: bool) -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
    if with_exif {
        j.extend(segment(0xE1, b"Exif\0\0MM\0\x2a\0\0\0\x08GPSLatitude 51.5"));
    }
    j.extend(segment(0xDB, &[0u8; 65]));
    j.extend(segment(0xC0, b"\x08\0\x01\0\x01\x01\x01\x11\0"));
    j.extend(segment(0xDA, b"\x01\x01\0\0\x3f\0"));
    j.extend_from_slice(&[0x12, 0x34, 0x56, 0xFF, 0xD9]);
    j
}

/// Uploads `body` as `name` for `tenant` the way the CLI does (a URL from upload-media, then
/// the PUT), then lets S3's notification reach ingest-media; returns ingest-media's outcome
/// and the staging key.
async fn upload(stack: &Stack, tenant: &str, name: &str, body: Vec<u8>) -> (Value, String) {
    let request = json!({"tenantId": tenant, "fileName": name, "size": body.len()});
    let (error, signed) = stack.invoke("upload-media", &request).await;
    assert_eq!(error, None, "{signed}");
    let key = signed["key"].as_str().expect("a staging key").to_owned();
    assert!(key.starts_with(&format!("incoming/{tenant}/")), "{key}");
    let status = stack
        .put_presigned(signed["url"].as_str().unwrap(), &signed["headers"], body)
        .await;
    assert_eq!(status, StatusCode::OK, "the presigned PUT of {key}");
    let mut outcomes = stack.deliver_media_notifications().await;
    assert_eq!(
        outcomes.len(),
        1,
        "one notification for {key}: {outcomes:?}"
    );
    let outcome = outcomes.remove(0)["results"][0].clone();
    (outcome, key)
}

/// The staging object was deleted by ingest-media (its recorded DELETE, answered 204).
fn staging_object_deleted(stack: &Stack, key: &str) -> bool {
    let bucket = stack.platform["mediaBucket"].as_str().unwrap();
    stack.recorded_calls("ingest-media").iter().any(|c| {
        c["method"] == "DELETE"
            && c["status"] == 204
            && c["path"]
                .as_str()
                .is_some_and(|p| percent_decoded(p) == format!("/{bucket}/{key}"))
    })
}

fn percent_decoded(path: &str) -> String {
    let mut out = Vec::new();
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&path[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where a `filePath` (from the site's document root, `wp-content/uploads/…`) is on the file
/// system: the site's wp-content is the tenant's directory (seed 000 4.4).
fn on_disk(tenant: &Tenant, file_path: &str) -> std::path::PathBuf {
    let inside = file_path
        .strip_prefix("wp-content/")
        .unwrap_or_else(|| panic!("{file_path} is not under wp-content/"));
    tenant.directory.join(inside)
}

fn uploads_files(tenant: &Tenant) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![tenant.directory.join("uploads")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                found.push(path.display().to_string());
            }
        }
    }
    found.sort();
    found
}

fn announced(events: &[Value], detail_type: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["detail-type"] == detail_type)
        .map(|e| e["detail"].clone())
        .collect()
}

#[tokio::test]
async fn an_accepted_jpeg_lands_in_its_month_without_exif_and_owned_by_wordpress() {
    let stack = Stack::new().await;
    let tenant = stack.onboarded_tenant("media-accepted").await;
    stack.drain_events().await;
    let run = run_number();
    let name = format!("Beach Day {run}.jpg");
    let (outcome, key) = upload(&stack, "media-accepted", &name, jpeg(true)).await;
    assert_eq!(outcome["outcome"], "uploaded", "{outcome}");
    let detail = &outcome["detail"];
    let cleaned = format!("Beach-Day-{run}.jpg");
    assert_eq!(detail["fileName"], cleaned.as_str());
    let path = detail["filePath"].as_str().unwrap();
    assert!(
        path.starts_with("wp-content/uploads/") && path.ends_with(&format!("/{cleaned}")),
        "{path}"
    );
    let file = on_disk(&tenant, path);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        jpeg(false),
        "byte-identical but the Exif segment"
    );
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o644);
    if running_as_root() {
        assert_eq!((meta.uid(), meta.gid()), (33, 33));
    }
    assert!(staging_object_deleted(&stack, &key), "{key} deleted");
    let events = stack.drain_events().await;
    let uploaded = announced(&events, "TenantMediaUploaded");
    assert_eq!(uploaded.len(), 1, "{events:?}");
    assert_eq!(uploaded[0]["tenantId"], "media-accepted");
    assert_eq!(uploaded[0]["mimeType"], "image/jpeg");
    assert_eq!(uploaded[0]["fileSize"], jpeg(false).len());
}

#[tokio::test]
async fn a_php_polyglot_is_refused_with_nothing_written_and_the_staging_object_gone() {
    let stack = Stack::new().await;
    let tenant = stack.onboarded_tenant("media-refused").await;
    stack.drain_events().await;
    // The seeded site's own uploads are there before and after, and nothing else.
    let before = uploads_files(&tenant);
    let mut polyglot = jpeg(false);
    polyglot.extend_from_slice(b"<?php system($_GET['c']); ?>");
    let (outcome, key) = upload(&stack, "media-refused", "cat.jpg", polyglot).await;
    assert_eq!(outcome["outcome"], "rejected", "{outcome}");
    assert_eq!(outcome["detail"]["reason"], "ScriptInside");
    assert_eq!(uploads_files(&tenant), before, "nothing written");
    assert!(staging_object_deleted(&stack, &key), "{key} deleted");
    let rejected = announced(&stack.drain_events().await, "TenantMediaRejected");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["reason"], "ScriptInside");
    assert_eq!(rejected[0]["tenantId"], "media-refused");
}

#[tokio::test]
async fn a_name_clash_gets_a_number() {
    let stack = Stack::new().await;
    let tenant = stack.onboarded_tenant("media-clash").await;
    let before = uploads_files(&tenant).len();
    let name = format!("logo{}.jpg", run_number());
    let (first, _) = upload(&stack, "media-clash", &name, jpeg(false)).await;
    let (second, _) = upload(&stack, "media-clash", &name, jpeg(true)).await;
    assert_eq!(first["detail"]["fileName"], name.as_str());
    assert_eq!(
        second["detail"]["fileName"],
        name.replace(".jpg", "-1.jpg").as_str()
    );
    assert_eq!(uploads_files(&tenant).len(), before + 2);
    // Both in the one month directory, the first one untouched by the second.
    let first_path = on_disk(&tenant, first["detail"]["filePath"].as_str().unwrap());
    let second_path = on_disk(&tenant, second["detail"]["filePath"].as_str().unwrap());
    assert_eq!(first_path.parent(), second_path.parent());
    assert_eq!(std::fs::read(&first_path).unwrap(), jpeg(false));
    assert_eq!(std::fs::read(&second_path).unwrap(), jpeg(false));
}

#[tokio::test]
async fn an_upload_for_a_tenant_never_onboarded_is_refused() {
    let stack = Stack::new().await;
    let (outcome, key) = upload(&stack, "media-nobody", "a.jpg", jpeg(false)).await;
    assert_eq!(outcome["detail"]["reason"], "NotOnboarded", "{outcome}");
    assert!(staging_object_deleted(&stack, &key));
    // And a tenant id that is not strict is refused before any URL is made.
    let (error, _) = stack
        .invoke(
            "upload-media",
            &json!({"tenantId": "Media_1", "fileName": "a.jpg"}),
        )
        .await;
    assert_eq!(error.as_deref(), Some("InvalidTenant"));
}

/// A PDF's structure: a catalog and its trailer.
fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
}

/// Writes `files` (name, bytes) into a temporary directory of their own; returns it (removed
/// when dropped, so keep it while the paths are used) and their paths.
fn local_files(files: &[(&str, Vec<u8>)]) -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::Builder::new()
        .prefix("bbws-upload-")
        .tempdir()
        .unwrap();
    let paths = files
        .iter()
        .map(|(name, bytes)| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path.display().to_string()
        })
        .collect();
    (dir, paths)
}

#[tokio::test]
async fn bbws_upload_puts_a_jpeg_and_a_pdf_into_the_uploads_with_their_events() {
    let stack = Stack::new().await;
    let tenant = stack.onboarded_tenant("media-cli").await;
    stack.drain_events().await;
    let run = run_number();
    let (photo, brochure) = (format!("photo-{run}.jpg"), format!("brochure-{run}.pdf"));
    let (_dir, paths) = local_files(&[(&photo, jpeg(true)), (&brochure, pdf())]);
    let mut args = vec![
        "upload",
        "--tenant",
        "media-cli",
        "--function",
        "upload-media",
    ];
    args.extend(["--poll-interval", "0.2"]);
    args.extend(paths.iter().map(String::as_str));
    let (code, out) = stack.bbws_delivering_uploads(&args).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["uploaded"], 2, "{out}");
    for (upload, (name, content, mime)) in out["uploads"].as_array().unwrap().iter().zip([
        (&photo, jpeg(false), "image/jpeg"),
        (&brochure, pdf(), "application/pdf"),
    ]) {
        let detail = &upload["detail"];
        assert_eq!(detail["fileName"], name.as_str(), "{upload}");
        assert_eq!(detail["mimeType"], mime);
        let file = on_disk(&tenant, detail["filePath"].as_str().unwrap());
        assert!(file.ends_with(name), "{}", file.display());
        assert_eq!(std::fs::read(&file).unwrap(), content, "{name}");
        assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o644);
    }
    let uploaded = announced(&stack.drain_events().await, "TenantMediaUploaded");
    let mut names: Vec<&str> = uploaded
        .iter()
        .filter_map(|d| d["fileName"].as_str())
        .collect();
    names.sort();
    assert_eq!(names, [brochure.as_str(), photo.as_str()]);
}

#[tokio::test]
async fn bbws_upload_of_php_named_jpg_is_refused_with_its_reason_and_nothing_written() {
    let stack = Stack::new().await;
    let tenant = stack.onboarded_tenant("media-cli-php").await;
    stack.drain_events().await;
    let before = uploads_files(&tenant);
    let (_dir, paths) = local_files(&[("shell.jpg", b"<?php system($_GET['c']); ?>".to_vec())]);
    let (code, out) = stack
        .bbws_delivering_uploads(&[
            "upload",
            "--tenant",
            "media-cli-php",
            "--function",
            "upload-media",
            "--poll-interval",
            "0.2",
            &paths[0],
        ])
        .await;
    assert_eq!(code, 46, "{out}");
    assert_eq!(out["rejected"], 1, "{out}");
    assert_eq!(out["uploads"][0]["outcome"], "rejected");
    assert_eq!(out["uploads"][0]["reason"], "ScriptInside", "{out}");
    assert_eq!(uploads_files(&tenant), before, "nothing written");
    let rejected = announced(&stack.drain_events().await, "TenantMediaRejected");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["reason"], "ScriptInside");
}

#[tokio::test]
async fn two_uploads_of_logo_png_through_bbws_upload_give_logo_png_and_logo_1_png() {
    let stack = Stack::new().await;
    // A tenant of this run alone, so its uploads hold no logo.png yet.
    let tenant_id = format!("media-png-{}", run_number());
    let tenant = stack.onboarded_tenant(&tenant_id).await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    let (_first_dir, first) = local_files(&[("logo.png", png.clone())]);
    let (_second_dir, second) = local_files(&[("logo.png", png.clone())]);
    let mut names = Vec::new();
    for path in [&first[0], &second[0]] {
        let (code, out) = stack
            .bbws_delivering_uploads(&[
                "upload",
                "--tenant",
                &tenant_id,
                "--function",
                "upload-media",
                "--poll-interval",
                "0.2",
                path,
            ])
            .await;
        assert_eq!(code, 0, "{out}");
        let detail = &out["uploads"][0]["detail"];
        assert_eq!(detail["mimeType"], "image/png");
        let file = on_disk(&tenant, detail["filePath"].as_str().unwrap());
        assert_eq!(std::fs::read(file).unwrap(), png);
        names.push(detail["fileName"].as_str().unwrap().to_owned());
    }
    assert_eq!(names, ["logo.png", "logo-1.png"]);
}

#[tokio::test]
async fn oversize_files_and_path_names_are_refused_before_any_upload() {
    let stack = Stack::new().await;
    let tenant = stack.onboarded_tenant("media-cli-limits").await;
    let before = uploads_files(&tenant);
    // Over the 64 MiB limit: upload-media refuses it from its size, and nothing is sent.
    let (_dir, big) = local_files(&[("big.jpg", vec![0xFF; 64 * 1024 * 1024 + 1])]);
    let (code, out) = stack
        .bbws_delivering_uploads(&[
            "upload",
            "--tenant",
            "media-cli-limits",
            "--function",
            "upload-media",
            &big[0],
        ])
        .await;
    assert_eq!(code, 46, "{out}");
    assert_eq!(out["uploads"][0]["reason"], "TooLarge", "{out}");
    // A name that is a path (which the CLI, sending a file's own name, never sends).
    let (error, answer) = stack
        .invoke(
            "upload-media",
            &json!({"tenantId": "media-cli-limits", "fileName": "../../x.jpg", "size": 10}),
        )
        .await;
    assert_eq!(error, None, "{answer}");
    assert_eq!(answer["refused"]["reason"], "BadName", "{answer}");
    assert!(answer.get("url").is_none());
    assert_eq!(uploads_files(&tenant), before, "nothing written");
    assert!(
        stack.media_notifications().await.is_empty(),
        "nothing staged"
    );
}

/// A number no earlier run on this stack used, so a scenario's names are its own when the
/// scenarios run again on a stack that kept the last run's files.
fn run_number() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos()
}

/// Whether the stack runs as root, which alone may give files to WordPress (33:33).
fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

#[tokio::test]
async fn a_directory_swapped_for_a_link_mid_ingest_is_refused_with_nothing_written_anywhere() {
    let stack = Stack::new().await;
    let tenant = stack.onboarded_tenant("media-race").await;
    let mount = tenant.directory.parent().unwrap().to_path_buf();
    let run = run_number();
    // Another tenant's uploads beside it.
    let other = format!("media-race-other-{run}");
    let other_dir = mount.join(&other);
    std::fs::create_dir_all(other_dir.join("uploads")).unwrap();
    let other_before = crate::stack::snapshot(&other_dir);
    let before = uploads_files(&tenant);
    // Once ingest holds the tenant's directory, the site swaps its uploads for a link to
    // the other tenant's (the debug build's race hook does it, deterministically).
    bbws::held::set_race_hook(
        &mount,
        "ingest-tenant-held.media-race",
        "media-race/uploads",
        &format!("../{other}/uploads"),
    )
    .unwrap();
    let body = jpeg(false);
    let request = json!({"tenantId": "media-race", "fileName": "race.jpg", "size": body.len()});
    let (error, signed) = stack.invoke("upload-media", &request).await;
    assert_eq!(error, None, "{signed}");
    let status = stack
        .put_presigned(signed["url"].as_str().unwrap(), &signed["headers"], body)
        .await;
    assert_eq!(status, StatusCode::OK);
    let notifications: Vec<Value> = stack
        .media_notifications()
        .await
        .into_iter()
        .filter(|n| n.get("Records").is_some())
        .collect();
    assert_eq!(notifications.len(), 1);
    let (error, out) = stack.invoke("ingest-media", &notifications[0]).await;
    assert!(error.is_some(), "refused: {out}");
    assert!(out.to_string().contains("symbolic link"), "{out}");

    let swapped = tenant.directory.join("uploads");
    assert!(std::fs::symlink_metadata(&swapped)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        crate::stack::snapshot(&other_dir),
        other_before,
        "nothing written into the other tenant's uploads"
    );
    std::fs::remove_file(&swapped).unwrap();
    std::fs::rename(tenant.directory.join("uploads.swapped-away"), &swapped).unwrap();
    assert_eq!(
        uploads_files(&tenant),
        before,
        "nothing written, no temporary file"
    );
    std::fs::remove_dir_all(&other_dir).unwrap();
}

#[tokio::test]
async fn a_replayed_upload_url_ends_in_the_same_outcome_and_makes_no_second_file() {
    let stack = Stack::new().await;
    let tenant = stack.onboarded_tenant("media-replay").await;
    let name = format!("once-{}.jpg", run_number());
    let body = jpeg(false);
    let request = json!({"tenantId": "media-replay", "fileName": name, "size": body.len()});
    let (error, signed) = stack.invoke("upload-media", &request).await;
    assert_eq!(error, None, "{signed}");
    let url = signed["url"].as_str().unwrap();
    let before = uploads_files(&tenant);

    assert_eq!(
        stack
            .put_presigned(url, &signed["headers"], body.clone())
            .await,
        StatusCode::OK
    );
    let first = stack.deliver_media_notifications().await;
    assert_eq!(first[0]["results"][0]["outcome"], "uploaded", "{first:?}");
    let outcome_key = signed["outcomeKey"].as_str().unwrap();
    let bucket = stack.platform["mediaBucket"].as_str().unwrap();
    let read_outcome = || async {
        let got = stack
            .s3
            .get_object()
            .bucket(bucket)
            .key(outcome_key)
            .send()
            .await
            .unwrap();
        got.body.collect().await.unwrap().into_bytes().to_vec()
    };
    let recorded = read_outcome().await;

    // The same URL again, within its five minutes: S3 takes the PUT, ingest takes nothing.
    assert_eq!(
        stack.put_presigned(url, &signed["headers"], body).await,
        StatusCode::OK
    );
    let second = stack.deliver_media_notifications().await;
    assert_eq!(second[0]["results"][0]["outcome"], "replayed", "{second:?}");
    assert_eq!(read_outcome().await, recorded, "the first outcome stands");
    let after = uploads_files(&tenant);
    assert_eq!(after.len(), before.len() + 1, "one file: {after:?}");
    assert!(staging_object_deleted(
        &stack,
        signed["key"].as_str().unwrap()
    ));
}

#[tokio::test]
async fn an_oversize_object_is_refused_from_its_size_before_any_byte_is_read() {
    let stack = Stack::new().await;
    let tenant = stack.onboarded_tenant("media-oversize").await;
    let before = uploads_files(&tenant);
    let bucket = stack.platform["mediaBucket"].as_str().unwrap().to_owned();
    // Put straight into the staging bucket, past any URL's signed length: 64 MiB + 1.
    let key = format!("incoming/media-oversize/{}/big.jpg", run_number());
    let mut big = jpeg(false);
    big.resize(64 * 1024 * 1024 + 1, 0);
    stack
        .s3
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .body(big.into())
        .send()
        .await
        .unwrap();
    let outcomes = stack.deliver_media_notifications().await;
    let result = &outcomes[0]["results"][0];
    assert_eq!(result["outcome"], "rejected", "{result}");
    assert_eq!(result["detail"]["reason"], "TooLarge", "{result}");
    assert_eq!(result["detail"]["fileSize"], 64 * 1024 * 1024 + 1);
    // The front's record: ingest-media asked for the object's size and never read it.
    let on_key = |c: &Value, method: &str| {
        c["method"] == method
            && c["path"]
                .as_str()
                .is_some_and(|p| percent_decoded(p) == format!("/{bucket}/{key}"))
    };
    let calls = stack.recorded_calls("ingest-media");
    assert!(calls.iter().any(|c| on_key(c, "HEAD")), "HeadObject made");
    assert!(
        !calls.iter().any(|c| on_key(c, "GET")),
        "no GetObject of the oversize object"
    );
    assert!(staging_object_deleted(&stack, &key));
    assert_eq!(uploads_files(&tenant), before, "nothing written");
}

#[tokio::test]
async fn a_put_of_another_length_than_signed_is_refused_and_nothing_staged() {
    let stack = Stack::new().await;
    stack.onboarded_tenant("media-length").await;
    let body = jpeg(false);
    let request = json!({"tenantId": "media-length", "fileName": "a.jpg", "size": body.len()});
    let (error, signed) = stack.invoke("upload-media", &request).await;
    assert_eq!(error, None, "{signed}");
    assert_eq!(signed["headers"]["content-length"], body.len().to_string());
    assert!(
        signed["expiresInSeconds"].as_u64().unwrap() <= 300,
        "{signed}"
    );
    // A body one byte longer (its own Content-Length): S3 refuses the signature.
    let mut longer = body.clone();
    longer.push(0);
    let status = stack
        .put_presigned(signed["url"].as_str().unwrap(), &json!({}), longer)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        stack.media_notifications().await.is_empty(),
        "nothing staged"
    );
    // The length signed is taken.
    let status = stack
        .put_presigned(signed["url"].as_str().unwrap(), &signed["headers"], body)
        .await;
    assert_eq!(status, StatusCode::OK);
    let outcomes = stack.deliver_media_notifications().await;
    assert_eq!(outcomes[0]["results"][0]["outcome"], "uploaded");
}
