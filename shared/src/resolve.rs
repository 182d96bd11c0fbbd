//! Tenant resolution: from a tenant id to the resources that hold its content, found by the
//! tag `bbws:tenant-id`. Explicit overrides in the request win over what the tags say.

use aws_sdk_efs::operation::describe_access_points::DescribeAccessPointsError;
use aws_sdk_resourcegroupstagging::types::TagFilter;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Operation};
use crate::model::{tags, ResourceKind};
use crate::tenant::TenantId;

const TYPE_ACCESS_POINT: &str = "elasticfilesystem:access-point";
const TYPE_DB_INSTANCE: &str = "rds:db";
const TYPE_DB_CLUSTER: &str = "rds:cluster";
const TYPE_ECS_SERVICE: &str = "ecs:service";

/// Resources named explicitly in a request, instead of by tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Overrides {
    pub access_point_id: Option<String>,
    pub database_arn: Option<String>,
    pub service_arn: Option<String>,
}

/// The shared file system as seen by one tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileSystemTarget {
    pub file_system_id: String,
    pub file_system_arn: String,
    pub access_point_id: String,
    pub access_point_arn: String,
    /// The tenant's directory from the file system's root, e.g. `/tenant-1`.
    pub root_path: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseTarget {
    pub arn: String,
    pub kind: ResourceKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTarget {
    pub arn: String,
    pub cluster: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantResources {
    pub tenant_id: TenantId,
    pub file_system: FileSystemTarget,
    pub database: Option<DatabaseTarget>,
    pub service: Option<ServiceTarget>,
}

/// The parts of an ARN: `arn:partition:service:region:account:resource`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    pub fn parse(raw: &'a str) -> Option<Self> {
        let mut parts = raw.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let arn = Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        };
        (!arn.partition.is_empty() && !arn.service.is_empty() && !arn.resource.is_empty())
            .then_some(arn)
    }
}

/// Which kind of database an ARN names, if it names one.
pub fn database_kind(arn: &str) -> Option<ResourceKind> {
    let parsed = Arn::parse(arn)?;
    if parsed.service != "rds" {
        return None;
    }
    match parsed.resource.split_once(':') {
        Some(("db", name)) if !name.is_empty() => Some(ResourceKind::RdsInstance),
        Some(("cluster", name)) if !name.is_empty() => Some(ResourceKind::AuroraCluster),
        _ => None,
    }
}

/// An ECS service ARN in the long format: `service/<cluster>/<service>`.
pub fn service_target(arn: &str) -> Option<ServiceTarget> {
    let parsed = Arn::parse(arn)?;
    if parsed.service != "ecs" {
        return None;
    }
    let mut path = parsed.resource.split('/');
    match (path.next(), path.next(), path.next(), path.next()) {
        (Some("service"), Some(cluster), Some(name), None)
            if !cluster.is_empty() && !name.is_empty() =>
        {
            Some(ServiceTarget {
                arn: arn.to_owned(),
                cluster: cluster.to_owned(),
                name: name.to_owned(),
            })
        }
        _ => None,
    }
}

pub struct Resolver<'a> {
    pub tagging: &'a aws_sdk_resourcegroupstagging::Client,
    pub efs: &'a aws_sdk_efs::Client,
    pub operation: Operation,
}

