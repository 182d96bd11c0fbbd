//! The database half of a restore proven by its content: every tenant database is a real
//! schema on the stack's MariaDB server, backed up as a consistent copy, restored from it,
//! and to a point in time by replaying the binary log to the second.

use std::time::Duration;

use aws_sdk_backup::primitives::{DateTime, DateTimeFormat};
use aws_sdk_backup::types::RestoreJobStatus;

use crate::stack::{snapshot, unique, Stack};

/// Sleeps into the next whole second, so what follows is written at a second of its own.
async fn next_second() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(
        1_050 - u64::from(now.subsec_millis()),
    ))
    .await;
    now.as_secs() as i64 + 1
}

fn rfc3339(secs: i64) -> String {
    DateTime::from_secs(secs)
        .fmt(DateTimeFormat::DateTime)
        .unwrap()
}

/// The tenant's endpoint parameter, as its site reads it.
async fn endpoint_parameter(stack: &Stack, tenant: &str) -> String {
    stack
        .ssm
        .get_parameter()
        .name(format!("/bbws/dev/tenants/{tenant}/database-endpoint"))
        .send()
        .await
        .unwrap()
        .parameter()
        .and_then(|p| p.value())
        .unwrap()
        .to_owned()
}

/// The database's continuous recovery point, made by the database plan.
async fn continuous_point(stack: &Stack, database_arn: &str) -> String {
    stack
        .backup
        .list_recovery_points_by_backup_vault()
        .backup_vault_name("bbws-dev-backup-vault")
        .by_resource_arn(database_arn)
        .send()
        .await
        .unwrap()
        .recovery_points()
        .iter()
        .filter_map(|p| p.recovery_point_arn())
        .find(|a| a.contains(":recovery-point:continuous:"))
        .expect("the database plan made a continuous point")
        .to_owned()
}

