//! `list-tenants`, a fleet backup's first step: every tenant (the ids on access points
//! tagged `bbws:tenant-id`, sorted) and the options each tenant's backup gets, defaults
//! filled in.

use aws_config::SdkConfig;
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde_json::Value;

use crate::config::{Config, ConfigError};
use crate::error::{Error, Operation};
use crate::runtime::{parse, Service};
use crate::tenants::list::list_tenants;

/// How many tenants' backups run at once when the request does not say.
const DEFAULT_MAX_CONCURRENCY: u64 = 5;

pub struct Fleet {
    pub config: Config,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
}

impl Service for Fleet {
    fn build(
        sdk: &SdkConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            config: Config::from_lookup(lookup)?,
            tagging: aws_sdk_resourcegroupstagging::Client::new(sdk),
        })
    }
}

/// The `list-tenants` handler.
pub async fn handler(event: LambdaEvent<Value>, fleet: &Fleet) -> Result<Value, Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct FleetRequest {
        poll_seconds: Option<u64>,
        max_poll_seconds: Option<u64>,
        copy_to_dr: Option<bool>,
        max_concurrency: Option<u64>,
    }
    let request: FleetRequest = parse(Operation::Backup, "fleet backup", event.payload)?;
    let tenants = list_tenants(&fleet.tagging).await?;
    let polling = fleet
        .config
        .polling
        .overridden(request.poll_seconds, request.max_poll_seconds);
    Ok(serde_json::json!({
        "count": tenants.len(),
        "tenants": tenants,
        "pollSeconds": polling.initial_seconds,
        "maxPollSeconds": polling.max_seconds,
        "copyToDr": request.copy_to_dr.unwrap_or(true),
        "maxConcurrency": request.max_concurrency.unwrap_or(DEFAULT_MAX_CONCURRENCY).max(1),
    }))
}
