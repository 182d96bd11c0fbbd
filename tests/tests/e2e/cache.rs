//! The tenant's object cache after a restore: its keys (`<tenant-id>:*`) removed from the
//! local redis-server (TLS, AUTH from the local Secrets Manager), every other tenant's kept;
//! and a cache that cannot be reached ends the restore `CacheNotFlushed`, the files restored.

use serde_json::json;

use crate::stack::{snapshot, Stack};

/// `count` keys of `tenant` as a site's object cache names them (`WP_CACHE_KEY_SALT =
/// "<tenant>:"`): groups and ids.
fn site_keys(tenant: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| match i % 4 {
            0 => format!("{tenant}:posts:{i}"),
            1 => format!("{tenant}:post_meta:{i}"),
            2 => format!("{tenant}:transient:feed_{i}"),
            _ => format!("{tenant}:options:option_{i}"),
        })
        .collect()
}

#[tokio::test]
async fn a_restore_removes_every_key_of_the_tenant_and_none_of_another() {
    let stack = Stack::new().await;
    // B's id starts with A's: only the colon tells their keys apart.
    let (a, b) = ("e2e-cache-a", "e2e-cache-a-2");
    stack.seed_tenant(a);
    let backup_id = stack.backed_up(a, &["--files-only"]);

    // The sites fill the cache after the backup: thousands of keys each, so SCAN takes many
    // pages, and keys that only resemble A's.
    let mut a_keys = site_keys(a, 4000);
    // Glob metacharacters in a key are data, never a pattern.
    a_keys.push(format!("{a}:options:alloptions"));
    a_keys.push(format!("{a}:odd:*[x]?"));
    stack.cache_set(&a_keys);
    stack.cache_set(&site_keys(b, 3000));
    let others = vec![
        a.to_string(),
        format!("{a}-old:posts:1"),
        format!("other:{a}:posts:1"),
    ];
    stack.cache_set(&others);
    let a_pattern = format!("{a}:*");
    assert_eq!(stack.cache_keys(&a_pattern).len(), a_keys.len());
    let b_before = stack.cache_keys(&format!("{b}:*"));
    assert_eq!(b_before.len(), 3000);

    let (code, out) = stack.bbws(&[
        "restore",
        "--yes",
        "--tenant",
        a,
        "--backup",
        &backup_id,
        "--poll-seconds",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    let cache = &out["output"]["cache"];
    println!("keys removed from the cache for {a}: {cache}");
    assert_eq!(cache["tenantId"], a, "{cache}");
    assert_eq!(cache["keyPattern"], a_pattern.as_str(), "{cache}");
    assert_eq!(
        cache["keysRemoved"],
        json!(a_keys.len()),
        "every key of A, counted once: {cache}"
    );
    assert!(
        cache["scanCalls"].as_u64().unwrap_or(0) > 1,
        "SCAN paged through the key space: {cache}"
    );

    assert!(
        stack.cache_keys(&a_pattern).is_empty(),
        "no key of A is left"
    );
    assert_eq!(
        stack.cache_keys(&format!("{b}:*")),
        b_before,
        "every key of B is kept"
    );
    for key in &others {
        let exists = stack.cache_cli(&["EXISTS", key], "");
        assert_eq!(exists.trim(), "1", "{key} is not A's and is kept");
    }

    // The announcement carries the flush too.
    let events = stack.drain_events().await;
    let completed = events
        .iter()
        .find(|e| e["detail-type"] == "TenantRestoreCompleted" && e["detail"]["tenantId"] == a)
        .unwrap_or_else(|| panic!("a TenantRestoreCompleted for {a}: {events:?}"));
    assert_eq!(
        completed["detail"]["cache"]["keysRemoved"],
        json!(a_keys.len())
    );
}

#[tokio::test]
async fn a_restore_with_the_cache_down_is_cache_not_flushed_with_the_files_restored() {
    let stack = Stack::new().await;
    let tenant = stack.seed_tenant("e2e-cache-down");
    let dir = &tenant.directory;
    let before = snapshot(dir);
    let backup_id = stack.backed_up("e2e-cache-down", &["--files-only"]);
    std::fs::write(dir.join("index.php"), b"changed after the backup").unwrap();
    let attempts_before = secret_reads(&stack);

    let stopped = stack.stop_cache();
    let (code, out) = stack.bbws(&[
        "restore",
        "--yes",
        "--tenant",
        "e2e-cache-down",
        "--backup",
        &backup_id,
        "--poll-seconds",
        "1",
    ]);
    drop(stopped);

    assert_eq!(code, 59, "{out}");
    assert_eq!(out["error"], "CacheNotFlushed", "{out}");
    let cause = out["cause"].as_str().unwrap_or_default();
    // The function's error as Lambda reports it, then where the files are.
    assert!(
        cause.contains(
            "503: the tenant's content is restored, but its object cache was not flushed"
        ),
        "{cause}"
    );
    assert!(cause.contains("could not reach the cache"), "{cause}");
    assert!(
        cause.contains("the restored files are in place at"),
        "the cause says where the files are: {cause}"
    );
    assert_eq!(snapshot(dir), before, "the files are the restored ones");
    // Tried once, then retried twice (the state machine's bounded Retry), never forever.
    assert_eq!(secret_reads(&stack) - attempts_before, 3);

    let events = stack.drain_events().await;
    let failed = events
        .iter()
        .find(|e| e["detail-type"] == "TenantRestoreFailed")
        .unwrap_or_else(|| panic!("a TenantRestoreFailed: {events:?}"));
    assert_eq!(failed["detail"]["error"]["Error"], "CacheNotFlushed");

    // With the cache back, the operator's remedy is the step alone.
    let (error, flushed) = stack
        .invoke("flush-cache", &json!({"tenantId": "e2e-cache-down"}))
        .await;
    assert_eq!(error, None, "{flushed}");
    assert_eq!(flushed["tenantId"], "e2e-cache-down");
}

/// How many times flush-cache has read the AUTH token: once per attempt.
fn secret_reads(stack: &Stack) -> usize {
    stack
        .recorded_calls("flush-cache")
        .iter()
        .filter(|c| c["operation"] == "GetSecretValue")
        .count()
}

/// Issue 25's cache isolation: each tenant's site authenticates as its own cache user, made
/// by onboarding, which reaches its own keys only; flush-cache, its own user, still flushes a
/// tenant; offboarding takes the user away.
#[tokio::test]
async fn a_tenants_cache_user_is_refused_on_another_tenants_keys_flushall_and_keys() {
    let stack = Stack::new().await;
    let (a, b) = ("e2e-acl-a", "e2e-acl-b");
    stack.onboarded_tenant(a).await;
    stack.onboarded_tenant(b).await;
    let b_key = format!("{b}:options:alloptions");
    stack.cache_set(std::slice::from_ref(&b_key));

    let (user, password) = stack.cache_credentials(a);
    assert_eq!(user, a, "the site authenticates as its tenant id");
    let as_a = |args: &[&str]| stack.cache_cli_as(&user, &password, args, "");
    for (args, what) in [
        (vec!["GET", b_key.as_str()], "B's key"),
        (vec!["SET", b_key.as_str(), "poisoned"], "B's key"),
        (vec!["FLUSHALL"], "FLUSHALL"),
        (vec!["KEYS", "*"], "KEYS"),
    ] {
        let out = as_a(&args);
        assert!(
            out.starts_with("NOPERM"),
            "A's user is refused {what}: {out}"
        );
    }
    assert_eq!(
        stack.cache_cli(&["GET", &b_key], "").trim(),
        "v",
        "B's key is untouched"
    );

    // A works on its own keys, as its site's object cache does.
    let a_key = format!("{a}:posts:1");
    assert_eq!(as_a(&["SET", &a_key, "cached"]).trim(), "OK");
    assert_eq!(as_a(&["GET", &a_key]).trim(), "cached");
    assert_eq!(as_a(&["DEL", &a_key]).trim(), "1");
    assert_eq!(as_a(&["SET", &a_key, "cached"]).trim(), "OK");
    // Nobody gets in without a user: the default user is off.
    let anonymous = stack.cache_cli_as("default", "", &["GET", &a_key], "");
    assert!(!anonymous.contains("cached"), "{anonymous}");

    // flush-cache, as its own user, still flushes A and only A.
    let (error, out) = stack.invoke("flush-cache", &json!({"tenantId": a})).await;
    assert_eq!(error, None, "{out}");
    assert_eq!(out["keysRemoved"], json!(1), "{out}");
    assert!(stack.cache_keys(&format!("{a}:*")).is_empty());
    assert_eq!(stack.cache_keys(&format!("{b}:*")).len(), 1);

    // Offboarding removes A's user: its password opens nothing any more.
    for tenant in [a, b] {
        let (error, out) = stack
            .invoke("offboard-tenant", &json!({"tenantId": tenant}))
            .await;
        assert_eq!(error, None, "{out}");
        assert_eq!(out["cacheUser"]["userDeleted"], true, "{out}");
        assert_eq!(out["cacheUser"]["secretDeleted"], true, "{out}");
    }
    let out = as_a(&["GET", &a_key]);
    assert!(out.contains("WRONGPASS") || out.contains("NOAUTH"), "{out}");
    stack.cache_cli(&["DEL", &b_key], "");
}
