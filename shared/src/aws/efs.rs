//! EFS look-ups shared by capabilities.

use aws_sdk_efs::types::AccessPointDescription;

use crate::error::{Error, Operation};

/// Every access point of the file system `fs`, all pages.
pub async fn access_points(
    efs: &aws_sdk_efs::Client,
    op: Operation,
    fs: &str,
) -> Result<Vec<AccessPointDescription>, Error> {
    efs.describe_access_points()
        .file_system_id(fs)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| op.aws(&format!("listing the access points of {fs}"), e))
}
