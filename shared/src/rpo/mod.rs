//! RPO by absence: a backup that never happened. Every onboarded tenant's newest restorable
//! files point and database point (a continuous point up to its newest completed run) are
//! read from the catalog, never from a vault, and compared with a threshold. A stale tenant
//! is named with why: its database is not selected by the plan, a job failed, or no job ran.
//!
//! `check-rpo` (on a schedule) alerts once per stale set: the set last announced is kept in
//! the catalog (`pk` `rpo`, `sk` `alerted`), and the same set is not announced again.
//! `bbws backups --stale` shows the same assessment without alerting.

#[cfg(all(
    feature = "sdk-backup",
    feature = "sdk-dynamodb",
    feature = "sdk-tagging"
))]
mod check;

#[cfg(all(
    feature = "sdk-backup",
    feature = "sdk-dynamodb",
    feature = "sdk-tagging"
))]
pub use check::Assessor;
#[cfg(all(
    feature = "sdk-backup",
    feature = "sdk-dynamodb",
    feature = "sdk-eventbridge",
    feature = "sdk-tagging"
))]
pub use check::{handler, RpoCheck};

use std::collections::BTreeMap;

use serde::Serialize;

/// The threshold when `RPO_THRESHOLD_SECONDS` is not set: the template's default, 2 hours.
pub const DEFAULT_THRESHOLD_SECONDS: i64 = 7200;
/// The event an announced stale set is put on the bus as (an alert rule sends it on).
pub const STALE_DETAIL_TYPE: &str = "TenantBackupsStale";

/// Why a tenant's component is stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The database carries no tag the plan's selection takes (or there is no database).
    NotSelected,
    /// A job on the resource failed, expired or was aborted within the threshold.
    FailedJob,
    /// No job ended in a recovery point within the threshold, and none failed.
    NoJob,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NotSelected => "not-selected",
            Reason::FailedJob => "failed-job",
            Reason::NoJob => "no-job",
        }
    }
}

/// The database selection of the hourly plan, as `template.yaml`'s `DatabaseBackupSelection`
/// writes it: resource ARN patterns AND one `StringLike` tag condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub resources: Vec<String>,
    pub tag_key: String,
    pub tag_value: String,
}

impl Default for Selection {
    fn default() -> Self {
        Self {
            resources: vec![
                "arn:*:rds:*:*:db:*".into(),
                "arn:*:rds:*:*:cluster:*".into(),
            ],
            tag_key: crate::tags::TENANT_ID.into(),
            tag_value: "*".into(),
        }
    }
}

impl Selection {
    /// `DB_SELECTION_RESOURCES` (comma-separated ARN patterns) and `DB_SELECTION_TAG`
    /// (`key=value pattern`); each defaults to the template's.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Self {
        let mut selection = Self::default();
        if let Some(resources) = lookup("DB_SELECTION_RESOURCES").filter(|v| !v.trim().is_empty()) {
            selection.resources = resources.split(',').map(|r| r.trim().to_owned()).collect();
        }
        if let Some((key, value)) = lookup("DB_SELECTION_TAG")
            .as_deref()
            .and_then(|t| t.split_once('='))
        {
            selection.tag_key = key.trim().to_owned();
            selection.tag_value = value.trim().to_owned();
        }
        selection
    }

    /// Whether a database with these tags is selected (resources AND the condition).
    pub fn selects(&self, arn: &str, tags: &BTreeMap<String, String>) -> bool {
        self.resources.iter().any(|pattern| glob(pattern, arn))
            && tags
                .get(&self.tag_key)
                .is_some_and(|value| glob(&self.tag_value, value))
    }
}

/// `StringLike`'s matching: `*` any run of characters, `?` one.
pub fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    go(&p, &t)
}

