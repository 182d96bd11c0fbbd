//! Restore drills: the `restore-drill` state machine restores a few tenants' latest backups,
//! on a schedule, into scratch tenants (`drill-<tenant>-<date>`, their files in
//! `/.bbws-scratch/<scratch>`, outside every tenant's directory) that nothing serves, checks
//! what came back against what was recorded when the backup was made, removes it all again,
//! and records how long it took (the measured RTO) and whether it worked.
//!
//! The `restore-drill` function does the steps the state machine does not do itself:
//!
//! * `manifest` (in the backup flow): the tenant's files' [`manifest::Manifest`], recorded
//!   in the catalog when the backup starts its own file-system job;
//! * `pick`: the tenants of this run, in rotation (never drilled first, then the longest
//!   ago), each with its latest backup that has files and a scratch tenant;
//! * `start` and `poll`: the drill's restore, an execution of the tenant restore state
//!   machine named by the drill, started and followed;
//! * `verify`: the scratch directory exists and its manifest equals the recorded one, and
//!   the restored database is `available`;
//! * `cleanup`: the scratch directory, what the restore left beside it, and the restored
//!   database are removed: nothing billable stays;
//! * `record`: the result in the catalog (`bbws drills`), the event
//!   (`TenantRestoreDrillCompleted` or `…Failed`), and the metrics `DrillFailed` and
//!   `RtoSeconds` in CloudWatch embedded metric format, which the template's alarms watch;
//! * `summarise`: the run's count of failed drills, on which the execution fails.

#[cfg(feature = "mysql")]
pub mod database;

#[cfg(all(
    feature = "sdk-dynamodb",
    feature = "sdk-eventbridge",
    feature = "sdk-rds",
    feature = "sdk-sfn"
))]
mod service;

#[cfg(all(
    feature = "sdk-dynamodb",
    feature = "sdk-eventbridge",
    feature = "sdk-rds",
    feature = "sdk-sfn"
))]
pub use service::{handler, DrillService};

use serde::{Deserialize, Serialize};

pub use crate::manifest::{self, Manifest};

/// The CloudWatch namespace of the drills' metrics.
pub const METRIC_NAMESPACE: &str = "BBWS/RestoreDrills";

/// One tenant's drill, as `pick` plans it and the later steps carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Drill {
    pub tenant_id: String,
    pub scratch_tenant_id: String,
    /// The backup restored; `None` when the tenant has none with files (the drill fails).
    pub backup_id: Option<String>,
    /// The name of the nested restore execution (so its ARN is known even when it fails).
    pub restore_execution_name: String,
    /// What was recorded when the backup was made; `None` when nothing was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
}

/// What a drill found and did, as `bbws drills` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DrillResult {
    pub tenant_id: String,
    pub scratch_tenant_id: String,
    #[serde(default)]
    pub backup_id: Option<String>,
    /// `Completed` or `Failed`.
    pub outcome: String,
    /// When the tenant's drill started and ended (RFC 3339).
    pub started_at: String,
    pub finished_at: String,
    /// Seconds from the start to the restored content verified: the measured RTO.
    #[serde(default)]
    pub rto_seconds: Option<i64>,
    /// Files and bytes restored, when the directory could be read.
    #[serde(default)]
    pub files: Option<u64>,
    #[serde(default)]
    pub bytes: Option<u64>,
    /// Whether a manifest recorded at backup time was there to compare with.
    #[serde(default)]
    pub manifest_checked: bool,
    /// Why it failed (empty when it did not).
    #[serde(default)]
    pub reasons: Vec<String>,
    #[serde(default)]
    pub restore_execution_arn: Option<String>,
}

impl DrillResult {
    pub fn failed(&self) -> bool {
        self.outcome != "Completed"
    }

    /// The CloudWatch embedded metric format document for this result: `DrillFailed` (1 or
    /// 0) and, for a verified drill, `RtoSeconds`, per environment; the tenant rides along
    /// as a property, not a dimension, so one alarm watches every tenant
    /// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
    pub fn metrics(&self, environment: &str, timestamp_millis: i64) -> serde_json::Value {
        let mut metrics = vec![serde_json::json!({"Name": "DrillFailed", "Unit": "Count"})];
        let mut doc = serde_json::json!({
            "Environment": environment,
            "TenantId": self.tenant_id,
            "Outcome": self.outcome,
            "DrillFailed": if self.failed() { 1 } else { 0 },
        });
        if let Some(rto) = self.rto_seconds {
            metrics.push(serde_json::json!({"Name": "RtoSeconds", "Unit": "Seconds"}));
            doc["RtoSeconds"] = rto.into();
        }
        doc["_aws"] = serde_json::json!({
            "Timestamp": timestamp_millis,
            "CloudWatchMetrics": [{
                "Namespace": METRIC_NAMESPACE,
                "Dimensions": [["Environment"]],
                "Metrics": metrics,
            }],
        });
        doc
    }
}

/// The scratch tenant of `tenant`'s drill on `date` (`YYYYMMDD`): `drill-<tenant>-<date>`,
/// the tenant's part shortened so the whole is a valid tenant id.
pub fn scratch_tenant(tenant: &str, date: &str) -> String {
    let room = crate::tenant_id::MAX_LEN - crate::layout::DRILL_PREFIX.len() - 1 - date.len();
    let part: String = tenant.chars().take(room).collect();
    format!(
        "{}{}-{date}",
        crate::layout::DRILL_PREFIX,
        part.trim_end_matches('-')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scratch_tenant_is_a_valid_tenant_id_named_after_the_tenant_and_day() {
        assert_eq!(
            scratch_tenant("tenant-1", "20261126"),
            "drill-tenant-1-20261126"
        );
        let long = "a".repeat(63);
        let scratch = scratch_tenant(&long, "20261126");
        assert!(
            crate::tenant_id::TenantId::parse(&scratch).is_ok(),
            "{scratch}"
        );
        assert!(scratch.starts_with("drill-aaa") && scratch.ends_with("-20261126"));
    }

    #[test]
    fn metrics_are_embedded_metric_format() {
        let mut result = DrillResult {
            tenant_id: "tenant-1".into(),
            outcome: "Completed".into(),
            rto_seconds: Some(42),
            ..DrillResult::default()
        };
        let doc = result.metrics("dev", 1_795_676_400_000);
        assert_eq!(doc["DrillFailed"], 0);
        assert_eq!(doc["RtoSeconds"], 42);
        assert_eq!(doc["Environment"], "dev");
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], METRIC_NAMESPACE);
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([["Environment"]])
        );
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["DrillFailed", "RtoSeconds"]);
        // Every metric a directive names is a member of the root (the specification's rule).
        for name in names {
            assert!(doc[name].is_number(), "{name}");
        }

        result.outcome = "Failed".into();
        result.rto_seconds = None;
        let doc = result.metrics("dev", 0);
        assert_eq!(doc["DrillFailed"], 1);
        assert!(doc.get("RtoSeconds").is_none());
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
}
