//! `bbws backups`: a tenant's recovery points in the vault, grouped by tenant backup, newest
//! first, each with the state of its copy to the disaster-recovery vault.
//!
//! The AWS calls only gather plain records ([`RecoveryPoint`], [`CopyJob`]); deciding which
//! recovery points are the tenant's, grouping and ordering them is [`group_backups`], a pure
//! function.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Context;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use bbws::aws::recovery_points;
use bbws::error::Operation;
use bbws::tags;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::output::Term;

/// How many ListTags calls run at once.
const TAG_CONCURRENCY: usize = 8;

/// A recovery point of the vault, with its tags.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecoveryPoint {
    pub arn: String,
    /// The resource backed up (the shared file system, a tenant's database).
    pub resource_arn: Option<String>,
    pub resource_type: Option<String>,
    pub status: Option<String>,
    pub created_at: Option<DateTime>,
    pub tags: HashMap<String, String>,
}

/// A copy job of a recovery point to another vault.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CopyJob {
    pub source_recovery_point_arn: Option<String>,
    pub state: Option<String>,
    pub destination_vault_arn: Option<String>,
    pub destination_recovery_point_arn: Option<String>,
    pub created_at: Option<DateTime>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrCopy {
    pub state: String,
    pub destination_vault_arn: Option<String>,
    pub destination_recovery_point_arn: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedRecoveryPoint {
    pub arn: String,
    pub component: String,
    pub resource_type: Option<String>,
    pub status: Option<String>,
    pub created_at: Option<String>,
    /// The newest copy job of this recovery point; `None` when it was never copied.
    pub dr_copy: Option<DrCopy>,
}

/// One tenant backup: the recovery points one backup made or joined.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantBackup {
    /// The tenant backup id (`tb-…`), or for a recovery point no tenant backup made (the
    /// hourly plan's) its own ARN.
    pub backup_id: String,
    /// True for a recovery point no tenant backup made.
    pub automated: bool,
    pub tenant_id: String,
    /// The newest creation date of its recovery points.
    pub created_at: Option<String>,
    pub recovery_points: Vec<ListedRecoveryPoint>,
}

/// Which tenant backups of `tenant` a recovery point belongs to: the backup that made it
/// (`bbws:tenant-id` = tenant, `bbws:backup-id`), each backup of the tenant that joined it
/// (`bbws:backup:<backup id>` = tenant), and none when it is not the tenant's. A recovery
/// point of the tenant without a backup id is its own, automated, group.
fn memberships(tenant: &str, point: &RecoveryPoint) -> Vec<(String, bool)> {
    let mut groups = BTreeSet::new();
    let mut automated = false;
    if point.tags.get(tags::TENANT_ID).map(String::as_str) == Some(tenant) {
        match point.tags.get(tags::BACKUP_ID).filter(|id| !id.is_empty()) {
            Some(id) => {
                groups.insert(id.clone());
            }
            None => automated = true,
        }
    }
    for (key, value) in &point.tags {
        if let Some(id) = key.strip_prefix(tags::JOINED_BACKUP_PREFIX) {
            if value == tenant && !id.is_empty() {
                groups.insert(id.to_owned());
            }
        }
    }
    let mut out: Vec<(String, bool)> = groups.into_iter().map(|id| (id, false)).collect();
    if automated && out.is_empty() {
        out.push((point.arn.clone(), true));
    }
    out
}

/// Whether the recovery point is the tenant's at all.
pub fn belongs_to(tenant: &str, point: &RecoveryPoint) -> bool {
    !memberships(tenant, point).is_empty()
}

/// The newest copy job of each source recovery point.
pub fn newest_copies(jobs: &[CopyJob]) -> HashMap<String, DrCopy> {
    let mut newest: HashMap<String, &CopyJob> = HashMap::new();
    for job in jobs {
        let Some(source) = &job.source_recovery_point_arn else {
            continue;
        };
        let newer = newest
            .get(source)
            .is_none_or(|seen| job.created_at > seen.created_at);
        if newer {
            newest.insert(source.clone(), job);
        }
    }
    newest
        .into_iter()
        .map(|(source, job)| {
            let copy = DrCopy {
                state: job.state.clone().unwrap_or_else(|| "UNKNOWN".into()),
                destination_vault_arn: job.destination_vault_arn.clone(),
                destination_recovery_point_arn: job.destination_recovery_point_arn.clone(),
            };
            (source, copy)
        })
        .collect()
}

