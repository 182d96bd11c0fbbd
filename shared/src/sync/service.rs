//! `sync-content`: the steps of the sync state machine (statemachine/sync-content.asl.json).
//!
//! * **plan** checks the request (a strict tenant id, onboarded, with a directory
//!   on the file system; the batch limits) and changes nothing: a bad request ends the execution
//!   `InvalidTenant` before any object is written;
//! * **batch** syncs the next batch of files after the cursor, deletes (with `delete`) the
//!   objects of that range of keys whose files are gone, and moves the cursor on;
//! * **continue** starts the run's next execution with the cursor and the tally.
//!
//! The file system is mounted through its root access point (`EFS_MOUNT_PATH`), read only.

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::task::JoinSet;

use crate::held::{Held, Kind};

use super::walk::{open_inside, sha256_hex, walk_after, LocalFile};
use super::{
    content_type, continuation_name, metadata, part_size, prefix, Limits, Run, SyncState, Tally,
    META_MTIME, META_SHA256, META_SIZE, MULTIPART_THRESHOLD,
};
use crate::catalog::Catalog;
use crate::config::{required, ConfigError};
use crate::error::{Error, ErrorKind, Operation};
use crate::lease::{Claim, Leases};
use crate::runtime::{encode, parse, Service};
use crate::tenant_id::TenantId;
use crate::tenants::list::is_onboarded;

const OP: Operation = Operation::Sync;
/// Files of a batch synced at once.
const CONCURRENCY: usize = 16;
/// How long a sync holds the tenant past its last step: each plan and batch renews it, and
/// one batch is bounded by the function's own timeout (at most 15 minutes).
const LEASE_SECONDS: i64 = 3600;

pub struct Syncer {
    pub s3: aws_sdk_s3::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// The file system's root (`EFS_MOUNT_PATH`).
    pub mount: PathBuf,
    /// The content bucket (`CONTENT_BUCKET`).
    pub bucket: String,
    /// The batch limits unless a request sets its own.
    pub limits: Limits,
    /// One operation per tenant: a sync does not read a directory a restore is swapping.
    pub leases: Leases,
}

impl Service for Syncer {
    fn build(
        sdk: &SdkConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            s3: crate::media::s3_client(sdk),
            sfn: aws_sdk_sfn::Client::new(sdk),
            tagging: aws_sdk_resourcegroupstagging::Client::new(sdk),
            mount: required(&lookup, "EFS_MOUNT_PATH")?.into(),
            bucket: required(&lookup, "CONTENT_BUCKET")?,
            limits: Limits::from_lookup(lookup)?,
            leases: Leases::new(
                &Catalog::from_lookup(sdk, lookup, 0)?,
                sdk.region().map(|r| r.as_ref()),
            ),
        })
    }
}

