//! The `restore-drill` function: the drill's steps (see the module's page).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use aws_config::SdkConfig;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{manifest, scratch_tenant, Drill, DrillResult, Manifest};
use crate::catalog::Catalog;
use crate::clock::{parse_rfc3339 as seconds, rfc3339, Clock};
use crate::config::{required, Config, ConfigError};
use crate::error::{Error, Operation};
use crate::held::{Held, Kind};
use crate::jobs::idempotency_token;
use crate::layout::{self, DRILL_PREFIX, KEPT_DIR, RESTORE_DIR_PREFIX, SCRATCH_DIR};
use crate::restore::{restored_identifier, writer_identifier};
use crate::runtime::{encode, parse, Service};
use crate::tenant_id::TenantId;

const OP: Operation = Operation::Restore;
/// How many of a tenant's newest backups `pick` looks through for one with a manifest.
const BACKUPS_LOOKED_AT: i32 = 20;

pub struct DrillService {
    pub config: Config,
    pub catalog: Catalog,
    pub rds: aws_sdk_rds::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub sfn: aws_sdk_sfn::Client,
    /// The shared file system, mounted through its root access point (`EFS_MOUNT_PATH`).
    pub mount: PathBuf,
    /// The restore state machine each drill runs (`RESTORE_STATE_MACHINE_ARN`): a drill's
    /// restore execution is named, so its ARN is known even when it fails.
    pub restore_state_machine_arn: String,
    /// Tenants drilled per run unless the run says (`DRILL_TENANTS_PER_RUN`, default 1).
    pub tenants_per_run: usize,
    pub clock: Clock,
}

