//! The front server's routing: Lambda invokes to `cargo lambda watch` (faked here), other
//! requests to moto (faked here), the admin API.

mod common;

use common::*;
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{HeaderMap, Method, StatusCode};
use serde_json::Value;

fn signed_for(service: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=test/20240131/us-east-1/{service}/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature=0123abcd"
    );
    h.insert(AUTHORIZATION, HeaderValue::from_str(&auth).unwrap());
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h
}

async fn front_with(lambda: String, moto: String) -> Local {
    start_with(0.2, |c| {
        c.lambda = lambda;
        c.moto = moto;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoke_by_arn_reaches_the_binary() {
    let (lambda, seen) = fake_upstream(
        200,
        vec![("content-type", "application/json")],
        r#"{"ok":true}"#,
    )
    .await;
    let local = front_with(format!("http://{lambda}"), closed_url()).await;
    let arn = "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Astart-backup%3A%24LATEST";
    let url = format!("{}/2015-03-31/functions/{arn}/invocations", local.endpoint);
    let (status, headers, body) = http(
        Method::POST,
        &url,
        signed_for("lambda"),
        r#"{"tenantId":"tenant-1"}"#.into(),
    )
    .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], br#"{"ok":true}"#);
    assert_eq!(headers["x-amz-executed-version"], "$LATEST");
    assert!(!headers["x-amzn-requestid"].is_empty());
    assert!(!headers.contains_key("x-amz-function-error"));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].uri,
        "/2015-03-31/functions/start-backup/invocations"
    );
    assert_eq!(seen[0].method, Method::POST);
    assert_eq!(&seen[0].body[..], br#"{"tenantId":"tenant-1"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_error_comes_back_as_lambda_sends_it() {
    const ERROR: &str = r#"{"errorType":"BackupFailed","errorMessage":"500: backup job X on Y ended FAILED: boom"}"#;
    let (lambda, seen) =
        fake_upstream(500, vec![("content-type", "application/json")], ERROR).await;
    let local = front_with(format!("http://{lambda}"), closed_url()).await;
    let url = format!(
        "{}/2015-03-31/functions/poll-job:live/invocations",
        local.endpoint
    );
    let (status, headers, body) = http(Method::POST, &url, signed_for("lambda"), "{}".into()).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-amz-function-error"], "Unhandled");
    assert_eq!(&body[..], ERROR.as_bytes());
    assert!(headers.contains_key("x-amzn-requestid"));
    assert_eq!(
        seen.lock().unwrap()[0].uri,
        "/2015-03-31/functions/poll-job/invocations"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_runtime_is_a_lambda_service_exception() {
    let local = front_with(closed_url(), closed_url()).await;
    let url = format!(
        "{}/2015-03-31/functions/copy-to-dr/invocations",
        local.endpoint
    );
    let (status, headers, body) = http(Method::POST, &url, signed_for("lambda"), "{}".into()).await;
    assert!(status == StatusCode::BAD_GATEWAY || status == StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["x-amzn-errortype"], "ServiceException");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["__type"], "ServiceException");
    assert!(body["message"].as_str().unwrap().contains("copy-to-dr"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_requests_go_to_moto_unchanged() {
    let (moto, seen) = fake_upstream(
        201,
        vec![
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amzn-requestid", "moto-1"),
        ],
        r#"{"FileSystems":[]}"#,
    )
    .await;
    let local = front_with(closed_url(), format!("http://{moto}")).await;
    let mut headers = signed_for("elasticfilesystem");
    headers.insert(
        HeaderName::from_static("x-amz-target"),
        HeaderValue::from_static("X.Describe"),
    );
    let url = format!(
        "{}/2015-02-01/file-systems?MaxItems=10&Marker=a%2Fb",
        local.endpoint
    );
    let (status, back, body) = http(Method::GET, &url, headers.clone(), "payload".into()).await;

    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(back["x-amzn-requestid"], "moto-1");
    assert_eq!(back["content-type"], "application/x-amz-json-1.1");
    assert_eq!(&body[..], br#"{"FileSystems":[]}"#);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].method, Method::GET);
    assert_eq!(
        seen[0].uri,
        "/2015-02-01/file-systems?MaxItems=10&Marker=a%2Fb"
    );
    assert_eq!(&seen[0].body[..], b"payload");
    assert_eq!(seen[0].headers[AUTHORIZATION], headers[AUTHORIZATION]);
    assert_eq!(seen[0].headers["x-amz-target"], "X.Describe");
    // The Host the client sent, which moto may read.
    assert_eq!(
        seen[0].headers["host"],
        local.endpoint.trim_start_matches("http://")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_down_is_a_bad_gateway_and_admin_answers() {
    let local = front_with(closed_url(), closed_url()).await;
    let (status, _, _) = http(
        Method::POST,
        &format!("{}/", local.endpoint),
        signed_for("sts"),
        String::new(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let (status, body) = local.admin(Method::GET, "/_local/health", None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, state) = local.admin(Method::GET, "/_local/state", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(state["jobs"].is_object() && state["recoveryPoints"].is_object());
    let (status, _) = local.admin(Method::GET, "/_local/nothing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_request_in_another_region_is_served_there() {
    let local = start(0.2).await;
    local.create_vaults().await;
    // The DR vault exists in eu-west-1 only.
    let e = local
        .backup
        .describe_backup_vault()
        .backup_vault_name(DR_VAULT)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_backup::error::ProvideErrorMetadata::code(&e),
        Some("ResourceNotFoundException")
    );
    let dr = local
        .client_in("eu-west-1")
        .describe_backup_vault()
        .backup_vault_name(DR_VAULT)
        .send()
        .await
        .unwrap();
    assert_eq!(dr.backup_vault_arn(), Some(dr_vault_arn().as_str()));
}
