//! The tenant's cache user (onboarding makes it, offboarding removes it) against the real
//! ElastiCache and Secrets Manager clients answered by rules: what is sent, and that a
//! repeated event makes or fails nothing twice.

use aws_sdk_elasticache::operation::create_user::{CreateUserError, CreateUserOutput};
use aws_sdk_elasticache::operation::delete_user::{DeleteUserError, DeleteUserOutput};
use aws_sdk_elasticache::operation::describe_user_groups::DescribeUserGroupsOutput;
use aws_sdk_elasticache::operation::describe_users::{DescribeUsersError, DescribeUsersOutput};
use aws_sdk_elasticache::operation::modify_user_group::ModifyUserGroupOutput;
use aws_sdk_elasticache::types::error::{UserAlreadyExistsFault, UserNotFoundFault};
use aws_sdk_elasticache::types::{User, UserGroup};
use aws_sdk_secretsmanager::operation::create_secret::CreateSecretOutput;
use aws_sdk_secretsmanager::operation::delete_secret::{DeleteSecretError, DeleteSecretOutput};
use aws_sdk_secretsmanager::operation::get_secret_value::{
    GetSecretValueError, GetSecretValueOutput,
};
use aws_sdk_secretsmanager::types::error::ResourceNotFoundException;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use bbws::tenants::cache_user::CacheUsers;
use bbws::TenantId;

use crate::common::Sent;

const GROUP: &str = "bbws-dev-redis";
const USER: &str = "bbws-dev-t-tenant-1";
const SECRET: &str = "bbws-dev-cache/tenant-1";

fn users(elasticache: &[Rule], secrets: &[Rule]) -> CacheUsers {
    CacheUsers {
        elasticache: mock_client!(aws_sdk_elasticache, RuleMode::MatchAny, elasticache.iter()),
        secrets: mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, secrets.iter()),
        environment: "dev".into(),
        user_group_id: GROUP.into(),
        deletion_waits: vec![std::time::Duration::ZERO; 2],
    }
}

/// `DescribeUsers` of the tenant's user id, answering it in `status`.
fn described(status: &'static str) -> DescribeUsersOutput {
    DescribeUsersOutput::builder()
        .users(
            User::builder()
                .user_id(USER)
                .user_name("tenant-1")
                .status(status)
                .build(),
        )
        .build()
}

fn already_exists() -> CreateUserError {
    CreateUserError::UserAlreadyExistsFault(UserAlreadyExistsFault::builder().build())
}

fn group(members: Vec<String>) -> Rule {
    mock!(aws_sdk_elasticache::Client::describe_user_groups)
        .match_requests(|r| r.user_group_id() == Some(GROUP))
        .then_output(move || {
            DescribeUserGroupsOutput::builder()
                .user_groups(
                    UserGroup::builder()
                        .user_group_id(GROUP)
                        .status("active")
                        .set_user_ids(Some(members.clone()))
                        .build(),
                )
                .build()
        })
}

fn base_members() -> Vec<String> {
    vec!["bbws-dev-default-off".into(), "bbws-dev-flush-cache".into()]
}

fn tenant() -> TenantId {
    TenantId::parse("tenant-1").unwrap()
}

