//! Restore drills: a tenant's latest backup restored into a scratch tenant, checked against
//! the manifest its backup recorded, removed again, with the RTO measured; and a drill whose
//! restore fails raises the alert naming the tenant.

use serde_json::Value;

use crate::stack::{snapshot, tenant_created, Stack};

/// The restored databases a drill of `scratch` left in moto.
async fn drill_databases(stack: &Stack, scratch: &str) -> Vec<String> {
    let out = stack.rds.describe_db_instances().send().await.unwrap();
    let prefix = format!("r-{scratch}");
    out.db_instances()
        .iter()
        .filter_map(|d| d.db_instance_identifier())
        .filter(|id| id.starts_with(&prefix))
        .map(str::to_owned)
        .collect()
}

fn the_result(out: &Value) -> Value {
    let results = out["output"]["results"]
        .as_array()
        .unwrap_or_else(|| panic!("the run's results: {out}"));
    assert_eq!(results.len(), 1, "{out}");
    results[0].clone()
}

#[tokio::test]
async fn a_drill_restores_verifies_cleans_up_and_reports_an_rto() {
    let stack = Stack::new().await;
    let tenant = stack.onboarded_tenant("e2e-drill-a").await;
    let backup_id = stack.backed_up("e2e-drill-a", &[]);

    // The backup recorded its files' manifest when it started its file-system job.
    let items = stack.catalog_items().await;
    let manifest = items
        .iter()
        .find(|i| i.get("sk").and_then(|v| v.as_s().ok()) == Some(&format!("manifest#{backup_id}")))
        .unwrap_or_else(|| panic!("no manifest of {backup_id}"));
    let recorded = manifest["manifest"].as_m().unwrap();
    let files: u64 = recorded["files"].as_n().unwrap().parse().unwrap();
    assert!(files > 0, "{recorded:?}");

    let before = snapshot(&tenant.directory);
    let restore_dirs = |dir: &std::path::Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("aws-backup-restore_"))
            .collect();
        names.sort();
        names
    };
    let parent = tenant.directory.parent().unwrap().to_path_buf();
    let restore_dirs_before = restore_dirs(&parent);
    let (code, out) = stack.bbws(&["drill", "--tenant", "e2e-drill-a"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["output"]["failed"], 0, "{out}");
    let result = the_result(&out);
    assert_eq!(result["outcome"], "Completed", "{result}");
    assert_eq!(result["backupId"], backup_id.as_str(), "{result}");
    assert_eq!(result["manifestChecked"], true, "{result}");
    assert_eq!(result["files"], files, "{result}");
    let rto = result["rtoSeconds"].as_i64().expect("an RTO");
    assert!(rto >= 0, "{result}");
    println!("drill RTO on the local stack: {rto} s ({files} files)");
    let scratch = result["scratchTenantId"].as_str().unwrap().to_owned();
    assert!(scratch.starts_with("drill-e2e-drill-a-"), "{scratch}");

    // Nothing of the tenant's was touched, and nothing of the drill's is left.
    assert_eq!(snapshot(&tenant.directory), before, "the tenant's files");
    assert!(
        !parent.join(".bbws-scratch").join(&scratch).exists(),
        "the scratch directory is gone"
    );
    assert!(
        !parent
            .join(".bbws-kept/.bbws-scratch")
            .join(&scratch)
            .exists(),
        "and its kept-aside marker"
    );
    assert!(
        !parent.join(&scratch).exists(),
        "nothing in the tenants' namespace"
    );
    assert_eq!(
        restore_dirs(&parent),
        restore_dirs_before,
        "the restore job's own directory is gone"
    );
    assert_eq!(
        drill_databases(&stack, &scratch).await,
        Vec::<String>::new(),
        "the restored database is deleted"
    );

    // Reported: the metrics line, the event, and `bbws drills`.
    let metrics = &out["output"]["results"][0];
    assert_eq!(metrics["outcome"], "Completed");
    let events = stack.drain_events().await;
    assert!(
        events
            .iter()
            .any(|e| e["detail-type"] == "TenantRestoreDrillCompleted"
                && e["detail"]["tenantId"] == "e2e-drill-a"
                && e["detail"]["rtoSeconds"] == rto),
        "{events:?}"
    );
    let (code, drills) = stack.bbws(&["drills"]);
    assert_eq!(code, 0, "{drills}");
    let listed = drills
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["tenantId"] == "e2e-drill-a")
        .cloned()
        .unwrap_or_else(|| panic!("{drills}"));
    assert_eq!(listed["outcome"], "Completed");
    assert_eq!(listed["rtoSeconds"], rto);
}

