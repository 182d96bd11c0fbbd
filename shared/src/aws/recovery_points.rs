//! A recovery point's tags, read where AWS keeps them. Recovery points of resources AWS
//! Backup fully manages (EFS) are `arn:aws:backup:…:recovery-point:…` and their tags are
//! AWS Backup's (ListTags). A database's recovery point is the RDS snapshot itself
//! (`arn:aws:rds:…:snapshot:awsbackup:…`, `cluster-snapshot:` for Aurora): ListTags "may
//! return one of the exceptions" for any ARN that does not begin with `arn:aws:backup`
//! (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListTags.html), so its tags
//! are read through RDS.

use std::collections::HashMap;

use crate::aws::Arn;
use crate::error::{Error, Operation};

/// The tags of one recovery point.
pub async fn tags(
    backup: &aws_sdk_backup::Client,
    rds: &aws_sdk_rds::Client,
    op: Operation,
    arn: &str,
) -> Result<HashMap<String, String>, Error> {
    match Arn::parse(arn).map(|a| a.service) {
        Some("backup") => {
            let mut tags = HashMap::new();
            let mut pages = backup.list_tags().resource_arn(arn).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| op.aws(&format!("listing the tags of {arn}"), e))?;
                tags.extend(page.tags().cloned().unwrap_or_default());
            }
            Ok(tags)
        }
        Some("rds") => {
            let out = rds
                .list_tags_for_resource()
                .resource_name(arn)
                .send()
                .await
                .map_err(|e| op.aws(&format!("listing the tags of {arn}"), e))?;
            Ok(out
                .tag_list()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_owned(),
                        t.value().unwrap_or_default().to_owned(),
                    ))
                })
                .collect())
        }
        _ => Err(op.failed(format!(
            "{arn} is not a recovery point of a file system or a database: its tags cannot be read"
        ))),
    }
}
