//! The sample events in `events/` are what the handlers and state machines accept.

use bbws_tests::root;
use serde_json::Value;

fn sample(name: &str) -> Value {
    let path = root().join("events").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn tenant_lifecycle_samples_are_valid_events() {
    let created =
        bbws::tenants::parse_event(sample("tenant-created.json"), "TenantCreated").unwrap();
    assert_eq!(created.tenant.as_str(), "tenant-1");
    assert_eq!(
        created.resources.len(),
        2,
        "the database and the service are named"
    );
    let deleted =
        bbws::tenants::parse_event(sample("tenant-deleted.json"), "TenantDeleted").unwrap();
    assert_eq!(deleted.tenant.as_str(), "tenant-1");
    // Each is refused where the other is expected.
    assert!(bbws::tenants::parse_event(sample("tenant-created.json"), "TenantDeleted").is_err());
}

#[test]
fn request_samples_are_requests_the_state_machines_accept() {
    let backup: bbws::backup::BackupRequest =
        serde_json::from_value(sample("backup-request.json")).unwrap();
    assert_eq!(backup.tenant_id, "tenant-1");
    let restore: bbws::restore::RestoreRequest =
        serde_json::from_value(sample("restore-request.json")).unwrap();
    assert!(restore.backup_id.starts_with("tb-"));
    let plan: bbws::backup::StartBackupInput =
        serde_json::from_value(sample("start-backup-plan.json")).unwrap();
    assert!(matches!(plan, bbws::backup::StartBackupInput::Plan { .. }));
    let pick: serde_json::Value = sample("restore-drill-pick.json");
    assert_eq!(pick["step"], "pick");
    let drill = sample("drill-request.json");
    assert_eq!(drill["tenants"][0], "tenant-1");
    let fleet: bbws::backup::fleet::FleetRequest =
        serde_json::from_value(sample("fleet-request.json")).unwrap();
    assert_eq!(fleet.page_size, Some(100));
    // flush-cache's input, as the restore state machine passes it: the tenant restored into.
    let flush = sample("flush-cache.json");
    assert_eq!(flush.as_object().map(|o| o.len()), Some(1), "{flush}");
    assert!(bbws::TenantId::parse(flush["tenantId"].as_str().unwrap_or_default()).is_ok());
}

#[test]
fn every_sample_is_json_and_named_in_the_readme() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for entry in std::fs::read_dir(root().join("events")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        sample(&name);
        assert!(
            readme.contains(&format!("events/{name}")),
            "README.md does not mention events/{name}"
        );
    }
}
