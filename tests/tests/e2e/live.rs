//! What a restore puts live: files and database together by default, with the site's
//! database endpoint source (the setting onboarding created) moved to the restored database;
//! or nothing at all, side by side.

use serde_json::Value;

use crate::stack::{snapshot, tenant_created, Stack, Tenant};

/// Seeds `name` and onboards it naming its database and service, as the platform does;
/// returns the tenant and onboarding's answer.
async fn onboarded_with_database(stack: &Stack, name: &str) -> (Tenant, Value) {
    let tenant = stack.seed_tenant(name);
    let mut event = tenant_created(name);
    event["detail"]["databaseArn"] = tenant.database_arn.as_str().into();
    event["detail"]["serviceArn"] = tenant.service_arn.as_str().into();
    let (error, out) = stack.invoke("onboard-tenant", &event).await;
    assert_eq!(error, None, "{out}");
    (tenant, out)
}

/// What the site's task reads at start: the container secret's `valueFrom`, resolved as
/// ECS resolves an SSM parameter ARN, to the parameter's value.
async fn site_database_host(stack: &Stack, value_from: &str) -> String {
    let name = value_from
        .split_once(":parameter")
        .map(|(_, name)| name)
        .expect("an SSM parameter ARN");
    stack
        .ssm
        .get_parameter()
        .name(name)
        .send()
        .await
        .unwrap()
        .parameter()
        .and_then(|p| p.value())
        .unwrap()
        .to_owned()
}

async fn instance_endpoint(stack: &Stack, identifier: &str) -> String {
    let out = stack
        .rds
        .describe_db_instances()
        .db_instance_identifier(identifier)
        .send()
        .await
        .unwrap();
    let endpoint = out.db_instances()[0].endpoint().unwrap();
    format!(
        "{}:{}",
        endpoint.address().unwrap(),
        endpoint.port().unwrap()
    )
}

