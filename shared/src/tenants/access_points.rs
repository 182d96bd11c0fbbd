//! Tenants' access points on the shared file system, and `offboard-tenant`: after a
//! tenant's final backup its access point goes, its files stay.

use aws_config::SdkConfig;
use aws_sdk_efs::types::AccessPointDescription;
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::{Config, ConfigError};
use crate::error::{Error, Operation};
use crate::runtime::{parse, Service};
use crate::tenant_id::TenantId;

const OP: Operation = Operation::Backup;

pub struct AccessPoints {
    /// The shared file system tenants' access points are made on (`FILE_SYSTEM_ID`).
    pub file_system_id: Option<String>,
    pub efs: aws_sdk_efs::Client,
    /// Offboarding leaves the ended life on the tenant's newest recovery points.
    #[cfg(feature = "sdk-backup")]
    pub backup: aws_sdk_backup::Client,
    /// Where each tenant's life on the file system is recorded.
    #[cfg(feature = "sdk-dynamodb")]
    pub catalog: Option<crate::catalog::Catalog>,
    /// The tenant's cache user, made at onboarding and removed at offboarding.
    #[cfg(all(feature = "sdk-elasticache", feature = "sdk-secretsmanager"))]
    pub cache_users: Option<super::cache_user::CacheUsers>,
}

impl Service for AccessPoints {
    fn build(
        sdk: &SdkConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let config = Config::from_lookup(lookup)?;
        Ok(Self {
            file_system_id: config.file_system_id,
            efs: aws_sdk_efs::Client::new(sdk),
            #[cfg(feature = "sdk-backup")]
            backup: aws_sdk_backup::Client::new(sdk),
            #[cfg(feature = "sdk-dynamodb")]
            catalog: Some(crate::catalog::Catalog::from_lookup(
                sdk,
                lookup,
                config.retention.dr_delete_after_days,
            )?),
            #[cfg(all(feature = "sdk-elasticache", feature = "sdk-secretsmanager"))]
            cache_users: Some(super::cache_user::CacheUsers::build(sdk, lookup)?),
        })
    }
}

/// The `offboard-tenant` handler: offboarding's last step, after the tenant's final backup.
pub async fn offboard_handler(
    event: LambdaEvent<Value>,
    access_points: &AccessPoints,
) -> Result<Value, Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Input {
        tenant_id: String,
    }
    let input: Input = parse(OP, "offboard-tenant", event.payload)?;
    let tenant = TenantId::parse(&input.tenant_id)?;
    access_points.remove(&tenant).await
}

impl AccessPoints {
    pub(crate) fn file_system_id(&self) -> Result<&str, Error> {
        self.file_system_id
            .as_deref()
            .ok_or_else(|| OP.failed("FILE_SYSTEM_ID is not set: no file system to onboard onto"))
    }

    /// The tenant's access point on the shared file system, if it has one.
    pub async fn find(&self, tenant: &TenantId) -> Result<Option<AccessPointDescription>, Error> {
        let fs = self.file_system_id()?;
        let points = crate::aws::efs::access_points(&self.efs, OP, fs).await?;
        Ok(points.into_iter().find(|ap| {
            ap.root_directory().and_then(|r| r.path()) == Some(tenant.root_path().as_str())
        }))
    }

    /// Records the start of the tenant's life on the file system (its access point); a
    /// repeated onboarding keeps the first record. The access point then carries the life's
    /// start as a tag (`bbws:onboarded-at`), so `bbws catalog rebuild` can read it back.
    #[cfg(feature = "sdk-dynamodb")]
    pub async fn record_life(
        &self,
        tenant: &TenantId,
        access_point: &AccessPointDescription,
    ) -> Result<(), Error> {
        let (Some(catalog), Some(id)) = (&self.catalog, access_point.access_point_id()) else {
            return Ok(());
        };
        let life = crate::catalog::Life {
            tenant_id: tenant.to_string(),
            access_point_id: id.to_owned(),
            onboarded_at: crate::jobs::Clock::System.now(),
            offboarded_at: None,
        };
        let life = catalog.put_life(OP, &life).await?;
        let stamp = crate::clock::compact_utc(life.onboarded_at);
        let tagged = access_point
            .tags()
            .iter()
            .any(|t| t.key() == crate::tags::ONBOARDED_AT && t.value() == stamp);
        if !tagged {
            let tag = aws_sdk_efs::types::Tag::builder()
                .key(crate::tags::ONBOARDED_AT)
                .value(stamp)
                .build()
                .map_err(|e| OP.failed(format!("a tag could not be built: {e}")))?;
            self.efs
                .tag_resource()
                .resource_id(id)
                .tags(tag)
                .send()
                .await
                .map_err(|e| OP.aws(&format!("tagging access point {id}"), e))?;
        }
        Ok(())
    }

