//! AWS Backup's REST routes (from `aws-sdk-backup`'s `uri_base` of each operation) and the
//! dispatch to [`super::api`].

use std::sync::Arc;

use hyper::Method;
use serde_json::Value;

use super::api::{self, ApiResult};
use super::error::ApiError;
use super::query::Query;
use super::store::Store;
use crate::web::percent_decode;

/// The operations served, by their AWS names (the names `throttle` faults take).
pub const OPERATIONS: [&str; 18] = [
    "CreateBackupVault",
    "DescribeBackupVault",
    "StartBackupJob",
    "DescribeBackupJob",
    "ListBackupJobs",
    "StopBackupJob",
    "StartCopyJob",
    "DescribeCopyJob",
    "ListCopyJobs",
    "StartRestoreJob",
    "DescribeRestoreJob",
    "DescribeRecoveryPoint",
    "ListRecoveryPointsByBackupVault",
    "GetRecoveryPointRestoreMetadata",
    "ListTags",
    "TagResource",
    "UntagResource",
    "ListRestoreJobs",
];

/// One operation with its path labels (decoded).
#[derive(Debug, PartialEq, Eq)]
pub enum Op {
    CreateBackupVault(String),
    DescribeBackupVault(String),
    StartBackupJob,
    DescribeBackupJob(String),
    ListBackupJobs,
    StopBackupJob(String),
    StartCopyJob,
    DescribeCopyJob(String),
    ListCopyJobs,
    StartRestoreJob,
    DescribeRestoreJob(String),
    ListRestoreJobs,
    DescribeRecoveryPoint(String, String),
    ListRecoveryPointsByBackupVault(String),
    GetRecoveryPointRestoreMetadata(String, String),
    ListTags(String),
    TagResource(String),
    UntagResource(String),
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::CreateBackupVault(_) => "CreateBackupVault",
            Op::DescribeBackupVault(_) => "DescribeBackupVault",
            Op::StartBackupJob => "StartBackupJob",
            Op::DescribeBackupJob(_) => "DescribeBackupJob",
            Op::ListBackupJobs => "ListBackupJobs",
            Op::StopBackupJob(_) => "StopBackupJob",
            Op::StartCopyJob => "StartCopyJob",
            Op::DescribeCopyJob(_) => "DescribeCopyJob",
            Op::ListCopyJobs => "ListCopyJobs",
            Op::StartRestoreJob => "StartRestoreJob",
            Op::DescribeRestoreJob(_) => "DescribeRestoreJob",
            Op::ListRestoreJobs => "ListRestoreJobs",
            Op::DescribeRecoveryPoint(..) => "DescribeRecoveryPoint",
            Op::ListRecoveryPointsByBackupVault(_) => "ListRecoveryPointsByBackupVault",
            Op::GetRecoveryPointRestoreMetadata(..) => "GetRecoveryPointRestoreMetadata",
            Op::ListTags(_) => "ListTags",
            Op::TagResource(_) => "TagResource",
            Op::UntagResource(_) => "UntagResource",
        }
    }

    /// The operation `method path` calls; `None` for any other route. Labels are decoded
    /// one segment at a time, so an ARN's escaped `/` stays inside its label.
    pub fn parse(method: &Method, path: &str) -> Option<Op> {
        let segments: Vec<String> = path
            .trim_start_matches('/')
            .trim_end_matches('/')
            .split('/')
            .map(percent_decode)
            .collect::<Option<_>>()?;
        let s: Vec<&str> = segments.iter().map(String::as_str).collect();
        let label = |i: usize| s[i].to_owned();
        let op = match (method.as_str(), s.as_slice()) {
            ("PUT", ["backup-vaults", _]) => Op::CreateBackupVault(label(1)),
            ("GET", ["backup-vaults", _]) => Op::DescribeBackupVault(label(1)),
            ("GET", ["backup-vaults", _, "recovery-points"]) => {
                Op::ListRecoveryPointsByBackupVault(label(1))
            }
            ("GET", ["backup-vaults", _, "recovery-points", _]) => {
                Op::DescribeRecoveryPoint(label(1), label(3))
            }
            ("GET", ["backup-vaults", _, "recovery-points", _, "restore-metadata"]) => {
                Op::GetRecoveryPointRestoreMetadata(label(1), label(3))
            }
            ("PUT", ["backup-jobs"]) => Op::StartBackupJob,
            ("GET", ["backup-jobs"]) => Op::ListBackupJobs,
            ("GET", ["backup-jobs", _]) => Op::DescribeBackupJob(label(1)),
            ("POST", ["backup-jobs", _]) => Op::StopBackupJob(label(1)),
            ("PUT", ["copy-jobs"]) => Op::StartCopyJob,
            ("GET", ["copy-jobs"]) => Op::ListCopyJobs,
            ("GET", ["copy-jobs", _]) => Op::DescribeCopyJob(label(1)),
            ("PUT", ["restore-jobs"]) => Op::StartRestoreJob,
            ("GET", ["restore-jobs"]) => Op::ListRestoreJobs,
            ("GET", ["restore-jobs", _]) => Op::DescribeRestoreJob(label(1)),
            ("GET", ["tags", _]) => Op::ListTags(label(1)),
            ("POST", ["tags", _]) => Op::TagResource(label(1)),
            ("POST", ["untag", _]) => Op::UntagResource(label(1)),
            _ => return None,
        };
        Some(op)
    }
}

