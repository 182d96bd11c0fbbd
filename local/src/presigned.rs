//! A presigned S3 request checked as S3 checks it, where moto checks nothing: moto takes a
//! presigned PUT of any length and after its expiry.
//!
//! S3's query-string authentication
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>) signs
//! the method, path, query and every header named in `X-Amz-SignedHeaders`; a request whose
//! signed header (here the `Content-Length` upload-media signs) differs from the signed
//! value does not match the signature and is refused `403 SignatureDoesNotMatch`, and one
//! past `X-Amz-Date` + `X-Amz-Expires` is refused `403 AccessDenied` ("Request has
//! expired"). The signature is computed as SigV4 documents it
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>), with the
//! one secret key the local stack's credentials have.

use hyper::{HeaderMap, Method, StatusCode};
use sha2::{Digest, Sha256};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::web::{self, percent_encode, query_pairs, Reply};

/// Why S3 would refuse the presigned request, as its error answer; `None` when it would
/// take it, or when the request is not a presigned S3 request (moto judges it).
pub fn refusal(
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    secret: &str,
    now: OffsetDateTime,
) -> Option<Reply> {
    let pairs = query_pairs(query?);
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    if get("X-Amz-Algorithm")? != "AWS4-HMAC-SHA256" {
        return None;
    }
    let (credential, amz_date, signed_headers, signature) = (
        get("X-Amz-Credential")?,
        get("X-Amz-Date")?,
        get("X-Amz-SignedHeaders")?,
        get("X-Amz-Signature")?,
    );
    let scope_parts: Vec<&str> = credential.split('/').collect();
    let [_, date, region, service, "aws4_request"] = scope_parts.as_slice() else {
        return None;
    };
    if *service != "s3" {
        return None;
    }
    let expires: i64 = get("X-Amz-Expires")
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    let signed_at = parse_amz_date(amz_date)?;
    if now.unix_timestamp() > signed_at + expires {
        return Some(error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Request has expired",
        ));
    }

    let mut canonical_query: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "X-Amz-Signature")
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    canonical_query.sort();
    let canonical_query = canonical_query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut canonical_headers = String::new();
    for name in signed_headers.split(';') {
        let value = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join(",");
        canonical_headers.push_str(&format!("{name}:{value}\n"));
    }
    let payload = get("X-Amz-Content-Sha256").unwrap_or("UNSIGNED-PAYLOAD");
    let canonical_request = format!(
        "{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload}"
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    for part in [*region, *service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    if hex(&hmac(&key, string_to_sign.as_bytes())) == signature {
        return None;
    }
    Some(error(
        StatusCode::FORBIDDEN,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. \
         Check your key and signing method.",
    ))
}

/// `20260101T120000Z` in seconds since the epoch.
fn parse_amz_date(raw: &str) -> Option<i64> {
    let n = |range: std::ops::Range<usize>| raw.get(range)?.parse::<u16>().ok();
    let date = Date::from_calendar_date(
        i32::from(n(0..4)?),
        Month::try_from(u8::try_from(n(4..6)?).ok()?).ok()?,
        u8::try_from(n(6..8)?).ok()?,
    )
    .ok()?;
    let time = Time::from_hms(
        u8::try_from(n(9..11)?).ok()?,
        u8::try_from(n(11..13)?).ok()?,
        u8::try_from(n(13..15)?).ok()?,
    )
    .ok()?;
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// HMAC-SHA256 (RFC 2104): the one keyed hash SigV4 uses.
fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// S3's XML error answer.
fn error(status: StatusCode, code: &str, message: &str) -> Reply {
    let mut reply = web::text(
        status,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>{}</Message></Error>",
            crate::xml::escape(message)
        ),
    );
    web::set_header(&mut reply, "content-type", "application/xml");
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_is_rfc_4231s() {
        // RFC 4231, test case 2.
        assert_eq!(
            hex(&hmac(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// A PUT presigned by the real SDK, with its signed length: taken with that length,
    /// refused with another, refused once expired.
    #[tokio::test]
    async fn a_presigned_put_is_refused_for_another_length_or_once_expired() {
        use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
        use aws_sdk_s3::presigning::PresigningConfig;
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("local", "local", None, None, "test"))
            .endpoint_url("http://127.0.0.1:4566")
            .force_path_style(true)
            .build();
        let client = aws_sdk_s3::Client::from_conf(config);
        let presigned = client
            .put_object()
            .bucket("staging")
            .key("incoming/t/u/My Photo.jpg")
            .content_length(5)
            .presigned(PresigningConfig::expires_in(std::time::Duration::from_secs(300)).unwrap())
            .await
            .unwrap();
        let uri: hyper::Uri = presigned.uri().parse().unwrap();
        let headers = |length: &str| {
            let mut h = HeaderMap::new();
            h.insert("host", "127.0.0.1:4566".parse().unwrap());
            h.insert("content-length", length.parse().unwrap());
            h
        };
        let now = OffsetDateTime::now_utc();
        let judge = |h: &HeaderMap, at: OffsetDateTime, secret: &str| {
            refusal(&Method::PUT, uri.path(), uri.query(), h, secret, at).map(|r| r.status())
        };
        assert_eq!(judge(&headers("5"), now, "local"), None);
        assert_eq!(
            judge(&headers("6"), now, "local"),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            judge(&headers("5"), now, "another"),
            Some(StatusCode::FORBIDDEN)
        );
        let later = now + time::Duration::seconds(301);
        assert_eq!(
            judge(&headers("5"), later, "local"),
            Some(StatusCode::FORBIDDEN)
        );
        // Not presigned: left to moto.
        assert_eq!(
            refusal(&Method::PUT, "/b/k", None, &headers("5"), "local", now).map(|r| r.status()),
            None
        );
    }
}
