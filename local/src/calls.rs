//! The record of every AWS call the front serves or proxies, one JSON line per call in
//! `<state_dir>/calls.jsonl`, for the least-privilege check (`tests/iam/`): which function
//! made it, and what it asked, so each call can be weighed against the IAM policy the SAM
//! template gives that function.
//!
//! The caller is the SDK's app name (`app/<name>` in the user agent), which every function
//! sets to its `AWS_LAMBDA_FUNCTION_NAME`. A call with no app name (the seed script, the
//! tests, the CLI) is recorded with `"caller": null`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hyper::{HeaderMap, Method};
use serde_json::{json, Map, Value};

use crate::web::query_pairs;

/// The file the records go to, inside the state directory.
pub const FILE_NAME: &str = "calls.jsonl";

/// What the front knows of one call when it has answered it.
pub struct Call<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// The signing name of the service (`backup`, `elasticfilesystem`, `rds`, ...).
    pub service: &'a str,
    pub region: &'a str,
    /// The operation, where the front already resolved it (AWS Backup's routes).
    pub operation: Option<&'a str>,
    pub status: u16,
}

pub struct Recorder {
    path: PathBuf,
    file: Mutex<File>,
}

impl Recorder {
    /// Starts an empty record in `state_dir`.
    pub fn create(state_dir: &Path) -> std::io::Result<Self> {
        let path = state_dir.join(FILE_NAME);
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)?;
        Ok(Recorder {
            path,
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn record(&self, call: &Call) {
        let mut line = record(call).to_string();
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = file.write_all(line.as_bytes()) {
            tracing::warn!(error = %e, path = %self.path.display(), "a call could not be recorded");
        }
    }
}

/// One call as a JSON record: its caller, service, region, operation (where the request
/// names it: the `X-Amz-Target` of the JSON protocols, the `Action` of the query protocol,
/// or the front's own routes) and parameters (the JSON body or the form, and the query).
pub fn record(call: &Call) -> Value {
    let mut params = Map::new();
    if let Some(query) = call.query {
        for (k, v) in query_pairs(query) {
            params.insert(k, Value::String(v));
        }
    }
    let content_type = header(call.headers, "content-type").unwrap_or_default();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        for (k, v) in form_urlencoded::parse(call.body) {
            params.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    } else if let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(call.body) {
        params.extend(body);
    }
    let operation = call
        .operation
        .map(str::to_owned)
        .or_else(|| {
            header(call.headers, "x-amz-target")
                .and_then(|t| t.rsplit('.').next().map(str::to_owned))
        })
        .or_else(|| {
            params
                .get("Action")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    json!({
        "caller": caller(call.headers),
        "service": call.service,
        "region": call.region,
        "operation": operation,
        "method": call.method.as_str(),
        "path": call.path,
        "params": params,
        "status": call.status,
    })
}

/// The SDK's app name: the `app/<name>` token of `x-amz-user-agent` (or `user-agent`).
pub fn caller(headers: &HeaderMap) -> Option<String> {
    ["x-amz-user-agent", "user-agent"].iter().find_map(|h| {
        header(headers, h)?
            .split(' ')
            .find_map(|token| token.strip_prefix("app/"))
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
    })
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_caller_is_the_sdk_app_name() {
        let h = headers(&[(
            "x-amz-user-agent",
            "aws-sdk-rust/1.3.9 ua/2.1 api/backup/1.132.0 os/linux lang/rust/1.90.0 app/start-backup m/E",
        )]);
        assert_eq!(caller(&h).as_deref(), Some("start-backup"));
        assert_eq!(
            caller(&headers(&[("user-agent", "Boto3/1.35 md/Botocore")])),
            None
        );
        assert_eq!(caller(&HeaderMap::new()), None);
    }

    #[test]
    fn operations_come_from_the_target_the_form_or_the_route() {
        let json_call = headers(&[
            (
                "x-amz-target",
                "AmazonEC2ContainerServiceV20141113.UpdateService",
            ),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-user-agent", "aws-sdk-rust app/force-redeploy"),
        ]);
        let body = br#"{"cluster":"bbws","service":"tenant-a","forceNewDeployment":true}"#;
        let r = record(&Call {
            method: &Method::POST,
            path: "/",
            query: None,
            headers: &json_call,
            body,
            service: "ecs",
            region: "us-east-1",
            operation: None,
            status: 200,
        });
        assert_eq!(r["operation"], "UpdateService");
        assert_eq!(r["caller"], "force-redeploy");
        assert_eq!(r["params"]["service"], "tenant-a");

        let form = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        let r = record(&Call {
            method: &Method::POST,
            path: "/",
            query: None,
            headers: &form,
            body: b"Action=DescribeDBInstances&Version=2014-10-31&DBInstanceIdentifier=r-a%2Db",
            service: "rds",
            region: "us-east-1",
            operation: None,
            status: 200,
        });
        assert_eq!(r["operation"], "DescribeDBInstances");
        assert_eq!(r["params"]["DBInstanceIdentifier"], "r-a-b");
        assert_eq!(r["caller"], Value::Null);

        let r = record(&Call {
            method: &Method::GET,
            path: "/backup-vaults/v/recovery-points",
            query: Some("byResourceArn=arn%3Aaws%3Aelasticfilesystem%3A"),
            headers: &HeaderMap::new(),
            body: b"",
            service: "backup",
            region: "us-east-1",
            operation: Some("ListRecoveryPointsByBackupVault"),
            status: 200,
        });
        assert_eq!(r["operation"], "ListRecoveryPointsByBackupVault");
        assert_eq!(r["params"]["byResourceArn"], "arn:aws:elasticfilesystem:");
    }

    #[test]
    fn records_are_appended_one_line_each() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = Recorder::create(dir.path()).unwrap();
        let h = headers(&[("x-amz-target", "AWSEvents.PutEvents")]);
        for _ in 0..2 {
            recorder.record(&Call {
                method: &Method::POST,
                path: "/",
                query: None,
                headers: &h,
                body: b"{}",
                service: "events",
                region: "us-east-1",
                operation: None,
                status: 200,
            });
        }
        let text = std::fs::read_to_string(recorder.path()).unwrap();
        assert_eq!(text.lines().count(), 2);
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["operation"], "PutEvents");
        }
    }
}