/// A sync request, as the state machine's input (and a continued execution's).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SyncRequest {
    tenant_id: String,
    #[serde(default)]
    delete: bool,
    #[serde(default)]
    batch_files: Option<u32>,
    #[serde(default)]
    batch_bytes: Option<u64>,
    #[serde(default)]
    batches_per_execution: Option<u32>,
    /// A continued execution's place in its run.
    #[serde(default)]
    resume: Option<Resume>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Resume {
    cursor: Option<String>,
    tally: Tally,
    run: Run,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", tag = "action", deny_unknown_fields)]
enum SyncInput {
    #[serde(rename_all = "camelCase")]
    Plan {
        execution_id: String,
        request: Value,
    },
    #[serde(rename_all = "camelCase")]
    Batch { sync: Box<SyncState> },
    #[serde(rename_all = "camelCase")]
    Continue {
        state_machine_arn: String,
        sync: Box<SyncState>,
    },
    /// The run's end (done or failed): the tenant's lease given back.
    #[serde(rename_all = "camelCase")]
    Release { sync: Box<SyncState> },
}

/// The `sync-content` handler.
pub async fn handler(event: LambdaEvent<Value>, syncer: &Syncer) -> Result<Value, Error> {
    match parse(OP, "sync-content", event.payload)? {
        SyncInput::Plan {
            execution_id,
            request,
        } => encode(OP, &syncer.plan(&execution_id, request).await?),
        SyncInput::Batch { sync } => encode(OP, &syncer.batch(*sync).await?),
        SyncInput::Continue {
            state_machine_arn,
            sync,
        } => syncer.continue_run(&state_machine_arn, &sync).await,
        SyncInput::Release { sync } => {
            let tenant = TenantId::parse(&sync.tenant_id)?;
            let released = match sync.holder.is_empty() {
                true => false,
                false => syncer.leases.release(OP, &tenant, &sync.holder).await?,
            };
            Ok(json!({ "released": released }))
        }
    }
}

fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// What one file's sync did.
enum Done {
    Uploaded(u64),
    Skipped,
}

/// What every file task of a batch shares.
struct Target {
    s3: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    /// The tenant's directory (its wp-content), held: every read resolves beneath it.
    root: Held,
}

impl Syncer {
    /// The tenant's directory, which is its wp-content ([`crate::layout`]), held open
    /// beneath the file system's root through no link (`/<tenant>` must be a directory
    /// itself), beside the root's handle; `None` when there is none.
    fn tenant_root(&self, tenant: &TenantId) -> Result<Option<(Held, Held)>, Error> {
        let failed = |e: std::io::Error| {
            Error::caused_by(
                OP.failed_kind(),
                format!("opening tenant {tenant}'s directory: {e}"),
                e,
            )
        };
        let mount = Held::open(&self.mount).map_err(failed)?;
        match mount.stat(tenant.as_str()).map_err(failed)? {
            Some(s) if s.kind == Kind::Dir => {}
            _ => return Ok(None),
        }
        let root = mount.dir(tenant.as_str()).map_err(failed)?;
        Ok(Some((mount, root)))
    }

    pub async fn plan(&self, execution_id: &str, request: Value) -> Result<SyncState, Error> {
        let request: SyncRequest = parse(OP, "sync", request)?;
        let tenant = TenantId::parse(&request.tenant_id)?;
        let mut limits = self.limits;
        if let Some(n) = request.batch_files {
            limits.batch_files = n;
        }
        if let Some(n) = request.batch_bytes {
            limits.batch_bytes = n;
        }
        if let Some(n) = request.batches_per_execution {
            limits.batches_per_execution = n;
        }
        if limits.batch_files == 0
            || limits.batch_bytes == 0
            || !(1..=super::MAX_BATCHES_PER_EXECUTION).contains(&limits.batches_per_execution)
        {
            return Err(OP.bad_request(format!(
                "the sync request is not valid: batchFiles and batchBytes must be positive, batchesPerExecution 1 to {}",
                super::MAX_BATCHES_PER_EXECUTION
            )));
        }
        if !is_onboarded(&self.tagging, &tenant).await? {
            return Err(Error::new(
                ErrorKind::InvalidTenant,
                format!("tenant {tenant} is not onboarded: it has no access point"),
            ));
        }
        if self.tenant_root(&tenant)?.is_none() {
            return Err(Error::new(
                ErrorKind::InvalidTenant,
                format!("tenant {tenant} has no directory on the file system"),
            ));
        }
        let execution = execution_id.rsplit(':').next().unwrap_or(execution_id);
        let (cursor, tally, run) = match request.resume {
            Some(resume) => (resume.cursor, resume.tally, resume.run),
            None => (
                None,
                Tally::default(),
                Run {
                    first_execution: execution.to_owned(),
                    generation: 0,
                    started_at: now(),
                },
            ),
        };
        // The run's first execution holds the tenant; each continuation renews it.
        let holder = match execution_id.rsplit_once(':') {
            Some((head, _)) => format!("{head}:{}", run.first_execution),
            None => run.first_execution.clone(),
        };
        self.leases
            .acquire(
                OP,
                &Claim {
                    tenant: &tenant,
                    holder: &holder,
                    operation: "sync",
                    seconds: LEASE_SECONDS,
                    request_key: "",
                    generation: &holder,
                },
            )
            .await?;
        Ok(SyncState {
            holder,
            tenant_id: tenant.to_string(),
            delete: request.delete,
            s3_bucket: self.bucket.clone(),
            s3_prefix: prefix(&tenant),
            limits,
            cursor,
            tally,
            run,
            batches_here: 0,
            done: false,
            continue_now: false,
            result: None,
        })
    }

    pub async fn batch(&self, mut state: SyncState) -> Result<SyncState, Error> {
        let tenant = TenantId::parse(&state.tenant_id)?;
        if state.s3_bucket != self.bucket || state.s3_prefix != prefix(&tenant) {
            return Err(OP.bad_request("the sync's bucket and prefix are not this tenant's"));
        }
        if !state.holder.is_empty() {
            self.leases
                .renew(OP, &tenant, &state.holder, LEASE_SECONDS)
                .await?;
        }
        let (mount, root) = self.tenant_root(&tenant)?.ok_or_else(|| {
            OP.failed(format!(
                "tenant {tenant}'s directory is gone from the file system"
            ))
        })?;
        let (walk_root, cursor, limits) = (root.clone(), state.cursor.clone(), state.limits);
        let walked = tokio::task::spawn_blocking(move || {
            walk_after(
                &walk_root,
                cursor.as_deref(),
                limits.batch_files as usize,
                limits.batch_bytes,
            )
        })
        .await
        .map_err(|e| OP.failed(format!("walking the tenant's files stopped: {e}")))?
        .map_err(|e| {
            Error::caused_by(
                OP.failed_kind(),
                format!("walking tenant {tenant}'s wp-content: {e}"),
                e,
            )
        })?;
        // Where a test swaps a directory for a link between the walk and the reads.
        mount.race_point(&format!("sync-walked.{tenant}"));
        let upper = if walked.exhausted {
            None
        } else {
            walked.files.last().map(|f| f.path.clone())
        };
        let remote = self
            .list_range(&state.s3_prefix, state.cursor.as_deref(), upper.as_deref())
            .await?;

        let target = Arc::new(Target {
            s3: self.s3.clone(),
            bucket: self.bucket.clone(),
            prefix: state.s3_prefix.clone(),
            root,
        });
        let mut tasks = JoinSet::new();
        let mut tally = Tally::default();
        let mut results = Vec::new();
        for file in walked.files.iter().cloned() {
            if tasks.len() >= CONCURRENCY {
                results.push(tasks.join_next().await);
            }
            let remote_size = remote.get(&file.path).copied();
            let target = Arc::clone(&target);
            tasks.spawn(async move { sync_one(&target, file, remote_size).await });
        }
        while let Some(joined) = tasks.join_next().await {
            results.push(Some(joined));
        }
        for joined in results.into_iter().flatten() {
            match joined.map_err(|e| OP.failed(format!("a file's sync stopped: {e}")))?? {
                Done::Uploaded(bytes) => {
                    tally.files_synced += 1;
                    tally.bytes_synced += bytes;
                }
                Done::Skipped => tally.files_skipped += 1,
            }
        }

        if state.delete {
            let here: HashSet<&str> = walked.files.iter().map(|f| f.path.as_str()).collect();
            for gone in remote.keys().filter(|k| !here.contains(k.as_str())) {
                let key = format!("{}{gone}", state.s3_prefix);
                self.s3
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(&key)
                    .send()
                    .await
                    .map_err(|e| OP.aws(&format!("deleting s3://{}/{key}", self.bucket), e))?;
                tally.files_deleted += 1;
            }
        }

        tally.links_skipped = walked.passed_over;
        let t = &mut state.tally;
        t.files_synced += tally.files_synced;
        t.bytes_synced += tally.bytes_synced;
        t.files_skipped += tally.files_skipped;
        t.files_deleted += tally.files_deleted;
        t.links_skipped += tally.links_skipped;
        t.batches += 1;
        if let Some(last) = walked.files.last() {
            state.cursor = Some(last.path.clone());
        }
        state.batches_here += 1;
        state.done = walked.exhausted;
        state.continue_now =
            !state.done && state.batches_here >= state.limits.batches_per_execution;
        if state.done {
            state.result = Some(state.result(now()));
        }
        tracing::info!(
            tenant = %tenant,
            files = walked.files.len(),
            synced = tally.files_synced,
            skipped = tally.files_skipped,
            deleted = tally.files_deleted,
            cursor = ?state.cursor,
            done = state.done,
            "batch synced"
        );
        Ok(state)
    }

    /// The objects under `prefix` whose paths (after it) sort after `after` and up to
    /// `upto` (to the end without it), with their sizes.
    async fn list_range(
        &self,
        prefix: &str,
        after: Option<&str>,
        upto: Option<&str>,
    ) -> Result<BTreeMap<String, u64>, Error> {
        let mut found = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let mut request = self
                .s3
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix);
            if let Some(token) = &token {
                request = request.continuation_token(token);
            } else if let Some(after) = after {
                request = request.start_after(format!("{prefix}{after}"));
            }
            let page = request
                .send()
                .await
                .map_err(|e| OP.aws(&format!("listing s3://{}/{prefix}", self.bucket), e))?;
            for object in page.contents() {
                let Some(path) = object.key().and_then(|k| k.strip_prefix(prefix)) else {
                    continue;
                };
                if after.is_some_and(|a| path <= a) {
                    continue;
                }
                if upto.is_some_and(|u| path > u) {
                    return Ok(found);
                }
                found.insert(
                    path.to_owned(),
                    u64::try_from(object.size().unwrap_or(-1)).unwrap_or(u64::MAX),
                );
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated().unwrap_or(false) => token = Some(next.to_owned()),
                _ => return Ok(found),
            }
        }
    }

    /// Starts the run's next execution with the cursor and the tally. Its name follows
    /// from the run, so a retried step finds it started: AWS answers a second
    /// StartExecution of one name and input with the first execution, and
    /// ExecutionAlreadyExists once it has ended
    /// (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html).
    pub async fn continue_run(
        &self,
        state_machine_arn: &str,
        state: &SyncState,
    ) -> Result<Value, Error> {
        let generation = state.run.generation + 1;
        let name = continuation_name(&state.run.first_execution, generation);
        let input = json!({
            "tenantId": state.tenant_id,
            "delete": state.delete,
            "batchFiles": state.limits.batch_files,
            "batchBytes": state.limits.batch_bytes,
            "batchesPerExecution": state.limits.batches_per_execution,
            "resume": {
                "cursor": state.cursor,
                "tally": state.tally,
                "run": Run { generation, ..state.run.clone() },
            },
        });
        let started = match self
            .sfn
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(&name)
            .input(input.to_string())
            .send()
            .await
        {
            Ok(_) => true,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_execution_already_exists()) =>
            {
                false
            }
            Err(e) => {
                return Err(OP.aws(
                    &format!("starting execution {name} of {state_machine_arn}"),
                    e,
                ))
            }
        };
        tracing::info!(execution = %name, started, "sync continues");
        Ok(json!({
            "execution": name,
            "executionArn": format!(
                "{}:{name}",
                state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
            ),
        }))
    }
}