impl Service for DrillService {
    fn build(
        sdk: &SdkConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let config = Config::from_lookup(lookup)?;
        Ok(Self {
            catalog: Catalog::from_lookup(sdk, lookup, config.retention.dr_delete_after_days)?,
            rds: aws_sdk_rds::Client::new(sdk),
            events: aws_sdk_eventbridge::Client::new(sdk),
            sfn: aws_sdk_sfn::Client::new(sdk),
            mount: required(&lookup, "EFS_MOUNT_PATH")?.into(),
            restore_state_machine_arn: required(&lookup, "RESTORE_STATE_MACHINE_ARN")?,
            tenants_per_run: lookup("DRILL_TENANTS_PER_RUN")
                .and_then(|v| v.trim().parse().ok())
                .filter(|n| *n > 0)
                .unwrap_or(1),
            config,
            clock: Clock::System,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BackupPlanPart {
    tenant_id: TenantId,
    backup_id: String,
    file_system_action: Value,
}

/// What `verify` found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub ok: bool,
    pub reasons: Vec<String>,
    pub files: Option<u64>,
    pub bytes: Option<u64>,
    pub manifest_checked: bool,
    pub rto_seconds: i64,
    pub restore_execution_arn: String,
}

/// What `cleanup` removed, and what it could not.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cleaned {
    pub directory_removed: bool,
    pub database_deleted: Option<String>,
    pub reasons: Vec<String>,
}

/// What a run of the drill state machine is asked.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DrillRequest {
    /// How many tenants (default `DRILL_TENANTS_PER_RUN`).
    count: Option<usize>,
    /// These tenants, instead of the rotation's.
    tenants: Option<Vec<String>>,
}

impl DrillRequest {
    /// The request as an operator or the schedule gives it, refused with
    /// InvalidRestoreTarget (or InvalidTenant for a tenant id that is not one) naming the
    /// field, before anything is read from AWS.
    fn read(request: Value) -> Result<Self, Error> {
        let request: Self = if request.is_null() {
            Self::default()
        } else {
            parse(OP, "restore-drill", request)?
        };
        if request.count == Some(0) {
            return Err(OP.bad_request("count must be a positive integer, not 0"));
        }
        if let Some(tenants) = &request.tenants {
            if tenants.is_empty() {
                return Err(OP.bad_request(
                    "tenants must name at least one tenant (leave it out for the rotation)",
                ));
            }
            for (i, raw) in tenants.iter().enumerate() {
                TenantId::parse(raw)
                    .map_err(|e| Error::new(e.kind(), format!("tenants[{i}]: {}", e.message())))?;
            }
        }
        Ok(request)
    }
}

// One is read per invocation: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Deserialize)]
#[serde(tag = "step", rename_all = "camelCase")]
enum Step {
    Manifest {
        plan: BackupPlanPart,
    },
    #[serde(rename_all = "camelCase")]
    Pick {
        execution_id: String,
        started: String,
        /// The execution's input: `{}` from the schedule, or `count` and/or `tenants`; read
        /// by [`DrillRequest::read`], which names the field it refuses.
        #[serde(default)]
        request: Value,
    },
    /// Starts the drill's restore: the restore state machine, execution named by the drill.
    Start {
        drill: Drill,
    },
    /// How the drill's restore stands.
    Poll {
        drill: Drill,
    },
    Verify {
        drill: Drill,
        started: String,
        restore: Value,
    },
    Cleanup {
        drill: Drill,
        #[serde(default)]
        restore: Option<Value>,
    },
    #[serde(rename_all = "camelCase")]
    Record {
        drill: Drill,
        started: String,
        #[serde(default)]
        verification: Option<Verification>,
        #[serde(default)]
        cleanup: Option<Cleaned>,
        #[serde(default)]
        error: Option<Value>,
        #[serde(default)]
        cleanup_error: Option<Value>,
    },
    Summarise {
        results: Vec<Value>,
    },
}

/// The `restore-drill` handler.
pub async fn handler(event: LambdaEvent<Value>, service: &DrillService) -> Result<Value, Error> {
    match parse(OP, "restore-drill", event.payload)? {
        Step::Manifest { plan } => service.manifest(plan).await,
        Step::Pick {
            execution_id,
            started,
            request,
        } => {
            let request = DrillRequest::read(request)?;
            service
                .pick(&execution_id, &started, request.count, request.tenants)
                .await
        }
        Step::Start { drill } => encode(OP, &service.start(&drill).await?),
        Step::Poll { drill } => encode(OP, &service.poll(&drill).await?),
        Step::Verify {
            drill,
            started,
            restore,
        } => encode(OP, &service.verify(&drill, &started, &restore).await?),
        Step::Cleanup { drill, restore } => {
            encode(OP, &service.cleanup(&drill, restore.as_ref()).await?)
        }
        Step::Record {
            drill,
            started,
            verification,
            cleanup,
            error,
            cleanup_error,
        } => {
            let cleanup = match (cleanup, cleanup_error) {
                (Some(c), _) => Some(c),
                (None, Some(e)) => Some(Cleaned {
                    reasons: vec![format!(
                        "{}: {}",
                        e["Error"].as_str().unwrap_or("error"),
                        e["Cause"].as_str().unwrap_or_default()
                    )],
                    ..Cleaned::default()
                }),
                (None, None) => None,
            };
            service
                .record(&drill, &started, verification, cleanup, error)
                .await
        }
        Step::Summarise { results } => {
            let failed = results
                .iter()
                .filter(|r| r["result"]["outcome"] != "Completed")
                .count();
            Ok(json!({"drills": results.len(), "failed": failed,
                      "results": results.iter().map(|r| r["result"].clone()).collect::<Vec<_>>()}))
        }
    }
}

/// The restore's report: the `output` [`RestoreRun`] read from its execution.
fn report_of(restore: &Value) -> Value {
    restore["output"].clone()
}

/// Why the drill's restore failed: its execution's error and cause, or a step's own.
fn failure_reason(error: &Value) -> String {
    format!(
        "the restore failed: {}: {}",
        error["Error"].as_str().unwrap_or("unknown error"),
        crate::error::capped(error["Cause"].as_str().unwrap_or_default().to_owned(), 500)
    )
}

/// How the drill's restore execution stands, as `poll` reads it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreRun {
    pub execution_arn: String,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED.
    pub status: String,
    /// Its report, once it succeeded.
    pub output: Value,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// How long the state machine waits before it polls again.
    pub poll_seconds: u64,
}

