//! The tenant's own identity on the platform's cache: an ElastiCache RBAC user whose access
//! string reaches only `<tenant-id>:*`, in the data layer's user group, with its password in
//! a secret the tenant's site reads. Onboarding makes them, offboarding removes them; both
//! take a repeated event without making or failing anything twice.
//!
//! ElastiCache's default quota is 100 users per user group
//! (https://docs.aws.amazon.com/general/latest/gr/elasticache-service.html): a full group is
//! refused here, by name, before `ModifyUserGroup` would fail.

use serde::{Deserialize, Serialize};

use crate::tenant_id::TenantId;
#[cfg(all(feature = "sdk-elasticache", feature = "sdk-secretsmanager"))]
pub use service::CacheUsers;

/// ElastiCache's default "users per user group" quota.
pub const USERS_PER_USER_GROUP: usize = 100;

/// What a WordPress object cache sends, on its own keys only. `-@dangerous` last, so KEYS,
/// FLUSHALL, FLUSHDB, CONFIG, DEBUG and the like stay refused whatever the categories before
/// it add (ACL rules apply left to right:
/// https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Clusters.RBAC.html).
pub fn access_string(tenant: &TenantId) -> String {
    format!(
        "on ~{tenant}:* -@all +@read +@write +@connection +@transaction +@scripting -@dangerous"
    )
}

/// The tenant's cache identity, as onboarding reports it (never its password).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheUser {
    pub user_id: String,
    /// What the site authenticates as (`AUTH <user name> <password>`): the tenant id.
    pub user_name: String,
    pub user_group_id: String,
    pub access_string: String,
    /// The secret holding `username`, `password` and `userGroupId`, read by the site.
    pub secret_name: String,
    /// False when the user already existed (a repeated event).
    pub created: bool,
}

#[cfg(all(feature = "sdk-elasticache", feature = "sdk-secretsmanager"))]
mod service {
    use aws_config::SdkConfig;
    use serde_json::{json, Value};

    use super::{access_string, CacheUser, USERS_PER_USER_GROUP};
    use crate::config::{required, Config, ConfigError};
    use crate::error::{Error, ErrorKind, Operation};
    use crate::tenant_id::TenantId;

    const OP: Operation = Operation::Backup;

    /// The clients and names the tenant's cache identity needs.
    pub struct CacheUsers {
        pub elasticache: aws_sdk_elasticache::Client,
        pub secrets: aws_sdk_secretsmanager::Client,
        pub environment: String,
        /// The data layer's user group (`CACHE_USER_GROUP_ID`, its `RedisUserGroupId` export).
        pub user_group_id: String,
        /// The pauses between looks at a user of the same id still being deleted, before
        /// onboarding gives up and the event is retried.
        pub deletion_waits: Vec<std::time::Duration>,
    }

    impl CacheUsers {
        pub fn build(
            sdk: &SdkConfig,
            lookup: &dyn Fn(&str) -> Option<String>,
        ) -> Result<Self, ConfigError> {
            Ok(Self {
                elasticache: aws_sdk_elasticache::Client::new(sdk),
                secrets: aws_sdk_secretsmanager::Client::new(sdk),
                environment: Config::from_lookup(lookup)?.environment,
                user_group_id: required(&lookup, "CACHE_USER_GROUP_ID")?,
                // About 15 s in all, well inside the function's timeout.
                deletion_waits: [1, 2, 4, 8].map(std::time::Duration::from_secs).to_vec(),
            })
        }

        /// `bbws-<env>-t-<tenant-id>`: ElastiCache's user id grammar (a letter first, then
        /// letters, digits, hyphens), which a tenant id after that prefix always fits.
        pub fn user_id(&self, tenant: &TenantId) -> String {
            format!("bbws-{}-t-{tenant}", self.environment)
        }

        pub fn secret_name(&self, tenant: &TenantId) -> String {
            format!("bbws-{}-cache/{tenant}", self.environment)
        }

