//! Finishing and promoting a restored database (the restore function's `finishDatabase` and
//! `promoteDatabase` actions) and poll-job watching the instance, against the real RDS and
//! SSM clients answered by aws-smithy-mocks.

use aws_sdk_rds::operation::add_tags_to_resource::{
    AddTagsToResourceInput, AddTagsToResourceOutput,
};
use aws_sdk_rds::operation::create_db_instance::{
    CreateDBInstanceError, CreateDbInstanceInput, CreateDbInstanceOutput,
};
use aws_sdk_rds::operation::describe_db_clusters::DescribeDbClustersOutput;
use aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesOutput;
use aws_sdk_rds::operation::modify_db_cluster::{ModifyDbClusterInput, ModifyDbClusterOutput};
use aws_sdk_rds::types::error::DbInstanceAlreadyExistsFault;
use aws_sdk_rds::types::{DbCluster, DbClusterMember, DbInstance, Endpoint};
use aws_sdk_ssm::operation::get_parameter::{GetParameterError, GetParameterOutput};
use aws_sdk_ssm::operation::put_parameter::{PutParameterInput, PutParameterOutput};
use aws_sdk_ssm::types::error::ParameterNotFound;
use aws_sdk_ssm::types::Parameter;
use aws_smithy_mocks::{mock, Rule};
use bbws::restore::database::Promotion;

use crate::common::*;
use bbws::jobs::{JobKind, JobSet};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const RESTORED_DB: &str = "r-tenant-1-0a1b2c3d";
const RESTORED_DB_ARN: &str = "arn:aws:rds:af-south-1:123456789012:db:r-tenant-1-0a1b2c3d";
const RESTORED_CLUSTER_ARN: &str =
    "arn:aws:rds:af-south-1:123456789012:cluster:r-tenant-1-0a1b2c3d";
const WRITER: &str = "r-tenant-1-0a1b2c3d-1";
const PARAMETER: &str = "/bbws/dev/tenants/tenant-1/database-endpoint";

/// A restore plan as the plan step makes it, for a database of `kind`.
fn plan(kind: &str, promote: bool) -> Value {
    let (resource_type, current) = match kind {
        "aurora-cluster" => (
            "Aurora",
            "arn:aws:rds:af-south-1:123456789012:cluster:tenant-1",
        ),
        _ => ("RDS", DB_ARN),
    };
    json!({
        "tenantId": "tenant-1",
        "sourceTenantId": "tenant-1",
        "backupId": "tb-aaaa",
        "fileSystem": null,
        "files": null,
        "database": {
            "recoveryPointArn": "arn:aws:rds:af-south-1:123456789012:snapshot:awsbackup:job-1",
            "resource": kind,
            "resourceType": resource_type,
            "metadata": {},
            "target": RESTORED_DB
        },
        "service": null,
        "currentDatabase": {"arn": current, "kind": kind},
        "promoteDatabase": promote,
        "timeouts": {"efsSeconds": 600, "databaseSeconds": 1800, "serviceSeconds": 300},
        "polling": {"initialSeconds": 15, "maxSeconds": 60},
        "summary": "test"
    })
}

/// The restore jobs' set once AWS Backup's database job has ended in `state`.
fn restore_jobs(kind: &str, state: &str, created: Option<&str>) -> Value {
    json!({
        "operation": "restore",
        "tenantId": "tenant-1",
        "backupId": "tb-aaaa",
        "jobs": [{
            "kind": "restore",
            "resource": kind,
            "resourceArn": "arn:aws:rds:af-south-1:123456789012:snapshot:awsbackup:job-1",
            "jobId": "restore-db",
            "vault": "bbws-dev-backup-vault",
            "state": state,
            "deadline": NOW + 1800,
            "createdResourceArn": created,
            "startedAt": NOW
        }],
        "done": true,
        "attempt": 0,
        "waitSeconds": 0,
        "polling": {"initialSeconds": 15, "maxSeconds": 60}
    })
}

