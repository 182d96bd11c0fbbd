//! The catalog's items as types, apart from how DynamoDB stores them.

use serde::{Deserialize, Serialize};

use crate::clock::{compact_utc, parse_compact_utc};

/// How a tenant backup was made.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum BackupKind {
    /// `bbws backup`, the state machine started by hand, or offboarding's final backup.
    #[default]
    OnDemand,
    /// The daily fleet run: a backup that joined the run's shared file-system job.
    Fleet,
    /// An hourly plan run: the shared file system's point and the tenant database's.
    Hourly,
}

impl BackupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupKind::OnDemand => "on-demand",
            BackupKind::Fleet => "fleet",
            BackupKind::Hourly => "hourly",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [BackupKind::OnDemand, BackupKind::Fleet, BackupKind::Hourly]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// The value of a joined point's `bbws:backup:<id>` tag: `<tenant id>/<kind>`.
pub fn joined_tag_value(tenant: &str, kind: BackupKind) -> String {
    format!("{tenant}/{}", kind.as_str())
}

/// Reads a joined point's tag value back: the tenant and the backup's kind (a bare tenant id,
/// as earlier versions wrote it, is an on-demand backup's).
pub fn parse_joined_tag_value(value: &str) -> Option<(String, BackupKind)> {
    match value.split_once('/') {
        None if !value.is_empty() => Some((value.to_owned(), BackupKind::OnDemand)),
        None => None,
        Some((tenant, kind)) => Some((tenant.to_owned(), BackupKind::parse(kind)?)),
    }
}

/// Which half of a tenant backup a recovery point is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    Files,
    Database,
}

impl Component {
    /// The item's attribute that holds the point.
    pub fn attribute(self) -> &'static str {
        match self {
            Component::Files => "files",
            Component::Database => "database",
        }
    }
}

/// Whether a recovery point is a continuous one (`…:recovery-point:continuous:…`): a
/// database rule with `EnableContinuousBackup` makes one per database and updates it on every
/// run; it restores to any second of its window rather than to the moment it was made.
pub fn is_continuous(recovery_point_arn: &str) -> bool {
    recovery_point_arn.contains(":recovery-point:continuous:")
}

/// One recovery point as the catalog keeps it: what a restore needs without reading a vault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Point {
    pub recovery_point_arn: String,
    /// The backed-up resource: the shared file system, or the tenant's database.
    pub resource_arn: String,
    /// AWS Backup's resource type: `EFS`, `RDS` or `Aurora`.
    pub resource_type: String,
    pub vault: String,
    /// When AWS Backup made it (seconds since the epoch).
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
    /// AWS Backup's recovery point status when recorded (`COMPLETED`).
    pub status: String,
    /// When its lifecycle deletes it, if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_at: Option<i64>,
}

/// A recovery point's copy in the DR vault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DrCopy {
    pub copy_job_id: String,
    /// The copy's own ARN in the DR region, once the copy exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_point_arn: Option<String>,
    pub vault_arn: String,
    /// The copy job's state: CREATED, RUNNING, COMPLETED, FAILED, PARTIAL.
    pub state: String,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_at: Option<i64>,
}

impl DrCopy {
    /// How far a copy job has got: a state change is recorded only when it goes further, so
    /// a repeated or late event never takes a copy back.
    pub fn rank(state: &str) -> i64 {
        match state {
            "CREATED" => 1,
            "RUNNING" => 2,
            "COMPLETED" | "FAILED" | "PARTIAL" | "ABORTED" | "EXPIRED" => 3,
            _ => 0,
        }
    }
}

/// One restore point of one tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantBackup {
    pub tenant_id: String,
    pub backup_id: String,
    pub kind: BackupKind,
    /// The time the id carries: it orders the tenant's backups.
    pub time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Point>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<Point>,
    /// The restore executions that used it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restores: Vec<String>,
    /// When DynamoDB may delete the item (TTL): once neither point nor DR copy is left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// A tenant's life on the shared file system: from its access point's creation to its
/// deletion at offboarding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Life {
    pub tenant_id: String,
    pub access_point_id: String,
    pub onboarded_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offboarded_at: Option<i64>,
}

