//! `ingest-media`: an upload that landed in the staging bucket, put into the tenant's
//! WordPress uploads or refused.
//!
//! S3 invokes it for each object created under `incoming/` (`incoming/<tenant>/<upload
//! id>/<name>`). With the file system mounted through its root access point (as
//! promote-restore mounts it, `EFS_MOUNT_PATH`), for each object it:
//!
//! 1. checks the tenant: a valid id (`InvalidTenant`) with an access point (`NotOnboarded`);
//! 2. takes each upload id once: when its outcome is already recorded (a replayed URL, a
//!    second delivery), the staging object is deleted and nothing else is done, so the
//!    uploader reads the first outcome and no second file is made;
//! 3. reads the object's size (`HeadObject`, not the event's) and refuses an upload over
//!    the limit before reading it (`TooLarge`); reads it (the same version, `If-Match` its
//!    ETag) in chunks, stopping past the limit, so no more than the limit is ever held;
//!    then the rest of [`super::inspect`] on the content;
//! 4. writes the file into `/<tenant>/uploads/YYYY/MM/` ([`super::store`]): the
//!    month of the upload, a free name, owned 33:33, mode 0644, whole or not at all, every
//!    step beneath the tenant's held directory ([`crate::held`]);
//! 5. deletes the staging object;
//! 6. announces `TenantMediaUploaded` (the MediaFile: `fileName`, `filePath`, `fileSize`,
//!    `mimeType`, `uploadedAt`, `tenantId`; and the `uploadId`), or for a refusal, having
//!    written nothing, deleted the staging object the same way, `TenantMediaRejected` with
//!    the named `reason` and a `message`;
//! 7. leaves the outcome (the detail-type and the detail) at
//!    `outcomes/<tenant>/<upload id>.json` in the staging bucket ([`super::outcome_key`]),
//!    where `bbws upload` polls for it, written once (`If-None-Match: *`).
//!
//! A second delivery of the same S3 event finds the staging object gone, or the outcome
//! recorded, and does nothing. Two deliveries at once are kept apart by the tenant's lease,
//! whose holder names the invocation: the second is TenantBusy, and its retry finds the
//! outcome.
//! A failure (AWS, the file system) fails the invocation, which Lambda retries; the staging
//! object stays until then, and the bucket expires it after a day.
//!
//! The owner is set with `fchown` as root. Over NFS the server, not the Lambda's kernel,
//! decides; through the root access point every request is made as uid 0, which may.

use std::path::PathBuf;

use aws_config::SdkConfig;
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde_json::{json, Value};

use super::store::{store, WORDPRESS_OWNER};
use super::{check_size, inspect, max_bytes, Refusal, INCOMING_PREFIX};
use crate::config::{required, Config, ConfigError};
use crate::error::{Error, ErrorKind, Operation};
use crate::events::put;
use crate::lease::{Claim, Leases};
use crate::runtime::Service;
use crate::tenant_id::TenantId;
use crate::tenants::list::is_onboarded;

/// The detail-types it announces.
pub const UPLOADED: &str = "TenantMediaUploaded";
pub const REJECTED: &str = "TenantMediaRejected";

/// Failures are those of putting content into a tenant's files, as a restore does.
const OP: Operation = Operation::Restore;

pub struct Ingest {
    pub config: Config,
    pub s3: aws_sdk_s3::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub events: aws_sdk_eventbridge::Client,
    /// The file system's root (`EFS_MOUNT_PATH`).
    pub mount: PathBuf,
    /// The staging bucket (`MEDIA_STAGING_BUCKET`): objects of any other are left alone.
    pub bucket: String,
    /// The size limit (`MEDIA_MAX_BYTES`, 64 MiB by default).
    pub max_bytes: u64,
    /// The owner of what is written (`MEDIA_OWNER`, `33:33` by default; `none` leaves the
    /// writer's, for a local stack run by a user who cannot give files away).
    pub owner: Option<(u32, u32)>,
    /// The tenant's lease, held while the upload is written: an upload never lands in a
    /// directory a restore is swapping.
    pub leases: Leases,
}

