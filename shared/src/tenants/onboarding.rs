//! `onboard-tenant`: a `TenantCreated` gets the tenant its EFS access point, exactly as the
//! platform's design gives it (root `/<tenant-id>`, owner 33:33, 0755, POSIX user 33:33,
//! tags), its database and service tagged, its database endpoint setting created (the one
//! place its site reads the endpoint from: [`super::endpoint`]), then a `TenantStorageReady`
//! event.
//!
//! Before the access point is made, the tenant's directory is looked at through the
//! function's read-only mount of the whole file system: a reserved name
//! ([`crate::layout::reserved`]) or a directory already holding files (another tenant's
//! leftovers, which the new site would serve) is refused `InvalidTenant` with nothing
//! created, unless the event says `"adopt": true`.

use std::path::{Path, PathBuf};

use aws_config::SdkConfig;
use aws_sdk_efs::types::{AccessPointDescription, CreationInfo, PosixUser, RootDirectory, Tag};
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::access_points::AccessPoints;
use super::endpoint::{self, EndpointSetting};
use super::lifecycle::{parse_event, TenantEvent};
use crate::config::{required, Config, ConfigError};
use crate::error::{Error, ErrorKind, Operation};
use crate::events;
use crate::layout;
use crate::runtime::{encode, Service};
use crate::tags;
use crate::tenant_id::TenantId;

/// The web server's user and group in the WordPress containers (www-data).
const WWW_DATA: i64 = 33;

const OP: Operation = Operation::Backup;

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
    /// The tenant's ECS task-definition volume, ready to use (seed 000 section 4.4).
    pub efs_volume_configuration: EfsVolumeConfiguration,
    /// Resources the event names that a restore has superseded (`bbws:superseded-tenant-id`):
    /// left as they are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded_resources: Vec<String>,
    /// The tenant's database endpoint parameter and the container secret reading it; absent
    /// when the event names no database.
    pub database_endpoint: Option<EndpointSetting>,
    /// The tenant's own cache user (its key prefix only) and the secret its site reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_user: Option<super::cache_user::CacheUser>,
    pub event_id: String,
}

/// An ECS task definition's `efsVolumeConfiguration` mounting the tenant's access point
/// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_EFSVolumeConfiguration.html).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EfsVolumeConfiguration {
    pub file_system_id: String,
    /// "/": with an access point ECS takes "/" or nothing, and the access point's own root
    /// (`/<tenant-id>`) is what the task sees.
    pub root_directory: String,
    /// "ENABLED": IAM authorization needs it, and the file-system policy denies any
    /// connection without TLS.
    pub transit_encryption: String,
    /// The port the EFS mount helper's TLS tunnel uses between the host and EFS (seed: 2999).
    pub transit_encryption_port: u16,
    pub authorization_config: EfsAuthorizationConfig,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EfsAuthorizationConfig {
    pub access_point_id: String,
    /// "ENABLED": the task's IAM role is the mount's identity, so the file-system policy and
    /// the role's own grants apply.
    pub iam: String,
}

/// Seed 000 section 4.4's TLS tunnel port.
const TRANSIT_ENCRYPTION_PORT: u16 = 2999;

impl EfsVolumeConfiguration {
    /// The volume of the tenant whose access point is `access_point_id` on `file_system_id`.
    pub fn for_access_point(file_system_id: &str, access_point_id: &str) -> Self {
        Self {
            file_system_id: file_system_id.to_owned(),
            root_directory: "/".to_owned(),
            transit_encryption: "ENABLED".to_owned(),
            transit_encryption_port: TRANSIT_ENCRYPTION_PORT,
            authorization_config: EfsAuthorizationConfig {
                access_point_id: access_point_id.to_owned(),
                iam: "ENABLED".to_owned(),
            },
        }
    }
}

pub struct Onboarding {
    pub config: Config,
    pub access_points: AccessPoints,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub events: aws_sdk_eventbridge::Client,
    /// The tenant database's endpoint, read for its endpoint setting.
    pub rds: aws_sdk_rds::Client,
    pub ssm: aws_sdk_ssm::Client,
    /// The whole file system, mounted read-only through its root access point
    /// (`EFS_MOUNT_PATH`): where a new tenant's directory is checked to be empty.
    pub mount: PathBuf,
}

impl Service for Onboarding {
    fn build(
        sdk: &SdkConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            config: Config::from_lookup(lookup)?,
            access_points: AccessPoints::build(sdk, lookup)?,
            tagging: aws_sdk_resourcegroupstagging::Client::new(sdk),
            events: aws_sdk_eventbridge::Client::new(sdk),
            rds: aws_sdk_rds::Client::new(sdk),
            ssm: aws_sdk_ssm::Client::new(sdk),
            mount: required(&lookup, "EFS_MOUNT_PATH")?.into(),
        })
    }
}

/// The `onboard-tenant` handler (`TenantCreated`, from EventBridge).
pub async fn handler(event: LambdaEvent<Value>, onboarding: &Onboarding) -> Result<Value, Error> {
    let tenant = parse_event(event.payload, "TenantCreated")?;
    encode(OP, &onboarding.onboard(&tenant).await?)
}

