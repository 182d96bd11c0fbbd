//! RDS look-ups shared by the restore's database steps and by poll-job.

use aws_sdk_rds::types::{DbCluster, DbInstance};

use crate::error::{Error, Operation};

/// One DB instance, by identifier.
pub async fn describe_instance(
    rds: &aws_sdk_rds::Client,
    op: Operation,
    identifier: &str,
) -> Result<DbInstance, Error> {
    let out = rds
        .describe_db_instances()
        .db_instance_identifier(identifier)
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(s) if s.is_db_instance_not_found_fault() => {
                op.failed(format!("DB instance {identifier} does not exist"))
            }
            _ => op.aws(&format!("describing DB instance {identifier}"), e),
        })?;
    out.db_instances()
        .first()
        .cloned()
        .ok_or_else(|| op.failed(format!("DB instance {identifier} does not exist")))
}

/// One DB cluster, by identifier.
pub async fn describe_cluster(
    rds: &aws_sdk_rds::Client,
    op: Operation,
    identifier: &str,
) -> Result<DbCluster, Error> {
    let out = rds
        .describe_db_clusters()
        .db_cluster_identifier(identifier)
        .send()
        .await
        .map_err(|e| op.aws(&format!("describing restored cluster {identifier}"), e))?;
    out.db_clusters()
        .first()
        .cloned()
        .ok_or_else(|| op.failed(format!("restored cluster {identifier} does not exist")))
}
