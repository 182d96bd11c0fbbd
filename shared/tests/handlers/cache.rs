//! flush-cache: its cache user's password read from Secrets Manager (the real SDK client, answered by
//! rules), and what the step says when the token or the cache cannot be had. A reachable
//! cache is the end-to-end scenarios' (a real redis-server).

use std::sync::{Arc, Mutex};

use aws_sdk_secretsmanager::operation::get_secret_value::{
    GetSecretValueError, GetSecretValueOutput,
};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use bbws::cache::tls::{client_config, Endpoint};
use bbws::cache::{handler, CacheFlusher};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;

const SECRET: &str =
    "arn:aws:secretsmanager:af-south-1:123456789012:secret:bbws-dev-redis-flush-cache-AbCdEf";

/// A port on 127.0.0.1 nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn flusher(rule: &Rule) -> CacheFlusher {
    let secrets = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [rule], |c| c
        .retry_config(aws_sdk_secretsmanager::config::retry::RetryConfig::disabled()));
    CacheFlusher {
        secrets,
        secret_id: SECRET.into(),
        endpoint: Endpoint::parse(&format!("127.0.0.1:{}", closed_port())).unwrap(),
        tls: client_config(None).unwrap(),
        scan_count: 1000,
    }
}

fn secret_error(code: &'static str) -> Rule {
    mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_error(move || {
        GetSecretValueError::generic(ErrorMetadata::builder().code(code).message("no").build())
    })
}

async fn flush(flusher: &CacheFlusher, tenant: &str) -> Result<serde_json::Value, bbws::Error> {
    handler(
        LambdaEvent::new(json!({ "tenantId": tenant }), Context::default()),
        flusher,
    )
    .await
}

#[tokio::test]
async fn an_unreachable_cache_is_cache_not_flushed_after_reading_the_named_secret() {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    let rule = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .match_requests(move |req| {
            seen.lock()
                .unwrap()
                .push(req.secret_id().unwrap_or_default().to_owned());
            true
        })
        .then_output(|| {
            GetSecretValueOutput::builder()
                .secret_string(
                    r#"{"username":"bbws-dev-flush-cache","password":"abcdefghijklmnopqrstuvwxyz012345"}"#,
                )
                .build()
        });
    let flusher = flusher(&rule);
    let error = flush(&flusher, "tenant-1").await.unwrap_err();
    assert_eq!(error.name(), "CacheNotFlushed");
    assert!(error.message().contains("content is restored"), "{error}");
    assert!(
        error
            .message()
            .contains("could not reach the cache at 127.0.0.1:"),
        "{error}"
    );
    assert!(
        !error.message().contains("abcdefghijklmnop"),
        "never the password: {error}"
    );
    assert_eq!(*asked.lock().unwrap(), [SECRET]);
}

#[tokio::test]
async fn a_refused_secret_is_cache_not_flushed_and_throttling_is_retried() {
    let denied = secret_error("AccessDeniedException");
    let error = flush(&flusher(&denied), "tenant-1").await.unwrap_err();
    assert_eq!(error.name(), "CacheNotFlushed");
    assert!(error.message().contains("AccessDeniedException"), "{error}");

    let throttled = secret_error("ThrottlingException");
    let error = flush(&flusher(&throttled), "tenant-1").await.unwrap_err();
    assert_eq!(error.name(), "TransientAwsError");
}

#[tokio::test]
async fn an_invalid_tenant_is_refused_before_anything_is_read() {
    let rule = secret_error("AccessDeniedException");
    let flusher = flusher(&rule);
    let error = flush(&flusher, "Tenant_1").await.unwrap_err();
    assert_eq!(error.name(), "InvalidTenant");
    assert_eq!(rule.num_calls(), 0);
}
