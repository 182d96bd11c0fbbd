//! Vaults, which hold the recovery points: CreateBackupVault and DescribeBackupVault.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{parse_body, ApiResult};
use crate::backup::error::ApiError;
use crate::backup::model::{vault_arn, Vault, ACCOUNT};
use crate::backup::store::Store;
use crate::backup::views::{self, Obj};
use crate::ids;

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateBackupVaultInput {
    backup_vault_tags: Option<BTreeMap<String, String>>,
    creator_request_id: Option<String>,
    encryption_key_arn: Option<String>,
}

pub fn create_backup_vault(store: &Store, region: &str, name: &str, body: &[u8]) -> ApiResult {
    let valid_name = (2..=50).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_name {
        return Err(ApiError::invalid_parameter(format!(
            "Backup vault name {name:?} must be 2 to 50 letters, digits, hyphens or underscores."
        )));
    }
    let input: CreateBackupVaultInput = parse_body(body)?;
    let arn = vault_arn(region, name);
    let vault = Vault {
        name: name.to_owned(),
        arn: arn.clone(),
        region: region.to_owned(),
        created: ids::now(),
        creator_request_id: input.creator_request_id,
        encryption_key_arn: input
            .encryption_key_arn
            .unwrap_or_else(|| format!("arn:aws:kms:{region}:{ACCOUNT}:key/{}", ids::uuid())),
        tags: input.backup_vault_tags.unwrap_or_default(),
    };
    store.with(|s| {
        if s.vaults.contains_key(&arn) {
            return Err(ApiError::already_exists(format!(
                "Backup vault {name} already exists."
            )));
        }
        let out = Obj::new()
            .set("BackupVaultName", name)
            .set("BackupVaultArn", arn.as_str())
            .set("CreationDate", vault.created)
            .build();
        s.vaults.insert(arn.clone(), vault);
        Ok(out)
    })
}

pub fn describe_backup_vault(store: &Store, region: &str, name: &str) -> ApiResult {
    store.with(|s| {
        let vault = s.vault(region, name)?;
        let count = s
            .recovery_points
            .values()
            .filter(|rp| rp.vault_arn == vault.arn)
            .count();
        Ok(views::vault(vault, count))
    })
}
