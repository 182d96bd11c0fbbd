//! restore, force-redeploy and the restore side of poll-job against the real SDK clients,
//! answered by aws-smithy-mocks.

use std::collections::HashMap;

use aws_sdk_backup::operation::describe_recovery_point::{
    DescribeRecoveryPointError, DescribeRecoveryPointOutput,
};
use aws_sdk_backup::operation::describe_restore_job::DescribeRestoreJobOutput;
use aws_sdk_backup::operation::get_recovery_point_restore_metadata::GetRecoveryPointRestoreMetadataOutput;
use aws_sdk_backup::operation::list_recovery_points_by_backup_vault::ListRecoveryPointsByBackupVaultOutput;
use aws_sdk_backup::operation::list_tags::ListTagsOutput;
use aws_sdk_backup::operation::start_restore_job::{StartRestoreJobInput, StartRestoreJobOutput};
use aws_sdk_backup::types::error::ResourceNotFoundException;
use aws_sdk_backup::types::{RecoveryPointByBackupVault, RecoveryPointStatus, RestoreJobStatus};
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::update_service::{UpdateServiceInput, UpdateServiceOutput};
use aws_sdk_ecs::types::{Deployment, DeploymentRolloutState, Service};
use aws_sdk_rds::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_rds::types::Tag;
use aws_smithy_mocks::{mock, Rule};

use crate::common::*;
use bbws::jobs::{idempotency_token, JobSet};
use bbws::restore::RestorePlan;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const RP_EFS: &str = "arn:aws:backup:af-south-1:123456789012:recovery-point:rp-efs-1";
const RP_DB: &str = "arn:aws:rds:af-south-1:123456789012:snapshot:awsbackup:job-db-1";
const RP_OTHER: &str = "arn:aws:backup:af-south-1:123456789012:recovery-point:rp-other";
const BACKUP: &str = "tb-aaaa";
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_sdk_dynamodb::types::AttributeValue;

struct Point {
    arn: &'static str,
    resource: &'static str,
    kind: &'static str,
    status: RecoveryPointStatus,
    tags: Vec<(&'static str, &'static str)>,
}

/// The vault holding `points`, as AWS answers for it: listings filtered as asked, tags of
/// AWS Backup's recovery points through ListTags, of a database's (an RDS snapshot) only
/// through RDS: a ListTags on it matches no rule and fails the test.
fn vault(mocks: &mut Mocks, points: Vec<Point>) {
    mocks.dynamodb.extend(catalog_rules(&points));
    let (backup, rds) = vault_rules(points);
    mocks.backup.extend(backup);
    mocks.rds.extend(rds);
}

/// The catalog as the backups that made `points` recorded them: each tenant backup (by its
/// own tags, or a joined file-system point by its joined tag) with its file-system and
/// database points; no tenant's life and no continuous point is recorded. Queries answer by
/// partition, a backup id filter, `life#` (none) and `continuous#` (none).
fn catalog_rules(points: &[Point]) -> Vec<Rule> {
    let mut items: HashMap<(String, String), HashMap<String, AttributeValue>> = HashMap::new();
    for p in points {
        let mut owners: Vec<(String, String)> = Vec::new();
        let tag = |key: &str| {
            p.tags
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        };
        if let (Some(tenant), Some(backup)) = (tag("bbws:tenant-id"), tag("bbws:backup-id")) {
            owners.push((tenant, backup));
        }
        for (key, value) in &p.tags {
            if let Some(backup) = key.strip_prefix("bbws:backup:") {
                owners.push((value.to_string(), backup.to_owned()));
            }
        }
        let status = match p.status {
            RecoveryPointStatus::Completed => "COMPLETED",
            RecoveryPointStatus::Expired => "EXPIRED",
            _ => "PARTIAL",
        };
        let point = AttributeValue::M(HashMap::from([
            ("recoveryPointArn".into(), AttributeValue::S(p.arn.into())),
            ("resourceArn".into(), AttributeValue::S(p.resource.into())),
            ("resourceType".into(), AttributeValue::S(p.kind.into())),
            (
                "vault".into(),
                AttributeValue::S("bbws-dev-backup-vault".into()),
            ),
            (
                "createdAt".into(),
                AttributeValue::N((NOW - 600).to_string()),
            ),
            ("status".into(), AttributeValue::S(status.into())),
        ]));
        let component = if p.kind == "EFS" { "files" } else { "database" };
        for (tenant, backup) in owners {
            let item = items
                .entry((tenant.clone(), backup.clone()))
                .or_insert_with(|| {
                    HashMap::from([
                        ("pk".into(), AttributeValue::S(format!("tenant#{tenant}"))),
                        ("sk".into(), AttributeValue::S(format!("backup#x#{backup}"))),
                        ("tenantId".into(), AttributeValue::S(tenant.clone())),
                        ("backupId".into(), AttributeValue::S(backup.clone())),
                        ("kind".into(), AttributeValue::S("on-demand".into())),
                        ("time".into(), AttributeValue::N((NOW - 600).to_string())),
                    ])
                });
            item.insert(component.into(), point.clone());
        }
    }
    let items: Vec<HashMap<String, AttributeValue>> = items.into_values().collect();
    let noted: Vec<(AttributeValue, AttributeValue)> = items
        .iter()
        .map(|i| (i["pk"].clone(), i["backupId"].clone()))
        .collect();
    let mut rules = lease_rules();
    rules.extend([
        // A started restore is noted on the backup it used, and only there.
        mock!(aws_sdk_dynamodb::Client::update_item)
            .match_requests(move |r| {
                r.update_expression() == Some("ADD restores :r")
                    && r.key().is_some_and(|k| {
                        noted.iter().any(|(pk, id)| {
                            k.get("pk") == Some(pk)
                                && k.get("sk").and_then(|s| s.as_s().ok()).is_some_and(|sk| {
                                    sk.ends_with(&format!("#{}", id.as_s().unwrap()))
                                })
                        })
                    })
            })
            .then_output(|| UpdateItemOutput::builder().build()),
        mock!(aws_sdk_dynamodb::Client::query)
            .match_requests(|r| r.table_name() == Some("bbws-dev-backup-catalog"))
            .then_compute_output(move |r| {
                let values = r.expression_attribute_values().cloned().unwrap_or_default();
                let pk = values.get(":pk").cloned();
                let id = values.get(":id").cloned();
                let lives = values.contains_key(":life");
                // A tenant's continuous points (`begins_with(sk, :c)`): these tests record none.
                let continuous = values.contains_key(":c");
                let found: Vec<_> = items
                    .iter()
                    .filter(|item| !lives && !continuous && item.get("pk") == pk.as_ref())
                    .filter(|item| id.is_none() || item.get("backupId") == id.as_ref())
                    .cloned()
                    .collect();
                QueryOutput::builder()
                    .count(found.len() as i32)
                    .set_items(Some(found))
                    .build()
            }),
    ]);
    rules
}

