//! One operation per tenant at a time: the lease a restore (a clone on its target), a drill
//! (on its source tenant), a content sync and a media ingest take before they change
//! anything of the tenant's, and give back when they end, whatever way they end.
//!
//! The lease is one item of the catalog table (`pk` `lease#<region>#<tenant>`, `sk`
//! `lease`), taken by a conditional write: free, expired, or already this holder's. A
//! second operation is refused [`ErrorKind::TenantBusy`] with the holder named, and has
//! changed nothing. The region is in the key because the table is a global table and each
//! region's operations work on that region's resources: a DR restore during an outage is not
//! held up by a lease the primary region can no longer give back (a conditional write is
//! checked in the region it is made in, replicas are last-writer-wins).
//!
//! A restore that ends RestoreTimeout keeps its lease, marked timed out, with its request's
//! key, its generation and the AWS jobs it started (they keep running): a rerun of the same
//! request takes the lease over and adopts those jobs; any other operation is TenantBusy
//! until the lease expires.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use crate::catalog::Catalog;
use crate::clock::{rfc3339, Clock};
use crate::error::{Error, ErrorKind, Operation};
use crate::tenant_id::TenantId;

/// How long a lease item stays in the table after it expired (the table's TTL removes it):
/// long enough to name the last holder in a TenantBusy that raced its expiry.
const KEPT_AFTER_EXPIRY_SECONDS: i64 = 86_400;

/// The tenant lease, in the catalog's table.
#[derive(Clone, Debug)]
pub struct Leases {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub table: String,
    /// The region the operations run in (part of the key: see the module's page).
    pub region: String,
    pub clock: Clock,
}

/// Who asks for the lease, and for what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim<'a> {
    pub tenant: &'a TenantId,
    /// The execution ARN (or a function's request id) that holds it.
    pub holder: &'a str,
    /// What the holder does: `restore`, `drill`, `sync`, `media ingest`.
    pub operation: &'a str,
    /// How long the lease lasts unless given back: the operation's own timeouts.
    pub seconds: i64,
    /// A restore's request key and generation (its first execution): a rerun of the same
    /// request takes over a timed-out lease of the same generation. Empty for others.
    pub request_key: &'a str,
    pub generation: &'a str,
}

/// The lease as the table holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lease {
    pub holder: String,
    pub operation: String,
    pub since: i64,
    pub until: i64,
    pub request_key: String,
    pub generation: String,
    pub timed_out: bool,
    /// The AWS jobs the holder started (JSON, as the holder wrote it), if any.
    pub jobs: Option<String>,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn is_condition_failed<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    matches!(error, SdkError::ServiceError(_))
        && error.code() == Some("ConditionalCheckFailedException")
}

impl Lease {
    fn from_item(item: &HashMap<String, AttributeValue>) -> Self {
        let text = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let number = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or_default()
        };
        Lease {
            holder: text("holder"),
            operation: text("operation"),
            since: number("since"),
            until: number("leaseUntil"),
            request_key: text("requestKey"),
            generation: text("generation"),
            timed_out: item
                .get("timedOut")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
            jobs: item.get("jobs").and_then(|v| v.as_s().ok()).cloned(),
        }
    }

    /// The refusal a second operation gets: who holds the tenant, and until when.
    pub fn busy(&self, tenant: &TenantId) -> Error {
        let state = if self.timed_out {
            " (it timed out with its AWS jobs still running: rerun the same restore to adopt \
             them)"
        } else {
            ""
        };
        Error::new(
            ErrorKind::TenantBusy,
            format!(
                "tenant {tenant} is busy: {} {} holds it since {} until {}{state}; wait for it \
                 to end, or look at that execution",
                self.operation,
                self.holder,
                rfc3339(self.since),
                rfc3339(self.until),
            ),
        )
    }
}

impl Leases {
    /// The leases in the catalog's table, for operations in `region`.
    pub fn new(catalog: &Catalog, region: Option<&str>) -> Self {
        Self {
            dynamodb: catalog.dynamodb.clone(),
            table: catalog.table.clone(),
            region: region.unwrap_or("local").to_owned(),
            clock: Clock::System,
        }
    }

    fn key(&self, tenant: &TenantId) -> String {
        format!("lease#{}#{tenant}", self.region)
    }