impl Service for Ingest {
    fn build(
        sdk: &SdkConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            config: Config::from_lookup(lookup)?,
            s3: super::s3_client(sdk),
            tagging: aws_sdk_resourcegroupstagging::Client::new(sdk),
            events: aws_sdk_eventbridge::Client::new(sdk),
            mount: required(&lookup, "EFS_MOUNT_PATH")?.into(),
            bucket: required(&lookup, "MEDIA_STAGING_BUCKET")?,
            max_bytes: max_bytes(lookup("MEDIA_MAX_BYTES").as_deref())?,
            owner: owner(lookup("MEDIA_OWNER").as_deref())?,
            leases: Leases::new(
                &crate::catalog::Catalog::from_lookup(sdk, lookup, 0)?,
                sdk.region().map(|r| r.as_ref()),
            ),
        })
    }
}

/// `MEDIA_OWNER`: `uid:gid`, or `none`.
pub fn owner(raw: Option<&str>) -> Result<Option<(u32, u32)>, ConfigError> {
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(Some(WORDPRESS_OWNER)),
        Some("none") => Ok(None),
        Some(v) => v
            .split_once(':')
            .and_then(|(u, g)| Some((u.parse().ok()?, g.parse().ok()?)))
            .map(Some)
            .ok_or_else(|| ConfigError::Invalid {
                name: "MEDIA_OWNER",
                reason: format!("{v:?} is not uid:gid or none"),
            }),
    }
}

#[derive(Deserialize)]
struct Notification {
    #[serde(rename = "Records", default)]
    records: Vec<Record>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    event_time: String,
    s3: Entity,
}

#[derive(Deserialize)]
struct Entity {
    bucket: Bucket,
    object: Object,
}

#[derive(Deserialize)]
struct Bucket {
    name: String,
}

#[derive(Deserialize)]
struct Object {
    key: String,
    #[serde(default)]
    size: Option<u64>,
}

/// An upload's staging key, read: `incoming/<tenant>/<upload id>/<name>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagingKey {
    pub tenant: String,
    pub upload_id: String,
    pub name: String,
}

