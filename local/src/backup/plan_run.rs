//! `POST /_local/plan-run`: the template's hourly plans run now, as AWS Backup runs them on
//! their schedule. Each plan's selection is looked up in moto; each resource it picks gets a
//! backup job with the rule's vault, lifecycle, tags and start window, started by the plan
//! (`CreatedBy`); each job that completes is copied as the rule's copy actions say, the copy
//! started by the plan too and naming the backup job (`CreatedByBackupJobId`). The jobs are
//! ordinary jobs: they move through their states, take faults, and send their events.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::api::backup_jobs::{start_backup, BackupRequest};
use super::api::copy_jobs::{start_copy, CopyRequest};
use super::inventory::Inventory;
use super::model::{JobState, Resource};
use super::plans::{Plan, IAM_ROLE_ARN, REGION};
use super::store::Store;

/// How often a plan looks whether its backup job has ended, to copy it.
const WATCH_EVERY: Duration = Duration::from_millis(100);

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunRequest {
    /// `efs`, `database` or `all` (the default).
    plan: Option<String>,
    /// The database rule's `EnableContinuousBackup` as a deployment set it: the template's
    /// parameter default when absent.
    #[serde(rename = "continuousBackup")]
    continuous_backup: Option<bool>,
}

/// Starts the plans' jobs; answers `{"jobs": [{"plan", "backupJobId", "resourceArn"}]}`.
pub async fn run(store: &Arc<Store>, inventory: &Inventory, body: &[u8]) -> Result<Value, String> {
    let request: RunRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RunRequest::default()
    } else {
        serde_json::from_slice(body).map_err(|e| {
            format!("not a plan run ({e}); expected {{\"plan\": \"efs\" | \"database\" | \"all\", \"continuousBackup\": true | false}}")
        })?
    };
    let which = request.plan.as_deref().unwrap_or("all");
    let plans = Plan::named(which)
        .ok_or_else(|| format!("no plan {which:?}: one of \"efs\", \"database\", \"all\""))?;
    let mut started = Vec::new();
    for plan in plans {
        // A rule past the quota never exists in AWS (CreateBackupPlan refuses it), so it
        // never runs here either.
        super::quotas::check_rule_tags(plan.rule_name, plan.recovery_point_tags.len())
            .map_err(|e| format!("{}: {}", plan.logical_id, e.message))?;
        let picked = inventory.select(&plan.selection, REGION).await?;
        tracing::info!(plan = plan.logical_id, resources = picked.len(), "plan run");
        for arn in picked {
            let resource = Resource::parse(&arn).map_err(|e| e.message)?;
            let job = start_backup(
                store,
                REGION,
                BackupRequest {
                    vault_name: plan.target_vault.to_owned(),
                    resource,
                    iam_role_arn: IAM_ROLE_ARN.to_owned(),
                    idempotency_token: None,
                    start_window_minutes: Some(plan.start_window_minutes),
                    lifecycle: Some(plan.lifecycle()),
                    recovery_point_tags: plan
                        .recovery_point_tags
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                    backup_options: None,
                    created_by: Some(plan.creator()),
                    continuous: plan.continuous_backup && request.continuous_backup.unwrap_or(true),
                },
            )
            .map_err(|e| format!("{}: {}", arn, e.message))?;
            tokio::spawn(copy_when_completed(store.clone(), plan, job.id.clone()));
            started.push(json!({"plan": plan.key, "backupJobId": job.id, "resourceArn": arn}));
        }
    }
    Ok(json!({"jobs": started}))
}

/// Once backup job `id` has ended, starts the plan's copies of its recovery point if it
/// completed.
async fn copy_when_completed(store: Arc<Store>, plan: &'static Plan, id: String) {
    let job = loop {
        match store.with(|s| s.jobs.get(&id).cloned()) {
            Some(job) if !job.state.is_active() => break job,
            Some(_) => tokio::time::sleep(WATCH_EVERY).await,
            None => return,
        }
    };
    let (JobState::Completed, Some(rp)) = (job.state, job.recovery_point_arn.clone()) else {
        return;
    };
    for action in plan.copy_actions {
        let copy = start_copy(
            &store,
            &job.region,
            CopyRequest {
                recovery_point_arn: rp.clone(),
                source_vault_name: job.vault_name.clone(),
                destination_vault_arn: action.destination_vault_arn.to_owned(),
                iam_role_arn: IAM_ROLE_ARN.to_owned(),
                idempotency_token: None,
                lifecycle: Some(action.lifecycle()),
                created_by: job.created_by.clone(),
                created_by_backup_job_id: Some(job.id.clone()),
            },
        );
        if let Err(e) = copy {
            tracing::warn!(backup_job = %job.id, error = %e.message, "the plan's copy did not start");
        }
    }
}
