//! ingest-media: uploads from the staging bucket into a tenant's uploads (a real directory),
//! with S3, the tagging API and EventBridge answered by mock rules.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use aws_sdk_eventbridge::operation::put_events::{PutEventsInput, PutEventsOutput};
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput;
use aws_sdk_resourcegroupstagging::types::ResourceTagMapping;
use aws_sdk_s3::operation::delete_object::{DeleteObjectInput, DeleteObjectOutput};
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::operation::head_object::{HeadObjectError, HeadObjectOutput};
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::error::{NoSuchKey, NotFound};
use aws_smithy_mocks::{mock, mock_client, MockResponse, Rule, RuleMode};
use bbws::media::ingest::{handler, Ingest};
use bbws::Config;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

use crate::common::{Sent, AP_ARN};

const BUCKET: &str = "bbws-dev-media-staging-123456789012";
const TIME: &str = "2026-11-26T10:15:00.000Z";

macro_rules! mocked {
    ($sdk:ident, $rules:expr) => {
        mock_client!($sdk, RuleMode::MatchAny, $rules.iter(), |c| c
            .retry_config($sdk::config::retry::RetryConfig::disabled()))
    };
}

fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    s.extend_from_slice(payload);
    s
}

/// A JPEG's structure, with an Exif segment holding a GPS position when asked.
fn jpeg(with_exif: bool) -> Vec<u8> {
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

fn s3_event(bucket: &str, key: &str, size: usize) -> LambdaEvent<Value> {
    let payload = json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "af-south-1",
        "eventTime": TIME,
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
            "object": {"key": key, "size": size, "sequencer": "0055AED6DCD90281E5"}
        }
    }]});
    LambdaEvent::new(payload, Context::default())
}

/// What the mocked services saw.
#[derive(Default)]
struct Seen {
    deleted: Sent<DeleteObjectInput>,
    events: Sent<PutEventsInput>,
    reads: Sent<String>,
    lookups: Sent<String>,
    /// The outcomes left for the uploader: key and body.
    outcomes: Sent<(String, String)>,
    /// The tenant's lease: `take <holder>` and `give back <holder>`, in order.
    lease: Sent<String>,
    /// The keys asked about (HeadObject).
    heads: Sent<String>,
    /// The upload's outcome is recorded already (a replayed URL).
    replayed: bool,
}

impl Seen {
    fn event(&self) -> (String, Value) {
        let events = self.events.all();
        assert_eq!(events.len(), 1, "one event announced");
        let entry = &events[0].entries()[0];
        assert_eq!(entry.source(), Some("bbws.content"));
        (
            entry.detail_type().unwrap().to_owned(),
            serde_json::from_str(entry.detail().unwrap()).unwrap(),
        )
    }

    fn deleted_keys(&self) -> Vec<String> {
        self.deleted
            .all()
            .iter()
            .map(|d| format!("{}/{}", d.bucket().unwrap(), d.key().unwrap()))
            .collect()
    }
}

/// The function with its clients answering: the staging object holds `body` (or is gone:
/// `None`), and the tenant is onboarded or not.
fn ingest(mount: &Path, body: Option<Vec<u8>>, onboarded: bool, seen: &Seen) -> Ingest {
    ingest_with(mount, body, onboarded, seen, None)
}

/// The tenant's lease in the catalog's table: free, or held by `holder`'s restore.
fn lease_rules(seen: &Seen, held_by: Option<&'static str>) -> Vec<Rule> {
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_sdk_dynamodb::types::AttributeValue;
    let (taken, given) = (seen.lease.clone(), seen.lease.clone());
    let holder_of = |values: Option<&std::collections::HashMap<String, AttributeValue>>| {
        values
            .and_then(|v| v.get(":me"))
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let take = match held_by {
        None => mock!(aws_sdk_dynamodb::Client::update_item).then_compute_output(move |r| {
            taken.push(&format!(
                "take {}",
                holder_of(r.expression_attribute_values())
            ));
            UpdateItemOutput::builder().build()
        }),
        Some(_) => mock!(aws_sdk_dynamodb::Client::update_item).then_compute_response(move |r| {
            taken.push(&format!(
                "take {}",
                holder_of(r.expression_attribute_values())
            ));
            MockResponse::Error(UpdateItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder()
                    .message("The conditional request failed")
                    .meta(
                        ErrorMetadata::builder()
                            .code("ConditionalCheckFailedException")
                            .build(),
                    )
                    .build(),
            ))
        }),
    };
    let holder = held_by.unwrap_or_default();
    vec![
        take,
        mock!(aws_sdk_dynamodb::Client::delete_item).then_compute_output(move |r| {
            given.push(&format!(
                "give back {}",
                holder_of(r.expression_attribute_values())
            ));
            DeleteItemOutput::builder().build()
        }),
        mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || {
            GetItemOutput::builder()
                .set_item(Some(std::collections::HashMap::from([
                    ("holder".to_owned(), AttributeValue::S(holder.into())),
                    ("operation".to_owned(), AttributeValue::S("restore".into())),
                    ("since".to_owned(), AttributeValue::N("1795600000".into())),
                    (
                        "leaseUntil".to_owned(),
                        AttributeValue::N("1795603600".into()),
                    ),
                ])))
                .build()
        }),
    ]
}

