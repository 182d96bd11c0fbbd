//! Tags on recovery points and vaults: list, add and remove them.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{parse_body, ApiResult};
use crate::backup::error::ApiError;
use crate::backup::store::{State, Store};
use crate::backup::views::Obj;

/// The tags of a recovery point or a vault.
fn tags_of<'a>(s: &'a mut State, arn: &str) -> Result<&'a mut BTreeMap<String, String>, ApiError> {
    if let Some(rp) = s.recovery_points.get_mut(arn) {
        return Ok(&mut rp.tags);
    }
    if let Some(vault) = s.vaults.get_mut(arn) {
        return Ok(&mut vault.tags);
    }
    Err(ApiError::not_found(format!(
        "Resource {arn} was not found."
    )))
}

pub fn list_tags(store: &Store, arn: &str) -> ApiResult {
    store.with(|s| {
        let tags = tags_of(s, arn)?;
        Ok(Obj::new()
            .set("Tags", serde_json::to_value(&*tags).unwrap_or_default())
            .build())
    })
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagResourceInput {
    tags: Option<BTreeMap<String, String>>,
}

pub fn tag_resource(store: &Store, arn: &str, body: &[u8]) -> ApiResult {
    let input: TagResourceInput = parse_body(body)?;
    let tags = input
        .tags
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::missing("Tags"))?;
    if let Some(reserved) = tags
        .keys()
        .find(|k| k.to_ascii_lowercase().starts_with("aws:"))
    {
        return Err(ApiError::invalid_parameter(format!(
            "Tag key {reserved:?} uses the reserved prefix aws:."
        )));
    }
    store.with(|s| {
        tags_of(s, arn)?.extend(tags);
        Ok(Value::Null)
    })
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UntagResourceInput {
    tag_key_list: Option<Vec<String>>,
}

pub fn untag_resource(store: &Store, arn: &str, body: &[u8]) -> ApiResult {
    let input: UntagResourceInput = parse_body(body)?;
    let keys = input
        .tag_key_list
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::missing("TagKeyList"))?;
    store.with(|s| {
        let tags = tags_of(s, arn)?;
        for key in keys {
            tags.remove(&key);
        }
        Ok(Value::Null)
    })
}