/// The key as S3 events give it (URL-encoded, `+` for a space: S3's event message,
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html),
/// decoded.
pub fn decode_key(raw: &str) -> String {
    percent_encoding::percent_decode_str(&raw.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Reads a decoded staging key; a key of any other shape is a bad name.
pub fn parse_key(key: &str) -> Result<StagingKey, Refusal> {
    let bad = || Refusal::BadName {
        name: key.to_owned(),
        why: "is not incoming/<tenant>/<upload id>/<name>",
    };
    let rest = key.strip_prefix(INCOMING_PREFIX).ok_or_else(bad)?;
    let mut parts = rest.splitn(3, '/');
    let (Some(tenant), Some(upload_id), Some(name)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let id_ok = !upload_id.is_empty()
        && upload_id.len() <= 64
        && upload_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !id_ok {
        return Err(bad());
    }
    Ok(StagingKey {
        tenant: tenant.to_owned(),
        upload_id: upload_id.to_owned(),
        name: name.to_owned(),
    })
}

/// `YYYY-MM…` of an RFC 3339 time: the uploads' year and month.
fn year_month(time: &str) -> Option<(u16, u8)> {
    let year: u16 = time.get(0..4)?.parse().ok()?;
    let month: u8 = time.get(5..7)?.parse().ok()?;
    (time.get(4..5) == Some("-") && (1..=12).contains(&month)).then_some((year, month))
}

/// The `ingest-media` handler.
pub async fn handler(event: LambdaEvent<Value>, ingest: &Ingest) -> Result<Value, Error> {
    let invocation = event.context.request_id.clone();
    let notification: Notification = serde_json::from_value(event.payload).map_err(|e| {
        Error::new(
            ErrorKind::InvalidTenant,
            format!("ingest-media takes an S3 event notification: {e}"),
        )
    })?;
    let mut results = Vec::new();
    for record in &notification.records {
        results.push(ingest_record(ingest, record, &invocation).await?);
    }
    Ok(json!({ "results": results }))
}

async fn ingest_record(ingest: &Ingest, record: &Record, invocation: &str) -> Result<Value, Error> {
    let key = decode_key(&record.s3.object.key);
    if record.s3.bucket.name != ingest.bucket {
        tracing::warn!(bucket = %record.s3.bucket.name, %key, "not the staging bucket: left alone");
        return Ok(json!({ "key": key, "outcome": "ignored" }));
    }
    let upload = match parse_key(&key) {
        Ok(upload) => upload,
        Err(refusal) => {
            let none = StagingKey {
                tenant: String::new(),
                upload_id: String::new(),
                name: key.clone(),
            };
            return reject(ingest, record, &key, &none, record.s3.object.size, refusal).await;
        }
    };
    let size = record.s3.object.size;
    let tenant = match TenantId::parse(&upload.tenant) {
        Ok(tenant) => tenant,
        Err(e) => {
            let refusal = Refusal::InvalidTenant {
                tenant: upload.tenant.clone(),
                why: e.message().to_owned(),
            };
            return reject(ingest, record, &key, &upload, size, refusal).await;
        }
    };
    if !is_onboarded(&ingest.tagging, &tenant).await? {
        let refusal = Refusal::NotOnboarded {
            tenant: tenant.to_string(),
        };
        return reject(ingest, record, &key, &upload, size, refusal).await;
    }
    if outcome_recorded(ingest, &tenant, &upload.upload_id).await? {
        return replayed(ingest, &key).await;
    }
    // The object's own size, not the event's: refused over the limit before any byte is read.
    let head = match ingest
        .s3
        .head_object()
        .bucket(&ingest.bucket)
        .key(&key)
        .send()
        .await
    {
        Ok(head) => head,
        Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => {
            tracing::info!(%key, "the staging object is gone: already ingested");
            return Ok(json!({ "key": key, "outcome": "gone" }));
        }
        Err(e) => return Err(OP.aws(&format!("reading s3://{}/{key}", ingest.bucket), e)),
    };
    let size = head.content_length().map(|n| n.max(0) as u64).or(size);
    if let Some(Err(refusal)) = size.map(|s| check_size(s, ingest.max_bytes)) {
        return reject(ingest, record, &key, &upload, size, refusal).await;
    }

    let mut get = ingest.s3.get_object().bucket(&ingest.bucket).key(&key);
    if let Some(etag) = head.e_tag() {
        // The object judged is the one measured: a PUT in between fails this read.
        get = get.if_match(etag);
    }
    let object = match get.send().await {
        Ok(object) => object,
        Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
            tracing::info!(%key, "the staging object is gone: already ingested");
            return Ok(json!({ "key": key, "outcome": "gone" }));
        }
        Err(e) => return Err(OP.aws(&format!("reading s3://{}/{key}", ingest.bucket), e)),
    };
    let bytes = match read_capped(object.body, ingest.max_bytes, size).await {
        Ok(bytes) => bytes,
        Err(Capped::Over(read)) => {
            let refusal = Refusal::TooLarge {
                size: read,
                limit: ingest.max_bytes,
            };
            return reject(ingest, record, &key, &upload, Some(read), refusal).await;
        }
        Err(Capped::Failed(e)) => {
            return Err(Error::caused_by(
                ErrorKind::Transient,
                format!("reading s3://{}/{key}: {e}", ingest.bucket),
                e,
            ))
        }
    };
    let size = bytes.len() as u64;
    let accepted = match inspect(&upload.name, &bytes, ingest.max_bytes) {
        Ok(accepted) => accepted,
        Err(refusal) => return reject(ingest, record, &key, &upload, Some(size), refusal).await,
    };
    let when = year_month(&record.event_time).ok_or_else(|| {
        OP.failed(format!(
            "the event's time {:?} is not an RFC 3339 time",
            record.event_time
        ))
    })?;

    // One operation per tenant: a restore, drill or sync holding the tenant makes this
    // TenantBusy with nothing written; the staging object stays and Lambda retries the event.
    // The invocation in the holder: a second delivery of the same upload at once is
    // TenantBusy, never a second writer.
    let holder = format!("media-ingest:{}:{invocation}", upload.upload_id);
    let claim = Claim {
        tenant: &tenant,
        holder: &holder,
        operation: "media ingest",
        seconds: INGEST_LEASE_SECONDS,
        request_key: "",
        generation: "",
    };
    ingest.leases.acquire(OP, &claim).await?;
    // Asked again under the lease: a delivery that finished meanwhile recorded its outcome.
    let recorded = outcome_recorded(ingest, &tenant, &upload.upload_id).await;
    if !matches!(recorded, Ok(false)) {
        ingest.leases.release(OP, &tenant, &holder).await?;
        recorded?;
        return replayed(ingest, &key).await;
    }
    let stored = write_upload(ingest, &tenant, &upload, accepted, when).await;
    ingest.leases.release(OP, &tenant, &holder).await?;
    let (stored, accepted) = stored?;
    delete_staging(ingest, &key).await?;
    let file_size = stored.1;
    let stored = stored.0;

    let detail = json!({
        "tenantId": tenant,
        "fileName": stored.file_name,
        "filePath": stored.file_path,
        "fileSize": file_size,
        "mimeType": accepted.media_type,
        "uploadedAt": record.event_time,
        "uploadId": upload.upload_id,
        "originalName": upload.name,
        "metadataSegmentsRemoved": accepted.metadata_segments_removed,
    });
    put(
        &ingest.events,
        OP,
        &ingest.config.event_bus_name,
        UPLOADED,
        &detail,
    )
    .await?;
    record_outcome(ingest, &upload, UPLOADED, &detail).await?;
    tracing::info!(%detail, "upload ingested");
    Ok(json!({ "key": key, "outcome": "uploaded", "detail": detail }))
}

/// How long an ingest holds the tenant at most: the function's own timeout.
const INGEST_LEASE_SECONDS: i64 = 120;

/// What the event says of an accepted upload once it is written.
struct Written {
    media_type: &'static str,
    metadata_segments_removed: usize,
}

/// Writes an accepted upload into the tenant's uploads: what was stored and its size.
async fn write_upload(
    ingest: &Ingest,
    tenant: &TenantId,
    upload: &StagingKey,
    accepted: super::Accepted<'_>,
    when: (u16, u8),
) -> Result<((super::store::Stored, u64), Written), Error> {
    let written = Written {
        media_type: accepted.media_type.mime_type(),
        metadata_segments_removed: accepted.metadata_segments_removed,
    };
    let mount = ingest.mount.clone();
    let (name, content) = (accepted.file_name.clone(), accepted.content.into_owned());
    let (owner, upload_id, for_tenant) = (ingest.owner, upload.upload_id.clone(), tenant.clone());
    let file_size = content.len() as u64;
    let stored = tokio::task::spawn_blocking(move || {
        store(
            &mount,
            &for_tenant,
            when,
            &name,
            &content,
            owner,
            &upload_id,
        )
    })
    .await
    .map_err(|e| OP.failed(format!("writing the upload stopped: {e}")))?
    .map_err(|e| {
        Error::caused_by(
            OP.failed_kind(),
            format!(
                "writing {} into tenant {tenant}'s uploads: {e}",
                accepted.file_name
            ),
            e,
        )
    })?;
    Ok(((stored, file_size), written))
}

/// A refused upload: nothing written, the staging object deleted, the refusal announced.
async fn reject(
    ingest: &Ingest,
    record: &Record,
    key: &str,
    upload: &StagingKey,
    size: Option<u64>,
    refusal: Refusal,
) -> Result<Value, Error> {
    delete_staging(ingest, key).await?;
    let detail = json!({
        "tenantId": upload.tenant,
        "uploadId": upload.upload_id,
        "fileName": upload.name,
        "fileSize": size,
        "reason": refusal.reason(),
        "message": refusal.to_string(),
        "rejectedAt": record.event_time,
    });
    put(
        &ingest.events,
        OP,
        &ingest.config.event_bus_name,
        REJECTED,
        &detail,
    )
    .await?;
    record_outcome(ingest, upload, REJECTED, &detail).await?;
    tracing::info!(%detail, "upload refused");
    Ok(json!({ "key": key, "outcome": "rejected", "detail": detail }))
}

/// Leaves the outcome where the uploader polls for it; an upload whose key names no valid
/// tenant or upload id had no URL from upload-media, so no one waits for it.
async fn record_outcome(
    ingest: &Ingest,
    upload: &StagingKey,
    detail_type: &str,
    detail: &Value,
) -> Result<(), Error> {
    let Ok(tenant) = TenantId::parse(&upload.tenant) else {
        return Ok(());
    };
    if upload.upload_id.is_empty() {
        return Ok(());
    }
    let key = super::outcome_key(&tenant, &upload.upload_id);
    let body = json!({ "detailType": detail_type, "detail": detail }).to_string();
    match ingest
        .s3
        .put_object()
        .bucket(&ingest.bucket)
        .key(&key)
        .content_type("application/json")
        // Written once: the first outcome of an upload id is the one the uploader reads.
        .if_none_match("*")
        .body(body.into_bytes().into())
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => {
            tracing::info!(%key, "the outcome was recorded already: kept");
            Ok(())
        }
        Err(e) => Err(OP.aws(&format!("writing s3://{}/{key}", ingest.bucket), e)),
    }
}

/// Whether the upload id's outcome is recorded: it was judged already.
async fn outcome_recorded(
    ingest: &Ingest,
    tenant: &TenantId,
    upload_id: &str,
) -> Result<bool, Error> {
    let key = super::outcome_key(tenant, upload_id);
    match ingest
        .s3
        .head_object()
        .bucket(&ingest.bucket)
        .key(&key)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
        Err(e) => Err(OP.aws(&format!("reading s3://{}/{key}", ingest.bucket), e)),
    }
}

