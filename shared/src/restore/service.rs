//! Restoring a tenant from a tenant backup id (or one recovery point ARN), in two steps like
//! the backup: **plan** validates, finds the recovery points and checks whose they are, and
//! changes nothing; **start** starts the restore jobs with idempotency tokens derived from
//! the execution.
//!
//! EFS restores are item-level restores of the tenant's directory into the shared file system
//! (AWS Backup writes them under `aws-backup-restore_<datetime>/`; promote-restore moves them
//! into place). Database restores create a new instance or cluster beside the tenant's
//! database, which is never touched; the same function then finishes the restored database
//! and, when asked, promotes it (see [`super::database`]).

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_backup::types::RecoveryPointStatus;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use super::database::DatabaseService;
use super::request::{
    request_key, restored_identifier, PlanLease, PointInTime, RestoreInput, RestorePlan,
    RestoreRequest, RestoreSource, RestoreTimeouts, UsedBackup, DRILL_PREFIX,
};
use crate::aws::{database_kind, recovery_points, ResourceKind};
use crate::catalog::{Catalog, DrCopy, Point, TenantBackup};
use crate::clock::{parse_rfc3339, rfc3339};
use crate::config::{Config, ConfigError, TimeoutOverrides, Vault};
use crate::error::{Error, ErrorKind, Operation};
use crate::jobs::{idempotency_token, Clock, Job, JobKind, JobSet, JobState};
use crate::lease::{Claim, Leases};
use crate::runtime::{encode, parse, Service};
use crate::tags;
use crate::tenant_id::TenantId;
use crate::tenants::resolve::Resolver;
use crate::tenants::FileSystemTarget;

const OP: Operation = Operation::Restore;

/// A recovery point found for a tenant backup id, with the tenant it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Found {
    arn: String,
    resource_arn: String,
    resource_type: String,
    status: Option<RecoveryPointStatus>,
    owner: Option<String>,
    created_at: Option<i64>,
    /// The vault it is in, when not the region's own backup vault.
    vault: Option<String>,
    /// When it is a DR copy: the recovery point it is a copy of.
    copy_of: Option<String>,
    /// A continuous point: the second it is restored to.
    restore_time: Option<i64>,
    /// As AWS Backup measured it, where known: a dry run shows it.
    size_bytes: Option<i64>,
}

/// The restore jobs a generation started, as its lease notes them: recovery point → job id.
#[derive(serde::Serialize, serde::Deserialize)]
struct RecordedJobs {
    generation: String,
    jobs: HashMap<String, String>,
}

/// What the catalog gave for a request: the points, the backups they belong to, and for a
/// restore to a moment what was taken.
struct Located {
    points: Vec<Found>,
    used: Vec<UsedBackup>,
    point_in_time: Option<PointInTime>,
}

impl Found {
    /// A point as the catalog recorded it for `owner`: one whose lifecycle has ended is
    /// EXPIRED, whatever it was when recorded.
    fn from_catalog(point: &Point, owner: &TenantId, now: i64) -> Self {
        let status = if point.delete_at.is_some_and(|d| d <= now) {
            RecoveryPointStatus::Expired
        } else {
            RecoveryPointStatus::from(point.status.as_str())
        };
        Found {
            arn: point.recovery_point_arn.clone(),
            resource_arn: point.resource_arn.clone(),
            resource_type: point.resource_type.clone(),
            status: Some(status),
            owner: Some(owner.to_string()),
            created_at: Some(point.created_at),
            vault: None,
            copy_of: None,
            restore_time: None,
            size_bytes: point.size_bytes,
        }
    }

    /// A tenant's continuous database point, to be restored to the second `at`.
    fn continuous(point: &Point, owner: &TenantId, at: i64) -> Self {
        Found {
            arn: point.recovery_point_arn.clone(),
            resource_arn: point.resource_arn.clone(),
            resource_type: point.resource_type.clone(),
            status: Some(RecoveryPointStatus::from(point.status.as_str())),
            owner: Some(owner.to_string()),
            created_at: Some(at),
            vault: None,
            copy_of: None,
            restore_time: Some(at),
            size_bytes: point.size_bytes,
        }
    }

    /// The point's DR copy in place of the point, for a restore in `region` (the region of
    /// the DR vault) from the vault `source_vault` when one is named. The copy must be
    /// COMPLETED, in this region, in that vault and not past its lifecycle; anything else is
    /// BackupNotFound, naming what is missing.
    fn dr_copy(
        &self,
        copy: Option<&DrCopy>,
        region: Option<&str>,
        source_vault: Option<&str>,
        backup_id: &str,
        now: i64,
    ) -> Result<Found, Error> {
        let here = region.unwrap_or("this region");
        let not_found = |why: String| {
            Error::new(
                ErrorKind::BackupNotFound,
                format!(
                    "recovery point {} of backup {backup_id} {why}: it cannot be restored in \
                     {here}",
                    self.arn
                ),
            )
        };
        let copy = copy.ok_or_else(|| not_found("has no DR copy in the catalog".into()))?;
        let copy_arn = match (&copy.recovery_point_arn, copy.state.as_str()) {
            (Some(arn), "COMPLETED") => arn,
            (_, state) => {
                return Err(not_found(format!(
                    "has a DR copy that is {state}, not COMPLETED (copy job {})",
                    copy.copy_job_id
                )))
            }
        };
        if copy.delete_at.is_some_and(|d| d <= now) {
            return Err(not_found(format!(
                "has a DR copy {copy_arn} past its lifecycle (EXPIRED)"
            )));
        }
        let copy_region = arn_region(&copy.vault_arn);
        if region.is_some_and(|r| Some(r) != copy_region) {
            return Err(not_found(format!(
                "has its DR copy in {}, not in this region",
                copy.vault_arn
            )));
        }
        let vault = copy
            .vault_arn
            .rsplit_once(":backup-vault:")
            .map(|(_, name)| name.to_owned())
            .unwrap_or_default();
        if let Some(source) = source_vault.filter(|s| *s != vault) {
            return Err(not_found(format!(
                "has its DR copy in vault {vault}, not in the restore's source vault {source}"
            )));
        }
        Ok(Found {
            arn: copy_arn.clone(),
            status: Some(RecoveryPointStatus::Completed),
            vault: Some(vault),
            copy_of: Some(self.arn.clone()),
            ..self.clone()
        })
    }
}

