//! Tenant lifecycle: the platform's onboarding system announces tenants as EventBridge events
//! (source `bbws.tenants`). A `TenantCreated` gets the tenant its EFS access point, exactly as
//! the platform's design gives it (root `/<tenant-id>`, owner 33:33, 0755, POSIX user 33:33,
//! tags), then a `TenantStorageReady` event. Deleting a tenant's access point never touches
//! its files.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_sdk_efs::types::{AccessPointDescription, CreationInfo, PosixUser, RootDirectory, Tag};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::Config;
use crate::error::{Error, Operation};
use crate::events::{self, TENANTS_SOURCE};
use crate::model::tags;
use crate::resolve::{database_kind, service_target};
use crate::tenant::TenantId;

/// The web server's user and group in the WordPress containers (www-data).
const WWW_DATA: i64 = 33;

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TenantDetail {
    pub tenant_id: String,
    /// The tenant's database and service, when the platform names them: onboarding tags them
    /// `bbws:tenant-id`, which the hourly database plan and tenant resolution select on.
    #[serde(default)]
    pub database_arn: Option<String>,
    #[serde(default)]
    pub service_arn: Option<String>,
}

/// A validated tenant lifecycle event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantEvent {
    pub tenant: TenantId,
    /// Resources to tag for the tenant (database, service), checked to be of the right kind.
    pub resources: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StorageReady {
    pub tenant_id: String,
    pub file_system_id: String,
    pub access_point_id: String,
    pub access_point_arn: String,
    pub root_directory: String,
    /// False when the access point already existed (a repeated event).
    pub created: bool,
    /// The database and service now tagged `bbws:tenant-id`.
    pub tagged_resources: Vec<String>,
    pub event_id: String,
}

pub struct Onboarding<'a> {
    pub config: &'a Config,
    pub efs: &'a aws_sdk_efs::Client,
    pub tagging: &'a aws_sdk_resourcegroupstagging::Client,
    pub events: &'a aws_sdk_eventbridge::Client,
}

const OP: Operation = Operation::Backup;

/// Reads a tenant lifecycle event: the right source and type, a strict tenant id, and
/// resource ARNs of the right kinds.
pub fn parse_event(event: Value, expected_type: &str) -> Result<TenantEvent, Error> {
    let event: EventBridgeEvent<TenantDetail> = serde_json::from_value(event).map_err(|e| {
        Error::InvalidTenant(format!("the {expected_type} event is not valid: {e}"))
    })?;
    if event.source != TENANTS_SOURCE || event.detail_type != expected_type {
        return Err(Error::InvalidTenant(format!(
            "expected a {expected_type} event from {TENANTS_SOURCE}, got {:?} from {:?}",
            event.detail_type, event.source
        )));
    }
    let tenant = TenantId::parse(&event.detail.tenant_id)?;
    let mut resources = Vec::new();
    if let Some(arn) = event.detail.database_arn {
        if database_kind(&arn).is_none() {
            return Err(Error::InvalidTenant(format!(
                "databaseArn {arn:?} is not an RDS instance or Aurora cluster ARN"
            )));
        }
        resources.push(arn);
    }
    if let Some(arn) = event.detail.service_arn {
        if service_target(&arn).is_none() {
            return Err(Error::InvalidTenant(format!(
                "serviceArn {arn:?} is not an ECS service ARN"
            )));
        }
        resources.push(arn);
    }
    Ok(TenantEvent { tenant, resources })
}