/// Syncs one file: skipped when its object records the same size and mtime, or the same
/// size and sha256; uploaded otherwise.
async fn sync_one(
    target: &Target,
    file: LocalFile,
    remote_size: Option<u64>,
) -> Result<Done, Error> {
    let key = format!("{}{}", target.prefix, file.path);
    let mut known_hash = None;
    if remote_size == Some(file.size) {
        let head = target
            .s3
            .head_object()
            .bucket(&target.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| OP.aws(&format!("reading s3://{}/{key}", target.bucket), e))?;
        let meta = head.metadata();
        let recorded = |k: &str| meta.and_then(|m| m.get(k)).map(String::as_str);
        let size_recorded = recorded(META_SIZE) == Some(file.size.to_string().as_str());
        if size_recorded && recorded(META_MTIME) == Some(file.mtime.as_str()) {
            return Ok(Done::Skipped);
        }
        if let Some(sha) = recorded(META_SHA256).filter(|_| size_recorded) {
            let (root, path, size) = (target.root.clone(), file.path.clone(), file.size);
            let hash = blocking(&file.path, move || {
                let mut f = open_inside(&root, &path)?;
                sha256_hex(&mut f, size)
            })
            .await?;
            if hash == sha {
                return Ok(Done::Skipped);
            }
            known_hash = Some(hash);
        }
    }
    if file.size >= MULTIPART_THRESHOLD {
        upload_multipart(target, &file, &key, known_hash).await?;
    } else {
        let (root, path, size) = (target.root.clone(), file.path.clone(), file.size);
        let (bytes, hash) = blocking(&file.path, move || {
            let f = open_inside(&root, &path)?;
            let mut bytes = vec![0u8; usize::try_from(size).unwrap_or(usize::MAX)];
            f.read_exact_at(&mut bytes, 0)?;
            let hash = super::walk::hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes));
            Ok((bytes, hash))
        })
        .await?;
        let mut put = target
            .s3
            .put_object()
            .bucket(&target.bucket)
            .key(&key)
            .content_length(file.size as i64)
            .set_content_type(content_type(&file.path).map(str::to_owned))
            .body(ByteStream::from(bytes));
        for (k, v) in metadata(file.size, &file.mtime, &hash) {
            put = put.metadata(k, v);
        }
        put.send()
            .await
            .map_err(|e| OP.aws(&format!("uploading s3://{}/{key}", target.bucket), e))?;
    }
    Ok(Done::Uploaded(file.size))
}

