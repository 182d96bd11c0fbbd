//! What a plan's selection picks, looked up in moto as AWS Backup looks at the account: the
//! shared file system through EFS, the tagged databases through RDS (DescribeDBInstances and
//! DescribeDBClusters, whose `TagList` carries each one's tags).

use bytes::Bytes;
use hyper::Method;
use serde_json::Value;

use super::model::Resource;
use super::plans::Selection;
use super::source_tags::rds_tags;
use crate::proxy::Upstream;
use crate::sigv4::scoped_headers;
use crate::web::percent_encode;

const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

pub struct Inventory {
    moto: Upstream,
}

impl Inventory {
    pub fn new(moto: &str) -> std::io::Result<Self> {
        Ok(Inventory {
            moto: Upstream::new(moto)?,
        })
    }

    /// The ARNs of the resources `selection` picks in `region` now.
    pub async fn select(&self, selection: &Selection, region: &str) -> Result<Vec<String>, String> {
        match selection {
            Selection::FileSystem { name } => self.file_systems(region, name).await,
            Selection::TaggedDatabases { tag_key } => {
                let mut arns = self
                    .tagged(region, "DescribeDBInstances", "DBInstance", tag_key)
                    .await?;
                arns.extend(
                    self.tagged(region, "DescribeDBClusters", "DBCluster", tag_key)
                        .await?,
                );
                Ok(arns)
            }
        }
    }

    /// The file systems named `name` (their `Name` tag, which DescribeFileSystems returns).
    async fn file_systems(&self, region: &str, name: &str) -> Result<Vec<String>, String> {
        let path = "/2015-02-01/file-systems";
        let headers = scoped_headers("elasticfilesystem", region, None)?;
        let answer = self
            .moto
            .send(Method::GET, path, headers, Bytes::new(), false)
            .await
            .map_err(|e| format!("EFS in moto: {}", e.message))?;
        if !answer.status.is_success() {
            return Err(format!(
                "EFS answered DescribeFileSystems with {}",
                answer.status
            ));
        }
        let listed: Value = serde_json::from_slice(&answer.body).map_err(|e| e.to_string())?;
        Ok(listed["FileSystems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|fs| fs["Name"].as_str() == Some(name))
            .filter_map(|fs| fs["FileSystemId"].as_str())
            .map(|id| Resource::efs_arn(region, id))
            .collect())
    }

    /// The ARNs of every `element` (`DBInstance`, `DBCluster`) `action` lists that carries
    /// the tag `key`, following `Marker` through every page.
    async fn tagged(
        &self,
        region: &str,
        action: &str,
        element: &str,
        key: &str,
    ) -> Result<Vec<String>, String> {
        let mut arns = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut body = format!("Action={action}&Version=2014-10-31");
            if let Some(m) = &marker {
                body.push_str(&format!("&Marker={}", percent_encode(m)));
            }
            let headers = scoped_headers("rds", region, Some(FORM))?;
            let answer = self
                .moto
                .send(Method::POST, "/", headers, Bytes::from(body), false)
                .await
                .map_err(|e| format!("RDS in moto: {}", e.message))?;
            if !answer.status.is_success() {
                return Err(format!("RDS answered {action} with {}", answer.status));
            }
            let xml = String::from_utf8_lossy(&answer.body);
            arns.extend(tagged_arns(&xml, element, key));
            marker = text_of(&xml, "Marker").filter(|m| !m.is_empty());
            if marker.is_none() {
                return Ok(arns);
            }
        }
    }
}

/// The `<element>Arn` of each `<element>` in a Describe answer whose `TagList` has `key`.
fn tagged_arns(xml: &str, element: &str, key: &str) -> Vec<String> {
    let open = format!("<{element}>");
    let arn_tag = format!("{element}Arn");
    xml.split(&open)
        .skip(1)
        .filter(|item| {
            let tags = text_of(item, "TagList").unwrap_or_default();
            rds_tags(&format!("<TagList>{tags}</TagList>")).contains_key(key)
        })
        .filter_map(|item| text_of(item, &arn_tag))
        .collect()
}

/// The text inside the first `<tag>…</tag>` of `xml`.
fn text_of(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&format!("</{tag}>"))?;
    Some(xml[start..start + len].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tagged_databases_are_picked() {
        let xml = "<DescribeDBInstancesResponse><DescribeDBInstancesResult><DBInstances>\
            <DBInstance><DBInstanceIdentifier>a</DBInstanceIdentifier>\
            <DBInstanceArn>arn:aws:rds:us-east-1:123456789012:db:a</DBInstanceArn>\
            <TagList><Tag><Key>bbws:tenant-id</Key><Value>a</Value></Tag></TagList></DBInstance>\
            <DBInstance><DBInstanceIdentifier>c-1</DBInstanceIdentifier>\
            <DBClusterIdentifier>c</DBClusterIdentifier>\
            <DBInstanceArn>arn:aws:rds:us-east-1:123456789012:db:c-1</DBInstanceArn>\
            <TagList/></DBInstance>\
            <DBInstance><DBInstanceArn>arn:aws:rds:us-east-1:123456789012:db:other</DBInstanceArn>\
            <TagList><Tag><Key>bbws:component</Key><Value>x</Value></Tag></TagList></DBInstance>\
            </DBInstances></DescribeDBInstancesResult></DescribeDBInstancesResponse>";
        assert_eq!(
            tagged_arns(xml, "DBInstance", "bbws:tenant-id"),
            ["arn:aws:rds:us-east-1:123456789012:db:a"]
        );
        let clusters = "<DBClusters><DBCluster><DBClusterMembers><DBClusterMember>\
            <DBInstanceIdentifier>c-1</DBInstanceIdentifier></DBClusterMember></DBClusterMembers>\
            <DBClusterArn>arn:aws:rds:us-east-1:123456789012:cluster:c</DBClusterArn>\
            <TagList><Tag><Key>bbws:tenant-id</Key><Value>c</Value></Tag></TagList>\
            </DBCluster></DBClusters>";
        assert_eq!(
            tagged_arns(clusters, "DBCluster", "bbws:tenant-id"),
            ["arn:aws:rds:us-east-1:123456789012:cluster:c"]
        );
        assert_eq!(
            text_of("<Marker>m-2</Marker>", "Marker").as_deref(),
            Some("m-2")
        );
    }
}
