//! The Lambda handlers, one function each, callable from tests with `Context::default()`.
//! The binaries in `functions/` only wire these to the runtime.

use lambda_runtime::LambdaEvent;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::backup::{BackupService, StartBackupInput};
use crate::config::Config;
use crate::error::{Error, Operation};
use crate::jobs::{DrCopier, JobWatcher};
use crate::model::{Clock, JobSet, ResourceKind};
use crate::promote::{promote, PromoteRequest};
use crate::redeploy::{force_redeploy as redeploy, RedeployInput};
use crate::restore::{RestoreInput, RestoreService};
use crate::tenant::TenantId;
use crate::tenants::{parse_event, Onboarding};

/// What every handler is given once at start-up.
pub struct Deps {
    pub config: Config,
    pub backup: aws_sdk_backup::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub efs: aws_sdk_efs::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub rds: aws_sdk_rds::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub clock: Clock,
}

impl Deps {
    /// Builds the clients from the SDK configuration (which honours `AWS_ENDPOINT_URL`).
    pub fn new(config: Config, sdk: &aws_config::SdkConfig) -> Self {
        Self {
            config,
            backup: aws_sdk_backup::Client::new(sdk),
            ecs: aws_sdk_ecs::Client::new(sdk),
            efs: aws_sdk_efs::Client::new(sdk),
            tagging: aws_sdk_resourcegroupstagging::Client::new(sdk),
            rds: aws_sdk_rds::Client::new(sdk),
            ssm: aws_sdk_ssm::Client::new(sdk),
            clock: Clock::System,
        }
    }
}

/// Reads the event as `T`; a malformed event is the operation's bad-request error, raised
/// before anything is asked of AWS.
fn parse<T: DeserializeOwned>(op: Operation, what: &str, event: Value) -> Result<T, Error> {
    serde_json::from_value(event)
        .map_err(|e| op.bad_request(format!("the {what} input is not valid: {e}")))
}

fn encode<T: serde::Serialize>(op: Operation, value: &T) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(|e| op.failed(format!("could not encode the output: {e}")))
}

pub async fn start_backup(event: LambdaEvent<Value>, deps: &Deps) -> Result<Value, Error> {
    let input: StartBackupInput = parse(Operation::Backup, "start-backup", event.payload)?;
    BackupService {
        config: &deps.config,
        backup: &deps.backup,
        efs: &deps.efs,
        tagging: &deps.tagging,
        clock: deps.clock,
    }
    .handle(input)
    .await
}

/// The operation a poll is for, read before the rest so a malformed restore poll is named
/// as a restore error.
fn operation_of(event: &Value) -> Operation {
    match event.get("operation").and_then(Value::as_str) {
        Some("restore") => Operation::Restore,
        _ => Operation::Backup,
    }
}

pub async fn poll_job(event: LambdaEvent<Value>, deps: &Deps) -> Result<Value, Error> {
    let op = operation_of(&event.payload);
    let set: JobSet = parse(op, "poll-job", event.payload)?;
    let watcher = JobWatcher {
        backup: &deps.backup,
        ecs: Some(&deps.ecs),
        rds: Some(&deps.rds),
        clock: deps.clock,
    };
    encode(op, &watcher.poll(set).await?)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CopyInput {
    execution_id: String,
    backups: JobSet,
    timeout_seconds: Option<u64>,
}

pub async fn copy_to_dr(event: LambdaEvent<Value>, deps: &Deps) -> Result<Value, Error> {
    let input: CopyInput = parse(Operation::Backup, "copy-to-dr", event.payload)?;
    let copier = DrCopier {
        config: &deps.config,
        backup: &deps.backup,
        clock: deps.clock,
    };
    let timeout = input.timeout_seconds.unwrap_or(deps.config.timeouts.copy);
    encode(
        Operation::Backup,
        &copier
            .copy(&input.execution_id, &input.backups, timeout)
            .await?,
    )
}

pub async fn restore(event: LambdaEvent<Value>, deps: &Deps) -> Result<Value, Error> {
    let input: RestoreInput = parse(Operation::Restore, "restore", event.payload)?;
    RestoreService {
        config: &deps.config,
        backup: &deps.backup,
        efs: &deps.efs,
        tagging: &deps.tagging,
        rds: &deps.rds,
        ssm: &deps.ssm,
        clock: deps.clock,
    }
    .handle(input)
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromoteInput {
    tenant_id: TenantId,
    source_tenant_id: TenantId,
    restore: JobSet,
}

pub async fn promote_restore(event: LambdaEvent<Value>, deps: &Deps) -> Result<Value, Error> {
    let op = Operation::Restore;
    let input: PromoteInput = parse(op, "promote-restore", event.payload)?;
    let mount =
        deps.config.efs_mount_path.as_deref().ok_or_else(|| {
            op.failed("EFS_MOUNT_PATH is not set: the file system is not mounted")
        })?;
    let job = input
        .restore
        .completed_restore("file-system", |r| r == ResourceKind::Efs)?;
    let request = PromoteRequest {
        tenant_id: input.tenant_id,
        source_tenant_id: input.source_tenant_id,
        restore_job_id: job.job_id.clone(),
        restore_started: compact_utc(job.started_at),
    };
    let mount = mount.to_path_buf();
    // File-system work blocks: keep it off the runtime's threads.
    let outcome = tokio::task::spawn_blocking(move || promote(&mount, &request))
        .await
        .map_err(|e| op.failed(format!("the promotion stopped: {e}")))??;
    tracing::info!(?outcome, "restore promoted");
    encode(op, &outcome)
}

pub async fn force_redeploy(event: LambdaEvent<Value>, deps: &Deps) -> Result<Value, Error> {
    let input: RedeployInput = parse(Operation::Restore, "force-redeploy", event.payload)?;
    encode(
        Operation::Restore,
        &redeploy(&deps.ecs, deps.clock, &input).await?,
    )
}

/// `YYYYMMDDTHHMMSSZ`, for names that sort by time.
pub(crate) fn compact_utc(epoch_seconds: i64) -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::from_unix_timestamp(epoch_seconds)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| epoch_seconds.to_string())
}