impl Resolver<'_> {
    /// Finds the tenant's access point (so the shared file system), database and service.
    /// No access point means no such tenant: InvalidTenant.
    pub async fn resolve(
        &self,
        tenant: &TenantId,
        overrides: &Overrides,
    ) -> Result<TenantResources, Error> {
        let tagged = self.tagged_arns(tenant).await?;
        let of_type = |prefix: &str| -> Vec<&String> {
            tagged
                .iter()
                .map(|(arn, _)| arn)
                .filter(|arn| resource_type(arn).as_deref() == Some(prefix))
                .collect()
        };
        let databases = |prefix: &str| current_databases(&tagged, prefix);

        let access_point_id = match &overrides.access_point_id {
            Some(id) => id.clone(),
            None => {
                let access_points = of_type(TYPE_ACCESS_POINT);
                let arn = single(tenant, "EFS access point", &access_points)?.ok_or_else(|| {
                    Error::InvalidTenant(format!(
                        "tenant {tenant} has no EFS access point tagged {}={tenant}",
                        tags::TENANT_ID
                    ))
                })?;
                arn.rsplit('/').next().unwrap_or_default().to_owned()
            }
        };
        let file_system = self.file_system(tenant, &access_point_id).await?;

        let database = match &overrides.database_arn {
            Some(arn) => Some(DatabaseTarget {
                kind: database_kind(arn).ok_or_else(|| {
                    self.operation.bad_request(format!(
                        "databaseArn {arn:?} is not an RDS instance or Aurora cluster ARN"
                    ))
                })?,
                arn: arn.clone(),
            }),
            None => {
                // An Aurora cluster's instances may carry the tenant tag too: the cluster is
                // what gets backed up.
                let clusters = databases(TYPE_DB_CLUSTER);
                let found = match single(tenant, "Aurora cluster", &clusters)? {
                    Some(arn) => Some(arn),
                    None => single(tenant, "RDS instance", &databases(TYPE_DB_INSTANCE))?,
                };
                found.and_then(|arn| {
                    database_kind(arn).map(|kind| DatabaseTarget {
                        arn: arn.clone(),
                        kind,
                    })
                })
            }
        };

        let service = match &overrides.service_arn {
            Some(arn) => Some(service_target(arn).ok_or_else(|| {
                self.operation.bad_request(format!(
                    "serviceArn {arn:?} is not an ECS service ARN of the form \
                     arn:aws:ecs:<region>:<account>:service/<cluster>/<service>"
                ))
            })?),
            None => single(tenant, "ECS service", &of_type(TYPE_ECS_SERVICE))?
                .and_then(|arn| service_target(arn)),
        };

        Ok(TenantResources {
            tenant_id: tenant.clone(),
            file_system,
            database,
            service,
        })
    }

    /// The ARNs tagged with the tenant, each with all its tags.
    async fn tagged_arns(&self, tenant: &TenantId) -> Result<Vec<(String, Tags)>, Error> {
        let pages = self
            .tagging
            .get_resources()
            .tag_filters(
                TagFilter::builder()
                    .key(tags::TENANT_ID)
                    .values(tenant.as_str())
                    .build(),
            )
            .resource_type_filters(TYPE_ACCESS_POINT)
            .resource_type_filters(TYPE_DB_INSTANCE)
            .resource_type_filters(TYPE_DB_CLUSTER)
            .resource_type_filters(TYPE_ECS_SERVICE)
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| {
                self.operation
                    .aws(&format!("finding the resources of tenant {tenant}"), e)
            })?;
        Ok(pages
            .iter()
            .flat_map(|page| page.resource_tag_mapping_list())
            .filter_map(|mapping| {
                let tags = mapping
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect();
                mapping.resource_arn().map(|arn| (arn.to_owned(), tags))
            })
            .collect())
    }

    async fn file_system(
        &self,
        tenant: &TenantId,
        access_point_id: &str,
    ) -> Result<FileSystemTarget, Error> {
        let described = self
            .efs
            .describe_access_points()
            .access_point_id(access_point_id)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(DescribeAccessPointsError::AccessPointNotFound(_)) => Error::InvalidTenant(
                    format!("access point {access_point_id} of tenant {tenant} does not exist"),
                ),
                _ => self
                    .operation
                    .aws(&format!("describing access point {access_point_id}"), e),
            })?;
        let access_point = described.access_points().first().ok_or_else(|| {
            Error::InvalidTenant(format!(
                "access point {access_point_id} of tenant {tenant} does not exist"
            ))
        })?;
        let root_path = access_point
            .root_directory()
            .and_then(|root| root.path())
            .unwrap_or("/")
            .trim_end_matches('/')
            .to_owned();
        // The tenant's directory is what restores write back: an access point rooted
        // anywhere else would point a restore at another directory.
        if root_path != tenant.root_path() {
            return Err(Error::InvalidTenant(format!(
                "access point {access_point_id} of tenant {tenant} is rooted at {root_path:?}, \
                 not {:?}",
                tenant.root_path()
            )));
        }
        let (Some(file_system_id), Some(access_point_arn)) = (
            access_point.file_system_id(),
            access_point.access_point_arn(),
        ) else {
            return Err(self.operation.failed(format!(
                "access point {access_point_id} was described without its file system or ARN"
            )));
        };
        let arn = Arn::parse(access_point_arn).ok_or_else(|| {
            self.operation.failed(format!(
                "access point ARN {access_point_arn:?} is malformed"
            ))
        })?;
        Ok(FileSystemTarget {
            file_system_id: file_system_id.to_owned(),
            file_system_arn: format!(
                "arn:{}:elasticfilesystem:{}:{}:file-system/{file_system_id}",
                arn.partition, arn.region, arn.account
            ),
            access_point_id: access_point_id.to_owned(),
            access_point_arn: access_point_arn.to_owned(),
            root_path,
        })
    }
}

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

