//! What a database restore needs after AWS Backup's job completes.
//!
//! * **Finish**: an Aurora restore creates the cluster only, with no instance, so a
//!   `db.serverless` instance is added to it (after giving the cluster a Serverless v2
//!   capacity range if it has none). An RDS restore creates its instance. Either way the
//!   restored database is tagged with the backup it came from, and the state machine waits
//!   until its instance is `available`.
//! * **Promote** (whenever a restore puts its database live, the default): the tenant's
//!   database endpoint setting ([`crate::tenants::endpoint`]) is pointed at the restored
//!   database, which becomes the tenant's database in every sense the product uses: tagged
//!   `bbws:tenant-id` (so the plans and `bbws backup` follow it), deletion protection on and
//!   tags copied to its snapshots, as the tenant database stack sets them. The previous
//!   database is marked superseded: its `bbws:tenant-id` tag moves to
//!   `bbws:superseded-tenant-id` beside `bbws:superseded-by`, so nothing backs it up as the
//!   tenant's; its data and settings are untouched, and it is named in the output for the
//!   operator to delete once satisfied.

use aws_sdk_rds::types::{DbCluster, DbInstance, ServerlessV2ScalingConfiguration, Tag};
use serde::{Deserialize, Serialize};

use super::request::RestorePlan;
use crate::aws::rds::{describe_cluster, describe_instance};
use crate::aws::{database_kind, Arn, ResourceKind};
use crate::config::Config;
use crate::error::{Error, Operation};
use crate::jobs::poll::job_state_of;
use crate::jobs::{compact_utc, Clock, Job, JobKind, JobSet};
use crate::tags;
use crate::tenants::endpoint;
use crate::tenants::DatabaseTarget;

const OP: Operation = Operation::Restore;
/// The instance class of the instance added to a restored Aurora cluster.
pub const SERVERLESS_CLASS: &str = "db.serverless";
pub use crate::tenants::endpoint::parameter_name as endpoint_parameter;

/// The database a restore job created, read from the job's `CreatedResourceArn`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoredDatabase {
    pub arn: String,
    pub kind: ResourceKind,
    pub identifier: String,
}

impl RestoredDatabase {
    /// The completed database restore job of `restore`, and what it created.
    pub fn of(restore: &JobSet) -> Result<Self, Error> {
        let job = restore.completed_restore("database", |r| {
            matches!(r, ResourceKind::RdsInstance | ResourceKind::AuroraCluster)
        })?;
        let arn = job.created_resource_arn.clone().ok_or_else(|| {
            OP.failed(format!(
                "database restore job {} completed without naming what it created",
                job.job_id
            ))
        })?;
        let target = database_kind(&arn).ok_or_else(|| {
            OP.failed(format!(
                "database restore job {} created {arn}, which is not an RDS instance or \
                 Aurora cluster",
                job.job_id
            ))
        })?;
        let identifier = identifier_of(&arn).to_owned();
        Ok(Self {
            arn,
            kind: target,
            identifier,
        })
    }
}

/// The identifier at the end of an RDS ARN (`…:db:<id>` or `…:cluster:<id>`).
fn identifier_of(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or_default()
}

pub use super::request::writer_identifier;

/// What promotion did, for the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Promotion {
    pub parameter: String,
    pub endpoint: String,
    /// The parameter's value before, if it had one.
    pub previous_endpoint: Option<String>,
    /// True when the parameter already named the restored database (a repeated step).
    pub unchanged: bool,
    pub database: RestoredDatabase,
    /// Deletion protection and tags copied to snapshots, now on for the promoted database.
    pub deletion_protection: bool,
    /// The tenant's database before the restore: its data left as it was, marked superseded.
    pub previous_database: Option<DatabaseTarget>,
    /// What marked the previous database superseded (none when there was none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded: Option<Superseded>,
}

/// The previous database, no longer the tenant's: what was re-tagged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Superseded {
    /// The database and, for an Aurora cluster, its member instances.
    pub resources: Vec<String>,
    pub superseded_by: String,
}

pub struct DatabaseService {
    pub config: Config,
    pub rds: aws_sdk_rds::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub clock: Clock,
}

