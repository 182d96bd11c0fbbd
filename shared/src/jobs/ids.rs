//! Names derived from an execution, so a retried step names the same things and starts
//! nothing twice.

use sha2::{Digest, Sha256};

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
/// tenant: derived from both, so a retried step names the same backup and a fleet execution
/// gives each tenant its own.
pub fn tenant_backup_id(execution_id: &str, tenant: &str) -> String {
    format!(
        "tb-{}",
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

    #[test]
    fn ids_are_stable_per_execution_and_distinct_across() {
        let a = "arn:aws:states:af-south-1:123456789012:execution:bbws-backup:one";
        let b = "arn:aws:states:af-south-1:123456789012:execution:bbws-backup:two";
        assert_eq!(tenant_backup_id(a, "t-1"), tenant_backup_id(a, "t-1"));
        assert_ne!(tenant_backup_id(a, "t-1"), tenant_backup_id(b, "t-1"));
        assert_ne!(tenant_backup_id(a, "t-1"), tenant_backup_id(a, "t-2"));
        assert!(tenant_backup_id(a, "t-1").starts_with("tb-"));
        assert_eq!(tenant_backup_id(a, "t-1").len(), 23);
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
