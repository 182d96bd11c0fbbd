//! `bbws upload`: media into a tenant's WordPress uploads, one file at a time, through the
//! service's own path: upload-media presigns a PUT into the staging bucket (and a GET of the
//! upload's outcome), the file goes up with progress, and the CLI polls the outcome that
//! ingest-media leaves at `outcomes/<tenant>/<upload id>.json` until it is there.
//!
//! Why poll an object rather than wait for the event: the outcome events go to EventBridge,
//! which an operator's CLI cannot subscribe to without a queue and a rule of its own per
//! run; the outcome object is written by ingest-media beside the event, read through a URL
//! upload-media signed for that one object (so the operator needs no S3 permission, and sees
//! only their own upload's outcome), and expires with the staging bucket's objects after a
//! day.

use std::convert::Infallible;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use aws_sdk_lambda::primitives::Blob;
use bbws::TenantId;
use http_body_util::{BodyExt, Empty};
use hyper::body::{Body, Bytes, Frame, SizeHint};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

use crate::output::Term;

/// The exit code when an upload was refused (by upload-media or by ingest-media).
pub const REFUSED_EXIT_CODE: i32 = 46;
/// Files at least this large show their progress.
const PROGRESS_FROM_BYTES: u64 = 1024 * 1024;
/// The piece of a file handed to the connection at a time.
const CHUNK: usize = 256 * 1024;

/// How one file's upload ended.
#[derive(Debug, PartialEq)]
pub enum Ended {
    Uploaded(Value),
    Refused { reason: String, message: String },
}

/// Uploads `files` for `tenant`, each to its end; the exit code is 0 when every one was
/// taken, [`REFUSED_EXIT_CODE`] when any was refused.
pub async fn upload_all(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    tenant: &TenantId,
    files: &[std::path::PathBuf],
    wait: Duration,
    poll: Duration,
    term: &mut Term,
) -> anyhow::Result<i32> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .context("the system's root certificates")?
        .https_or_http()
        .enable_http1()
        .build();
    let http: Client<_, Progress> = Client::builder(TokioExecutor::new()).build(https.clone());
    let reader: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let mut results = Vec::new();
    let mut refused = 0;
    for file in files {
        let ended = upload_one(
            lambda, function, tenant, file, &http, &reader, wait, poll, term,
        )
        .await
        .with_context(|| format!("uploading {}", file.display()))?;
        let shown = file.display().to_string();
        let result = match &ended {
            Ended::Uploaded(detail) => {
                if !term.json {
                    term.line(format!(
                        "✅ {shown}: {} ({} bytes, {})",
                        detail["filePath"].as_str().unwrap_or("?"),
                        detail["fileSize"],
                        detail["mimeType"].as_str().unwrap_or("?")
                    ));
                }
                json!({"file": shown, "outcome": "uploaded", "detail": detail})
            }
            Ended::Refused { reason, message } => {
                refused += 1;
                if !term.json {
                    term.note(format!("❌ {shown}: refused, {reason}: {message}"));
                }
                json!({"file": shown, "outcome": "rejected", "reason": reason, "message": message})
            }
        };
        results.push(result);
    }
    if term.json {
        term.json_line(&json!({
            "uploaded": results.len() - refused,
            "rejected": refused,
            "uploads": results,
        }));
    }
    Ok(if refused > 0 { REFUSED_EXIT_CODE } else { 0 })
}