/// What a restore puts live, in words: said plainly in the plan's summary, the report and a
/// dry run.
fn goes_live(
    tenant: &TenantId,
    files: Option<&RestoreSource>,
    database: Option<&RestoreSource>,
    files_into: Option<&str>,
    promote_database: bool,
    drill: bool,
) -> String {
    if drill {
        return "nothing goes live (a drill)".into();
    }
    let mut live = Vec::new();
    let mut beside = Vec::new();
    match (files, files_into) {
        (None, _) => beside.push("the files are left as they are".to_owned()),
        (Some(_), Some(dir)) => beside.push(format!("the files go to {dir}")),
        (Some(_), None) => live.push(format!(
            "the files in /{tenant} (the current ones kept aside)"
        )),
    }
    match database {
        None => beside.push("the database is left as it is".to_owned()),
        Some(db) if promote_database => live.push(format!(
            "the database as {} (the current one kept, marked superseded)",
            db.target
        )),
        Some(db) => beside.push(format!("the database is restored to new {}", db.target)),
    }
    match (live.is_empty(), beside.is_empty()) {
        (true, _) => format!("nothing goes live: {}", beside.join(", ")),
        (false, true) => format!("goes live: {}", live.join(" and ")),
        (false, false) => format!("goes live: {}; {}", live.join(" and "), beside.join(", ")),
    }
}

/// The region of an ARN (`arn:aws:backup:<region>:…`).
fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// How far back continuous backup restores at most: "going back a maximum of 35 days"
/// (https://docs.aws.amazon.com/aws-backup/latest/devguide/point-in-time-recovery.html).
/// The rule's own retention may be shorter; AWS Backup then refuses the restore job.
const CONTINUOUS_MAX_SECONDS: i64 = 35 * 86_400;

/// The continuous point that can restore the database to the second `at`: made at or before
/// it, usable, and `at` within the last 35 days (the newest such point).
fn covering(points: &[Point], at: i64, now: i64) -> Option<&Point> {
    points
        .iter()
        .filter(|p| matches!(p.status.as_str(), "COMPLETED" | "AVAILABLE"))
        .filter(|p| p.created_at <= at && at <= now && at >= now - CONTINUOUS_MAX_SECONDS)
        .max_by_key(|p| p.created_at)
}

fn used(backup: &TenantBackup) -> UsedBackup {
    UsedBackup {
        tenant_id: backup.tenant_id.clone(),
        backup_id: backup.backup_id.clone(),
        time: backup.time,
    }
}

pub struct RestoreService {
    pub config: Config,
    pub vault: Vault,
    pub backup: aws_sdk_backup::Client,
    pub efs: aws_sdk_efs::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// Where a tenant's restore points are found.
    pub catalog: Catalog,
    /// Finishing and promoting the restored database.
    pub database: DatabaseService,
    /// One operation per tenant: taken at start, given back at the end.
    pub leases: Leases,
    pub clock: Clock,
    /// The vault restores read from when it is not the region's own (`RESTORE_SOURCE_VAULT`):
    /// in the DR region, the DR vault. Each point is then restored from its DR copy.
    pub source_vault: Option<String>,
    /// The region the function runs in: a catalog point of another region is restored from
    /// its DR copy in this one.
    pub region: Option<String>,
    /// This region's own network for a restored database, put over what a DR copy carries.
    pub network: DatabaseNetwork,
}

/// The restoring region's own network for a restored database: its subnet group
/// (`DB_SUBNET_GROUP_NAME`), security groups (`DB_SECURITY_GROUP_IDS`, comma-separated) and KMS
/// key (`DB_KMS_KEY_ARN`), the region's data stack exports.
///
/// A DR copy's restore metadata is the source database's configuration: the primary
/// region's subnet group, security group ids, zones and key, none of which exist where the
/// copy is restored. Left out, RDS falls back to the region's defaults ("created ... with the
/// default security group, the default subnet group",
/// https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBInstanceToPointInTime.html),
/// and "if the default is not present, for example the default VPC or subnet has been deleted
/// and no metadata override has been input", the restore fails
/// (https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing-inferred-metadata.html):
/// so a copy's are always replaced with the region's own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatabaseNetwork {
    pub subnet_group: Option<String>,
    pub security_groups: Vec<String>,
    pub kms_key: Option<String>,
}

