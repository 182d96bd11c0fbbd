//! Tenant lifecycle and outcome events against the real SDK clients, answered by
//! aws-smithy-mocks.

use std::sync::{Arc, Mutex};

use aws_sdk_efs::operation::create_access_point::{
    CreateAccessPointInput, CreateAccessPointOutput,
};
use aws_sdk_efs::operation::delete_access_point::{
    DeleteAccessPointInput, DeleteAccessPointOutput,
};
use aws_sdk_efs::operation::describe_access_points::DescribeAccessPointsOutput;
use aws_sdk_efs::types::{AccessPointDescription, RootDirectory};
use aws_sdk_eventbridge::operation::put_events::{PutEventsInput, PutEventsOutput};
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput;
use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, Tag};
use aws_smithy_mocks::{mock, Rule};

use crate::common::*;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

fn tenant_created(tenant: &str) -> Value {
    json!({
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "TenantCreated", "source": "bbws.tenants",
        "account": "123456789012", "time": "2026-11-25T12:00:00Z", "region": "af-south-1",
        "resources": [], "detail": {"tenantId": tenant}
    })
}

/// EFS with the access points in `existing` (shared, so a create adds to it).
fn efs(
    existing: Arc<Mutex<Vec<AccessPointDescription>>>,
    created: &Sent<CreateAccessPointInput>,
) -> Vec<Rule> {
    let listing = existing.clone();
    let created = created.clone();
    vec![
        mock!(aws_sdk_efs::Client::describe_access_points).then_compute_output(move |_| {
            DescribeAccessPointsOutput::builder()
                .set_access_points(Some(listing.lock().unwrap().clone()))
                .build()
        }),
        mock!(aws_sdk_efs::Client::create_access_point).then_compute_output(move |r| {
            created.push(r);
            let path = r
                .root_directory()
                .and_then(|d| d.path())
                .unwrap_or_default()
                .to_owned();
            existing.lock().unwrap().push(
                AccessPointDescription::builder()
                    .access_point_id(AP_ID)
                    .access_point_arn(AP_ARN)
                    .file_system_id(FS_ID)
                    .root_directory(RootDirectory::builder().path(&path).build())
                    .build(),
            );
            CreateAccessPointOutput::builder()
                .access_point_id(AP_ID)
                .access_point_arn(AP_ARN)
                .file_system_id(FS_ID)
                .build()
        }),
    ]
}

fn events(sent: &Sent<PutEventsInput>) -> Rule {
    let sent = sent.clone();
    mock!(aws_sdk_eventbridge::Client::put_events).then_compute_output(move |r| {
        sent.push(r);
        PutEventsOutput::builder()
            .failed_entry_count(0)
            .entries(PutEventsResultEntry::builder().event_id("evt-1").build())
            .build()
    })
}

fn deps(mocks: &Mocks) -> Deps {
    mocks.deps()
}