impl Onboarding<'_> {
    fn file_system_id(&self) -> Result<&str, Error> {
        self.config
            .file_system_id
            .as_deref()
            .ok_or_else(|| OP.failed("FILE_SYSTEM_ID is not set: no file system to onboard onto"))
    }

    /// The tenant's access point on the shared file system, if it has one.
    pub async fn find(&self, tenant: &TenantId) -> Result<Option<AccessPointDescription>, Error> {
        let fs = self.file_system_id()?;
        let points = self
            .efs
            .describe_access_points()
            .file_system_id(fs)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| OP.aws(&format!("listing the access points of {fs}"), e))?;
        Ok(points.into_iter().find(|ap| {
            ap.root_directory().and_then(|r| r.path()) == Some(tenant.root_path().as_str())
        }))
    }

    /// Creates the tenant's access point unless it exists, tags the tenant's database and
    /// service, then announces it.
    pub async fn onboard(&self, event: &TenantEvent) -> Result<StorageReady, Error> {
        let tenant = &event.tenant;
        let fs = self.file_system_id()?.to_owned();
        let (access_point, created) = match self.find(tenant).await? {
            Some(existing) => (existing, false),
            None => (self.create(tenant, &fs).await?, true),
        };
        let (Some(id), Some(arn)) = (
            access_point.access_point_id(),
            access_point.access_point_arn(),
        ) else {
            return Err(OP.failed(format!(
                "the access point of {tenant} came back without its id"
            )));
        };
        let mut ready = StorageReady {
            tenant_id: tenant.to_string(),
            file_system_id: fs,
            access_point_id: id.to_owned(),
            access_point_arn: arn.to_owned(),
            root_directory: tenant.root_path(),
            created,
            tagged_resources: event.resources.clone(),
            event_id: String::new(),
        };
        self.tag_resources(tenant, &event.resources).await?;
        let detail = serde_json::to_value(&ready).expect("plain fields encode");
        ready.event_id = events::put(
            self.events,
            OP,
            &self.config.event_bus_name,
            "TenantStorageReady",
            &detail,
        )
        .await?;
        tracing::info!(tenant = %tenant, access_point = id, created, "tenant storage ready");
        Ok(ready)
    }

    /// Tags `arns` with the tenant id (tagging an already tagged resource changes nothing).
    async fn tag_resources(&self, tenant: &TenantId, arns: &[String]) -> Result<(), Error> {
        if arns.is_empty() {
            return Ok(());
        }
        let out = self
            .tagging
            .tag_resources()
            .set_resource_arn_list(Some(arns.to_vec()))
            .tags(tags::TENANT_ID, tenant.as_str())
            .send()
            .await
            .map_err(|e| OP.aws(&format!("tagging the resources of {tenant}"), e))?;
        match out.failed_resources_map() {
            Some(failed) if !failed.is_empty() => Err(OP.failed(format!(
                "could not tag {} for tenant {tenant}: {}",
                failed.keys().cloned().collect::<Vec<_>>().join(", "),
                failed
                    .values()
                    .filter_map(|f| f.error_message())
                    .collect::<Vec<_>>()
                    .join("; ")
            ))),
            _ => Ok(()),
        }
    }

    async fn create(&self, tenant: &TenantId, fs: &str) -> Result<AccessPointDescription, Error> {
        let tag = |key: &str, value: &str| {
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .expect("key and value are set")
        };
        let out = self
            .efs
            .create_access_point()
            // The same token for the same tenant: EFS answers a repeated create with the
            // access point it already made.
            .client_token(format!("bbws-{tenant}"))
            .file_system_id(fs)
            .posix_user(
                PosixUser::builder()
                    .uid(WWW_DATA)
                    .gid(WWW_DATA)
                    .build()
                    .expect("uid and gid are set"),
            )
            .root_directory(
                RootDirectory::builder()
                    .path(tenant.root_path())
                    .creation_info(
                        CreationInfo::builder()
                            .owner_uid(WWW_DATA)
                            .owner_gid(WWW_DATA)
                            .permissions("0755")
                            .build()
                            .expect("owner and permissions are set"),
                    )
                    .build(),
            )
            .tags(tag(tags::TENANT_ID, tenant.as_str()))
            .tags(tag(tags::COMPONENT, "efs"))
            .tags(tag(tags::ENVIRONMENT, &self.config.environment))
            .send()
            .await
            .map_err(|e| OP.aws(&format!("creating the access point of {tenant}"), e))?;
        Ok(AccessPointDescription::builder()
            .set_access_point_id(out.access_point_id().map(str::to_owned))
            .set_access_point_arn(out.access_point_arn().map(str::to_owned))
            .set_file_system_id(out.file_system_id().map(str::to_owned))
            .build())
    }

    /// Deletes the tenant's access point (offboarding, after its final backup). The files
    /// under `/<tenant-id>` stay on the file system; the output says where.
    pub async fn remove_access_point(&self, tenant: &TenantId) -> Result<Value, Error> {
        let fs = self.file_system_id()?.to_owned();
        let found = self.find(tenant).await?;
        if let Some(id) = found.as_ref().and_then(|ap| ap.access_point_id()) {
            self.efs
                .delete_access_point()
                .access_point_id(id)
                .send()
                .await
                .map_err(|e| OP.aws(&format!("deleting access point {id}"), e))?;
        }
        Ok(json!({
            "tenantId": tenant.as_str(),
            "accessPointDeleted": found.as_ref().and_then(|ap| ap.access_point_id()),
            "filesKeptAt": format!("{fs}:{}", tenant.root_path()),
        }))
    }
}
