//! Forwarding a request to an upstream (moto or `cargo lambda watch`) and bringing its answer
//! back. Bodies are buffered: AWS API messages are small, and a whole body is simpler to
//! translate.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_LENGTH, EXPECT, HOST};
use hyper::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::web::{strip_hop_by_hop, Body, Reply};

pub struct Upstream {
    client: Client<HttpConnector, Body>,
    /// `http://host:port` plus any path prefix, without a trailing `/`.
    base: String,
}

/// An upstream's whole answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn into_reply(self) -> Reply {
        let mut reply = Response::new(Full::new(self.body));
        *reply.status_mut() = self.status;
        *reply.headers_mut() = self.headers;
        reply
    }
}

/// Why an upstream gave no answer.
#[derive(Debug)]
pub struct UpstreamError {
    pub message: String,
}

impl Upstream {
    pub fn new(base: &str) -> std::io::Result<Self> {
        let uri: Uri = base.parse().map_err(|e| invalid(base, e))?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            return Err(invalid(base, "expected http://host:port"));
        }
        Ok(Upstream {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends `method path_and_query` with `headers` and `body` to the upstream. The `Host`
    /// header is kept when `keep_host` (moto reads it), else set to the upstream's.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        mut headers: HeaderMap,
        body: Bytes,
        keep_host: bool,
    ) -> Result<Answer, UpstreamError> {
        let uri: Uri = format!("{}{}", self.base, path_and_query)
            .parse()
            .map_err(|e| UpstreamError {
                message: format!("cannot build the upstream URL: {e}"),
            })?;
        strip_hop_by_hop(&mut headers);
        // The body is whole: hyper sets the length from it. A `100-continue` was answered
        // already, when the body was read.
        headers.remove(CONTENT_LENGTH);
        headers.remove(EXPECT);
        if !keep_host {
            headers.remove(HOST);
        }
        let is_head = method == Method::HEAD;
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = method;
        *req.uri_mut() = uri;
        *req.headers_mut() = headers;

        let resp = self.client.request(req).await.map_err(|e| UpstreamError {
            message: format!("{} did not answer: {}", self.base, error_chain(&e)),
        })?;
        let (mut parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| UpstreamError {
                message: format!("{} broke off its answer: {e}", self.base),
            })?
            .to_bytes();
        strip_hop_by_hop(&mut parts.headers);
        // A HEAD answer's length describes the body it did not send: keep it. Otherwise hyper
        // sets the length of the body we send back.
        if !is_head {
            parts.headers.remove(CONTENT_LENGTH);
        }
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// The answer when moto cannot be reached: a 502 the SDKs retry.
pub fn bad_gateway(message: &str) -> Reply {
    let mut reply = crate::web::json(
        StatusCode::BAD_GATEWAY,
        &serde_json::json!({"__type": "ServiceUnavailableException", "message": message}),
    );
    crate::web::set_header(
        &mut reply,
        "x-amzn-errortype",
        "ServiceUnavailableException",
    );
    reply
}

fn invalid(base: &str, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("upstream {base:?} is not a usable URL: {e}"),
    )
}

/// The error and its causes on one line ("client error (Connect): tcp connect error: ...").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