impl Onboarding {
    /// Creates the tenant's access point unless it exists, tags the tenant's database and
    /// service, then announces it.
    pub async fn onboard(&self, event: &TenantEvent) -> Result<StorageReady, Error> {
        let tenant = &event.tenant;
        let fs = self.access_points.file_system_id()?.to_owned();
        // Before anything is made or tagged: a database or service that is already another
        // tenant's is refused (a forged or mistaken event must not re-assign it).
        let superseded = self.refuse_others(tenant, &event.resources).await?;
        // A database a restore has superseded stays superseded: a re-delivered event that
        // still names it neither tags it nor makes it the site's database again.
        let resources: Vec<String> = event
            .resources
            .iter()
            .filter(|r| !superseded.contains(r))
            .cloned()
            .collect();
        let (access_point, created) = match self.access_points.find(tenant).await? {
            // A repeated event: the directory is the tenant's own by now.
            Some(existing) => (existing, false),
            None => match self.create_checked(event, &fs).await? {
                Created::New(made) => (*made, true),
                // The token made it already: this create's first answer was lost (the SDK
                // retried it), or a concurrent delivery made it. Either way it exists once.
                Created::AlreadyMade => match self.access_points.find(tenant).await? {
                    Some(existing) => (existing, true),
                    None => {
                        return Err(OP.failed(format!(
                            "EFS says the access point of {tenant} exists, but it is not found"
                        )))
                    }
                },
            },
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
            efs_volume_configuration: EfsVolumeConfiguration::for_access_point(&fs, id),
            file_system_id: fs,
            access_point_id: id.to_owned(),
            access_point_arn: arn.to_owned(),
            root_directory: tenant.root_path(),
            created,
            tagged_resources: resources.clone(),
            superseded_resources: superseded,
            database_endpoint: None,
            cache_user: None,
            event_id: String::new(),
        };
        self.tag_resources(tenant, &resources).await?;
        ready.database_endpoint = self.endpoint_setting(tenant, &resources).await?;
        #[cfg(all(feature = "sdk-elasticache", feature = "sdk-secretsmanager"))]
        if let Some(cache_users) = &self.access_points.cache_users {
            ready.cache_user = Some(cache_users.create(tenant).await?);
        }
        #[cfg(feature = "sdk-dynamodb")]
        self.access_points
            .record_life(tenant, &access_point)
            .await?;
        let detail = serde_json::to_value(&ready).expect("plain fields encode");
        ready.event_id = events::put(
            &self.events,
            OP,
            &self.config.event_bus_name,
            "TenantStorageReady",
            &detail,
        )
        .await?;
        tracing::info!(tenant = %tenant, access_point = id, created, "tenant storage ready");
        Ok(ready)
    }

    /// Creates the access point of a tenant whose id is not reserved and whose directory is
    /// empty or absent (or adopted).
    async fn create_checked(&self, event: &TenantEvent, fs: &str) -> Result<Created, Error> {
        let tenant = &event.tenant;
        if let Some(reason) = layout::reserved(tenant) {
            return Err(Error::new(ErrorKind::InvalidTenant, reason));
        }
        let dir = layout::tenant_dir(&self.mount, tenant);
        let adopt = event.adopt;
        tokio::task::spawn_blocking(move || refuse_leftovers(&dir, adopt))
            .await
            .map_err(|e| OP.failed(format!("looking at the tenant's directory stopped: {e}")))??;
        self.create(tenant, fs).await
    }

    /// Creates the tenant's database endpoint parameter from the database among `arns`,
    /// unless it exists: a repeated event, or a restore that has since put another database
    /// live, must not move the site back.
    async fn endpoint_setting(
        &self,
        tenant: &TenantId,
        arns: &[String],
    ) -> Result<Option<EndpointSetting>, Error> {
        let Some(database) = arns.iter().find(|a| crate::aws::database_kind(a).is_some()) else {
            return Ok(None);
        };
        let name = endpoint::parameter_name(&self.config.environment, tenant.as_str());
        let current = endpoint::endpoint_of(&self.rds, OP, database).await?;
        let created = endpoint::write(
            &self.ssm,
            OP,
            &name,
            &current,
            &format!("Database endpoint of tenant {tenant} (host:port), read by its site"),
            false,
        )
        .await?;
        let value = if created {
            current
        } else {
            endpoint::read(&self.ssm, OP, &name)
                .await?
                .unwrap_or(current)
        };
        Ok(Some(EndpointSetting::new(database, name, value, created)))
    }

