//! `bbws`: the operator CLI of the tenant content service. It starts a tenant backup, restore or
//! content sync and follows it, uploads media into a tenant's uploads, lists a tenant's
//! backups, and shows or follows any execution.

mod backup;
mod backups;
mod catalog;
mod drills;
mod exit;
mod follow;
mod output;
mod restore;
#[cfg(test)]
mod sdk_tests;
mod sync;
mod upload;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use aws_config::{Region, SdkConfig};
use bbws::catalog::Catalog;
use bbws::TenantId;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;
use time::OffsetDateTime;

use crate::output::Term;

#[derive(Debug, Parser)]
#[command(
    name = "bbws",
    version,
    about = "Back up, restore and sync BBWS tenants, upload their media, and follow the state machine executions",
    after_help = "Exit codes: 0 success, 1 other failure, 2 usage, and for a failed execution \
                  InvalidTenant 40, InvalidRestoreTarget 41, BackupNotFound 44, \
                  BackupAlreadyRunning 49, BackupFailed 50, RestoreFailed 51, \
                  TransientAwsError 53, BackupTimeout 54, RestoreTimeout 55, \
                  TenantBackupsFailed 56, RestoreDrillFailed 57, SyncFailed 58, CacheNotFlushed 59; an upload refused 46."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Send every AWS call to this endpoint (else the SDK's AWS_ENDPOINT_URL handling)
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// AWS region (else the SDK's usual sources)
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// The environment whose state machines and catalog to use
    #[arg(long, global = true, value_enum, default_value_t = Env::Dev)]
    pub env: Env,
    /// The backup state machine [default: found by its name bbws-<env>-tenant-backup]
    #[arg(long, global = true, value_name = "ARN")]
    pub state_machine_arn: Option<String>,
    /// The tenant backup catalog's table [default: bbws-<env>-backup-catalog]
    #[arg(long, global = true, value_name = "NAME")]
    pub catalog_table: Option<String>,
    /// Machine-readable output: the result is one JSON object (or array) on the last line
    #[arg(long, global = true)]
    pub json: bool,
    /// Seconds between two looks at a running execution (fractions allowed)
    #[arg(long, global = true, value_name = "SECONDS", default_value = "1", value_parser = parse_interval)]
    pub poll_interval: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Env {
    Dev,
    Sit,
    Prod,
}

impl Env {
    fn as_str(self) -> &'static str {
        match self {
            Env::Dev => "dev",
            Env::Sit => "sit",
            Env::Prod => "prod",
        }
    }
}

impl Global {
    fn state_machine_name(&self) -> String {
        format!("bbws-{}-tenant-backup", self.env.as_str())
    }

