//! RPO by absence: the scheduled check names a tenant whose database no plan selects within
//! one check, leaves a tenant with fresh points alone, and alerts once per stale set.

use serde_json::{json, Value};

use crate::stack::{unique, Stack};

const ALERT: &str = "Tenant backups are older than the RPO";

fn assessed<'a>(report: &'a Value, tenant: &str) -> &'a Value {
    report["tenants"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["tenantId"] == tenant))
        .unwrap_or_else(|| panic!("{tenant} is not in {report}"))
}

fn rpo_alerts(alerts: &[Value]) -> Vec<&Value> {
    alerts.iter().filter(|a| a["alert"] == ALERT).collect()
}

#[tokio::test]
async fn a_database_no_plan_selects_is_named_in_one_check_and_alerted_once() {
    let stack = Stack::new().await;
    let (fresh, unselected) = (unique("e2e-rpo-fresh"), unique("e2e-rpo-unselected"));
    stack.onboarded_tenant(&fresh).await;
    let database = stack.onboarded_tenant(&unselected).await.database_arn;
    stack.backed_up(&fresh, &[]);
    stack.backed_up(&unselected, &[]);
    // Its database loses the tag the plan's selection takes: no hourly point will come.
    stack
        .rds
        .remove_tags_from_resource()
        .resource_name(&database)
        .tag_keys("bbws:tenant-id")
        .send()
        .await
        .expect("untagging the database");
    stack.drain_alerts().await;

    let (error, first) = stack.invoke("check-rpo", &json!({})).await;
    let first_alerts = stack.drain_alerts().await;
    let (error_again, second) = stack.invoke("check-rpo", &json!({})).await;
    let second_alerts = stack.drain_alerts().await;
    let (code, listed) = stack.bbws(&["backups", "--stale"]);
    // The database is the tenant's again before anything is asserted: later scenarios back
    // every tenant up.
    stack
        .rds
        .add_tags_to_resource()
        .resource_name(&database)
        .tags(
            aws_sdk_rds::types::Tag::builder()
                .key("bbws:tenant-id")
                .value(&unselected)
                .build(),
        )
        .send()
        .await
        .expect("tagging the database again");

    assert_eq!((error, error_again), (None, None), "{first} {second}");
    let named = assessed(&first, &unselected);
    assert_eq!(named["database"], "not-selected", "{named}");
    assert_eq!(named["files"], Value::Null, "its files are fresh: {named}");
    assert!(named["filesAgeSeconds"].as_i64().unwrap() < 3600, "{named}");
    let stale: Vec<&str> = first["stale"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(stale.contains(&unselected.as_str()), "{first}");
    assert!(!stale.contains(&fresh.as_str()), "{first}");
    let ok = assessed(&first, &fresh);
    assert_eq!(
        (&ok["files"], &ok["database"]),
        (&Value::Null, &Value::Null),
        "{ok}"
    );
    assert!(ok["databaseAgeSeconds"].as_i64().unwrap() < 3600, "{ok}");

    // Once: the first check announces the set, the second finds it announced.
    assert_eq!(first["alerted"], true, "{first}");
    let alerts = rpo_alerts(&first_alerts);
    assert_eq!(alerts.len(), 1, "{first_alerts:?}");
    assert!(
        alerts[0]["stale"]
            .as_str()
            .unwrap()
            .contains(&format!("{unselected} (database: not-selected)")),
        "{:?}",
        alerts[0]
    );
    assert_eq!(alerts[0]["thresholdSeconds"], 7200, "{:?}", alerts[0]);
    assert_eq!(second["alerted"], false, "{second}");
    assert_eq!(second["stale"], first["stale"], "the same set");
    assert!(rpo_alerts(&second_alerts).is_empty(), "{second_alerts:?}");

    // The CLI lists the same, with the ages.
    assert_eq!(code, 0, "{listed}");
    assert_eq!(listed["stale"], first["stale"], "{listed}");
    assert_eq!(assessed(&listed, &unselected)["database"], "not-selected");
}