impl DatabaseService {
    /// Tags the restored database, adds an instance to a restored Aurora cluster, and
    /// returns the job set the state machine waits on until that instance is available.
    pub async fn finish(&self, plan: &RestorePlan, restore: &JobSet) -> Result<JobSet, Error> {
        let restored = RestoredDatabase::of(restore)?;
        self.tag(
            &restored.arn,
            &[
                (tags::RESTORED_FROM, plan.backup_id.as_str()),
                (tags::RESTORED_FOR, plan.tenant_id.as_str()),
                (tags::ENVIRONMENT, self.config.environment.as_str()),
            ],
        )
        .await?;
        let instance = match restored.kind {
            ResourceKind::AuroraCluster => {
                self.add_serverless_instance(&restored, plan.tenant_id.as_str())
                    .await?
            }
            _ => restored.identifier.clone(),
        };
        let status = self.instance(&instance).await?;
        let state = job_state_of(status.db_instance_status().unwrap_or("unknown"));
        let now = self.clock.now();
        let done = state.is_completed();
        let arn = Arn::parse(&restored.arn)
            .map(|a| {
                format!(
                    "arn:{}:rds:{}:{}:db:{instance}",
                    a.partition, a.region, a.account
                )
            })
            .unwrap_or_else(|| instance.clone());
        let mut job = Job::new(
            JobKind::Database,
            ResourceKind::RdsInstance,
            arn,
            instance,
            state,
            now,
            plan.timeouts.database_seconds,
        );
        job.created_resource_arn = Some(restored.arn.clone());
        let mut set = JobSet::new(
            OP,
            plan.tenant_id.as_str(),
            &plan.backup_id,
            vec![job],
            plan.polling,
        );
        if done {
            set.done = true;
            set.wait_seconds = 0;
        }
        Ok(set)
    }

    /// Adds the `db.serverless` instance to a restored cluster (once: a repeated call finds
    /// the instance it made before).
    async fn add_serverless_instance(
        &self,
        restored: &RestoredDatabase,
        tenant: &str,
    ) -> Result<String, Error> {
        let cluster = self.cluster(&restored.identifier).await?;
        let instance = writer_identifier(&restored.identifier);
        if cluster
            .db_cluster_members()
            .iter()
            .any(|m| m.db_instance_identifier() == Some(instance.as_str()))
        {
            return Ok(instance);
        }
        if cluster.serverless_v2_scaling_configuration().is_none() {
            let (min, max) = self.config.aurora_capacity;
            self.rds
                .modify_db_cluster()
                .db_cluster_identifier(&restored.identifier)
                .serverless_v2_scaling_configuration(
                    ServerlessV2ScalingConfiguration::builder()
                        .min_capacity(min)
                        .max_capacity(max)
                        .build(),
                )
                .apply_immediately(true)
                .send()
                .await
                .map_err(|e| {
                    OP.aws(
                        &format!(
                            "giving cluster {} a Serverless v2 range",
                            restored.identifier
                        ),
                        e,
                    )
                })?;
        }
        let engine = cluster.engine().unwrap_or("aurora-mysql");
        let created = self
            .rds
            .create_db_instance()
            .db_instance_identifier(&instance)
            .db_cluster_identifier(&restored.identifier)
            .db_instance_class(SERVERLESS_CLASS)
            .engine(engine)
            .tags(tag(tags::RESTORED_FOR, tenant))
            .send()
            .await;
        match created {
            Ok(_) => {
                tracing::info!(%instance, cluster = %restored.identifier, "instance added");
                Ok(instance)
            }
            // A retried step: the instance exists; it must be the one made for this cluster.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_db_instance_already_exists_fault()) =>
            {
                let existing = self.instance(&instance).await?;
                if existing.db_cluster_identifier() == Some(restored.identifier.as_str()) {
                    Ok(instance)
                } else {
                    Err(OP.failed(format!(
                        "an instance named {instance} already exists outside cluster {}",
                        restored.identifier
                    )))
                }
            }
            Err(e) => Err(OP.aws(
                &format!(
                    "adding a {SERVERLESS_CLASS} instance to cluster {}",
                    restored.identifier
                ),
                e,
            )),
        }
    }

    /// Points the tenant's endpoint parameter at the restored database and tags it as the
    /// tenant's database. The previous database is not touched.
    pub async fn promote(&self, plan: &RestorePlan, restore: &JobSet) -> Result<Promotion, Error> {
        if !plan.promote_database {
            return Err(OP.bad_request("this restore was not asked to promote the database"));
        }
        let restored = RestoredDatabase::of(restore)?;
        // The same reading of an endpoint as onboarding's: one contract, one place.
        let endpoint = endpoint::endpoint_of(&self.rds, OP, &restored.arn).await?;
        let parameter = endpoint_parameter(&self.config.environment, plan.tenant_id.as_str());
        let previous_endpoint = endpoint::read(&self.ssm, OP, &parameter).await?;
        let unchanged = previous_endpoint.as_deref() == Some(endpoint.as_str());
        if !unchanged {
            endpoint::write(
                &self.ssm,
                OP,
                &parameter,
                &endpoint,
                &format!(
                    "Database endpoint of tenant {} (restored from backup {})",
                    plan.tenant_id, plan.backup_id
                ),
                true,
            )
            .await?;
        }
        let promoted_at = compact_utc(self.clock.now());
        // The new database is the tenant's before the old one stops being: a crash between
        // the two leaves both tagged, and of those the latest promoted is the tenant's.
        self.tag(
            &restored.arn,
            &[
                (tags::TENANT_ID, plan.tenant_id.as_str()),
                (tags::PROMOTED_AT, promoted_at.as_str()),
            ],
        )
        .await?;
        self.protect(&restored).await?;
        let superseded = match &plan.current_database {
            Some(previous) if previous.arn != restored.arn => Some(
                self.supersede(previous, &restored, plan.tenant_id.as_str())
                    .await?,
            ),
            _ => None,
        };
        tracing::info!(%parameter, %endpoint, database = %restored.arn, "database promoted");
        Ok(Promotion {
            parameter,
            endpoint,
            previous_endpoint,
            unchanged,
            database: restored,
            deletion_protection: true,
            previous_database: plan.current_database.clone(),
            superseded,
        })
    }

