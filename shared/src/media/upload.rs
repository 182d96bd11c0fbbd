//! `upload-media`: a presigned S3 PUT for one upload into the staging bucket, at
//! `incoming/<tenant>/<upload id>/<name>`, where `ingest-media` takes it from.
//!
//! The tenant id is checked before anything is asked of AWS (`InvalidTenant`); a name that
//! could never be taken (a path, nothing once cleaned) or a size over the limit is refused
//! at once with its named reason, and no URL is made. Everything else about the file is
//! judged by `ingest-media` on its content. The upload id is the invocation's request id,
//! so each URL's key is new; ingest-media takes each upload id once, so a replayed URL ends
//! in the first outcome and makes no second file.
//!
//! Presigning is computed here, with the function's own credentials: the URL allows that
//! one `PutObject`, which the function's role allows under `incoming/` only, for
//! `MEDIA_UPLOAD_URL_SECONDS` (300 by default, at most 300). The request must give the
//! file's `size` (1 byte to the limit): it is signed into the URL as `Content-Length`, so
//! S3 refuses a PUT of any other length (SigV4 signs every header in `X-Amz-SignedHeaders`,
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>). The bucket encrypts with its KMS key by
//! default, so the uploader sends no encryption header. Beside it, a GET of the upload's
//! outcome (`outcomes/<tenant>/<upload id>.json`, which ingest-media writes), which the
//! role allows under `outcomes/` only.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_s3::presigning::PresigningConfig;
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{check_size, clean_name, max_bytes, INCOMING_PREFIX};
use crate::config::{required, ConfigError};
use crate::error::{Error, ErrorKind, Operation};
use crate::runtime::{parse, Service};
use crate::tenant_id::TenantId;

/// How long a URL is good for unless set otherwise, and at most: five minutes bound how
/// long a leaked URL can be replayed.
pub const DEFAULT_URL_SECONDS: u64 = 300;
pub use super::OUTCOME_URL_SECONDS;

pub struct Uploads {
    pub s3: aws_sdk_s3::Client,
    /// The staging bucket (`MEDIA_STAGING_BUCKET`).
    pub bucket: String,
    /// The size limit (`MEDIA_MAX_BYTES`), told to the uploader and checked early.
    pub max_bytes: u64,
    /// How long a URL is good for (`MEDIA_UPLOAD_URL_SECONDS`).
    pub url_lifetime: Duration,
}

