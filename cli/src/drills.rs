//! `bbws drills`: the latest restore drill of every tenant, from the catalog; `bbws drill`
//! starts a drill run now and follows it.

use bbws::catalog::Catalog;
use bbws::drill::DrillResult;
use bbws::Operation;
use serde_json::{json, Value};

use crate::output::Term;

/// The drill state machine's input: the tenants asked for, or how many in rotation.
pub fn drill_input(tenants: &[String], count: Option<u32>) -> Value {
    let mut input = serde_json::Map::new();
    if !tenants.is_empty() {
        input.insert("tenants".into(), json!(tenants));
    }
    if let Some(count) = count {
        input.insert("count".into(), json!(count));
    }
    Value::Object(input)
}

/// One line per tenant: outcome, when, RTO, what was restored, and why it failed.
pub fn render(drills: &[DrillResult]) -> Vec<String> {
    let mut lines = vec![format!(
        "{:<24} {:<10} {:<21} {:>8} {:>8} {:>12}  {}",
        "TENANT", "OUTCOME", "STARTED", "RTO (s)", "FILES", "BYTES", "BACKUP / REASONS"
    )];
    for d in drills {
        let dash = || "-".to_owned();
        lines.push(format!(
            "{:<24} {:<10} {:<21} {:>8} {:>8} {:>12}  {}",
            d.tenant_id,
            d.outcome,
            d.started_at.chars().take(19).collect::<String>() + "Z",
            d.rto_seconds.map_or_else(dash, |s| s.to_string()),
            d.files.map_or_else(dash, |n| n.to_string()),
            d.bytes.map_or_else(dash, |n| n.to_string()),
            if d.reasons.is_empty() {
                d.backup_id.clone().unwrap_or_default()
            } else {
                d.reasons.join("; ")
            }
        ));
    }
    lines
}

pub async fn list(catalog: &Catalog, term: &mut Term) -> anyhow::Result<i32> {
    let mut drills: Vec<DrillResult> = catalog.drills(Operation::Restore).await?;
    drills.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
    if term.json {
        term.json_line(&serde_json::to_value(&drills)?);
    } else if drills.is_empty() {
        term.line("no restore drill has run yet");
    } else {
        for line in render(&drills) {
            term.line(line);
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_names_tenants_or_a_count() {
        assert_eq!(drill_input(&[], None), json!({}));
        assert_eq!(
            drill_input(&["t-1".into()], Some(2)),
            json!({"tenants": ["t-1"], "count": 2})
        );
    }

    #[test]
    fn a_failed_drill_shows_its_reasons_and_a_completed_one_its_rto() {
        let ok = DrillResult {
            tenant_id: "t-1".into(),
            outcome: "Completed".into(),
            started_at: "2026-11-26T03:00:00Z".into(),
            rto_seconds: Some(95),
            files: Some(12),
            bytes: Some(3456),
            backup_id: Some("tb-1".into()),
            ..DrillResult::default()
        };
        let failed = DrillResult {
            tenant_id: "t-2".into(),
            outcome: "Failed".into(),
            reasons: vec!["the restore failed: RestoreFailed: x".into()],
            ..DrillResult::default()
        };
        let lines = render(&[ok, failed]);
        assert!(
            lines[1].contains("Completed")
                && lines[1].contains(" 95 ")
                && lines[1].ends_with("tb-1")
        );
        assert!(
            lines[2].contains("Failed")
                && lines[2].ends_with("the restore failed: RestoreFailed: x")
        );
    }
}
