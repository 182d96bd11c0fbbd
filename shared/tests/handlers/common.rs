//! Helpers for handler tests: real SDK clients answered by aws-smithy-mocks rules.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use aws_sdk_backup::operation::list_backup_jobs::ListBackupJobsOutput;
use aws_sdk_backup::types::{BackupJob, BackupJobState};
use aws_sdk_efs::operation::describe_access_points::DescribeAccessPointsOutput;
use aws_sdk_efs::types::{AccessPointDescription, RootDirectory};
use aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput;
use aws_sdk_resourcegroupstagging::types::ResourceTagMapping;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use bbws::backup::fleet::Fleet;
use bbws::backup::BackupService;
use bbws::catalog::Catalog;
use bbws::config::{DrVault, Vault};
use bbws::events::Publisher;
use bbws::jobs::copy::DrCopier;
use bbws::jobs::poll::JobWatcher;
use bbws::jobs::Clock;
use bbws::restore::database::DatabaseService;
use bbws::restore::redeploy::Redeployer;
use bbws::restore::RestoreService;
use bbws::tenants::access_points::AccessPoints;
use bbws::tenants::onboarding::Onboarding;
use bbws::Config;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

/// A real client of `$sdk` answering from `$rules`, matched in any order, with the SDK's
/// own retries off so each rule's call count is exact.
macro_rules! mocked {
    ($sdk:ident, $rules:expr) => {
        mock_client!($sdk, RuleMode::MatchAny, $rules.iter(), |c| c
            .retry_config($sdk::config::retry::RetryConfig::disabled()))
    };
}

pub const NOW: i64 = 1_790_000_000;
pub const EXECUTION: &str = "arn:aws:states:af-south-1:123456789012:execution:bbws-backup:run-1";
pub const FS_ID: &str = "fs-0123456789abcdef0";
pub const FS_ARN: &str =
    "arn:aws:elasticfilesystem:af-south-1:123456789012:file-system/fs-0123456789abcdef0";
pub const AP_ID: &str = "fsap-0a1b2c3d4e5f60718";
pub const AP_ARN: &str =
    "arn:aws:elasticfilesystem:af-south-1:123456789012:access-point/fsap-0a1b2c3d4e5f60718";
pub const DB_ARN: &str = "arn:aws:rds:af-south-1:123456789012:db:tenant-1";
pub const SERVICE_ARN: &str = "arn:aws:ecs:af-south-1:123456789012:service/bbws-dev/tenant-1";

/// Records every request a rule answers, so a test can assert what was sent to AWS.
#[derive(Clone)]
pub struct Sent<T>(Arc<Mutex<Vec<T>>>);

impl<T> Default for Sent<T> {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(Vec::new())))
    }
}

impl<T: Clone> Sent<T> {
    pub fn push(&self, value: &T) {
        self.0.lock().unwrap().push(value.clone());
    }
    pub fn all(&self) -> Vec<T> {
        self.0.lock().unwrap().clone()
    }
}

pub struct Mocks {
    pub backup: Vec<Rule>,
    pub ecs: Vec<Rule>,
    pub efs: Vec<Rule>,
    pub tagging: Vec<Rule>,
    pub events: Vec<Rule>,
    pub rds: Vec<Rule>,
    pub ssm: Vec<Rule>,
    /// The catalog table; with no rule, the functions that only write to it get none.
    pub dynamodb: Vec<Rule>,
}

impl Mocks {
    pub fn new() -> Self {
        Self {
            backup: vec![],
            ecs: vec![],
            efs: vec![],
            tagging: vec![],
            events: vec![],
            rds: vec![],
            ssm: vec![],
            dynamodb: vec![],
        }
    }

    /// Every service, its clients answering from the rules, at the fixed test time.
    pub fn deps(&self) -> Deps {
        let clock = Clock::Fixed(NOW);
        let config = Config::example();
        let backup = mocked!(aws_sdk_backup, self.backup);
        let efs = mocked!(aws_sdk_efs, self.efs);
        let tagging = mocked!(aws_sdk_resourcegroupstagging, self.tagging);
        let ecs = mocked!(aws_sdk_ecs, self.ecs);
        let rds = mocked!(aws_sdk_rds, self.rds);
        let events = mocked!(aws_sdk_eventbridge, self.events);
        let catalog = Catalog {
            dynamodb: mocked!(aws_sdk_dynamodb, self.dynamodb),
            table: "bbws-dev-backup-catalog".into(),
            dr_delete_after_days: 30,
        };
        let writes_catalog = (!self.dynamodb.is_empty()).then(|| catalog.clone());
        let access_points = AccessPoints {
            file_system_id: config.file_system_id.clone(),
            efs: efs.clone(),
            backup: backup.clone(),
            catalog: writes_catalog.clone(),
            cache_users: None,
        };
        Deps {
            backup: BackupService {
                config: config.clone(),
                vault: Vault::example(),
                backup: backup.clone(),
                efs: efs.clone(),
                tagging: tagging.clone(),
                clock,
            },
            watcher: JobWatcher {
                backup: backup.clone(),
                ecs: Some(ecs.clone()),
                rds: Some(rds.clone()),
                catalog: writes_catalog.clone(),
                clock,
            },
            copier: DrCopier {
                config: config.clone(),
                dr_vault: DrVault::example(),
                backup: backup.clone(),
                clock,
            },
            restore: RestoreService {
                config: config.clone(),
                vault: Vault::example(),
                backup,
                efs,
                tagging: tagging.clone(),
                leases: bbws::lease::Leases {
                    clock,
                    ..bbws::lease::Leases::new(&catalog, Some("af-south-1"))
                },
                catalog,
                database: DatabaseService {
                    config: config.clone(),
                    rds: rds.clone(),
                    ssm: mocked!(aws_sdk_ssm, self.ssm),
                    clock,
                },
                clock,
                source_vault: None,
                region: None,
                network: bbws::restore::DatabaseNetwork {
                    subnet_group: Some("bbws-dev-data-db-dr".into()),
                    security_groups: vec!["sg-0dr000000000000a".into()],
                    kms_key: Some(
                        "arn:aws:kms:eu-west-1:123456789012:key/0dr00000-0000-0000-0000-000000000000"
                            .into(),
                    ),
                },
            },
            redeployer: Redeployer { ecs, clock },
            onboarding: Onboarding {
                config: config.clone(),
                access_points: AccessPoints {
                    file_system_id: access_points.file_system_id.clone(),
                    efs: access_points.efs.clone(),
                    backup: access_points.backup.clone(),
                    catalog: writes_catalog,
                    cache_users: None,
                },
                tagging: tagging.clone(),
                events: events.clone(),
                rds: rds.clone(),
                ssm: mocked!(aws_sdk_ssm, self.ssm),
                // No file system: every tenant's directory is absent, so empty.
                mount: std::path::PathBuf::from("/nonexistent/bbws-efs"),
            },
            access_points,
            fleet: Fleet {
                config: config.clone(),
                tagging,
            },
            publisher: Publisher { config, events },
        }
    }
}

