//! AWS Backup's quotas as the local stand-in enforces them, seen through the SDK
//! (https://docs.aws.amazon.com/aws-backup/latest/devguide/aws-backup-limits.html).

use std::collections::HashMap;

use aws_sdk_backup::error::ProvideErrorMetadata;

use crate::stack::Stack;

/// A file system no scenario backs up: its recovery point is this scenario's alone.
const RESOURCE: &str =
    "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0e2e0000000051aa";

#[tokio::test]
async fn the_stand_in_refuses_a_51st_tag() {
    let stack = Stack::new().await;
    stack.fill_vault(RESOURCE, 1, 3_600.0, 60.0).await;
    let point = stack
        .backup
        .list_recovery_points_by_backup_vault()
        .backup_vault_name("bbws-dev-backup-vault")
        .by_resource_arn(RESOURCE)
        .send()
        .await
        .unwrap()
        .recovery_points()[0]
        .recovery_point_arn()
        .unwrap()
        .to_owned();
    let tags = |stack: &Stack| {
        let point = point.clone();
        let backup = stack.backup.clone();
        async move {
            backup
                .list_tags()
                .resource_arn(point)
                .send()
                .await
                .unwrap()
                .tags()
                .cloned()
                .unwrap_or_default()
        }
    };
    let at_start = tags(&stack).await.len();

    // One tenant backup joining the point after another, each adding its tag.
    let mut refused = None;
    let mut before: HashMap<String, String> = tags(&stack).await;
    for i in 0..51 {
        let answer = stack
            .backup
            .tag_resource()
            .resource_arn(&point)
            .tags(format!("bbws:backup:tb-e2e-{i:02}"), "tenant/on-demand")
            .send()
            .await;
        match answer {
            Ok(_) => before = tags(&stack).await,
            Err(e) => {
                refused = Some((i, e));
                break;
            }
        }
    }
    let (i, e) = refused.expect("the 51st tag is refused");
    assert_eq!(
        at_start + i,
        50,
        "refused exactly when a 51st tag would be added"
    );
    assert_eq!(e.code(), Some("LimitExceededException"), "{e:?}");
    assert_eq!(
        tags(&stack).await,
        before,
        "the refused request changed nothing"
    );
    assert_eq!(before.len(), 50);

    stack.unfill_vault().await;
}
