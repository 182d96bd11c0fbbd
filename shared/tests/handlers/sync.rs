//! sync-content: a tenant's wp-content (its directory, a real one) against the content bucket, with
//! S3, the tagging API and Step Functions answered by mock rules.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput;
use aws_sdk_resourcegroupstagging::types::ResourceTagMapping;
use aws_sdk_s3::operation::delete_object::DeleteObjectOutput;
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::types::Object;
use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use bbws::sync::service::Syncer;
use bbws::sync::{Limits, SyncState};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::common::{Sent, AP_ARN};

const BUCKET: &str = "bbws-dev-content-123456789012";
const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:bbws-dev-sync-content";

macro_rules! mocked {
    ($sdk:ident, $rules:expr) => {
        mock_client!($sdk, RuleMode::MatchAny, $rules.iter(), |c| c
            .retry_config($sdk::config::retry::RetryConfig::disabled()))
    };
}

/// An object the bucket holds: its size and metadata.
#[derive(Clone)]
struct Remote {
    size: i64,
    metadata: HashMap<String, String>,
}

#[derive(Default)]
struct Seen {
    listed: Sent<String>,
    heads: Sent<String>,
    puts: Sent<(String, HashMap<String, String>)>,
    deletes: Sent<String>,
    lookups: Sent<String>,
    started: Sent<(String, String)>,
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn mtime(path: &Path) -> String {
    let meta = fs::metadata(path).unwrap();
    format!("{}.{:09}", meta.mtime(), meta.mtime_nsec())
}

fn syncer(mount: &Path, remote: HashMap<String, Remote>, seen: &Seen) -> Syncer {
    let listed = seen.listed.clone();
    let keys: Vec<(String, i64)> = {
        let mut k: Vec<_> = remote.iter().map(|(k, r)| (k.clone(), r.size)).collect();
        k.sort();
        k
    };
    let list = mock!(aws_sdk_s3::Client::list_objects_v2).then_compute_output(move |r| {
        listed.push(&r.prefix().unwrap_or_default().to_owned());
        let after = r.start_after().unwrap_or_default().to_owned();
        let out = ListObjectsV2Output::builder().is_truncated(false);
        keys.iter()
            .filter(|(k, _)| {
                k.starts_with(r.prefix().unwrap_or_default()) && k.as_str() > after.as_str()
            })
            .fold(out, |out, (k, size)| {
                out.contents(Object::builder().key(k).size(*size).build())
            })
            .build()
    });
    let heads = seen.heads.clone();
    let held = remote.clone();
    let head = mock!(aws_sdk_s3::Client::head_object).then_compute_output(move |r| {
        let key = r.key().unwrap().to_owned();
        heads.push(&key);
        let object = &held[&key];
        HeadObjectOutput::builder()
            .content_length(object.size)
            .set_metadata(Some(object.metadata.clone()))
            .build()
    });
    let puts = seen.puts.clone();
    let put = mock!(aws_sdk_s3::Client::put_object).then_compute_output(move |r| {
        puts.push(&(
            r.key().unwrap().to_owned(),
            r.metadata().cloned().unwrap_or_default(),
        ));
        PutObjectOutput::builder().build()
    });
    let deletes = seen.deletes.clone();
    let delete = mock!(aws_sdk_s3::Client::delete_object).then_compute_output(move |r| {
        deletes.push(&r.key().unwrap().to_owned());
        DeleteObjectOutput::builder().build()
    });
    let lookups = seen.lookups.clone();
    let tagging =
        mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_compute_output(move |r| {
            let tenant = r.tag_filters()[0].values()[0].clone();
            lookups.push(&tenant);
            let out = GetResourcesOutput::builder();
            if tenant == "tenant-1" {
                out.resource_tag_mapping_list(
                    ResourceTagMapping::builder().resource_arn(AP_ARN).build(),
                )
                .build()
            } else {
                out.build()
            }
        });
    let started = seen.started.clone();
    let start = mock!(aws_sdk_sfn::Client::start_execution).then_compute_output(move |r| {
        started.push(&(r.name().unwrap().to_owned(), r.input().unwrap().to_owned()));
        StartExecutionOutput::builder()
            .execution_arn("arn:x")
            .start_date(aws_smithy_types::DateTime::from_secs(0))
            .build()
            .unwrap()
    });
    Syncer {
        s3: mocked!(aws_sdk_s3, [list, head, put, delete]),
        sfn: mocked!(aws_sdk_sfn, [start]),
        tagging: mocked!(aws_sdk_resourcegroupstagging, [tagging]),
        mount: mount.to_path_buf(),
        bucket: BUCKET.into(),
        limits: Limits {
            batch_files: 100,
            batch_bytes: 1 << 30,
            batches_per_execution: 10,
        },
        leases: free_lease(),
    }
}

/// The tenant's lease, free: taken, renewed and given back by the sync alone.
fn free_lease() -> bbws::lease::Leases {
    use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
    use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
    let update = mock!(aws_sdk_dynamodb::Client::update_item)
        .then_output(|| UpdateItemOutput::builder().build());
    let delete = mock!(aws_sdk_dynamodb::Client::delete_item)
        .then_output(|| DeleteItemOutput::builder().build());
    bbws::lease::Leases::new(
        &bbws::catalog::Catalog {
            dynamodb: mocked!(aws_sdk_dynamodb, [update, delete]),
            table: "bbws-dev-backup-catalog".into(),
            dr_delete_after_days: 30,
        },
        Some("af-south-1"),
    )
}

fn write(root: &Path, rel: &str, body: &[u8]) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, body).unwrap();
}