/// Restores `point` as new DB instance `id` (to `at` when given) and waits for the job.
async fn restore_instance(stack: &Stack, point: &str, id: &str, at: Option<&str>) {
    let mut start = stack
        .backup
        .start_restore_job()
        .recovery_point_arn(point)
        .iam_role_arn("arn:aws:iam::123456789012:role/bbws-dev-backup")
        .metadata("DBInstanceIdentifier", id);
    if let Some(at) = at {
        start = start.metadata("RestoreTime", at);
    }
    let job = start
        .send()
        .await
        .unwrap()
        .restore_job_id()
        .unwrap()
        .to_owned();
    for _ in 0..120 {
        let described = stack
            .backup
            .describe_restore_job()
            .restore_job_id(&job)
            .send()
            .await
            .unwrap();
        match described.status() {
            Some(RestoreJobStatus::Completed) => return,
            Some(RestoreJobStatus::Failed | RestoreJobStatus::Aborted) => {
                panic!("restore job failed: {:?}", described.status_message())
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    panic!("restore job {job} did not end");
}

#[tokio::test]
async fn a_defaced_site_comes_back_whole_files_and_rows_at_the_second_before() {
    let stack = Stack::new().await;
    let id = unique("e2e-deface");
    let tenant = stack.onboarded_tenant(&id).await;
    let schema = format!("{id}@us-east-1");
    let before_files = snapshot(&tenant.directory);
    let posts = "SELECT ID, post_content FROM wp_posts ORDER BY ID";
    let users = "SELECT ID, user_login FROM wp_users ORDER BY ID";
    let (before_posts, before_users) = (stack.db_sql(&schema, posts), stack.db_sql(&schema, users));
    // The hourly backup: the database's continuous point first, then the files.
    stack.plan_run("database").await;
    stack.wait_for_jobs().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.plan_run("efs").await;
    stack.wait_for_jobs().await;
    stack.deliver_catalog_events().await;
    let before = rfc3339(next_second().await);
    next_second().await;

    // The defacement: an upload replaced, a theme file changed, a post overwritten, an
    // administrator added.
    std::fs::write(
        tenant.directory.join("uploads/2026/11/logo.bin"),
        b"defaced",
    )
    .unwrap();
    std::fs::write(
        tenant
            .directory
            .join("themes/twentytwentyfour/functions.php"),
        "<?php eval($_GET['x']);\n",
    )
    .unwrap();
    stack.db_sql(
        &schema,
        "UPDATE wp_posts SET post_content = 'HACKED' WHERE ID = 1; \
         INSERT INTO wp_users (user_login, user_pass, user_email, display_name) \
         VALUES ('intruder', 'x', 'intruder@example.net', 'admin2')",
    );
    assert!(stack.db_sql(&schema, posts).contains("HACKED"));

    let (code, out) = stack.bbws(&[
        "restore",
        "--yes",
        "--tenant",
        &id,
        "--at",
        &before,
        "--promote-database",
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        snapshot(&tenant.directory),
        before_files,
        "files byte-identical"
    );

    // The site's endpoint now leads to the restored database, whose rows are the backup's.
    let endpoint = endpoint_parameter(&stack, &id).await;
    let restored = stack.schema_behind(&endpoint);
    assert_ne!(
        restored, schema,
        "the parameter names the restored database"
    );
    assert_eq!(
        stack.db_sql(&restored, posts),
        before_posts,
        "the old post back"
    );
    assert_eq!(
        stack.db_sql(&restored, users),
        before_users,
        "no added admin"
    );
    assert!(stack
        .db_sql(&restored, "SELECT post_content FROM wp_posts WHERE ID = 1")
        .starts_with("Welcome to WordPress"));
}

#[tokio::test]
async fn a_point_in_time_restore_stops_at_the_second_asked() {
    let stack = Stack::new().await;
    let id = unique("e2e-second");
    let tenant = stack.seed_tenant(&id);
    let schema = format!("{id}@us-east-1");
    stack.plan_run("database").await;
    stack.wait_for_jobs().await;
    let point = continuous_point(&stack, &tenant.database_arn).await;

    let insert = |title: &str| {
        stack.db_sql(
            &schema,
            &format!(
                "INSERT INTO wp_posts (post_content, post_title) VALUES ('{title}', '{title}')"
            ),
        );
    };
    next_second().await;
    insert("one second before");
    let at = next_second().await;
    next_second().await;
    insert("one second after");

    let restored = format!("{id}-pit");
    restore_instance(&stack, &point, &restored, Some(&rfc3339(at))).await;
    let titles = stack.db_sql(
        &format!("{restored}@us-east-1"),
        "SELECT post_title FROM wp_posts ORDER BY ID",
    );
    assert!(titles.contains("Hello world!"), "{titles}");
    assert!(titles.contains("one second before"), "{titles}");
    assert!(!titles.contains("one second after"), "{titles}");

    // Outside the window (before the point existed) is refused, as AWS refuses it.
    let refused = stack
        .backup
        .start_restore_job()
        .recovery_point_arn(&point)
        .iam_role_arn("arn:aws:iam::123456789012:role/bbws-dev-backup")
        .metadata("DBInstanceIdentifier", format!("{id}-early"))
        .metadata("RestoreTime", rfc3339(at - 3_600))
        .send()
        .await;
    assert!(refused.is_err(), "{refused:?}");
}

/// The `[client]` option file's value of `key`.
fn cnf_value(cnf: &str, key: &str) -> String {
    std::fs::read_to_string(cnf)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| panic!("{cnf} names no {key}"))
}

#[tokio::test]
async fn the_drills_reader_gives_each_tables_rows_and_checksum_as_the_server_does() {
    let stack = Stack::new().await;
    let id = unique("e2e-checksum");
    stack.seed_tenant(&id);
    let schema = format!("{id}@us-east-1");
    let cnf = stack.platform["database"]["adminCnf"].as_str().unwrap();
    let access = bbws::drill::database::Access {
        host: cnf_value(cnf, "host"),
        port: cnf_value(cnf, "port").parse().unwrap(),
        user: cnf_value(cnf, "user"),
        password: cnf_value(cnf, "password"),
        schema: schema.clone(),
    };
    let read = bbws::drill::database::tables(&access).await.unwrap();
    let names: Vec<&str> = read.keys().map(String::as_str).collect();
    assert_eq!(names, ["wp_options", "wp_postmeta", "wp_posts", "wp_users"]);
    // The same numbers the server's own client prints.
    for (table, got) in &read {
        let rows = stack.db_sql(&schema, &format!("SELECT COUNT(*) FROM {table}"));
        assert_eq!(rows.trim(), got.rows.to_string(), "{table}");
        let checksum = stack.db_sql(&schema, &format!("CHECKSUM TABLE {table}"));
        assert_eq!(
            checksum.split('\t').nth(1).map(str::trim),
            Some(got.checksum.expect("a checksum").to_string().as_str()),
            "{table}"
        );
    }
    // A post's content changed, the count the same: the checksum tells.
    stack.db_sql(
        &schema,
        "UPDATE wp_posts SET post_content = 'HACKED' WHERE ID = 1",
    );
    let after = bbws::drill::database::tables(&access).await.unwrap();
    assert_eq!(
        bbws::manifest::table_differences(&read, &after),
        [format!(
            "table wp_posts: checksum {} restored, {} recorded at backup time",
            after["wp_posts"].checksum.unwrap(),
            read["wp_posts"].checksum.unwrap()
        )]
    );
}