async fn act(
    mocks: &Mocks,
    action: &str,
    plan: Value,
    restore_jobs: Value,
) -> Result<Value, bbws::Error> {
    restore(
        LambdaEvent::new(
            json!({"action": action, "plan": plan, "restore": restore_jobs}),
            Context::default(),
        ),
        &mocks.deps(),
    )
    .await
}

/// `action` on a restore whose database job completed, creating the restored database.
async fn completed(
    mocks: &Mocks,
    action: &str,
    kind: &str,
    promote: bool,
) -> Result<Value, bbws::Error> {
    let created = match kind {
        "aurora-cluster" => RESTORED_CLUSTER_ARN,
        _ => RESTORED_DB_ARN,
    };
    act(
        mocks,
        action,
        plan(kind, promote),
        restore_jobs(kind, "COMPLETED", Some(created)),
    )
    .await
}

fn instance(id: &str, status: &str, cluster: Option<&str>) -> DbInstance {
    DbInstance::builder()
        .db_instance_identifier(id)
        .db_instance_status(status)
        .set_db_cluster_identifier(cluster.map(str::to_owned))
        .endpoint(
            Endpoint::builder()
                .address(format!("{id}.abc.af-south-1.rds.amazonaws.com"))
                .port(3306)
                .build(),
        )
        .build()
}

fn instances(id: &'static str, status: &'static str, cluster: Option<&'static str>) -> Rule {
    mock!(aws_sdk_rds::Client::describe_db_instances)
        .match_requests(move |r| r.db_instance_identifier() == Some(id))
        .then_output(move || {
            DescribeDbInstancesOutput::builder()
                .db_instances(instance(id, status, cluster))
                .build()
        })
}

fn cluster(members: &[&str], scaling: bool) -> Rule {
    let members: Vec<String> = members.iter().map(|m| m.to_string()).collect();
    mock!(aws_sdk_rds::Client::describe_db_clusters)
        .match_requests(|r| r.db_cluster_identifier() == Some(RESTORED_DB))
        .then_output(move || {
            let mut c = DbCluster::builder()
                .db_cluster_identifier(RESTORED_DB)
                .engine("aurora-mysql")
                .endpoint("r-tenant-1-0a1b2c3d.cluster-abc.af-south-1.rds.amazonaws.com")
                .port(3306);
            for m in &members {
                c = c.db_cluster_members(
                    DbClusterMember::builder().db_instance_identifier(m).build(),
                );
            }
            if scaling {
                c = c.serverless_v2_scaling_configuration(
                    aws_sdk_rds::types::ServerlessV2ScalingConfigurationInfo::builder()
                        .min_capacity(0.5)
                        .max_capacity(8.0)
                        .build(),
                );
            }
            DescribeDbClustersOutput::builder()
                .db_clusters(c.build())
                .build()
        })
}

fn tagging(sent: &Sent<AddTagsToResourceInput>) -> Rule {
    let sent = sent.clone();
    mock!(aws_sdk_rds::Client::add_tags_to_resource).then_compute_output(move |r| {
        sent.push(r);
        AddTagsToResourceOutput::builder().build()
    })
}