#[tokio::test]
async fn a_batch_uploads_what_changed_reads_metadata_only_for_same_sized_files_and_deletes_what_is_gone(
) {
    let mount = tempfile::tempdir().unwrap();
    let wp = mount.path().join("tenant-1");
    for (rel, body) in [
        ("new.txt", &b"new file"[..]),
        ("resized.txt", b"longer than before"),
        ("same.txt", b"unchanged"),
        ("touched.txt", b"same bytes"),
        ("edited.txt", b"edited!!"),
    ] {
        write(&wp, rel, body);
    }
    let prefix = "tenant-1/wp-content/";
    let meta = |size: usize, mtime: &str, sha: &str| {
        HashMap::from([
            ("size".to_owned(), size.to_string()),
            ("mtime".to_owned(), mtime.to_owned()),
            ("sha256".to_owned(), sha.to_owned()),
        ])
    };
    let remote = HashMap::from([
        (
            format!("{prefix}resized.txt"),
            Remote {
                size: 3,
                metadata: meta(3, "1.0", "x"),
            },
        ),
        (
            format!("{prefix}same.txt"),
            Remote {
                size: 9,
                metadata: meta(9, &mtime(&wp.join("same.txt")), "not read"),
            },
        ),
        (
            format!("{prefix}touched.txt"),
            Remote {
                size: 10,
                metadata: meta(10, "1.000000000", &hex(b"same bytes")),
            },
        ),
        (
            format!("{prefix}edited.txt"),
            Remote {
                size: 8,
                metadata: meta(8, "1.000000000", &hex(b"original")),
            },
        ),
        (
            format!("{prefix}gone.txt"),
            Remote {
                size: 4,
                metadata: HashMap::new(),
            },
        ),
    ]);
    let seen = Seen::default();
    let syncer = syncer(mount.path(), remote, &seen);
    let planned = syncer
        .plan(
            "arn:aws:states:us-east-1:123456789012:execution:bbws-dev-sync-content:sync-1",
            json!({"tenantId": "tenant-1", "delete": true}),
        )
        .await
        .unwrap();
    assert_eq!(seen.lookups.all(), ["tenant-1"]);
    assert_eq!(planned.s3_prefix, prefix);
    let state = syncer.batch(planned).await.unwrap();

    let mut put: Vec<String> = seen.puts.all().into_iter().map(|(k, _)| k).collect();
    put.sort();
    assert_eq!(
        put,
        [
            format!("{prefix}edited.txt"),
            format!("{prefix}new.txt"),
            format!("{prefix}resized.txt")
        ]
    );
    let mut heads = seen.heads.all();
    heads.sort();
    assert_eq!(
        heads,
        [
            format!("{prefix}edited.txt"),
            format!("{prefix}same.txt"),
            format!("{prefix}touched.txt")
        ],
        "only same-sized objects are asked for their metadata"
    );
    assert_eq!(seen.deletes.all(), [format!("{prefix}gone.txt")]);
    let (_, sent) = seen
        .puts
        .all()
        .into_iter()
        .find(|(k, _)| k.ends_with("new.txt"))
        .unwrap();
    assert_eq!(sent["sha256"], hex(b"new file"));
    assert_eq!(sent["size"], "8");
    assert_eq!(sent["mtime"], mtime(&wp.join("new.txt")));

    assert!(state.done && !state.continue_now);
    let result = state.result.unwrap();
    assert_eq!(
        (
            result.files_synced,
            result.files_skipped,
            result.files_deleted
        ),
        (3, 2, 1)
    );
    assert_eq!(result.bytes_synced, 8 + 18 + 8);
    assert_eq!(result.s3_bucket, BUCKET);
}