/// A staging object whose upload id was judged already: deleted, nothing else done.
async fn replayed(ingest: &Ingest, key: &str) -> Result<Value, Error> {
    delete_staging(ingest, key).await?;
    tracing::info!(%key, "an upload id ingested already: its first outcome stands");
    Ok(json!({ "key": key, "outcome": "replayed" }))
}

/// Why a capped read stopped.
enum Capped {
    /// More than the limit: how much was read when it stopped.
    Over(u64),
    Failed(aws_smithy_types::byte_stream::error::Error),
}

/// The body, read in chunks and never past `limit` bytes.
async fn read_capped(
    mut body: aws_sdk_s3::primitives::ByteStream,
    limit: u64,
    expected: Option<u64>,
) -> Result<Vec<u8>, Capped> {
    let room = expected.unwrap_or(0).min(limit);
    let mut bytes = Vec::with_capacity(usize::try_from(room).unwrap_or(0));
    while let Some(chunk) = body.try_next().await.map_err(Capped::Failed)? {
        let read = bytes.len() as u64 + chunk.len() as u64;
        if read > limit {
            return Err(Capped::Over(read));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

async fn delete_staging(ingest: &Ingest, key: &str) -> Result<(), Error> {
    ingest
        .s3
        .delete_object()
        .bucket(&ingest.bucket)
        .key(key)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| OP.aws(&format!("deleting s3://{}/{key}", ingest.bucket), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_decoded_as_s3_events_encode_them() {
        assert_eq!(
            decode_key("incoming/t/u/My+Photo%281%29.jpg"),
            "incoming/t/u/My Photo(1).jpg"
        );
        assert_eq!(
            decode_key("incoming/t/u/caf%C3%A9.jpg"),
            "incoming/t/u/café.jpg"
        );
        assert_eq!(decode_key("incoming/t/u/a%2Bb.jpg"), "incoming/t/u/a+b.jpg");
    }

    #[test]
    fn staging_keys_are_read_and_other_shapes_refused() {
        assert_eq!(
            parse_key("incoming/tenant-1/0f8e-11/My Photo.jpg").unwrap(),
            StagingKey {
                tenant: "tenant-1".into(),
                upload_id: "0f8e-11".into(),
                name: "My Photo.jpg".into()
            }
        );
        // A name holding a slash stays one name, which cleaning then refuses as a path.
        assert_eq!(parse_key("incoming/t/u/../x.jpg").unwrap().name, "../x.jpg");
        for key in [
            "other/t/u/a.jpg",
            "incoming/t/a.jpg",
            "incoming/t//a.jpg",
            "incoming/t/u.v/a.jpg",
        ] {
            assert_eq!(parse_key(key).unwrap_err().reason(), "BadName", "{key}");
        }
    }

    #[test]
    fn settings_have_their_defaults_and_refuse_nonsense() {
        assert_eq!(max_bytes(None).unwrap(), 64 * 1024 * 1024);
        assert_eq!(max_bytes(Some("1024")).unwrap(), 1024);
        assert!(max_bytes(Some("0")).is_err() && max_bytes(Some("lots")).is_err());
        assert_eq!(owner(None).unwrap(), Some((33, 33)));
        assert_eq!(owner(Some("none")).unwrap(), None);
        assert_eq!(owner(Some("1000:1000")).unwrap(), Some((1000, 1000)));
        assert!(owner(Some("www-data")).is_err());
    }

    #[test]
    fn the_month_comes_from_the_event_time() {
        assert_eq!(year_month("2026-11-26T13:45:00.123Z"), Some((2026, 11)));
        assert_eq!(year_month("2026-13-01T00:00:00Z"), None);
        assert_eq!(year_month("soon"), None);
    }

    #[tokio::test]
    async fn a_capped_read_stops_past_the_limit() {
        let body = || aws_sdk_s3::primitives::ByteStream::from(vec![7u8; 100]);
        assert_eq!(
            read_capped(body(), 100, Some(100))
                .await
                .ok()
                .unwrap()
                .len(),
            100
        );
        assert!(matches!(
            read_capped(body(), 99, None).await,
            Err(Capped::Over(100))
        ));
    }
}
