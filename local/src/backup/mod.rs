//! A stand-in for the AWS Backup operations no emulator implements, speaking AWS Backup's
//! REST-JSON protocol so the unmodified `aws-sdk-backup` client works against it.
//!
//! State is in memory; EFS recovery points are real snapshots of `<efs-root>/<fs-id>/` under
//! `<state-dir>/recovery-points/`. Jobs move through their states in background tasks. A
//! database restore creates its DB instance or Aurora cluster in moto.

mod api;
pub mod database;
mod error;
mod events;
mod faults;
mod files;
mod inventory;
mod model;
mod operations;
mod plan_run;
mod plans;
mod query;
mod quotas;
mod rds;
mod routes;
mod runner;
mod source_tags;
mod store;
mod views;

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Response, StatusCode};
use serde_json::{json, Value};

pub use error::ApiError;
pub use faults::{FaultRequest, EXPIRED_MESSAGE};
pub use operations::OPERATIONS;
pub use store::RUNNING_JOB_MESSAGE;

use crate::config::Config;
use crate::web::{self, Reply};
use store::{Settings, Store};

/// The SigV4 signing name of AWS Backup requests.
pub const SIGNING_NAME: &str = "backup";

pub struct Service {
    store: Arc<Store>,
    /// What the plans select, in moto.
    inventory: inventory::Inventory,
}

impl Service {
    pub fn new(config: &Config) -> std::io::Result<Arc<Self>> {
        std::fs::create_dir_all(config.state_dir.join("recovery-points"))?;
        std::fs::create_dir_all(&config.efs_root)?;
        let databases = config
            .db_admin_cnf
            .as_deref()
            .map(database::Databases::from_cnf)
            .transpose()
            .map_err(std::io::Error::other)?;
        Ok(Arc::new(Service {
            store: Arc::new(Store::new(Settings {
                state_dir: config.state_dir.clone(),
                efs_root: config.efs_root.clone(),
                durations: config.durations,
                rds: rds::Rds::new(&config.moto)?.with_port(databases.as_ref().map(|d| d.port)),
                databases,
                source_tags: source_tags::SourceTags::new(&config.moto)?,
                events: events::Events::new(config.backup_events.then_some(config.moto.as_str()))?,
                copy_quota: config.copy_quota,
            })),
            inventory: inventory::Inventory::new(&config.moto)?,
        }))
    }

    /// Serves one AWS Backup request signed for `region`.
    pub fn handle(
        &self,
        region: &str,
        method: &Method,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Reply {
        let mut reply = match routes::dispatch(&self.store, region, method, path, query, body) {
            Ok(value) => {
                let mut r = Response::new(Full::new(Bytes::from(routes::body_of(&value))));
                *r.status_mut() = StatusCode::OK;
                web::set_header(&mut r, "content-type", "application/json");
                r
            }
            Err(e) => {
                tracing::debug!(code = e.code, message = %e.message, "backup request refused");
                e.into_reply()
            }
        };
        web::set_header(&mut reply, "x-amzn-requestid", &crate::ids::uuid());
        reply
    }

    /// The tags of the database recovery point `arn` (an RDS snapshot AWS Backup made), if
    /// the stand-in holds it.
    pub fn snapshot_tags(&self, arn: &str) -> Option<std::collections::BTreeMap<String, String>> {
        api::tags::snapshot_tags(&self.store, arn)
    }

    /// The AWS name of the operation `method path` calls, if it is one served.
    pub fn operation_name(method: &Method, path: &str) -> Option<&'static str> {
        routes::route(method, path).map(|call| call.operation.name())
    }

    /// Every vault, job (with its state and idempotency token) and recovery point.
    pub fn state_dump(&self) -> Value {
        self.store
            .with(|s| serde_json::to_value(&*s).unwrap_or_else(|e| json!({"error": e.to_string()})))
    }

    pub fn faults_dump(&self) -> Value {
        self.store
            .with(|s| serde_json::to_value(&s.faults).unwrap_or_default())
    }

    pub fn add_fault(&self, request: FaultRequest) -> Result<(), String> {
        self.store.with(|s| s.faults.add(request))
    }

    /// Fills a vault with recovery points (`POST /_local/recovery-points`).
    pub fn fill(&self, body: &[u8]) -> Result<Value, String> {
        api::recovery_points::fill(&self.store, body).map_err(|e| e.message)
    }

    /// Runs the template's backup plans now (`POST /_local/plan-run`).
    pub async fn run_plans(&self, body: &[u8]) -> Result<Value, String> {
        plan_run::run(&self.store, &self.inventory, body).await
    }

    /// Removes the recovery points [`Service::fill`] made.
    pub fn unfill(&self) -> Value {
        api::recovery_points::unfill(&self.store)
    }

    /// Whether the answer to this call of `operation` is to be lost (`lose-response`).
    pub fn take_lost_response(&self, operation: &str) -> bool {
        self.store.with(|s| s.faults.take_lost_response(operation))
    }

    pub fn clear_faults(&self) {
        self.store.with(|s| s.faults = Default::default());
    }
}