        /// Creates the tenant's secret, user and membership, each unless it exists.
        pub async fn create(&self, tenant: &TenantId) -> Result<CacheUser, Error> {
            let user_id = self.user_id(tenant);
            let secret_name = self.secret_name(tenant);
            let password = self.password(tenant, &secret_name).await?;
            let access = access_string(tenant);
            let mut created = self
                .create_user(tenant, &user_id, &access, &password)
                .await?;
            // A user of the same id still being deleted (the tenant was offboarded moments
            // ago) is not this tenant's user: it is waited out, then made anew.
            if !created && self.wait_while_deleting(tenant, &user_id).await? {
                created = self
                    .create_user(tenant, &user_id, &access, &password)
                    .await?;
                if !created {
                    return Err(busy(format!(
                        "the cache user {user_id} was made again while onboarding waited; \
                         it is checked on a retry"
                    )));
                }
            }
            let members = self.members().await?;
            if !members.contains(&user_id) {
                if members.len() >= USERS_PER_USER_GROUP {
                    return Err(Error::new(
                        ErrorKind::InvalidTenant,
                        format!(
                            "the cache's user group {} holds {} users, ElastiCache's quota per \
                         user group: tenant {tenant} needs a cache with room (see the README, \
                         \"Cache isolation\"); its user {user_id} is made but not in a group",
                            self.user_group_id,
                            members.len()
                        ),
                    ));
                }
                self.modify(tenant, Some(&user_id), None).await?;
            }
            Ok(CacheUser {
                user_id,
                user_name: tenant.to_string(),
                user_group_id: self.user_group_id.clone(),
                access_string: access,
                secret_name,
                created,
            })
        }

        /// True when made, false when a user of this id exists.
        async fn create_user(
            &self,
            tenant: &TenantId,
            user_id: &str,
            access: &str,
            password: &str,
        ) -> Result<bool, Error> {
            match self
                .elasticache
                .create_user()
                .user_id(user_id)
                .user_name(tenant.as_str())
                .engine("redis")
                .access_string(access)
                .passwords(password)
                .send()
                .await
            {
                Ok(_) => Ok(true),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_user_already_exists_fault()) =>
                {
                    Ok(false)
                }
                Err(e) => Err(OP.aws(&format!("creating the cache user of {tenant}"), e)),
            }
        }