/// A large file as a multipart upload: hashed first (the hash goes into the metadata given
/// when the upload starts), then sent part by part; an upload that fails is aborted.
async fn upload_multipart(
    target: &Target,
    file: &LocalFile,
    key: &str,
    known_hash: Option<String>,
) -> Result<(), Error> {
    let (root, path, size) = (target.root.clone(), file.path.clone(), file.size);
    let opened = Arc::new(blocking(&file.path, move || open_inside(&root, &path)).await?);
    let hash = match known_hash {
        Some(hash) => hash,
        None => {
            let f = Arc::clone(&opened);
            blocking(&file.path, move || {
                let mut reader = f.as_ref().try_clone()?;
                std::io::Seek::seek(&mut reader, std::io::SeekFrom::Start(0))?;
                sha256_hex(&mut reader, size)
            })
            .await?
        }
    };
    let mut create = target
        .s3
        .create_multipart_upload()
        .bucket(&target.bucket)
        .key(key)
        .set_content_type(content_type(&file.path).map(str::to_owned));
    for (k, v) in metadata(file.size, &file.mtime, &hash) {
        create = create.metadata(k, v);
    }
    let created = create.send().await.map_err(|e| {
        OP.aws(
            &format!("starting the upload of s3://{}/{key}", target.bucket),
            e,
        )
    })?;
    let upload_id = created.upload_id().unwrap_or_default().to_owned();
    let sent = send_parts(target, file, key, &upload_id, &opened).await;
    match sent {
        Ok(parts) => {
            target
                .s3
                .complete_multipart_upload()
                .bucket(&target.bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| {
                    OP.aws(
                        &format!("completing the upload of s3://{}/{key}", target.bucket),
                        e,
                    )
                })?;
            Ok(())
        }
        Err(error) => {
            // The bucket's lifecycle rule removes an upload this leaves behind too.
            if let Err(e) = target
                .s3
                .abort_multipart_upload()
                .bucket(&target.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await
            {
                tracing::warn!(%key, error = %e, "the failed upload could not be aborted");
            }
            Err(error)
        }
    }
}

async fn send_parts(
    target: &Target,
    file: &LocalFile,
    key: &str,
    upload_id: &str,
    opened: &Arc<std::fs::File>,
) -> Result<Vec<CompletedPart>, Error> {
    let part = part_size(file.size);
    let mut parts = Vec::new();
    let mut offset = 0u64;
    let mut number = 1i32;
    while offset < file.size {
        let length = part.min(file.size - offset);
        let f = Arc::clone(opened);
        let bytes = blocking(&file.path, move || {
            let mut bytes = vec![0u8; length as usize];
            f.read_exact_at(&mut bytes, offset)?;
            Ok(bytes)
        })
        .await?;
        let sent = target
            .s3
            .upload_part()
            .bucket(&target.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .content_length(length as i64)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| {
                OP.aws(
                    &format!("uploading part {number} of s3://{}/{key}", target.bucket),
                    e,
                )
            })?;
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(sent.e_tag().map(str::to_owned))
                .build(),
        );
        offset += length;
        number += 1;
    }
    Ok(parts)
}

/// Runs file work on the blocking pool; an error names the file.
async fn blocking<T, F>(path: &str, work: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce() -> std::io::Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| OP.failed(format!("reading {path} stopped: {e}")))?
        .map_err(|e| Error::caused_by(OP.failed_kind(), format!("reading {path}: {e}"), e))
}
