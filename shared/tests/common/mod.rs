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
use bbws::handlers::Deps;
use bbws::model::Clock;
use bbws::Config;

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
        }
    }

    /// Clients that answer from the rules, matched in any order, with the SDK's own
    /// retries off so each rule's call count is exact.
    pub fn deps(&self) -> Deps {
        let backup = mock_client!(
            aws_sdk_backup,
            RuleMode::MatchAny,
            self.backup.iter(),
            |c| c.retry_config(aws_sdk_backup::config::retry::RetryConfig::disabled())
        );
        let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, self.ecs.iter(), |c| c
            .retry_config(aws_sdk_ecs::config::retry::RetryConfig::disabled()));
        let efs = mock_client!(aws_sdk_efs, RuleMode::MatchAny, self.efs.iter(), |c| c
            .retry_config(aws_sdk_efs::config::retry::RetryConfig::disabled()));
        let tagging = mock_client!(
            aws_sdk_resourcegroupstagging,
            RuleMode::MatchAny,
            self.tagging.iter(),
            |c| c.retry_config(
                aws_sdk_resourcegroupstagging::config::retry::RetryConfig::disabled()
            )
        );
        let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, self.rds.iter(), |c| c
            .retry_config(aws_sdk_rds::config::retry::RetryConfig::disabled()));
        let ssm = mock_client!(aws_sdk_ssm, RuleMode::MatchAny, self.ssm.iter(), |c| c
            .retry_config(aws_sdk_ssm::config::retry::RetryConfig::disabled()));
        Deps {
            config: Config::example(),
            backup,
            ecs,
            efs,
            tagging,
            rds,
            ssm,
            clock: Clock::Fixed(NOW),
        }
    }
}

impl Mocks {
    /// [`Mocks::deps`] plus an EventBridge client answered by `events`.
    pub fn event_deps(&self) -> bbws::handlers::EventDeps {
        let events = mock_client!(
            aws_sdk_eventbridge,
            RuleMode::MatchAny,
            self.events.iter(),
            |c| c.retry_config(aws_sdk_eventbridge::config::retry::RetryConfig::disabled())
        );
        bbws::handlers::EventDeps {
            deps: self.deps(),
            events,
        }
    }
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