#[tokio::test]
async fn a_default_restore_puts_files_and_database_live_together_and_the_site_follows() {
    let stack = Stack::new().await;
    let (tenant, onboarded) = onboarded_with_database(&stack, "e2e-live").await;
    let setting = &onboarded["databaseEndpoint"];
    assert_eq!(setting["created"], true, "{onboarded}");
    let value_from = setting["containerSecret"]["valueFrom"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(setting["containerSecret"]["name"], "WORDPRESS_DB_HOST");
    let own_identifier = tenant.database_arn.rsplit(':').next().unwrap().to_owned();
    let own_endpoint = instance_endpoint(&stack, &own_identifier).await;
    assert_eq!(site_database_host(&stack, &value_from).await, own_endpoint);

    let dir = &tenant.directory;
    let before = snapshot(dir);
    let backup_id = stack.backed_up("e2e-live", &[]);
    std::fs::write(dir.join("defaced.php"), b"<?php echo 'defaced';").unwrap();

    let (code, out) = stack.bbws(&[
        "restore",
        "--yes",
        "--tenant",
        "e2e-live",
        "--backup",
        &backup_id,
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    let result = &out["output"];
    let goes_live = result["goesLive"].as_str().unwrap();
    assert!(
        goes_live.starts_with("goes live: the files in /e2e-live")
            && goes_live.contains("database as r-e2e-live-"),
        "{goes_live}"
    );
    // The files are the backup's, and the site reads the restored database's endpoint.
    assert_eq!(snapshot(dir), before);
    let restored = result["databasePromotion"]["database"]["identifier"]
        .as_str()
        .unwrap();
    let restored_endpoint = instance_endpoint(&stack, restored).await;
    assert_ne!(restored_endpoint, own_endpoint);
    assert_eq!(
        site_database_host(&stack, &value_from).await,
        restored_endpoint,
        "the container secret now resolves to the restored database"
    );
    // The redeploy that starts the site's new tasks came after both.
    assert_eq!(result["deployment"]["jobs"][0]["state"], "COMPLETED");
    // The previous database is no longer the tenant's; the restored one is.
    assert!(!stack
        .rds_tags(&tenant.database_arn)
        .await
        .contains_key("bbws:tenant-id"));
    let restored_arn = result["databasePromotion"]["database"]["arn"]
        .as_str()
        .unwrap();
    assert_eq!(
        stack
            .rds_tags(restored_arn)
            .await
            .get("bbws:tenant-id")
            .map(String::as_str),
        Some("e2e-live")
    );

    // Onboarding delivered again, naming the superseded database, leaves it superseded and
    // the site on the restored one.
    let mut again = tenant_created("e2e-live");
    again["detail"]["databaseArn"] = tenant.database_arn.as_str().into();
    let (error, out) = stack.invoke("onboard-tenant", &again).await;
    assert_eq!(error, None, "{out}");
    assert_eq!(
        out["supersededResources"],
        serde_json::json!([tenant.database_arn])
    );
    assert_eq!(out["databaseEndpoint"], Value::Null);
    assert!(!stack
        .rds_tags(&tenant.database_arn)
        .await
        .contains_key("bbws:tenant-id"));
    assert_eq!(
        site_database_host(&stack, &value_from).await,
        restored_endpoint
    );
}

#[tokio::test]
async fn a_side_by_side_restore_puts_nothing_live_and_says_where() {
    let stack = Stack::new().await;
    let (tenant, onboarded) = onboarded_with_database(&stack, "e2e-beside").await;
    let value_from = onboarded["databaseEndpoint"]["containerSecret"]["valueFrom"]
        .as_str()
        .unwrap()
        .to_owned();
    let site_before = site_database_host(&stack, &value_from).await;
    let dir = &tenant.directory;
    let backed_up = snapshot(dir);
    let backup_id = stack.backed_up("e2e-beside", &[]);
    std::fs::write(dir.join("defaced.php"), b"<?php echo 'defaced';").unwrap();
    let defaced = snapshot(dir);
    let own_tags = stack.rds_tags(&tenant.database_arn).await;

    // Nothing goes live: no confirmation asked, so no --yes needed without a terminal.
    let (code, out) = stack.bbws(&[
        "restore",
        "--tenant",
        "e2e-beside",
        "--backup",
        &backup_id,
        "--side-by-side",
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    let result = &out["output"];
    let goes_live = result["goesLive"].as_str().unwrap();
    assert!(
        goes_live.starts_with(
            "nothing goes live: the files go to /.bbws-scratch/side-by-side/e2e-beside/"
        ),
        "{goes_live}"
    );
    // The live site is exactly as it was: files, database setting, database, service.
    assert_eq!(snapshot(dir), defaced);
    assert_eq!(site_database_host(&stack, &value_from).await, site_before);
    assert_eq!(stack.rds_tags(&tenant.database_arn).await, own_tags);
    assert_eq!(result["deployment"]["skipped"], true, "{result}");
    assert_eq!(result["databasePromotion"]["skipped"], true, "{result}");
    assert_eq!(result["cache"], Value::Null, "no cache flushed");
    // The restored files are where the output says, as they were backed up.
    let beside = std::path::PathBuf::from(result["files"]["putInPlace"].as_str().unwrap());
    assert!(
        beside.starts_with(
            dir.parent()
                .unwrap()
                .join(".bbws-scratch/side-by-side/e2e-beside")
        ),
        "{beside:?}"
    );
    assert_eq!(snapshot(&beside), backed_up);
    assert_eq!(result["files"]["keptAside"], Value::Null);
    // The database is a new instance beside the tenant's, not the tenant's.
    let created = result["database"]["jobs"][0]["createdResourceArn"]
        .as_str()
        .unwrap();
    assert!(created.contains(":db:r-e2e-beside-"), "{created}");
    assert!(!stack.rds_tags(created).await.contains_key("bbws:tenant-id"));
    std::fs::remove_dir_all(&beside).unwrap();
}