impl DrillService {
    fn scratch(&self, drill: &Drill) -> Result<TenantId, Error> {
        let scratch = TenantId::parse(&drill.scratch_tenant_id)?;
        if !scratch.as_str().starts_with(DRILL_PREFIX) {
            return Err(OP.bad_request(format!(
                "{scratch} is not a drill's scratch tenant ({DRILL_PREFIX}…)"
            )));
        }
        Ok(scratch)
    }

    fn restore_execution_arn(&self, drill: &Drill) -> String {
        format!(
            "{}:{}",
            self.restore_state_machine_arn
                .replacen(":stateMachine:", ":execution:", 1),
            drill.restore_execution_name
        )
    }

    /// In the backup flow: the manifest of the tenant's files, when this backup starts its
    /// own job on the file system (a joined job's point was made earlier, when the files may
    /// have been otherwise).
    async fn manifest(&self, plan: BackupPlanPart) -> Result<Value, Error> {
        if plan.file_system_action["action"] != "start" {
            // A joined job's point was made earlier, when the files may have been otherwise.
            return Ok(Value::Null);
        }
        let (mount, tenant) = (self.mount.clone(), plan.tenant_id.clone());
        let taken = tokio::task::spawn_blocking(move || {
            manifest::take_beneath(&Held::open(&mount)?.dir(tenant.as_str())?)
        })
        .await
        .map_err(|e| OP.failed(format!("the manifest stopped: {e}")))?
        .map_err(|e| {
            OP.failed(format!(
                "reading tenant {}'s directory for its manifest: {e}",
                plan.tenant_id
            ))
        })?;
        let recorded = self
            .catalog
            .put_manifest(
                Operation::Backup,
                plan.tenant_id.as_str(),
                &plan.backup_id,
                &taken,
            )
            .await?;
        tracing::info!(?taken, recorded, "manifest");
        encode(Operation::Backup, &taken)
    }

    /// The run's tenants, in rotation, each with its latest backup with files.
    async fn pick(
        &self,
        execution_id: &str,
        started: &str,
        count: Option<usize>,
        tenants: Option<Vec<String>>,
    ) -> Result<Value, Error> {
        let at = seconds(started).ok_or_else(|| {
            OP.bad_request(format!("started {started:?} is not an RFC 3339 time"))
        })?;
        let date = crate::clock::compact_utc(at)[..8].to_owned();
        let current: Vec<String> = {
            let mut ids: Vec<String> = self
                .catalog
                .lives(OP)
                .await?
                .into_iter()
                .filter(|l| l.offboarded_at.is_none())
                .map(|l| l.tenant_id)
                .filter(|t| !t.starts_with(DRILL_PREFIX))
                .collect();
            ids.sort();
            ids.dedup();
            ids
        };
        let chosen: Vec<String> = match tenants {
            Some(asked) => {
                let mut out = Vec::new();
                for raw in asked {
                    let tenant = TenantId::parse(&raw)?;
                    if !current.iter().any(|t| t == tenant.as_str()) {
                        return Err(crate::error::Error::new(
                            crate::error::ErrorKind::InvalidTenant,
                            format!("tenant {tenant} is not on the file system: no drill"),
                        ));
                    }
                    out.push(tenant.to_string());
                }
                out
            }
            None => {
                let last: HashMap<String, String> = self
                    .catalog
                    .drills::<DrillResult>(OP)
                    .await?
                    .into_iter()
                    .map(|d| (d.tenant_id, d.started_at))
                    .collect();
                let mut order = current.clone();
                // Never drilled first, then the longest ago.
                order.sort_by(|a, b| (last.get(a), a).cmp(&(last.get(b), b)));
                order
                    .into_iter()
                    .take(count.unwrap_or(self.tenants_per_run).max(1))
                    .collect()
            }
        };
        let mut drills = Vec::new();
        for tenant in chosen {
            let page = self
                .catalog
                .backups(OP, &tenant, None, None, BACKUPS_LOOKED_AT, None)
                .await?;
            let with_files: Vec<&crate::catalog::TenantBackup> = page
                .backups
                .iter()
                .filter(|b| b.files.as_ref().is_some_and(|f| f.status == "COMPLETED"))
                .collect();
            let mut picked: Option<(String, Option<Manifest>)> = None;
            for backup in &with_files {
                if let Some(m) = self
                    .catalog
                    .manifest::<Manifest>(OP, &tenant, &backup.backup_id)
                    .await?
                {
                    picked = Some((backup.backup_id.clone(), Some(m)));
                    break;
                }
            }
            if picked.is_none() {
                picked = with_files.first().map(|b| (b.backup_id.clone(), None));
            }
            let scratch = scratch_tenant(&tenant, &date);
            let token = idempotency_token(execution_id, "drill", &tenant);
            drills.push(Drill {
                restore_execution_name: format!("{scratch}-{}", &token[..8]),
                scratch_tenant_id: scratch,
                backup_id: picked.as_ref().map(|(id, _)| id.clone()),
                manifest: picked.and_then(|(_, m)| m),
                tenant_id: tenant,
            });
        }
        Ok(json!({"drills": drills}))
    }