fn tags_sent(sent: &Sent<AddTagsToResourceInput>) -> Vec<(String, Vec<(String, String)>)> {
    sent.all()
        .iter()
        .map(|r| {
            (
                r.resource_name().unwrap_or_default().to_owned(),
                r.tags()
                    .iter()
                    .map(|t| {
                        (
                            t.key().unwrap_or_default().to_owned(),
                            t.value().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

fn recording_create(sent: &Sent<CreateDbInstanceInput>) -> Rule {
    let sent = sent.clone();
    mock!(aws_sdk_rds::Client::create_db_instance).then_compute_output(move |r| {
        sent.push(r);
        CreateDbInstanceOutput::builder().build()
    })
}

fn recording_modify(sent: &Sent<ModifyDbClusterInput>) -> Rule {
    let sent = sent.clone();
    mock!(aws_sdk_rds::Client::modify_db_cluster).then_compute_output(move |r| {
        sent.push(r);
        ModifyDbClusterOutput::builder().build()
    })
}

#[tokio::test]
async fn a_restored_instance_is_tagged_and_watched_until_available() {
    let mut mocks = Mocks::new();
    let tags = Sent::default();
    mocks.rds.push(tagging(&tags));
    mocks.rds.push(instances(RESTORED_DB, "available", None));
    let creates = Sent::default();
    mocks.rds.push(recording_create(&creates));

    let out = completed(&mocks, "finishDatabase", "rds-instance", false)
        .await
        .unwrap();
    let set: JobSet = serde_json::from_value(out).unwrap();
    assert!(set.done, "an available instance needs no wait");
    assert_eq!(set.jobs[0].kind, JobKind::Database);
    assert_eq!(set.jobs[0].job_id, RESTORED_DB);
    assert!(
        creates.all().is_empty(),
        "an RDS restore makes its own instance"
    );
    let sent = tags_sent(&tags);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, RESTORED_DB_ARN);
    assert!(sent[0]
        .1
        .contains(&("bbws:restored-from".into(), "tb-aaaa".into())));
    assert!(
        !sent[0].1.iter().any(|(k, _)| k == "bbws:tenant-id"),
        "not the tenant's database until promoted"
    );
}

#[tokio::test]
async fn a_restored_aurora_cluster_gets_a_serverless_instance_then_is_watched() {
    let mut mocks = Mocks::new();
    let tags = Sent::default();
    mocks.rds.push(tagging(&tags));
    mocks.rds.push(cluster(&[], false));
    let modified = Sent::default();
    mocks.rds.push(recording_modify(&modified));
    let creates = Sent::default();
    mocks.rds.push(recording_create(&creates));
    mocks
        .rds
        .push(instances(WRITER, "creating", Some(RESTORED_DB)));

    let out = completed(&mocks, "finishDatabase", "aurora-cluster", false)
        .await
        .unwrap();
    let set: JobSet = serde_json::from_value(out).unwrap();
    assert!(!set.done);
    assert_eq!(set.wait_seconds, 15);
    assert_eq!(set.jobs[0].job_id, WRITER);
    assert_eq!(set.jobs[0].deadline, NOW + 1800);
    assert_eq!(
        set.jobs[0].resource_arn,
        "arn:aws:rds:af-south-1:123456789012:db:r-tenant-1-0a1b2c3d-1"
    );

    let created = creates.all();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].db_instance_identifier(), Some(WRITER));
    assert_eq!(created[0].db_cluster_identifier(), Some(RESTORED_DB));
    assert_eq!(created[0].db_instance_class(), Some("db.serverless"));
    assert_eq!(created[0].engine(), Some("aurora-mysql"));
    // The cluster had no Serverless v2 range: it gets the configured one first.
    let range = modified.all()[0]
        .serverless_v2_scaling_configuration()
        .cloned()
        .unwrap();
    assert_eq!(
        (range.min_capacity(), range.max_capacity()),
        (Some(2.0), Some(16.0))
    );
    assert_eq!(tags_sent(&tags)[0].0, RESTORED_CLUSTER_ARN);

    // poll-job: creating → available.
    let poll = |status: &'static str, now_set: Value| {
        let mut mocks = Mocks::new();
        mocks.rds.push(instances(WRITER, status, Some(RESTORED_DB)));
        async move {
            poll_job(LambdaEvent::new(now_set, Context::default()), &mocks.deps())
                .await
                .map(|v| serde_json::from_value::<JobSet>(v).unwrap())
        }
    };
    let watched = serde_json::to_value(&set).unwrap();
    let still = poll("backing-up", watched.clone()).await.unwrap();
    assert!(!still.done);
    assert_eq!(still.jobs[0].state, "backing-up");
    let ready = poll("available", watched.clone()).await.unwrap();
    assert!(ready.done);
    let failed = poll("incompatible-restore", watched.clone())
        .await
        .unwrap_err();
    assert_eq!(failed.name(), "RestoreFailed");
    assert!(
        failed.to_string().contains("incompatible-restore"),
        "{failed}"
    );
    let mut late = set.clone();
    late.jobs[0].deadline = NOW - 1;
    let timed_out = poll("creating", serde_json::to_value(&late).unwrap())
        .await
        .unwrap_err();
    assert_eq!(timed_out.name(), "RestoreTimeout");
}

#[tokio::test]
async fn finishing_twice_adds_one_instance() {
    // The cluster already has the instance: nothing is created or modified.
    let mut mocks = Mocks::new();
    let tags = Sent::default();
    mocks.rds.push(tagging(&tags));
    mocks.rds.push(cluster(&[WRITER], true));
    let modified = Sent::default();
    mocks.rds.push(recording_modify(&modified));
    let creates = Sent::default();
    mocks.rds.push(recording_create(&creates));
    mocks
        .rds
        .push(instances(WRITER, "available", Some(RESTORED_DB)));
    let jobs = restore_jobs("aurora-cluster", "COMPLETED", Some(RESTORED_CLUSTER_ARN));
    let out = act(
        &mocks,
        "finishDatabase",
        plan("aurora-cluster", false),
        jobs,
    )
    .await
    .unwrap();
    assert_eq!(out["done"], true);
    assert!(creates.all().is_empty());
    assert!(modified.all().is_empty(), "the cluster's own range is kept");
}

#[tokio::test]
async fn an_instance_of_that_name_elsewhere_is_restore_failed() {
    for (owner, outcome) in [
        (RESTORED_DB, Ok(())),
        ("someone-else", Err("RestoreFailed")),
    ] {
        let mut mocks = Mocks::new();
        mocks.rds.push(tagging(&Sent::default()));
        mocks.rds.push(cluster(&[], true));
        mocks.rds.push(
            mock!(aws_sdk_rds::Client::create_db_instance).then_error(|| {
                CreateDBInstanceError::DbInstanceAlreadyExistsFault(
                    DbInstanceAlreadyExistsFault::builder().build(),
                )
            }),
        );
        let owner: &'static str = owner;
        mocks.rds.push(instances(WRITER, "available", Some(owner)));
        let got = completed(&mocks, "finishDatabase", "aurora-cluster", false).await;
        match (got, outcome) {
            (Ok(_), Ok(())) => {}
            (Err(e), Err(name)) => assert_eq!(e.name(), name),
            (got, expected) => panic!("{owner}: {got:?}, expected {expected:?}"),
        }
    }
}

#[tokio::test]
async fn an_unfinished_database_restore_is_refused_with_nothing_called() {
    let mut mocks = Mocks::new();
    let tags = Sent::default();
    mocks.rds.push(tagging(&tags));
    for (state, created) in [("RUNNING", Some(RESTORED_DB_ARN)), ("COMPLETED", None)] {
        let err = act(
            &mocks,
            "finishDatabase",
            plan("rds-instance", false),
            restore_jobs("rds-instance", state, created),
        )
        .await
        .unwrap_err();
        assert_eq!(err.name(), "RestoreFailed", "{state}");
    }
    assert!(tags.all().is_empty());
}

fn parameter(value: Option<&'static str>) -> Rule {
    let rule =
        mock!(aws_sdk_ssm::Client::get_parameter).match_requests(|r| r.name() == Some(PARAMETER));
    match value {
        Some(v) => rule.then_output(move || {
            GetParameterOutput::builder()
                .parameter(Parameter::builder().name(PARAMETER).value(v).build())
                .build()
        }),
        None => rule.then_error(|| {
            GetParameterError::ParameterNotFound(ParameterNotFound::builder().build())
        }),
    }
}

fn recording_put(sent: &Sent<PutParameterInput>) -> Rule {
    let sent = sent.clone();
    mock!(aws_sdk_ssm::Client::put_parameter).then_compute_output(move |r| {
        sent.push(r);
        PutParameterOutput::builder().version(2).build()
    })
}

/// ModifyDBInstance and ModifyDBCluster, recorded: what a promotion protects.
fn protecting(
    instances: &Sent<aws_sdk_rds::operation::modify_db_instance::ModifyDbInstanceInput>,
    clusters: &Sent<ModifyDbClusterInput>,
) -> Vec<Rule> {
    use aws_sdk_rds::operation::modify_db_instance::ModifyDbInstanceOutput;
    let (i, c) = (instances.clone(), clusters.clone());
    vec![
        mock!(aws_sdk_rds::Client::modify_db_instance).then_compute_output(move |r| {
            i.push(r);
            ModifyDbInstanceOutput::builder().build()
        }),
        mock!(aws_sdk_rds::Client::modify_db_cluster).then_compute_output(move |r| {
            c.push(r);
            ModifyDbClusterOutput::builder().build()
        }),
    ]
}

/// RemoveTagsFromResource, recorded as (resource, keys).
fn untagging(sent: &Sent<(String, Vec<String>)>) -> Rule {
    use aws_sdk_rds::operation::remove_tags_from_resource::RemoveTagsFromResourceOutput;
    let sent = sent.clone();
    mock!(aws_sdk_rds::Client::remove_tags_from_resource).then_compute_output(move |r| {
        sent.push(&(
            r.resource_name().unwrap_or_default().to_owned(),
            r.tag_keys().to_vec(),
        ));
        RemoveTagsFromResourceOutput::builder().build()
    })
}

#[tokio::test]
async fn promotion_points_the_tenants_parameter_at_the_restored_database() {
    let mut mocks = Mocks::new();
    let tags = Sent::default();
    let untagged = Sent::default();
    let (modified, modified_clusters) = (Sent::default(), Sent::default());
    mocks.rds.push(tagging(&tags));
    mocks.rds.push(untagging(&untagged));
    mocks.rds.extend(protecting(&modified, &modified_clusters));
    mocks.rds.push(instances(RESTORED_DB, "available", None));
    mocks
        .ssm
        .push(parameter(Some("tenant-1.abc.rds.amazonaws.com:3306")));
    let puts = Sent::default();
    mocks.ssm.push(recording_put(&puts));

    let out = completed(&mocks, "promoteDatabase", "rds-instance", true)
        .await
        .unwrap();
    let promotion: Promotion = serde_json::from_value(out).unwrap();
    let endpoint = "r-tenant-1-0a1b2c3d.abc.af-south-1.rds.amazonaws.com:3306";
    assert_eq!(promotion.parameter, PARAMETER);
    assert_eq!(promotion.endpoint, endpoint);
    assert_eq!(
        promotion.previous_endpoint.as_deref(),
        Some("tenant-1.abc.rds.amazonaws.com:3306")
    );
    assert_eq!(promotion.previous_database.unwrap().arn, DB_ARN);
    assert!(!promotion.unchanged);

    let put = &puts.all()[0];
    assert_eq!(put.name(), Some(PARAMETER));
    assert_eq!(put.value(), Some(endpoint));
    assert_eq!(put.overwrite(), Some(true));
    // The restored database becomes the tenant's: tagged first, then protected.
    let sent = tags_sent(&tags);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].0, RESTORED_DB_ARN);
    assert!(sent[0]
        .1
        .contains(&("bbws:tenant-id".into(), "tenant-1".into())));
    assert!(sent[0]
        .1
        .contains(&("bbws:promoted-at".into(), "20260921T141320Z".into())));
    let protect = &modified.all()[0];
    assert_eq!(protect.db_instance_identifier(), Some(RESTORED_DB));
    assert_eq!(protect.deletion_protection(), Some(true));
    assert_eq!(protect.copy_tags_to_snapshot(), Some(true));
    assert!(modified_clusters.all().is_empty());
    assert!(promotion.deletion_protection);
    // The previous database is marked superseded and loses only its tenant tag.
    assert_eq!(sent[1].0, DB_ARN);
    for pair in [
        ("bbws:superseded-tenant-id", "tenant-1"),
        ("bbws:superseded-by", RESTORED_DB),
        ("bbws:superseded-at", "20260921T141320Z"),
    ] {
        assert!(
            sent[1].1.contains(&(pair.0.into(), pair.1.into())),
            "{pair:?}"
        );
    }
    assert_eq!(
        untagged.all(),
        [(DB_ARN.to_owned(), vec!["bbws:tenant-id".to_owned()])]
    );
    let superseded = promotion.superseded.unwrap();
    assert_eq!(superseded.resources, [DB_ARN]);
    assert_eq!(superseded.superseded_by, RESTORED_DB);
}

/// Promotes a restored Aurora cluster while the tenant's parameter holds `current`;
/// returns the output and what was put.
async fn promote_cluster(current: Option<&'static str>) -> (Value, Vec<PutParameterInput>) {
    let mut mocks = Mocks::new();
    mocks.rds.push(tagging(&Sent::default()));
    mocks.rds.push(untagging(&Sent::default()));
    mocks
        .rds
        .extend(protecting(&Sent::default(), &Sent::default()));
    mocks.rds.push(cluster(&[WRITER], true));
    mocks.rds.push(
        mock!(aws_sdk_rds::Client::describe_db_clusters)
            .match_requests(|r| r.db_cluster_identifier() == Some("tenant-1"))
            .then_output(|| {
                DescribeDbClustersOutput::builder()
                    .db_clusters(
                        DbCluster::builder()
                            .db_cluster_identifier("tenant-1")
                            .db_cluster_members(
                                DbClusterMember::builder()
                                    .db_instance_identifier("tenant-1-writer")
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            }),
    );
    mocks.ssm.push(parameter(current));
    let puts = Sent::default();
    mocks.ssm.push(recording_put(&puts));
    let out = completed(&mocks, "promoteDatabase", "aurora-cluster", true)
        .await
        .unwrap();
    (out, puts.all())
}

const CLUSTER_ENDPOINT: &str = "r-tenant-1-0a1b2c3d.cluster-abc.af-south-1.rds.amazonaws.com:3306";

#[tokio::test]
async fn promoting_again_leaves_the_parameter_as_it_is() {
    let (out, puts) = promote_cluster(Some(CLUSTER_ENDPOINT)).await;
    assert_eq!(out["unchanged"], true);
    assert!(puts.is_empty());
}

#[tokio::test]
async fn a_first_promotion_creates_the_parameter_with_the_clusters_endpoint() {
    let (out, puts) = promote_cluster(None).await;
    assert_eq!(out["previousEndpoint"], Value::Null);
    // The previous cluster and its member instance are superseded.
    assert_eq!(
        out["superseded"]["resources"],
        json!([
            "arn:aws:rds:af-south-1:123456789012:cluster:tenant-1",
            "arn:aws:rds:af-south-1:123456789012:db:tenant-1-writer"
        ])
    );
    assert_eq!(
        puts[0].value(),
        Some(CLUSTER_ENDPOINT),
        "the cluster's writer endpoint, not one instance's"
    );
}

#[tokio::test]
async fn promotion_not_asked_for_is_refused() {
    let mut mocks = Mocks::new();
    let puts = Sent::default();
    mocks.ssm.push(recording_put(&puts));
    let err = completed(&mocks, "promoteDatabase", "rds-instance", false)
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidRestoreTarget");
    assert!(puts.all().is_empty());
}
