//! Which service and region a request was signed for, from its SigV4 credential scope
//! (`Credential=<key>/<date>/<region>/<service>/aws4_request`). Nothing is verified: the
//! local stack checks no signatures.

use hyper::header::AUTHORIZATION;
use hyper::HeaderMap;

use crate::web::query_pairs;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub region: String,
    pub service: String,
}

/// The scope from the `Authorization` header, or from a presigned URL's `X-Amz-Credential`.
pub fn credential_scope(headers: &HeaderMap, query: Option<&str>) -> Option<Scope> {
    if let Some(auth) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let start = auth.find("Credential=")? + "Credential=".len();
        let credential = auth[start..].split([',', ' ']).next().unwrap_or_default();
        return parse_credential(credential);
    }
    let query = query?;
    query_pairs(query)
        .into_iter()
        .find(|(k, _)| k == "X-Amz-Credential")
        .and_then(|(_, v)| parse_credential(&v))
}

fn parse_credential(credential: &str) -> Option<Scope> {
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [_key, _date, region, service, "aws4_request"] => Some(Scope {
            region: (*region).to_owned(),
            service: (*service).to_owned(),
        }),
        _ => None,
    }
}

/// Headers for a call the stand-in makes to moto itself: a credential scope naming
/// `service` and `region` (moto routes by it; nothing checks the signature) and the content
/// type, when the protocol has one.
pub fn scoped_headers(
    service: &str,
    region: &str,
    content_type: Option<&'static str>,
) -> Result<HeaderMap, String> {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=test/20260101/{region}/{service}/aws4_request, \
         SignedHeaders=host, Signature=0"
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        hyper::header::HeaderValue::from_str(&auth)
            .map_err(|_| format!("region {region:?} is not valid"))?,
    );
    if let Some(content_type) = content_type {
        headers.insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(content_type),
        );
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn signed(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
        h
    }

    #[test]
    fn reads_region_and_service_from_the_authorization_header() {
        let h = signed(
            "AWS4-HMAC-SHA256 Credential=test/20240131/eu-west-1/backup/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=abc",
        );
        assert_eq!(
            credential_scope(&h, None),
            Some(Scope {
                region: "eu-west-1".into(),
                service: "backup".into()
            })
        );
    }

    #[test]
    fn reads_a_presigned_url() {
        let q = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20240131%2Fus-east-1%2Fs3%2Faws4_request";
        let scope = credential_scope(&HeaderMap::new(), Some(q)).unwrap();
        assert_eq!(
            (scope.region.as_str(), scope.service.as_str()),
            ("us-east-1", "s3")
        );
    }

    #[test]
    fn unsigned_or_malformed_requests_have_no_scope() {
        assert_eq!(credential_scope(&HeaderMap::new(), None), None);
        assert_eq!(credential_scope(&signed("Bearer x"), None), None);
        assert_eq!(
            credential_scope(&signed("AWS4-HMAC-SHA256 Credential=a/b"), None),
            None
        );
    }
}
