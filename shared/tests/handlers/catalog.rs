//! The catalog's record of a recovery point: a new backup item in one conditional PutItem,
//! an existing one (its other component came first, or a repeat) by the conditional update.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::error::ErrorMetadata;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_smithy_mocks::{mock, mock_client, MockResponse, Rule, RuleMode};
use bbws::catalog::{BackupKind, Catalog, Component, Point};
use bbws::error::Operation;

const TIME: i64 = 1_790_000_000;

fn point() -> Point {
    Point {
        recovery_point_arn: "arn:aws:backup:af-south-1:123456789012:recovery-point:rp-1".into(),
        resource_arn: "arn:aws:elasticfilesystem:af-south-1:123456789012:file-system/fs-1".into(),
        resource_type: "EFS".into(),
        vault: "bbws-dev-backup-vault".into(),
        created_at: TIME,
        size_bytes: Some(10),
        status: "COMPLETED".into(),
        delete_at: Some(TIME + 91 * 86_400),
    }
}

fn failed_condition() -> ConditionalCheckFailedException {
    ConditionalCheckFailedException::builder()
        .message("The conditional request failed")
        .meta(
            ErrorMetadata::builder()
                .code("ConditionalCheckFailedException")
                .build(),
        )
        .build()
}

/// The catalog over the mocked `rules`.
fn catalog_over(rules: Vec<Rule>) -> Catalog {
    Catalog {
        dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules.iter(), |c| c
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())),
        table: "bbws-dev-backup-catalog".into(),
        dr_delete_after_days: 30,
    }
}

async fn record(catalog: &Catalog) -> Result<bool, bbws::Error> {
    catalog
        .record_point(
            Operation::Backup,
            "tenant-1",
            "hourly-20260921T120000Z",
            BackupKind::Hourly,
            TIME,
            Component::Files,
            &point(),
        )
        .await
}

#[tokio::test]
async fn a_new_backup_is_one_conditional_put_of_the_whole_item() {
    let items = Arc::new(Mutex::new(Vec::new()));
    let seen = items.clone();
    let put = mock!(aws_sdk_dynamodb::Client::put_item).then_compute_output(move |r| {
        seen.lock().unwrap().push((
            r.item().cloned().unwrap_or_default(),
            r.condition_expression().map(str::to_owned),
        ));
        PutItemOutput::builder().build()
    });
    let update = mock!(aws_sdk_dynamodb::Client::update_item)
        .then_output(|| UpdateItemOutput::builder().build());
    let catalog = catalog_over(vec![put.clone(), update.clone()]);

    assert!(record(&catalog).await.unwrap());
    assert_eq!(put.num_calls(), 1);
    assert_eq!(update.num_calls(), 0, "nothing else is written");
    let (item, condition) = items.lock().unwrap()[0].clone();
    assert_eq!(condition.as_deref(), Some("attribute_not_exists(pk)"));
    for key in [
        "pk",
        "sk",
        "files",
        "tenantId",
        "backupId",
        "kind",
        "time",
        "expiresAt",
    ] {
        assert!(item.contains_key(key), "{key} in {item:?}");
    }
    assert_eq!(item["pk"].as_s().unwrap(), "tenant#tenant-1");
    assert_eq!(item["kind"].as_s().unwrap(), "hourly");
}

#[tokio::test]
async fn an_existing_backup_gets_the_point_by_the_conditional_update_and_a_repeat_changes_nothing()
{
    let put = mock!(aws_sdk_dynamodb::Client::put_item).then_compute_response(|_| {
        MockResponse::Error(PutItemError::ConditionalCheckFailedException(
            failed_condition(),
        ))
    });
    // Its database point came first: the update adds the files point.
    let added = mock!(aws_sdk_dynamodb::Client::update_item)
        .then_output(|| UpdateItemOutput::builder().build());
    let catalog = catalog_over(vec![put.clone(), added.clone()]);
    assert!(record(&catalog).await.unwrap());
    assert_eq!((put.num_calls(), added.num_calls()), (1, 1));

    // A repeated event: the item already holds the point, every write's condition fails.
    let put = mock!(aws_sdk_dynamodb::Client::put_item).then_compute_response(|_| {
        MockResponse::Error(PutItemError::ConditionalCheckFailedException(
            failed_condition(),
        ))
    });
    let refused = mock!(aws_sdk_dynamodb::Client::update_item).then_compute_response(|_| {
        MockResponse::Error(UpdateItemError::ConditionalCheckFailedException(
            failed_condition(),
        ))
    });
    let catalog = catalog_over(vec![put, refused.clone()]);
    assert!(!record(&catalog).await.unwrap(), "nothing recorded twice");
    assert_eq!(
        refused.num_calls(),
        3,
        "the point with its expiry, the point alone, the expiry alone: each refused"
    );
}
