//! The platform's tenant lifecycle events (source `bbws.tenants`): `TenantCreated` and
//! `TenantDeleted`, read strictly before anything is asked of AWS.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::{database_kind, service_target};
use crate::error::{Error, ErrorKind};
use crate::events::TENANTS_SOURCE;
use crate::tenant_id::TenantId;

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TenantDetail {
    pub tenant_id: String,
    /// The tenant's database and service, when the platform names them: onboarding tags them
    /// `bbws:tenant-id`, which the hourly database plan and tenant resolution select on.
    #[serde(default)]
    pub database_arn: Option<String>,
    #[serde(default)]
    pub service_arn: Option<String>,
    /// Onboard the tenant over files already in its directory (a tenant moved in, or one
    /// re-onboarded on purpose); without it such files are refused as another's leftovers.
    #[serde(default)]
    pub adopt: bool,
}

/// A validated tenant lifecycle event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantEvent {
    pub tenant: TenantId,
    /// Resources to tag for the tenant (database, service), checked to be of the right kind.
    pub resources: Vec<String>,
    /// The files already in the tenant's directory are its own (`adopt` in the detail).
    pub adopt: bool,
}

/// Reads a tenant lifecycle event: the right source and type, a strict tenant id, and
/// resource ARNs of the right kinds.
pub fn parse_event(event: Value, expected_type: &str) -> Result<TenantEvent, Error> {
    let event: EventBridgeEvent<TenantDetail> = serde_json::from_value(event).map_err(|e| {
        Error::new(
            ErrorKind::InvalidTenant,
            format!("the {expected_type} event is not valid: {e}"),
        )
    })?;
    if event.source != TENANTS_SOURCE || event.detail_type != expected_type {
        return Err(Error::new(
            ErrorKind::InvalidTenant,
            format!(
                "expected a {expected_type} event from {TENANTS_SOURCE}, got {:?} from {:?}",
                event.detail_type, event.source
            ),
        ));
    }
    let tenant = TenantId::parse(&event.detail.tenant_id)?;
    let mut resources = Vec::new();
    if let Some(arn) = event.detail.database_arn {
        if database_kind(&arn).is_none() {
            return Err(Error::new(
                ErrorKind::InvalidTenant,
                format!("databaseArn {arn:?} is not an RDS instance or Aurora cluster ARN"),
            ));
        }
        resources.push(arn);
    }
    if let Some(arn) = event.detail.service_arn {
        if service_target(&arn).is_none() {
            return Err(Error::new(
                ErrorKind::InvalidTenant,
                format!("serviceArn {arn:?} is not an ECS service ARN"),
            ));
        }
        resources.push(arn);
    }
    Ok(TenantEvent {
        tenant,
        resources,
        adopt: event.detail.adopt,
    })
}
