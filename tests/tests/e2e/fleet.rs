//! The fleet backup: every tenant backed up, sharing one file-system job.

use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::{json, Value};

use crate::stack::{unique, Stack};

#[tokio::test]
async fn a_fleet_backup_costs_one_file_system_job_and_one_job_per_database() {
    let stack = Stack::new().await;
    for tenant in ["e2e-fleet-1", "e2e-fleet-2", "e2e-fleet-3"] {
        stack.seed_tenant(tenant);
    }
    let fs = stack.file_system_arn();
    let fs_jobs_before = stack.jobs_on(&fs).await.len();
    // Long enough for every tenant's plan to find the shared job still running.
    stack.slow_jobs(6).await;
    let done = stack
        .run_execution(
            "fleet-backup",
            &unique("fleet"),
            &json!({"pollSeconds": 1, "maxPollSeconds": 2, "copyToDr": false, "maxConcurrency": 10}),
        )
        .await;
    stack.slow_jobs(0).await;
    assert_eq!(
        done.status(),
        &ExecutionStatus::Succeeded,
        "{:?} {:?}",
        done.error(),
        done.cause()
    );
    let out: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    let tenants = out["tenants"].as_array().unwrap();
    for t in ["e2e-fleet-1", "e2e-fleet-2", "e2e-fleet-3"] {
        assert!(tenants.contains(&json!(t)), "{t} is in the fleet");
    }
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), tenants.len());
    assert!(
        results.iter().all(|r| r["status"] == "SUCCEEDED"),
        "{results:?}"
    );

    // One job on the shared file system, which every tenant joined or started.
    assert_eq!(
        stack.jobs_on(&fs).await.len(),
        fs_jobs_before + 1,
        "one file-system job"
    );
    let shared = out["sharedFileSystemJob"]["jobId"].as_str().unwrap();
    for r in results {
        let efs: Vec<&Value> = r["recoveryPoints"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["resource"] == "efs")
            .collect();
        assert_eq!(efs.len(), 1);
        assert_eq!(efs[0]["jobId"], shared, "{r}");
    }
    // One database job per fleet tenant with a database.
    for t in ["e2e-fleet-1", "e2e-fleet-2", "e2e-fleet-3"] {
        let db = format!("arn:aws:rds:us-east-1:123456789012:db:{t}");
        assert_eq!(stack.jobs_on(&db).await.len(), 1, "{t}");
    }
    // Each tenant's outcome is announced.
    let completed: Vec<Value> = stack
        .drain_events()
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "TenantBackupCompleted")
        .collect();
    assert_eq!(completed.len(), tenants.len());
    for t in ["e2e-fleet-1", "e2e-fleet-2", "e2e-fleet-3"] {
        assert!(
            completed.iter().any(|e| e["detail"]["tenantId"] == t),
            "{t}"
        );
    }
}

#[tokio::test]
async fn a_fleet_run_in_which_a_tenant_failed_fails_naming_it() {
    let stack = Stack::new().await;
    let busy = stack.seed_tenant("e2e-fleet-busy");
    // A job already running on the tenant's database: its backup is BackupAlreadyRunning.
    stack.slow_jobs(40).await;
    stack
        .start_job_directly(&busy.database_arn, "e2e-fleet-busy")
        .await;
    stack.slow_jobs(0).await;
    let done = stack
        .run_execution(
            "fleet-backup",
            &unique("fleet-failed"),
            &json!({"pollSeconds": 1, "maxPollSeconds": 2, "copyToDr": false, "maxConcurrency": 40}),
        )
        .await;
    assert_eq!(
        done.status(),
        &ExecutionStatus::Failed,
        "{:?}",
        done.output()
    );
    assert_eq!(done.error(), Some("BackupFailed"));
    let cause = done.cause().unwrap_or_default();
    assert!(cause.contains("\"e2e-fleet-busy\""), "{cause}");
    assert!(
        !cause.contains("\"e2e-fleet-1\""),
        "only the failed tenants: {cause}"
    );
}