/// The resource type of an ARN in the tagging API's notation (`service:type`).
fn resource_type(arn: &str) -> Option<String> {
    let parsed = Arn::parse(arn)?;
    let kind = parsed
        .resource
        .split(['/', ':'])
        .next()
        .filter(|k| !k.is_empty())?;
    Some(format!("{}:{kind}", parsed.service))
}

/// At most one resource of a kind may carry a tenant's tag; two would make every backup and
/// restore a guess.
type Tags = std::collections::HashMap<String, String>;

/// The tenant's databases of one type, as far as backups and restores are concerned. A
/// promoted restore is tagged with the tenant too, beside the database it replaced (which
/// is never changed): the latest promoted one is the tenant's. A restored database not
/// promoted is not the tenant's even if it carries the tenant's tag.
fn current_databases<'a>(tagged: &'a [(String, Tags)], prefix: &str) -> Vec<&'a String> {
    let of_type: Vec<&(String, Tags)> = tagged
        .iter()
        .filter(|(arn, _)| resource_type(arn).as_deref() == Some(prefix))
        .collect();
    let latest_promotion = of_type
        .iter()
        .filter_map(|(_, tags)| tags.get(tags::PROMOTED_AT))
        .max();
    match latest_promotion {
        Some(latest) => of_type
            .iter()
            .filter(|(_, tags)| tags.get(tags::PROMOTED_AT) == Some(latest))
            .map(|(arn, _)| arn)
            .collect(),
        None => of_type
            .iter()
            .filter(|(_, tags)| !tags.contains_key(tags::RESTORED_FROM))
            .map(|(arn, _)| arn)
            .collect(),
    }
}

fn single<'a>(
    tenant: &TenantId,
    what: &str,
    found: &[&'a String],
) -> Result<Option<&'a String>, Error> {
    match found {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(Error::InvalidTenant(format!(
            "tenant {tenant} has {} resources of kind {what} tagged {}={tenant} ({}); name the \
             one to use in the request's resources",
            many.len(),
            tags::TENANT_ID,
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_are_split_into_their_parts() {
        let arn =
            Arn::parse("arn:aws:elasticfilesystem:af-south-1:123456789012:access-point/fsap-1")
                .unwrap();
        assert_eq!(arn.region, "af-south-1");
        assert_eq!(arn.account, "123456789012");
        assert_eq!(arn.resource, "access-point/fsap-1");
        assert!(Arn::parse("not-an-arn").is_none());
        assert!(Arn::parse("arn:aws").is_none());
    }

    #[test]
    fn database_kinds_come_from_the_arn() {
        assert_eq!(
            database_kind("arn:aws:rds:af-south-1:123456789012:db:tenant-1"),
            Some(ResourceKind::RdsInstance)
        );
        assert_eq!(
            database_kind("arn:aws:rds:af-south-1:123456789012:cluster:tenant-1"),
            Some(ResourceKind::AuroraCluster)
        );
        assert_eq!(
            database_kind("arn:aws:rds:af-south-1:123456789012:snapshot:x"),
            None
        );
        assert_eq!(
            database_kind("arn:aws:ecs:af-south-1:123456789012:db:x"),
            None
        );
    }

    #[test]
    fn service_arns_name_cluster_and_service() {
        let target =
            service_target("arn:aws:ecs:af-south-1:123456789012:service/bbws-dev/tenant-1")
                .unwrap();
        assert_eq!(target.cluster, "bbws-dev");
        assert_eq!(target.name, "tenant-1");
        // The short format names no cluster, so it cannot be redeployed reliably.
        assert!(service_target("arn:aws:ecs:af-south-1:123456789012:service/tenant-1").is_none());
    }

    #[test]
    fn resource_types_follow_the_tagging_notation() {
        assert_eq!(
            resource_type("arn:aws:rds:af-south-1:123456789012:db:tenant-1").as_deref(),
            Some("rds:db")
        );
        assert_eq!(
            resource_type("arn:aws:ecs:af-south-1:123456789012:service/c/s").as_deref(),
            Some("ecs:service")
        );
        assert_eq!(
            resource_type("arn:aws:elasticfilesystem:af-south-1:123456789012:access-point/fsap-1")
                .as_deref(),
            Some("elasticfilesystem:access-point")
        );
    }
}
