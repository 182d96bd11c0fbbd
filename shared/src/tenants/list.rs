//! Every tenant on the platform: the ids on access points tagged `bbws:tenant-id`.

use aws_sdk_resourcegroupstagging::types::TagFilter;

use super::TYPE_ACCESS_POINT;
use crate::error::{Error, Operation};
use crate::tags;
use crate::tenant_id::TenantId;

/// Every tenant: the `bbws:tenant-id` values on access points, sorted and without repeats.
/// A value that is not a valid tenant id is left out (and logged): it names no tenant.
pub async fn list_tenants(
    tagging: &aws_sdk_resourcegroupstagging::Client,
) -> Result<Vec<String>, Error> {
    let pages = tagging
        .get_resources()
        .tag_filters(TagFilter::builder().key(tags::TENANT_ID).build())
        .resource_type_filters(TYPE_ACCESS_POINT)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| Operation::Backup.aws("finding the tenants", e))?;
    let mut tenants: Vec<String> = pages
        .iter()
        .flat_map(|page| page.resource_tag_mapping_list())
        .flat_map(|mapping| mapping.tags())
        .filter(|tag| tag.key() == tags::TENANT_ID)
        .filter_map(|tag| match TenantId::parse(tag.value()) {
            Ok(id) => Some(id.to_string()),
            Err(e) => {
                tracing::warn!(%e, "access point tag names no valid tenant");
                None
            }
        })
        .collect();
    tenants.sort();
    tenants.dedup();
    Ok(tenants)
}

/// Whether `tenant` is onboarded: an access point carries its `bbws:tenant-id`. An
/// offboarded tenant's files stay on the file system, but its access point is gone.
pub async fn is_onboarded(
    tagging: &aws_sdk_resourcegroupstagging::Client,
    tenant: &TenantId,
) -> Result<bool, Error> {
    let pages = tagging
        .get_resources()
        .tag_filters(
            TagFilter::builder()
                .key(tags::TENANT_ID)
                .values(tenant.as_str())
                .build(),
        )
        .resource_type_filters(TYPE_ACCESS_POINT)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| {
            Operation::Restore.aws(&format!("finding tenant {tenant}'s access point"), e)
        })?;
    Ok(pages
        .iter()
        .any(|page| !page.resource_tag_mapping_list().is_empty()))
}
