//! Small HTTP helpers shared by the front server's parts.

use std::borrow::Cow;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_TYPE};
use hyper::{HeaderMap, Response, StatusCode};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

pub type Body = Full<Bytes>;
pub type Reply = Response<Body>;

/// A JSON answer.
pub fn json(status: StatusCode, value: &Value) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::from(value.to_string())));
    *reply.status_mut() = status;
    reply
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    reply
}

/// A text answer (its content type is the caller's to set).
pub fn text(status: StatusCode, body: String) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::from(body)));
    *reply.status_mut() = status;
    reply
}

/// An XML answer (the query protocols').
pub fn xml(status: StatusCode, body: String) -> Reply {
    let mut reply = text(status, body);
    set_header(&mut reply, "content-type", "text/xml");
    reply
}

/// Adds a header whose value came from us; a value that is not a valid header is dropped.
pub fn set_header(reply: &mut Reply, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        reply.headers_mut().insert(HeaderName::from_static(name), v);
    }
}

/// Headers that describe one connection, not the message: never forwarded (RFC 9110 7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
];

/// Removes hop-by-hop headers and those the `Connection` header names. `Upgrade` goes too:
/// the front server answers every request itself, it tunnels nothing.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    for name in HOP_BY_HOP.iter().copied().chain(["upgrade"]) {
        headers.remove(name);
    }
    for name in named {
        headers.remove(name.as_str());
    }
}

/// RFC 3986's unreserved characters, the only ones [`percent_encode`] leaves as they are.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Decodes `%XX` escapes; `None` when an escape is malformed or the result is not UTF-8.
/// `+` stays `+`: the AWS SDKs encode a space as `%20`.
pub fn percent_decode(s: &str) -> Option<String> {
    // The decoder passes a malformed escape through; a path label with one names nothing.
    let well_formed = s.split('%').skip(1).all(|after| {
        after
            .as_bytes()
            .get(..2)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(Cow::into_owned)
}

/// Encodes everything but RFC 3986's unreserved characters as `%XX`: safe in a query string
/// and in an `application/x-www-form-urlencoded` body.
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// The decoded `key=value` pairs of a query string, in order. `+` stays `+`, as in
/// [`percent_decode`]: the SDKs send `%20` for a space, so a literal `+` (a timestamp's
/// offset typed by hand) means itself. A malformed escape is kept as written.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.replace('+', "%2B").as_bytes())
        .into_owned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(
            percent_decode("arn%3Aaws%3Abackup%3Aus-east-1%3A123456789012%3Arecovery-point%3AX")
                .as_deref(),
            Some("arn:aws:backup:us-east-1:123456789012:recovery-point:X")
        );
        assert_eq!(percent_decode("a+b%20c").as_deref(), Some("a+b c"));
        assert_eq!(percent_decode("bad%2"), None);
        assert_eq!(percent_decode("bad%zz"), None);
    }

    #[test]
    fn percent_encoding_round_trips() {
        let s = "db.t3.micro a&b=c/é~";
        assert_eq!(percent_encode(s), "db.t3.micro%20a%26b%3Dc%2F%C3%A9~");
        assert_eq!(percent_decode(&percent_encode(s)).as_deref(), Some(s));
    }

    #[test]
    fn query_pairs_are_decoded_in_order() {
        assert_eq!(
            query_pairs("state=RUNNING&resourceArn=arn%3Ax&flag"),
            vec![
                ("state".into(), "RUNNING".into()),
                ("resourceArn".into(), "arn:x".into()),
                ("flag".into(), String::new())
            ]
        );
    }

    #[test]
    fn a_plus_in_a_query_is_itself() {
        assert_eq!(
            query_pairs("createdAfter=2024-01-31T12:00:00+01:00&a=b%2Bc%20d"),
            vec![
                ("createdAfter".into(), "2024-01-31T12:00:00+01:00".into()),
                ("a".into(), "b+c d".into())
            ]
        );
    }

    #[test]
    fn hop_by_hop_headers_go_with_those_connection_names() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("keep-alive, x-private"),
        );
        h.insert("x-private", HeaderValue::from_static("1"));
        h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        h.insert("x-amz-date", HeaderValue::from_static("20240131T000000Z"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-amz-date"));
    }
}
