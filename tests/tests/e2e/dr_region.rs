//! A regional outage: the DR region's deployment (eu-west-1, RestoreSourceVault
//! bbws-dr-vault) restores a tenant backed up in the primary region from the backup's DR
//! copies, into that region's file system, database and service, found by the same tags;
//! the restored database holds the primary's rows at backup time.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use crate::stack::{snapshot, unique, Stack};

/// Whether a catalog event is a copy job's end: what turns the catalog's DR copy COMPLETED.
fn copy_completed(event: &Value) -> bool {
    event["detail-type"] == "Copy Job State Change" && event["detail"]["state"] == "COMPLETED"
}

/// The DR copy of the recovery point `arn` as the catalog's replica in the DR region has it.
async fn replica_copy(stack: &Stack, arn: &str) -> Option<HashMap<String, AttributeValue>> {
    stack
        .dr_dynamodb
        .get_item()
        .table_name("bbws-dev-backup-catalog")
        .key("pk", AttributeValue::S(format!("point#{arn}")))
        .key("sk", AttributeValue::S("point".into()))
        .send()
        .await
        .unwrap()
        .item()
        .and_then(|i| i.get("drCopy"))
        .and_then(|c| c.as_m().ok())
        .cloned()
}

#[tokio::test]
async fn a_restore_from_the_dr_vault_into_the_dr_region() {
    let stack = Stack::new().await;
    // A tenant of its own each run: the DR region's directory starts empty.
    let tenant_id = unique("e2e-dr");
    let tenant = stack.seed_tenant(&tenant_id);
    let before = snapshot(&tenant.directory);
    let dr_tenant = stack.seed_dr_tenant(&tenant_id);
    assert!(snapshot(&dr_tenant.directory).is_empty());
    // The tenant's rows in the primary region: a post of its own beside the seed's.
    let schema = format!("{tenant_id}@us-east-1");
    stack.db_sql(
        &schema,
        "INSERT INTO wp_posts (post_content, post_title) VALUES ('before the outage', 'Kept')",
    );
    let posts = "SELECT ID, post_title, post_content FROM wp_posts ORDER BY ID";
    let users = "SELECT ID, user_login FROM wp_users ORDER BY ID";
    let (rows_posts, rows_users) = (stack.db_sql(&schema, posts), stack.db_sql(&schema, users));

    // A backup in the primary region, waiting until its points are copied to the DR vault.
    let (code, out) = stack.bbws(&[
        "backup",
        "--tenant",
        &tenant_id,
        "--poll-seconds",
        "1",
        "--wait-for-copy",
    ]);
    assert_eq!(code, 0, "{out}");
    let backup_id = out["output"]["backupId"].as_str().unwrap().to_owned();
    // Written after the backup and its copies: in neither.
    stack.db_sql(
        &schema,
        "INSERT INTO wp_posts (post_content, post_title) VALUES ('after the copy', 'Late')",
    );
    let files_point = out["output"]["recoveryPoints"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["resource"] == "efs")
        .and_then(|p| p["recoveryPointArn"].as_str())
        .unwrap_or_else(|| panic!("the backup names its file-system point: {out}"))
        .to_owned();

    // The copy jobs' events reach the catalog as EventBridge delivers them, all but their
    // ends at first: the catalog (and its replica in the DR region) knows the copies as
    // still running.
    let events = stack.catalog_events().await;
    let (ends, earlier): (Vec<Value>, Vec<Value>) = events.into_iter().partition(copy_completed);
    assert!(!ends.is_empty(), "the copies ended");
    stack.deliver(&earlier).await;
    let copy = replica_copy(&stack, &files_point)
        .await
        .expect("the DR copy is in the catalog's replica in eu-west-1");
    assert_ne!(copy["state"].as_s().unwrap(), "COMPLETED");

    // A restore in the DR region of a backup whose DR copy is not complete: refused,
    // nothing started.
    let jobs_before = stack.dr_restore_jobs().await;
    let (code, out) = stack.bbws_in_dr(&[
        "restore",
        "--yes",
        "--tenant",
        &tenant_id,
        "--backup",
        &backup_id,
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 44, "BackupNotFound: {out}");
    assert_eq!(out["error"], "BackupNotFound", "{out}");
    let cause = out["cause"].as_str().unwrap_or_default();
    assert!(cause.contains("not COMPLETED"), "{cause}");
    assert_eq!(
        stack.dr_restore_jobs().await,
        jobs_before,
        "nothing started"
    );
    assert!(snapshot(&dr_tenant.directory).is_empty());

    // The copies end; the restore in the DR region takes them.
    stack.deliver(&ends).await;
    let copy = replica_copy(&stack, &files_point).await.unwrap();
    assert_eq!(copy["state"].as_s().unwrap(), "COMPLETED");
    let copy_arn = copy["recoveryPointArn"].as_s().unwrap().clone();
    assert!(
        copy_arn.starts_with("arn:aws:backup:eu-west-1:123456789012:recovery-point:"),
        "{copy_arn}"
    );
    // On the day, the operator lists the tenant's backups from the replica.
    let (code, listing) = stack.bbws_in_dr(&["backups", "--tenant", &tenant_id]);
    assert_eq!(code, 0, "{listing}");
    let listed = listing
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b["backupId"] == backup_id.as_str())
        .unwrap_or_else(|| panic!("the replica lists {backup_id}: {listing}"));
    assert_eq!(listed["files"]["drCopy"], "COMPLETED", "{listing}");
    assert_eq!(listed["database"]["drCopy"], "COMPLETED", "{listing}");
    let (code, out) = stack.bbws_in_dr(&[
        "restore",
        "--yes",
        "--tenant",
        &tenant_id,
        "--backup",
        &backup_id,
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    let report = &out["output"];
    assert_eq!(
        snapshot(&dr_tenant.directory),
        before,
        "every file byte-identical in the DR region's file system"
    );
    assert_eq!(
        snapshot(&tenant.directory),
        before,
        "the primary region's files are untouched"
    );
    let jobs = report["restoreJobs"].as_array().expect("restore jobs");
    let files_job = jobs
        .iter()
        .find(|j| j["resource"] == "efs")
        .unwrap_or_else(|| panic!("a file-system restore job: {report}"));
    assert_eq!(files_job["resourceArn"], copy_arn.as_str(), "{report}");
    assert_eq!(files_job["vault"], "bbws-dr-vault", "{report}");
    for job in jobs {
        let arn = job["resourceArn"].as_str().unwrap_or_default();
        assert!(
            arn.contains(":eu-west-1:"),
            "every point restored is a DR copy: {arn}"
        );
    }
    assert!(
        report["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("from the DR copies in vault bbws-dr-vault"),
        "{report}"
    );
    let deployment = &report["deployment"]["jobs"][0];
    assert_eq!(deployment["state"], "COMPLETED", "{report}");
    assert_eq!(deployment["resourceArn"], dr_tenant.service_arn.as_str());
    let restored = report["database"]["jobs"][0]["createdResourceArn"]
        .as_str()
        .unwrap_or_default();
    assert!(
        restored.starts_with("arn:aws:rds:eu-west-1:123456789012:db:r-e2e-dr"),
        "the database restored beside the tenant's in the DR region: {report}"
    );

    // The restored database's rows, read through the endpoint RDS in the DR region
    // announces for it: the primary's rows at backup time.
    let identifier = restored.rsplit(":db:").next().unwrap();
    let described = stack
        .dr_rds
        .describe_db_instances()
        .db_instance_identifier(identifier)
        .send()
        .await
        .unwrap();
    let endpoint = described.db_instances()[0].endpoint().expect("an endpoint");
    let dr_schema = stack.schema_behind(&format!(
        "{}:{}",
        endpoint.address().unwrap(),
        endpoint.port().unwrap()
    ));
    assert_eq!(dr_schema, format!("{identifier}@eu-west-1"));
    let restored_posts = stack.db_sql(&dr_schema, posts);
    assert_eq!(
        restored_posts, rows_posts,
        "every post back in the DR region"
    );
    assert!(
        restored_posts.contains("before the outage"),
        "{restored_posts}"
    );
    assert!(
        !restored_posts.contains("after the copy"),
        "{restored_posts}"
    );
    assert_eq!(stack.db_sql(&dr_schema, users), rows_users);
    assert!(
        !stack
            .db_sql(&format!("{tenant_id}@eu-west-1"), posts)
            .contains("before the outage"),
        "the DR region's own database is not the one restored into"
    );

    // The restore noted itself on the backup in the replica; the primary's table has it too
    // (a global table: a write in either region reaches the other).
    let (code, detail) = stack.bbws(&["backups", "--tenant", &tenant_id, "--id", &backup_id]);
    assert_eq!(code, 0, "{detail}");
    assert!(
        detail["restores"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r.as_str().is_some_and(|r| r.contains(":eu-west-1:"))),
        "{detail}"
    );
}
