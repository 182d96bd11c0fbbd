//! Names derived from an execution, so a retried step names the same things and starts
//! nothing twice.

use sha2::{Digest, Sha256};

use crate::clock::compact_utc;

fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The tenant backup id that names the pair of recovery points one execution makes for one
/// tenant: `tb-<when>-<digest>`, the digest derived from both, so a retried step names the
/// same backup and a fleet execution gives each tenant its own. `<when>` is when the backup
/// was planned (`YYYYMMDDTHHMMSSZ`): a restore looks for its recovery points around that
/// time instead of reading the tags of the whole vault.
pub fn tenant_backup_id(execution_id: &str, tenant: &str, planned_at: i64) -> String {
    format!(
        "tb-{}-{}",
        compact_utc(planned_at),
        &digest(&["tenant-backup", execution_id, tenant])[..20]
    )
}

/// The IdempotencyToken for one AWS job of one execution: a retried step sends the same token
/// and AWS Backup answers with the job it already started.
pub fn idempotency_token(execution_id: &str, purpose: &str, resource: &str) -> String {
    digest(&[execution_id, purpose, resource])[..48].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::planned_at;

    #[test]
    fn the_planning_time_is_read_back_from_the_id() {
        let t = 1_764_142_200;
        let id = tenant_backup_id("exec", "t-1", t);
        assert_eq!(planned_at(&id), Some(t));
        // Ids made before they carried the time, and anything else, carry none.
        assert_eq!(planned_at("tb-0123456789abcdef0123"), None);
        assert_eq!(planned_at("tb-20251126T073000Z-short"), None);
        assert_eq!(planned_at("tb-notatime-0123456789abcdef0123"), None);
        assert_eq!(
            planned_at("arn:aws:backup:us-east-1:123456789012:recovery-point:x"),
            None
        );
    }

    #[test]
    fn ids_are_stable_per_execution_and_distinct_across() {
        let a = "arn:aws:states:af-south-1:123456789012:execution:bbws-backup:one";
        let b = "arn:aws:states:af-south-1:123456789012:execution:bbws-backup:two";
        let t = 1_764_142_200; // 2025-11-26T07:30:00Z
        assert_eq!(tenant_backup_id(a, "t-1", t), tenant_backup_id(a, "t-1", t));
        assert_ne!(tenant_backup_id(a, "t-1", t), tenant_backup_id(b, "t-1", t));
        assert_ne!(tenant_backup_id(a, "t-1", t), tenant_backup_id(a, "t-2", t));
        assert!(tenant_backup_id(a, "t-1", t).starts_with("tb-20251126T073000Z-"));
        assert_eq!(tenant_backup_id(a, "t-1", t).len(), 40);
        assert_eq!(
            idempotency_token(a, "backup", "fs"),
            idempotency_token(a, "backup", "fs")
        );
        assert_ne!(
            idempotency_token(a, "backup", "fs"),
            idempotency_token(a, "backup", "db")
        );
        assert_ne!(
            idempotency_token(a, "backup", "fs"),
            idempotency_token(b, "backup", "fs")
        );
    }
}