    /// Deletion protection and tags copied to snapshots, as the tenant database stack sets
    /// them (both can be changed on a restored instance or cluster, applied at once).
    async fn protect(&self, restored: &RestoredDatabase) -> Result<(), Error> {
        let what = format!("protecting {} from deletion", restored.identifier);
        match restored.kind {
            ResourceKind::AuroraCluster => {
                self.rds
                    .modify_db_cluster()
                    .db_cluster_identifier(&restored.identifier)
                    .deletion_protection(true)
                    .copy_tags_to_snapshot(true)
                    .apply_immediately(true)
                    .send()
                    .await
                    .map_err(|e| OP.aws(&what, e))?;
            }
            _ => {
                self.rds
                    .modify_db_instance()
                    .db_instance_identifier(&restored.identifier)
                    .deletion_protection(true)
                    .copy_tags_to_snapshot(true)
                    .apply_immediately(true)
                    .send()
                    .await
                    .map_err(|e| OP.aws(&what, e))?;
            }
        }
        Ok(())
    }

    /// Marks the previous database superseded: its tenant tag (and its member instances',
    /// for a cluster) moves to `bbws:superseded-tenant-id`, beside `bbws:superseded-by` and
    /// `bbws:superseded-at`. Its data and settings are not touched.
    async fn supersede(
        &self,
        previous: &DatabaseTarget,
        restored: &RestoredDatabase,
        tenant: &str,
    ) -> Result<Superseded, Error> {
        let mut resources = vec![previous.arn.clone()];
        if previous.kind == ResourceKind::AuroraCluster {
            let cluster = self.cluster(identifier_of(&previous.arn)).await?;
            let prefix = previous
                .arn
                .rsplit_once(":cluster:")
                .map(|(p, _)| p.to_owned())
                .unwrap_or_default();
            resources.extend(
                cluster
                    .db_cluster_members()
                    .iter()
                    .filter_map(|m| m.db_instance_identifier())
                    .map(|id| format!("{prefix}:db:{id}")),
            );
        }
        let at = compact_utc(self.clock.now());
        for arn in &resources {
            self.tag(
                arn,
                &[
                    (tags::SUPERSEDED_TENANT_ID, tenant),
                    (tags::SUPERSEDED_BY, restored.identifier.as_str()),
                    (tags::SUPERSEDED_AT, at.as_str()),
                ],
            )
            .await?;
            self.rds
                .remove_tags_from_resource()
                .resource_name(arn)
                .tag_keys(tags::TENANT_ID)
                .send()
                .await
                .map_err(|e| OP.aws(&format!("untagging {arn}"), e))?;
        }
        tracing::info!(previous = %previous.arn, by = %restored.identifier, "database superseded");
        Ok(Superseded {
            resources,
            superseded_by: restored.identifier.clone(),
        })
    }

    async fn tag(&self, arn: &str, pairs: &[(&str, &str)]) -> Result<(), Error> {
        self.rds
            .add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(pairs.iter().map(|(k, v)| tag(k, v)).collect()))
            .send()
            .await
            .map_err(|e| OP.aws(&format!("tagging {arn}"), e))?;
        Ok(())
    }

    async fn cluster(&self, identifier: &str) -> Result<DbCluster, Error> {
        describe_cluster(&self.rds, OP, identifier).await
    }

    async fn instance(&self, identifier: &str) -> Result<DbInstance, Error> {
        describe_instance(&self.rds, OP, identifier).await
    }
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_names_follow_the_convention() {
        assert_eq!(
            endpoint_parameter("prod", "tenant-1"),
            "/bbws/prod/tenants/tenant-1/database-endpoint"
        );
    }
}