fn ingest_with(
    mount: &Path,
    body: Option<Vec<u8>>,
    onboarded: bool,
    seen: &Seen,
    held_by: Option<&'static str>,
) -> Ingest {
    let reads = seen.reads.clone();
    let get: Rule = match body.clone() {
        Some(body) => mock!(aws_sdk_s3::Client::get_object).then_compute_output(move |r| {
            reads.push(&r.key().unwrap().to_owned());
            GetObjectOutput::builder()
                .body(ByteStream::from(body.clone()))
                .build()
        }),
        None => mock!(aws_sdk_s3::Client::get_object).then_compute_response(move |r| {
            reads.push(&r.key().unwrap().to_owned());
            MockResponse::Error(GetObjectError::NoSuchKey(NoSuchKey::builder().build()))
        }),
    };
    let (heads, replayed, length) = (
        seen.heads.clone(),
        seen.replayed,
        body.as_ref().map(|b| b.len() as i64),
    );
    let head = mock!(aws_sdk_s3::Client::head_object).then_compute_response(move |r| {
        let key = r.key().unwrap().to_owned();
        heads.push(&key);
        let found = if key.starts_with("outcomes/") {
            replayed.then_some(10)
        } else {
            length
        };
        match found {
            Some(n) => MockResponse::Output(
                HeadObjectOutput::builder()
                    .content_length(n)
                    .e_tag("\"etag-1\"")
                    .build(),
            ),
            None => MockResponse::Error(HeadObjectError::NotFound(NotFound::builder().build())),
        }
    });
    let deleted = seen.deleted.clone();
    let delete = mock!(aws_sdk_s3::Client::delete_object).then_compute_output(move |r| {
        deleted.push(r);
        DeleteObjectOutput::builder().build()
    });
    let outcomes = seen.outcomes.clone();
    let outcome = mock!(aws_sdk_s3::Client::put_object).then_compute_output(move |r| {
        let body = r
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned());
        outcomes.push(&(r.key().unwrap().to_owned(), body.unwrap_or_default()));
        PutObjectOutput::builder().build()
    });
    let lookups = seen.lookups.clone();
    let tagging =
        mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_compute_output(move |r| {
            lookups.push(&r.tag_filters()[0].values()[0].clone());
            let out = GetResourcesOutput::builder();
            if onboarded {
                out.resource_tag_mapping_list(
                    ResourceTagMapping::builder().resource_arn(AP_ARN).build(),
                )
                .build()
            } else {
                out.build()
            }
        });
    let sent = seen.events.clone();
    let events = mock!(aws_sdk_eventbridge::Client::put_events).then_compute_output(move |r| {
        sent.push(r);
        PutEventsOutput::builder()
            .failed_entry_count(0)
            .entries(PutEventsResultEntry::builder().event_id("evt-1").build())
            .build()
    });
    let me = fs::metadata(mount).unwrap();
    Ingest {
        config: Config::example(),
        s3: mocked!(aws_sdk_s3, [head, get, delete, outcome]),
        tagging: mocked!(aws_sdk_resourcegroupstagging, [tagging]),
        events: mocked!(aws_sdk_eventbridge, [events]),
        mount: mount.to_path_buf(),
        bucket: BUCKET.into(),
        max_bytes: 1024,
        // Only root may give files to 33:33; anyone else gives them to themselves.
        owner: Some(if me.uid() == 0 {
            (33, 33)
        } else {
            (me.uid(), me.gid())
        }),
        leases: bbws::lease::Leases {
            dynamodb: mocked!(aws_sdk_dynamodb, lease_rules(seen, held_by)),
            table: "bbws-dev-backup-catalog".into(),
            region: "af-south-1".into(),
            clock: bbws::jobs::Clock::System,
        },
    }
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(files_under(&path));
            } else {
                found.push(path.display().to_string());
            }
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn an_accepted_jpeg_lands_in_its_month_without_exif_and_is_announced() {
    let mount = tempfile::tempdir().unwrap();
    let seen = Seen::default();
    let upload = jpeg(true);
    let ingest = ingest(mount.path(), Some(upload.clone()), true, &seen);
    let key = "incoming/tenant-1/7d0c6b1e-4f1a-4b8e-9a43-0c1f3e8b2d11/My+Holiday+Photo.jpg";
    let out = handler(s3_event(BUCKET, key, upload.len()), &ingest)
        .await
        .unwrap();
    assert_eq!(out["results"][0]["outcome"], "uploaded");

    let path = mount
        .path()
        .join("tenant-1/uploads/2026/11/My-Holiday-Photo.jpg");
    assert_eq!(
        fs::read(&path).unwrap(),
        jpeg(false),
        "the Exif segment alone is gone"
    );
    let meta = fs::metadata(&path).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o644);
    assert_eq!(Some((meta.uid(), meta.gid())), ingest.owner);
    assert_eq!(files_under(mount.path()), [path.display().to_string()]);

    let staged = format!(
        "{BUCKET}/incoming/tenant-1/7d0c6b1e-4f1a-4b8e-9a43-0c1f3e8b2d11/My Holiday Photo.jpg"
    );
    assert_eq!(seen.deleted_keys(), [staged]);
    assert_eq!(seen.lookups.all(), ["tenant-1"]);
    // The tenant was held while the file was written, and given back.
    // The holder names the invocation too (here the default context's empty request id).
    let holder = "media-ingest:7d0c6b1e-4f1a-4b8e-9a43-0c1f3e8b2d11:";
    assert_eq!(
        seen.lease.all(),
        [format!("take {holder}"), format!("give back {holder}")]
    );
    let (detail_type, detail) = seen.event();
    assert_eq!(detail_type, "TenantMediaUploaded");
    assert_eq!(
        detail,
        json!({
            "tenantId": "tenant-1",
            "fileName": "My-Holiday-Photo.jpg",
            "filePath": "wp-content/uploads/2026/11/My-Holiday-Photo.jpg",
            "fileSize": jpeg(false).len(),
            "mimeType": "image/jpeg",
            "uploadedAt": TIME,
            "uploadId": "7d0c6b1e-4f1a-4b8e-9a43-0c1f3e8b2d11",
            "originalName": "My Holiday Photo.jpg",
            "metadataSegmentsRemoved": 1,
        })
    );
    // The outcome where bbws upload polls for it.
    let outcomes = seen.outcomes.all();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(
        outcomes[0].0,
        "outcomes/tenant-1/7d0c6b1e-4f1a-4b8e-9a43-0c1f3e8b2d11.json"
    );
    let recorded: Value = serde_json::from_str(&outcomes[0].1).unwrap();
    assert_eq!(
        recorded,
        json!({"detailType": "TenantMediaUploaded", "detail": detail})
    );
}