impl DatabaseNetwork {
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Self {
        let value = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Self {
            subnet_group: value("DB_SUBNET_GROUP_NAME"),
            security_groups: value("DB_SECURITY_GROUP_IDS")
                .map(|v| {
                    v.split(',')
                        .map(|g| g.trim().to_owned())
                        .filter(|g| !g.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            kms_key: value("DB_KMS_KEY_ARN"),
        }
    }

    /// Puts the region's network over a DR copy's restore metadata: its subnet group and
    /// security groups (arrays as JSON text, as the metadata gives them), no zone of the
    /// source region, and for an Aurora cluster the region's key (an instance restored from a
    /// snapshot keeps the snapshot's encryption; RestoreDBInstanceFromDBSnapshot takes no
    /// key). Without a setting, the copy's value is removed, never passed on.
    pub fn apply(&self, kind: ResourceKind, metadata: &mut HashMap<String, String>) {
        metadata.remove("AvailabilityZone");
        metadata.remove("AvailabilityZones");
        metadata.remove("DBSubnetGroupName");
        metadata.remove("VpcSecurityGroupIds");
        metadata.remove("KmsKeyId");
        if let Some(group) = &self.subnet_group {
            metadata.insert("DBSubnetGroupName".into(), group.clone());
        }
        if !self.security_groups.is_empty() {
            metadata.insert(
                "VpcSecurityGroupIds".into(),
                serde_json::to_string(&self.security_groups).expect("strings encode"),
            );
        }
        if kind == ResourceKind::AuroraCluster {
            if let Some(key) = &self.kms_key {
                metadata.insert("KmsKeyId".into(), key.clone());
            }
        }
    }
}

impl Service for RestoreService {
    fn build(
        sdk: &SdkConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let config = Config::from_lookup(lookup)?;
        let catalog = Catalog::from_lookup(sdk, lookup, config.retention.dr_delete_after_days)?;
        let region = sdk.region().map(|r| r.to_string());
        Ok(Self {
            vault: Vault::from_lookup(&lookup)?,
            backup: aws_sdk_backup::Client::new(sdk),
            efs: aws_sdk_efs::Client::new(sdk),
            tagging: aws_sdk_resourcegroupstagging::Client::new(sdk),
            leases: Leases::new(&catalog, region.as_deref()),
            catalog,
            database: DatabaseService {
                config: config.clone(),
                rds: aws_sdk_rds::Client::new(sdk),
                ssm: aws_sdk_ssm::Client::new(sdk),
                clock: Clock::System,
            },
            config,
            clock: Clock::System,
            source_vault: lookup(SOURCE_VAULT_VARIABLE)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
            region,
            network: DatabaseNetwork::from_lookup(lookup),
        })
    }
}

/// The setting that names the vault restores read from (empty: the region's own vault).
pub const SOURCE_VAULT_VARIABLE: &str = "RESTORE_SOURCE_VAULT";

/// The `restore` handler: runs whichever step the input names; the output goes back into
/// the state machine.
pub async fn handler(event: LambdaEvent<Value>, service: &RestoreService) -> Result<Value, Error> {
    match parse(OP, "restore", event.payload)? {
        RestoreInput::Plan {
            execution_id,
            request,
        } => {
            let request = parse(OP, "restore request", request)?;
            encode(OP, &service.plan(&execution_id, &request).await?)
        }
        RestoreInput::Start { execution_id, plan } => {
            encode(OP, &service.start(&execution_id, &plan).await?)
        }
        RestoreInput::FinishDatabase { plan, restore } => {
            encode(OP, &service.database.finish(&plan, &restore).await?)
        }
        RestoreInput::PromoteDatabase { plan, restore } => {
            encode(OP, &service.database.promote(&plan, &restore).await?)
        }
        RestoreInput::CheckLease { execution_id, plan } => {
            service.check_lease(&execution_id, &plan).await
        }
        RestoreInput::Release {
            execution_id,
            state,
        } => service.release(&execution_id, &state).await,
    }
}

impl RestoreService {
    pub async fn plan(
        &self,
        execution_id: &str,
        request: &RestoreRequest,
    ) -> Result<RestorePlan, Error> {
        // Everything about the request is checked before any AWS call.
        let source = TenantId::parse(&request.tenant_id)?;
        let target = match &request.clone_to {
            Some(raw) => TenantId::parse(raw)?,
            None => source.clone(),
        };
        let at = match &request.at {
            Some(raw) => Some(parse_rfc3339(raw).ok_or_else(|| {
                OP.bad_request(format!(
                    "at {:?} is not an RFC 3339 time such as 2026-11-26T07:00:00Z",
                    crate::error::echo(raw)
                ))
            })?),
            None => None,
        };
        // A moment still to come has no backup yet: restoring the newest point instead
        // would be a silent substitute. A minute of leeway for the caller's clock.
        if let Some(at) = at {
            let now = self.clock.now();
            if at > now + 60 {
                return Err(OP.bad_request(format!(
                    "at {} is {} s in the future: no backup exists yet for a moment to come",
                    rfc3339(at),
                    at - now
                )));
            }
        }
        match (request.backup_id.trim().is_empty(), at) {
            (true, None) => return Err(OP.bad_request("backupId is empty")),
            (false, Some(_)) => {
                return Err(
                    OP.bad_request("backupId and at both name what to restore: give one of them")
                )
            }
            _ => {}
        }
        let drill = request.drill == Some(true);
        if drill && (request.clone_to.is_none() || !target.as_str().starts_with(DRILL_PREFIX)) {
            return Err(OP.bad_request(format!(
                "a drill restores into a scratch tenant: cloneTo must name one starting with \
                 {DRILL_PREFIX}"
            )));
        }
        if drill && request.promote_database == Some(true) {
            return Err(OP.bad_request("a drill never promotes a database"));
        }
        let side_by_side = request.side_by_side == Some(true);
        if side_by_side && request.promote_database == Some(true) {
            return Err(OP.bad_request(
                "sideBySide puts nothing live: it cannot be combined with promoteDatabase",
            ));
        }
        if side_by_side && drill {
            return Err(OP.bad_request("a drill is already side by side: drop sideBySide"));
        }
        if request.files == Some(false) && request.database == Some(false) {
            return Err(OP.bad_request("nothing to restore: files and database are both false"));
        }
        if request.promote_database == Some(true) && request.database == Some(false) {
            return Err(OP.bad_request(
                "promoteDatabase needs the database restored: it cannot be combined with \
                 database: false",
            ));
        }
        let timeouts = self.timeouts(request.timeouts.as_ref())?;
        let polling = self
            .config
            .polling
            .overridden(request.poll_seconds, request.max_poll_seconds);

        let located = match (at, &request.at) {
            (Some(at), Some(raw)) => self.find_at(&source, at, raw).await?,
            _ => self.find(&request.backup_id, &source).await?,
        };
        let backup_id = match &located.point_in_time {
            Some(pit) => pit.files_backup_id.clone(),
            None => request.backup_id.clone(),
        };
        let found = self.with_dr_copies(located.points, &backup_id).await?;
        for point in &found {
            match &point.owner {
                Some(owner) if owner == source.as_str() => {}
                Some(owner) => {
                    return Err(Error::new(
                        ErrorKind::InvalidRestoreTarget,
                        format!(
                            "backup {} belongs to tenant {owner}, not {source}; to copy it into \
                         another tenant, ask for tenant {owner} with cloneTo",
                            backup_id
                        ),
                    ))
                }
                None => {
                    return Err(Error::new(
                        ErrorKind::InvalidRestoreTarget,
                        format!(
                            "recovery point {} carries no {} tag: it cannot be tied to tenant \
                         {source}",
                            point.arn,
                            tags::TENANT_ID
                        ),
                    ))
                }
            }
            if !matches!(
                point.status,
                Some(RecoveryPointStatus::Completed | RecoveryPointStatus::Available)
            ) {
                return Err(Error::new(
                    ErrorKind::BackupNotFound,
                    format!(
                        "recovery point {} of backup {} is {}: it cannot be restored",
                        point.arn,
                        backup_id,
                        point
                            .status
                            .as_ref()
                            .map(|s| s.as_str())
                            .unwrap_or("of unknown status")
                    ),
                ));
            }
        }
        let efs_point = found.iter().find(|p| p.resource_type == "EFS");
        let db_point = found
            .iter()
            .find(|p| p.resource_type == "RDS" || p.resource_type == "Aurora");
        let want_files = request.files.unwrap_or(efs_point.is_some());
        let want_database = request.database.unwrap_or(db_point.is_some());
        if want_files && efs_point.is_none() {
            return Err(Error::new(
                ErrorKind::BackupNotFound,
                format!("backup {} holds no file-system recovery point", backup_id),
            ));
        }
        // Files and database restored together go live together, or neither does: the site
        // must never serve restored files with the database they were not backed up with.
        let live = !drill && !side_by_side;
        if live && want_files && want_database && request.promote_database == Some(false) {
            return Err(OP.bad_request(
                "files and database restored together go live together: promoteDatabase \
                 false would serve the restored files with the current database; use \
                 sideBySide to put neither live, or database: false for the files alone",
            ));
        }
        let promote_database = request.promote_database.unwrap_or(live && want_database);
        if promote_database && !want_database {
            return Err(Error::new(
                ErrorKind::BackupNotFound,
                format!(
                    "backup {} holds no database recovery point to promote",
                    backup_id
                ),
            ));
        }
        if want_database && db_point.is_none() {
            return Err(Error::new(
                ErrorKind::BackupNotFound,
                format!("backup {} holds no database recovery point", backup_id),
            ));
        }

        let resolver = Resolver {
            tagging: &self.tagging,
            efs: &self.efs,
            operation: OP,
        };
        let overrides = request.resources.clone().unwrap_or_default();
        let mut resources = if drill {
            // The scratch tenant has no resources: its directory is made in the scratch space
            // of the source tenant's file system, where no tenant id reaches; it has no
            // service and no database of its own.
            let mut resources = resolver.resolve(&source, &overrides).await?;
            resources.file_system.root_path = crate::layout::scratch_root_path(target.as_str());
            resources.service = None;
            resources.database = None;
            resources
        } else {
            resolver.resolve(&target, &overrides).await?
        };

        // A side-by-side restore serves nothing: no service to redeploy, files beside the
        // tenant's directory.
        let files_into = (side_by_side && want_files)
            .then(|| super::request::side_by_side_directory(&target, execution_id));
        if side_by_side {
            resources.service = None;
        }
        let files = match (want_files, efs_point) {
            (true, Some(point)) => Some(
                self.efs_source(point, &source, &resources.file_system)
                    .await?,
            ),
            _ => None,
        };
        let lease = self
            .plan_lease(
                execution_id,
                &source,
                &target,
                drill,
                [
                    efs_point.filter(|_| want_files),
                    db_point.filter(|_| want_database),
                ],
                promote_database,
                &timeouts,
            )
            .await?;
        let database = match (want_database, db_point) {
            (true, Some(point)) => Some(
                self.database_source(point, &target, &lease.generation)
                    .await?,
            ),
            _ => None,
        };
        let gap = match &located.point_in_time {
            Some(pit) => format!(
                " (at {}: files of {}{})",
                pit.at,
                pit.files_created_at,
                match (&pit.database_created_at, pit.gap_seconds) {
                    _ if pit.database_continuous_point.is_some() => {
                        ", database to the same second (continuous backup), 0 s apart".to_owned()
                    }
                    (Some(db), Some(gap)) => format!(", database of {db}, {gap} s apart"),
                    _ => String::new(),
                }
            ),
            None => String::new(),
        };
        let from_copies = [&files, &database]
            .into_iter()
            .flatten()
            .find(|s| s.copy_of.is_some())
            .and_then(|s| s.vault.as_ref())
            .map(|vault| format!(", from the DR copies in vault {vault}"))
            .unwrap_or_default();
        let summary = format!(
            "restore backup {} of tenant {source} into tenant {target}: {}{}{}{gap}{from_copies}",
            backup_id,
            if files.is_some() { "files" } else { "" },
            if files.is_some() && database.is_some() {
                " and "
            } else {
                ""
            },
            database
                .as_ref()
                .map(|d| format!(
                    "database to new {}{}",
                    d.target,
                    d.metadata
                        .get(point_in_time_key(d.resource))
                        .map(|t| format!(" as of {t}"))
                        .unwrap_or_default()
                ))
                .unwrap_or_default()
        );
        let goes_live = goes_live(
            &target,
            files.as_ref(),
            database.as_ref(),
            files_into.as_deref(),
            promote_database,
            drill,
        );
        let summary = format!("{summary}; {goes_live}");
        Ok(RestorePlan {
            tenant_id: target,
            source_tenant_id: source,
            backup_id: backup_id.clone(),
            file_system: Some(resources.file_system),
            files,
            database,
            service: resources.service,
            current_database: resources.database,
            promote_database,
            side_by_side,
            files_into,
            live,
            goes_live,
            drill,
            point_in_time: located.point_in_time,
            used: located.used,
            timeouts,
            polling,
            summary,
            lease: Some(lease),
        })
    }

    /// The lease the restore will take: its tenant, the request's key, and its generation,
    /// which is a timed-out restore's of the same request (adopted) or this execution's.
    /// Only reads the lease: the plan changes nothing.
    #[allow(clippy::too_many_arguments)]
    async fn plan_lease(
        &self,
        execution_id: &str,
        source: &TenantId,
        target: &TenantId,
        drill: bool,
        points: [Option<&Found>; 2],
        promote_database: bool,
        timeouts: &RestoreTimeouts,
    ) -> Result<PlanLease, Error> {
        let leased = if drill { source } else { target };
        let restore_time = points
            .iter()
            .flatten()
            .filter_map(|p| p.restore_time)
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let key = request_key(&[
            source.as_str(),
            target.as_str(),
            if drill { "drill" } else { "restore" },
            points[0].map(|p| p.arn.as_str()).unwrap_or("-"),
            points[1].map(|p| p.arn.as_str()).unwrap_or("-"),
            &restore_time,
            if promote_database { "promote" } else { "-" },
        ]);
        // A drill's scratch target is new each time: it never adopts.
        let adopted = match drill {
            true => None,
            false => self
                .leases
                .read(OP, leased)
                .await?
                .filter(|l| l.timed_out && l.request_key == key && !l.generation.is_empty()),
        };
        let seconds = (timeouts.efs_seconds + timeouts.database_seconds + timeouts.service_seconds)
            as i64
            + 3600;
        Ok(PlanLease {
            tenant_id: leased.clone(),
            request_key: key,
            adopting: adopted.is_some(),
            generation: adopted
                .map(|l| l.generation)
                .unwrap_or_else(|| execution_id.to_owned()),
            seconds,
        })
    }

    /// Before promotion: the execution still holds the tenant (renewed), or TenantBusy.
    pub async fn check_lease(
        &self,
        execution_id: &str,
        plan: &RestorePlan,
    ) -> Result<Value, Error> {
        let Some(lease) = &plan.lease else {
            return Ok(serde_json::json!({ "held": false }));
        };
        self.leases
            .renew(OP, &lease.tenant_id, execution_id, lease.seconds)
            .await?;
        Ok(serde_json::json!({ "held": true, "tenantId": lease.tenant_id }))
    }

    /// The execution's end: its lease given back; or, when the restore jobs themselves ran
    /// past their deadline (nothing promoted yet), kept and marked timed out so that a rerun
    /// of the same request adopts the jobs still running. A retried release changes nothing.
    pub async fn release(&self, execution_id: &str, state: &Value) -> Result<Value, Error> {
        let Some(plan) = state
            .get("plan")
            .and_then(|p| serde_json::from_value::<RestorePlan>(p.clone()).ok())
        else {
            return Ok(serde_json::json!({ "released": false, "kept": false }));
        };
        let Some(lease) = &plan.lease else {
            return Ok(serde_json::json!({ "released": false, "kept": false }));
        };
        let timed_out = state.pointer("/error/Error").and_then(Value::as_str)
            == Some(ErrorKind::RestoreTimeout.name());
        let promoted = state.get("promotion").is_some_and(|p| !p.is_null());
        if timed_out && !plan.drill && !promoted {
            let kept = self
                .leases
                .keep_timed_out(OP, &lease.tenant_id, execution_id)
                .await?;
            return Ok(serde_json::json!({ "released": false, "kept": kept }));
        }
        let released = self
            .leases
            .release(OP, &lease.tenant_id, execution_id)
            .await?;
        Ok(serde_json::json!({ "released": released, "kept": false }))
    }

    pub async fn start(&self, execution_id: &str, plan: &RestorePlan) -> Result<JobSet, Error> {
        let now = self.clock.now();
        let mut jobs = Vec::new();
        // The tenant's lease first: a second operation on the tenant is refused TenantBusy
        // before anything is noted or started.
        let (generation, adopted) = match &plan.lease {
            Some(lease) => {
                let held = self
                    .leases
                    .acquire(
                        OP,
                        &Claim {
                            tenant: &lease.tenant_id,
                            holder: execution_id,
                            operation: if plan.drill { "drill" } else { "restore" },
                            seconds: lease.seconds,
                            request_key: &lease.request_key,
                            generation: &lease.generation,
                        },
                    )
                    .await?;
                // Jobs recorded by this generation (a timed-out run, or a retried step);
                // those of an expired lease of another request are not this restore's.
                let adopted = held
                    .jobs
                    .and_then(|j| serde_json::from_str::<RecordedJobs>(&j).ok())
                    .filter(|r| r.generation == lease.generation)
                    .map(|r| r.jobs)
                    .unwrap_or_default();
                (lease.generation.as_str(), adopted)
            }
            None => (execution_id, HashMap::new()),
        };
        // Each backup the restore uses says so (a set: a retried step adds nothing).
        for used in &plan.used {
            self.catalog
                .add_restore(
                    OP,
                    &used.tenant_id,
                    &used.backup_id,
                    used.time,
                    execution_id,
                )
                .await?;
        }
        for (source, timeout) in [
            (&plan.files, plan.timeouts.efs_seconds),
            (&plan.database, plan.timeouts.database_seconds),
        ] {
            let Some(source) = source else { continue };
            if let Some(job_id) = adopted.get(&source.recovery_point_arn) {
                tracing::info!(job_id, recovery_point = %source.recovery_point_arn, "restore adopted");
                let mut job = Job::new(
                    JobKind::Restore,
                    source.resource,
                    &source.recovery_point_arn,
                    job_id,
                    JobState::Pending,
                    now,
                    timeout,
                )
                .in_vault(source.vault.as_ref().unwrap_or(&self.vault.name));
                job.joined = true;
                jobs.push(job);
                continue;
            }
            let started = self
                .backup
                .start_restore_job()
                .recovery_point_arn(&source.recovery_point_arn)
                .set_metadata(Some(source.metadata.clone()))
                .iam_role_arn(&self.vault.role_arn)
                // The generation's token: a retry (and, within the token's hour, a rerun
                // that adopts) starts nothing twice.
                .idempotency_token(idempotency_token(
                    generation,
                    "restore",
                    &source.recovery_point_arn,
                ))
                .resource_type(&source.resource_type)
                .send()
                .await
                .map_err(|e| {
                    OP.aws(
                        &format!("starting a restore of {}", source.recovery_point_arn),
                        e,
                    )
                })?;
            let job_id = started.restore_job_id().ok_or_else(|| {
                OP.failed(format!(
                    "AWS Backup started a restore of {} without a job id",
                    source.recovery_point_arn
                ))
            })?;
            tracing::info!(job_id, recovery_point = %source.recovery_point_arn, "restore started");
            jobs.push(
                Job::new(
                    JobKind::Restore,
                    source.resource,
                    &source.recovery_point_arn,
                    job_id,
                    JobState::Pending,
                    now,
                    timeout,
                )
                .in_vault(source.vault.as_ref().unwrap_or(&self.vault.name)),
            );
        }
        // Noted on the lease, so a rerun after a RestoreTimeout adopts them: AWS Backup's
        // idempotency tokens "time out after one hour"
        // (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_StartRestoreJob.html).
        if let Some(lease) = &plan.lease {
            let started = RecordedJobs {
                generation: lease.generation.clone(),
                jobs: jobs
                    .iter()
                    .map(|j| (j.resource_arn.clone(), j.job_id.clone()))
                    .collect(),
            };
            let started = serde_json::to_string(&started).unwrap_or_default();
            self.leases
                .record_jobs(OP, &lease.tenant_id, execution_id, &started)
                .await?;
        }
        Ok(JobSet::new(
            OP,
            plan.tenant_id.as_str(),
            &plan.backup_id,
            jobs,
            plan.polling,
        ))
    }

    /// Whether a point is restored from its DR copy: when restores read from a vault other
    /// than the region's own (the DR region's deployment), or the point is of another region.
    fn restores_from_copy(&self, point: &Found) -> bool {
        if point.vault.is_some() {
            return false; // a recovery point ARN named in the source vault itself
        }
        self.source_vault.is_some()
            || matches!(
                (self.region.as_deref(), arn_region(&point.arn)),
                (Some(here), Some(there)) if here != there
            )
    }

    /// Each point to be restored from its DR copy replaced by the copy the catalog records
    /// (one BatchGetItem for all of them).
    async fn with_dr_copies(
        &self,
        points: Vec<Found>,
        backup_id: &str,
    ) -> Result<Vec<Found>, Error> {
        let wanted: Vec<String> = points
            .iter()
            .filter(|p| self.restores_from_copy(p))
            .map(|p| p.arn.clone())
            .collect();
        if wanted.is_empty() {
            return Ok(points);
        }
        let copies = self.catalog.copies(OP, &wanted).await?;
        let now = self.clock.now();
        points
            .into_iter()
            .map(|p| {
                if !self.restores_from_copy(&p) {
                    return Ok(p);
                }
                let copy = p.dr_copy(
                    copies.get(&p.arn),
                    self.region.as_deref(),
                    self.source_vault.as_deref(),
                    backup_id,
                    now,
                )?;
                tracing::info!(point = %p.arn, copy = %copy.arn, "restoring from the DR copy");
                Ok(copy)
            })
            .collect()
    }

    fn timeouts(&self, overrides: Option<&TimeoutOverrides>) -> Result<RestoreTimeouts, Error> {
        let defaults = &self.config.timeouts;
        let o = overrides.cloned().unwrap_or_default();
        o.refuse(OP, "copySeconds")?;
        Ok(RestoreTimeouts {
            efs_seconds: o.seconds(OP, "efsSeconds", defaults.efs_restore)?,
            database_seconds: o.seconds(OP, "databaseSeconds", defaults.database_restore)?,
            service_seconds: o.seconds(OP, "serviceSeconds", defaults.service)?,
        })
    }

    /// The recovery points a backup id names: one ARN (described, its tags read), or a
    /// tenant backup as the catalog has it. No vault is listed.
    async fn find(&self, backup_id: &str, source: &TenantId) -> Result<Located, Error> {
        let vault = self.source_vault.as_ref().unwrap_or(&self.vault.name);
        if backup_id.starts_with("arn:") {
            let described = self
                .backup
                .describe_recovery_point()
                .backup_vault_name(vault)
                .recovery_point_arn(backup_id)
                .send()
                .await
                .map_err(|e| match e.as_service_error() {
                    Some(err) if err.is_resource_not_found_exception() => Error::new(
                        ErrorKind::BackupNotFound,
                        format!("no recovery point {backup_id} in vault {vault}"),
                    ),
                    Some(err) if err.is_invalid_parameter_value_exception() => Error::new(
                        ErrorKind::BackupNotFound,
                        format!("{backup_id} is not a recovery point of vault {vault}"),
                    ),
                    _ => OP.aws(&format!("describing recovery point {backup_id}"), e),
                })?;
            let tags = self.tags_of(backup_id).await?;
            let created_at = described.creation_date().map(|d| d.secs());
            let resource_type = described.resource_type().unwrap_or_default().to_owned();
            let mut owner = tags.get(tags::TENANT_ID).cloned();
            // A plan's point of the shared file system carries no tenant: it holds every
            // tenant that was on the file system when it was made, and no other.
            if owner.is_none() && resource_type == "EFS" {
                if let Some(created_at) = created_at {
                    self.check_life(source, created_at, backup_id, true).await?;
                    owner = Some(source.to_string());
                }
            }
            return Ok(Located {
                points: vec![Found {
                    arn: backup_id.to_owned(),
                    resource_arn: described.resource_arn().unwrap_or_default().to_owned(),
                    resource_type,
                    status: described.status().cloned(),
                    owner,
                    created_at,
                    vault: self.source_vault.clone(),
                    copy_of: None,
                    restore_time: None,
                    size_bytes: described.backup_size_in_bytes(),
                }],
                used: Vec::new(),
                point_in_time: None,
            });
        }
        let backup = self
            .catalog
            .backup(OP, source.as_str(), backup_id)
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::BackupNotFound,
                    format!("tenant {source} has no backup {backup_id} in the catalog"),
                )
            })?;
        if let Some(files) = &backup.files {
            self.check_life(source, files.created_at, backup_id, false)
                .await?;
        }
        let now = self.clock.now();
        let mut points: Vec<Found> = [&backup.files, &backup.database]
            .into_iter()
            .flatten()
            .map(|p| Found::from_catalog(p, source, now))
            .collect();
        // A plan run's backup whose database has continuous backup: that run's database is
        // the continuous point at the files' moment.
        if let (Some(files), None) = (&backup.files, &backup.database) {
            if let Some(continuous) = self.continuous_at(source, files.created_at).await? {
                points.push(continuous);
            }
        }
        Ok(Located {
            points,
            used: vec![used(&backup)],
            point_in_time: None,
        })
    }

