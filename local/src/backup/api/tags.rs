//! Tags on recovery points and vaults: list, add and remove them.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{parse_body, ApiResult};
use crate::backup::error::ApiError;
use crate::backup::quotas;
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

/// ListTags serves only resources AWS Backup fully manages, whose ARNs begin with
/// `arn:aws:backup`: "when you include values of resourceArn that have an ARN other than
/// arn:aws:backup, it may return one of the exceptions listed below" (InvalidParameterValue
/// among them; https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListTags.html).
/// A database's recovery point (an RDS snapshot ARN) is refused so: its tags are the
/// snapshot's, read through RDS ListTagsForResource.
pub fn list_tags(store: &Store, arn: &str) -> ApiResult {
    if !is_backup_arn(arn) {
        return Err(ApiError::invalid_parameter(format!(
            "Invalid ARN {arn}: ListTags only supports resources fully managed by AWS Backup, \
             whose ARN begins with arn:aws:backup."
        )));
    }
    store.with(|s| {
        let tags = tags_of(s, arn)?;
        Ok(Obj::new()
            .set("Tags", serde_json::to_value(&*tags).unwrap_or_default())
            .build())
    })
}

/// `arn:<partition>:backup:…`.
fn is_backup_arn(arn: &str) -> bool {
    let mut parts = arn.splitn(4, ':');
    parts.next() == Some("arn") && parts.next().is_some() && parts.next() == Some("backup")
}

/// The tags of a database recovery point, as RDS ListTagsForResource gives them for the
/// snapshot AWS Backup made (`…:snapshot:awsbackup:…`, `…:cluster-snapshot:awsbackup:…`);
/// `None` when the stand-in holds no such recovery point.
pub fn snapshot_tags(store: &Store, arn: &str) -> Option<BTreeMap<String, String>> {
    store.with(|s| s.recovery_points.get(arn).map(|rp| rp.tags.clone()))
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
        let is_recovery_point = s.recovery_points.contains_key(arn);
        let current = tags_of(s, arn)?;
        if is_recovery_point {
            // Checked before any change: a refused request leaves the tags as they were.
            let after = current.len() + tags.keys().filter(|k| !current.contains_key(*k)).count();
            quotas::check_recovery_point_tags(arn, after)?;
        }
        current.extend(tags);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_arn_aws_backup_arns_are_listtags_arns() {
        assert!(is_backup_arn(
            "arn:aws:backup:us-east-1:123456789012:recovery-point:abc"
        ));
        assert!(is_backup_arn(
            "arn:aws-cn:backup:cn-north-1:123456789012:backup-vault:v"
        ));
        assert!(!is_backup_arn(
            "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-1"
        ));
        assert!(!is_backup_arn("backup"));
    }
}
