//! The admin API under `/_local/`, for tests and scripts on this machine (JSON):
//!
//! * `GET /_local/health` → 200 `{"status": "ok"}`;
//! * `GET /_local/state` → every vault, job (kind, state, idempotency token, planned
//!   outcome) and recovery point of the AWS Backup stand-in, with the faults pending;
//! * `POST /_local/faults` with one of
//!   `{"fault": "fail-next-job", "message": "...", "kind": "backup"|"copy"|"restore",
//!   "resourceArn": "..."}` (kind and resource optional: any),
//!   `{"fault": "expire-next-job", "message": "..."}` (backup jobs only),
//!   `{"fault": "slow-jobs", "seconds": N}` (0 resets),
//!   `{"fault": "throttle", "operation": "StartBackupJob", "count": N}`,
//!   `{"fault": "lose-response", "operation": "StartCopyJob"|"CreateAccessPoint"|"StartExecution"|..., "count": N}`
//!   (the call is carried out, then its answer lost with the connection)
//!   → 200 with the faults pending, 400 `{"error": ...}` for a bad one;
//! * `GET /_local/faults` shows them, `DELETE /_local/faults` clears them all;
//! * `POST /_local/recovery-points` `{"vault", "resourceArn", "count", "everySeconds",
//!   "newestSecondsAgo"}` fills a vault with an hourly plan's worth of recovery points;
//!   `DELETE /_local/recovery-points` removes those again;
//! * `POST /_local/plan-run` with `{"plan": "efs" | "database" | "all"}` (or no body: all)
//!   runs the template's hourly backup plans now → 200 `{"jobs": [{"plan", "backupJobId",
//!   "resourceArn"}]}`, the backup jobs started; each is copied to the DR vault once it
//!   completes.

use hyper::{Method, StatusCode};
use serde_json::json;

use crate::backup::{FaultRequest, Service};
use crate::web::{self, Reply};

/// `rest` is the path after `/_local/`.
pub async fn handle(backup: &Service, method: &Method, rest: &str, body: &[u8]) -> Reply {
    match (method, rest.trim_end_matches('/')) {
        (&Method::GET, "health") => web::json(StatusCode::OK, &json!({"status": "ok"})),
        (&Method::GET, "state") => web::json(StatusCode::OK, &backup.state_dump()),
        (&Method::GET, "faults") => web::json(StatusCode::OK, &backup.faults_dump()),
        (&Method::POST, "faults") => match serde_json::from_slice::<FaultRequest>(body) {
            Ok(request) => match backup.add_fault(request) {
                Ok(()) => web::json(StatusCode::OK, &backup.faults_dump()),
                Err(message) => refused(&message),
            },
            Err(e) => refused(&format!(
                "not a fault ({e}); expected {{\"fault\": \"fail-next-job\" | \
                 \"expire-next-job\" | \"slow-jobs\" | \"throttle\" | \"lose-response\", ...}}"
            )),
        },
        (&Method::POST, "recovery-points") => match backup.fill(body) {
            Ok(done) => web::json(StatusCode::OK, &done),
            Err(message) => refused(&message),
        },
        (&Method::DELETE, "recovery-points") => web::json(StatusCode::OK, &backup.unfill()),
        (&Method::POST, "plan-run") => match backup.run_plans(body).await {
            Ok(started) => web::json(StatusCode::OK, &started),
            Err(message) => refused(&message),
        },
        (&Method::DELETE, "faults") => {
            backup.clear_faults();
            web::json(StatusCode::OK, &backup.faults_dump())
        }
        _ => web::json(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no admin route {method} /_local/{rest}")}),
        ),
    }
}

fn refused(message: &str) -> Reply {
    web::json(StatusCode::BAD_REQUEST, &json!({"error": message}))
}