/// Each function's service, as its binary builds it at start-up but with mocked clients.
pub struct Deps {
    pub backup: BackupService,
    pub watcher: JobWatcher,
    pub copier: DrCopier,
    pub restore: RestoreService,
    pub redeployer: Redeployer,
    pub onboarding: Onboarding,
    pub access_points: AccessPoints,
    pub fleet: Fleet,
    pub publisher: Publisher,
}

/// Calls each function's handler with its service from [`Deps`].
macro_rules! handlers {
    ($($name:ident => $handler:path, $service:ident;)+) => {
        $(
            pub async fn $name(
                event: LambdaEvent<Value>,
                deps: &Deps,
            ) -> Result<Value, bbws::Error> {
                $handler(event, &deps.$service).await
            }
        )+
    };
}

handlers! {
    start_backup => bbws::backup::handler, backup;
    poll_job => bbws::jobs::poll::handler, watcher;
    copy_to_dr => bbws::jobs::copy::handler, copier;
    restore => bbws::restore::handler, restore;
    force_redeploy => bbws::restore::redeploy::handler, redeployer;
    onboard_tenant => bbws::tenants::onboarding::handler, onboarding;
    offboard_tenant => bbws::tenants::access_points::offboard_handler, access_points;
    list_tenants => bbws::backup::fleet::handler, fleet;
    publish_outcome => bbws::events::handler, publisher;
}

/// The tagging API answers with these ARNs for the tenant.
pub fn tagged(arns: &[&str]) -> Rule {
    let with_tags: Vec<(&str, &[(&str, &str)])> = arns.iter().map(|a| (*a, &[][..])).collect();
    tagged_with(&with_tags)
}

/// The tagging API answers with these ARNs for the tenant, each with these tags beside
/// `bbws:tenant-id`.
pub fn tagged_with(resources: &[(&str, &[(&str, &str)])]) -> Rule {
    let resources: Vec<(String, Vec<(String, String)>)> = resources
        .iter()
        .map(|(arn, tags)| {
            (
                arn.to_string(),
                tags.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        })
        .collect();
    mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_output(move || {
        let mut out = GetResourcesOutput::builder();
        for (arn, tags) in &resources {
            let mut mapping = ResourceTagMapping::builder().resource_arn(arn);
            for (key, value) in tags {
                mapping = mapping.tags(
                    aws_sdk_resourcegroupstagging::types::Tag::builder()
                        .key(key)
                        .value(value)
                        .build()
                        .expect("a tag has a key and a value"),
                );
            }
            out = out.resource_tag_mapping_list(mapping.build());
        }
        out.build()
    })
}

/// EFS describes the tenant's access point, rooted at `root`.
pub fn access_point(root: &str) -> Rule {
    let root = root.to_string();
    mock!(aws_sdk_efs::Client::describe_access_points)
        .match_requests(|req| req.access_point_id() == Some(AP_ID))
        .then_output(move || {
            DescribeAccessPointsOutput::builder()
                .access_points(
                    AccessPointDescription::builder()
                        .access_point_id(AP_ID)
                        .access_point_arn(AP_ARN)
                        .file_system_id(FS_ID)
                        .root_directory(RootDirectory::builder().path(&root).build())
                        .build(),
                )
                .build()
        })
}

pub fn job(id: &str, resource: &str, state: BackupJobState, rp: Option<&str>) -> BackupJob {
    BackupJob::builder()
        .backup_job_id(id)
        .resource_arn(resource)
        .state(state)
        .backup_vault_name("bbws-dev-backup-vault")
        .set_recovery_point_arn(rp.map(str::to_owned))
        .build()
}

/// ListBackupJobs answers `jobs` for `resource` (and records each request).
pub fn jobs_on(resource: &'static str, jobs: Vec<BackupJob>, sent: &Sent<String>) -> Rule {
    let sent = sent.clone();
    mock!(aws_sdk_backup::Client::list_backup_jobs)
        .match_requests(move |req| req.by_resource_arn() == Some(resource))
        .then_compute_output(move |req| {
            sent.push(&req.by_resource_arn().unwrap_or_default().to_string());
            ListBackupJobsOutput::builder()
                .set_backup_jobs(Some(jobs.clone()))
                .build()
        })
}
