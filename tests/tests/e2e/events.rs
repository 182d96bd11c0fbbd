//! What the product announces on EventBridge about a tenant backup's outcome.

use crate::stack::Stack;

#[tokio::test]
async fn outcomes_are_published_as_events() {
    let stack = Stack::new().await;
    stack.seed_tenant("e2e-events");
    let (code, out) = stack.bbws(&[
        "backup",
        "--tenant",
        "e2e-events",
        "--poll-seconds",
        "1",
        "--no-dr-copy",
    ]);
    assert_eq!(code, 0, "{out}");
    stack.fail_next_job("backup", "injected").await;
    let (code, _) = stack.bbws(&[
        "backup",
        "--tenant",
        "e2e-events",
        "--poll-seconds",
        "1",
        "--no-dr-copy",
    ]);
    assert_eq!(code, 50);
    let events = stack.drain_events().await;
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| e["detail-type"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["TenantBackupCompleted", "TenantBackupFailed"],
        "{events:?}"
    );
    assert_eq!(events[0]["source"], "bbws.content");
    assert_eq!(events[0]["detail"]["backupId"], out["output"]["backupId"]);
    assert_eq!(events[1]["detail"]["error"]["Error"], "BackupFailed");
}