/// What the tenant-lifecycle and outcome handlers need beyond [`Deps`].
pub struct EventDeps {
    pub deps: Deps,
    pub events: aws_sdk_eventbridge::Client,
}

impl EventDeps {
    pub fn new(config: Config, sdk: &aws_config::SdkConfig) -> Self {
        Self {
            deps: Deps::new(config, sdk),
            events: aws_sdk_eventbridge::Client::new(sdk),
        }
    }

    fn onboarding(&self) -> Onboarding<'_> {
        Onboarding {
            config: &self.deps.config,
            efs: &self.deps.efs,
            tagging: &self.deps.tagging,
            events: &self.events,
        }
    }
}

/// `TenantCreated` (EventBridge): the tenant's access point, then `TenantStorageReady`.
pub async fn onboard_tenant(event: LambdaEvent<Value>, deps: &EventDeps) -> Result<Value, Error> {
    let tenant = parse_event(event.payload, "TenantCreated")?;
    encode(
        Operation::Backup,
        &deps.onboarding().onboard(&tenant).await?,
    )
}

/// Offboarding's last step, after the tenant's final backup: its access point goes, its
/// files stay.
pub async fn offboard_tenant(event: LambdaEvent<Value>, deps: &EventDeps) -> Result<Value, Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Input {
        tenant_id: String,
    }
    let input: Input = parse(Operation::Backup, "offboard-tenant", event.payload)?;
    let tenant = TenantId::parse(&input.tenant_id)?;
    deps.onboarding().remove_access_point(&tenant).await
}

/// A fleet backup's first step: every tenant (the ids on access points tagged
/// `bbws:tenant-id`, sorted) and the options each tenant's backup gets, defaults filled in.
pub async fn list_tenants(event: LambdaEvent<Value>, deps: &Deps) -> Result<Value, Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct FleetRequest {
        poll_seconds: Option<u64>,
        max_poll_seconds: Option<u64>,
        copy_to_dr: Option<bool>,
        max_concurrency: Option<u64>,
    }
    let request: FleetRequest = parse(Operation::Backup, "fleet backup", event.payload)?;
    let tenants = crate::resolve::list_tenants(&deps.tagging).await?;
    let polling = deps
        .config
        .polling
        .overridden(request.poll_seconds, request.max_poll_seconds);
    Ok(serde_json::json!({
        "count": tenants.len(),
        "tenants": tenants,
        "pollSeconds": polling.initial_seconds,
        "maxPollSeconds": polling.max_seconds,
        "copyToDr": request.copy_to_dr.unwrap_or(true),
        "maxConcurrency": request.max_concurrency.unwrap_or(5).max(1),
    }))
}

/// Publishes a backup's or restore's outcome for other systems:
/// `Tenant{Backup,Restore}{Completed,Failed}`.
pub async fn publish_outcome(event: LambdaEvent<Value>, deps: &EventDeps) -> Result<Value, Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Input {
        operation: Operation,
        succeeded: bool,
        detail: Value,
    }
    let input: Input = parse(Operation::Backup, "publish-outcome", event.payload)?;
    let detail_type = match (input.operation, input.succeeded) {
        (Operation::Backup, true) => "TenantBackupCompleted",
        (Operation::Backup, false) => "TenantBackupFailed",
        (Operation::Restore, true) => "TenantRestoreCompleted",
        (Operation::Restore, false) => "TenantRestoreFailed",
    };
    let id = crate::events::put(
        &deps.events,
        input.operation,
        &deps.deps.config.event_bus_name,
        detail_type,
        &input.detail,
    )
    .await?;
    Ok(serde_json::json!({ "detailType": detail_type, "eventId": id }))
}
