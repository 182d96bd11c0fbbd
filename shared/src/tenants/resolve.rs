//! Tenant resolution: from a tenant id to the resources that hold its content, found by the
//! tag `bbws:tenant-id`. Explicit overrides in the request win over what the tags say.

use aws_sdk_efs::operation::describe_access_points::DescribeAccessPointsError;
use aws_sdk_resourcegroupstagging::types::TagFilter;

use super::resources::{DatabaseTarget, FileSystemTarget, Overrides, TenantResources};
use super::TYPE_ACCESS_POINT;
use crate::aws::arn::resource_type;
use crate::aws::{database_kind, service_target, Arn};
use crate::error::{Error, ErrorKind, Operation};
use crate::tags;
use crate::tenant_id::TenantId;

const TYPE_DB_INSTANCE: &str = "rds:db";
const TYPE_DB_CLUSTER: &str = "rds:cluster";
const TYPE_ECS_SERVICE: &str = "ecs:service";

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
                    Error::new(
                        ErrorKind::InvalidTenant,
                        format!(
                            "tenant {tenant} has no EFS access point tagged {}={tenant}",
                            tags::TENANT_ID
                        ),
                    )
                })?;
                arn.rsplit('/').next().unwrap_or_default().to_owned()
            }
        };
        let file_system = self.file_system(tenant, &access_point_id).await?;

        // A resource named in the request must already be the tenant's: otherwise a request
        // could back up (or restore over) another tenant's database under this tenant's name.
        let owned = |arn: &String, what: &str| -> Result<(), Error> {
            if tagged.iter().any(|(tagged_arn, _)| tagged_arn == arn) {
                return Ok(());
            }
            Err(self.operation.bad_request(format!(
                "{what} {arn:?} does not carry {}={tenant}: only the tenant's own resources \
                 can be named",
                tags::TENANT_ID
            )))
        };
        if let Some(arn) = &overrides.database_arn {
            owned(arn, "databaseArn")?;
        }
        if let Some(arn) = &overrides.service_arn {
            owned(arn, "serviceArn")?;
        }

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

    /// Every database tagged with the tenant, current or not: a database the tenant's
    /// backups were made of may since have been replaced by a promoted restore.
    pub async fn databases_ever(&self, tenant: &TenantId) -> Result<Vec<String>, Error> {
        Ok(self
            .tagged_arns(tenant)
            .await?
            .into_iter()
            .map(|(arn, _)| arn)
            .filter(|arn| {
                matches!(
                    resource_type(arn).as_deref(),
                    Some(TYPE_DB_INSTANCE | TYPE_DB_CLUSTER)
                )
            })
            .collect())
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
                Some(DescribeAccessPointsError::AccessPointNotFound(_)) => Error::new(
                    ErrorKind::InvalidTenant,
                    format!("access point {access_point_id} of tenant {tenant} does not exist"),
                ),
                _ => self
                    .operation
                    .aws(&format!("describing access point {access_point_id}"), e),
            })?;
        let access_point = described.access_points().first().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidTenant,
                format!("access point {access_point_id} of tenant {tenant} does not exist"),
            )
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
            return Err(Error::new(
                ErrorKind::InvalidTenant,
                format!(
                "access point {access_point_id} of tenant {tenant} is rooted at {root_path:?}, \
                 not {:?}",
                tenant.root_path()
            ),
            ));
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
        many => Err(Error::new(
            ErrorKind::InvalidTenant,
            format!(
            "tenant {tenant} has {} resources of kind {what} tagged {}={tenant} ({}); name the \
             one to use in the request's resources",
            many.len(),
            tags::TENANT_ID,
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        )),
    }
}
