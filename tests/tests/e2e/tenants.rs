//! A tenant's storage through its life: onboarding on the platform's `TenantCreated` event,
//! offboarding at the end of a final backup.

use std::collections::BTreeMap;

use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::{json, Value};

use crate::stack::{snapshot, tenant_created, unique, Stack};

#[tokio::test]
async fn an_onboarding_event_delivered_twice_creates_one_access_point_as_designed() {
    let stack = Stack::new().await;
    // The platform made the tenant's database without the tag the backup plan selects on.
    let db = stack.seed_database("e2e-onboard");
    assert_eq!(stack.rds_tags(&db).await, BTreeMap::new());
    let service = stack.seed_service("e2e-onboard");
    let mut event = tenant_created("e2e-onboard");
    event["detail"]["databaseArn"] = json!(db);
    event["detail"]["serviceArn"] = json!(service);
    for _ in 0..2 {
        let (error, out) = stack.invoke("onboard-tenant", &event).await;
        assert_eq!(error, None, "{out}");
    }
    let tenant_tag = BTreeMap::from([("bbws:tenant-id".to_owned(), "e2e-onboard".to_owned())]);
    assert_eq!(stack.rds_tags(&db).await, tenant_tag);
    assert_eq!(stack.service_tags(&service), tenant_tag);
    let points = stack.access_points_of("e2e-onboard").await;
    assert_eq!(points.len(), 1, "exactly one access point");
    let ap = &points[0];
    let user = ap.posix_user().unwrap();
    assert_eq!((user.uid(), user.gid()), (33, 33));
    let info = ap.root_directory().unwrap().creation_info().unwrap();
    assert_eq!(
        (info.owner_uid(), info.owner_gid(), info.permissions()),
        (33, 33, "0755")
    );
    assert!(ap
        .tags()
        .iter()
        .any(|t| t.key() == "bbws:tenant-id" && t.value() == "e2e-onboard"));

    let ready: Vec<Value> = stack
        .drain_events()
        .await
        .into_iter()
        .filter(|e| {
            e["detail-type"] == "TenantStorageReady" && e["detail"]["tenantId"] == "e2e-onboard"
        })
        .collect();
    assert_eq!(ready.len(), 2, "each delivery is answered");
    assert!(ready
        .iter()
        .all(|e| e["detail"]["accessPointId"] == ap.access_point_id().unwrap()));
    // The tenant's ECS volume on the data stack's file system, through its access point.
    let volume = &ready[0]["detail"]["efsVolumeConfiguration"];
    assert_eq!(volume["fileSystemId"], stack.file_system_id());
    assert_eq!(
        volume["authorizationConfig"],
        json!({"accessPointId": ap.access_point_id().unwrap(), "iam": "ENABLED"})
    );
    assert_eq!(
        (
            &volume["transitEncryption"],
            &volume["transitEncryptionPort"],
            &volume["rootDirectory"]
        ),
        (&json!("ENABLED"), &json!(2999), &json!("/"))
    );
    assert_eq!(
        ready
            .iter()
            .filter(|e| e["detail"]["created"] == true)
            .count(),
        1
    );
}

#[tokio::test]
async fn an_invalid_onboarding_event_creates_nothing() {
    let stack = Stack::new().await;
    let (error, out) = stack
        .invoke("onboard-tenant", &tenant_created("../e2e-evil"))
        .await;
    assert_eq!(error.as_deref(), Some("InvalidTenant"), "{out}");
    let mut wrong = tenant_created("e2e-wrong-source");
    wrong["source"] = json!("somebody.else");
    let (error, _) = stack.invoke("onboard-tenant", &wrong).await;
    assert_eq!(error.as_deref(), Some("InvalidTenant"));
    assert!(stack.access_points_of("e2e-wrong-source").await.is_empty());
    assert!(stack
        .drain_events()
        .await
        .iter()
        .all(|e| e["detail-type"] != "TenantStorageReady"));
}

#[tokio::test]
async fn offboarding_backs_up_then_deletes_the_access_point_and_keeps_the_files() {
    let stack = Stack::new().await;
    let tenant = stack.seed_tenant("e2e-offboard");
    let files = snapshot(&tenant.directory);
    let done = stack
        .run_execution(
            "backup",
            &unique("offboard"),
            &json!({"tenantId": "e2e-offboard", "fresh": true, "offboard": true, "pollSeconds": 1, "copyToDr": false}),
        )
        .await;
    assert_eq!(
        done.status(),
        &ExecutionStatus::Succeeded,
        "{:?} {:?}",
        done.error(),
        done.cause()
    );
    assert!(
        stack.access_points_of("e2e-offboard").await.is_empty(),
        "the access point is gone"
    );
    assert_eq!(snapshot(&tenant.directory), files, "the files stay");
    let out: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    let (code, listing) = stack.bbws(&["backups", "--tenant", "e2e-offboard"]);
    assert_eq!(code, 0);
    assert_eq!(
        listing[0]["backupId"], out["backupId"],
        "the final backup is listed"
    );
}

#[tokio::test]
async fn an_onboarding_event_naming_another_tenants_database_creates_and_tags_nothing() {
    let stack = Stack::new().await;
    let owner = stack.seed_tenant("e2e-owner");
    let before = stack.rds_tags(&owner.database_arn).await;
    let mut event = tenant_created("e2e-claimant");
    event["detail"]["databaseArn"] = json!(owner.database_arn);
    let (error, out) = stack.invoke("onboard-tenant", &event).await;
    assert_eq!(error.as_deref(), Some("InvalidTenant"), "{out}");
    assert!(stack.access_points_of("e2e-claimant").await.is_empty());
    assert_eq!(
        stack.rds_tags(&owner.database_arn).await,
        before,
        "tags unchanged"
    );
}

#[tokio::test]
async fn onboarding_over_leftover_files_is_refused_unless_the_event_adopts_them() {
    let stack = Stack::new().await;
    let tenant = unique("e2e-leftovers");
    // A former tenant's files still under the new tenant's id.
    let other = stack.seed_tenant(&unique("e2e-leftovers-other"));
    let dir = other.directory.parent().unwrap().join(&tenant);
    std::fs::create_dir_all(dir.join("uploads")).unwrap();
    std::fs::write(dir.join("index.php"), b"<?php // a former tenant's").unwrap();
    let (error, out) = stack
        .invoke("onboard-tenant", &tenant_created(&tenant))
        .await;
    assert_eq!(error.as_deref(), Some("InvalidTenant"), "{out}");
    assert!(out.to_string().contains("already holds files"), "{out}");
    assert!(
        stack.access_points_of(&tenant).await.is_empty(),
        "no access point made"
    );

    let mut adopt = tenant_created(&tenant);
    adopt["detail"]["adopt"] = json!(true);
    let (error, out) = stack.invoke("onboard-tenant", &adopt).await;
    assert_eq!(error, None, "{out}");
    assert_eq!(stack.access_points_of(&tenant).await.len(), 1);
    assert_eq!(
        std::fs::read(dir.join("index.php")).unwrap(),
        b"<?php // a former tenant's"
    );

    // A drill's scratch name is never a tenant's.
    let (error, out) = stack
        .invoke("onboard-tenant", &tenant_created("drill-e2e-20261126"))
        .await;
    assert_eq!(error.as_deref(), Some("InvalidTenant"), "{out}");
    assert!(stack
        .access_points_of("drill-e2e-20261126")
        .await
        .is_empty());
}
