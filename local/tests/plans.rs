//! The template's backup plans run through the admin API (`POST /_local/plan-run`) against a
//! fake moto holding the platform's file system and databases, and the AWS Backup events
//! every job sends to EventBridge there.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_backup::types::{BackupJobState, CopyJobState};
use bbws_local::web::query_pairs;
use bytes::Bytes;
use common::*;
use http_body_util::Full;
use hyper::{Method, Response, StatusCode};
use serde_json::{json, Value};

const DB: &str = "arn:aws:rds:us-east-1:123456789012:db:tenant-1";
const CLUSTER: &str = "arn:aws:rds:us-east-1:123456789012:cluster:tenant-2";
const UNTAGGED: &str = "arn:aws:rds:us-east-1:123456789012:db:platform-db";

/// The fake moto: the seed's file system, a tagged instance, an untagged one, a tagged
/// cluster; every PutEvents accepted.
async fn fake_moto() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let (addr, seen) = fake_server(|req| {
        let target = req
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let body = if target == "AWSEvents.PutEvents" {
            r#"{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}"#.to_owned()
        } else if req
            .uri
            .starts_with("/2015-02-01/file-systems")
        {
            // The data stack's file system, and another the plan must not select.
            format!(
                r#"{{"FileSystems":[{{"FileSystemId":"{FS_ID}","Name":"bbws-dev-efs"}},{{"FileSystemId":"fs-other","Name":"scratch"}}]}}"#
            )
        } else if req.uri.starts_with("/2015-02-01/resource-tags/") {
            r#"{"Tags":[]}"#.to_owned()
        } else {
            let form: BTreeMap<String, String> =
                query_pairs(std::str::from_utf8(&req.body).unwrap_or_default())
                    .into_iter()
                    .collect();
            let tagged = "<TagList><Tag><Key>bbws:tenant-id</Key><Value>t</Value></Tag></TagList>";
            match form.get("Action").map(String::as_str) {
                Some("DescribeDBInstances") => format!(
                    "<DescribeDBInstancesResponse><DescribeDBInstancesResult><DBInstances>\
                     <DBInstance><DBInstanceArn>{DB}</DBInstanceArn>{tagged}</DBInstance>\
                     <DBInstance><DBInstanceArn>{UNTAGGED}</DBInstanceArn><TagList/></DBInstance>\
                     </DBInstances></DescribeDBInstancesResult></DescribeDBInstancesResponse>"
                ),
                Some("DescribeDBClusters") => format!(
                    "<DescribeDBClustersResponse><DescribeDBClustersResult><DBClusters>\
                     <DBCluster><DBClusterArn>{CLUSTER}</DBClusterArn>{tagged}</DBCluster>\
                     </DBClusters></DescribeDBClustersResult></DescribeDBClustersResponse>"
                ),
                _ => format!(
                    "<ListTagsForResourceResponse><ListTagsForResourceResult>{tagged}\
                     </ListTagsForResourceResult></ListTagsForResourceResponse>"
                ),
            }
        };
        Response::new(Full::new(Bytes::from(body)))
    })
    .await;
    (format!("http://{addr}"), seen)
}

async fn plans_local() -> (Local, Arc<Mutex<Vec<Seen>>>) {
    let (moto, seen) = fake_moto().await;
    let local = start_with(0.3, |c| {
        c.moto = moto;
        c.backup_events = true;
    })
    .await;
    local.create_vaults().await;
    local.write_tenant(FS_ID, "tenant-1");
    (local, seen)
}

/// The events put so far: (detail-type, resources, detail).
fn events(seen: &Mutex<Vec<Seen>>) -> Vec<(String, Vec<String>, Value)> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|r| {
            r.headers.get("x-amz-target").and_then(|v| v.to_str().ok())
                == Some("AWSEvents.PutEvents")
        })
        .map(|r| {
            let auth = r.headers["authorization"].to_str().unwrap();
            assert!(auth.contains("/us-east-1/events/aws4_request"), "{auth}");
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            let entry = &body["Entries"][0];
            assert_eq!(entry["Source"], "aws.backup");
            (
                entry["DetailType"].as_str().unwrap().to_owned(),
                serde_json::from_value(entry["Resources"].clone()).unwrap(),
                serde_json::from_str(entry["Detail"].as_str().unwrap()).unwrap(),
            )
        })
        .collect()
}