    /// A restore to the moment `at`: the newest file-system point at or before it, and the
    /// database point nearest before it.
    async fn find_at(&self, source: &TenantId, at: i64, raw: &str) -> Result<Located, Error> {
        let files_backup = self
            .catalog
            .files_at_or_before(OP, source.as_str(), at)
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::BackupNotFound,
                    format!("tenant {source} has no file-system point at or before {raw}"),
                )
            })?;
        let files = files_backup
            .files
            .clone()
            .expect("the catalog's answer holds files");
        self.check_life(source, files.created_at, &files_backup.backup_id, false)
            .await?;
        let now = self.clock.now();
        let mut points = vec![Found::from_catalog(&files, source, now)];
        let mut used_backups = vec![used(&files_backup)];
        let mut pit = PointInTime {
            at: raw.to_owned(),
            files_backup_id: files_backup.backup_id.clone(),
            files_created_at: rfc3339(files.created_at),
            database_backup_id: None,
            database_created_at: None,
            gap_seconds: None,
            database_continuous_point: None,
        };
        // Continuous backup restores the database to exactly the files' second.
        if let Some(continuous) = self.continuous_at(source, files.created_at).await? {
            pit.database_created_at = Some(rfc3339(files.created_at));
            pit.gap_seconds = Some(0);
            pit.database_continuous_point = Some(continuous.arn.clone());
            points.push(continuous);
            return Ok(Located {
                points,
                used: used_backups,
                point_in_time: Some(pit),
            });
        }
        let database = self
            .catalog
            .database_at_or_before(OP, source.as_str(), at)
            .await?;
        if let Some((db_backup, db)) = database {
            pit.database_backup_id = Some(db_backup.backup_id.clone());
            pit.database_created_at = Some(rfc3339(db.created_at));
            pit.gap_seconds = Some((db.created_at - files.created_at).abs());
            points.push(Found::from_catalog(&db, source, now));
            if db_backup.backup_id != files_backup.backup_id {
                used_backups.push(used(&db_backup));
            }
        }
        Ok(Located {
            points,
            used: used_backups,
            point_in_time: Some(pit),
        })
    }

    /// The tenant's continuous database point that restores to the second `at`, if any. Only
    /// where restores read the region's own vault: a DR copy of a continuous point is a
    /// snapshot of the moment it was copied.
    async fn continuous_at(&self, tenant: &TenantId, at: i64) -> Result<Option<Found>, Error> {
        if self.source_vault.is_some() {
            return Ok(None);
        }
        let points = self.catalog.continuous_points(OP, tenant.as_str()).await?;
        let here = self.region.as_deref();
        let points: Vec<Point> = points
            .into_iter()
            .filter(|p| here.is_none() || arn_region(&p.recovery_point_arn) == here)
            .collect();
        Ok(covering(&points, at, self.clock.now()).map(|p| Found::continuous(p, tenant, at)))
    }

    /// A file-system point made before the tenant was on the file system, or after it left,
    /// is not the tenant's: BackupNotFound. A tenant whose life the catalog does not know
    /// (onboarded before the catalog) is checked only when `required`.
    async fn check_life(
        &self,
        tenant: &TenantId,
        created_at: i64,
        what: &str,
        required: bool,
    ) -> Result<(), Error> {
        let lives = self.catalog.lives_of(OP, tenant.as_str()).await?;
        if (lives.is_empty() && !required) || lives.iter().any(|l| l.covers(created_at)) {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::BackupNotFound,
            format!(
                "{what} was made at {} (file system), when tenant {tenant} was not on the \
                 file system: it holds none of the tenant's files",
                rfc3339(created_at)
            ),
        ))
    }

    async fn tags_of(&self, arn: &str) -> Result<HashMap<String, String>, Error> {
        recovery_points::tags(&self.backup, &self.database.rds, OP, arn).await
    }

    async fn metadata(&self, point: &Found) -> Result<HashMap<String, String>, Error> {
        let arn = &point.arn;
        let out = self
            .backup
            .get_recovery_point_restore_metadata()
            .backup_vault_name(point.vault.as_ref().unwrap_or(&self.vault.name))
            .recovery_point_arn(arn)
            .send()
            .await
            .map_err(|e| OP.aws(&format!("reading the restore metadata of {arn}"), e))?;
        Ok(out.restore_metadata().cloned().unwrap_or_default())
    }

    /// An item-level restore of the source tenant's directory into the shared file system.
    async fn efs_source(
        &self,
        point: &Found,
        source: &TenantId,
        file_system: &FileSystemTarget,
    ) -> Result<RestoreSource, Error> {
        let backed_up = point.resource_arn.rsplit('/').next().unwrap_or_default();
        // A DR copy is of the primary region's file system; it is restored into this
        // region's, found by the tenant's tags like any other.
        if point.copy_of.is_none() && backed_up != file_system.file_system_id {
            return Err(Error::new(
                ErrorKind::InvalidRestoreTarget,
                format!(
                "recovery point {} is of file system {backed_up}, but the tenant's files are on \
                 {}",
                point.arn, file_system.file_system_id
            ),
            ));
        }
        let mut metadata = self.metadata(point).await?;
        metadata.insert("file-system-id".into(), file_system.file_system_id.clone());
        metadata.insert("newFileSystem".into(), "false".into());
        // Paths from the file system's root, as a JSON array in a string.
        metadata.insert(
            "ItemsToRestore".into(),
            serde_json::to_string(&[source.root_path()]).expect("a list of strings encodes"),
        );
        Ok(RestoreSource {
            recovery_point_arn: point.arn.clone(),
            resource: ResourceKind::Efs,
            resource_type: "EFS".into(),
            metadata,
            target: file_system.root_path.clone(),
            vault: point.vault.clone(),
            copy_of: point.copy_of.clone(),
            size_bytes: point.size_bytes,
        })
    }

    /// A restore of the database to a new identifier beside the tenant's database.
    async fn database_source(
        &self,
        point: &Found,
        target: &TenantId,
        generation: &str,
    ) -> Result<RestoreSource, Error> {
        let kind =
            database_kind(&point.resource_arn).unwrap_or(if point.resource_type == "Aurora" {
                ResourceKind::AuroraCluster
            } else {
                ResourceKind::RdsInstance
            });
        let identifier = restored_identifier(target, generation);
        let mut metadata = self.metadata(point).await?;
        let key = match kind {
            ResourceKind::AuroraCluster => "DBClusterIdentifier",
            _ => "DBInstanceIdentifier",
        };
        metadata.insert(key.into(), identifier.clone());
        if point.copy_of.is_some() {
            self.network.apply(kind, &mut metadata);
        }
        // A continuous point restores to a second of its window, under the engine's key.
        if let Some(at) = point.restore_time {
            metadata.insert(point_in_time_key(kind).into(), rfc3339(at));
            metadata.insert("UseLatestRestorableTime".into(), "false".into());
        }
        Ok(RestoreSource {
            recovery_point_arn: point.arn.clone(),
            resource: kind,
            resource_type: point.resource_type.clone(),
            metadata,
            target: identifier,
            vault: point.vault.clone(),
            copy_of: point.copy_of.clone(),
            size_bytes: point.size_bytes,
        })
    }
}

