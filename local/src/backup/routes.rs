//! AWS Backup's REST routes as a table (method, `aws-sdk-backup`'s `uri_base`, operation),
//! and the dispatch of each operation to its resource's module under [`super::api`].

use std::sync::Arc;

use hyper::Method;
use serde_json::Value;

use super::api::{backup_jobs, copy_jobs, recovery_points, restore_jobs, tags, vaults, ApiResult};
use super::error::ApiError;
use super::operations::Operation::{self, *};
use super::query::Query;
use super::store::Store;
use crate::web::percent_decode;

/// One route per operation; `{}` is a path label.
const ROUTES: [(Method, &str, Operation); Operation::ALL.len()] = [
    (Method::PUT, "/backup-vaults/{}", CreateBackupVault),
    (Method::GET, "/backup-vaults/{}", DescribeBackupVault),
    (
        Method::GET,
        "/backup-vaults/{}/recovery-points",
        ListRecoveryPointsByBackupVault,
    ),
    (
        Method::GET,
        "/backup-vaults/{}/recovery-points/{}",
        DescribeRecoveryPoint,
    ),
    (
        Method::GET,
        "/backup-vaults/{}/recovery-points/{}/restore-metadata",
        GetRecoveryPointRestoreMetadata,
    ),
    (Method::PUT, "/backup-jobs", StartBackupJob),
    (Method::GET, "/backup-jobs", ListBackupJobs),
    (Method::GET, "/backup-jobs/{}", DescribeBackupJob),
    (Method::POST, "/backup-jobs/{}", StopBackupJob),
    (Method::PUT, "/copy-jobs", StartCopyJob),
    (Method::GET, "/copy-jobs", ListCopyJobs),
    (Method::GET, "/copy-jobs/{}", DescribeCopyJob),
    (Method::PUT, "/restore-jobs", StartRestoreJob),
    (Method::GET, "/restore-jobs", ListRestoreJobs),
    (Method::GET, "/restore-jobs/{}", DescribeRestoreJob),
    (Method::GET, "/tags/{}", ListTags),
    (Method::POST, "/tags/{}", TagResource),
    (Method::POST, "/untag/{}", UntagResource),
];

/// A request's operation with its path labels (decoded), in the order of its route.
#[derive(Debug, PartialEq, Eq)]
pub struct Call {
    pub operation: Operation,
    pub labels: Vec<String>,
}

/// The operation `method path` calls; `None` for any other route. Labels are decoded one
/// segment at a time, so an ARN's escaped `/` stays inside its label.
pub fn route(method: &Method, path: &str) -> Option<Call> {
    let segments: Vec<String> = split_path(path)
        .map(percent_decode)
        .collect::<Option<_>>()?;
    ROUTES.iter().find_map(|(m, pattern, operation)| {
        let parts: Vec<&str> = split_path(pattern).collect();
        if m != method || parts.len() != segments.len() {
            return None;
        }
        let mut labels = Vec::new();
        for (part, segment) in parts.into_iter().zip(&segments) {
            match part {
                "{}" => labels.push(segment.clone()),
                literal if literal == segment => {}
                _ => return None,
            }
        }
        Some(Call {
            operation: *operation,
            labels,
        })
    })
}