    fn catalog_table(&self) -> String {
        self.catalog_table
            .clone()
            .unwrap_or_else(|| bbws::catalog::table_name(self.env.as_str()))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Back up one tenant: start the backup state machine and follow it to its end
    Backup(BackupArgs),
    /// Restore one tenant from a backup: start the restore state machine and follow it
    Restore(RestoreArgs),
    /// Mirror a tenant's wp-content to the content bucket (s3://<bucket>/<tenant>/wp-content/):
    /// start the sync state machine and follow the run to its end
    Sync(SyncArgs),
    /// Upload media into a tenant's WordPress uploads: each file through upload-media's
    /// presigned PUT, then its outcome (taken, or refused with its reason) once judged
    Upload(UploadArgs),
    /// List a tenant's backups from the catalog, newest first, with their DR copies; or
    /// show one backup in detail (--id)
    Backups(BackupsArgs),
    /// The tenant backup catalog itself
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Run restore drills now (the schedule runs them weekly): restore tenants' latest
    /// backups into scratch tenants, verify, clean up, and report the RTO
    Drill(DrillArgs),
    /// The latest restore drill of every tenant: outcome, RTO, what was restored, why it
    /// failed
    Drills,
    /// Show an execution's status (its output or error once it has ended)
    Status {
        /// The execution ARN (as `bbws backup` prints it)
        execution_arn: String,
        /// Follow it until it ends
        #[arg(long)]
        follow: bool,
    },
}

#[derive(Clone, Debug, Default, Args)]
pub struct DrillArgs {
    /// Drill this tenant (repeatable) instead of the rotation's next ones
    #[arg(long = "tenant", value_name = "TENANT")]
    pub tenants: Vec<String>,
    /// How many tenants, in rotation [default: the deployment's DrillTenantsPerRun]
    #[arg(long)]
    pub count: Option<u32>,
    /// Print the execution ARN and return without following it
    #[arg(long)]
    pub no_follow: bool,
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Make the catalog again from the backup vault's recovery points and tags, the tenants'
    /// access points and the copy jobs, for a table that was lost or emptied. Items already
    /// there are left as they are; progress goes to stderr
    Rebuild(RebuildArgs),
    /// Hand every AWS Backup event the catalog function failed on (waiting in the catalog
    /// dead-letter queue, bbws-<env>-catalog-dlq) back to the function, once each; an event
    /// recorded leaves the queue, one failing again stays for the next replay
    Replay,
}

#[derive(Clone, Debug, Default, Args)]
pub struct RebuildArgs {
    /// The shared file system whose points hold the tenants (e.g. fs-0123456789abcdef0)
    #[arg(long, value_name = "ID")]
    pub file_system_id: String,
    /// The backup vault [default: bbws-<env>-backup-vault]
    #[arg(long, value_name = "NAME")]
    pub vault: Option<String>,
    /// Days the DR copies are kept (the stack's DrRetentionDays): an item lives as long as
    /// a copy may
    #[arg(long = "dr-retention-days", value_name = "DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub dr_delete_after_days: i64,
}

#[derive(Clone, Debug, Default, Args)]
pub struct BackupsArgs {
    /// The tenant id
    #[arg(long, required_unless_present = "stale")]
    pub tenant: Option<String>,
    /// Every tenant whose newest files or database point is older than --threshold-seconds,
    /// or whose database no plan selects, with its ages and why (the RPO check's list)
    #[arg(long, conflicts_with_all = ["tenant", "id", "since", "limit"])]
    pub stale: bool,
    /// With --stale: the RPO threshold (the stack's RpoThresholdSeconds)
    #[arg(long, value_name = "SECONDS", default_value_t = bbws::rpo::DEFAULT_THRESHOLD_SECONDS,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub threshold_seconds: i64,
    /// Show this one backup in detail: its points, sizes, DR copies, expiry and the
    /// restores that used it
    #[arg(long, value_name = "BACKUP", conflicts_with_all = ["since", "limit"])]
    pub id: Option<String>,
    /// Only backups made at or after this moment (RFC 3339, e.g. 2026-11-26T00:00:00Z)
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub since: Option<i64>,
    /// At most this many backups, newest first
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
}

#[derive(Clone, Debug, Default, Args)]
pub struct BackupArgs {
    /// The tenant id
    #[arg(long)]
    pub tenant: String,
    /// Back up the tenant's files only, not its database
    #[arg(long)]
    pub files_only: bool,
    /// Never join a file-system job someone else started: wait for it and start a new one
    #[arg(long)]
    pub fresh: bool,
    /// Do not copy the recovery points to the disaster-recovery vault
    #[arg(long)]
    pub no_dr_copy: bool,
    /// Wait until the DR copies complete
    #[arg(long, conflicts_with = "no_dr_copy")]
    pub wait_for_copy: bool,
    /// The execution name [default: backup-<tenant>-<UTC yyyymmddThhmmssZ>]
    #[arg(long, value_name = "NAME")]
    pub execution_name: Option<String>,
    /// The state machine's first wait between polls of the jobs (the cap is twice this)
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(1..))]
    pub poll_seconds: Option<u64>,
    /// Deadline of the file-system backup job, in seconds
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_efs: Option<u64>,
    /// Deadline of the database backup job, in seconds
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_db: Option<u64>,
    /// Print the execution ARN and return without following it
    #[arg(long)]
    pub no_follow: bool,
}

