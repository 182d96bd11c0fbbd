//! Restoring a tenant's database: promoting the restored RDS instance, and an Aurora
//! cluster's restore getting its serverless instance.

use crate::stack::{snapshot, Stack};

#[tokio::test]
async fn a_promoted_database_restore_points_the_tenant_at_the_restored_database() {
    let stack = Stack::new().await;
    let tenant = stack.seed_tenant("e2e-promote");
    let old_db = tenant.database_arn;
    let old_tags = stack.rds_tags(&old_db).await;
    let backup_id = stack.backed_up("e2e-promote", &[]);

    let (code, out) = stack.bbws(&[
        "restore",
        "--yes",
        "--tenant",
        "e2e-promote",
        "--backup",
        &backup_id,
        "--database-only",
        "--promote-database",
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    let promotion = &out["output"]["databasePromotion"];
    let parameter = "/bbws/dev/tenants/e2e-promote/database-endpoint";
    assert_eq!(promotion["parameter"], parameter, "{out}");
    assert_eq!(promotion["previousDatabase"]["arn"], old_db.as_str());

    // The parameter names the restored instance's endpoint.
    let restored_arn = promotion["database"]["arn"].as_str().unwrap().to_owned();
    let restored_id = promotion["database"]["identifier"].as_str().unwrap();
    assert!(restored_id.starts_with("r-e2e-promote-"), "{restored_id}");
    let value = stack
        .ssm
        .get_parameter()
        .name(parameter)
        .send()
        .await
        .unwrap()
        .parameter()
        .and_then(|p| p.value())
        .unwrap()
        .to_owned();
    let restored = stack
        .rds
        .describe_db_instances()
        .db_instance_identifier(restored_id)
        .send()
        .await
        .unwrap()
        .db_instances()[0]
        .clone();
    let endpoint = restored.endpoint().unwrap();
    assert_eq!(
        value,
        format!(
            "{}:{}",
            endpoint.address().unwrap(),
            endpoint.port().unwrap()
        )
    );
    assert_eq!(promotion["endpoint"], value.as_str());

    // The restored database is the tenant's now, protected as the tenant stack's is; the
    // previous one only lost its tenant tag to the superseded tags.
    let tags = stack.rds_tags(&restored_arn).await;
    assert_eq!(
        tags.get("bbws:tenant-id").map(String::as_str),
        Some("e2e-promote")
    );
    assert_eq!(tags.get("bbws:restored-from"), Some(&backup_id));
    assert!(tags.contains_key("bbws:promoted-at"), "{tags:?}");
    let protected = stack
        .rds
        .describe_db_instances()
        .db_instance_identifier(restored_id)
        .send()
        .await
        .unwrap()
        .db_instances()[0]
        .deletion_protection();
    assert_eq!(protected, Some(true), "deletion protection on");
    let mut expected = old_tags.clone();
    expected.remove("bbws:tenant-id");
    expected.insert("bbws:superseded-tenant-id".into(), "e2e-promote".into());
    expected.insert("bbws:superseded-by".into(), restored_id.to_owned());
    let now_old = stack.rds_tags(&old_db).await;
    let at = now_old.get("bbws:superseded-at").cloned().expect("dated");
    expected.insert("bbws:superseded-at".into(), at);
    assert_eq!(now_old, expected, "only the tenant tag moved");

    // The next backup of the tenant backs up the promoted database, not the previous one.
    let before_on_old = stack.jobs_on(&old_db).await.len();
    stack.backed_up("e2e-promote", &[]);
    assert_eq!(stack.jobs_on(&restored_arn).await.len(), 1);
    assert_eq!(stack.jobs_on(&old_db).await.len(), before_on_old);
}

#[tokio::test]
async fn an_aurora_restore_gets_a_serverless_instance_beside_the_tenants_cluster() {
    let stack = Stack::new().await;
    let tenant = stack.seed_aurora_tenant("e2e-aurora");
    let cluster_arn = tenant.database_arn;
    assert!(cluster_arn.contains(":cluster:"), "{cluster_arn}");
    // Onboarding names the cluster: its writer endpoint becomes the site's setting.
    let mut created = crate::stack::tenant_created("e2e-aurora");
    created["detail"]["databaseArn"] = cluster_arn.as_str().into();
    let (error, onboarded) = stack.invoke("onboard-tenant", &created).await;
    assert_eq!(error, None, "{onboarded}");
    let own = stack
        .rds
        .describe_db_clusters()
        .db_cluster_identifier("e2e-aurora")
        .send()
        .await
        .unwrap()
        .db_clusters()[0]
        .clone();
    assert_eq!(
        onboarded["databaseEndpoint"]["endpoint"],
        format!("{}:{}", own.endpoint().unwrap(), own.port().unwrap()).as_str()
    );
    let dir = &tenant.directory;
    let before = snapshot(dir);
    let backup_id = stack.backed_up("e2e-aurora", &[]);
    assert_eq!(
        stack.jobs_on(&cluster_arn).await.len(),
        1,
        "the cluster is backed up"
    );
    std::fs::write(dir.join("index.php"), b"changed").unwrap();

    let (code, out) = stack.bbws(&[
        "restore",
        "--yes",
        "--tenant",
        "e2e-aurora",
        "--backup",
        &backup_id,
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(snapshot(dir), before);
    let result = &out["output"];
    // The database went live with the files, by default.
    assert_eq!(
        result["databasePromotion"]["superseded"]["resources"],
        serde_json::json!([
            cluster_arn.as_str(),
            cluster_arn.replace(":cluster:e2e-aurora", ":db:e2e-aurora-1")
        ]),
        "{result}"
    );
    let watched = &result["database"]["jobs"][0];
    assert_eq!(watched["kind"], "database", "{result}");
    assert_eq!(watched["state"], "COMPLETED");
    let cluster_created = watched["createdResourceArn"].as_str().unwrap();
    let restored_cluster = cluster_created.rsplit(':').next().unwrap();
    assert!(
        restored_cluster.starts_with("r-e2e-aurora-"),
        "{restored_cluster}"
    );
    let instance_id = watched["jobId"].as_str().unwrap();
    assert_eq!(instance_id, format!("{restored_cluster}-1"));

    let instance = stack
        .rds
        .describe_db_instances()
        .db_instance_identifier(instance_id)
        .send()
        .await
        .unwrap()
        .db_instances()[0]
        .clone();
    assert_eq!(instance.db_instance_class(), Some("db.serverless"));
    assert_eq!(instance.db_cluster_identifier(), Some(restored_cluster));
    assert_eq!(instance.db_instance_status(), Some("available"));
    let cluster = stack
        .rds
        .describe_db_clusters()
        .db_cluster_identifier(restored_cluster)
        .send()
        .await
        .unwrap()
        .db_clusters()[0]
        .clone();
    let members: Vec<_> = cluster
        .db_cluster_members()
        .iter()
        .filter_map(|m| m.db_instance_identifier())
        .collect();
    assert_eq!(members, [instance_id]);
    // The site's setting now names the restored cluster's writer endpoint.
    let parameter = stack
        .ssm
        .get_parameter()
        .name("/bbws/dev/tenants/e2e-aurora/database-endpoint")
        .send()
        .await
        .unwrap();
    assert_eq!(
        parameter.parameter().and_then(|p| p.value()),
        Some(
            format!(
                "{}:{}",
                cluster.endpoint().unwrap(),
                cluster.port().unwrap()
            )
            .as_str()
        )
    );
    let tags = stack.rds_tags(cluster_created).await;
    assert_eq!(tags.get("bbws:restored-from"), Some(&backup_id));
    assert_eq!(
        tags.get("bbws:tenant-id").map(String::as_str),
        Some("e2e-aurora"),
        "promoted: the tenant's database now"
    );
    let own_tags = stack.rds_tags(&cluster_arn).await;
    assert!(!own_tags.contains_key("bbws:tenant-id"), "{own_tags:?}");
    assert_eq!(
        own_tags.get("bbws:superseded-by").map(String::as_str),
        Some(restored_cluster)
    );

    // The tenant's own cluster keeps its one instance.
    let own = stack
        .rds
        .describe_db_clusters()
        .db_cluster_identifier("e2e-aurora")
        .send()
        .await
        .unwrap()
        .db_clusters()[0]
        .db_cluster_members()
        .len();
    assert_eq!(own, 1);
}

#[tokio::test]
async fn a_database_restores_from_its_recovery_point_arn_whose_tags_are_read_through_rds() {
    let stack = Stack::new().await;
    let tenant = stack.seed_tenant("e2e-by-arn");
    stack.backed_up("e2e-by-arn", &[]);
    let jobs = stack.jobs_on(&tenant.database_arn).await;
    let point = jobs
        .iter()
        .find_map(|j| j.recovery_point_arn())
        .expect("the database's backup job made a recovery point")
        .to_owned();
    assert!(
        point.starts_with("arn:aws:rds:") && point.contains(":snapshot:awsbackup:"),
        "a database's recovery point is the RDS snapshot: {point}"
    );
    // AWS Backup's ListTags refuses it, as AWS documents; RDS has its tags.
    let refused = stack.backup.list_tags().resource_arn(&point).send().await;
    assert!(
        refused
            .as_ref()
            .err()
            .and_then(|e| e.as_service_error())
            .is_some_and(|e| e.is_invalid_parameter_value_exception()),
        "{refused:?}"
    );
    assert_eq!(
        stack
            .rds_tags(&point)
            .await
            .get("bbws:tenant-id")
            .map(String::as_str),
        Some("e2e-by-arn")
    );

    let (code, out) = stack.bbws(&[
        "restore",
        "--yes",
        "--tenant",
        "e2e-by-arn",
        "--backup",
        &point,
        "--database-only",
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    let restored = out["output"]["database"]["jobs"][0]["createdResourceArn"]
        .as_str()
        .or_else(|| out["output"]["plan"]["database"]["target"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(restored.contains("r-e2e-by-arn-"), "{out}");
}