        /// Whether the existing user `user_id` was being deleted and is gone now (true), or
        /// is a live user (false). ElastiCache deletes a user asynchronously, its status
        /// "deleting" meanwhile, and refuses a new user of the same id until it is gone
        /// (https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_User.html):
        /// still deleting after the waits, the event is retried (`TransientAwsError`).
        async fn wait_while_deleting(
            &self,
            tenant: &TenantId,
            user_id: &str,
        ) -> Result<bool, Error> {
            for wait in std::iter::once(std::time::Duration::ZERO)
                .chain(self.deletion_waits.iter().copied())
            {
                tokio::time::sleep(wait).await;
                match self
                    .elasticache
                    .describe_users()
                    .user_id(user_id)
                    .send()
                    .await
                {
                    Ok(out) => match out.users().iter().find(|u| u.user_id() == Some(user_id)) {
                        None => return Ok(true),
                        Some(user) if user.status() == Some("deleting") => continue,
                        // A live user: a repeated event's own.
                        Some(_) => return Ok(false),
                    },
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_user_not_found_fault()) =>
                    {
                        return Ok(true)
                    }
                    Err(e) => return Err(OP.aws(&format!("reading the cache user of {tenant}"), e)),
                }
            }
            Err(busy(format!(
                "the cache user {user_id} of an earlier {tenant} is still being deleted; \
                 the tenant is onboarded on a retry"
            )))
        }

        /// Removes the tenant's user from the group, then the user and its secret; what is
        /// already gone is skipped.
        pub async fn remove(&self, tenant: &TenantId) -> Result<Value, Error> {
            let user_id = self.user_id(tenant);
            let was_member = self.members().await?.contains(&user_id);
            if was_member {
                self.modify(tenant, None, Some(&user_id)).await?;
            }
            let deleted = match self
                .elasticache
                .delete_user()
                .user_id(&user_id)
                .send()
                .await
            {
                Ok(_) => true,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_user_not_found_fault()) =>
                {
                    false
                }
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_invalid_user_state_fault()) =>
                {
                    return Err(busy(format!(
                        "the cache user {user_id} is still changing; it is deleted on a retry"
                    )))
                }
                Err(e) => return Err(OP.aws(&format!("deleting the cache user of {tenant}"), e)),
            };
            let secret_name = self.secret_name(tenant);
            let secret_deleted = match self
                .secrets
                .delete_secret()
                .secret_id(&secret_name)
                // The password is useless once its user is gone, and a tenant onboarded again
                // under the same id must be able to make the secret anew.
                .force_delete_without_recovery(true)
                .send()
                .await
            {
                Ok(_) => true,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    false
                }
                Err(e) => return Err(OP.aws(&format!("deleting the secret {secret_name}"), e)),
            };
            Ok(json!({
                "userId": user_id,
                "removedFromGroup": was_member,
                "userDeleted": deleted,
                "secretDeleted": secret_deleted,
            }))
        }

        /// The user ids in the group, those being added included.
        async fn members(&self) -> Result<Vec<String>, Error> {
            let out = self
                .elasticache
                .describe_user_groups()
                .user_group_id(&self.user_group_id)
                .send()
                .await
                .map_err(|e| {
                    OP.aws(
                        &format!("reading the cache's user group {}", self.user_group_id),
                        e,
                    )
                })?;
            let group = out.user_groups().first().ok_or_else(|| {
                OP.failed(format!(
                    "the cache's user group {} is not found",
                    self.user_group_id
                ))
            })?;
            let mut members = group.user_ids().to_vec();
            if let Some(pending) = group.pending_changes() {
                members.extend(pending.user_ids_to_add().iter().cloned());
                members.retain(|m| !pending.user_ids_to_remove().contains(m));
            }
            Ok(members)
        }

        async fn modify(
            &self,
            tenant: &TenantId,
            add: Option<&str>,
            remove: Option<&str>,
        ) -> Result<(), Error> {
            let mut request = self
                .elasticache
                .modify_user_group()
                .user_group_id(&self.user_group_id);
            if let Some(user) = add {
                request = request.user_ids_to_add(user);
            }
            if let Some(user) = remove {
                request = request.user_ids_to_remove(user);
            }
            match request.send().await {
            Ok(_) => Ok(()),
            // The group (or a user just made) is still settling: the event is retried.
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_invalid_user_group_state_fault()
                }) =>
            {
                Err(busy(format!(
                    "the cache's user group {} is changing; {tenant}'s membership is set on a retry",
                    self.user_group_id
                )))
            }
            Err(e) => Err(OP.aws(
                &format!("changing the cache's user group for {tenant}"),
                e,
            )),
        }
        }

        /// The tenant's password: the secret's, or a new one kept in a new secret first, so a
        /// user is never made with a password nobody can read.
        async fn password(&self, tenant: &TenantId, secret_name: &str) -> Result<String, Error> {
            if let Some(password) = self.stored_password(secret_name).await? {
                return Ok(password);
            }
            let password = new_password()?;
            let value = json!({
                "username": tenant.as_str(),
                "password": password,
                "userGroupId": self.user_group_id,
            });
            match self
                .secrets
                .create_secret()
                .name(secret_name)
                .description(format!(
                    "The cache user of tenant {tenant} (username, password), read by its site"
                ))
                .secret_string(value.to_string())
                .send()
                .await
            {
                Ok(_) => Ok(password),
                // A concurrent delivery made it first: its password is the one.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_exists_exception()) =>
                {
                    self.stored_password(secret_name).await?.ok_or_else(|| {
                        OP.failed(format!(
                            "the secret {secret_name} exists but holds no password"
                        ))
                    })
                }
                Err(e) => Err(OP.aws(&format!("creating the secret {secret_name}"), e)),
            }
        }

        async fn stored_password(&self, secret_name: &str) -> Result<Option<String>, Error> {
            match self
                .secrets
                .get_secret_value()
                .secret_id(secret_name)
                .send()
                .await
            {
                Ok(out) => Ok(out
                    .secret_string()
                    .and_then(|s| serde_json::from_str::<Value>(s).ok())
                    .and_then(|v| v["password"].as_str().map(str::to_owned))),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    Ok(None)
                }
                Err(e) => Err(OP.aws(&format!("reading the secret {secret_name}"), e)),
            }
        }
    }

    fn busy(message: String) -> Error {
        Error::new(ErrorKind::Transient, message)
    }

    /// 64 hexadecimal characters from the kernel's random source: ElastiCache takes printable
    /// ASCII passwords of 16 to 128 characters.
    fn new_password() -> Result<String, Error> {
        use std::io::Read;
        let mut bytes = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .map_err(|e| OP.failed(format!("no random bytes for a cache password: {e}")))?;
        Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    #[cfg(test)]
    #[test]
    fn a_new_password_is_64_hex_characters_and_new_each_time() {
        let (a, b) = (new_password().unwrap(), new_password().unwrap());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenants_access_string_names_its_prefix_and_ends_refusing_dangerous_commands() {
        let tenant = TenantId::parse("tenant-1").unwrap();
        let access = access_string(&tenant);
        assert!(access.starts_with("on ~tenant-1:* -@all "), "{access}");
        assert!(access.ends_with(" -@dangerous"), "{access}");
        assert!(
            !access.contains("+@all") && !access.contains("~*"),
            "{access}"
        );
    }
}