impl Life {
    /// The tag an ended life leaves on recovery points (`bbws:life:<access point id>`):
    /// `None` while the life goes on.
    pub fn tag(&self) -> Option<(String, String)> {
        let ended = self.offboarded_at?;
        Some((
            format!("{}{}", crate::tags::LIFE_PREFIX, self.access_point_id),
            format!(
                "{}/{}/{}",
                self.tenant_id,
                compact_utc(self.onboarded_at),
                compact_utc(ended)
            ),
        ))
    }

    /// Reads back what [`Life::tag`] writes; `None` for any other tag.
    pub fn from_tag(key: &str, value: &str) -> Option<Life> {
        let access_point_id = key.strip_prefix(crate::tags::LIFE_PREFIX)?;
        let mut parts = value.split('/');
        let (Some(tenant), Some(on), Some(off), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        Some(Life {
            tenant_id: tenant.to_owned(),
            access_point_id: access_point_id.to_owned(),
            onboarded_at: parse_compact_utc(on)?,
            offboarded_at: Some(parse_compact_utc(off)?),
        })
    }

    /// Whether the tenant was on the file system at `t`.
    pub fn covers(&self, t: i64) -> bool {
        self.onboarded_at <= t && self.offboarded_at.is_none_or(|end| t <= end)
    }
}

/// When an item holding a point may go: after the point's own deletion and after its DR
/// copy's (the copy may outlive the point: a database point is kept 7 days, its copy 30).
pub fn expiry(point: &Point, dr_delete_after_days: i64) -> Option<i64> {
    let copy = point.created_at + dr_delete_after_days * 86_400;
    Some(point.delete_at.map_or(copy, |d| d.max(copy)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_life_covers_its_span_only() {
        let life = Life {
            tenant_id: "t".into(),
            access_point_id: "fsap-1".into(),
            onboarded_at: 100,
            offboarded_at: Some(200),
        };
        assert!(!life.covers(99));
        assert!(life.covers(100) && life.covers(200));
        assert!(!life.covers(201));
        let open = Life {
            offboarded_at: None,
            ..life
        };
        assert!(open.covers(10_000));
    }

    #[test]
    fn an_ended_life_reads_back_from_its_tag() {
        let life = Life {
            tenant_id: "acme".into(),
            access_point_id: "fsap-0123".into(),
            onboarded_at: 1_764_142_930,
            offboarded_at: Some(1_764_150_000),
        };
        let (key, value) = life.tag().unwrap();
        assert_eq!(key, "bbws:life:fsap-0123");
        assert_eq!(value, "acme/20251126T074210Z/20251126T094000Z");
        assert_eq!(Life::from_tag(&key, &value), Some(life.clone()));
        assert_eq!(Life::from_tag("bbws:tenant-id", &value), None);
        assert_eq!(Life::from_tag(&key, "acme/20251126T074210Z"), None);
        let open = Life {
            offboarded_at: None,
            ..life
        };
        assert_eq!(open.tag(), None);
    }

    #[test]
    fn a_joined_tag_names_the_tenant_and_the_kind() {
        let value = joined_tag_value("acme", BackupKind::Fleet);
        assert_eq!(value, "acme/fleet");
        assert_eq!(
            parse_joined_tag_value(&value),
            Some(("acme".into(), BackupKind::Fleet))
        );
        assert_eq!(
            parse_joined_tag_value("acme"),
            Some(("acme".into(), BackupKind::OnDemand))
        );
        assert_eq!(parse_joined_tag_value("acme/weekly"), None);
        assert_eq!(parse_joined_tag_value(""), None);
    }

    #[test]
    fn copy_states_only_move_forward() {
        assert!(DrCopy::rank("RUNNING") > DrCopy::rank("CREATED"));
        assert!(DrCopy::rank("COMPLETED") > DrCopy::rank("RUNNING"));
        assert_eq!(DrCopy::rank("FAILED"), DrCopy::rank("COMPLETED"));
    }

    #[test]
    fn an_item_outlives_the_point_and_its_copy() {
        let point = Point {
            recovery_point_arn: "arn".into(),
            resource_arn: "db".into(),
            resource_type: "RDS".into(),
            vault: "v".into(),
            created_at: 0,
            size_bytes: None,
            status: "COMPLETED".into(),
            delete_at: Some(7 * 86_400),
        };
        assert_eq!(expiry(&point, 30), Some(30 * 86_400));
        let efs = Point {
            delete_at: Some(91 * 86_400),
            ..point
        };
        assert_eq!(expiry(&efs, 30), Some(91 * 86_400));
    }
}