async fn plan_run(local: &Local, body: Option<Value>) -> Vec<Value> {
    let (status, answer) = local.admin(Method::POST, "/_local/plan-run", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["jobs"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_run_backs_up_what_each_selection_picks_and_copies_it_to_dr() {
    let (local, seen) = plans_local().await;
    let c = &local.backup;
    let jobs = plan_run(&local, None).await;
    let mut picked: Vec<(&str, &str)> = jobs
        .iter()
        .map(|j| {
            (
                j["plan"].as_str().unwrap(),
                j["resourceArn"].as_str().unwrap(),
            )
        })
        .collect();
    picked.sort_unstable();
    let fs = efs_arn(FS_ID);
    assert_eq!(
        picked,
        [
            ("database", CLUSTER),
            ("database", DB),
            ("efs", fs.as_str())
        ],
        "the file system and the tagged databases, not the untagged one"
    );

    for job in &jobs {
        let id = job["backupJobId"].as_str().unwrap();
        let done = backup_job_ended(c, id).await;
        assert_eq!(done.state(), Some(&BackupJobState::Completed));
        let by = done.created_by().expect("started by the plan");
        let database = job["plan"] == "database";
        assert_eq!(
            by.backup_rule_name(),
            Some(if database {
                "hourly-rds-backup"
            } else {
                "hourly-efs-backup"
            })
        );
        assert!(by
            .backup_plan_arn()
            .unwrap()
            .starts_with("arn:aws:backup:us-east-1:123456789012:backup-plan:"));
        let lifecycle = done.recovery_point_lifecycle().unwrap();
        if database {
            assert_eq!(
                (
                    lifecycle.move_to_cold_storage_after_days(),
                    lifecycle.delete_after_days()
                ),
                (None, Some(7))
            );
        } else {
            assert_eq!(
                (
                    lifecycle.move_to_cold_storage_after_days(),
                    lifecycle.delete_after_days()
                ),
                (Some(1), Some(91))
            );
        }
        let rp_arn = done.recovery_point_arn().unwrap();
        let rp = c
            .describe_recovery_point()
            .backup_vault_name(VAULT)
            .recovery_point_arn(rp_arn)
            .send()
            .await
            .unwrap();
        assert_eq!(
            rp.created_by().and_then(|b| b.backup_plan_id()),
            by.backup_plan_id()
        );
        // ListTags serves AWS Backup's own ARNs (EFS); a database's are RDS snapshots'.
        if !database {
            let tags = c.list_tags().resource_arn(rp_arn).send().await.unwrap();
            let tags = tags.tags().unwrap();
            assert_eq!(tags["bbws:backup-type"], "automated");
            assert_eq!(tags["bbws:component"], "efs");
        }

        let copy = eventually("the plan's copy", || async {
            c.list_copy_jobs()
                .by_resource_arn(job["resourceArn"].as_str().unwrap())
                .send()
                .await
                .unwrap()
                .copy_jobs()
                .first()
                .cloned()
        })
        .await;
        let copy = copy_job_ended(c, copy.copy_job_id().unwrap()).await;
        assert_eq!(copy.state(), Some(&CopyJobState::Completed));
        assert_eq!(copy.source_recovery_point_arn(), Some(rp_arn));
        assert_eq!(
            copy.destination_backup_vault_arn(),
            Some(dr_vault_arn().as_str())
        );
        assert_eq!(copy.created_by_backup_job_id(), Some(id));
        assert_eq!(
            copy.created_by().and_then(|b| b.backup_rule_id()),
            by.backup_rule_id()
        );
        assert_eq!(
            copy.destination_recovery_point_lifecycle()
                .and_then(|l| l.delete_after_days()),
            Some(30)
        );
    }

    // Every job's events, in the order its states came: CREATED, RUNNING, COMPLETED.
    let events = eventually("every copy's COMPLETED event", || async {
        let all = events(&seen);
        let copied = all
            .iter()
            .filter(|(kind, _, d)| kind == "Copy Job State Change" && d["state"] == "COMPLETED")
            .count();
        (copied == jobs.len()).then_some(all)
    })
    .await;
    for job in &jobs {
        let id = job["backupJobId"].as_str().unwrap();
        let mine: Vec<&(String, Vec<String>, Value)> = events
            .iter()
            .filter(|(kind, _, d)| kind == "Backup Job State Change" && d["backupJobId"] == id)
            .collect();
        let states: Vec<&str> = mine
            .iter()
            .map(|e| e.2["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["CREATED", "RUNNING", "COMPLETED"]);
        let (_, resources, detail) = mine[2];
        assert_eq!(detail["resourceArn"], job["resourceArn"]);
        assert_eq!(detail["percentDone"], 100);
        // As AWS's examples: RUNNING names the plan, COMPLETED does not; the point does.
        assert_eq!(
            mine[1].2["createdBy"]["backupPlanRuleId"]
                .as_str()
                .map(str::len),
            Some(36)
        );
        assert!(detail.get("createdBy").is_none(), "{detail}");
        let done = c
            .describe_backup_job()
            .backup_job_id(id)
            .send()
            .await
            .unwrap();
        assert_eq!(resources, &[done.recovery_point_arn().unwrap().to_owned()]);
        let point = c
            .describe_recovery_point()
            .backup_vault_name(VAULT)
            .recovery_point_arn(&resources[0])
            .send()
            .await
            .unwrap();
        assert_eq!(
            point.created_by().and_then(|b| b.backup_rule_id()),
            mine[1].2["createdBy"]["backupPlanRuleId"].as_str()
        );
        assert!(point
            .created_by()
            .and_then(|b| b.backup_plan_id())
            .is_some());

        let copies: Vec<&Value> = events
            .iter()
            .filter(|(kind, r, _)| kind == "Copy Job State Change" && r == resources)
            .map(|e| &e.2)
            .collect();
        let states: Vec<&str> = copies
            .iter()
            .map(|d| d["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["CREATED", "RUNNING", "COMPLETED"]);
        assert!(copies[2]["destinationRecoveryPointArn"]
            .as_str()
            .unwrap()
            .contains(":eu-west-1:"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_job_takes_faults_and_a_failed_one_is_not_copied() {
    let (local, seen) = plans_local().await;
    let c = &local.backup;
    let (status, _) = local
        .admin(
            Method::POST,
            "/_local/faults",
            Some(json!({"fault": "fail-next-job", "kind": "backup", "message": "Injected."})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let jobs = plan_run(&local, Some(json!({"plan": "efs"}))).await;
    assert_eq!(jobs.len(), 1, "the file system only: {jobs:?}");
    let id = jobs[0]["backupJobId"].as_str().unwrap();
    let done = backup_job_ended(c, id).await;
    assert_eq!(done.state(), Some(&BackupJobState::Failed));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(c
        .list_copy_jobs()
        .send()
        .await
        .unwrap()
        .copy_jobs()
        .is_empty());
    let failed = eventually("the FAILED event", || async {
        events(&seen)
            .into_iter()
            .find(|(_, _, d)| d["state"] == "FAILED")
    })
    .await;
    assert_eq!(failed.2["statusMessage"], "\"Injected.\"");
    // AWS's FAILED example names no plan; the job does.
    assert!(failed.2.get("createdBy").is_none(), "{}", failed.2);
    assert!(done.created_by().unwrap().backup_rule_id().is_some());
    assert!(failed.1.is_empty());

    let (status, answer) = local
        .admin(
            Method::POST,
            "/_local/plan-run",
            Some(json!({"plan": "ebs"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"].as_str().unwrap().contains("ebs"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_demand_jobs_send_events_too_and_none_when_events_are_off() {
    let (local, seen) = plans_local().await;
    let c = &local.backup;
    let started = start_backup(c, &efs_arn(FS_ID), None).await;
    let id = started.backup_job_id().unwrap();
    backup_job_ended(c, id).await;
    let done = eventually("the COMPLETED event", || async {
        events(&seen)
            .into_iter()
            .find(|(_, _, d)| d["state"] == "COMPLETED" && d["backupJobId"] == id)
    })
    .await;
    assert!(done.2.get("createdBy").is_none(), "on demand: {}", done.2);
    assert_eq!(done.2["resourceType"], "EFS");

    let (moto, quiet) = fake_moto().await;
    let off = start_with(0.2, |c| c.moto = moto).await;
    off.create_vaults().await;
    off.write_tenant(FS_ID, "tenant-1");
    let started = start_backup(&off.backup, &efs_arn(FS_ID), None).await;
    backup_job_ended(&off.backup, started.backup_job_id().unwrap()).await;
    assert!(events(&quiet).is_empty());
}