/// What the check knows of one tenant before judging it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    pub tenant_id: String,
    /// When the newest files point was made.
    pub files_at: Option<i64>,
    /// When the newest database point can restore to.
    pub database_at: Option<i64>,
    /// The tenant's databases (tagged `bbws:tenant-id` with it) the plan selects.
    pub selected_databases: Vec<String>,
    /// The tenant's databases the plan does not select.
    pub unselected_databases: Vec<String>,
    /// A job on the shared file system failed within the threshold.
    pub files_job_failed: bool,
    /// A job on one of the tenant's databases failed within the threshold.
    pub database_job_failed: bool,
}

/// One tenant as the check judged it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Assessed {
    pub tenant_id: String,
    /// Seconds since the newest files point; `None` when there is none.
    pub files_age_seconds: Option<i64>,
    pub database_age_seconds: Option<i64>,
    /// Databases tagged for the tenant that the plan does not select.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unselected_databases: Vec<String>,
    /// Why its files are stale; `None` when they are not.
    pub files: Option<Reason>,
    /// Why its database is stale; `None` when it is not.
    pub database: Option<Reason>,
}

impl Assessed {
    pub fn stale(&self) -> bool {
        self.files.is_some() || self.database.is_some()
    }

    /// `tenant (files: no-job, database: not-selected)`: ids and fixed words, no quotes.
    pub fn summary(&self) -> String {
        let reasons: Vec<String> = [("files", self.files), ("database", self.database)]
            .into_iter()
            .filter_map(|(what, r)| r.map(|r| format!("{what}: {}", r.as_str())))
            .collect();
        format!("{} ({})", self.tenant_id, reasons.join(", "))
    }
}

/// Judges one tenant: a component is stale when its newest point is older than `threshold`
/// (or missing); a database no plan selects is stale whatever its points say, since no
/// hourly point will come.
pub fn assess(facts: &Facts, now: i64, threshold: i64) -> Assessed {
    let age = |at: Option<i64>| at.map(|t| (now - t).max(0));
    let old = |at: Option<i64>| at.is_none_or(|t| now - t > threshold);
    let why = |failed: bool| {
        if failed {
            Reason::FailedJob
        } else {
            Reason::NoJob
        }
    };
    let not_selected =
        facts.selected_databases.is_empty() || !facts.unselected_databases.is_empty();
    Assessed {
        tenant_id: facts.tenant_id.clone(),
        files_age_seconds: age(facts.files_at),
        database_age_seconds: age(facts.database_at),
        unselected_databases: facts.unselected_databases.clone(),
        files: old(facts.files_at).then(|| why(facts.files_job_failed)),
        database: if not_selected {
            Some(Reason::NotSelected)
        } else {
            old(facts.database_at).then(|| why(facts.database_job_failed))
        },
    }
}

/// What one check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub checked_at: String,
    pub threshold_seconds: i64,
    pub tenants: Vec<Assessed>,
    /// The stale tenants' ids, sorted.
    pub stale: Vec<String>,
    /// Whether this check announced the stale set (a new set; `false` for one announced before).
    pub alerted: bool,
}

impl Report {
    pub fn new(checked_at: i64, threshold: i64, mut tenants: Vec<Assessed>) -> Self {
        tenants.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
        let stale = tenants
            .iter()
            .filter(|t| t.stale())
            .map(|t| t.tenant_id.clone())
            .collect();
        Self {
            checked_at: crate::clock::rfc3339(checked_at),
            threshold_seconds: threshold,
            tenants,
            stale,
            alerted: false,
        }
    }

