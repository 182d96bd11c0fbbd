//! EFS CreateAccessPoint's idempotency, which moto does not keep: AWS answers a create whose
//! ClientToken already made an access point with AccessPointAlreadyExists (409), naming it
//! ("Returned if the access point that you are trying to create already exists, with the
//! creation token you provided in the request",
//! https://docs.aws.amazon.com/efs/latest/ug/API_CreateAccessPoint.html). Without this, a
//! retried create whose first answer was lost would make a second access point locally
//! where AWS makes none.

use bytes::Bytes;
use hyper::{HeaderMap, Method, StatusCode};
use serde_json::{json, Value};

use crate::proxy::Upstream;
use crate::web::{self, percent_encode, Reply};

const PATH: &str = "/2015-02-01/access-points";

/// The operation name of an EFS request the front needs to know (`lose-response` faults).
pub fn operation(method: &Method, path: &str) -> Option<&'static str> {
    (method == Method::POST && path == PATH).then_some("CreateAccessPoint")
}

/// The longest ClientToken EFS takes: "A string of up to 64 ASCII characters that Amazon
/// EFS uses to ensure idempotent creation"
/// (https://docs.aws.amazon.com/efs/latest/ug/API_CreateAccessPoint.html); moto takes any.
pub const MAX_CLIENT_TOKEN: usize = 64;

/// AWS's BadRequest (400) for a CreateAccessPoint whose ClientToken is empty, longer than
/// [`MAX_CLIENT_TOKEN`] or not ASCII; `None` when it is one EFS takes.
pub fn refused(body: &[u8]) -> Option<Reply> {
    let request: Value = serde_json::from_slice(body).ok()?;
    let token = request.get("ClientToken")?.as_str()?;
    if !token.is_empty() && token.len() <= MAX_CLIENT_TOKEN && token.is_ascii() {
        return None;
    }
    let mut reply = web::json(
        StatusCode::BAD_REQUEST,
        &json!({
            "ErrorCode": "BadRequest",
            "Message": format!(
                "1 validation error detected: Value at 'clientToken' failed to satisfy \
                 constraint: Member must have length less than or equal to {MAX_CLIENT_TOKEN}"
            ),
        }),
    );
    web::set_header(&mut reply, "x-amzn-errortype", "BadRequest");
    Some(reply)
}

/// AWS's answer to a CreateAccessPoint whose ClientToken already made an access point on
/// the same file system; `None` when the create is a new one (moto then serves it).
pub async fn already_made(moto: &Upstream, headers: &HeaderMap, body: &[u8]) -> Option<Reply> {
    let request: Value = serde_json::from_slice(body).ok()?;
    let token = request.get("ClientToken")?.as_str()?;
    let fs = request.get("FileSystemId")?.as_str()?;
    let listed = moto
        .send(
            Method::GET,
            &format!("{PATH}?FileSystemId={}", percent_encode(fs)),
            headers.clone(),
            Bytes::new(),
            true,
        )
        .await
        .ok()?;
    let listed: Value = serde_json::from_slice(&listed.body).ok()?;
    let existing = listed["AccessPoints"]
        .as_array()?
        .iter()
        .find(|ap| ap["ClientToken"] == token && ap["LifeCycleState"] != "deleted")?;
    let id = existing["AccessPointId"].as_str()?;
    let mut reply = web::json(
        StatusCode::CONFLICT,
        &json!({
            "ErrorCode": "AccessPointAlreadyExists",
            "Message": format!("Access point {id} already exists with the creation token {token}."),
            "AccessPointId": id,
        }),
    );
    web::set_header(&mut reply, "x-amzn-errortype", "AccessPointAlreadyExists");
    Some(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_token_past_64_characters_is_bad_request() {
        let body = |token: &str| serde_json::to_vec(&json!({"ClientToken": token})).unwrap();
        assert!(refused(&body(&"t".repeat(64))).is_none());
        for bad in ["".to_owned(), "t".repeat(65), "bbws-é".to_owned()] {
            let reply = refused(&body(&bad)).expect("refused");
            assert_eq!(reply.status(), StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[test]
    fn only_the_create_is_named() {
        assert_eq!(operation(&Method::POST, PATH), Some("CreateAccessPoint"));
        assert_eq!(operation(&Method::GET, PATH), None);
        assert_eq!(
            operation(&Method::DELETE, "/2015-02-01/access-points/fsap-1"),
            None
        );
    }
}