#[tokio::test]
async fn a_drill_whose_restore_fails_raises_the_alert_and_names_the_tenant() {
    let stack = Stack::new().await;
    let tenant = stack.onboarded_tenant("e2e-drill-b").await;
    stack.backed_up("e2e-drill-b", &[]);
    let before = snapshot(&tenant.directory);
    stack
        .fail_next_job("restore", "Injected: the drill's restore failed.")
        .await;

    let (code, out) = stack.bbws(&["drill", "--tenant", "e2e-drill-b"]);
    assert_eq!(code, 57, "RestoreDrillFailed: {out}");
    stack.wait_for_jobs().await;
    assert_eq!(out["error"], "RestoreDrillFailed", "{out}");

    // The alert names the tenant; the event says why.
    let alerts = stack.drain_alerts().await;
    assert!(
        alerts
            .iter()
            .any(|a| a["alert"] == "A restore drill failed" && a["tenant"] == "e2e-drill-b"),
        "{alerts:?}"
    );
    let events = stack.drain_events().await;
    let failed = events
        .iter()
        .find(|e| e["detail-type"] == "TenantRestoreDrillFailed")
        .unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(failed["detail"]["tenantId"], "e2e-drill-b");
    let reasons = failed["detail"]["reasons"].to_string();
    assert!(reasons.contains("the restore failed"), "{reasons}");
    assert!(
        failed["detail"]["rtoSeconds"].is_null(),
        "no RTO for a failed drill"
    );

    // The tenant untouched, the scratch tenant cleaned up all the same.
    assert_eq!(snapshot(&tenant.directory), before);
    let scratch = failed["detail"]["scratchTenantId"].as_str().unwrap();
    assert!(!tenant.directory.parent().unwrap().join(scratch).exists());
    assert_eq!(drill_databases(&stack, scratch).await, Vec::<String>::new());
    let (_, drills) = stack.bbws(&["drills"]);
    assert!(
        drills
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["tenantId"] == "e2e-drill-b" && d["outcome"] == "Failed"),
        "{drills}"
    );
}

#[tokio::test]
async fn an_aurora_tenant_s_drill_removes_the_restored_cluster_and_its_writer() {
    let stack = Stack::new().await;
    stack.seed_aurora_tenant("e2e-drill-aurora");
    let (error, out) = stack
        .invoke("onboard-tenant", &tenant_created("e2e-drill-aurora"))
        .await;
    assert_eq!(error, None, "{out}");
    stack.backed_up("e2e-drill-aurora", &[]);

    let (code, out) = stack.bbws(&["drill", "--tenant", "e2e-drill-aurora"]);
    assert_eq!(code, 0, "{out}");
    let result = the_result(&out);
    assert_eq!(result["outcome"], "Completed", "{result}");
    let scratch = result["scratchTenantId"].as_str().unwrap();
    let prefix = format!("r-{scratch}");
    let clusters = stack.rds.describe_db_clusters().send().await.unwrap();
    let left: Vec<&str> = clusters
        .db_clusters()
        .iter()
        .filter_map(|c| c.db_cluster_identifier())
        .filter(|id| id.starts_with(&prefix))
        .collect();
    assert!(left.is_empty(), "the restored cluster is deleted: {left:?}");
    assert_eq!(drill_databases(&stack, scratch).await, Vec::<String>::new());
}