#[tokio::test]
async fn a_clash_gets_a_number_and_the_first_file_stays() {
    let mount = tempfile::tempdir().unwrap();
    let dir = mount.path().join("tenant-1/uploads/2026/11");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("cat.jpg"), b"the first cat").unwrap();
    let seen = Seen::default();
    let ingest = ingest(mount.path(), Some(jpeg(false)), true, &seen);
    handler(
        s3_event(BUCKET, "incoming/tenant-1/u2/cat.jpg", 10),
        &ingest,
    )
    .await
    .unwrap();
    assert_eq!(fs::read(dir.join("cat.jpg")).unwrap(), b"the first cat");
    assert_eq!(fs::read(dir.join("cat-1.jpg")).unwrap(), jpeg(false));
    assert_eq!(seen.event().1["fileName"], "cat-1.jpg");
}

#[tokio::test]
async fn a_php_polyglot_is_refused_with_nothing_written_and_the_staging_object_gone() {
    let mount = tempfile::tempdir().unwrap();
    let seen = Seen::default();
    let mut polyglot = jpeg(false);
    polyglot.extend_from_slice(b"<?php system($_GET['c']); ?>");
    let ingest = ingest(mount.path(), Some(polyglot.clone()), true, &seen);
    let out = handler(
        s3_event(BUCKET, "incoming/tenant-1/u1/cat.jpg", polyglot.len()),
        &ingest,
    )
    .await
    .unwrap();
    assert_eq!(out["results"][0]["outcome"], "rejected");
    assert!(files_under(mount.path()).is_empty(), "nothing written");
    assert_eq!(
        seen.deleted_keys(),
        [format!("{BUCKET}/incoming/tenant-1/u1/cat.jpg")]
    );
    let (detail_type, detail) = seen.event();
    assert_eq!(detail_type, "TenantMediaRejected");
    assert_eq!(detail["reason"], "ScriptInside");
    assert_eq!(detail["tenantId"], "tenant-1");
    assert_eq!(detail["uploadId"], "u1");
    assert_eq!(detail["fileName"], "cat.jpg");
    assert_eq!(detail["fileSize"], polyglot.len());
    assert!(detail["message"].as_str().unwrap().contains("<?php"));
    let outcomes = seen.outcomes.all();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].0, "outcomes/tenant-1/u1.json");
    let recorded: Value = serde_json::from_str(&outcomes[0].1).unwrap();
    assert_eq!(recorded["detailType"], "TenantMediaRejected");
    assert_eq!(recorded["detail"]["reason"], "ScriptInside");
}

