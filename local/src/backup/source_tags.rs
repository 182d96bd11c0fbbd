//! The tags a backup copies from the resource it protects. "In general, AWS Backup copies
//! tags from the resources it protects to your recovery points ... Tags that are originally
//! associated with a resource and tags that are assigned during backup are assigned to
//! recovery points stored in a backup vault, up to a maximum of 50 ... Tags that are assigned
//! during backup have priority, and both sets of tags are copied in alphabetical order."
//! (https://docs.aws.amazon.com/aws-backup/latest/devguide/tags-on-backups.html). The
//! resources live in moto: an EFS file system's tags through EFS, a database's through RDS.

use std::collections::BTreeMap;

use bytes::Bytes;
use hyper::Method;
use serde_json::Value;

use super::model::{Resource, ResourceKind};
use crate::proxy::Upstream;
use crate::sigv4::scoped_headers;
use crate::web::percent_encode;
use crate::xml::unescape;

/// AWS's limit on a recovery point's tags ("Metadata tags per backup").
pub const MAX_TAGS: usize = super::quotas::MAX_RECOVERY_POINT_TAGS;

pub struct SourceTags {
    moto: Upstream,
}

impl SourceTags {
    pub fn new(moto: &str) -> std::io::Result<Self> {
        Ok(SourceTags {
            moto: Upstream::new(moto)?,
        })
    }

    /// The resource's tags as its service lists them.
    pub async fn of(&self, resource: &Resource) -> Result<BTreeMap<String, String>, String> {
        match resource.kind {
            ResourceKind::Efs => {
                let path = format!("/2015-02-01/resource-tags/{}", percent_encode(&resource.id));
                let headers = scoped_headers("elasticfilesystem", &resource.region, None)?;
                let answer = self
                    .moto
                    .send(Method::GET, &path, headers, Bytes::new(), false)
                    .await
                    .map_err(|e| e.message)?;
                if !answer.status.is_success() {
                    return Err(format!("EFS answered {}", answer.status));
                }
                let listed: Value =
                    serde_json::from_slice(&answer.body).map_err(|e| e.to_string())?;
                Ok(listed["Tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| {
                        Some((
                            t["Key"].as_str()?.to_owned(),
                            t["Value"].as_str()?.to_owned(),
                        ))
                    })
                    .collect())
            }
            ResourceKind::Rds | ResourceKind::Aurora => {
                let body = form_urlencoded::Serializer::new(String::new())
                    .append_pair("Action", "ListTagsForResource")
                    .append_pair("Version", "2014-10-31")
                    .append_pair("ResourceName", &resource.arn)
                    .finish();
                let headers = scoped_headers(
                    "rds",
                    &resource.region,
                    Some("application/x-www-form-urlencoded; charset=utf-8"),
                )?;
                let answer = self
                    .moto
                    .send(Method::POST, "/", headers, Bytes::from(body), false)
                    .await
                    .map_err(|e| e.message)?;
                if !answer.status.is_success() {
                    return Err(format!("RDS answered {}", answer.status));
                }
                Ok(rds_tags(&String::from_utf8_lossy(&answer.body)))
            }
        }
    }
}

/// The recovery point's tags: those assigned during backup first, then the resource's in
/// alphabetical order, up to [`MAX_TAGS`].
pub fn merged(
    assigned: &BTreeMap<String, String>,
    source: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut tags = assigned.clone();
    for (k, v) in source {
        if tags.len() >= MAX_TAGS {
            break;
        }
        tags.entry(k.clone()).or_insert_with(|| v.clone());
    }
    tags
}

/// The `<Tag><Key/><Value/></Tag>` pairs of an RDS ListTagsForResource answer.
pub(super) fn rds_tags(xml: &str) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    for tag in xml.split("<Tag>").skip(1) {
        let field = |name: &str| {
            let open = format!("<{name}>");
            let start = tag.find(&open)? + open.len();
            let len = tag[start..].find(&format!("</{name}>"))?;
            Some(unescape(&tag[start..start + len]))
        };
        if let Some(key) = field("Key") {
            tags.insert(key, field("Value").unwrap_or_default());
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn assigned_tags_win_and_the_total_stops_at_fifty() {
        let assigned = map(&[("bbws:backup-id", "tb-1"), ("owner", "backup")]);
        let source = map(&[("owner", "platform"), ("bbws:tenant-id", "t-1")]);
        assert_eq!(
            merged(&assigned, &source),
            map(&[
                ("bbws:backup-id", "tb-1"),
                ("owner", "backup"),
                ("bbws:tenant-id", "t-1")
            ])
        );
        let many: BTreeMap<String, String> =
            (0..60).map(|i| (format!("k{i:02}"), "v".into())).collect();
        let out = merged(&assigned, &many);
        assert_eq!(out.len(), MAX_TAGS);
        assert!(out.contains_key("k00") && !out.contains_key("k59"));
    }

    #[test]
    fn rds_tag_lists_are_read() {
        let xml = "<ListTagsForResourceResponse><ListTagsForResourceResult><TagList>\
                   <Tag><Key>bbws:tenant-id</Key><Value>t-1</Value></Tag>\
                   <Tag><Key>a&amp;b</Key><Value></Value></Tag></TagList>\
                   </ListTagsForResourceResult></ListTagsForResourceResponse>";
        assert_eq!(
            rds_tags(xml),
            map(&[("bbws:tenant-id", "t-1"), ("a&b", "")])
        );
    }
}