    /// Refuses `arns` when any already carries another tenant's id; returns those a restore
    /// has superseded for this tenant.
    async fn refuse_others(
        &self,
        tenant: &TenantId,
        arns: &[String],
    ) -> Result<Vec<String>, Error> {
        let mut superseded = Vec::new();
        if arns.is_empty() {
            return Ok(superseded);
        }
        let pages = self
            .tagging
            .get_resources()
            .set_resource_arn_list(Some(arns.to_vec()))
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| OP.aws(&format!("reading the tags of {tenant}'s resources"), e))?;
        for mapping in pages.iter().flat_map(|p| p.resource_tag_mapping_list()) {
            let owner = mapping
                .tags()
                .iter()
                .find(|t| t.key() == tags::TENANT_ID)
                .map(|t| t.value());
            let was = mapping
                .tags()
                .iter()
                .find(|t| t.key() == tags::SUPERSEDED_TENANT_ID)
                .map(|t| t.value());
            if was == Some(tenant.as_str()) && owner.is_none() {
                superseded.extend(mapping.resource_arn().map(str::to_owned));
                continue;
            }
            if let Some(owner) = owner.filter(|o| *o != tenant.as_str()) {
                return Err(Error::new(
                    ErrorKind::InvalidTenant,
                    format!(
                        "{} already belongs to tenant {owner} ({}={owner}): it cannot be \
                         given to tenant {tenant}; nothing was created or tagged",
                        mapping.resource_arn().unwrap_or_default(),
                        tags::TENANT_ID
                    ),
                ));
            }
        }
        Ok(superseded)
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

    async fn create(&self, tenant: &TenantId, fs: &str) -> Result<Created, Error> {
        let tag = |key: &str, value: &str| {
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .expect("key and value are set")
        };
        let out = self
            .access_points
            .efs
            .create_access_point()
            // The same token for the same tenant: EFS answers a repeated create with
            // AccessPointAlreadyExists instead of making a second one.
            .client_token(access_point_token(tenant))
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
            .await;
        let out = match out {
            Ok(out) => out,
            // AWS answers a create whose ClientToken already made an access point so.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_access_point_already_exists()) =>
            {
                return Ok(Created::AlreadyMade)
            }
            Err(e) => return Err(OP.aws(&format!("creating the access point of {tenant}"), e)),
        };
        Ok(Created::New(Box::new(
            AccessPointDescription::builder()
                .set_access_point_id(out.access_point_id().map(str::to_owned))
                .set_access_point_arn(out.access_point_arn().map(str::to_owned))
                .set_file_system_id(out.file_system_id().map(str::to_owned))
                .build(),
        )))
    }
}

/// What a create with the tenant's ClientToken did.
enum Created {
    New(Box<AccessPointDescription>),
    AlreadyMade,
}

/// Refuses a tenant's directory that already holds something, unless `adopt`; anything but a
/// directory there (a link, a file) is refused even then: the site would be served through it.
fn refuse_leftovers(dir: &Path, adopt: bool) -> Result<(), Error> {
    let refused = |why: String| {
        Err(Error::new(
            ErrorKind::InvalidTenant,
            format!("{why}; nothing was created"),
        ))
    };
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(OP.failed(format!("looking at {}: {e}", dir.display()))),
        Ok(meta) if !meta.is_dir() => refused(format!(
            "{} exists and is not a directory: the tenant's directory cannot be made there",
            dir.display()
        )),
        Ok(_) => {
            let mut entries = std::fs::read_dir(dir)
                .map_err(|e| OP.failed(format!("listing {}: {e}", dir.display())))?;
            match entries.next() {
                None => Ok(()),
                Some(_) if adopt => Ok(()),
                Some(first) => {
                    let first = first.map(|e| e.file_name().to_string_lossy().into_owned());
                    refused(format!(
                        "{} already holds files ({} among them): they are not this tenant's \
                         unless the TenantCreated event says \"adopt\": true",
                        dir.display(),
                        first.unwrap_or_default()
                    ))
                }
            }
        }
    }
}

/// The access point's ClientToken: the same for the same tenant, and within EFS's 64 ASCII
/// characters ("A string of up to 64 ASCII characters",
/// https://docs.aws.amazon.com/efs/latest/ug/API_CreateAccessPoint.html) for any valid id.
/// `bbws-<id>` while it fits, so tenants onboarded before keep their token; a longer id is
/// cut to 40 characters and told apart by a digest of the whole.
fn access_point_token(tenant: &TenantId) -> String {
    let plain = format!("bbws-{tenant}");
    if plain.len() <= 64 {
        return plain;
    }
    let digest = crate::jobs::idempotency_token("access-point", "bbws", tenant.as_str());
    format!("bbws-{}-{}", &tenant.as_str()[..40], &digest[..18])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_access_point_token_fits_efs_for_any_valid_tenant_id() {
        let short = TenantId::parse("tenant-1").unwrap();
        assert_eq!(access_point_token(&short), "bbws-tenant-1");
        let mut seen = std::collections::HashSet::new();
        for id in [
            "x".repeat(59),
            "x".repeat(60),
            "x".repeat(63),
            format!("{}y", "x".repeat(62)),
        ] {
            let token = access_point_token(&TenantId::parse(&id).unwrap());
            assert!(token.len() <= 64 && token.is_ascii(), "{token}");
            assert!(seen.insert(token), "two tenants share a token");
        }
        assert_eq!(
            access_point_token(&TenantId::parse(&"x".repeat(63)).unwrap()),
            access_point_token(&TenantId::parse(&"x".repeat(63)).unwrap())
        );
    }
}
