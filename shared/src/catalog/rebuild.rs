//! `bbws catalog rebuild`: the catalog made again from what AWS keeps itself, for a table
//! that was lost or emptied. Its sources:
//!
//! * **the vault's recovery points and their tags.** An on-demand or fleet backup's own
//!   points carry `bbws:tenant-id`, `bbws:backup-id` and `bbws:backup-type`; a backup that
//!   joined a shared file-system point names it by `bbws:files-point` on its own database
//!   point (a backup without a database, by `bbws:backup:<id>` = `<tenant>/<kind>` on the
//!   shared point); a plan's point names its plan (`CreatedBy`) and is an hourly backup, of the
//!   tenants on the file system when it was made, or of the tenant its database is tagged for;
//! * **the tenants' lives**: a tenant's access point carries its start
//!   (`bbws:onboarded-at`), and an offboarded tenant's newest points carry the whole life
//!   (`bbws:life:<access point id>`);
//! * **the copy jobs**, for each point's DR copy;
//! * **a backup's own file-system point's `bbws:manifest` tag**, for its files' manifest.
//!
//! Every write is the same conditional write the live paths make, so a rebuild into a table
//! that still holds items changes none of them and only adds what is missing. What it cannot
//! know: the restores that used a backup (the restore state machine's history keeps those).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::items::{parse_joined_tag_value, BackupKind, Component, DrCopy, Life, Point};
use super::{backup_time, hourly_backup_id, Catalog};
use crate::error::{Error, Operation};
use crate::tags;

const OP: Operation = Operation::Backup;

/// What a rebuild reads from.
pub struct Sources {
    pub catalog: Catalog,
    pub backup: aws_sdk_backup::Client,
    pub efs: aws_sdk_efs::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// Where a database point's tags are read: it is an RDS snapshot.
    pub rds: aws_sdk_rds::Client,
    /// The backup vault whose points are the tenants' backups.
    pub vault: String,
    /// The shared file system: the only EFS resource whose points hold tenants.
    pub file_system_id: String,
}

/// What a rebuild did, for the operator.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub table: String,
    pub vault: String,
    pub recovery_points_read: usize,
    pub lives: usize,
    /// Tenant backup points written (a point of a shared file-system backup counts once per
    /// tenant).
    pub points_written: usize,
    /// Points the table already held: nothing was changed for them.
    pub points_already_recorded: usize,
    pub copies_written: usize,
    /// Manifests of backups' files, from their points' `bbws:manifest` tags.
    pub manifests_written: usize,
    /// Recovery points that are no tenant's: another file system's, or a plan's point of a
    /// database no tenant is tagged on.
    pub points_without_tenant: usize,
    /// Access points whose tenant or start is not on them (made before lives were tagged):
    /// their hourly backups cannot be placed.
    pub lives_unknown: Vec<String>,
    pub items_after: i64,
}

/// The tenant backups that joined each shared file-system point, as their own database
/// points name it (`bbws:files-point`): (tenant, backup id, kind) by the point's ARN.
fn joiners(listed: &[Listed]) -> HashMap<&str, Vec<(String, String, BackupKind)>> {
    let mut joiners: HashMap<&str, Vec<_>> = HashMap::new();
    for item in listed {
        let tag = |key: &str| item.tags.get(key);
        if let (Some(files), Some(tenant), Some(backup_id)) = (
            tag(tags::FILES_POINT),
            tag(tags::TENANT_ID),
            tag(tags::BACKUP_ID),
        ) {
            let kind = tag(tags::BACKUP_TYPE)
                .and_then(|k| BackupKind::parse(k))
                .unwrap_or_default();
            joiners.entry(files.as_str()).or_default().push((
                tenant.clone(),
                backup_id.clone(),
                kind,
            ));
        }
    }
    joiners
}

/// One recovery point as the vault lists it, with its tags.
struct Listed {
    point: Point,
    plan: bool,
    tags: BTreeMap<String, String>,
}