#[tokio::test]
async fn onboarding_makes_the_tenants_user_on_its_prefix_with_the_password_it_keeps() {
    let secrets_sent: Sent<String> = Sent::default();
    let users_sent: Sent<(String, String, String, Vec<String>)> = Sent::default();
    let added: Sent<Vec<String>> = Sent::default();
    let (s, u, a) = (secrets_sent.clone(), users_sent.clone(), added.clone());
    let secrets = [
        mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_error(|| {
            GetSecretValueError::ResourceNotFoundException(
                ResourceNotFoundException::builder().build(),
            )
        }),
        mock!(aws_sdk_secretsmanager::Client::create_secret)
            .match_requests(move |r| {
                s.push(&format!(
                    "{}|{}",
                    r.name().unwrap_or_default(),
                    r.secret_string().unwrap_or_default()
                ));
                true
            })
            .then_output(|| CreateSecretOutput::builder().build()),
    ];
    let elasticache = [
        mock!(aws_sdk_elasticache::Client::create_user)
            .match_requests(move |r| {
                u.push(&(
                    r.user_id().unwrap_or_default().to_owned(),
                    r.user_name().unwrap_or_default().to_owned(),
                    r.access_string().unwrap_or_default().to_owned(),
                    r.passwords().to_vec(),
                ));
                true
            })
            .then_output(|| CreateUserOutput::builder().build()),
        group(base_members()),
        mock!(aws_sdk_elasticache::Client::modify_user_group)
            .match_requests(move |r| {
                a.push(&r.user_ids_to_add().to_vec());
                r.user_group_id() == Some(GROUP) && r.user_ids_to_remove().is_empty()
            })
            .then_output(|| ModifyUserGroupOutput::builder().build()),
    ];
    let made = users(&elasticache, &secrets)
        .create(&tenant())
        .await
        .unwrap();
    assert!(made.created);
    assert_eq!(
        (made.user_id.as_str(), made.user_name.as_str()),
        (USER, "tenant-1")
    );
    assert_eq!(made.secret_name, SECRET);

    let secret = secrets_sent.all();
    assert_eq!(secret.len(), 1);
    let (name, value) = secret[0].split_once('|').unwrap();
    assert_eq!(name, SECRET);
    let value: serde_json::Value = serde_json::from_str(value).unwrap();
    assert_eq!(value["username"], "tenant-1");
    assert_eq!(value["userGroupId"], GROUP);
    let password = value["password"].as_str().unwrap();
    assert_eq!(password.len(), 64);

    let (user_id, user_name, access, passwords) = users_sent.all().remove(0);
    assert_eq!((user_id.as_str(), user_name.as_str()), (USER, "tenant-1"));
    assert!(access.starts_with("on ~tenant-1:* -@all"), "{access}");
    assert!(access.ends_with("-@dangerous"), "{access}");
    // The user's password is the one kept in the secret, nothing else.
    assert_eq!(passwords, vec![password.to_owned()]);
    assert_eq!(added.all(), vec![vec![USER.to_owned()]]);
}