impl Service for Uploads {
    fn build(
        sdk: &SdkConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let seconds = match lookup("MEDIA_UPLOAD_URL_SECONDS").filter(|v| !v.trim().is_empty()) {
            None => DEFAULT_URL_SECONDS,
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|s| (1..=DEFAULT_URL_SECONDS).contains(s))
                .ok_or_else(|| ConfigError::Invalid {
                    name: "MEDIA_UPLOAD_URL_SECONDS",
                    reason: format!("{raw:?} is not 1 to {DEFAULT_URL_SECONDS} seconds"),
                })?,
        };
        Ok(Self {
            s3: super::s3_client(sdk),
            bucket: required(&lookup, "MEDIA_STAGING_BUCKET")?,
            max_bytes: max_bytes(lookup("MEDIA_MAX_BYTES").as_deref())?,
            url_lifetime: Duration::from_secs(seconds),
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UploadRequest {
    tenant_id: String,
    file_name: String,
    /// The file's size in bytes: checked now, and signed into the URL as its length.
    #[serde(default)]
    size: Option<u64>,
}

/// The `upload-media` handler: `{"tenantId", "fileName", "size"}` in; the URL, or the
/// named refusal (`refused`: `reason`, `message`) out.
pub async fn handler(event: LambdaEvent<Value>, uploads: &Uploads) -> Result<Value, Error> {
    let op = Operation::Backup;
    let request: UploadRequest = parse(op, "upload-media", event.payload)?;
    let tenant = TenantId::parse(&request.tenant_id)?;
    let size = match request.size {
        Some(size) if size > 0 => size,
        _ => {
            return Err(op.bad_request(
                "size: the file's size in bytes (1 or more) is required; it is signed into \
                 the URL as the PUT's Content-Length",
            ))
        }
    };
    let early = clean_name(&request.file_name).and_then(|_| check_size(size, uploads.max_bytes));
    if let Err(refusal) = early {
        return Ok(json!({
            "tenantId": tenant,
            "fileName": request.file_name,
            "refused": {"reason": refusal.reason(), "message": refusal.to_string()},
        }));
    }
    let upload_id = event.context.request_id.clone();
    let key = staging_key(&tenant, &upload_id, &request.file_name);
    let config = PresigningConfig::expires_in(uploads.url_lifetime)
        .map_err(|e| Error::new(ErrorKind::InvalidTenant, format!("the URL's lifetime: {e}")))?;
    let put = uploads
        .s3
        .put_object()
        .bucket(&uploads.bucket)
        .key(&key)
        .content_length(size as i64);
    let presigned = put.presigned(config.clone()).await.map_err(|e| {
        op.aws(
            &format!("presigning a PUT of s3://{}/{key}", uploads.bucket),
            e,
        )
    })?;
    // The outcome's GET, signed now: the uploader polls it until ingest-media has judged
    // the upload, with no S3 permission of its own.
    let outcome_key = super::outcome_key(&tenant, &upload_id);
    let outcome = uploads
        .s3
        .get_object()
        .bucket(&uploads.bucket)
        .key(&outcome_key)
        .presigned(
            PresigningConfig::expires_in(Duration::from_secs(OUTCOME_URL_SECONDS)).map_err(
                |e| Error::new(ErrorKind::InvalidTenant, format!("the URL's lifetime: {e}")),
            )?,
        )
        .await
        .map_err(|e| {
            op.aws(
                &format!("presigning a GET of s3://{}/{outcome_key}", uploads.bucket),
                e,
            )
        })?;
    let headers: serde_json::Map<String, Value> = presigned
        .headers()
        .map(|(k, v)| (k.to_owned(), Value::from(v)))
        .collect();
    Ok(json!({
        "tenantId": tenant,
        "fileName": request.file_name,
        "uploadId": upload_id,
        "bucket": uploads.bucket,
        "key": key,
        "method": presigned.method(),
        "url": presigned.uri(),
        "headers": headers,
        "outcomeKey": outcome_key,
        "outcomeUrl": outcome.uri(),
        "expiresInSeconds": uploads.url_lifetime.as_secs(),
        "maxBytes": uploads.max_bytes,
    }))
}

/// `incoming/<tenant>/<upload id>/<name>`.
pub fn staging_key(tenant: &TenantId, upload_id: &str, name: &str) -> String {
    format!("{INCOMING_PREFIX}{tenant}/{upload_id}/{name}")
}

#[cfg(test)]
mod tests {
    use lambda_runtime::Context;

    use super::*;

    fn uploads() -> Uploads {
        let config = aws_sdk_s3::Config::builder()
            .with_test_defaults_v2()
            .region(aws_sdk_s3::config::Region::new("af-south-1"))
            .build();
        Uploads {
            s3: aws_sdk_s3::Client::from_conf(config),
            bucket: "bbws-dev-media-staging-123456789012".into(),
            max_bytes: 1024,
            url_lifetime: Duration::from_secs(300),
        }
    }

    fn request(payload: Value) -> LambdaEvent<Value> {
        let mut context = Context::default();
        context.request_id = "7d0c6b1e-4f1a-4b8e-9a43-0c1f3e8b2d11".into();
        LambdaEvent::new(payload, context)
    }

    #[tokio::test]
    async fn a_url_is_signed_for_one_put_under_incoming() {
        let out = handler(
            request(json!({"tenantId": "tenant-1", "fileName": "cat.jpg", "size": 512})),
            &uploads(),
        )
        .await
        .unwrap();
        assert_eq!(
            out["key"],
            "incoming/tenant-1/7d0c6b1e-4f1a-4b8e-9a43-0c1f3e8b2d11/cat.jpg"
        );
        assert_eq!(out["uploadId"], "7d0c6b1e-4f1a-4b8e-9a43-0c1f3e8b2d11");
        assert_eq!(out["method"], "PUT");
        let url = out["url"].as_str().unwrap();
        assert!(
            url.contains("incoming/tenant-1/7d0c6b1e-4f1a-4b8e-9a43-0c1f3e8b2d11/cat.jpg"),
            "{url}"
        );
        assert!(
            url.contains("X-Amz-Expires=300")
                && url.contains("X-Amz-Signature=")
                && url.contains("content-length"),
            "{url}"
        );
        assert_eq!(out["headers"]["content-length"], "512");
        assert_eq!(
            out["outcomeKey"],
            "outcomes/tenant-1/7d0c6b1e-4f1a-4b8e-9a43-0c1f3e8b2d11.json"
        );
        let outcome = out["outcomeUrl"].as_str().unwrap();
        assert!(
            outcome.contains("outcomes/tenant-1/7d0c6b1e-4f1a-4b8e-9a43-0c1f3e8b2d11.json")
                && outcome.contains("X-Amz-Signature=")
                && outcome.contains("X-Amz-Expires=900"),
            "{outcome}"
        );
        assert_eq!(out["maxBytes"], 1024);
    }

    #[tokio::test]
    async fn an_invalid_tenant_is_an_error_before_anything_is_signed() {
        for tenant in ["Tenant_1", "../tenant-2", ""] {
            let error = handler(
                request(json!({"tenantId": tenant, "fileName": "cat.jpg", "size": 1})),
                &uploads(),
            )
            .await
            .unwrap_err();
            assert_eq!(error.name(), "InvalidTenant", "{tenant:?}");
        }
    }

    #[tokio::test]
    async fn names_and_sizes_that_could_never_be_taken_are_refused_without_a_url() {
        let cases = [
            (
                json!({"tenantId": "tenant-1", "fileName": "../x.jpg", "size": 1}),
                "BadName",
            ),
            (
                json!({"tenantId": "tenant-1", "fileName": "???", "size": 1}),
                "BadName",
            ),
            (
                json!({"tenantId": "tenant-1", "fileName": "a.jpg", "size": 4096}),
                "TooLarge",
            ),
        ];
        for (payload, reason) in cases {
            let out = handler(request(payload.clone()), &uploads()).await.unwrap();
            assert_eq!(out["refused"]["reason"], reason, "{payload}");
            assert!(out.get("url").is_none(), "{payload}");
        }
    }

    #[tokio::test]
    async fn unknown_fields_are_refused() {
        let error = handler(
            request(json!({"tenantId": "tenant-1", "fileName": "a.jpg", "bucket": "elsewhere"})),
            &uploads(),
        )
        .await
        .unwrap_err();
        assert_eq!(error.name(), "InvalidTenant");
    }

    #[tokio::test]
    async fn a_url_needs_the_size_it_signs() {
        for payload in [
            json!({"tenantId": "tenant-1", "fileName": "a.jpg"}),
            json!({"tenantId": "tenant-1", "fileName": "a.jpg", "size": 0}),
        ] {
            let error = handler(request(payload.clone()), &uploads())
                .await
                .unwrap_err();
            assert_eq!(error.name(), "InvalidTenant", "{payload}");
            assert!(error.to_string().contains("size"), "{error}");
        }
    }

    #[test]
    fn a_url_lives_five_minutes_at_most() {
        let lookup = |over: &'static str| {
            move |k: &str| match k {
                "MEDIA_STAGING_BUCKET" => Some("b".to_owned()),
                "MEDIA_UPLOAD_URL_SECONDS" => Some(over.to_owned()),
                _ => None,
            }
        };
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        assert!(Uploads::build(&sdk, &lookup("301")).is_err());
        assert_eq!(
            Uploads::build(&sdk, &lookup("")).unwrap().url_lifetime,
            Duration::from_secs(300)
        );
    }
}