    /// Starts the drill's restore (a repeated start of the same execution changes nothing).
    async fn start(&self, drill: &Drill) -> Result<RestoreRun, Error> {
        let scratch = self.scratch(drill)?;
        let backup_id = drill
            .backup_id
            .as_deref()
            .ok_or_else(|| OP.bad_request("the drill names no backup to restore"))?;
        let arn = self.restore_execution_arn(drill);
        let input = json!({"tenantId": drill.tenant_id, "backupId": backup_id,
                           "cloneTo": scratch.as_str(), "drill": true});
        match self
            .sfn
            .start_execution()
            .state_machine_arn(&self.restore_state_machine_arn)
            .name(&drill.restore_execution_name)
            .input(input.to_string())
            .send()
            .await
        {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_execution_already_exists()) => {}
            Err(e) => return Err(OP.aws(&format!("starting the drill's restore {arn}"), e)),
        }
        Ok(RestoreRun {
            execution_arn: arn,
            status: "RUNNING".into(),
            poll_seconds: self.config.polling.initial_seconds,
            ..RestoreRun::default()
        })
    }

    async fn poll(&self, drill: &Drill) -> Result<RestoreRun, Error> {
        let arn = self.restore_execution_arn(drill);
        let out = self
            .sfn
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .map_err(|e| OP.aws(&format!("reading the drill's restore {arn}"), e))?;
        Ok(RestoreRun {
            execution_arn: arn,
            status: out.status().as_str().to_owned(),
            output: out
                .output()
                .and_then(|o| serde_json::from_str(o).ok())
                .unwrap_or(Value::Null),
            error: out.error().map(str::to_owned),
            cause: out.cause().map(str::to_owned),
            poll_seconds: self.config.polling.initial_seconds,
        })
    }

    /// The restored content checked: the scratch directory against the manifest, the
    /// database `available`.
    async fn verify(
        &self,
        drill: &Drill,
        started: &str,
        restore: &Value,
    ) -> Result<Verification, Error> {
        let scratch = self.scratch(drill)?;
        let report = report_of(restore);
        let execution_arn = restore["executionArn"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| self.restore_execution_arn(drill));
        let mut v = Verification {
            restore_execution_arn: execution_arn.clone(),
            ..Verification::default()
        };
        let dir = layout::scratch_dir(&self.mount, scratch.as_str());
        let is_dir = std::fs::symlink_metadata(&dir)
            .map(|m| m.is_dir())
            .unwrap_or(false);
        if !is_dir {
            v.reasons.push(format!(
                "the restored directory {} does not exist",
                dir.display()
            ));
        } else {
            let (mount, name) = (self.mount.clone(), scratch.as_str().to_owned());
            let taken = tokio::task::spawn_blocking(move || {
                let scratch = Held::open(&mount)?.dir(SCRATCH_DIR)?.dir(&name)?;
                manifest::take_beneath(&scratch)
            })
            .await
            .map_err(|e| OP.failed(format!("the manifest stopped: {e}")))?
            .map_err(|e| OP.failed(format!("reading {}: {e}", dir.display())))?;
            v.files = Some(taken.files);
            v.bytes = Some(taken.bytes);
            match &drill.manifest {
                Some(recorded) => {
                    v.manifest_checked = true;
                    v.reasons.extend(manifest::differences(recorded, &taken));
                }
                None if taken.files == 0 => v.reasons.push(
                    "the restored directory holds no file (and no manifest was recorded)".into(),
                ),
                None => {}
            }
        }
        if !report["database"].is_null() {
            let identifier = restored_identifier(&scratch, &execution_arn);
            match self.database_status(&identifier).await? {
                Some((_, status)) if status == "available" => {}
                Some((instance, status)) => v.reasons.push(format!(
                    "the restored database {instance} is {status}, not available"
                )),
                None => v
                    .reasons
                    .push(format!("the restored database {identifier} does not exist")),
            }
        }
        let now = self.clock.now();
        v.rto_seconds = seconds(started).map_or(0, |s| (now - s).max(0));
        v.ok = v.reasons.is_empty();
        Ok(v)
    }

    /// The instance a restore to `identifier` made (an RDS instance of that name, or the
    /// writer of an Aurora cluster of that name) and its status.
    async fn database_status(&self, identifier: &str) -> Result<Option<(String, String)>, Error> {
        for instance in [identifier.to_owned(), writer_identifier(identifier)] {
            let out = self
                .rds
                .describe_db_instances()
                .db_instance_identifier(&instance)
                .send()
                .await;
            match out {
                Ok(out) => {
                    if let Some(db) = out.db_instances().first() {
                        return Ok(Some((
                            instance,
                            db.db_instance_status().unwrap_or("unknown").to_owned(),
                        )));
                    }
                }
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_db_instance_not_found_fault()) => {}
                Err(e) => return Err(OP.aws(&format!("describing database {instance}"), e)),
            }
        }
        Ok(None)
    }

    /// Removes what the drill made: the scratch directory (and its kept-aside marker), the
    /// emptied directory the restore job wrote, and the restored database.
    async fn cleanup(&self, drill: &Drill, restore: Option<&Value>) -> Result<Cleaned, Error> {
        let scratch = self.scratch(drill)?;
        let mut cleaned = Cleaned::default();
        let report = restore.map(report_of).unwrap_or(Value::Null);
        let restored_from = report["files"]["restoredFrom"].as_str().map(PathBuf::from);
        let mount = self.mount.clone();
        let name = scratch.to_string();
        let removed = tokio::task::spawn_blocking(move || {
            remove_scratch(&mount, &name, restored_from.as_deref())
        })
        .await
        .map_err(|e| OP.failed(format!("the clean-up stopped: {e}")))?;
        match removed {
            Ok(found) => cleaned.directory_removed = found,
            Err(e) => cleaned
                .reasons
                .push(format!("removing the scratch directory: {e}")),
        }
        let execution_arn = restore
            .and_then(|r| r["executionArn"].as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| self.restore_execution_arn(drill));
        let identifier = restored_identifier(&scratch, &execution_arn);
        match self.delete_database(&identifier).await {
            Ok(deleted) => cleaned.database_deleted = deleted,
            Err(e) => cleaned.reasons.push(e.to_string()),
        }
        Ok(cleaned)
    }

    /// Deletes the database the drill's restore made: its identifier is derived from the
    /// scratch tenant and the drill's own restore execution (a hash of its ARN), so no other
    /// restore ever makes it. An Aurora restore is a cluster and its writer.
    async fn delete_database(&self, identifier: &str) -> Result<Option<String>, Error> {
        let clusters = self
            .rds
            .describe_db_clusters()
            .db_cluster_identifier(identifier)
            .send()
            .await;
        match clusters {
            Ok(out) if !out.db_clusters().is_empty() => {
                let writer = writer_identifier(identifier);
                if self.database_status(identifier).await?.is_some() {
                    self.delete_instance(&writer).await?;
                }
                self.rds
                    .delete_db_cluster()
                    .db_cluster_identifier(identifier)
                    .skip_final_snapshot(true)
                    .send()
                    .await
                    .map_err(|e| OP.aws(&format!("deleting cluster {identifier}"), e))?;
                return Ok(Some(identifier.to_owned()));
            }
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_db_cluster_not_found_fault()) => {}
            Err(e) => return Err(OP.aws(&format!("describing cluster {identifier}"), e)),
        }
        let instances = self
            .rds
            .describe_db_instances()
            .db_instance_identifier(identifier)
            .send()
            .await;
        match instances {
            Ok(out) if !out.db_instances().is_empty() => {
                self.delete_instance(identifier).await?;
                Ok(Some(identifier.to_owned()))
            }
            Ok(_) => Ok(None),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_db_instance_not_found_fault()) =>
            {
                Ok(None)
            }
            Err(e) => Err(OP.aws(&format!("describing database {identifier}"), e)),
        }
    }

    async fn delete_instance(&self, instance: &str) -> Result<(), Error> {
        self.rds
            .delete_db_instance()
            .db_instance_identifier(instance)
            .skip_final_snapshot(true)
            .delete_automated_backups(true)
            .send()
            .await
            .map_err(|e| OP.aws(&format!("deleting database {instance}"), e))?;
        Ok(())
    }

    /// The drill's result: in the catalog, as an event, and as metrics.
    async fn record(
        &self,
        drill: &Drill,
        started: &str,
        verification: Option<Verification>,
        cleanup: Option<Cleaned>,
        error: Option<Value>,
    ) -> Result<Value, Error> {
        let mut reasons = Vec::new();
        if drill.backup_id.is_none() {
            reasons.push(format!(
                "tenant {} has no backup with files in the catalog",
                drill.tenant_id
            ));
        }
        if let Some(error) = &error {
            reasons.push(failure_reason(error));
        }
        if let Some(v) = &verification {
            reasons.extend(v.reasons.iter().cloned());
        }
        if let Some(c) = &cleanup {
            reasons.extend(c.reasons.iter().map(|r| format!("clean-up: {r}")));
        }
        let verified = verification.as_ref().is_some_and(|v| v.ok);
        let failed = !reasons.is_empty() || !verified;
        if failed && reasons.is_empty() {
            reasons.push("the restored content was not verified".into());
        }
        let now = self.clock.now();
        let result = DrillResult {
            tenant_id: drill.tenant_id.clone(),
            scratch_tenant_id: drill.scratch_tenant_id.clone(),
            backup_id: drill.backup_id.clone(),
            outcome: if failed { "Failed" } else { "Completed" }.into(),
            started_at: started.to_owned(),
            finished_at: rfc3339(now),
            rto_seconds: verification
                .as_ref()
                .filter(|_| !failed)
                .map(|v| v.rto_seconds),
            files: verification.as_ref().and_then(|v| v.files),
            bytes: verification.as_ref().and_then(|v| v.bytes),
            manifest_checked: verification.as_ref().is_some_and(|v| v.manifest_checked),
            reasons,
            restore_execution_arn: Some(
                verification
                    .as_ref()
                    .map(|v| v.restore_execution_arn.clone())
                    .unwrap_or_else(|| self.restore_execution_arn(drill)),
            ),
        };
        self.catalog
            .record_drill(OP, &drill.tenant_id, started, &result)
            .await?;
        let detail_type = if failed {
            "TenantRestoreDrillFailed"
        } else {
            "TenantRestoreDrillCompleted"
        };
        let detail = serde_json::to_value(&result).unwrap_or_default();
        crate::events::put(
            &self.events,
            OP,
            &self.config.event_bus_name,
            detail_type,
            &detail,
        )
        .await?;
        // The metrics, as one log line in CloudWatch's embedded metric format on stdout
        // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Lambda.html);
        // with the JSON log format, Lambda does not encode a line that already is JSON again
        // (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html).
        let metrics = result.metrics(&self.config.environment, now * 1000);
        println!("{metrics}");
        Ok(json!({"result": result, "metrics": metrics}))
    }
}