impl Sources {
    /// Rebuilds the catalog; `progress` gets a line at each phase and every 100 points.
    pub async fn rebuild(&self, progress: &mut dyn FnMut(&str)) -> Result<Report, Error> {
        let mut report = Report {
            table: self.catalog.table.clone(),
            vault: self.vault.clone(),
            ..Report::default()
        };
        progress(&format!(
            "reading the recovery points of vault {}",
            self.vault
        ));
        let mut listed = self.points(progress).await?;
        // Oldest first, as their jobs' events came: where two points name one backup (two
        // plan runs in one hour), the first stays, as it did when the events were recorded.
        listed.sort_by(|a, b| {
            (a.point.created_at, &a.point.recovery_point_arn)
                .cmp(&(b.point.created_at, &b.point.recovery_point_arn))
        });
        report.recovery_points_read = listed.len();

        progress("reading the tenants' lives");
        let lives = self.lives(&listed, &mut report).await?;
        for life in &lives {
            self.catalog.put_life(OP, life).await?;
            if let Some(end) = life.offboarded_at {
                self.catalog
                    .end_life(OP, &life.tenant_id, &life.access_point_id, end)
                    .await?;
            }
        }
        report.lives = lives.len();

        progress("recording the tenants' backups");
        let joiners = joiners(&listed);
        let mut database_tenants: HashMap<String, Option<String>> = HashMap::new();
        for (done, item) in listed.iter().enumerate() {
            if super::is_continuous(&item.point.recovery_point_arn) {
                let resource = &item.point.resource_arn;
                if !database_tenants.contains_key(resource) {
                    let tenant = super::tenant_of(&self.tagging, OP, resource).await?;
                    database_tenants.insert(resource.clone(), tenant);
                }
                match &database_tenants[resource] {
                    Some(tenant) => {
                        if self
                            .catalog
                            .record_continuous(OP, tenant, &item.point)
                            .await?
                        {
                            report.points_written += 1;
                        } else {
                            report.points_already_recorded += 1;
                        }
                    }
                    None => report.points_without_tenant += 1,
                }
                continue;
            }
            let joined = joiners.get(item.point.recovery_point_arn.as_str());
            let mut owners = self
                .owners(item, &lives, joined, &mut database_tenants)
                .await?;
            owners.sort();
            owners.dedup();
            if owners.is_empty() {
                report.points_without_tenant += 1;
            }
            let component = match item.point.resource_type.as_str() {
                "EFS" => Component::Files,
                _ => Component::Database,
            };
            for (tenant, backup_id, kind) in owners {
                let time = backup_time(&backup_id).unwrap_or(item.point.created_at);
                let written = self
                    .catalog
                    .record_point(OP, &tenant, &backup_id, kind, time, component, &item.point)
                    .await?;
                if written {
                    report.points_written += 1;
                } else {
                    report.points_already_recorded += 1;
                }
            }
            if (done + 1) % 100 == 0 {
                progress(&format!("  {} of {} points", done + 1, listed.len()));
            }
        }

        progress("recording the backups' manifests");
        for item in &listed {
            let tag = |key: &str| item.tags.get(key);
            let (Some(tenant), Some(backup_id), Some(manifest)) = (
                tag(tags::TENANT_ID),
                tag(tags::BACKUP_ID),
                tag(tags::MANIFEST).and_then(|m| crate::manifest::Manifest::from_tag(m)),
            ) else {
                continue;
            };
            if self
                .catalog
                .put_manifest(OP, tenant, backup_id, &manifest)
                .await?
            {
                report.manifests_written += 1;
            }
        }

        progress("recording the DR copies");
        report.copies_written = self.copies(&listed).await?;
        report.items_after = self.catalog.count(OP).await?;
        progress("done");
        Ok(report)
    }