#[derive(Clone, Debug, Default, Args)]
pub struct RestoreArgs {
    /// The tenant the backup belongs to (and the tenant restored, unless --clone-to)
    #[arg(long)]
    pub tenant: String,
    /// A tenant backup id (tb-..., hourly-...) as `bbws backups` lists them, or one recovery
    /// point ARN
    #[arg(
        long,
        required_unless_present = "at",
        conflicts_with = "at",
        default_value = ""
    )]
    pub backup: String,
    /// Restore the tenant as it was at this moment (RFC 3339, e.g. 2026-11-26T07:00:00Z, or
    /// back from now: -4h, 90m-ago, 2d-ago, 1h30m-ago): the newest file-system point at or
    /// before it, with the database point nearest it
    #[arg(long, value_name = "TIME", allow_hyphen_values = true, value_parser = restore::parse_at)]
    pub at: Option<restore::At>,
    /// Restore the files only (they go live; the database is left as it is)
    #[arg(long, conflicts_with = "database_only")]
    pub files_only: bool,
    /// Restore the database only (it goes live unless --side-by-side)
    #[arg(long)]
    pub database_only: bool,
    /// Put the restored database live (the default whenever the database is restored;
    /// files and database always go live together)
    #[arg(long, conflicts_with = "side_by_side")]
    pub promote_database: bool,
    /// Put nothing live: the files go to a scratch directory beside the tenant's, the
    /// database to a new instance; the output says where
    #[arg(long)]
    pub side_by_side: bool,
    /// Restore into this other tenant instead (the only way a backup crosses tenants)
    #[arg(long, value_name = "TENANT")]
    pub clone_to: Option<String>,
    /// The execution name [default: restore-<tenant>-<UTC yyyymmddThhmmssZ>]
    #[arg(long, value_name = "NAME")]
    pub execution_name: Option<String>,
    /// The state machine's first wait between polls of the jobs (the cap is twice this)
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(1..))]
    pub poll_seconds: Option<u64>,
    /// Deadline of the file-system restore job, in seconds (at most 7200)
    #[arg(long, value_name = "S", value_parser = timeout_seconds())]
    pub timeout_files: Option<u64>,
    /// Deadline of the database restore job and of the database becoming available, in
    /// seconds (at most 7200)
    #[arg(long, value_name = "S", value_parser = timeout_seconds())]
    pub timeout_database: Option<u64>,
    /// Deadline of the service's redeployment becoming stable, in seconds (at most 7200)
    #[arg(long, value_name = "S", value_parser = timeout_seconds())]
    pub timeout_service: Option<u64>,
    /// Plan only: show the points, the database's moment and gap, the sizes and what would
    /// go live; nothing is started or changed in AWS
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (required without a terminal, unless --dry-run)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the execution ARN and return without following it
    #[arg(long)]
    pub no_follow: bool,
}

/// A job deadline in seconds: what the handlers accept (1 s to `MAX_TIMEOUT_SECONDS`).
fn timeout_seconds() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..=bbws::config::MAX_TIMEOUT_SECONDS)
}

#[derive(Clone, Debug, Default, Args)]
pub struct SyncArgs {
    /// The tenant id
    #[arg(long)]
    pub tenant: String,
    /// Also delete the objects whose files are gone
    #[arg(long)]
    pub delete: bool,
    /// Files per batch (one invocation) [default: the function's SYNC_BATCH_FILES]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_files: Option<u32>,
    /// Batches per execution before the run continues as a new one [default: the
    /// function's SYNC_BATCHES_PER_EXECUTION]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=2000))]
    pub batches_per_execution: Option<u32>,
    /// The execution name [default: sync-<tenant>-<UTC yyyymmddThhmmssZ>]
    #[arg(long, value_name = "NAME")]
    pub execution_name: Option<String>,
    /// Print the execution ARN and return without following it
    #[arg(long)]
    pub no_follow: bool,
}

