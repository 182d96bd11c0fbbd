//! The one port: routes each request to the admin API, Lambda, the AWS Backup stand-in or
//! moto.

use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::json;

use crate::backup;
use crate::calls::{self, Recorder};
use crate::config::Config;
use crate::elasticache::{self, Rbac};
use crate::global_tables::GlobalTables;
use crate::proxy::{bad_gateway, Upstream};
use crate::web::{self, Reply};
use crate::{access_points, admin, lambda, presigned, sigv4, snapshots};

/// The region of a Backup request whose credential scope names none.
const DEFAULT_REGION: &str = "us-east-1";

pub struct Front {
    moto: Upstream,
    lambda: Upstream,
    /// The functions of another region's deployment, by region.
    regional_lambdas: Vec<(String, Upstream)>,
    global_tables: GlobalTables,
    backup: Arc<backup::Service>,
    rbac: Rbac,
    calls: Recorder,
    /// The local credentials' secret key, to check presigned S3 requests' signatures as S3
    /// does ([`presigned`]); without one they are not checked.
    secret: Option<String>,
}

impl Front {
    pub fn new(config: &Config) -> std::io::Result<Self> {
        Ok(Front {
            moto: Upstream::new(&config.moto)?,
            lambda: Upstream::new(&config.lambda)?,
            regional_lambdas: config
                .regional_lambdas
                .iter()
                .map(|(region, url)| Ok((region.clone(), Upstream::new(url)?)))
                .collect::<std::io::Result<_>>()?,
            global_tables: GlobalTables::new(config.global_tables.clone(), &config.moto)?,
            backup: backup::Service::new(config)?,
            rbac: Rbac::new(config.cache_dir.clone()),
            calls: Recorder::create(&config.state_dir)?,
            secret: std::env::var("AWS_SECRET_ACCESS_KEY").ok(),
        })
    }

    /// Serves one request. `Err` when a `lose-response` fault takes the answer: the call was
    /// carried out, and hyper closes the connection without answering.
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Result<Reply, LostResponse> {
        let (parts, body) = req.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                return Ok(web::json(
                    StatusCode::BAD_REQUEST,
                    &json!({"message": format!("the request body could not be read: {e}")}),
                ))
            }
        };
        let path = parts.uri.path();
        let query = parts.uri.query();
        let scope = sigv4::credential_scope(&parts.headers, query);
        let operation = match scope.as_ref().map(|s| s.service.as_str()) {
            Some(backup::SIGNING_NAME) => backup::Service::operation_name(&parts.method, path),
            Some("elasticfilesystem") => access_points::operation(&parts.method, path),
            Some("states") => states_operation(&parts.headers),
            _ => None,
        };
        // ElastiCache (query protocol): its RBAC calls, which reach the local redis-server.
        let cache_call = scope
            .as_ref()
            .filter(|s| s.service == "elasticache")
            .map(|_| elasticache::params(&body));
        let cache_action = cache_call
            .as_ref()
            .and_then(|p| p.get("Action").cloned())
            .unwrap_or_default();
        // A presigned S3 request S3 would refuse (another length than signed, expired).
        let refused = match (&scope, &self.secret) {
            (Some(s), Some(secret)) if s.service == "s3" => presigned::refusal(
                &parts.method,
                path,
                query,
                &parts.headers,
                secret,
                time::OffsetDateTime::now_utc(),
            ),
            _ => None,
        };
        let reply = if let Some(refused) = refused {
            refused
        } else if let Some(rest) = path.strip_prefix("/_local/") {
            admin::handle(&self.backup, &parts.method, rest, &body).await
        } else if let Some(binary) = lambda::invoked_binary(&parts.method, path) {
            tracing::debug!(binary, "lambda invoke");
            // A function of another region's deployment is served by that region's watcher.
            let region = lambda::invoked_region(path);
            let upstream = region
                .and_then(|r| self.regional_lambdas.iter().find(|(rr, _)| *rr == r))
                .map_or(&self.lambda, |(_, u)| u);
            lambda::invoke(upstream, &binary, parts.headers.clone(), body.clone()).await
        } else if let Some(scope) = scope.as_ref().filter(|s| s.service == backup::SIGNING_NAME) {
            let region = if scope.region.is_empty() {
                DEFAULT_REGION
            } else {
                &scope.region
            };
            self.backup
                .handle(region, &parts.method, path, query, &body)
        } else if let Some(arn) = scope
            .as_ref()
            .filter(|s| s.service == "rds")
            .and_then(|_| snapshots::backup_snapshot_of(&body))
        {
            snapshots::reply(&arn, self.backup.snapshot_tags(&arn))
        } else if elasticache::served(&cache_action) {
            let region = scope.as_ref().map_or(DEFAULT_REGION, |s| s.region.as_str());
            let params = cache_call.as_ref().expect("an ElastiCache call");
            self.rbac.handle(&cache_action, region, params).await
        } else if let Some(made) = match operation {
            Some("StartExecution") => execution_input_too_large(&body),
            Some("CreateAccessPoint") => match access_points::refused(&body) {
                Some(refused) => Some(refused),
                None => access_points::already_made(&self.moto, &parts.headers, &body).await,
            },
            _ => None,
        } {
            made
        } else {
            let path_and_query = parts
                .uri
                .path_and_query()
                .map_or("/", |pq| pq.as_str())
                .to_owned();
            match self
                .moto
                .send(
                    parts.method.clone(),
                    &path_and_query,
                    parts.headers.clone(),
                    body.clone(),
                    true,
                )
                .await
            {
                Ok(answer) => {
                    if answer.status.is_success() {
                        if let Some(params) = &cache_call {
                            match cache_action.as_str() {
                                "CreateUser" => self.rbac.user_created(params),
                                "DeleteUser" => self.rbac.user_deleted(params).await,
                                _ => {}
                            }
                        }
                        if let (Some(scope), Some(target)) = (
                            scope.as_ref().filter(|s| s.service == "dynamodb"),
                            parts
                                .headers
                                .get("x-amz-target")
                                .and_then(|t| t.to_str().ok()),
                        ) {
                            self.global_tables
                                .replicate(&scope.region, target, &body)
                                .await;
                        }
                    }
                    answer.into_reply()
                }
                Err(e) => bad_gateway(&format!("moto at {}: {}", self.moto.base(), e.message)),
            }
        };
        if let Some(scope) = scope.as_ref().filter(|_| !path.starts_with("/_local/")) {
            self.calls.record(&calls::Call {
                method: &parts.method,
                path,
                query,
                headers: &parts.headers,
                body: &body,
                service: &scope.service,
                region: &scope.region,
                operation,
                status: reply.status().as_u16(),
            });
        }
        tracing::debug!(method = %parts.method, uri = %parts.uri, status = %reply.status(), "served");
        if let Some(op) = operation.filter(|op| self.backup.take_lost_response(op)) {
            tracing::info!(operation = op, "answer lost (lose-response fault)");
            return Err(LostResponse(op));
        }
        Ok(reply)
    }
}