/// The restore metadata key of a point-in-time restore's moment, per engine:
/// - an Aurora cluster takes `RestoreToTime` (with `DBClusterIdentifier`): the Aurora User
///   Guide's "Restoring a DB cluster to a specified time using AWS Backup"
///   (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-pitr.html), as
///   RestoreDBClusterToPointInTime names it;
/// - an RDS instance takes `RestoreTime` (with `UseLatestRestorableTime`): the AWS Backup
///   guide's RDS restore metadata (https://docs.aws.amazon.com/aws-backup/latest/devguide/restoring-rds.html),
///   as RestoreDBInstanceToPointInTime names it.
///
/// Where the AWS Backup guide lists `RestoreTime` for both, the engine's own page is the
/// better authority.
pub fn point_in_time_key(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::AuroraCluster => "RestoreToTime",
        _ => "RestoreTime",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POINT: &str = "arn:aws:backup:us-east-1:123456789012:recovery-point:rp-1";
    const COPY: &str = "arn:aws:backup:eu-west-1:123456789012:recovery-point:rp-copy";
    const DR_VAULT: &str = "arn:aws:backup:eu-west-1:123456789012:backup-vault:bbws-dr-vault";

    fn point() -> Found {
        Found {
            arn: POINT.into(),
            resource_arn: "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-1"
                .into(),
            resource_type: "EFS".into(),
            status: Some(RecoveryPointStatus::Completed),
            owner: Some("tenant-1".into()),
            created_at: Some(1_000),
            vault: None,
            copy_of: None,
            restore_time: None,
            size_bytes: None,
        }
    }

    fn copy(state: &str, arn: Option<&str>) -> DrCopy {
        DrCopy {
            copy_job_id: "copy-1".into(),
            recovery_point_arn: arn.map(str::to_owned),
            vault_arn: DR_VAULT.into(),
            state: state.into(),
            created_at: 1_000,
            delete_at: Some(10_000),
        }
    }

    #[test]
    fn a_completed_copy_in_the_source_vault_takes_the_points_place() {
        let c = copy("COMPLETED", Some(COPY));
        let found = point()
            .dr_copy(
                Some(&c),
                Some("eu-west-1"),
                Some("bbws-dr-vault"),
                "tb-1",
                2_000,
            )
            .unwrap();
        assert_eq!(found.arn, COPY);
        assert_eq!(found.copy_of.as_deref(), Some(POINT));
        assert_eq!(found.vault.as_deref(), Some("bbws-dr-vault"));
        assert_eq!(found.resource_type, "EFS");
        assert_eq!(found.owner.as_deref(), Some("tenant-1"));
    }

    #[test]
    fn a_copy_missing_unfinished_expired_elsewhere_or_in_another_vault_is_backup_not_found() {
        let running = copy("RUNNING", None);
        let other_region = DrCopy {
            vault_arn: "arn:aws:backup:eu-central-1:123456789012:backup-vault:bbws-dr-vault".into(),
            ..copy("COMPLETED", Some(COPY))
        };
        let completed = copy("COMPLETED", Some(COPY));
        for (c, source, now, says) in [
            (None, Some("bbws-dr-vault"), 2_000, "has no DR copy"),
            (
                Some(&running),
                Some("bbws-dr-vault"),
                2_000,
                "RUNNING, not COMPLETED",
            ),
            (Some(&completed), Some("bbws-dr-vault"), 20_000, "EXPIRED"),
            (
                Some(&other_region),
                Some("bbws-dr-vault"),
                2_000,
                "not in this region",
            ),
            (
                Some(&completed),
                Some("another-vault"),
                2_000,
                "source vault another-vault",
            ),
        ] {
            let e = point()
                .dr_copy(c, Some("eu-west-1"), source, "tb-1", now)
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BackupNotFound, "{says}");
            assert!(e.message().contains(says), "{}", e.message());
            let m = e.message();
            assert!(m.contains(POINT) && m.contains("tb-1"), "{m}");
        }
    }

    fn continuous_point(created_at: i64, status: &str) -> Point {
        Point {
            recovery_point_arn: format!(
                "arn:aws:backup:us-east-1:123456789012:recovery-point:continuous:db-t-{created_at}"
            ),
            resource_arn: "arn:aws:rds:us-east-1:123456789012:db:t".into(),
            resource_type: "RDS".into(),
            vault: "v".into(),
            created_at,
            size_bytes: None,
            status: status.into(),
            delete_at: None,
        }
    }

    #[test]
    fn a_continuous_point_covers_from_its_creation_to_now_within_35_days() {
        let now = 100 * 86_400;
        let old = continuous_point(10 * 86_400, "COMPLETED");
        let new = continuous_point(90 * 86_400, "COMPLETED");
        let failed = continuous_point(95 * 86_400, "PARTIAL");
        let points = [old.clone(), new.clone(), failed];
        // The newest usable point made at or before the moment.
        assert_eq!(covering(&points, 96 * 86_400, now), Some(&new));
        assert_eq!(covering(&points, 80 * 86_400, now), Some(&old));
        // Not before it was made, not in the future, not past 35 days back.
        assert_eq!(covering(&points[..1], 9 * 86_400, now), None);
        assert_eq!(covering(&points, now + 1, now), None);
        assert_eq!(covering(&points[..1], 64 * 86_400, now), None);
        assert_eq!(covering(&points[..1], 65 * 86_400, now), Some(&old));
    }

    #[test]
    fn continuous_points_are_told_by_their_arn() {
        assert!(crate::catalog::is_continuous(
            "arn:aws:backup:us-east-1:123456789012:recovery-point:continuous:db-abc-1234abcd"
        ));
        assert!(!crate::catalog::is_continuous(
            "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-1"
        ));
        assert!(!crate::catalog::is_continuous(
            "arn:aws:backup:us-east-1:123456789012:recovery-point:1EB3B5E7"
        ));
    }

    #[test]
    fn regions_are_read_from_arns() {
        assert_eq!(arn_region(POINT), Some("us-east-1"));
        assert_eq!(arn_region(DR_VAULT), Some("eu-west-1"));
        assert_eq!(arn_region("tb-1"), None);
    }
}