    /// What identifies the stale set: each stale tenant with its reasons (ages move on every
    /// run and are left out, so the same set reads the same).
    pub fn signature(&self) -> String {
        self.tenants
            .iter()
            .filter(|t| t.stale())
            .map(Assessed::summary)
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The signature as the catalog keeps it: its sha256 (hex), so the item stays small
    /// however many tenants are stale.
    pub fn signature_digest(&self) -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(self.signature().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const HOUR: i64 = 3600;

    fn fresh(tenant: &str) -> Facts {
        Facts {
            tenant_id: tenant.into(),
            files_at: Some(NOW - HOUR),
            database_at: Some(NOW - HOUR),
            selected_databases: vec!["arn:aws:rds:us-east-1:123456789012:db:t".into()],
            ..Facts::default()
        }
    }

    #[test]
    fn a_tenant_with_points_inside_the_threshold_is_not_stale() {
        let a = assess(&fresh("acme"), NOW, 2 * HOUR);
        assert!(!a.stale(), "{a:?}");
        assert_eq!(a.files_age_seconds, Some(HOUR));
    }

    #[test]
    fn an_old_point_is_stale_for_want_of_a_job_or_for_a_failed_one() {
        let mut facts = Facts {
            files_at: Some(NOW - 3 * HOUR),
            database_at: None,
            database_job_failed: true,
            ..fresh("acme")
        };
        let a = assess(&facts, NOW, 2 * HOUR);
        assert_eq!(
            (a.files, a.database),
            (Some(Reason::NoJob), Some(Reason::FailedJob))
        );
        assert_eq!(a.summary(), "acme (files: no-job, database: failed-job)");
        facts.files_job_failed = true;
        assert_eq!(assess(&facts, NOW, 2 * HOUR).files, Some(Reason::FailedJob));
    }

    #[test]
    fn a_database_no_plan_selects_is_stale_even_with_a_fresh_point() {
        let facts = Facts {
            selected_databases: vec![],
            unselected_databases: vec!["arn:aws:rds:us-east-1:123456789012:db:x".into()],
            ..fresh("acme")
        };
        let a = assess(&facts, NOW, 2 * HOUR);
        assert_eq!((a.files, a.database), (None, Some(Reason::NotSelected)));
        let none = Facts {
            selected_databases: vec![],
            ..fresh("bare")
        };
        assert_eq!(
            assess(&none, NOW, 2 * HOUR).database,
            Some(Reason::NotSelected)
        );
    }

    #[test]
    fn the_selection_is_the_template_s_resources_and_tag_condition() {
        let selection = Selection::default();
        let tagged: BTreeMap<String, String> =
            [("bbws:tenant-id".to_owned(), "acme".to_owned())].into();
        let db = "arn:aws:rds:us-east-1:123456789012:db:acme";
        assert!(selection.selects(db, &tagged));
        assert!(selection.selects("arn:aws:rds:us-east-1:123456789012:cluster:acme", &tagged));
        assert!(!selection.selects(db, &BTreeMap::new()));
        assert!(!selection.selects("arn:aws:rds:us-east-1:123456789012:snapshot:x", &tagged));
        let lookup = |name: &str| match name {
            "DB_SELECTION_RESOURCES" => Some("arn:aws:rds:us-east-1:123456789012:cluster:*".into()),
            "DB_SELECTION_TAG" => Some("bbws:backup=hourly*".into()),
            _ => None,
        };
        let configured = Selection::from_lookup(&lookup);
        assert!(
            !configured.selects(db, &tagged),
            "instances are not selected"
        );
        let hourly: BTreeMap<String, String> =
            [("bbws:backup".to_owned(), "hourly-1".to_owned())].into();
        assert!(configured.selects("arn:aws:rds:us-east-1:123456789012:cluster:c", &hourly));
    }

    #[test]
    fn the_same_stale_set_reads_the_same_whatever_the_ages() {
        let stale = |age: i64| {
            let facts = Facts {
                files_at: Some(NOW - age),
                ..fresh("acme")
            };
            Report::new(
                NOW,
                2 * HOUR,
                vec![
                    assess(&facts, NOW, 2 * HOUR),
                    assess(&fresh("b"), NOW, 2 * HOUR),
                ],
            )
        };
        let (one, two) = (stale(3 * HOUR), stale(5 * HOUR));
        assert_eq!(one.stale, vec!["acme".to_owned()]);
        assert_eq!(one.signature(), two.signature());
        assert_eq!(one.signature(), "acme (files: no-job)");
        assert_eq!(Report::new(NOW, 2 * HOUR, vec![]).signature(), "");
    }
}
