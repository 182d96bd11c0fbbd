//! `force-redeploy`: restarting a tenant's service after a restore with a forced new
//! deployment, which the state machine then waits on (poll-job) until the service is stable.

use aws_config::SdkConfig;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::{ResourceKind, ServiceTarget};
use crate::config::{ConfigError, Polling};
use crate::error::{Error, Operation};
use crate::jobs::{Clock, Job, JobKind, JobSet, JobState};
use crate::runtime::{encode, parse, Service};

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

pub struct Redeployer {
    pub ecs: aws_sdk_ecs::Client,
    pub clock: Clock,
}

impl Service for Redeployer {
    fn build(sdk: &SdkConfig, _: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            ecs: aws_sdk_ecs::Client::new(sdk),
            clock: Clock::System,
        })
    }
}

/// The `force-redeploy` handler.
pub async fn handler(event: LambdaEvent<Value>, redeployer: &Redeployer) -> Result<Value, Error> {
    let input: RedeployInput = parse(OP, "force-redeploy", event.payload)?;
    encode(
        OP,
        &force_redeploy(&redeployer.ecs, redeployer.clock, &input).await?,
    )
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
    let job = Job::new(
        JobKind::Deployment,
        ResourceKind::EcsService,
        &service.arn,
        deployment,
        JobState::Running,
        clock.now(),
        input.timeout_seconds,
    );
    Ok(JobSet::new(
        OP,
        &input.tenant_id,
        &input.backup_id,
        vec![job],
        input.polling,
    ))
}