/// The Step Functions operation a `lose-response` fault can take (moto serves it; the
/// front drops the answer), from the JSON protocol's `X-Amz-Target`.
fn states_operation(headers: &hyper::HeaderMap) -> Option<&'static str> {
    let target = headers.get("x-amz-target")?.to_str().ok()?;
    (target == "AWSStepFunctions.StartExecution").then_some("StartExecution")
}

/// The most an execution's input holds: 256 KiB as UTF-8 ("Maximum input or output size for
/// a task, state, or execution: 256 KiB of data as a UTF-8 encoded string",
/// https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html; StartExecution's
/// `input` has "Maximum length of 262144",
/// https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html).
/// AWS refuses a larger one at the API; moto's interpreter takes it in and fails the
/// execution `States.DataLimitExceeded`, an error no caller can name.
const MAX_EXECUTION_INPUT: usize = 262_144;

/// AWS's ValidationException for a StartExecution whose input is over
/// [`MAX_EXECUTION_INPUT`]; `None` for one it takes.
fn execution_input_too_large(body: &[u8]) -> Option<Reply> {
    let request: serde_json::Value = serde_json::from_slice(body).ok()?;
    let input = request.get("input")?.as_str()?;
    if input.len() <= MAX_EXECUTION_INPUT {
        return None;
    }
    let mut reply = web::json(
        StatusCode::BAD_REQUEST,
        &json!({
            "__type": "com.amazon.coral.validate#ValidationException",
            "message": format!(
                "1 validation error detected: Value at 'input' failed to satisfy constraint: \
                 Member must have length less than or equal to {MAX_EXECUTION_INPUT}"
            ),
        }),
    );
    web::set_header(&mut reply, "x-amzn-errortype", "ValidationException");
    Some(reply)
}

/// The answer to a call a `lose-response` fault took.
#[derive(Debug)]
pub struct LostResponse(pub &'static str);

impl std::fmt::Display for LostResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the answer to {} was lost (lose-response fault)", self.0)
    }
}

impl std::error::Error for LostResponse {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_execution_input_past_256_kib_is_refused_at_the_api() {
        let body = |n: usize| {
            serde_json::to_vec(&json!({"stateMachineArn": "arn", "input": "x".repeat(n)})).unwrap()
        };
        assert!(execution_input_too_large(&body(MAX_EXECUTION_INPUT)).is_none());
        let reply = execution_input_too_large(&body(MAX_EXECUTION_INPUT + 1)).expect("refused");
        assert_eq!(reply.status(), StatusCode::BAD_REQUEST);
    }
}