#[tokio::test]
async fn a_bad_or_unknown_tenant_is_refused_with_nothing_written() {
    let mount = tempfile::tempdir().unwrap();
    write(&mount.path().join("tenant-2"), "index.php", b"<?php");
    let seen = Seen::default();
    let syncer = syncer(mount.path(), HashMap::new(), &seen);
    for request in [
        json!({"tenantId": "Tenant_1"}),
        json!({"tenantId": "../etc"}),
        json!({"tenantId": "tenant-1", "bucket": "elsewhere"}),
        json!({"tenantId": "tenant-1", "batchesPerExecution": 0}),
        json!("tenant-1"),
    ] {
        let error = syncer.plan("x", request.clone()).await.unwrap_err();
        assert_eq!(error.name(), "InvalidTenant", "{request}");
    }
    assert!(seen.lookups.all().is_empty(), "nothing asked of AWS");
    // Not onboarded (no access point), though its files are there.
    let error = syncer
        .plan("x", json!({"tenantId": "tenant-2"}))
        .await
        .unwrap_err();
    assert_eq!(error.name(), "InvalidTenant");
    // Onboarded, but no directory on the file system.
    let error = syncer
        .plan("x", json!({"tenantId": "tenant-1"}))
        .await
        .unwrap_err();
    assert_eq!(error.name(), "InvalidTenant");
    assert!(seen.listed.all().is_empty() && seen.puts.all().is_empty());
}

#[tokio::test]
async fn a_full_execution_continues_as_one_named_from_the_run_with_the_cursor() {
    let mount = tempfile::tempdir().unwrap();
    let wp = mount.path().join("tenant-1");
    for i in 0..5 {
        write(&wp, &format!("f{i}.txt"), b"x");
    }
    let seen = Seen::default();
    let syncer = syncer(mount.path(), HashMap::new(), &seen);
    let mut state: SyncState = syncer
        .plan(
            "arn:aws:states:us-east-1:123456789012:execution:bbws-dev-sync-content:sync-t1",
            json!({"tenantId": "tenant-1", "batchFiles": 2, "batchesPerExecution": 2}),
        )
        .await
        .unwrap();
    state = syncer.batch(state).await.unwrap();
    assert!(!state.done && !state.continue_now);
    state = syncer.batch(state).await.unwrap();
    assert!(!state.done && state.continue_now);
    assert_eq!(state.cursor.as_deref(), Some("f3.txt"));
    let out = syncer.continue_run(MACHINE, &state).await.unwrap();
    assert_eq!(out["execution"], "sync-t1-1");
    let (name, input) = seen.started.all().remove(0);
    assert_eq!(name, "sync-t1-1");
    let input: Value = serde_json::from_str(&input).unwrap();
    assert_eq!(input["resume"]["cursor"], "f3.txt");
    assert_eq!(input["resume"]["tally"]["filesSynced"], 4);
    assert_eq!(input["resume"]["run"]["generation"], 1);
    assert_eq!(input["resume"]["run"]["firstExecution"], "sync-t1");

    // The next execution takes the run where it was, and finishes it.
    let resumed = syncer.plan("x:sync-t1-1", input).await.unwrap();
    let last = syncer.batch(resumed).await.unwrap();
    assert!(last.done);
    let result = last.result.unwrap();
    assert_eq!(
        (result.files_synced, result.executions, result.batches),
        (5, 2, 3)
    );
    assert_eq!(seen.puts.all().len(), 5);
}
