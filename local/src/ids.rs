//! Identifiers and clocks, in the shapes AWS uses.

use std::time::{SystemTime, UNIX_EPOCH};

/// A random uuid, lowercase (`9a0c…-…`), as request ids are.
pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A random uuid in capitals, as AWS Backup writes job ids and recovery-point ids.
pub fn upper_uuid() -> String {
    uuid().to_uppercase()
}

/// Now, in epoch seconds with a fraction: the form of every AWS Backup timestamp.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// The directory AWS Backup creates at the root of a file system for an item-level restore:
/// `aws-backup-restore_2025-03-28T14-13-02-250589632Z` (UTC, nanoseconds).
pub fn restore_dir_name(at: SystemTime) -> String {
    let t = time::OffsetDateTime::from(at);
    format!(
        "aws-backup-restore_{:04}-{:02}-{:02}T{:02}-{:02}-{:02}-{:09}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn restore_dir_name_has_aws_shape() {
        let at = UNIX_EPOCH + Duration::new(1_743_171_182, 250_589_632);
        assert_eq!(
            restore_dir_name(at),
            "aws-backup-restore_2025-03-28T14-13-02-250589632Z"
        );
    }

    #[test]
    fn uuids_differ_and_have_uuid_shape() {
        let (a, b) = (upper_uuid(), upper_uuid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a, a.to_uppercase());
    }
}
