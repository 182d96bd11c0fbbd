//! Restarting a tenant's service after a restore: a forced new deployment, which the state
//! machine then waits on (poll-job) until the service is stable.

use serde::{Deserialize, Serialize};

use crate::config::Polling;
use crate::error::{Error, Operation};
use crate::model::{Clock, Job, JobKind, JobSet, ResourceKind};
use crate::resolve::ServiceTarget;

const OP: Operation = Operation::Restore;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedeployInput {
    pub tenant_id: String,
    pub backup_id: String,
    pub service: ServiceTarget,
    pub timeout_seconds: u64,
    pub polling: Polling,
}

pub async fn force_redeploy(
    ecs: &aws_sdk_ecs::Client,
    clock: Clock,
    input: &RedeployInput,
) -> Result<JobSet, Error> {
    let service = &input.service;
    let out = ecs
        .update_service()
        .cluster(&service.cluster)
        .service(&service.name)
        .force_new_deployment(true)
        .send()
        .await
        .map_err(|e| OP.aws(&format!("redeploying service {}", service.arn), e))?;
    let deployment = out
        .service()
        .and_then(|s| {
            s.deployments()
                .iter()
                .find(|d| d.status() == Some("PRIMARY"))
        })
        .and_then(|d| d.id())
        .ok_or_else(|| {
            OP.failed(format!(
                "ECS answered the redeploy of {} without a primary deployment",
                service.arn
            ))
        })?;
    tracing::info!(deployment, service = %service.arn, "service redeploying");
    let now = clock.now();
    Ok(JobSet {
        operation: OP,
        tenant_id: input.tenant_id.clone(),
        backup_id: input.backup_id.clone(),
        jobs: vec![Job {
            kind: JobKind::Deployment,
            resource: ResourceKind::EcsService,
            resource_arn: service.arn.clone(),
            job_id: deployment.to_owned(),
            recovery_point_arn: None,
            vault: String::new(),
            state: "RUNNING".into(),
            joined: false,
            deadline: now + input.timeout_seconds as i64,
            status_message: None,
            created_resource_arn: None,
            started_at: now,
        }],
        done: false,
        attempt: 0,
        wait_seconds: input.polling.initial_seconds,
        polling: input.polling,
    })
}