#[tokio::test]
async fn refusals_before_reading_the_object_never_read_it() {
    // (key, size, onboarded, reason, tenant looked up); the size is the object's own, as
    // HeadObject gives it.
    let cases = [
        (
            "incoming/Tenant_1/u1/a.jpg",
            10,
            true,
            "InvalidTenant",
            false,
        ),
        (
            "incoming/tenant-9/u1/a.jpg",
            10,
            false,
            "NotOnboarded",
            true,
        ),
        ("incoming/tenant-1/u1/a.jpg", 4096, true, "TooLarge", true),
        ("incoming/tenant-1/a.jpg", 10, true, "BadName", false),
    ];
    for (key, size, onboarded, reason, looked_up) in cases {
        let mount = tempfile::tempdir().unwrap();
        let seen = Seen::default();
        let mut body = jpeg(false);
        body.resize(size.max(body.len()), 0);
        let ingest = ingest(mount.path(), Some(body), onboarded, &seen);
        // The event says 10 bytes whatever the object holds: it is not trusted.
        handler(s3_event(BUCKET, key, 10), &ingest).await.unwrap();
        assert_eq!(seen.event().1["reason"], reason, "{key}");
        assert!(
            seen.reads.all().is_empty(),
            "{key}: the object is never read"
        );
        assert_eq!(seen.lookups.all().len(), usize::from(looked_up), "{key}");
        assert_eq!(seen.deleted_keys(), [format!("{BUCKET}/{key}")], "{key}");
        assert!(files_under(mount.path()).is_empty(), "{key}");
    }
}

#[tokio::test]
async fn content_refusals_are_named() {
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "photo.jpg",
            b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec(),
            "ExtensionMismatch",
        ),
        (
            "logo.svg",
            b"<svg><script>alert(1)</script></svg>".to_vec(),
            "ScriptInside",
        ),
        ("shell.php", b"#!/usr/bin/php\n".to_vec(), "NotAllowedType"),
        ("..", jpeg(false), "BadName"),
    ];
    for (name, body, reason) in cases {
        let mount = tempfile::tempdir().unwrap();
        let seen = Seen::default();
        let ingest = ingest(mount.path(), Some(body.clone()), true, &seen);
        let key = format!("incoming/tenant-1/u1/{name}");
        handler(s3_event(BUCKET, &key, body.len()), &ingest)
            .await
            .unwrap();
        assert_eq!(seen.event().1["reason"], reason, "{name}");
        assert!(files_under(mount.path()).is_empty(), "{name}");
        assert_eq!(seen.deleted.all().len(), 1, "{name}");
    }
}

#[tokio::test]
async fn a_repeated_event_finds_the_object_gone_and_does_nothing() {
    let mount = tempfile::tempdir().unwrap();
    let seen = Seen::default();
    let ingest = ingest(mount.path(), None, true, &seen);
    let out = handler(s3_event(BUCKET, "incoming/tenant-1/u1/a.jpg", 10), &ingest)
        .await
        .unwrap();
    assert_eq!(out["results"][0]["outcome"], "gone");
    assert!(seen.reads.all().is_empty(), "HeadObject found it gone");
    assert!(seen.events.all().is_empty() && seen.deleted.all().is_empty());
    assert!(files_under(mount.path()).is_empty());
}