    /// Every recovery point of the vault, with its tags.
    async fn points(&self, progress: &mut dyn FnMut(&str)) -> Result<Vec<Listed>, Error> {
        let points = self
            .backup
            .list_recovery_points_by_backup_vault()
            .backup_vault_name(&self.vault)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| OP.aws(&format!("listing the recovery points of {}", self.vault), e))?;
        progress(&format!(
            "  {} recovery points; reading their tags",
            points.len()
        ));
        // AWS Backup's ListTags reads only the points it manages fully (ARNs of the backup
        // service); a database point is an RDS snapshot, whose tags RDS reads.
        let mut tags_of: HashMap<String, BTreeMap<String, String>> = HashMap::new();
        let (managed, snapshots): (Vec<&str>, Vec<&str>) = points
            .iter()
            .filter_map(|rp| rp.recovery_point_arn())
            .partition(|arn| arn.split(':').nth(2) == Some("backup"));
        for (done, arn) in managed.iter().enumerate() {
            let pages = self
                .backup
                .list_tags()
                .resource_arn(*arn)
                .into_paginator()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(|e| OP.aws(&format!("reading the tags of {arn}"), e))?;
            let tags = pages
                .iter()
                .flat_map(|p| p.tags().into_iter().flatten())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            tags_of.insert((*arn).to_owned(), tags);
            if (done + 1) % 100 == 0 {
                progress(&format!(
                    "  tags of {} of {} points",
                    done + 1,
                    points.len()
                ));
            }
        }
        for arn in snapshots {
            let out = self
                .rds
                .list_tags_for_resource()
                .resource_name(arn)
                .send()
                .await
                .map_err(|e| OP.aws(&format!("reading the tags of {arn}"), e))?;
            let tags = out
                .tag_list()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                .collect();
            tags_of.insert(arn.to_owned(), tags);
        }
        let mut listed = Vec::with_capacity(points.len());
        for rp in &points {
            let arn = rp.recovery_point_arn().unwrap_or_default().to_owned();
            listed.push(Listed {
                tags: tags_of.remove(&arn).unwrap_or_default(),
                point: Point {
                    recovery_point_arn: arn,
                    resource_arn: rp.resource_arn().unwrap_or_default().to_owned(),
                    resource_type: rp.resource_type().unwrap_or_default().to_owned(),
                    vault: self.vault.clone(),
                    created_at: rp.creation_date().map(|d| d.secs()).unwrap_or_default(),
                    size_bytes: rp.backup_size_in_bytes(),
                    status: rp
                        .status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    delete_at: rp
                        .calculated_lifecycle()
                        .and_then(|l| l.delete_at())
                        .map(|d| d.secs()),
                },
                plan: rp.created_by().and_then(|c| c.backup_plan_id()).is_some(),
            });
        }
        Ok(listed)
    }

    /// The lives of today's tenants, from their access points, and of offboarded ones, from
    /// the tags their offboarding left on points.
    async fn lives(&self, listed: &[Listed], report: &mut Report) -> Result<Vec<Life>, Error> {
        let fs = &self.file_system_id;
        let access_points = crate::aws::efs::access_points(&self.efs, OP, fs).await?;
        let mut lives: BTreeMap<(String, String), Life> = BTreeMap::new();
        for ap in &access_points {
            let tag = |key: &str| {
                ap.tags()
                    .iter()
                    .find(|t| t.key() == key)
                    .map(|t| t.value().to_owned())
            };
            let id = ap.access_point_id().unwrap_or_default().to_owned();
            let (Some(tenant), Some(onboarded_at)) = (
                tag(tags::TENANT_ID),
                tag(tags::ONBOARDED_AT).and_then(|t| crate::clock::parse_compact_utc(&t)),
            ) else {
                report.lives_unknown.push(id);
                continue;
            };
            lives.insert(
                (tenant.clone(), id.clone()),
                Life {
                    tenant_id: tenant,
                    access_point_id: id,
                    onboarded_at,
                    offboarded_at: None,
                },
            );
        }
        for item in listed {
            for (key, value) in &item.tags {
                if let Some(life) = Life::from_tag(key, value) {
                    lives.insert((life.tenant_id.clone(), life.access_point_id.clone()), life);
                }
            }
        }
        Ok(lives.into_values().collect())
    }

    /// The tenant backups a point belongs to: (tenant, backup id, kind).
    async fn owners(
        &self,
        item: &Listed,
        lives: &[Life],
        joined: Option<&Vec<(String, String, BackupKind)>>,
        database_tenants: &mut HashMap<String, Option<String>>,
    ) -> Result<Vec<(String, String, BackupKind)>, Error> {
        let tag = |key: &str| item.tags.get(key).cloned();
        let mut owners = Vec::new();
        // A backup's own point.
        if let (Some(tenant), Some(backup_id)) = (tag(tags::TENANT_ID), tag(tags::BACKUP_ID)) {
            let kind = tag(tags::BACKUP_TYPE)
                .and_then(|k| BackupKind::parse(&k))
                .unwrap_or_default();
            owners.push((tenant, backup_id, kind));
        }
        // The tenant backups that joined it.
        for (key, value) in &item.tags {
            let Some(backup_id) = key.strip_prefix(tags::JOINED_BACKUP_PREFIX) else {
                continue;
            };
            if let Some((tenant, kind)) = parse_joined_tag_value(value) {
                owners.push((tenant, backup_id.to_owned(), kind));
            }
        }
        owners.extend(joined.into_iter().flatten().cloned());
        if !owners.is_empty() || !item.plan {
            return Ok(owners);
        }
        // A plan's point: an hourly backup.
        let backup_id = hourly_backup_id(item.point.created_at);
        match item.point.resource_type.as_str() {
            "EFS" => {
                let shared = item
                    .point
                    .resource_arn
                    .ends_with(&format!("/{}", self.file_system_id));
                if shared {
                    for life in lives.iter().filter(|l| l.covers(item.point.created_at)) {
                        owners.push((
                            life.tenant_id.clone(),
                            backup_id.clone(),
                            BackupKind::Hourly,
                        ));
                    }
                }
            }
            "RDS" | "Aurora" => {
                let resource = &item.point.resource_arn;
                if !database_tenants.contains_key(resource) {
                    let tenant = super::tenant_of(&self.tagging, OP, resource).await?;
                    database_tenants.insert(resource.clone(), tenant);
                }
                // The database's tag, as the catalog function reads it; a deleted database's
                // tags live on in its points (AWS Backup copies them).
                let tenant = database_tenants[resource]
                    .clone()
                    .or_else(|| tag(tags::TENANT_ID));
                if let Some(tenant) = tenant {
                    owners.push((tenant, backup_id, BackupKind::Hourly));
                }
            }
            _ => {}
        }
        Ok(owners)
    }

    /// Each copy job of a point of the vault, oldest first, as its events would have
    /// recorded it; returns how many moved an item.
    async fn copies(&self, listed: &[Listed]) -> Result<usize, Error> {
        let ours: std::collections::HashSet<&str> = listed
            .iter()
            .map(|l| l.point.recovery_point_arn.as_str())
            .collect();
        let mut jobs = self
            .backup
            .list_copy_jobs()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| OP.aws("listing the copy jobs", e))?;
        jobs.sort_by_key(|j| j.creation_date().map(|d| d.secs()).unwrap_or_default());
        let mut written = 0;
        for job in &jobs {
            let (Some(source), Some(id), Some(state)) = (
                job.source_recovery_point_arn(),
                job.copy_job_id(),
                job.state(),
            ) else {
                continue;
            };
            if !ours.contains(source) {
                continue;
            }
            let copy = DrCopy {
                copy_job_id: id.to_owned(),
                recovery_point_arn: job
                    .destination_recovery_point_arn()
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned),
                vault_arn: job
                    .destination_backup_vault_arn()
                    .unwrap_or_default()
                    .to_owned(),
                state: state.as_str().to_owned(),
                created_at: job.creation_date().map(|d| d.secs()).unwrap_or_default(),
                delete_at: None,
            };
            if self.catalog.record_copy(OP, source, &copy).await? {
                written += 1;
            }
        }
        Ok(written)
    }
}