#[allow(clippy::too_many_arguments)]
async fn upload_one<C>(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    tenant: &TenantId,
    file: &Path,
    http: &Client<C, Progress>,
    reader: &Client<C, Empty<Bytes>>,
    wait: Duration,
    poll: Duration,
    term: &mut Term,
) -> anyhow::Result<Ended>
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let size = bytes.len() as u64;
    let request = json!({"tenantId": tenant.as_str(), "fileName": name, "size": size});
    let answer = lambda
        .invoke()
        .function_name(function)
        .payload(Blob::new(request.to_string()))
        .send()
        .await
        .with_context(|| format!("invoking {function}"))?;
    // The outcome URL is signed now and lives OUTCOME_URL_SECONDS: the wait ends before it
    // does (a little early, for the clocks), so the last read is never refused as expired.
    let url_ends =
        Instant::now() + Duration::from_secs(bbws::media::OUTCOME_URL_SECONDS.saturating_sub(15));
    let payload: Value = answer
        .payload()
        .map(|p| serde_json::from_slice(p.as_ref()).unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    if let Some(kind) = answer.function_error() {
        bail!(
            "{function} failed ({}): {}",
            payload["errorType"].as_str().unwrap_or(kind),
            payload["errorMessage"].as_str().unwrap_or("")
        );
    }
    if let Some(refused) = payload.get("refused") {
        return Ok(refusal(refused));
    }
    let url = payload["url"].as_str().context("no URL in the answer")?;
    let outcome_url = payload["outcomeUrl"]
        .as_str()
        .context("no outcome URL in the answer")?;

    let mut put = Request::builder().method(Method::PUT).uri(url);
    for (k, v) in payload["headers"].as_object().into_iter().flatten() {
        if let Some(v) = v.as_str() {
            put = put.header(k.as_str(), v);
        }
    }
    let show = size >= PROGRESS_FROM_BYTES;
    let body = Progress::new(Bytes::from(bytes), show.then(|| (name.clone(), term.tty)));
    let response = http.request(put.body(body)?).await.context("the PUT")?;
    if show && term.tty {
        eprintln!();
    }
    let status = response.status();
    if !status.is_success() {
        let text = response.into_body().collect().await?.to_bytes();
        bail!(
            "the PUT was answered {status}: {}",
            String::from_utf8_lossy(&text)
        );
    }
    if !term.json {
        term.note(format!("{name}: uploaded, waiting for it to be judged…"));
    }

    let deadline = (Instant::now() + wait).min(url_ends);
    loop {
        let got = reader
            .request(Request::get(outcome_url).body(Empty::new())?)
            .await
            .context("reading the outcome")?;
        let status = got.status();
        let body = got.into_body().collect().await?.to_bytes();
        if status == StatusCode::OK {
            let outcome: Value = serde_json::from_slice(&body).context("the outcome")?;
            return Ok(match outcome["detailType"].as_str() {
                Some("TenantMediaUploaded") => Ended::Uploaded(outcome["detail"].clone()),
                _ => refusal(&outcome["detail"]),
            });
        }
        // Not there yet: S3 answers 404, or 403 to a reader who may not list the bucket.
        if !matches!(status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN) {
            bail!(
                "reading the outcome was answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "no outcome after {}s (upload id {}): see the TenantMediaUploaded and TenantMediaRejected events",
                wait.as_secs(),
                payload["uploadId"].as_str().unwrap_or("?")
            );
        }
        tokio::time::sleep(poll).await;
    }
}

fn refusal(detail: &Value) -> Ended {
    Ended::Refused {
        reason: detail["reason"].as_str().unwrap_or("Refused").to_owned(),
        message: detail["message"].as_str().unwrap_or("").to_owned(),
    }
}

/// A file's bytes as a request body, handed over a chunk at a time, with its progress on
/// stderr (rewritten in place on a terminal, every quarter in a log).
pub struct Progress {
    data: Bytes,
    sent: usize,
    shown: Option<(String, bool)>,
    last_quarter: usize,
}

impl Progress {
    fn new(data: Bytes, shown: Option<(String, bool)>) -> Self {
        Self {
            data,
            sent: 0,
            shown,
            last_quarter: 0,
        }
    }

    fn report(&mut self) {
        let Some((name, tty)) = &self.shown else {
            return;
        };
        let total = self.data.len().max(1);
        let percent = self.sent * 100 / total;
        if *tty {
            eprint!("\r⬆ {name}: {percent}% of {} bytes", self.data.len());
        } else if percent / 25 > self.last_quarter {
            self.last_quarter = percent / 25;
            eprintln!("{name}: {percent}% of {} bytes sent", self.data.len());
        }
    }
}

impl Body for Progress {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.sent >= this.data.len() {
            return Poll::Ready(None);
        }
        let end = (this.sent + CHUNK).min(this.data.len());
        let chunk = this.data.slice(this.sent..end);
        this.sent = end;
        this.report();
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.sent >= self.data.len()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact((self.data.len() - self.sent) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_goes_in_chunks_and_whole() {
        let data: Vec<u8> = (0..(CHUNK * 2 + 10)).map(|i| i as u8).collect();
        let body = Progress::new(Bytes::from(data.clone()), None);
        assert_eq!(body.size_hint().exact(), Some(data.len() as u64));
        let collected = body.collect().await.unwrap().to_bytes();
        assert_eq!(collected.as_ref(), data.as_slice());
    }

    #[test]
    fn a_refusal_keeps_its_named_reason() {
        assert_eq!(
            refusal(&json!({"reason": "ScriptInside", "message": "the content holds script"})),
            Ended::Refused {
                reason: "ScriptInside".into(),
                message: "the content holds script".into()
            }
        );
    }
}