/// The tenant's lease, free: read (none), taken, its jobs noted.
fn lease_rules() -> Vec<Rule> {
    let is_lease = |key: Option<&HashMap<String, AttributeValue>>| {
        key.and_then(|k| k.get("pk"))
            .and_then(|pk| pk.as_s().ok())
            .is_some_and(|pk| pk.starts_with("lease#af-south-1#"))
    };
    vec![
        mock!(aws_sdk_dynamodb::Client::get_item)
            .match_requests(move |r| is_lease(r.key()))
            .then_output(|| GetItemOutput::builder().build()),
        mock!(aws_sdk_dynamodb::Client::update_item)
            .match_requests(move |r| is_lease(r.key()))
            .then_compute_output(|r| {
                let values = r.expression_attribute_values().cloned().unwrap_or_default();
                let mut item = HashMap::new();
                for (name, value) in [("holder", ":me"), ("generation", ":gen")] {
                    if let Some(v) = values.get(value) {
                        item.insert(name.to_owned(), v.clone());
                    }
                }
                UpdateItemOutput::builder()
                    .set_attributes(Some(item))
                    .build()
            }),
    ]
}

fn vault_rules(points: Vec<Point>) -> (Vec<Rule>, Vec<Rule>) {
    let listed: Vec<RecoveryPointByBackupVault> = points
        .iter()
        .map(|p| {
            RecoveryPointByBackupVault::builder()
                .recovery_point_arn(p.arn)
                .resource_arn(p.resource)
                .resource_type(p.kind)
                .status(p.status.clone())
                .build()
        })
        .collect();
    let tags: HashMap<String, HashMap<String, String>> = points
        .iter()
        .map(|p| {
            (
                p.arn.to_string(),
                p.tags
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        })
        .collect();
    let kinds: HashMap<String, String> = points
        .iter()
        .map(|p| (p.arn.to_string(), p.kind.to_string()))
        .collect();
    let rds_tags = tags.clone();
    let rds = vec![mock!(aws_sdk_rds::Client::list_tags_for_resource)
        .match_requests(|r| {
            r.resource_name()
                .is_some_and(|a| a.starts_with("arn:aws:rds:"))
        })
        .then_compute_output(move |r| {
            let tags = rds_tags
                .get(r.resource_name().unwrap_or_default())
                .cloned()
                .unwrap_or_default();
            ListTagsForResourceOutput::builder()
                .set_tag_list(Some(
                    tags.into_iter()
                        .map(|(k, v)| Tag::builder().key(k).value(v).build())
                        .collect(),
                ))
                .build()
        })];
    let backup = vec![
        mock!(aws_sdk_backup::Client::list_recovery_points_by_backup_vault)
            .match_requests(|r| r.backup_vault_name() == Some("bbws-dev-backup-vault"))
            .then_compute_output(move |r| {
                let wanted = listed
                    .iter()
                    .filter(|p| {
                        r.by_resource_arn()
                            .is_none_or(|a| p.resource_arn() == Some(a))
                            && r.by_resource_type()
                                .is_none_or(|t| p.resource_type() == Some(t))
                    })
                    .cloned()
                    .collect();
                ListRecoveryPointsByBackupVaultOutput::builder()
                    .set_recovery_points(Some(wanted))
                    .build()
            }),
        mock!(aws_sdk_backup::Client::list_tags)
            .match_requests(|r| {
                r.resource_arn()
                    .is_some_and(|a| a.starts_with("arn:aws:backup:"))
            })
            .then_compute_output(move |r| {
                ListTagsOutput::builder()
                    .set_tags(tags.get(r.resource_arn().unwrap_or_default()).cloned())
                    .build()
            }),
        mock!(aws_sdk_backup::Client::get_recovery_point_restore_metadata).then_compute_output(
            move |r| {
                let arn = r.recovery_point_arn().unwrap_or_default();
                let metadata: HashMap<String, String> =
                    if kinds.get(arn).map(String::as_str) == Some("EFS") {
                        [
                            ("file-system-id", FS_ID),
                            ("newFileSystem", "true"),
                            ("Encrypted", "true"),
                            ("PerformanceMode", "generalPurpose"),
                        ]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect()
                    } else if kinds.get(arn).map(String::as_str) == Some("Aurora") {
                        [
                            ("DBClusterIdentifier", "tenant-1"),
                            ("Engine", "aurora-mysql"),
                            ("AvailabilityZones", r#"["af-south-1a"]"#),
                        ]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect()
                    } else {
                        [("DBInstanceIdentifier", "tenant-1"), ("Engine", "mysql")]
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect()
                    };
                GetRecoveryPointRestoreMetadataOutput::builder()
                    .recovery_point_arn(arn)
                    .set_restore_metadata(Some(metadata))
                    .build()
            },
        ),
    ];
    (backup, rds)
}

fn owned_pair() -> Vec<Point> {
    vec![
        Point {
            arn: RP_EFS,
            resource: FS_ARN,
            kind: "EFS",
            status: RecoveryPointStatus::Completed,
            tags: vec![("bbws:tenant-id", "tenant-1"), ("bbws:backup-id", BACKUP)],
        },
        Point {
            arn: RP_DB,
            resource: DB_ARN,
            kind: "RDS",
            status: RecoveryPointStatus::Completed,
            tags: vec![("bbws:tenant-id", "tenant-1"), ("bbws:backup-id", BACKUP)],
        },
        Point {
            arn: RP_OTHER,
            resource: FS_ARN,
            kind: "EFS",
            status: RecoveryPointStatus::Completed,
            tags: vec![
                ("bbws:tenant-id", "tenant-2"),
                ("bbws:backup-id", "tb-other"),
            ],
        },
    ]
}

fn tenant_resources(mocks: &mut Mocks, root: &str) {
    mocks.tagging.push(tagged(&[AP_ARN, DB_ARN, SERVICE_ARN]));
    mocks.efs.push(access_point(root));
}

async fn plan(deps: &Deps, request: Value) -> Result<RestorePlan, bbws::Error> {
    let out = restore(
        LambdaEvent::new(
            json!({"action": "plan", "executionId": EXECUTION, "request": request}),
            Context::default(),
        ),
        deps,
    )
    .await?;
    Ok(serde_json::from_value(out).unwrap())
}

async fn start(deps: &Deps, plan: &RestorePlan) -> Result<JobSet, bbws::Error> {
    let out = restore(
        LambdaEvent::new(
            json!({"action": "start", "executionId": EXECUTION, "plan": plan}),
            Context::default(),
        ),
        deps,
    )
    .await?;
    Ok(serde_json::from_value(out).unwrap())
}

fn recording_restore(sent: &Sent<StartRestoreJobInput>) -> Rule {
    let sent = sent.clone();
    mock!(aws_sdk_backup::Client::start_restore_job).then_compute_output(move |r| {
        sent.push(r);
        let id = if r.resource_type() == Some("EFS") {
            "restore-efs"
        } else {
            "restore-db"
        };
        StartRestoreJobOutput::builder().restore_job_id(id).build()
    })
}

#[tokio::test]
async fn restores_files_into_the_shared_file_system_and_the_database_to_a_new_instance() {
    let mut mocks = Mocks::new();
    tenant_resources(&mut mocks, "/tenant-1");
    vault(&mut mocks, owned_pair());
    let sent = Sent::default();
    mocks.backup.push(recording_restore(&sent));
    let deps = mocks.deps();

    let plan = plan(&deps, json!({"tenantId": "tenant-1", "backupId": BACKUP}))
        .await
        .unwrap();
    assert_eq!(plan.tenant_id.as_str(), "tenant-1");
    assert_eq!(plan.service.as_ref().unwrap().name, "tenant-1");
    assert_eq!(plan.timeouts.efs_seconds, 600);
    assert_eq!(plan.timeouts.database_seconds, 1800);
    assert_eq!(plan.timeouts.service_seconds, 300);
    let files = plan.files.as_ref().unwrap();
    assert_eq!(files.recovery_point_arn, RP_EFS);
    assert_eq!(files.metadata["file-system-id"], FS_ID);
    assert_eq!(files.metadata["newFileSystem"], "false");
    assert_eq!(files.metadata["ItemsToRestore"], r#"["/tenant-1"]"#);
    let db = plan.database.as_ref().unwrap();
    assert_eq!(db.recovery_point_arn, RP_DB);
    assert!(db.target.starts_with("r-tenant-1-"), "{}", db.target);
    assert_eq!(
        db.metadata["DBInstanceIdentifier"], db.target,
        "never the tenant's own database"
    );

    let set = start(&deps, &plan).await.unwrap();
    assert_eq!(set.jobs.len(), 2);
    assert_eq!(set.jobs[0].deadline, NOW + 600);
    assert_eq!(set.jobs[1].deadline, NOW + 1800);
    let requests = sent.all();
    for r in &requests {
        let rp = r.recovery_point_arn().unwrap();
        assert_eq!(
            r.iam_role_arn(),
            Some("arn:aws:iam::123456789012:role/bbws-dev-backup")
        );
        assert_eq!(
            r.idempotency_token(),
            Some(idempotency_token(EXECUTION, "restore", rp).as_str())
        );
    }
    assert_eq!(requests[0].resource_type(), Some("EFS"));
    assert_eq!(requests[1].resource_type(), Some("RDS"));
}

#[tokio::test]
async fn a_joined_file_system_recovery_point_is_found_by_its_joined_tag() {
    let mut mocks = Mocks::new();
    tenant_resources(&mut mocks, "/tenant-1");
    vault(
        &mut mocks,
        vec![Point {
            arn: RP_EFS,
            resource: FS_ARN,
            kind: "EFS",
            status: RecoveryPointStatus::Completed,
            tags: vec![
                ("bbws:backup-type", "automated"),
                ("bbws:backup:tb-joined", "tenant-1"),
            ],
        }],
    );
    let plan = plan(
        &mocks.deps(),
        json!({"tenantId": "tenant-1", "backupId": "tb-joined"}),
    )
    .await
    .unwrap();
    assert_eq!(plan.files.unwrap().recovery_point_arn, RP_EFS);
    assert!(
        plan.database.is_none(),
        "a files-only backup restores files only"
    );
}

#[tokio::test]
async fn an_unknown_backup_is_backup_not_found() {
    let mut mocks = Mocks::new();
    tenant_resources(&mut mocks, "/tenant-1");
    vault(&mut mocks, owned_pair());
    let err = plan(
        &mocks.deps(),
        json!({"tenantId": "tenant-1", "backupId": "tb-nope"}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "BackupNotFound");
    assert_eq!(err.status(), 404);
}

#[tokio::test]
async fn an_expired_recovery_point_is_backup_not_found() {
    let mut mocks = Mocks::new();
    tenant_resources(&mut mocks, "/tenant-1");
    let mut points = owned_pair();
    points[0].status = RecoveryPointStatus::Expired;
    vault(&mut mocks, points);
    let err = plan(
        &mocks.deps(),
        json!({"tenantId": "tenant-1", "backupId": BACKUP}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "BackupNotFound");
    assert!(err.to_string().contains("EXPIRED"), "{err}");
}

#[tokio::test]
async fn another_tenants_backup_is_refused_unless_cloned_explicitly() {
    let mut mocks = Mocks::new();
    tenant_resources(&mut mocks, "/tenant-1");
    vault(&mut mocks, owned_pair());
    let sent = Sent::default();
    mocks.backup.push(recording_restore(&sent));
    mocks.backup.push(
        mock!(aws_sdk_backup::Client::describe_recovery_point)
            .match_requests(|r| r.recovery_point_arn() == Some(RP_OTHER))
            .then_output(|| {
                DescribeRecoveryPointOutput::builder()
                    .recovery_point_arn(RP_OTHER)
                    .resource_arn(FS_ARN)
                    .resource_type("EFS")
                    .status(RecoveryPointStatus::Completed)
                    .build()
            }),
    );
    let deps = mocks.deps();
    // By id, tenant-1's catalog has no such backup; by ARN, the point says whose it is.
    let err = plan(
        &deps,
        json!({"tenantId": "tenant-1", "backupId": "tb-other"}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "BackupNotFound");
    let err = plan(&deps, json!({"tenantId": "tenant-1", "backupId": RP_OTHER}))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidRestoreTarget");
    assert_eq!(err.status(), 400);
    assert!(err.to_string().contains("tenant-2"), "{err}");
    assert!(sent.all().is_empty());

    // Named explicitly: tenant-2's backup cloned into tenant-1.
    let plan = plan(
        &deps,
        json!({"tenantId": "tenant-2", "backupId": "tb-other", "cloneTo": "tenant-1"}),
    )
    .await
    .unwrap();
    assert_eq!(plan.tenant_id.as_str(), "tenant-1");
    assert_eq!(plan.source_tenant_id.as_str(), "tenant-2");
    assert_eq!(
        plan.files.unwrap().metadata["ItemsToRestore"],
        r#"["/tenant-2"]"#
    );
}

#[tokio::test]
async fn a_recovery_point_arn_that_does_not_exist_is_backup_not_found() {
    let mut mocks = Mocks::new();
    tenant_resources(&mut mocks, "/tenant-1");
    mocks.backup.push(
        mock!(aws_sdk_backup::Client::describe_recovery_point).then_error(|| {
            DescribeRecoveryPointError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("no such recovery point")
                    .build(),
            )
        }),
    );
    let err = plan(
        &mocks.deps(),
        json!({"tenantId": "tenant-1", "backupId": RP_EFS}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "BackupNotFound");
}

#[tokio::test]
async fn a_recovery_point_arn_restores_that_point_alone() {
    let mut mocks = Mocks::new();
    tenant_resources(&mut mocks, "/tenant-1");
    vault(&mut mocks, owned_pair());
    mocks.backup.push(
        mock!(aws_sdk_backup::Client::describe_recovery_point).then_output(|| {
            DescribeRecoveryPointOutput::builder()
                .recovery_point_arn(RP_EFS)
                .resource_arn(FS_ARN)
                .resource_type("EFS")
                .status(RecoveryPointStatus::Completed)
                .build()
        }),
    );
    let plan = plan(
        &mocks.deps(),
        json!({"tenantId": "tenant-1", "backupId": RP_EFS}),
    )
    .await
    .unwrap();
    assert!(plan.files.is_some());
    assert!(plan.database.is_none());
}

#[tokio::test]
async fn bad_requests_are_refused_before_any_aws_call() {
    let mut mocks = Mocks::new();
    tenant_resources(&mut mocks, "/tenant-1");
    let deps = mocks.deps();
    for (request, name) in [
        (
            json!({"tenantId": "../x", "backupId": BACKUP}),
            "InvalidTenant",
        ),
        (
            json!({"tenantId": "tenant-1", "backupId": BACKUP, "cloneTo": "B"}),
            "InvalidTenant",
        ),
        (
            json!({"tenantId": "tenant-1", "backupId": ""}),
            "InvalidRestoreTarget",
        ),
        (
            json!({"tenantId": "tenant-1", "backupId": BACKUP, "files": false, "database": false}),
            "InvalidRestoreTarget",
        ),
        (
            json!({"tenantId": "tenant-1", "backupId": BACKUP, "promoteDatabase": true, "database": false}),
            "InvalidRestoreTarget",
        ),
        (json!({"tenantId": "tenant-1"}), "InvalidRestoreTarget"),
    ] {
        let err = plan(&deps, request.clone()).await.unwrap_err();
        assert_eq!(err.name(), name, "{request}");
    }
    assert_eq!(mocks.tagging[0].num_calls(), 0);
}

#[tokio::test]
async fn a_failed_restore_job_is_restore_failed() {
    let mut mocks = Mocks::new();
    mocks.backup.push(
        mock!(aws_sdk_backup::Client::describe_restore_job).then_output(|| {
            DescribeRestoreJobOutput::builder()
                .restore_job_id("restore-efs")
                .status(RestoreJobStatus::Failed)
                .status_message("Access denied to the file system")
                .build()
        }),
    );
    let set = json!({
        "operation": "restore", "tenantId": "tenant-1", "backupId": BACKUP, "done": false,
        "attempt": 0, "waitSeconds": 1, "polling": {"initialSeconds": 1, "maxSeconds": 2},
        "jobs": [{"kind": "restore", "resource": "efs", "resourceArn": RP_EFS, "jobId": "restore-efs",
                  "vault": "bbws-dev-backup-vault", "state": "PENDING", "deadline": NOW + 60}]
    });
    let err = poll_job(LambdaEvent::new(set, Context::default()), &mocks.deps())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "RestoreFailed");
    assert!(err.to_string().contains("Access denied"), "{err}");
}

fn service(deployments: Vec<(&'static str, DeploymentRolloutState)>, running: i32) -> Service {
    let mut builder = Service::builder()
        .service_arn(SERVICE_ARN)
        .service_name("tenant-1")
        .desired_count(1)
        .running_count(running);
    for (i, (id, state)) in deployments.into_iter().enumerate() {
        builder = builder.deployments(
            Deployment::builder()
                .id(id)
                .status(if i == 0 { "PRIMARY" } else { "ACTIVE" })
                .rollout_state(state)
                .build(),
        );
    }
    builder.build()
}

#[tokio::test]
async fn redeploys_and_waits_until_the_service_is_stable() {
    let sent: Sent<UpdateServiceInput> = Sent::default();
    let rec = sent.clone();
    let mut mocks = Mocks::new();
    mocks.ecs.push(
        mock!(aws_sdk_ecs::Client::update_service).then_compute_output(move |r| {
            rec.push(r);
            UpdateServiceOutput::builder()
                .service(service(
                    vec![
                        ("ecs-svc/new", DeploymentRolloutState::InProgress),
                        ("ecs-svc/old", DeploymentRolloutState::Completed),
                    ],
                    1,
                ))
                .build()
        }),
    );
    let describe = mock!(aws_sdk_ecs::Client::describe_services)
        .sequence()
        .output(|| {
            DescribeServicesOutput::builder()
                .services(service(
                    vec![
                        ("ecs-svc/new", DeploymentRolloutState::InProgress),
                        ("ecs-svc/old", DeploymentRolloutState::Completed),
                    ],
                    1,
                ))
                .build()
        })
        .output(|| {
            DescribeServicesOutput::builder()
                .services(service(
                    vec![("ecs-svc/new", DeploymentRolloutState::Completed)],
                    1,
                ))
                .build()
        })
        .build();
    mocks.ecs.push(describe);
    let deps = mocks.deps();
    let input = json!({
        "tenantId": "tenant-1", "backupId": BACKUP, "timeoutSeconds": 300,
        "polling": {"initialSeconds": 1, "maxSeconds": 2},
        "service": {"arn": SERVICE_ARN, "cluster": "bbws-dev", "name": "tenant-1"}
    });
    let set: JobSet = serde_json::from_value(
        force_redeploy(LambdaEvent::new(input, Context::default()), &deps)
            .await
            .unwrap(),
    )
    .unwrap();
    let requests = sent.all();
    assert_eq!(requests[0].cluster(), Some("bbws-dev"));
    assert_eq!(requests[0].service(), Some("tenant-1"));
    assert_eq!(requests[0].force_new_deployment(), Some(true));
    assert_eq!(set.jobs[0].job_id, "ecs-svc/new");
    assert_eq!(set.jobs[0].deadline, NOW + 300);

    let poll = |set: JobSet| {
        let deps = &deps;
        async move {
            let out = poll_job(
                LambdaEvent::new(serde_json::to_value(set).unwrap(), Context::default()),
                deps,
            )
            .await
            .unwrap();
            serde_json::from_value::<JobSet>(out).unwrap()
        }
    };
    let first = poll(set).await;
    assert!(!first.done, "two deployments: not stable yet");
    let second = poll(first).await;
    assert!(second.done, "{second:?}");
}

#[tokio::test]
async fn a_failed_rollout_is_restore_failed() {
    let mut mocks = Mocks::new();
    mocks.ecs.push(
        mock!(aws_sdk_ecs::Client::describe_services).then_output(|| {
            let mut s = service(vec![("ecs-svc/new", DeploymentRolloutState::Failed)], 0);
            s = Service::builder()
                .service_arn(SERVICE_ARN)
                .desired_count(1)
                .running_count(0)
                .deployments(
                    Deployment::builder()
                        .id("ecs-svc/new")
                        .status("PRIMARY")
                        .rollout_state(DeploymentRolloutState::Failed)
                        .rollout_state_reason("tasks failed to start")
                        .build(),
                )
                .set_service_name(s.service_name().map(str::to_owned))
                .build();
            DescribeServicesOutput::builder().services(s).build()
        }),
    );
    let set = json!({
        "operation": "restore", "tenantId": "tenant-1", "backupId": BACKUP, "done": false,
        "attempt": 0, "waitSeconds": 1, "polling": {"initialSeconds": 1, "maxSeconds": 2},
        "jobs": [{"kind": "deployment", "resource": "ecs-service", "resourceArn": SERVICE_ARN,
                  "jobId": "ecs-svc/new", "vault": "", "state": "RUNNING", "deadline": NOW + 60}]
    });
    let err = poll_job(LambdaEvent::new(set, Context::default()), &mocks.deps())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "RestoreFailed");
    assert!(err.to_string().contains("tasks failed to start"), "{err}");
}

#[tokio::test]
async fn promotion_is_planned_naming_the_tenants_current_database() {
    let mut mocks = Mocks::new();
    tenant_resources(&mut mocks, "/tenant-1");
    vault(&mut mocks, owned_pair());
    let deps = mocks.deps();
    let planned = plan(
        &deps,
        json!({"tenantId": "tenant-1", "backupId": BACKUP, "promoteDatabase": true}),
    )
    .await
    .unwrap();
    assert!(planned.promote_database);
    assert_eq!(planned.current_database.as_ref().unwrap().arn, DB_ARN);
    assert!(planned.database.is_some());

    // A backup without a database cannot promote one.
    let mut mocks = Mocks::new();
    tenant_resources(&mut mocks, "/tenant-1");
    vault(&mut mocks, owned_pair().into_iter().take(1).collect());
    let err = plan(
        &mocks.deps(),
        json!({"tenantId": "tenant-1", "backupId": BACKUP, "promoteDatabase": true}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "BackupNotFound", "{err}");
}

#[tokio::test]
async fn files_and_database_go_live_together_by_default_or_neither_side_by_side() {
    let planned = |request: Value| async move {
        let mut mocks = Mocks::new();
        tenant_resources(&mut mocks, "/tenant-1");
        vault(&mut mocks, owned_pair());
        plan(&mocks.deps(), request).await
    };
    // By default both are restored, and both go live.
    let live = planned(json!({"tenantId": "tenant-1", "backupId": BACKUP}))
        .await
        .unwrap();
    assert!(live.promote_database && live.live && !live.side_by_side);
    assert!(live.files_into.is_none() && live.service.is_some());
    assert!(
        live.goes_live
            .starts_with("goes live: the files in /tenant-1")
            && live.goes_live.contains("and the database as r-tenant-1-"),
        "{}",
        live.goes_live
    );
    assert!(live.summary.ends_with(&live.goes_live));

    // Restored files with the database they were not backed up with: refused.
    let err =
        planned(json!({"tenantId": "tenant-1", "backupId": BACKUP, "promoteDatabase": false}))
            .await
            .unwrap_err();
    assert_eq!(err.name(), "InvalidRestoreTarget", "{err}");
    assert!(err.to_string().contains("go live together"), "{err}");

    // Side by side: nothing live, the files beside the tenant's, no service to redeploy.
    let beside = planned(json!({"tenantId": "tenant-1", "backupId": BACKUP, "sideBySide": true}))
        .await
        .unwrap();
    assert!(!beside.promote_database && !beside.live && beside.side_by_side);
    let into = beside.files_into.clone().unwrap();
    assert!(
        into.starts_with("/.bbws-scratch/side-by-side/tenant-1/"),
        "{into}"
    );
    assert!(beside.service.is_none());
    assert!(beside.database.is_some());
    assert!(
        beside
            .goes_live
            .starts_with("nothing goes live: the files go to /.bbws-scratch/side-by-side/")
            && beside
                .goes_live
                .contains("the database is restored to new r-tenant-1-"),
        "{}",
        beside.goes_live
    );
    let err = planned(
        json!({"tenantId": "tenant-1", "backupId": BACKUP, "sideBySide": true,
                             "promoteDatabase": true}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "InvalidRestoreTarget", "{err}");

    // The files alone go live; the database is said to be left as it is.
    let files = planned(json!({"tenantId": "tenant-1", "backupId": BACKUP, "database": false}))
        .await
        .unwrap();
    assert!(!files.promote_database && files.live);
    assert_eq!(
        files.goes_live,
        "goes live: the files in /tenant-1 (the current ones kept aside); the database is left as it is"
    );
}

const CLUSTER_ARN: &str = "arn:aws:rds:af-south-1:123456789012:cluster:tenant-1";
const RP_CLUSTER: &str =
    "arn:aws:rds:af-south-1:123456789012:cluster-snapshot:awsbackup:job-cluster-1";

#[tokio::test]
async fn an_aurora_backup_is_restored_to_a_new_cluster() {
    let mut mocks = Mocks::new();
    mocks
        .tagging
        .push(tagged(&[AP_ARN, CLUSTER_ARN, SERVICE_ARN]));
    mocks.efs.push(access_point("/tenant-1"));
    vault(
        &mut mocks,
        vec![Point {
            arn: RP_CLUSTER,
            resource: CLUSTER_ARN,
            kind: "Aurora",
            status: RecoveryPointStatus::Completed,
            tags: vec![("bbws:tenant-id", "tenant-1"), ("bbws:backup-id", BACKUP)],
        }],
    );
    let sent = Sent::default();
    mocks.backup.push(recording_restore(&sent));
    let deps = mocks.deps();

    let plan = plan(&deps, json!({"tenantId": "tenant-1", "backupId": BACKUP}))
        .await
        .unwrap();
    let db = plan.database.as_ref().unwrap();
    assert_eq!(db.resource, bbws::aws::ResourceKind::AuroraCluster);
    assert!(db.target.starts_with("r-tenant-1-"), "{}", db.target);
    assert_eq!(db.metadata["DBClusterIdentifier"], db.target);
    assert_eq!(plan.current_database.as_ref().unwrap().arn, CLUSTER_ARN);
    start(&deps, &plan).await.unwrap();
    assert_eq!(sent.all()[0].resource_type(), Some("Aurora"));
}

#[tokio::test]
async fn the_latest_promoted_restore_is_the_tenants_database() {
    const OLD: &str = DB_ARN;
    const RESTORED: &str = "arn:aws:rds:af-south-1:123456789012:db:r-tenant-1-0a1b2c3d";
    const NEWER: &str = "arn:aws:rds:af-south-1:123456789012:db:r-tenant-1-4e5f6a7b";
    type Tagged = Vec<(&'static str, &'static [(&'static str, &'static str)])>;
    let cases: Vec<(Tagged, Result<&str, &str>)> = vec![
        // Restored, never promoted: the tenant keeps its database.
        (
            vec![(OLD, &[]), (RESTORED, &[("bbws:restored-from", BACKUP)])],
            Ok(OLD),
        ),
        // Promoted: the restored database is the tenant's now.
        (
            vec![
                (OLD, &[]),
                (
                    RESTORED,
                    &[
                        ("bbws:restored-from", BACKUP),
                        ("bbws:promoted-at", "20261125T120000Z"),
                    ],
                ),
            ],
            Ok(RESTORED),
        ),
        // Promoted twice: the later one.
        (
            vec![
                (OLD, &[]),
                (RESTORED, &[("bbws:promoted-at", "20261125T120000Z")]),
                (NEWER, &[("bbws:promoted-at", "20261126T080000Z")]),
            ],
            Ok(NEWER),
        ),
        // Two databases nobody explained: ambiguous.
        (vec![(OLD, &[]), (RESTORED, &[])], Err("InvalidTenant")),
    ];
    for (tagged, expected) in cases {
        let mut mocks = Mocks::new();
        let mut resources: Vec<(&str, &[(&str, &str)])> = vec![(AP_ARN, &[]), (SERVICE_ARN, &[])];
        resources.extend(tagged.iter().cloned());
        mocks.tagging.push(tagged_with(&resources));
        mocks.efs.push(access_point("/tenant-1"));
        vault(&mut mocks, owned_pair());
        let deps = mocks.deps();
        let got = plan(&deps, json!({"tenantId": "tenant-1", "backupId": BACKUP})).await;
        match (got, expected) {
            (Ok(plan), Ok(arn)) => {
                assert_eq!(plan.current_database.unwrap().arn, arn, "{tagged:?}")
            }
            (Err(e), Err(name)) => assert_eq!(e.name(), name, "{tagged:?}"),
            (got, expected) => panic!("{tagged:?}: {got:?} instead of {expected:?}"),
        }
    }
}

#[tokio::test]
async fn a_moment_takes_the_newest_points_at_or_before_it_and_says_the_gap() {
    let mut mocks = Mocks::new();
    tenant_resources(&mut mocks, "/tenant-1");
    vault(&mut mocks, owned_pair());
    let deps = mocks.deps();
    let at = time::OffsetDateTime::from_unix_timestamp(NOW)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let plan = plan(&deps, json!({"tenantId": "tenant-1", "at": at}))
        .await
        .unwrap();
    assert_eq!(plan.backup_id, BACKUP);
    assert_eq!(plan.files.as_ref().unwrap().recovery_point_arn, RP_EFS);
    assert_eq!(plan.database.as_ref().unwrap().recovery_point_arn, RP_DB);
    let pit = plan.point_in_time.expect("what the moment took");
    assert_eq!(pit.gap_seconds, Some(0));
    assert!(plan.summary.contains("0 s apart"), "{}", plan.summary);

    // Before any point: nothing to restore.
    let err = plan_err(
        &deps,
        json!({"tenantId": "tenant-1", "at": "2001-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(err.name(), "BackupNotFound");
    // An hour ahead: no backup exists for it yet, and the newest is no substitute.
    let ahead = time::OffsetDateTime::from_unix_timestamp(NOW + 3600)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let err = plan_err(&deps, json!({"tenantId": "tenant-1", "at": ahead})).await;
    assert_eq!(err.name(), "InvalidRestoreTarget");
    assert!(err.message().contains("3600 s in the future"), "{err}");
    // Not a time, or both a backup and a moment: refused before any call.
    for request in [
        json!({"tenantId": "tenant-1", "at": "yesterday"}),
        json!({"tenantId": "tenant-1", "at": at, "backupId": BACKUP}),
    ] {
        assert_eq!(
            plan_err(&deps, request).await.name(),
            "InvalidRestoreTarget"
        );
    }
}

async fn plan_err(deps: &Deps, request: Value) -> bbws::Error {
    plan(deps, request).await.unwrap_err()
}

const COPY_EFS: &str = "arn:aws:backup:eu-west-1:123456789012:recovery-point:rp-efs-1-copy";
const COPY_DB: &str = "arn:aws:rds:eu-west-1:123456789012:snapshot:awsbackup:copyjob-db-1";
const DR_VAULT_ARN: &str = "arn:aws:backup:eu-west-1:123456789012:backup-vault:bbws-dr-vault";

/// The catalog's DR copies of `points` (source ARN, copy ARN or none, copy job state), as
/// BatchGetItem answers for them.
fn dr_copies(points: &[(&'static str, Option<&'static str>, &'static str)]) -> Rule {
    let items: Vec<HashMap<String, AttributeValue>> = points
        .iter()
        .map(|(source, copy, state)| {
            let mut fields = HashMap::from([
                (
                    "copyJobId".to_owned(),
                    AttributeValue::S(format!("copy-of-{source}")),
                ),
                (
                    "vaultArn".to_owned(),
                    AttributeValue::S(DR_VAULT_ARN.into()),
                ),
                ("state".to_owned(), AttributeValue::S((*state).into())),
                (
                    "createdAt".to_owned(),
                    AttributeValue::N((NOW - 500).to_string()),
                ),
            ]);
            if let Some(copy) = copy {
                fields.insert("recoveryPointArn".into(), AttributeValue::S((*copy).into()));
            }
            HashMap::from([
                (
                    "pk".to_owned(),
                    AttributeValue::S(format!("point#{source}")),
                ),
                ("sk".to_owned(), AttributeValue::S("point".into())),
                (
                    "recoveryPointArn".to_owned(),
                    AttributeValue::S((*source).into()),
                ),
                ("drCopy".to_owned(), AttributeValue::M(fields)),
            ])
        })
        .collect();
    mock!(aws_sdk_dynamodb::Client::batch_get_item).then_compute_output(move |_| {
        aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput::builder()
            .responses("bbws-dev-backup-catalog", items.clone())
            .build()
    })
}

/// The restore function as the DR region's deployment runs it: in eu-west-1, restoring
/// from the DR vault.
fn in_the_dr_region(mut deps: Deps) -> Deps {
    deps.restore.source_vault = Some("bbws-dr-vault".into());
    deps.restore.region = Some("eu-west-1".into());
    deps
}

#[tokio::test]
async fn in_the_dr_region_each_point_is_restored_from_its_completed_dr_copy() {
    let mut mocks = Mocks::new();
    tenant_resources(&mut mocks, "/tenant-1");
    vault(&mut mocks, owned_pair());
    mocks.dynamodb.push(dr_copies(&[
        (RP_EFS, Some(COPY_EFS), "COMPLETED"),
        (RP_DB, Some(COPY_DB), "COMPLETED"),
    ]));
    // The copies' restore metadata is read from the DR vault.
    let read = Sent::default();
    let reads = read.clone();
    mocks.backup.insert(
        0,
        mock!(aws_sdk_backup::Client::get_recovery_point_restore_metadata)
            .match_requests(|r| r.backup_vault_name() == Some("bbws-dr-vault"))
            .then_compute_output(move |r| {
                reads.push(r);
                GetRecoveryPointRestoreMetadataOutput::builder()
                    .recovery_point_arn(r.recovery_point_arn().unwrap_or_default())
                    // As AWS gives a copy's metadata: the source region's network.
                    .set_restore_metadata(Some(HashMap::from([
                        ("Encrypted".to_owned(), "true".to_owned()),
                        (
                            "DBSubnetGroupName".to_owned(),
                            "bbws-dev-data-db".to_owned(),
                        ),
                        (
                            "VpcSecurityGroupIds".to_owned(),
                            r#"["sg-0primary0000000a"]"#.to_owned(),
                        ),
                        ("AvailabilityZone".to_owned(), "af-south-1a".to_owned()),
                    ])))
                    .build()
            }),
    );
    let sent = Sent::default();
    mocks.backup.push(recording_restore(&sent));
    let deps = in_the_dr_region(mocks.deps());

    let plan = plan(&deps, json!({"tenantId": "tenant-1", "backupId": BACKUP}))
        .await
        .unwrap();
    let files = plan.files.as_ref().unwrap();
    assert_eq!(files.recovery_point_arn, COPY_EFS);
    assert_eq!(files.copy_of.as_deref(), Some(RP_EFS));
    assert_eq!(files.vault.as_deref(), Some("bbws-dr-vault"));
    assert_eq!(
        files.metadata["file-system-id"], FS_ID,
        "this region's file system"
    );
    assert_eq!(files.metadata["ItemsToRestore"], r#"["/tenant-1"]"#);
    let db = plan.database.as_ref().unwrap();
    assert_eq!(db.recovery_point_arn, COPY_DB);
    assert_eq!(db.copy_of.as_deref(), Some(RP_DB));
    // The DR region's own network, never the source region's.
    assert_eq!(db.metadata["DBSubnetGroupName"], "bbws-dev-data-db-dr");
    assert_eq!(
        db.metadata["VpcSecurityGroupIds"],
        r#"["sg-0dr000000000000a"]"#
    );
    assert!(
        !db.metadata.contains_key("AvailabilityZone"),
        "{:?}",
        db.metadata
    );
    assert!(
        !db.metadata.contains_key("KmsKeyId"),
        "an instance keeps its snapshot's key"
    );
    assert!(
        plan.summary
            .contains("from the DR copies in vault bbws-dr-vault; goes live: the files"),
        "{}",
        plan.summary
    );
    assert_eq!(
        read.all().len(),
        2,
        "both copies' metadata, from the DR vault"
    );

    let set = start(&deps, &plan).await.unwrap();
    let restored: Vec<_> = sent
        .all()
        .iter()
        .map(|r| r.recovery_point_arn().unwrap().to_owned())
        .collect();
    assert_eq!(restored, vec![COPY_EFS, COPY_DB]);
    assert!(set.jobs.iter().all(|j| j.vault == "bbws-dr-vault"));
}

#[tokio::test]
async fn in_the_dr_region_a_copy_not_completed_is_backup_not_found() {
    let mut mocks = Mocks::new();
    tenant_resources(&mut mocks, "/tenant-1");
    vault(&mut mocks, owned_pair());
    mocks.dynamodb.push(dr_copies(&[
        (RP_EFS, Some(COPY_EFS), "COMPLETED"),
        (RP_DB, None, "RUNNING"),
    ]));
    let deps = in_the_dr_region(mocks.deps());
    let e = plan_err(&deps, json!({"tenantId": "tenant-1", "backupId": BACKUP})).await;
    assert_eq!(e.kind(), bbws::ErrorKind::BackupNotFound);
    assert!(e.message().contains(RP_DB), "{}", e.message());
    assert!(
        e.message().contains("RUNNING, not COMPLETED"),
        "{}",
        e.message()
    );

    // A point the catalog knows no copy of.
    let mut mocks = Mocks::new();
    tenant_resources(&mut mocks, "/tenant-1");
    vault(&mut mocks, owned_pair());
    mocks
        .dynamodb
        .push(dr_copies(&[(RP_EFS, Some(COPY_EFS), "COMPLETED")]));
    let e = plan_err(
        &in_the_dr_region(mocks.deps()),
        json!({"tenantId": "tenant-1", "backupId": BACKUP}),
    )
    .await;
    assert_eq!(e.kind(), bbws::ErrorKind::BackupNotFound);
    assert!(e.message().contains("has no DR copy"), "{}", e.message());
}

#[tokio::test]
async fn a_completed_restore_job_carries_its_own_run_to_the_promotion() {
    use aws_smithy_types::DateTime;
    use bbws::restore::files::MountedFileSystem;
    // 2026-11-25T12:00:00.400Z to 12:01:00.200Z; the directory is dated 12:00:30.
    let (created, completed) = (1_795_608_000, 1_795_608_060);
    let mut mocks = Mocks::new();
    mocks.backup.push(
        mock!(aws_sdk_backup::Client::describe_restore_job).then_output(move || {
            DescribeRestoreJobOutput::builder()
                .restore_job_id("restore-efs")
                .status(RestoreJobStatus::Completed)
                .creation_date(DateTime::from_secs_and_nanos(created, 400_000_000))
                .completion_date(DateTime::from_secs_and_nanos(completed, 200_000_000))
                .build()
        }),
    );
    let set = json!({
        "operation": "restore", "tenantId": "tenant-1", "backupId": BACKUP, "done": false,
        "attempt": 0, "waitSeconds": 1, "polling": {"initialSeconds": 1, "maxSeconds": 2},
        "jobs": [{"kind": "restore", "resource": "efs", "resourceArn": RP_EFS, "jobId": "restore-efs",
                  "vault": "bbws-dev-backup-vault", "state": "PENDING", "deadline": NOW + 60}]
    });
    let polled = poll_job(LambdaEvent::new(set, Context::default()), &mocks.deps())
        .await
        .unwrap();
    // Rounded outwards to whole seconds: the window never loses the job's first or last second.
    assert_eq!(polled["jobs"][0]["createdAt"], created);
    assert_eq!(polled["jobs"][0]["completedAt"], completed + 1);

    let mount = tempfile::tempdir().unwrap();
    let fs = MountedFileSystem {
        mount: mount.path().to_path_buf(),
    };
    std::fs::create_dir_all(mount.path().join("tenant-1")).unwrap();
    std::fs::write(mount.path().join("tenant-1/index.php"), b"defaced").unwrap();
    let own = mount
        .path()
        .join("aws-backup-restore_2026-11-25T12-00-30-123456Z/tenant-1");
    std::fs::create_dir_all(&own).unwrap();
    std::fs::write(own.join("index.php"), b"<?php // backed up").unwrap();
    // A drill of the same tenant an hour later.
    let drill = mount
        .path()
        .join("aws-backup-restore_2026-11-25T13-00-00-000000Z/tenant-1");
    std::fs::create_dir_all(&drill).unwrap();
    std::fs::write(drill.join("index.php"), b"<?php // drill").unwrap();
    let promote = |restore: &Value| json!({"tenantId": "tenant-1", "sourceTenantId": "tenant-1", "restore": restore});
    // Without the job's own run, nothing can be told apart: refused, nothing moved.
    let mut unknown = polled.clone();
    unknown["jobs"][0]
        .as_object_mut()
        .unwrap()
        .remove("completedAt");
    let err =
        bbws::restore::files::handler(LambdaEvent::new(promote(&unknown), Context::default()), &fs)
            .await
            .unwrap_err();
    assert_eq!(err.name(), "RestoreFailed");
    assert_eq!(
        std::fs::read(mount.path().join("tenant-1/index.php")).unwrap(),
        b"defaced"
    );

    let out =
        bbws::restore::files::handler(LambdaEvent::new(promote(&polled), Context::default()), &fs)
            .await
            .unwrap();
    assert_eq!(out["restoredFrom"], own.display().to_string());
    assert_eq!(
        std::fs::read(mount.path().join("tenant-1/index.php")).unwrap(),
        b"<?php // backed up"
    );
    assert!(
        drill.join("index.php").exists(),
        "the drill's is left alone"
    );
}

/// The tenant's lease as another execution holds it: taking it fails its condition, and
/// reading it names the holder. `jobs` are what that holder noted.
fn held_lease(holder: &'static str, timed_out: bool, jobs: Option<String>) -> Vec<Rule> {
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    let item = move || {
        let mut item = HashMap::from([
            ("holder".to_owned(), AttributeValue::S(holder.into())),
            ("operation".to_owned(), AttributeValue::S("restore".into())),
            (
                "since".to_owned(),
                AttributeValue::N((NOW - 60).to_string()),
            ),
            (
                "leaseUntil".to_owned(),
                AttributeValue::N((NOW + 3600).to_string()),
            ),
            ("timedOut".to_owned(), AttributeValue::Bool(timed_out)),
            ("generation".to_owned(), AttributeValue::S(holder.into())),
        ]);
        if let Some(jobs) = &jobs {
            item.insert("jobs".to_owned(), AttributeValue::S(jobs.clone()));
        }
        item
    };
    let read = item.clone();
    vec![
        mock!(aws_sdk_dynamodb::Client::get_item)
            .match_requests(|r| {
                r.key()
                    .and_then(|k| k.get("pk"))
                    .and_then(|pk| pk.as_s().ok())
                    .is_some_and(|pk| pk.starts_with("lease#"))
            })
            .then_compute_output(move |_| GetItemOutput::builder().set_item(Some(read())).build()),
        mock!(aws_sdk_dynamodb::Client::update_item)
            .match_requests(move |r| {
                !timed_out
                    && r.condition_expression()
                        .is_some_and(|c| c.contains("leaseUntil < :now"))
            })
            .then_error(|| {
                UpdateItemError::ConditionalCheckFailedException(
                    ConditionalCheckFailedException::builder()
                        .message("The conditional request failed")
                        .meta(
                            ErrorMetadata::builder()
                                .code("ConditionalCheckFailedException")
                                .build(),
                        )
                        .build(),
                )
            }),
        // A timed-out holder's lease taken over by the same request: as the table then is.
        mock!(aws_sdk_dynamodb::Client::update_item)
            .match_requests(move |r| {
                timed_out
                    && r.condition_expression()
                        .is_some_and(|c| c.contains("leaseUntil < :now"))
            })
            .then_compute_output(move |_| {
                UpdateItemOutput::builder()
                    .set_attributes(Some(item()))
                    .build()
            }),
    ]
}

const OTHER: &str = "arn:aws:states:af-south-1:123456789012:execution:bbws-restore:other";

#[tokio::test]
async fn a_restore_of_a_tenant_another_operation_holds_is_tenant_busy_and_starts_nothing() {
    let mut mocks = Mocks::new();
    tenant_resources(&mut mocks, "/tenant-1");
    mocks.dynamodb.extend(held_lease(OTHER, false, None));
    vault(&mut mocks, owned_pair());
    let sent = Sent::default();
    mocks.backup.push(recording_restore(&sent));
    let deps = mocks.deps();

    let plan = plan(&deps, json!({"tenantId": "tenant-1", "backupId": BACKUP}))
        .await
        .unwrap();
    assert!(!plan.lease.as_ref().unwrap().adopting);
    let error = start(&deps, &plan).await.unwrap_err();
    assert_eq!(error.name(), "TenantBusy");
    assert_eq!(error.status(), 409);
    assert!(error.message().contains(OTHER), "{error}");
    assert!(sent.all().is_empty(), "no restore job started");
}

#[tokio::test]
async fn a_rerun_after_restore_timeout_adopts_the_jobs_the_timed_out_run_started() {
    let plan_of = |lease: Vec<Rule>| {
        let mut mocks = Mocks::new();
        tenant_resources(&mut mocks, "/tenant-1");
        mocks.dynamodb.extend(lease);
        vault(&mut mocks, owned_pair());
        mocks
    };
    // The key the timed-out run noted is the one this request plans with.
    let key = {
        let deps = plan_of(Vec::new()).deps();
        plan(&deps, json!({"tenantId": "tenant-1", "backupId": BACKUP}))
            .await
            .unwrap()
            .lease
            .unwrap()
            .request_key
    };
    let jobs = json!({"generation": OTHER, "jobs": {RP_EFS: "job-efs-1", RP_DB: "job-db-1"}});
    let mut lease = held_lease(OTHER, true, Some(jobs.to_string()));
    // The lease noted this request's key.
    lease.insert(
        0,
        mock!(aws_sdk_dynamodb::Client::get_item)
            .match_requests(|r| {
                r.key()
                    .and_then(|k| k.get("pk"))
                    .and_then(|pk| pk.as_s().ok())
                    .is_some_and(|pk| pk.starts_with("lease#"))
            })
            .then_compute_output(move |_| {
                GetItemOutput::builder()
                    .set_item(Some(HashMap::from([
                        ("holder".to_owned(), AttributeValue::S(OTHER.into())),
                        ("timedOut".to_owned(), AttributeValue::Bool(true)),
                        ("requestKey".to_owned(), AttributeValue::S(key.clone())),
                        ("generation".to_owned(), AttributeValue::S(OTHER.into())),
                    ])))
                    .build()
            }),
    );
    let mut mocks = plan_of(lease);
    let sent = Sent::default();
    mocks.backup.push(recording_restore(&sent));
    let deps = mocks.deps();

    let plan = plan(&deps, json!({"tenantId": "tenant-1", "backupId": BACKUP}))
        .await
        .unwrap();
    let lease = plan.lease.as_ref().unwrap();
    assert!(lease.adopting);
    assert_eq!(lease.generation, OTHER);
    assert_eq!(
        plan.database.as_ref().unwrap().target,
        bbws::restore::restored_identifier(&plan.tenant_id, OTHER),
        "the database the timed-out run's job is creating"
    );
    let set = start(&deps, &plan).await.unwrap();
    let ids: Vec<&str> = set.jobs.iter().map(|j| j.job_id.as_str()).collect();
    assert_eq!(ids, ["job-efs-1", "job-db-1"]);
    assert!(set.jobs.iter().all(|j| j.joined));
    assert!(sent.all().is_empty(), "no second restore job started");
}
