//! RDS ListTagsForResource for the snapshots AWS Backup makes of databases
//! (`arn:aws:rds:…:snapshot:awsbackup:job-…`, `cluster-snapshot:awsbackup:…`). Those
//! snapshots are the database recovery points, and RDS is where their tags are read
//! (https://docs.aws.amazon.com/aws-backup/latest/devguide/access-control.html lists them as
//! the recovery point ARNs of RDS and Aurora). moto cannot hold them (it refuses the
//! `awsbackup:` identifiers AWS Backup gives them), so the front answers for them from the
//! AWS Backup stand-in; every other RDS call goes to moto.

use std::collections::BTreeMap;

use hyper::StatusCode;

use crate::web::{self, Reply};
use crate::xml::escape;

const NAMESPACE: &str = "http://rds.amazonaws.com/doc/2014-10-31/";

/// The snapshot ARN of a ListTagsForResource request (query protocol, form body) for an
/// AWS Backup snapshot; `None` for any other request.
pub fn backup_snapshot_of(body: &[u8]) -> Option<String> {
    let mut action = None;
    let mut resource = None;
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "Action" => action = Some(v.into_owned()),
            "ResourceName" => resource = Some(v.into_owned()),
            _ => {}
        }
    }
    let resource = resource?;
    (action.as_deref() == Some("ListTagsForResource") && is_backup_snapshot(&resource))
        .then_some(resource)
}

/// `arn:<partition>:rds:<region>:<account>:snapshot:awsbackup:…` or `cluster-snapshot:`.
pub fn is_backup_snapshot(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(8, ':').collect();
    matches!(
        parts.as_slice(),
        [
            "arn",
            _,
            "rds",
            _,
            _,
            "snapshot" | "cluster-snapshot",
            "awsbackup",
            _
        ]
    )
}

/// RDS's answer: the tags, or DBSnapshotNotFound (404) when there is no such snapshot.
pub fn reply(arn: &str, tags: Option<BTreeMap<String, String>>) -> Reply {
    let request_id = crate::ids::uuid();
    let (status, body) = match tags {
        Some(tags) => {
            let list: String = tags
                .iter()
                .map(|(k, v)| {
                    format!(
                        "<Tag><Key>{}</Key><Value>{}</Value></Tag>",
                        escape(k),
                        escape(v)
                    )
                })
                .collect();
            (
                StatusCode::OK,
                format!(
                    "<ListTagsForResourceResponse xmlns=\"{NAMESPACE}\"><ListTagsForResourceResult>\
                     <TagList>{list}</TagList></ListTagsForResourceResult><ResponseMetadata>\
                     <RequestId>{request_id}</RequestId></ResponseMetadata>\
                     </ListTagsForResourceResponse>"
                ),
            )
        }
        None => {
            let code = if arn.contains(":cluster-snapshot:") {
                "DBClusterSnapshotNotFoundFault"
            } else {
                "DBSnapshotNotFound"
            };
            (
                StatusCode::NOT_FOUND,
                format!(
                    "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>Sender</Type>\
                     <Code>{code}</Code><Message>{} not found.</Message></Error>\
                     <RequestId>{request_id}</RequestId></ErrorResponse>",
                    escape(arn)
                ),
            )
        }
    };
    let mut reply = web::text(status, body);
    web::set_header(&mut reply, "content-type", "text/xml");
    web::set_header(&mut reply, "x-amzn-requestid", &request_id);
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_list_tags_of_backup_snapshots_is_answered_here() {
        let arn = "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-0a1b";
        let body = format!(
            "Action=ListTagsForResource&Version=2014-10-31&ResourceName={}",
            crate::web::percent_encode(arn)
        );
        assert_eq!(backup_snapshot_of(body.as_bytes()).as_deref(), Some(arn));
        let cluster = "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:awsbackup:job-1";
        assert!(is_backup_snapshot(cluster));
        // The tenant's own database, and a snapshot someone else took, are moto's.
        for other in [
            "arn:aws:rds:us-east-1:123456789012:db:tenant-1",
            "arn:aws:rds:us-east-1:123456789012:snapshot:manual-1",
        ] {
            let body = format!("Action=ListTagsForResource&ResourceName={other}");
            assert_eq!(backup_snapshot_of(body.as_bytes()), None, "{other}");
        }
        let describe = format!("Action=DescribeDBSnapshots&ResourceName={arn}");
        assert_eq!(backup_snapshot_of(describe.as_bytes()), None);
    }

    #[test]
    fn tags_and_not_found_are_worded_as_rds_words_them() {
        let arn = "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-1";
        let tags = BTreeMap::from([("bbws:tenant-id".to_owned(), "a<b".to_owned())]);
        let ok = reply(arn, Some(tags));
        assert_eq!(ok.status(), StatusCode::OK);
        let missing = reply(arn, None);
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }
}
