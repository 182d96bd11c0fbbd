//! A front server per test, on a free loopback port with its own temporary directories, and
//! the clients to talk to it.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_backup::config::retry::RetryConfig;
use aws_sdk_backup::config::{BehaviorVersion, Credentials, Region};
use bbws_local::{Config, JobDurations};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::TcpListener;

pub const ACCOUNT: &str = "123456789012";
pub const VAULT: &str = "bbws-dev-backup-vault";
pub const DR_VAULT: &str = "bbws-dr-vault";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/bbws-dev-backup";
pub const FS_ID: &str = "fs-0123456789abcdef0";

pub struct Local {
    pub endpoint: String,
    pub efs_root: PathBuf,
    pub state_dir: PathBuf,
    pub backup: aws_sdk_backup::Client,
    _dir: tempfile::TempDir,
    _task: tokio::task::JoinHandle<()>,
}

/// Starts a front server whose jobs each take `seconds`.
pub async fn start(seconds: f64) -> Local {
    start_with(seconds, |_| {}).await
}

pub async fn start_with(seconds: f64, adjust: impl FnOnce(&mut Config)) -> Local {
    let dir = tempfile::tempdir().unwrap();
    let efs_root = dir.path().join("efs");
    let state_dir = dir.path().join("state");
    let mut config = Config::local(&state_dir, &efs_root);
    let d = Duration::from_secs_f64(seconds);
    config.durations = JobDurations {
        backup: d,
        copy: d,
        restore: d,
    };
    adjust(&mut config);
    let (addr, task) = bbws_local::serve(config).await.unwrap();
    let endpoint = format!("http://{addr}");
    Local {
        backup: backup_client(&endpoint, "us-east-1", true),
        endpoint,
        efs_root,
        state_dir,
        _dir: dir,
        _task: task,
    }
}

/// The real SDK client against the front server, with static test credentials.
pub fn backup_client(endpoint: &str, region: &str, retries: bool) -> aws_sdk_backup::Client {
    let retry = if retries {
        RetryConfig::standard()
    } else {
        RetryConfig::disabled()
    };
    let config = aws_sdk_backup::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(bbws::runtime::https_client())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(endpoint)
        .retry_config(retry)
        .build();
    aws_sdk_backup::Client::from_conf(config)
}

impl Local {
    pub fn client_in(&self, region: &str) -> aws_sdk_backup::Client {
        backup_client(&self.endpoint, region, true)
    }

    /// The platform vault in us-east-1 and the DR vault in eu-west-1.
    pub async fn create_vaults(&self) {
        self.backup
            .create_backup_vault()
            .backup_vault_name(VAULT)
            .send()
            .await
            .unwrap();
        self.client_in("eu-west-1")
            .create_backup_vault()
            .backup_vault_name(DR_VAULT)
            .send()
            .await
            .unwrap();
    }

    /// The directory of file system `fs_id`, with a tenant's files in it.
    pub fn write_tenant(&self, fs_id: &str, tenant: &str) -> PathBuf {
        let root = self.efs_root.join(fs_id).join(tenant);
        std::fs::create_dir_all(root.join("uploads")).unwrap();
        std::fs::write(root.join("index.php"), b"<?php // Silence is golden.\n").unwrap();
        std::fs::write(root.join("uploads/photo.jpg"), [0u8, 1, 2, 255, 254]).unwrap();
        root
    }

    pub async fn admin(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let (status, _, bytes) = http(
            method,
            &format!("{}{path}", self.endpoint),
            HeaderMap::new(),
            body,
        )
        .await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

/// A loopback URL where nothing listens: a port that was free a moment ago.
pub fn closed_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

pub fn efs_arn(fs_id: &str) -> String {
    format!("arn:aws:elasticfilesystem:us-east-1:{ACCOUNT}:file-system/{fs_id}")
}

pub fn dr_vault_arn() -> String {
    format!("arn:aws:backup:eu-west-1:{ACCOUNT}:backup-vault:{DR_VAULT}")
}

/// Starts a backup job of `resource_arn` into the platform vault.
pub async fn start_backup(
    client: &aws_sdk_backup::Client,
    resource_arn: &str,
    token: Option<&str>,
) -> aws_sdk_backup::operation::start_backup_job::StartBackupJobOutput {
    client
        .start_backup_job()
        .backup_vault_name(VAULT)
        .resource_arn(resource_arn)
        .iam_role_arn(ROLE)
        .set_idempotency_token(token.map(str::to_owned))
        .recovery_point_tags("bbws:tenant-id", "tenant-1")
        .recovery_point_tags("bbws:component", "efs")
        .send()
        .await
        .unwrap()
}

/// Polls `probe` until it gives a value, for at most 10 seconds.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(v) = probe().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

const ENDED: [&str; 5] = ["COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL"];

pub async fn backup_job_ended(
    client: &aws_sdk_backup::Client,
    id: &str,
) -> aws_sdk_backup::operation::describe_backup_job::DescribeBackupJobOutput {
    eventually("the backup job to end", || async {
        let out = client
            .describe_backup_job()
            .backup_job_id(id)
            .send()
            .await
            .unwrap();
        let state = out
            .state()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        ENDED.contains(&state.as_str()).then_some(out)
    })
    .await
}

pub async fn copy_job_ended(
    client: &aws_sdk_backup::Client,
    id: &str,
) -> aws_sdk_backup::types::CopyJob {
    eventually("the copy job to end", || async {
        let out = client
            .describe_copy_job()
            .copy_job_id(id)
            .send()
            .await
            .unwrap();
        let job = out.copy_job().cloned().unwrap();
        let state = job
            .state()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        ENDED.contains(&state.as_str()).then_some(job)
    })
    .await
}

pub async fn restore_job_ended(
    client: &aws_sdk_backup::Client,
    id: &str,
) -> aws_sdk_backup::operation::describe_restore_job::DescribeRestoreJobOutput {
    eventually("the restore job to end", || async {
        let out = client
            .describe_restore_job()
            .restore_job_id(id)
            .send()
            .await
            .unwrap();
        let status = out
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        ENDED.contains(&status.as_str()).then_some(out)
    })
    .await
}

/// One plain HTTP request; returns status, headers and body.
pub async fn http(
    method: Method,
    url: &str,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, HeaderMap, Bytes) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = Request::new(Full::new(Bytes::from(body)));
    *req.method_mut() = method;
    *req.uri_mut() = url.parse().unwrap();
    *req.headers_mut() = headers;
    let resp = client.request(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

/// What a fake upstream saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: Method,
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A fake upstream on a free loopback port that records each request and answers every one
/// with `status`, `headers` and `body`.
pub async fn fake_upstream(
    status: u16,
    headers: Vec<(&'static str, &'static str)>,
    body: &'static str,
) -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
    fake_server(move |_| {
        let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        *resp.status_mut() = StatusCode::from_u16(status).unwrap();
        for (k, v) in &headers {
            resp.headers_mut().insert(*k, v.parse().unwrap());
        }
        resp
    })
    .await
}

/// A fake server on a free loopback port that records each request and answers it with
/// `answer(request)`.
pub async fn fake_server(
    answer: impl Fn(&Seen) -> Response<Full<Bytes>> + Send + Sync + 'static,
) -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            let answer = answer.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    let answer = answer.clone();
                    async move {
                        let (parts, b) = req.into_parts();
                        let seen = Seen {
                            method: parts.method,
                            uri: parts.uri.to_string(),
                            headers: parts.headers,
                            body: b.collect().await.unwrap().to_bytes(),
                        };
                        let resp = answer(&seen);
                        log.lock().unwrap().push(seen);
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, seen)
}