fn format_date(date: Option<&DateTime>) -> Option<String> {
    date.and_then(|d| d.fmt(Format::DateTime).ok())
}

/// The component a recovery point holds: the product's tag, else AWS's resource type.
fn component(point: &RecoveryPoint) -> String {
    point
        .tags
        .get(tags::COMPONENT)
        .or(point.resource_type.as_ref())
        .cloned()
        .unwrap_or_else(|| "unknown".into())
}

/// The tenant's backups among `points`, newest first (by the newest recovery point of
/// each), each recovery point with its DR copy from `copies` (by recovery point ARN).
pub fn group_backups(
    tenant: &str,
    points: &[RecoveryPoint],
    copies: &HashMap<String, DrCopy>,
) -> Vec<TenantBackup> {
    let mut groups: BTreeMap<String, (bool, Vec<&RecoveryPoint>)> = BTreeMap::new();
    for point in points {
        for (id, automated) in memberships(tenant, point) {
            groups
                .entry(id)
                .or_insert_with(|| (automated, Vec::new()))
                .1
                .push(point);
        }
    }
    let mut backups: Vec<(Option<DateTime>, TenantBackup)> = groups
        .into_iter()
        .map(|(backup_id, (automated, mut members))| {
            members.sort_by(|a, b| {
                (component(a), &a.arn)
                    .cmp(&(component(b), &b.arn))
                    .then(b.created_at.cmp(&a.created_at))
            });
            let newest = members.iter().filter_map(|p| p.created_at).max();
            let recovery_points = members
                .into_iter()
                .map(|point| ListedRecoveryPoint {
                    arn: point.arn.clone(),
                    component: component(point),
                    resource_type: point.resource_type.clone(),
                    status: point.status.clone(),
                    created_at: format_date(point.created_at.as_ref()),
                    dr_copy: copies.get(&point.arn).cloned(),
                })
                .collect();
            let backup = TenantBackup {
                backup_id,
                automated,
                tenant_id: tenant.to_owned(),
                created_at: format_date(newest.as_ref()),
                recovery_points,
            };
            (newest, backup)
        })
        .collect();
    // Newest first; undated groups last; the id breaks ties so the order is stable.
    backups.sort_by(|(a_date, a), (b_date, b)| {
        b_date
            .cmp(a_date)
            .then_with(|| a.backup_id.cmp(&b.backup_id))
    });
    backups.into_iter().map(|(_, backup)| backup).collect()
}

/// The table for people.
pub fn render_table(tenant: &str, vault: &str, backups: &[TenantBackup]) -> Vec<String> {
    if backups.is_empty() {
        return vec![format!("No backups of {tenant} in {vault}.")];
    }
    let mut lines = Vec::new();
    for backup in backups {
        let id = if backup.automated {
            "automated"
        } else {
            backup.backup_id.as_str()
        };
        lines.push(format!(
            "{id}  {}  ({} recovery point{})",
            backup.created_at.as_deref().unwrap_or("-"),
            backup.recovery_points.len(),
            if backup.recovery_points.len() == 1 {
                ""
            } else {
                "s"
            }
        ));
        let width = |f: fn(&ListedRecoveryPoint) -> usize| {
            backup.recovery_points.iter().map(f).max().unwrap_or(0)
        };
        let component_width = width(|p| p.component.len());
        let status_width = width(|p| p.status.as_deref().unwrap_or("-").len());
        for point in &backup.recovery_points {
            let dr = match &point.dr_copy {
                Some(copy) => match &copy.destination_vault_arn {
                    Some(vault) => format!("DR {} → {vault}", copy.state),
                    None => format!("DR {}", copy.state),
                },
                None => "DR none".into(),
            };
            lines.push(format!(
                "  {:component_width$}  {:status_width$}  {}  {}  {dr}",
                point.component,
                point.status.as_deref().unwrap_or("-"),
                point.created_at.as_deref().unwrap_or("-"),
                point.arn,
            ));
        }
    }
    lines
}