#[tokio::test]
async fn objects_of_another_bucket_are_left_alone() {
    let mount = tempfile::tempdir().unwrap();
    let seen = Seen::default();
    let ingest = ingest(mount.path(), Some(jpeg(false)), true, &seen);
    let out = handler(
        s3_event("someone-elses-bucket", "incoming/tenant-1/u1/a.jpg", 10),
        &ingest,
    )
    .await
    .unwrap();
    assert_eq!(out["results"][0]["outcome"], "ignored");
    assert!(seen.lookups.all().is_empty() && seen.reads.all().is_empty());
    assert!(seen.events.all().is_empty() && seen.deleted.all().is_empty());
}

#[tokio::test]
async fn an_upload_while_a_restore_holds_the_tenant_is_tenant_busy_with_nothing_written() {
    let mount = tempfile::tempdir().unwrap();
    let seen = Seen::default();
    let upload = jpeg(true);
    let restore = "arn:aws:states:af-south-1:123456789012:execution:bbws-dev-tenant-restore:r-1";
    let ingest = ingest_with(
        mount.path(),
        Some(upload.clone()),
        true,
        &seen,
        Some(restore),
    );
    let key = "incoming/tenant-1/7d0c6b1e-4f1a-4b8e-9a43-0c1f3e8b2d11/photo.jpg";
    let err = handler(s3_event(BUCKET, key, upload.len()), &ingest)
        .await
        .unwrap_err();
    assert_eq!(err.name(), "TenantBusy");
    assert!(err.to_string().contains(restore), "{err}");
    // Nothing written, the staging object kept for the retried event, nothing announced.
    assert!(files_under(mount.path()).is_empty());
    assert!(seen.deleted.all().is_empty());
    assert!(seen.events.all().is_empty());
    assert!(seen.outcomes.all().is_empty());
    assert_eq!(
        seen.lease.all(),
        ["take media-ingest:7d0c6b1e-4f1a-4b8e-9a43-0c1f3e8b2d11:"]
    );
}

#[tokio::test]
async fn a_replayed_upload_id_ends_in_its_first_outcome_with_no_second_file() {
    let mount = tempfile::tempdir().unwrap();
    let seen = Seen {
        replayed: true,
        ..Seen::default()
    };
    let ingest = ingest(mount.path(), Some(jpeg(false)), true, &seen);
    let key = "incoming/tenant-1/u1/a.jpg";
    let out = handler(s3_event(BUCKET, key, 10), &ingest).await.unwrap();
    assert_eq!(out["results"][0]["outcome"], "replayed");
    assert_eq!(seen.heads.all(), ["outcomes/tenant-1/u1.json"]);
    assert!(
        seen.reads.all().is_empty(),
        "the replayed object is never read"
    );
    assert!(seen.events.all().is_empty() && seen.outcomes.all().is_empty());
    assert_eq!(seen.deleted_keys(), [format!("{BUCKET}/{key}")]);
    assert!(files_under(mount.path()).is_empty());
}

#[tokio::test]
async fn an_object_larger_than_its_head_said_is_cut_off_at_the_limit() {
    use aws_sdk_s3::operation::get_object::GetObjectOutput;
    let mount = tempfile::tempdir().unwrap();
    let seen = Seen::default();
    let mut ingest = ingest(mount.path(), Some(jpeg(false)), true, &seen);
    // HeadObject says the JPEG's size; the body read is larger (replaced in between).
    let big = mock!(aws_sdk_s3::Client::get_object).then_output(|| {
        GetObjectOutput::builder()
            .body(ByteStream::from(vec![0u8; 4096]))
            .build()
    });
    let head = mock!(aws_sdk_s3::Client::head_object).then_compute_response(|r| {
        if r.key().unwrap().starts_with("outcomes/") {
            MockResponse::Error(HeadObjectError::NotFound(NotFound::builder().build()))
        } else {
            MockResponse::Output(HeadObjectOutput::builder().content_length(100).build())
        }
    });
    let delete = mock!(aws_sdk_s3::Client::delete_object).then_output(|| {
        aws_sdk_s3::operation::delete_object::DeleteObjectOutput::builder().build()
    });
    let put =
        mock!(aws_sdk_s3::Client::put_object).then_output(|| PutObjectOutput::builder().build());
    ingest.s3 = mocked!(aws_sdk_s3, [head, big, delete, put]);
    let out = handler(s3_event(BUCKET, "incoming/tenant-1/u1/a.jpg", 100), &ingest)
        .await
        .unwrap();
    assert_eq!(out["results"][0]["detail"]["reason"], "TooLarge");
    assert!(files_under(mount.path()).is_empty());
}