#[tokio::test]
async fn a_repeated_onboarding_reuses_the_secret_and_makes_nothing_twice() {
    let secrets = [
        mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_output(|| {
            GetSecretValueOutput::builder()
                .secret_string(r#"{"username":"tenant-1","password":"kept-password-0123456789"}"#)
                .build()
        }),
    ];
    let passwords: Sent<Vec<String>> = Sent::default();
    let p = passwords.clone();
    let mut members = base_members();
    members.push(USER.into());
    // No CreateSecret and no ModifyUserGroup rule: calling either fails the test.
    let elasticache = [
        mock!(aws_sdk_elasticache::Client::create_user)
            .match_requests(move |r| {
                p.push(&r.passwords().to_vec());
                true
            })
            .then_error(|| {
                CreateUserError::UserAlreadyExistsFault(UserAlreadyExistsFault::builder().build())
            }),
        group(members),
        mock!(aws_sdk_elasticache::Client::describe_users)
            .match_requests(|r| r.user_id() == Some(USER))
            .then_output(|| described("active")),
    ];
    let made = users(&elasticache, &secrets)
        .create(&tenant())
        .await
        .unwrap();
    assert!(!made.created);
    assert_eq!(
        passwords.all(),
        vec![vec!["kept-password-0123456789".to_owned()]]
    );
}

#[tokio::test]
async fn a_full_user_group_is_refused_by_name_before_modify_user_group() {
    let secrets = [
        mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_output(|| {
            GetSecretValueOutput::builder()
                .secret_string(r#"{"username":"tenant-1","password":"kept-password-0123456789"}"#)
                .build()
        }),
    ];
    let full: Vec<String> = (0..100).map(|i| format!("bbws-dev-t-other-{i}")).collect();
    let elasticache = [
        mock!(aws_sdk_elasticache::Client::create_user)
            .then_output(|| CreateUserOutput::builder().build()),
        group(full),
    ];
    let error = users(&elasticache, &secrets)
        .create(&tenant())
        .await
        .unwrap_err();
    assert_eq!(error.name(), "InvalidTenant");
    assert!(error.message().contains("100 users"), "{error}");
}

#[tokio::test]
async fn offboarding_takes_the_user_out_of_the_group_then_deletes_it_and_its_secret() {
    let removed: Sent<Vec<String>> = Sent::default();
    let r = removed.clone();
    let mut members = base_members();
    members.push(USER.into());
    let elasticache = [
        group(members),
        mock!(aws_sdk_elasticache::Client::modify_user_group)
            .match_requests(move |req| {
                r.push(&req.user_ids_to_remove().to_vec());
                req.user_ids_to_add().is_empty()
            })
            .then_output(|| ModifyUserGroupOutput::builder().build()),
        mock!(aws_sdk_elasticache::Client::delete_user)
            .match_requests(|req| req.user_id() == Some(USER))
            .then_output(|| DeleteUserOutput::builder().build()),
    ];
    let secrets = [mock!(aws_sdk_secretsmanager::Client::delete_secret)
        .match_requests(|req| {
            req.secret_id() == Some(SECRET) && req.force_delete_without_recovery() == Some(true)
        })
        .then_output(|| DeleteSecretOutput::builder().build())];
    let out = users(&elasticache, &secrets)
        .remove(&tenant())
        .await
        .unwrap();
    assert_eq!(out["removedFromGroup"], true);
    assert_eq!(out["userDeleted"], true);
    assert_eq!(out["secretDeleted"], true);
    assert_eq!(removed.all(), vec![vec![USER.to_owned()]]);
}

#[tokio::test]
async fn a_repeated_offboarding_finds_everything_gone_and_succeeds() {
    let elasticache = [
        group(base_members()),
        mock!(aws_sdk_elasticache::Client::delete_user).then_error(|| {
            DeleteUserError::UserNotFoundFault(UserNotFoundFault::builder().build())
        }),
    ];
    let secrets = [
        mock!(aws_sdk_secretsmanager::Client::delete_secret).then_error(|| {
            DeleteSecretError::ResourceNotFoundException(
                ResourceNotFoundException::builder().build(),
            )
        }),
    ];
    let out = users(&elasticache, &secrets)
        .remove(&tenant())
        .await
        .unwrap();
    assert_eq!(out["removedFromGroup"], false);
    assert_eq!(out["userDeleted"], false);
    assert_eq!(out["secretDeleted"], false);
}

#[tokio::test]
async fn onboarding_again_right_after_offboarding_waits_out_the_deleting_user_then_makes_it_anew() {
    let secrets = [
        mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_error(|| {
            GetSecretValueError::ResourceNotFoundException(
                ResourceNotFoundException::builder().build(),
            )
        }),
        mock!(aws_sdk_secretsmanager::Client::create_secret)
            .then_output(|| CreateSecretOutput::builder().build()),
    ];
    let added: Sent<Vec<String>> = Sent::default();
    let a = added.clone();
    let create = mock!(aws_sdk_elasticache::Client::create_user)
        .sequence()
        .error(already_exists)
        .output(|| CreateUserOutput::builder().build())
        .build();
    // Deleting on the first look, gone on the second (as ElastiCache once it is deleted).
    let describe = mock!(aws_sdk_elasticache::Client::describe_users)
        .match_requests(|r| r.user_id() == Some(USER))
        .sequence()
        .output(|| described("deleting"))
        .error(|| DescribeUsersError::UserNotFoundFault(UserNotFoundFault::builder().build()))
        .build();
    let elasticache = [
        create.clone(),
        describe.clone(),
        group(base_members()),
        mock!(aws_sdk_elasticache::Client::modify_user_group)
            .match_requests(move |r| {
                a.push(&r.user_ids_to_add().to_vec());
                true
            })
            .then_output(|| ModifyUserGroupOutput::builder().build()),
    ];
    let made = users(&elasticache, &secrets)
        .create(&tenant())
        .await
        .unwrap();
    assert!(made.created, "the user is made anew, with the new password");
    assert_eq!(create.num_calls(), 2);
    assert_eq!(describe.num_calls(), 2);
    assert_eq!(added.all(), vec![vec![USER.to_owned()]]);
}

#[tokio::test]
async fn a_user_still_deleting_after_the_waits_is_a_transient_error_with_nothing_added() {
    let secrets = [
        mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_output(|| {
            GetSecretValueOutput::builder()
                .secret_string(r#"{"username":"tenant-1","password":"kept-password-0123456789"}"#)
                .build()
        }),
    ];
    let describe = mock!(aws_sdk_elasticache::Client::describe_users)
        .match_requests(|r| r.user_id() == Some(USER))
        .then_output(|| described("deleting"));
    // No DescribeUserGroups or ModifyUserGroup rule: calling either fails the test.
    let elasticache = [
        mock!(aws_sdk_elasticache::Client::create_user).then_error(already_exists),
        describe.clone(),
    ];
    let error = users(&elasticache, &secrets)
        .create(&tenant())
        .await
        .unwrap_err();
    assert_eq!(error.name(), "TransientAwsError");
    assert!(error.message().contains("still being deleted"), "{error}");
    // A first look, then one after each of the two waits.
    assert_eq!(describe.num_calls(), 3);
}
