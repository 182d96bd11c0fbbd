//! Events the product puts on EventBridge for other systems (source `bbws.content`), and
//! `publish-outcome`: a backup's or restore's outcome as `Tenant{Backup,Restore}{Completed,
//! Failed}`, a content sync's as `TenantContentSynced` or `TenantContentSyncFailed`.

#[cfg(feature = "sdk-eventbridge")]
pub use publish::{handler, put, Publisher};

/// The `source` of every event the product emits.
pub const SOURCE: &str = "bbws.content";
/// The `source` of the platform's tenant lifecycle events the product consumes.
pub const TENANTS_SOURCE: &str = "bbws.tenants";

/// The detail-type of an operation's outcome event.
pub fn outcome_detail_type(operation: crate::error::Operation, succeeded: bool) -> &'static str {
    use crate::error::Operation;
    match (operation, succeeded) {
        (Operation::Backup, true) => "TenantBackupCompleted",
        (Operation::Backup, false) => "TenantBackupFailed",
        (Operation::Restore, true) => "TenantRestoreCompleted",
        (Operation::Restore, false) => "TenantRestoreFailed",
        (Operation::Sync, true) => "TenantContentSynced",
        (Operation::Sync, false) => "TenantContentSyncFailed",
    }
}

#[cfg(feature = "sdk-eventbridge")]
mod publish {
    use aws_config::SdkConfig;
    use aws_sdk_eventbridge::types::PutEventsRequestEntry;
    use lambda_runtime::LambdaEvent;
    use serde::Deserialize;
    use serde_json::Value;

    use super::{outcome_detail_type, SOURCE};
    use crate::config::{Config, ConfigError};
    use crate::error::{Error, ErrorKind, Operation};
    use crate::runtime::{parse, Service};

    pub struct Publisher {
        pub config: Config,
        pub events: aws_sdk_eventbridge::Client,
    }

    impl Service for Publisher {
        fn build(
            sdk: &SdkConfig,
            lookup: &dyn Fn(&str) -> Option<String>,
        ) -> Result<Self, ConfigError> {
            Ok(Self {
                config: Config::from_lookup(lookup)?,
                events: aws_sdk_eventbridge::Client::new(sdk),
            })
        }
    }

    /// The `publish-outcome` handler.
    pub async fn handler(event: LambdaEvent<Value>, publisher: &Publisher) -> Result<Value, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Input {
            operation: Operation,
            succeeded: bool,
            detail: Value,
        }
        let input: Input = parse(Operation::Backup, "publish-outcome", event.payload)?;
        let detail_type = outcome_detail_type(input.operation, input.succeeded);
        let id = put(
            &publisher.events,
            input.operation,
            &publisher.config.event_bus_name,
            detail_type,
            &input.detail,
        )
        .await?;
        Ok(serde_json::json!({ "detailType": detail_type, "eventId": id }))
    }

    /// Puts one event with `detail` on `bus`; a rejected entry is an error, not a silent loss.
    pub async fn put(
        client: &aws_sdk_eventbridge::Client,
        op: Operation,
        bus: &str,
        detail_type: &str,
        detail: &Value,
    ) -> Result<String, Error> {
        let out = client
            .put_events()
            .entries(
                PutEventsRequestEntry::builder()
                    .event_bus_name(bus)
                    .source(SOURCE)
                    .detail_type(detail_type)
                    .detail(detail.to_string())
                    .build(),
            )
            .send()
            .await
            .map_err(|e| op.aws(&format!("putting a {detail_type} event"), e))?;
        let entry = out.entries().first();
        match entry.and_then(|e| e.event_id()) {
            Some(id) if out.failed_entry_count() == 0 => Ok(id.to_owned()),
            _ => Err(Error::new(
                ErrorKind::Transient,
                format!(
                    "EventBridge did not accept the {detail_type} event: {}",
                    entry
                        .and_then(|e| e.error_message())
                        .unwrap_or("no reason given")
                ),
            )),
        }
    }
}