#[tokio::test]
async fn a_new_tenant_gets_its_access_point_as_designed_and_an_event() {
    let created = Sent::default();
    let put = Sent::default();
    let mut mocks = Mocks::new();
    mocks.efs.extend(efs(Arc::default(), &created));
    mocks.events.push(events(&put));
    let deps = deps(&mocks);
    let out = onboard_tenant(
        LambdaEvent::new(tenant_created("tenant-1"), Context::default()),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(out["accessPointId"], AP_ID);
    assert_eq!(out["created"], true);

    let request = &created.all()[0];
    assert_eq!(request.file_system_id(), Some(FS_ID));
    assert_eq!(request.client_token(), Some("bbws-tenant-1"));
    let user = request.posix_user().unwrap();
    assert_eq!((user.uid(), user.gid()), (33, 33));
    let root = request.root_directory().unwrap();
    assert_eq!(root.path(), Some("/tenant-1"));
    let info = root.creation_info().unwrap();
    assert_eq!(
        (info.owner_uid(), info.owner_gid(), info.permissions()),
        (33, 33, "0755")
    );
    let tags: Vec<(&str, &str)> = request
        .tags()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert_eq!(
        tags,
        [
            ("bbws:tenant-id", "tenant-1"),
            ("bbws:component", "efs"),
            ("bbws:environment", "dev")
        ]
    );

    let sent = put.all();
    let event = &sent[0].entries()[0];
    assert_eq!(event.source(), Some("bbws.content"));
    assert_eq!(event.detail_type(), Some("TenantStorageReady"));
    assert_eq!(event.event_bus_name(), Some("default"));
    let detail: Value = serde_json::from_str(event.detail().unwrap()).unwrap();
    assert_eq!(detail["accessPointArn"], AP_ARN);
    assert_eq!(detail["tenantId"], "tenant-1");
    // The tenant's ECS volume, ready to paste into its task definition (seed 000 4.4).
    assert_eq!(
        detail["efsVolumeConfiguration"],
        serde_json::json!({
            "fileSystemId": FS_ID,
            "rootDirectory": "/",
            "transitEncryption": "ENABLED",
            "transitEncryptionPort": 2999,
            "authorizationConfig": {"accessPointId": AP_ID, "iam": "ENABLED"}
        })
    );
    assert_eq!(
        out["efsVolumeConfiguration"],
        detail["efsVolumeConfiguration"]
    );
}

#[tokio::test]
async fn a_repeated_event_creates_nothing_new() {
    let created = Sent::default();
    let put = Sent::default();
    let mut mocks = Mocks::new();
    mocks.efs.extend(efs(Arc::default(), &created));
    mocks.events.push(events(&put));
    let deps = deps(&mocks);
    for _ in 0..2 {
        onboard_tenant(
            LambdaEvent::new(tenant_created("tenant-1"), Context::default()),
            &deps,
        )
        .await
        .unwrap();
    }
    assert_eq!(created.all().len(), 1, "one access point");
    let second: Value = serde_json::from_str(put.all()[1].entries()[0].detail().unwrap()).unwrap();
    assert_eq!(second["created"], false);
    assert_eq!(
        second["accessPointId"], AP_ID,
        "the existing one is announced again"
    );
}

#[tokio::test]
async fn an_invalid_event_is_refused_with_nothing_created() {
    let created = Sent::default();
    let put = Sent::default();
    let mut mocks = Mocks::new();
    mocks.efs.extend(efs(Arc::default(), &created));
    mocks.events.push(events(&put));
    let deps = deps(&mocks);
    let mut wrong_source = tenant_created("tenant-1");
    wrong_source["source"] = json!("someone.else");
    let mut wrong_type = tenant_created("tenant-1");
    wrong_type["detail-type"] = json!("TenantDeleted");
    let mut no_detail = tenant_created("tenant-1");
    no_detail["detail"] = json!({});
    for event in [
        tenant_created("../etc"),
        tenant_created("Tenant One"),
        wrong_source,
        wrong_type,
        no_detail,
        json!("x"),
    ] {
        let err = onboard_tenant(LambdaEvent::new(event.clone(), Context::default()), &deps)
            .await
            .unwrap_err();
        assert_eq!(err.name(), "InvalidTenant", "{event}");
    }
    assert!(created.all().is_empty());
    assert!(put.all().is_empty());
    assert_eq!(mocks.efs[0].num_calls(), 0, "not even a look");
}

#[tokio::test]
async fn a_directory_holding_files_is_refused_unless_the_event_adopts_it() {
    let created = Sent::default();
    let put = Sent::default();
    let mut mocks = Mocks::new();
    mocks.efs.extend(efs(Arc::default(), &created));
    mocks.events.push(events(&put));
    let mut deps = deps(&mocks);
    let mount = tempfile::tempdir().unwrap();
    deps.onboarding.mount = mount.path().to_path_buf();
    // Another tenant's leftovers under the new tenant's id.
    std::fs::create_dir_all(mount.path().join("tenant-1/uploads")).unwrap();
    std::fs::write(mount.path().join("tenant-1/index.php"), b"<?php // old").unwrap();
    let err = onboard_tenant(
        LambdaEvent::new(tenant_created("tenant-1"), Context::default()),
        &deps,
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "InvalidTenant");
    assert!(err.to_string().contains("already holds files"), "{err}");
    assert!(err.to_string().contains("adopt"), "{err}");
    assert!(
        created.all().is_empty() && put.all().is_empty(),
        "nothing created"
    );

    // An empty directory is a new tenant's.
    std::fs::create_dir_all(mount.path().join("tenant-2")).unwrap();
    onboard_tenant(
        LambdaEvent::new(tenant_created("tenant-2"), Context::default()),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(created.all().len(), 1);

    // Asked to adopt them, onboarding takes the files as the tenant's.
    let mut adopt = tenant_created("tenant-1");
    adopt["detail"]["adopt"] = json!(true);
    let out = onboard_tenant(LambdaEvent::new(adopt, Context::default()), &deps)
        .await
        .unwrap();
    assert_eq!(out["tenantId"], "tenant-1");
    assert_eq!(
        std::fs::read(mount.path().join("tenant-1/index.php")).unwrap(),
        b"<?php // old",
        "the files are left as they are"
    );
}

#[tokio::test]
async fn a_link_or_file_in_place_of_the_directory_is_refused_even_when_adopted() {
    let created = Sent::default();
    let mut mocks = Mocks::new();
    mocks.efs.extend(efs(Arc::default(), &created));
    let mut deps = deps(&mocks);
    let mount = tempfile::tempdir().unwrap();
    deps.onboarding.mount = mount.path().to_path_buf();
    std::fs::create_dir_all(mount.path().join("tenant-2")).unwrap();
    std::os::unix::fs::symlink("tenant-2", mount.path().join("tenant-1")).unwrap();
    let mut adopt = tenant_created("tenant-1");
    adopt["detail"]["adopt"] = json!(true);
    let err = onboard_tenant(LambdaEvent::new(adopt, Context::default()), &deps)
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidTenant");
    assert!(err.to_string().contains("not a directory"), "{err}");
    assert!(created.all().is_empty());
}

#[tokio::test]
async fn a_drill_scratch_name_is_reserved_and_never_onboarded() {
    let created = Sent::default();
    let mut mocks = Mocks::new();
    mocks.efs.extend(efs(Arc::default(), &created));
    let deps = deps(&mocks);
    let err = onboard_tenant(
        LambdaEvent::new(tenant_created("drill-shop-20261126"), Context::default()),
        &deps,
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "InvalidTenant");
    assert!(err.to_string().contains("reserved"), "{err}");
    assert!(created.all().is_empty(), "no access point made");
}

#[tokio::test]
async fn offboarding_deletes_the_access_point_and_keeps_the_files() {
    let existing = Arc::new(Mutex::new(vec![AccessPointDescription::builder()
        .access_point_id(AP_ID)
        .access_point_arn(AP_ARN)
        .root_directory(RootDirectory::builder().path("/tenant-1").build())
        .build()]));
    let deleted: Sent<DeleteAccessPointInput> = Sent::default();
    let rec = deleted.clone();
    let mut mocks = Mocks::new();
    mocks.efs.extend(efs(existing, &Sent::default()));
    mocks.efs.push(
        mock!(aws_sdk_efs::Client::delete_access_point).then_compute_output(move |r| {
            rec.push(r);
            DeleteAccessPointOutput::builder().build()
        }),
    );
    let deps = deps(&mocks);
    let out = offboard_tenant(
        LambdaEvent::new(json!({"tenantId": "tenant-1"}), Context::default()),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(deleted.all()[0].access_point_id(), Some(AP_ID));
    assert_eq!(out["filesKeptAt"], format!("{FS_ID}:/tenant-1"));
}

#[tokio::test]
async fn outcomes_are_published_under_their_names() {
    let put = Sent::default();
    let mut mocks = Mocks::new();
    mocks.events.push(events(&put));
    let deps = deps(&mocks);
    for (operation, succeeded, name) in [
        ("backup", true, "TenantBackupCompleted"),
        ("backup", false, "TenantBackupFailed"),
        ("restore", true, "TenantRestoreCompleted"),
        ("restore", false, "TenantRestoreFailed"),
    ] {
        let input = json!({"operation": operation, "succeeded": succeeded, "detail": {"tenantId": "tenant-1"}});
        let out = publish_outcome(LambdaEvent::new(input, Context::default()), &deps)
            .await
            .unwrap();
        assert_eq!(out["detailType"], name);
    }
    let names: Vec<String> = put
        .all()
        .iter()
        .map(|r| r.entries()[0].detail_type().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "TenantBackupCompleted",
            "TenantBackupFailed",
            "TenantRestoreCompleted",
            "TenantRestoreFailed"
        ]
    );
}

#[tokio::test]
async fn a_rejected_event_is_transient_not_silently_lost() {
    let mut mocks = Mocks::new();
    mocks.events.push(
        mock!(aws_sdk_eventbridge::Client::put_events).then_output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(1)
                .entries(
                    PutEventsResultEntry::builder()
                        .error_code("InternalFailure")
                        .error_message("try again")
                        .build(),
                )
                .build()
        }),
    );
    let deps = deps(&mocks);
    let input = json!({"operation": "backup", "succeeded": true, "detail": {}});
    let err = publish_outcome(LambdaEvent::new(input, Context::default()), &deps)
        .await
        .unwrap_err();
    assert_eq!(err.name(), "TransientAwsError");
}