fn split_path(path: &str) -> impl Iterator<Item = &str> {
    path.trim_start_matches('/')
        .trim_end_matches('/')
        .split('/')
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
    let Call { operation, labels } = route(method, path).ok_or_else(|| {
        ApiError::unknown_operation(format!(
            "{method} {path} is not an AWS Backup operation the local stand-in serves"
        ))
    })?;
    if store.with(|s| s.faults.take_throttle(operation.name())) {
        return Err(ApiError::throttling(operation.name()));
    }
    let q = Query::parse(query);
    match (operation, labels.as_slice()) {
        (CreateBackupVault, [name]) => vaults::create_backup_vault(store, region, name, body),
        (DescribeBackupVault, [name]) => vaults::describe_backup_vault(store, region, name),
        (StartBackupJob, []) => backup_jobs::start_backup_job(store, region, body),
        (DescribeBackupJob, [id]) => backup_jobs::describe_backup_job(store, region, id),
        (ListBackupJobs, []) => backup_jobs::list_backup_jobs(store, region, &q),
        (StopBackupJob, [id]) => backup_jobs::stop_backup_job(store, region, id),
        (StartCopyJob, []) => copy_jobs::start_copy_job(store, region, body),
        (DescribeCopyJob, [id]) => copy_jobs::describe_copy_job(store, region, id),
        (ListCopyJobs, []) => copy_jobs::list_copy_jobs(store, region, &q),
        (StartRestoreJob, []) => restore_jobs::start_restore_job(store, region, body),
        (DescribeRestoreJob, [id]) => restore_jobs::describe_restore_job(store, region, id),
        (ListRestoreJobs, []) => restore_jobs::list_restore_jobs(store, region, &q),
        (DescribeRecoveryPoint, [vault, arn]) => {
            recovery_points::describe_recovery_point(store, region, vault, arn)
        }
        (ListRecoveryPointsByBackupVault, [vault]) => {
            recovery_points::list_recovery_points(store, region, vault, &q)
        }
        (GetRecoveryPointRestoreMetadata, [vault, arn]) => {
            recovery_points::restore_metadata(store, region, vault, arn)
        }
        (ListTags, [arn]) => tags::list_tags(store, arn),
        (TagResource, [arn]) => tags::tag_resource(store, arn, body),
        (UntagResource, [arn]) => tags::untag_resource(store, arn, body),
        // Only a route whose labels the arms above do not take ends here: a test checks none.
        (operation, labels) => Err(ApiError::unknown_operation(format!(
            "{} is routed with {} labels and served with another number",
            operation.name(),
            labels.len()
        ))),
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
    use crate::backup::operations::OPERATIONS;
    use crate::backup::rds::Rds;
    use crate::backup::store::Settings;

    #[test]
    fn routes_match_the_sdk_paths() {
        let call = |operation, labels: &[&str]| Call {
            operation,
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        };
        let rp = "arn%3Aaws%3Abackup%3Aus-east-1%3A123456789012%3Arecovery-point%3AABC";
        assert_eq!(
            route(
                &Method::GET,
                &format!("/backup-vaults/v/recovery-points/{rp}")
            ),
            Some(call(
                DescribeRecoveryPoint,
                &[
                    "v",
                    "arn:aws:backup:us-east-1:123456789012:recovery-point:ABC"
                ]
            ))
        );
        assert_eq!(
            route(&Method::POST, "/untag/arn%3Ax%2Fy"),
            Some(call(UntagResource, &["arn:x/y"]))
        );
        assert_eq!(
            route(&Method::PUT, "/backup-jobs"),
            Some(call(StartBackupJob, &[]))
        );
        assert_eq!(route(&Method::DELETE, "/backup-jobs/x"), None);
        assert_eq!(route(&Method::GET, "/nothing"), None);
    }

    #[test]
    fn every_operation_is_named() {
        for (_, _, operation) in &ROUTES {
            assert!(OPERATIONS.contains(&operation.name()));
        }
    }

    #[test]
    fn every_operation_has_one_route_and_is_served_with_its_labels() {
        let store = Arc::new(Store::new(Settings {
            state_dir: "/nonexistent/state".into(),
            efs_root: "/nonexistent/efs".into(),
            durations: Default::default(),
            rds: Rds::new("http://127.0.0.1:9").unwrap(),
            databases: None,
            source_tags: crate::backup::source_tags::SourceTags::new("http://127.0.0.1:9").unwrap(),
            events: crate::backup::events::Events::new(None).unwrap(),
            copy_quota: Default::default(),
        }));
        for operation in Operation::ALL {
            let routes: Vec<_> = ROUTES.iter().filter(|r| r.2 == operation).collect();
            assert_eq!(routes.len(), 1, "{operation:?}");
            let (method, pattern, _) = routes[0];
            let path = pattern.replace("{}", "x");
            assert_eq!(route(method, &path).map(|c| c.operation), Some(operation));
            // Bodies and labels are invalid, so nothing starts: each refusal must come from
            // the operation itself, not from a route served with the wrong labels.
            if let Err(e) = dispatch(&store, "us-east-1", method, &path, None, b"{}") {
                assert!(!e.message.contains("is routed with"), "{}", e.message);
            }
        }
    }
}