#[derive(Clone, Debug, Default, Args)]
pub struct UploadArgs {
    /// The tenant id
    #[arg(long)]
    pub tenant: String,
    /// The files to upload
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<std::path::PathBuf>,
    /// The upload-media function [default: bbws-<env>-upload-media]
    #[arg(long, value_name = "NAME")]
    pub function: Option<String>,
    /// Seconds to wait for each file's outcome (never past its outcome URL's life: 900 s
    /// from when the upload was signed)
    #[arg(long, value_name = "S", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub wait_seconds: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut term = Term::stdio(cli.global.json);
    let code = match run(&cli, &mut term).await {
        Ok(code) => code,
        Err(error) => {
            term.note(format!("bbws: {error:#}"));
            1
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

async fn run(cli: &Cli, term: &mut Term) -> anyhow::Result<i32> {
    let global = &cli.global;
    match &cli.command {
        Command::Backup(args) => {
            // Before any AWS call, loading the configuration included.
            let tenant = match valid_tenant(&args.tenant, term) {
                Ok(tenant) => tenant,
                Err(code) => return Ok(code),
            };
            let sfn = aws_sdk_sfn::Client::new(&aws_config(global).await);
            backup_command(&sfn, global, args, &tenant, OffsetDateTime::now_utc(), term).await
        }
        Command::Restore(args) => {
            let tenant = match valid_tenant(&args.tenant, term) {
                Ok(tenant) => tenant,
                Err(code) => return Ok(code),
            };
            let clone_to = match args.clone_to.as_deref().map(|t| valid_tenant(t, term)) {
                Some(Err(code)) => return Ok(code),
                Some(Ok(target)) => Some(target),
                None => None,
            };
            let consent = restore::consent(
                restore::puts_something_live(args),
                args.yes,
                std::io::stdin().is_terminal(),
            );
            if consent == restore::Consent::Refuse {
                // Before any AWS call, loading the configuration included.
                term.note(format!("bbws: {}", restore::NO_TERMINAL));
                return Ok(2);
            }
            let sfn = aws_sdk_sfn::Client::new(&aws_config(global).await);
            let now = OffsetDateTime::now_utc();
            let restore = RestoreRun {
                args,
                tenant: &tenant,
                clone_to: clone_to.as_ref(),
                ask: consent == restore::Consent::Ask,
                now,
            };
            restore_command(&sfn, global, &restore, term).await
        }
        Command::Sync(args) => {
            let tenant = match valid_tenant(&args.tenant, term) {
                Ok(tenant) => tenant,
                Err(code) => return Ok(code),
            };
            let sfn = aws_sdk_sfn::Client::new(&aws_config(global).await);
            let state_machine_arn = backup::find_state_machine(
                &sfn,
                &format!("bbws-{}-sync-content", global.env.as_str()),
            )
            .await?;
            let name = args.execution_name.clone().unwrap_or_else(|| {
                backup::execution_name("sync", &tenant, OffsetDateTime::now_utc())
            });
            let input = sync::sync_input(args, &tenant);
            let execution_arn = backup::start(&sfn, &state_machine_arn, &name, &input).await?;
            if args.no_follow {
                if term.json {
                    term.json_line(&json!({"status": "RUNNING", "executionArn": execution_arn}));
                } else {
                    term.line(&execution_arn);
                }
                return Ok(0);
            }
            if !term.json {
                term.line(format!("Started {name}: {execution_arn}"));
            }
            let outcome =
                sync::follow_run(&sfn, &execution_arn, poll_interval(global), term).await?;
            Ok(outcome.exit_code)
        }
        Command::Upload(args) => {
            let tenant = match valid_tenant(&args.tenant, term) {
                Ok(tenant) => tenant,
                Err(code) => return Ok(code),
            };
            let lambda = aws_sdk_lambda::Client::new(&aws_config(global).await);
            let function = args
                .function
                .clone()
                .unwrap_or_else(|| format!("bbws-{}-upload-media", global.env.as_str()));
            upload::upload_all(
                &lambda,
                &function,
                &tenant,
                &args.files,
                Duration::from_secs(args.wait_seconds),
                poll_interval(global),
                term,
            )
            .await
        }
        Command::Backups(args) => {
            let sdk = aws_config(global).await;
            let catalog = Catalog {
                dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
                table: global.catalog_table(),
                dr_delete_after_days: 30,
            };
            if args.stale {
                let assessor = bbws::rpo::Assessor {
                    tagging: aws_sdk_resourcegroupstagging::Client::new(&sdk),
                    backup: aws_sdk_backup::Client::new(&sdk),
                    catalog,
                    selection: bbws::rpo::Selection::default(),
                    clock: bbws::clock::Clock::System,
                };
                return backups::stale(&assessor, args.threshold_seconds, term).await;
            }
            let tenant = match valid_tenant(args.tenant.as_deref().unwrap_or_default(), term) {
                Ok(tenant) => tenant,
                Err(code) => return Ok(code),
            };
            match &args.id {
                Some(id) => backups::describe(&catalog, tenant.as_str(), id, term).await,
                None => {
                    let limit = args.limit.map_or(backups::DEFAULT_LIMIT, |n| {
                        n.min(usize::MAX as u64) as usize
                    });
                    backups::list(&catalog, tenant.as_str(), args.since, limit, term).await
                }
            }
        }
        Command::Drill(args) => {
            for tenant in &args.tenants {
                if let Err(code) = valid_tenant(tenant, term) {
                    return Ok(code);
                }
            }
            let sfn = aws_sdk_sfn::Client::new(&aws_config(global).await);
            let state_machine_arn = backup::find_state_machine(
                &sfn,
                &format!("bbws-{}-restore-drill", global.env.as_str()),
            )
            .await?;
            let name = format!(
                "drill-{}",
                OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000
            );
            let input = drills::drill_input(&args.tenants, args.count);
            start_and_follow(
                &sfn,
                global,
                &state_machine_arn,
                &name,
                &input,
                args.no_follow,
                term,
            )
            .await
        }
        Command::Drills => {
            let catalog = Catalog {
                dynamodb: aws_sdk_dynamodb::Client::new(&aws_config(global).await),
                table: global.catalog_table(),
                dr_delete_after_days: 30,
            };
            drills::list(&catalog, term).await
        }
        Command::Catalog(CatalogCommand::Replay) => {
            let config = aws_config(global).await;
            let queue = format!("bbws-{}-catalog-dlq", global.env.as_str());
            catalog::replay(
                &aws_sdk_sqs::Client::new(&config),
                &aws_sdk_lambda::Client::new(&config),
                &queue,
                term,
            )
            .await
        }
        Command::Catalog(CatalogCommand::Rebuild(args)) => {
            let config = aws_config(global).await;
            let sources = bbws::catalog::rebuild::Sources {
                catalog: Catalog {
                    dynamodb: aws_sdk_dynamodb::Client::new(&config),
                    table: global.catalog_table(),
                    dr_delete_after_days: args.dr_delete_after_days,
                },
                backup: aws_sdk_backup::Client::new(&config),
                efs: aws_sdk_efs::Client::new(&config),
                tagging: aws_sdk_resourcegroupstagging::Client::new(&config),
                rds: aws_sdk_rds::Client::new(&config),
                vault: args
                    .vault
                    .clone()
                    .unwrap_or_else(|| format!("bbws-{}-backup-vault", global.env.as_str())),
                file_system_id: args.file_system_id.clone(),
            };
            catalog::rebuild(&sources, term).await
        }
        Command::Status {
            execution_arn,
            follow,
        } => {
            let sfn = aws_sdk_sfn::Client::new(&aws_config(global).await);
            let outcome = if *follow {
                follow::follow(&sfn, execution_arn, poll_interval(global), term).await?
            } else {
                follow::show(&sfn, execution_arn, term).await?
            };
            Ok(outcome.exit_code)
        }
    }
}

/// The tenant id, or the exit code after saying why it is not valid.
fn valid_tenant(raw: &str, term: &mut Term) -> Result<TenantId, i32> {
    TenantId::parse(raw).map_err(|error| {
        term.note(format!("bbws: {error}"));
        exit::exit_code(error.name())
    })
}

fn poll_interval(global: &Global) -> Duration {
    global.poll_interval
}

/// An RFC 3339 moment, as seconds since the epoch.
fn parse_time(raw: &str) -> Result<i64, String> {
    OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| format!("{raw:?} is not an RFC 3339 time ({e})"))
}

/// A positive number of seconds, at most an hour.
fn parse_interval(raw: &str) -> Result<Duration, String> {
    let seconds: f64 = raw
        .parse()
        .map_err(|_| format!("{raw:?} is not a number of seconds"))?;
    if seconds.is_finite() && seconds > 0.0 && seconds <= 3600.0 {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(format!(
            "{raw} is not between 0 (excluded) and 3600 seconds"
        ))
    }
}

/// The CLI's app name in every call's user agent (`app/bbws-cli`): the local stack's
/// least-privilege check tells the operator's calls, made with the operator's own
/// permissions, from the functions' and the state machines'.
pub const APP_NAME: &str = "bbws-cli";

async fn aws_config(global: &Global) -> SdkConfig {
    let mut loader = bbws::runtime::sdk_defaults()
        .app_name(aws_config::AppName::new(APP_NAME).expect("a valid app name"));
    if let Some(url) = &global.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(region) = &global.region {
        loader = loader.region(Region::new(region.clone()));
    }
    loader.load().await
}

/// A `bbws restore` whose tenant ids are valid and which may go on (`ask`: once the
/// terminal confirms).
struct RestoreRun<'a> {
    args: &'a RestoreArgs,
    tenant: &'a TenantId,
    clone_to: Option<&'a TenantId>,
    ask: bool,
    now: OffsetDateTime,
}

/// `bbws restore`: confirmed on the terminal (unless --yes or a dry run) before anything
/// starts; a dry run's plan shown as the operator reads it.
async fn restore_command(
    sfn: &aws_sdk_sfn::Client,
    global: &Global,
    run: &RestoreRun<'_>,
    term: &mut Term,
) -> anyhow::Result<i32> {
    let (args, tenant, now) = (run.args, run.tenant, run.now);
    let input = restore::restore_input(args, tenant, run.clone_to, now.unix_timestamp());
    if let (Some(restore::At::Ago { written, .. }), Some(at)) = (&args.at, input["at"].as_str()) {
        let said = format!("--at {written} is {at}");
        if term.json {
            term.note(said);
        } else {
            term.line(said);
        }
    }
    let state_machine_arn =
        backup::find_state_machine(sfn, &format!("bbws-{}-tenant-restore", global.env.as_str()))
            .await?;
    let target = run.clone_to.unwrap_or(tenant);
    if run.ask {
        let text =
            restore::confirmation_text(args, global.env.as_str(), &state_machine_arn, target);
        if !restore::ask_on_stdin(term, &text, target) {
            term.note("bbws: not confirmed: nothing was started");
            return Ok(1);
        }
    }
    let what = if args.dry_run {
        "restore-plan"
    } else {
        "restore"
    };
    let name = args
        .execution_name
        .clone()
        .unwrap_or_else(|| backup::execution_name(what, tenant, now));
    if !args.dry_run || args.no_follow {
        return start_and_follow(
            sfn,
            global,
            &state_machine_arn,
            &name,
            &input,
            args.no_follow,
            term,
        )
        .await;
    }
    let execution_arn = backup::start(sfn, &state_machine_arn, &name, &input).await?;
    if !term.json {
        term.line(format!("Started {name} (dry run): {execution_arn}"));
    }
    let outcome =
        follow::follow_showing(sfn, &execution_arn, poll_interval(global), term, false).await?;
    if let (false, Some(output)) = (term.json, &outcome.output) {
        for line in restore::plan_lines(&output["plan"]) {
            term.line(line);
        }
    }
    Ok(outcome.exit_code)
}

/// `bbws backup` once the tenant id is known to be valid.
async fn backup_command(
    sfn: &aws_sdk_sfn::Client,
    global: &Global,
    args: &BackupArgs,
    tenant: &TenantId,
    now: OffsetDateTime,
    term: &mut Term,
) -> anyhow::Result<i32> {
    let state_machine_arn = match &global.state_machine_arn {
        Some(arn) => arn.clone(),
        None => backup::find_state_machine(sfn, &global.state_machine_name()).await?,
    };
    let name = args
        .execution_name
        .clone()
        .unwrap_or_else(|| backup::default_execution_name(tenant, now));
    let input = backup::backup_input(args, tenant);
    start_and_follow(
        sfn,
        global,
        &state_machine_arn,
        &name,
        &input,
        args.no_follow,
        term,
    )
    .await
}

/// Starts an execution and follows it to its end (or, with `no_follow`, prints its ARN);
/// the exit code is the outcome's.
async fn start_and_follow(
    sfn: &aws_sdk_sfn::Client,
    global: &Global,
    state_machine_arn: &str,
    name: &str,
    input: &serde_json::Value,
    no_follow: bool,
    term: &mut Term,
) -> anyhow::Result<i32> {
    let execution_arn = backup::start(sfn, state_machine_arn, name, input).await?;
    if no_follow {
        if term.json {
            term.json_line(&json!({"status": "RUNNING", "executionArn": execution_arn}));
        } else {
            term.line(&execution_arn);
        }
        return Ok(0);
    }
    if !term.json {
        term.line(format!("Started {name}: {execution_arn}"));
    }
    let outcome = follow::follow(sfn, &execution_arn, poll_interval(global), term).await?;
    Ok(outcome.exit_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_tenant_exits_with_its_code_and_says_why() {
        let (mut term, out, err) = Term::captured(false, false);
        assert_eq!(valid_tenant("Tenant_1", &mut term).unwrap_err(), 40);
        assert_eq!(out.text(), "");
        assert!(err.text().contains("tenant id \"Tenant_1\" is not valid"));
        assert!(valid_tenant("tenant-1", &mut term).is_ok());
    }

    #[test]
    fn defaults_follow_the_environment() {
        let cli =
            Cli::try_parse_from(["bbws", "backups", "--tenant", "t", "--env", "prod"]).unwrap();
        assert_eq!(cli.global.state_machine_name(), "bbws-prod-tenant-backup");
        assert_eq!(cli.global.catalog_table(), "bbws-prod-backup-catalog");
        assert_eq!(cli.global.poll_interval, Duration::from_secs(1));
        let cli =
            Cli::try_parse_from(["bbws", "status", "arn", "--poll-interval", "0.25"]).unwrap();
        assert_eq!(cli.global.poll_interval, Duration::from_millis(250));
        for bad in ["0", "-1", "x", "NaN", "inf", "3601"] {
            let error = Cli::try_parse_from(["bbws", "status", "arn", "--poll-interval", bad]);
            assert_eq!(error.unwrap_err().exit_code(), 2, "{bad}");
        }
        assert!(!cli.global.json);
        let cli = Cli::try_parse_from(["bbws", "--catalog-table", "v", "backups", "--tenant", "t"])
            .unwrap();
        assert_eq!(cli.global.catalog_table(), "v");
        assert_eq!(cli.global.state_machine_name(), "bbws-dev-tenant-backup");
    }

    #[test]
    fn backups_takes_since_limit_and_id() {
        let cli = Cli::try_parse_from([
            "bbws",
            "backups",
            "--tenant",
            "t",
            "--since",
            "2026-11-26T07:30:00+02:00",
            "--limit",
            "20",
        ])
        .unwrap();
        let Command::Backups(args) = cli.command else {
            panic!("not backups")
        };
        assert_eq!(args.since, Some(1_795_671_000));
        assert_eq!(args.limit, Some(20));
        for bad in [
            &["--since", "yesterday"][..],
            &["--limit", "0"],
            &["--id", "tb-1", "--limit", "3"],
        ] {
            let error =
                Cli::try_parse_from([&["bbws", "backups", "--tenant", "t"][..], bad].concat());
            assert_eq!(error.unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn backups_stale_needs_no_tenant_and_takes_a_threshold() {
        let cli = Cli::try_parse_from(["bbws", "backups", "--stale", "--threshold-seconds", "600"])
            .unwrap();
        let Command::Backups(args) = cli.command else {
            panic!("not backups")
        };
        assert!(args.stale && args.tenant.is_none());
        assert_eq!(args.threshold_seconds, 600);
        for bad in [
            &["backups"][..],
            &["backups", "--stale", "--tenant", "t"],
            &["backups", "--stale", "--threshold-seconds", "0"],
        ] {
            let error = Cli::try_parse_from([&["bbws"][..], bad].concat());
            assert_eq!(error.unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn the_exit_codes_of_the_readme() {
        for (name, code) in [
            ("InvalidTenant", 40),
            ("InvalidRestoreTarget", 41),
            ("BackupNotFound", 44),
            ("BackupAlreadyRunning", 49),
            ("BackupFailed", 50),
            ("RestoreFailed", 51),
            ("TransientAwsError", 53),
            ("BackupTimeout", 54),
            ("RestoreTimeout", 55),
            ("TenantBackupsFailed", 56),
            ("RestoreDrillFailed", 57),
            ("SyncFailed", 58),
            ("CacheNotFlushed", 59),
            ("States.Runtime", 1),
        ] {
            assert_eq!(exit::exit_code(name), code, "{name}");
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