    /// The tenant's lease, if the table holds one (expired or not).
    pub async fn read(&self, op: Operation, tenant: &TenantId) -> Result<Option<Lease>, Error> {
        let out = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key("pk", s(self.key(tenant)))
            .key("sk", s("lease"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| op.aws(&format!("reading tenant {tenant}'s lease"), e))?;
        Ok(out.item().map(Lease::from_item))
    }

    /// Takes the tenant's lease for `claim`: when it is free, expired, already the claim's
    /// holder's (a retried step renews it), or a timed-out restore of the same request and
    /// generation (taken over, its jobs kept). Anything else is TenantBusy, nothing changed.
    pub async fn acquire(&self, op: Operation, claim: &Claim<'_>) -> Result<Lease, Error> {
        let now = self.clock.now();
        let until = now + claim.seconds.max(60);
        let written = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key("pk", s(self.key(claim.tenant)))
            .key("sk", s("lease"))
            .update_expression(
                "SET holder = :me, #op = :op, leaseUntil = :until, requestKey = :key, \
                 generation = :gen, tenantId = :tenant, expiresAt = :gone, \
                 since = if_not_exists(since, :now) REMOVE timedOut",
            )
            .condition_expression(
                "attribute_not_exists(pk) OR holder = :me OR leaseUntil < :now \
                 OR (timedOut = :yes AND requestKey = :key AND generation = :gen)",
            )
            .expression_attribute_names("#op", "operation")
            .expression_attribute_values(":me", s(claim.holder))
            .expression_attribute_values(":op", s(claim.operation))
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":key", s(claim.request_key))
            .expression_attribute_values(":gen", s(claim.generation))
            .expression_attribute_values(":tenant", s(claim.tenant.as_str()))
            .expression_attribute_values(":gone", n(until + KEPT_AFTER_EXPIRY_SECONDS))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match written {
            Ok(out) => {
                let mut lease = out.attributes().map(Lease::from_item).unwrap_or_default();
                if lease.holder != claim.holder || lease.since > now {
                    lease.since = now;
                }
                Ok(lease)
            }
            Err(e) if is_condition_failed(&e) => Err(self.refusal(op, claim.tenant).await),
            Err(e) => Err(op.aws(&format!("taking tenant {}'s lease", claim.tenant), e)),
        }
    }

    /// TenantBusy naming whoever holds the tenant now.
    async fn refusal(&self, op: Operation, tenant: &TenantId) -> Error {
        match self.read(op, tenant).await {
            Ok(Some(lease)) => lease.busy(tenant),
            Ok(None) => Error::new(
                ErrorKind::TenantBusy,
                format!("tenant {tenant} was busy: another operation held its lease; try again"),
            ),
            Err(e) => e,
        }
    }

    /// Checks that `holder` still holds the tenant and renews it for `seconds`: a step that
    /// runs inside an operation (promotion inside a restore) takes nothing twice. A lease lost
    /// (expired and taken by another) is TenantBusy.
    pub async fn renew(
        &self,
        op: Operation,
        tenant: &TenantId,
        holder: &str,
        seconds: i64,
    ) -> Result<(), Error> {
        let until = self.clock.now() + seconds.max(60);
        self.update_held(
            op,
            tenant,
            holder,
            "SET leaseUntil = :until, expiresAt = :gone",
            vec![
                (":until", n(until)),
                (":gone", n(until + KEPT_AFTER_EXPIRY_SECONDS)),
            ],
            "renewing",
        )
        .await
    }

    /// Notes the AWS jobs `holder` started, so that a rerun after a timeout adopts them.
    pub async fn record_jobs(
        &self,
        op: Operation,
        tenant: &TenantId,
        holder: &str,
        jobs: &str,
    ) -> Result<(), Error> {
        self.update_held(
            op,
            tenant,
            holder,
            "SET jobs = :jobs",
            vec![(":jobs", s(jobs))],
            "noting the jobs in",
        )
        .await
    }

    /// Keeps `holder`'s lease past its operation's timeout, marked so that a rerun of the
    /// same request takes it over. Not held (any more): nothing to keep.
    pub async fn keep_timed_out(
        &self,
        op: Operation,
        tenant: &TenantId,
        holder: &str,
    ) -> Result<bool, Error> {
        match self
            .update_held(
                op,
                tenant,
                holder,
                "SET timedOut = :yes",
                vec![(":yes", AttributeValue::Bool(true))],
                "keeping",
            )
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::TenantBusy => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn update_held(
        &self,
        op: Operation,
        tenant: &TenantId,
        holder: &str,
        update: &str,
        values: Vec<(&str, AttributeValue)>,
        doing: &str,
    ) -> Result<(), Error> {
        let mut request = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key("pk", s(self.key(tenant)))
            .key("sk", s("lease"))
            .update_expression(update)
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", s(holder));
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failed(&e) => Err(self.refusal(op, tenant).await),
            Err(e) => Err(op.aws(&format!("{doing} tenant {tenant}'s lease"), e)),
        }
    }

    /// Gives the tenant back: only `holder`'s own lease is deleted, so a retried release, or
    /// one by an operation that never got the lease, changes nothing. Returns whether it
    /// deleted one.
    pub async fn release(
        &self,
        op: Operation,
        tenant: &TenantId,
        holder: &str,
    ) -> Result<bool, Error> {
        let deleted = self
            .dynamodb
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(self.key(tenant)))
            .key("sk", s("lease"))
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", s(holder))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(op.aws(&format!("giving back tenant {tenant}'s lease"), e)),
        }
    }
}