#[tokio::test]
async fn every_tenant_is_listed_once_from_the_access_point_tags() {
    let mut mocks = Mocks::new();
    mocks.tagging.push(
        mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_output(|| {
            let mapping = |arn: &str, tenant: &str| {
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
            };
            GetResourcesOutput::builder()
                .resource_tag_mapping_list(mapping(
                    "arn:aws:elasticfilesystem:af-south-1:123456789012:access-point/fsap-b",
                    "tenant-b",
                ))
                .resource_tag_mapping_list(mapping(
                    "arn:aws:elasticfilesystem:af-south-1:123456789012:access-point/fsap-a",
                    "tenant-a",
                ))
                .resource_tag_mapping_list(mapping(
                    "arn:aws:elasticfilesystem:af-south-1:123456789012:access-point/fsap-x",
                    "../bad",
                ))
                .resource_tag_mapping_list(mapping(
                    "arn:aws:elasticfilesystem:af-south-1:123456789012:access-point/fsap-c",
                    "tenant-a",
                ))
                .build()
        }),
    );
    let deps = mocks.deps();
    let out = list_tenants(
        LambdaEvent::new(
            json!({"executionId": EXECUTION, "request": {}}),
            Context::default(),
        ),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(out["tenants"], json!(["tenant-a", "tenant-b"]));
    assert_eq!(out["more"], false);
    assert_eq!(out["run"]["page"], 1);
    assert_eq!(out["run"]["firstExecution"], EXECUTION);
    // The next page starts after the last tenant backed up, with the request's page size.
    let out = list_tenants(
        LambdaEvent::new(
            json!({"executionId": "arn:next", "request": {"pageSize": 1, "run": {
                "key": "0123456789", "firstExecution": EXECUTION, "page": 2,
                "after": "tenant-a"}}}),
            Context::default(),
        ),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(out["tenants"], json!(["tenant-b"]));
    assert_eq!(out["run"]["key"], "0123456789");
    assert_eq!(out["more"], false);
}

#[tokio::test]
async fn onboarding_tags_the_tenants_database_and_service() {
    use aws_sdk_resourcegroupstagging::operation::tag_resources::{
        TagResourcesInput, TagResourcesOutput,
    };
    let created = Sent::default();
    let put = Sent::default();
    let tagged: Sent<TagResourcesInput> = Sent::default();
    let rec = tagged.clone();
    let mut mocks = Mocks::new();
    mocks.efs.extend(efs(Arc::default(), &created));
    mocks.events.push(events(&put));
    mocks.tagging.push(
        mock!(aws_sdk_resourcegroupstagging::Client::tag_resources).then_compute_output(move |r| {
            rec.push(r);
            TagResourcesOutput::builder().build()
        }),
    );
    // The database already carries tenant-1's tag (a re-delivered event); the service none.
    mocks.tagging.push(tagged_with(&[
        (DB_ARN, &[("bbws:tenant-id", "tenant-1")]),
        (SERVICE_ARN, &[]),
    ]));
    mocks.rds.push(db_instance_endpoint());
    mocks.ssm.push(put_parameter(&Sent::default(), true));
    let deps = deps(&mocks);
    let mut event = tenant_created("tenant-1");
    event["detail"]["databaseArn"] = json!(DB_ARN);
    event["detail"]["serviceArn"] = json!(SERVICE_ARN);
    let out = onboard_tenant(LambdaEvent::new(event, Context::default()), &deps)
        .await
        .unwrap();
    assert_eq!(out["taggedResources"], json!([DB_ARN, SERVICE_ARN]));
    let request = &tagged.all()[0];
    assert_eq!(request.resource_arn_list(), [DB_ARN, SERVICE_ARN]);
    assert_eq!(request.tags().unwrap()["bbws:tenant-id"], "tenant-1");

    // A malformed ARN is refused before anything is created or tagged.
    let mut bad = tenant_created("tenant-2");
    bad["detail"]["databaseArn"] = json!("arn:aws:s3:::bucket");
    let err = onboard_tenant(LambdaEvent::new(bad, Context::default()), &deps)
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidTenant");
    assert_eq!(created.all().len(), 1);
    assert_eq!(tagged.all().len(), 1);

    // A database that is already another tenant's is refused: nothing created or tagged.
    let mut taken = tenant_created("tenant-3");
    taken["detail"]["databaseArn"] = json!(DB_ARN);
    let err = onboard_tenant(LambdaEvent::new(taken, Context::default()), &deps)
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidTenant");
    assert!(
        err.to_string()
            .contains("already belongs to tenant tenant-1"),
        "{err}"
    );
    assert_eq!(created.all().len(), 1, "no access point made");
    assert_eq!(tagged.all().len(), 1, "nothing tagged");
}

#[tokio::test]
async fn offboarding_leaves_the_ended_life_on_the_newest_points() {
    use aws_sdk_backup::operation::tag_resource::{TagResourceInput, TagResourceOutput};
    use aws_sdk_dynamodb::operation::query::QueryOutput;
    use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
    use aws_sdk_dynamodb::types::AttributeValue;
    use std::collections::HashMap;

    let s = |v: &str| AttributeValue::S(v.to_owned());
    let n = |v: i64| AttributeValue::N(v.to_string());
    let point = |arn: &str, at: i64| {
        AttributeValue::M(HashMap::from([
            ("recoveryPointArn".to_owned(), s(arn)),
            ("resourceArn".to_owned(), s(FS_ARN)),
            ("resourceType".to_owned(), s("EFS")),
            ("vault".to_owned(), s("bbws-dev-backup-vault")),
            ("createdAt".to_owned(), n(at)),
            ("status".to_owned(), s("COMPLETED")),
        ]))
    };
    let backup = |id: &str, kind: &str, arn: &str, at: i64| {
        HashMap::from([
            ("tenantId".to_owned(), s("tenant-1")),
            ("backupId".to_owned(), s(id)),
            ("kind".to_owned(), s(kind)),
            ("time".to_owned(), n(at)),
            ("files".to_owned(), point(arn, at)),
        ])
    };
    let life = HashMap::from([
        ("tenantId".to_owned(), s("tenant-1")),
        ("accessPointId".to_owned(), s(AP_ID)),
        ("onboardedAt".to_owned(), n(NOW - 86_400)),
        ("offboardedAt".to_owned(), n(NOW)),
    ]);
    // Newest first: the final backup, an older on-demand one, then the newest hourly one.
    let backups = vec![
        backup("tb-final", "on-demand", "arn:rp:final", NOW - 60),
        backup("tb-older", "on-demand", "arn:rp:older", NOW - 7_200),
        backup("hourly-x", "hourly", "arn:rp:hourly", NOW - 10_800),
        backup("hourly-y", "hourly", "arn:rp:hourly-older", NOW - 14_400),
    ];
    let existing = Arc::new(Mutex::new(vec![AccessPointDescription::builder()
        .access_point_id(AP_ID)
        .access_point_arn(AP_ARN)
        .root_directory(RootDirectory::builder().path("/tenant-1").build())
        .build()]));
    let tagged: Sent<TagResourceInput> = Sent::default();
    let rec = tagged.clone();
    let mut mocks = Mocks::new();
    mocks.efs.extend(efs(existing, &Sent::default()));
    mocks.efs.push(
        mock!(aws_sdk_efs::Client::delete_access_point)
            .then_output(|| DeleteAccessPointOutput::builder().build()),
    );
    mocks.dynamodb.push(
        mock!(aws_sdk_dynamodb::Client::update_item)
            .then_output(|| UpdateItemOutput::builder().build()),
    );
    mocks.dynamodb.push(
        mock!(aws_sdk_dynamodb::Client::query)
            .match_requests(|r| {
                r.expression_attribute_values()
                    .and_then(|v| v.get(":life"))
                    .is_some()
            })
            .then_output(move || QueryOutput::builder().items(life.clone()).build()),
    );
    mocks
        .dynamodb
        .push(mock!(aws_sdk_dynamodb::Client::query).then_output(move || {
            QueryOutput::builder()
                .set_items(Some(backups.clone()))
                .build()
        }));
    mocks.backup.push(
        mock!(aws_sdk_backup::Client::tag_resource).then_compute_output(move |r| {
            rec.push(r);
            TagResourceOutput::builder().build()
        }),
    );
    let deps = deps(&mocks);
    offboard_tenant(
        LambdaEvent::new(json!({"tenantId": "tenant-1"}), Context::default()),
        &deps,
    )
    .await
    .unwrap();
    let sent = tagged.all();
    let arns: Vec<_> = sent.iter().filter_map(|t| t.resource_arn()).collect();
    assert_eq!(
        arns,
        ["arn:rp:final", "arn:rp:hourly"],
        "the newest of each kind"
    );
    let key = format!("bbws:life:{AP_ID}");
    for t in &sent {
        let value = t.tags().unwrap()[&key].clone();
        let life = bbws::catalog::Life::from_tag(&key, &value).unwrap();
        assert_eq!(life.onboarded_at, NOW - 86_400);
        assert_eq!(life.offboarded_at, Some(NOW));
    }
}

const ENDPOINT_PARAMETER: &str = "/bbws/dev/tenants/tenant-1/database-endpoint";

/// tenant-1's RDS instance, with its endpoint.
fn db_instance_endpoint() -> Rule {
    use aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesOutput;
    use aws_sdk_rds::types::{DbInstance, Endpoint};
    mock!(aws_sdk_rds::Client::describe_db_instances)
        .match_requests(|r| r.db_instance_identifier() == Some("tenant-1"))
        .then_output(|| {
            DescribeDbInstancesOutput::builder()
                .db_instances(
                    DbInstance::builder()
                        .db_instance_identifier("tenant-1")
                        .endpoint(
                            Endpoint::builder()
                                .address("tenant-1.abc.af-south-1.rds.amazonaws.com")
                                .port(3306)
                                .build(),
                        )
                        .build(),
                )
                .build()
        })
}

/// PutParameter: made (`new`), or refused as ParameterAlreadyExists.
fn put_parameter(
    sent: &Sent<aws_sdk_ssm::operation::put_parameter::PutParameterInput>,
    new: bool,
) -> Rule {
    use aws_sdk_ssm::operation::put_parameter::{PutParameterError, PutParameterOutput};
    use aws_sdk_ssm::types::error::ParameterAlreadyExists;
    let sent = sent.clone();
    if new {
        mock!(aws_sdk_ssm::Client::put_parameter).then_compute_output(move |r| {
            sent.push(r);
            PutParameterOutput::builder().version(1).build()
        })
    } else {
        mock!(aws_sdk_ssm::Client::put_parameter).then_compute_response(move |r| {
            sent.push(r);
            aws_smithy_mocks::MockResponse::Error(PutParameterError::ParameterAlreadyExists(
                ParameterAlreadyExists::builder().build(),
            ))
        })
    }
}

#[tokio::test]
async fn onboarding_creates_the_database_endpoint_setting_and_never_overwrites_it() {
    use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
    use aws_sdk_ssm::types::Parameter;
    let sent = Sent::default();
    let mut mocks = Mocks::new();
    mocks.efs.extend(efs(Arc::default(), &Sent::default()));
    mocks.events.push(events(&Sent::default()));
    mocks.tagging.push(tagged_with(&[(DB_ARN, &[])]));
    mocks.tagging.push(
        mock!(aws_sdk_resourcegroupstagging::Client::tag_resources).then_output(|| {
            aws_sdk_resourcegroupstagging::operation::tag_resources::TagResourcesOutput::builder()
                .build()
        }),
    );
    mocks.rds.push(db_instance_endpoint());
    mocks.ssm.push(put_parameter(&sent, true));
    let mut event = tenant_created("tenant-1");
    event["detail"]["databaseArn"] = json!(DB_ARN);
    let out = onboard_tenant(
        LambdaEvent::new(event.clone(), Context::default()),
        &deps(&mocks),
    )
    .await
    .unwrap();
    let setting = &out["databaseEndpoint"];
    assert_eq!(setting["parameter"], ENDPOINT_PARAMETER);
    assert_eq!(
        setting["endpoint"],
        "tenant-1.abc.af-south-1.rds.amazonaws.com:3306"
    );
    assert_eq!(setting["created"], true);
    let arn = format!("arn:aws:ssm:af-south-1:123456789012:parameter{ENDPOINT_PARAMETER}");
    assert_eq!(setting["parameterArn"], json!(arn));
    assert_eq!(
        setting["containerSecret"],
        json!({"name": "WORDPRESS_DB_HOST", "valueFrom": arn})
    );
    let request = &sent.all()[0];
    assert_eq!(request.name(), Some(ENDPOINT_PARAMETER));
    assert_eq!(
        request.value(),
        Some("tenant-1.abc.af-south-1.rds.amazonaws.com:3306")
    );
    assert_eq!(request.overwrite(), Some(false), "never overwritten");

    // Delivered again after a restore put another database live: the parameter is kept.
    let mut mocks2 = Mocks::new();
    mocks2.efs.extend(efs(Arc::default(), &Sent::default()));
    mocks2.events.push(events(&Sent::default()));
    mocks2
        .tagging
        .push(tagged_with(&[(DB_ARN, &[("bbws:tenant-id", "tenant-1")])]));
    mocks2.tagging.push(
        mock!(aws_sdk_resourcegroupstagging::Client::tag_resources).then_output(|| {
            aws_sdk_resourcegroupstagging::operation::tag_resources::TagResourcesOutput::builder()
                .build()
        }),
    );
    mocks2.rds.push(db_instance_endpoint());
    let refused = Sent::default();
    mocks2.ssm.push(put_parameter(&refused, false));
    mocks2.ssm.push(
        mock!(aws_sdk_ssm::Client::get_parameter)
            .match_requests(|r| r.name() == Some(ENDPOINT_PARAMETER))
            .then_output(|| {
                GetParameterOutput::builder()
                    .parameter(
                        Parameter::builder()
                            .name(ENDPOINT_PARAMETER)
                            .value("r-tenant-1-abcd.abc.af-south-1.rds.amazonaws.com:3306")
                            .build(),
                    )
                    .build()
            }),
    );
    let out = onboard_tenant(LambdaEvent::new(event, Context::default()), &deps(&mocks2))
        .await
        .unwrap();
    assert_eq!(out["databaseEndpoint"]["created"], false);
    assert_eq!(
        out["databaseEndpoint"]["endpoint"],
        "r-tenant-1-abcd.abc.af-south-1.rds.amazonaws.com:3306"
    );
    assert_eq!(refused.all().len(), 1);
}
