//! Lambda Invoke, served by `cargo lambda watch`: the function name reduced to the binary
//! name it serves, and its answers translated to real Lambda's so Step Functions (and any
//! SDK) sees what AWS would send.

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, StatusCode};
use serde_json::{json, Value};

use crate::ids;
use crate::proxy::{Answer, Upstream};
use crate::web::{self, percent_decode, Reply};

const INVOKE_PREFIX: &str = "/2015-03-31/functions/";
const INVOKE_SUFFIX: &str = "/invocations";

/// The binary an Invoke request is for, or `None` when the request is not an Invoke.
pub fn invoked_binary(method: &Method, path: &str) -> Option<String> {
    if method != Method::POST {
        return None;
    }
    let encoded = path
        .strip_prefix(INVOKE_PREFIX)?
        .strip_suffix(INVOKE_SUFFIX)?;
    if encoded.is_empty() || encoded.contains('/') {
        return None;
    }
    let name = percent_decode(encoded)?;
    Some(binary_name(&name).to_owned())
}

/// The region an Invoke names, when its function is named by a full ARN.
pub fn invoked_region(path: &str) -> Option<String> {
    let encoded = path
        .strip_prefix(INVOKE_PREFIX)?
        .strip_suffix(INVOKE_SUFFIX)?;
    let name = percent_decode(encoded)?;
    match name.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "lambda", region, _, "function", ..] if !region.is_empty() => {
            Some((*region).to_owned())
        }
        _ => None,
    }
}

/// `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`, the partial
/// `<account>:function:<name>[:<qualifier>]`, `<name>:<qualifier>` and `<name>` all name
/// the binary `<name>`.
pub fn binary_name(name: &str) -> &str {
    let parts: Vec<&str> = name.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", binary, ..] => binary,
        [_, "function", binary, ..] => binary,
        [binary, ..] => binary,
        [] => name,
    }
}

/// Forwards an Invoke to `cargo lambda watch` and translates its answer.
pub async fn invoke(upstream: &Upstream, binary: &str, headers: HeaderMap, body: Bytes) -> Reply {
    let path = format!("{INVOKE_PREFIX}{binary}{INVOKE_SUFFIX}");
    match upstream
        .send(Method::POST, &path, headers, body, false)
        .await
    {
        Ok(answer) => translate(answer),
        Err(e) => service_exception(
            StatusCode::BAD_GATEWAY,
            &format!("the function {binary} could not be invoked: {}", e.message),
        ),
    }
}

/// `cargo lambda watch` answers a handler error with 500 and `{"errorType", "errorMessage"}`;
/// Lambda answers 200 with the same body and `X-Amz-Function-Error: Unhandled`. Any other
/// server error becomes Lambda's `ServiceException`, which Step Functions retries.
pub fn translate(mut answer: Answer) -> Reply {
    if answer.status == StatusCode::INTERNAL_SERVER_ERROR && is_handler_error(&answer.body) {
        answer.status = StatusCode::OK;
        answer.headers.insert(
            HeaderName::from_static("x-amz-function-error"),
            HeaderValue::from_static("Unhandled"),
        );
    } else if answer.status.is_server_error() {
        return service_exception(
            StatusCode::BAD_GATEWAY,
            &format!(
                "the function's runtime answered {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            ),
        );
    }
    let mut reply = answer.into_reply();
    add_lambda_headers(&mut reply);
    reply
}

/// Lambda's own failure, as the SDKs parse it (`ServiceException`).
pub fn service_exception(status: StatusCode, message: &str) -> Reply {
    let mut reply = web::json(
        status,
        &json!({"__type": "ServiceException", "message": message}),
    );
    web::set_header(&mut reply, "x-amzn-errortype", "ServiceException");
    add_lambda_headers(&mut reply);
    reply
}

fn add_lambda_headers(reply: &mut Reply) {
    if !reply.headers().contains_key("x-amzn-requestid") {
        web::set_header(reply, "x-amzn-requestid", &ids::uuid());
    }
    web::set_header(reply, "x-amz-executed-version", "$LATEST");
}

fn is_handler_error(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .is_some_and(|v| v.get("errorType").is_some_and(Value::is_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invoke_by_arn_names_its_region() {
        let path = |name: &str| format!("{INVOKE_PREFIX}{name}{INVOKE_SUFFIX}");
        assert_eq!(
            invoked_region(&path(
                "arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Arestore"
            )),
            Some("eu-west-1".into())
        );
        assert_eq!(
            invoked_region(&path(
                "arn:aws:lambda:us-east-1:123456789012:function:restore"
            )),
            Some("us-east-1".into())
        );
        assert_eq!(invoked_region(&path("restore")), None);
    }

    #[test]
    fn every_function_name_form_reduces_to_the_binary() {
        for name in [
            "arn:aws:lambda:us-east-1:123456789012:function:start-backup",
            "arn:aws:lambda:us-east-1:123456789012:function:start-backup:$LATEST",
            "123456789012:function:start-backup",
            "start-backup:live",
            "start-backup",
        ] {
            assert_eq!(binary_name(name), "start-backup", "{name}");
        }
    }

    #[test]
    fn only_invoke_paths_are_invokes() {
        let arn = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Apoll-job/invocations";
        assert_eq!(
            invoked_binary(&Method::POST, arn).as_deref(),
            Some("poll-job")
        );
        assert_eq!(invoked_binary(&Method::GET, arn), None);
        assert_eq!(
            invoked_binary(&Method::POST, "/2015-03-31/functions/poll-job"),
            None
        );
        assert_eq!(
            invoked_binary(&Method::POST, "/2015-03-31/functions//invocations"),
            None
        );
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn a_handler_error_becomes_an_unhandled_function_error() {
        let reply = translate(answer(
            500,
            r#"{"errorType":"BackupFailed","errorMessage":"500: x"}"#,
        ));
        assert_eq!(reply.status(), StatusCode::OK);
        assert_eq!(reply.headers()["x-amz-function-error"], "Unhandled");
        assert_eq!(reply.headers()["x-amz-executed-version"], "$LATEST");
        assert!(reply.headers().contains_key("x-amzn-requestid"));
    }

    #[test]
    fn other_server_errors_become_service_exceptions() {
        let reply = translate(answer(500, "panicked"));
        assert_eq!(reply.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(reply.headers()["x-amzn-errortype"], "ServiceException");
        let ok = translate(answer(200, r#"{"done":true}"#));
        assert_eq!(ok.status(), StatusCode::OK);
        assert!(!ok.headers().contains_key("x-amz-function-error"));
    }
}