/// Serves one AWS Backup request signed for `region`.
pub fn dispatch(
    store: &Arc<Store>,
    region: &str,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> ApiResult {
    let op = Op::parse(method, path).ok_or_else(|| {
        ApiError::unknown_operation(format!(
            "{method} {path} is not an AWS Backup operation the local stand-in serves"
        ))
    })?;
    if store.with(|s| s.faults.take_throttle(op.name())) {
        return Err(ApiError::throttling(op.name()));
    }
    let q = Query::parse(query);
    match op {
        Op::CreateBackupVault(name) => api::create_backup_vault(store, region, &name, body),
        Op::DescribeBackupVault(name) => api::describe_backup_vault(store, region, &name),
        Op::StartBackupJob => api::start_backup_job(store, region, body),
        Op::DescribeBackupJob(id) => api::describe_backup_job(store, region, &id),
        Op::ListBackupJobs => api::list_backup_jobs(store, region, &q),
        Op::StopBackupJob(id) => api::stop_backup_job(store, region, &id),
        Op::StartCopyJob => api::start_copy_job(store, region, body),
        Op::DescribeCopyJob(id) => api::describe_copy_job(store, region, &id),
        Op::ListCopyJobs => api::list_copy_jobs(store, region, &q),
        Op::StartRestoreJob => api::start_restore_job(store, region, body),
        Op::DescribeRestoreJob(id) => api::describe_restore_job(store, region, &id),
        Op::ListRestoreJobs => api::list_restore_jobs(store, region, &q),
        Op::DescribeRecoveryPoint(vault, arn) => {
            api::describe_recovery_point(store, region, &vault, &arn)
        }
        Op::ListRecoveryPointsByBackupVault(vault) => {
            api::list_recovery_points(store, region, &vault, &q)
        }
        Op::GetRecoveryPointRestoreMetadata(vault, arn) => {
            api::restore_metadata(store, region, &vault, &arn)
        }
        Op::ListTags(arn) => api::list_tags(store, &arn),
        Op::TagResource(arn) => api::tag_resource(store, &arn, body),
        Op::UntagResource(arn) => api::untag_resource(store, &arn, body),
    }
}

/// An empty answer body for operations that return nothing.
pub fn body_of(value: &Value) -> Vec<u8> {
    if value.is_null() {
        Vec::new()
    } else {
        value.to_string().into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_the_sdk_paths() {
        let rp = "arn%3Aaws%3Abackup%3Aus-east-1%3A123456789012%3Arecovery-point%3AABC";
        assert_eq!(
            Op::parse(
                &Method::GET,
                &format!("/backup-vaults/v/recovery-points/{rp}")
            ),
            Some(Op::DescribeRecoveryPoint(
                "v".into(),
                "arn:aws:backup:us-east-1:123456789012:recovery-point:ABC".into()
            ))
        );
        assert_eq!(
            Op::parse(&Method::POST, "/untag/arn%3Ax%2Fy"),
            Some(Op::UntagResource("arn:x/y".into()))
        );
        assert_eq!(
            Op::parse(&Method::PUT, "/backup-jobs"),
            Some(Op::StartBackupJob)
        );
        assert_eq!(Op::parse(&Method::DELETE, "/backup-jobs/x"), None);
        assert_eq!(Op::parse(&Method::GET, "/nothing"), None);
    }

    #[test]
    fn every_operation_is_named() {
        let ops = [
            Op::CreateBackupVault(String::new()),
            Op::StartBackupJob,
            Op::ListTags(String::new()),
        ];
        for op in ops {
            assert!(OPERATIONS.contains(&op.name()));
        }
    }
}