    /// Leaves an ended life on the tenant's newest file-system recovery point, and on its
    /// newest hourly one when that is another (`bbws:life:<access point id>`): the newest
    /// point of a kind expires last, so the life outlasts every point it decides about.
    #[cfg(all(feature = "sdk-dynamodb", feature = "sdk-backup"))]
    async fn leave_life(
        &self,
        catalog: &crate::catalog::Catalog,
        tenant: &TenantId,
        access_point_id: &str,
    ) -> Result<(), Error> {
        let life = catalog
            .lives_of(OP, tenant.as_str())
            .await?
            .into_iter()
            .find(|l| l.access_point_id == access_point_id);
        let Some((key, value)) = life.as_ref().and_then(|l| l.tag()) else {
            return Ok(());
        };
        // The backups read newest first, until the newest hourly one (it may be older).
        let mut newest: Option<String> = None;
        let mut newest_hourly: Option<String> = None;
        let mut start: Option<String> = None;
        'pages: loop {
            let page = catalog
                .backups(OP, tenant.as_str(), None, None, 100, start.as_deref())
                .await?;
            for backup in &page.backups {
                let Some(files) = &backup.files else { continue };
                newest.get_or_insert_with(|| files.recovery_point_arn.clone());
                if backup.kind == crate::catalog::BackupKind::Hourly {
                    newest_hourly = Some(files.recovery_point_arn.clone());
                    break 'pages;
                }
            }
            match page.next {
                Some(next) => start = Some(next),
                None => break,
            }
        }
        let mut points: Vec<String> = newest.into_iter().chain(newest_hourly).collect();
        points.dedup();
        for arn in points {
            self.backup
                .tag_resource()
                .resource_arn(&arn)
                .tags(&key, &value)
                .send()
                .await
                .map_err(|e| OP.aws(&format!("tagging recovery point {arn}"), e))?;
        }
        Ok(())
    }

    /// Deletes the tenant's access point (offboarding, after its final backup). The files
    /// under `/<tenant-id>` stay on the file system; the output says where.
    pub async fn remove(&self, tenant: &TenantId) -> Result<Value, Error> {
        let fs = self.file_system_id()?.to_owned();
        let found = self.find(tenant).await?;
        if let Some(id) = found.as_ref().and_then(|ap| ap.access_point_id()) {
            // The end of the tenant's life first: once the access point is gone, a retried
            // step could no longer name it.
            #[cfg(feature = "sdk-dynamodb")]
            if let Some(catalog) = &self.catalog {
                catalog
                    .end_life(OP, tenant.as_str(), id, crate::jobs::Clock::System.now())
                    .await?;
                #[cfg(feature = "sdk-backup")]
                self.leave_life(catalog, tenant, id).await?;
            }
            self.efs
                .delete_access_point()
                .access_point_id(id)
                .send()
                .await
                .map_err(|e| OP.aws(&format!("deleting access point {id}"), e))?;
        }
        #[allow(unused_mut)]
        let mut out = json!({
            "tenantId": tenant.as_str(),
            "accessPointDeleted": found.as_ref().and_then(|ap| ap.access_point_id()),
            "filesKeptAt": format!("{fs}:{}", tenant.root_path()),
        });
        // Its site can no longer reach the cache: its user and password go.
        #[cfg(all(feature = "sdk-elasticache", feature = "sdk-secretsmanager"))]
        if let Some(cache_users) = &self.cache_users {
            out["cacheUser"] = cache_users.remove(tenant).await?;
        }
        Ok(out)
    }
}