/// Lists the tenant's backups in `vault` and prints them (a table, or a JSON array).
pub async fn list(
    backup: &aws_sdk_backup::Client,
    rds: &aws_sdk_rds::Client,
    vault: &str,
    tenant: &str,
    term: &mut Term,
) -> anyhow::Result<Vec<TenantBackup>> {
    let points = recovery_points(backup, rds, vault, term).await?;
    let mine: Vec<RecoveryPoint> = points
        .into_iter()
        .filter(|p| belongs_to(tenant, p))
        .collect();
    let copies = copy_jobs(backup, &mine).await?;
    let backups = group_backups(tenant, &mine, &newest_copies(&copies));
    if term.json {
        term.json_line(&serde_json::to_value(&backups)?);
    } else {
        for line in render_table(tenant, vault, &backups) {
            term.line(line);
        }
    }
    Ok(backups)
}

/// Every recovery point of the vault, with its tags. A recovery point whose tags cannot be
/// read (deleted meanwhile, a resource type ListTags does not serve) is left out with a note.
async fn recovery_points(
    backup: &aws_sdk_backup::Client,
    rds: &aws_sdk_rds::Client,
    vault: &str,
    term: &mut Term,
) -> anyhow::Result<Vec<RecoveryPoint>> {
    let mut points = Vec::new();
    let mut pages = backup
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(vault)
        .into_paginator()
        .items()
        .send();
    while let Some(item) = pages.next().await {
        let item = item.with_context(|| format!("cannot list the recovery points of {vault}"))?;
        let Some(arn) = item.recovery_point_arn() else {
            continue;
        };
        points.push(RecoveryPoint {
            arn: arn.to_owned(),
            resource_arn: item.resource_arn().map(str::to_owned),
            resource_type: item.resource_type().map(str::to_owned),
            status: item.status().map(|s| s.as_str().to_owned()),
            created_at: item.creation_date().copied(),
            tags: HashMap::new(),
        });
    }

    let mut tagged = HashMap::new();
    let mut pending = points.iter().map(|p| p.arn.clone());
    let mut running = JoinSet::new();
    loop {
        while running.len() < TAG_CONCURRENCY {
            let Some(arn) = pending.next() else { break };
            let (backup, rds) = (backup.clone(), rds.clone());
            running.spawn(async move {
                let tags = recovery_points::tags(&backup, &rds, Operation::Restore, &arn)
                    .await
                    .map_err(anyhow::Error::from);
                (arn, tags)
            });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        match done? {
            (arn, Ok(tags)) => {
                tagged.insert(arn, tags);
            }
            (arn, Err(error)) => term.note(format!("note: skipped {arn}: {error:#}")),
        }
    }
    Ok(points
        .into_iter()
        .filter_map(|mut point| {
            point.tags = tagged.remove(&point.arn)?;
            Some(point)
        })
        .collect())
}

/// The copy jobs of the given recovery points. ListCopyJobs filters by the resource a copy
/// comes from (the file system, the database), so the jobs of each resource are listed once
/// and matched to the recovery points by their source recovery point.
async fn copy_jobs(
    backup: &aws_sdk_backup::Client,
    points: &[RecoveryPoint],
) -> anyhow::Result<Vec<CopyJob>> {
    let wanted: BTreeSet<&str> = points.iter().map(|p| p.arn.as_str()).collect();
    let resources: BTreeSet<&str> = points
        .iter()
        .filter_map(|p| p.resource_arn.as_deref())
        .collect();
    let mut jobs = Vec::new();
    for resource in resources {
        let mut pages = backup
            .list_copy_jobs()
            .by_resource_arn(resource)
            .into_paginator()
            .items()
            .send();
        while let Some(job) = pages.next().await {
            let job = job.with_context(|| format!("cannot list the copy jobs of {resource}"))?;
            if !job
                .source_recovery_point_arn()
                .is_some_and(|source| wanted.contains(source))
            {
                continue;
            }
            jobs.push(CopyJob {
                source_recovery_point_arn: job.source_recovery_point_arn().map(str::to_owned),
                state: job.state().map(|s| s.as_str().to_owned()),
                destination_vault_arn: job.destination_backup_vault_arn().map(str::to_owned),
                destination_recovery_point_arn: job
                    .destination_recovery_point_arn()
                    .map(str::to_owned),
                created_at: job.creation_date().copied(),
            });
        }
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VAULT: &str = "bbws-dev-backup-vault";
    const FS: &str =
        "arn:aws:elasticfilesystem:af-south-1:123456789012:file-system/fs-0123456789abcdef0";
    const DB: &str = "arn:aws:rds:af-south-1:123456789012:db:tenant-1";
    const DR_VAULT: &str = "arn:aws:backup:eu-west-1:123456789012:backup-vault:bbws-dr-vault";

    fn rp(id: &str) -> String {
        format!("arn:aws:backup:af-south-1:123456789012:recovery-point:{id}")
    }

    fn point(id: &str, resource: &str, at: i64, tags: &[(&str, &str)]) -> RecoveryPoint {
        RecoveryPoint {
            arn: rp(id),
            resource_arn: Some(resource.into()),
            resource_type: Some(if resource == FS { "EFS" } else { "RDS" }.into()),
            status: Some("COMPLETED".into()),
            created_at: Some(DateTime::from_secs(at)),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn owned(tenant: &str, backup: &str, component: &str) -> Vec<(&'static str, String)> {
        vec![
            (tags::TENANT_ID, tenant.to_owned()),
            (tags::BACKUP_ID, backup.to_owned()),
            (tags::COMPONENT, component.to_owned()),
        ]
    }

    fn with<'a>(tags: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
        tags.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    /// The vault as a tenant sees it: its own backup (efs + database), an older backup that
    /// joined the hourly file-system job, an automated database recovery point, and other
    /// tenants' recovery points.
    fn vault() -> Vec<RecoveryPoint> {
        let t = 1_790_000_000;
        vec![
            point(
                "efs-new",
                FS,
                t + 100,
                &with(&owned("tenant-1", "tb-new", "efs")),
            ),
            point(
                "db-new",
                DB,
                t + 160,
                &with(&owned("tenant-1", "tb-new", "database")),
            ),
            // The hourly plan's file-system recovery point, joined by tb-old of tenant-1
            // and by a backup of tenant-2.
            point(
                "efs-hourly",
                FS,
                t - 3600,
                &[
                    ("bbws:backup:tb-old", "tenant-1"),
                    ("bbws:backup:tb-other", "tenant-2"),
                ],
            ),
            point(
                "db-old",
                DB,
                t - 3500,
                &with(&owned("tenant-1", "tb-old", "database")),
            ),
            // The hourly plan's database recovery point: the resource's tags, no backup id.
            point("db-hourly", DB, t - 7200, &[(tags::TENANT_ID, "tenant-1")]),
            point(
                "efs-tenant-2",
                FS,
                t + 50,
                &with(&owned("tenant-2", "tb-2", "efs")),
            ),
            point("unrelated", FS, t + 500, &[]),
        ]
    }

    #[test]
    fn groups_owned_joined_and_automated_recovery_points_newest_first() {
        let copies = newest_copies(&[CopyJob {
            source_recovery_point_arn: Some(rp("efs-new")),
            state: Some("COMPLETED".into()),
            destination_vault_arn: Some(DR_VAULT.into()),
            destination_recovery_point_arn: Some(
                rp("efs-new-copy").replace("af-south-1", "eu-west-1"),
            ),
            created_at: Some(DateTime::from_secs(1_790_000_200)),
        }]);
        let backups = group_backups("tenant-1", &vault(), &copies);

        // (backup id, automated, created, [(component, arn)])
        type Summary<'a> = (&'a str, bool, Option<&'a str>, Vec<(&'a str, String)>);
        let summary: Vec<Summary> = backups
            .iter()
            .map(|b| {
                (
                    b.backup_id.as_str(),
                    b.automated,
                    b.created_at.as_deref(),
                    b.recovery_points
                        .iter()
                        .map(|p| (p.component.as_str(), p.arn.clone()))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "tb-new",
                    false,
                    Some("2026-09-21T14:16:00Z"),
                    vec![("database", rp("db-new")), ("efs", rp("efs-new"))]
                ),
                (
                    "tb-old",
                    false,
                    Some("2026-09-21T13:15:00Z"),
                    // The joined recovery point carries no component tag: AWS's type.
                    vec![("EFS", rp("efs-hourly")), ("database", rp("db-old"))]
                ),
                (
                    rp("db-hourly").as_str(),
                    true,
                    Some("2026-09-21T12:13:20Z"),
                    vec![("RDS", rp("db-hourly"))]
                ),
            ]
        );
        assert!(backups.iter().all(|b| b.tenant_id == "tenant-1"));

        let efs_new = &backups[0].recovery_points[1];
        assert_eq!(
            efs_new.dr_copy.as_ref().map(|c| c.state.as_str()),
            Some("COMPLETED")
        );
        assert_eq!(backups[0].recovery_points[0].dr_copy, None);

        // The other tenant sees its own backup and the one that joined the hourly point.
        let theirs: Vec<String> = group_backups("tenant-2", &vault(), &HashMap::new())
            .into_iter()
            .map(|b| b.backup_id)
            .collect();
        assert_eq!(theirs, ["tb-2", "tb-other"]);
        assert!(group_backups("tenant-3", &vault(), &HashMap::new()).is_empty());
    }

    #[test]
    fn a_recovery_point_made_by_one_backup_and_joined_by_another_is_in_both() {
        let points = [point(
            "efs-shared",
            FS,
            1_790_000_000,
            &[
                (tags::TENANT_ID, "tenant-1"),
                (tags::BACKUP_ID, "tb-a"),
                ("bbws:backup:tb-b", "tenant-1"),
            ],
        )];
        let ids: Vec<String> = group_backups("tenant-1", &points, &HashMap::new())
            .into_iter()
            .map(|b| b.backup_id)
            .collect();
        assert_eq!(ids, ["tb-a", "tb-b"]);
        assert!(belongs_to("tenant-1", &points[0]));
        assert!(!belongs_to("tenant-10", &points[0]));
    }

    #[test]
    fn the_newest_copy_job_of_each_recovery_point_wins() {
        let job = |source: &str, state: &str, at: i64| CopyJob {
            source_recovery_point_arn: Some(rp(source)),
            state: Some(state.into()),
            destination_vault_arn: Some(DR_VAULT.into()),
            destination_recovery_point_arn: None,
            created_at: Some(DateTime::from_secs(at)),
        };
        let copies = newest_copies(&[
            job("a", "FAILED", 10),
            job("a", "RUNNING", 20),
            job("a", "COMPLETED", 5),
            job("b", "CREATED", 1),
        ]);
        assert_eq!(copies[&rp("a")].state, "RUNNING");
        assert_eq!(copies[&rp("b")].state, "CREATED");
        assert_eq!(copies.len(), 2);
    }

    #[test]
    fn json_shape_and_table() {
        let backups = group_backups("tenant-1", &vault()[..2], &HashMap::new());
        let json = serde_json::to_value(&backups).unwrap();
        assert_eq!(
            json[0],
            serde_json::json!({
                "backupId": "tb-new",
                "automated": false,
                "tenantId": "tenant-1",
                "createdAt": "2026-09-21T14:16:00Z",
                "recoveryPoints": [
                    {"arn": rp("db-new"), "component": "database", "resourceType": "RDS",
                     "status": "COMPLETED", "createdAt": "2026-09-21T14:16:00Z", "drCopy": null},
                    {"arn": rp("efs-new"), "component": "efs", "resourceType": "EFS",
                     "status": "COMPLETED", "createdAt": "2026-09-21T14:15:00Z", "drCopy": null},
                ]
            })
        );
        let table = render_table("tenant-1", VAULT, &backups);
        assert_eq!(
            table[0],
            "tb-new  2026-09-21T14:16:00Z  (2 recovery points)"
        );
        assert!(table[1].starts_with("  database  COMPLETED  2026-09-21T14:16:00Z  arn:"));
        assert!(table[1].ends_with("DR none"));
        assert_eq!(
            render_table("tenant-1", VAULT, &[]),
            ["No backups of tenant-1 in bbws-dev-backup-vault."]
        );
    }
}