/// Removes `<mount>/.bbws-scratch/<scratch>` and its kept-aside marker
/// (`<mount>/.bbws-kept/.bbws-scratch/<scratch>`), and the directory the restore job wrote
/// (`<mount>/aws-backup-restore_…`, the parent of `restored_from`) when it is empty. Nothing
/// in the tenants' namespace is touched, whatever tenants exist. Returns whether the scratch
/// directory was there.
fn remove_scratch(mount: &Path, scratch: &str, restored_from: Option<&Path>) -> io::Result<bool> {
    // Every step beneath the root's handle, through no link.
    let root = Held::open(mount)?;
    let found = match root.dir_if_any(SCRATCH_DIR)? {
        Some(scratches) if scratches.stat(scratch)?.is_some() => {
            scratches.remove_all(scratch)?;
            true
        }
        _ => false,
    };
    if let Some(kept) = root.dir_if_any(&format!("{KEPT_DIR}/{SCRATCH_DIR}"))? {
        if kept.stat(scratch)?.is_some_and(|s| s.kind == Kind::Dir) {
            kept.remove_all(scratch)?;
        }
    }
    if let Some(parent) = restored_from.and_then(Path::parent) {
        let under_mount = parent.parent() == Some(mount);
        let named = parent
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| n.starts_with(RESTORE_DIR_PREFIX));
        if let (true, Some(name)) = (under_mount, named) {
            // Only when empty: another restore's files are never touched.
            let _ = root.remove_empty_dir(name);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_up_removes_the_scratch_space_and_leaves_everything_else() {
        let dir = tempfile::tempdir().unwrap();
        let mount = dir.path();
        let scratch = mount.join(".bbws-scratch/drill-t-20261126");
        std::fs::create_dir_all(scratch.join("uploads")).unwrap();
        std::fs::write(scratch.join("uploads/a"), b"x").unwrap();
        std::fs::create_dir_all(mount.join(".bbws-kept/.bbws-scratch/drill-t-20261126/x-job"))
            .unwrap();
        std::fs::create_dir_all(mount.join("aws-backup-restore_1")).unwrap();
        std::fs::create_dir_all(mount.join("aws-backup-restore_2/t")).unwrap();
        std::fs::create_dir_all(mount.join("t/uploads")).unwrap();
        // A tenant that holds the scratch's name (onboarded before the name was reserved).
        std::fs::create_dir_all(mount.join("drill-t-20261126/uploads")).unwrap();
        let restored_from = mount.join("aws-backup-restore_1/t");
        assert!(remove_scratch(mount, "drill-t-20261126", Some(&restored_from)).unwrap());
        assert!(!scratch.exists());
        assert!(!mount
            .join(".bbws-kept/.bbws-scratch/drill-t-20261126")
            .exists());
        assert!(!mount.join("aws-backup-restore_1").exists());
        // Another restore's directory, the tenant's own and the namesake tenant's stay.
        assert!(mount.join("aws-backup-restore_2/t").is_dir());
        assert!(mount.join("t/uploads").is_dir());
        assert!(mount.join("drill-t-20261126/uploads").is_dir());
        // Nothing left: nothing found, nothing fails.
        assert!(!remove_scratch(mount, "drill-t-20261126", None).unwrap());
    }

    #[test]
    fn a_failed_restore_s_reason_is_its_error_and_cause() {
        let error = json!({"Error": "RestoreFailed", "Cause": "the restore job failed"});
        assert_eq!(
            failure_reason(&error),
            "the restore failed: RestoreFailed: the restore job failed"
        );
        assert_eq!(
            failure_reason(&json!({})),
            "the restore failed: unknown error: "
        );
    }
}
