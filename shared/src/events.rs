//! Events the product puts on EventBridge for other systems: source `bbws.content`.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::Value;

use crate::error::{Error, Operation};

/// The `source` of every event the product emits.
pub const SOURCE: &str = "bbws.content";
/// The `source` of the platform's tenant lifecycle events the product consumes.
pub const TENANTS_SOURCE: &str = "bbws.tenants";

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
        _ => Err(Error::Transient(format!(
            "EventBridge did not accept the {detail_type} event: {}",
            entry
                .and_then(|e| e.error_message())
                .unwrap_or("no reason given")
        ))),
    }
}
