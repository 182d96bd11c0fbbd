//! check-rpo: stale tenants named with why, and one alert per stale set.

use std::collections::HashMap;

use aws_sdk_backup::operation::list_backup_jobs::ListBackupJobsOutput;
use aws_sdk_backup::types::BackupJobState;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput;
use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, Tag};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use bbws::catalog::Catalog;
use bbws::jobs::Clock;
use bbws::rpo::{Assessor, RpoCheck, Selection};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;

use crate::common::{job, Sent, AP_ARN, DB_ARN, NOW};

macro_rules! mocked {
    ($sdk:ident, $rules:expr) => {
        mock_client!($sdk, RuleMode::MatchAny, $rules.iter(), |c| c
            .retry_config($sdk::config::retry::RetryConfig::disabled()))
    };
}

const SIGNATURE: &str =
    "tenant-1 (files: no-job, database: failed-job); tenant-2 (files: no-job, database: not-selected)";

/// The set as the catalog keeps it: its sha256, hex.
fn digest(signature: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(signature.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn mapping(arn: &str, tenant: &str) -> ResourceTagMapping {
    ResourceTagMapping::builder()
        .resource_arn(arn)
        .tags(
            Tag::builder()
                .key("bbws:tenant-id")
                .value(tenant)
                .build()
                .unwrap(),
        )
        .build()
}

/// Two tenants; only tenant-1 has a database (tagged, so selected), whose last job failed;
/// the catalog holds no point of either.
fn check(announced: Option<&str>, updates: &Sent<String>, puts: &Sent<String>) -> RpoCheck {
    let tagging = [
        mock!(aws_sdk_resourcegroupstagging::Client::get_resources)
            .match_requests(|r| r.resource_type_filters().contains(&"rds:db".to_owned()))
            .then_output(|| {
                GetResourcesOutput::builder()
                    .resource_tag_mapping_list(mapping(DB_ARN, "tenant-1"))
                    .build()
            }),
        mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_output(|| {
            GetResourcesOutput::builder()
                .resource_tag_mapping_list(mapping(AP_ARN, "tenant-1"))
                .resource_tag_mapping_list(mapping(&format!("{AP_ARN}2"), "tenant-2"))
                .build()
        }),
    ];
    let backup = [mock!(aws_sdk_backup::Client::list_backup_jobs)
        .match_requests(|r| r.by_created_after().map(|d| d.secs()) == Some(NOW - 7200))
        .then_output(|| {
            ListBackupJobsOutput::builder()
                .backup_jobs(job("j-1", DB_ARN, BackupJobState::Failed, None))
                .build()
        })];
    let announced = announced.map(str::to_owned);
    let (updates, puts) = (updates.clone(), puts.clone());
    let dynamodb: Vec<Rule> = vec![
        mock!(aws_sdk_dynamodb::Client::query).then_output(|| QueryOutput::builder().build()),
        mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || {
            let item = announced
                .as_ref()
                .map(|s| HashMap::from([("signature".to_owned(), AttributeValue::S(s.clone()))]));
            GetItemOutput::builder().set_item(item).build()
        }),
        mock!(aws_sdk_dynamodb::Client::update_item).then_compute_output(move |r| {
            let signature = r.expression_attribute_values().unwrap()[":s"]
                .as_s()
                .unwrap();
            updates.push(&format!(
                "{} if {}",
                signature,
                r.condition_expression().unwrap()
            ));
            UpdateItemOutput::builder().build()
        }),
    ];
    let events = [
        mock!(aws_sdk_eventbridge::Client::put_events).then_compute_output(move |r| {
            let entry = &r.entries()[0];
            assert_eq!(entry.detail_type(), Some("TenantBackupsStale"));
            puts.push(&entry.detail().unwrap().to_owned());
            PutEventsOutput::builder()
                .entries(PutEventsResultEntry::builder().event_id("e-1").build())
                .failed_entry_count(0)
                .build()
        }),
    ];
    RpoCheck {
        assessor: Assessor {
            tagging: mocked!(aws_sdk_resourcegroupstagging, tagging),
            backup: mocked!(aws_sdk_backup, backup),
            catalog: Catalog {
                dynamodb: mocked!(aws_sdk_dynamodb, dynamodb),
                table: "bbws-dev-backup-catalog".into(),
                dr_delete_after_days: 30,
            },
            selection: Selection::default(),
            clock: Clock::Fixed(NOW),
        },
        events: mocked!(aws_sdk_eventbridge, events),
        event_bus_name: "default".into(),
        threshold_seconds: 7200,
    }
}

#[tokio::test]
async fn a_new_stale_set_is_claimed_then_announced_with_each_tenant_and_why() {
    let (updates, puts) = (Sent::default(), Sent::default());
    let rpo = check(None, &updates, &puts);
    let out = bbws::rpo::handler(LambdaEvent::new(json!({}), Context::default()), &rpo)
        .await
        .unwrap();
    assert_eq!(out["stale"], json!(["tenant-1", "tenant-2"]), "{out}");
    assert_eq!(out["alerted"], true, "{out}");
    assert_eq!(
        updates.all(),
        [format!("{} if attribute_not_exists(pk)", digest(SIGNATURE))]
    );
    let detail: serde_json::Value = serde_json::from_str(&puts.all()[0]).unwrap();
    assert_eq!(detail["summary"], SIGNATURE);
    assert_eq!(detail["count"], 2);
}

#[tokio::test]
async fn the_set_announced_last_is_not_announced_again() {
    let (updates, puts) = (Sent::default(), Sent::default());
    let rpo = check(Some(&digest(SIGNATURE)), &updates, &puts);
    let out = bbws::rpo::handler(LambdaEvent::new(json!({}), Context::default()), &rpo)
        .await
        .unwrap();
    assert_eq!(out["alerted"], false, "{out}");
    assert!(updates.all().is_empty() && puts.all().is_empty());
}
