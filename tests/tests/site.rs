//! The README's task-definition fragment reads the tenant's database endpoint from where
//! onboarding puts it, and mounts the tenant's access point where WordPress looks.

use bbws::tenants::endpoint::{parameter_name, EndpointSetting};
use bbws_tests::root;
use serde_json::Value;

/// The JSON block that follows "**The tenant's ECS task.**" in the README.
fn task_definition_fragment() -> Value {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split_once("**The tenant's ECS task.**")
        .expect("the README has the tenant's ECS task")
        .1;
    let block = section
        .split_once("```json\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a json block")
        .0;
    serde_json::from_str(block).unwrap()
}

#[test]
fn the_readmes_task_definition_reads_the_endpoint_onboarding_creates() {
    let fragment = task_definition_fragment();
    let container = &fragment["containerDefinitions"][0];
    // What onboarding announces for tenant-1 of the dev environment in af-south-1.
    let setting = EndpointSetting::new(
        "arn:aws:rds:af-south-1:123456789012:cluster:tenant-1",
        parameter_name("dev", "tenant-1"),
        "tenant-1.cluster-abc.af-south-1.rds.amazonaws.com:3306".into(),
        true,
    );
    let expected = serde_json::to_value(&setting.container_secret).unwrap();
    assert_eq!(container["secrets"], Value::Array(vec![expected]));
    // The access point's root is wp-content (seed 000 section 4.4).
    assert_eq!(
        container["mountPoints"][0]["containerPath"],
        "/var/www/html/wp-content"
    );
    assert_eq!(
        fragment["volumes"][0]["efsVolumeConfiguration"]["rootDirectory"],
        "/"
    );
}
