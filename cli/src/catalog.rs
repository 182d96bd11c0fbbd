//! `bbws catalog rebuild`: the tenant backup catalog made again from the vault, the tenants'
//! access points and the copy jobs (`bbws::catalog::rebuild`), with progress on stderr.

use bbws::catalog::rebuild::{Report, Sources};
use serde_json::json;

use crate::output::Term;

/// Rebuilds, printing each phase as it starts; the report is the last line.
pub async fn rebuild(sources: &Sources, term: &mut Term) -> anyhow::Result<i32> {
    let report = {
        let mut progress = |line: &str| term.note(format!("rebuild: {line}"));
        sources.rebuild(&mut progress).await
    };
    match report {
        Ok(report) => {
            show(&report, term);
            Ok(0)
        }
        Err(error) => {
            term.note(format!("bbws: the rebuild stopped: {error}"));
            Ok(crate::exit::exit_code(error.name()))
        }
    }
}

fn show(report: &Report, term: &mut Term) {
    if term.json {
        term.json_line(&json!(report));
        return;
    }
    term.line(format!(
        "Rebuilt {} from vault {}: {} recovery points read, {} lives, {} backup points \
         written ({} already there), {} DR copies written, {} points of no tenant; the table \
         holds {} items.",
        report.table,
        report.vault,
        report.recovery_points_read,
        report.lives,
        report.points_written,
        report.points_already_recorded,
        report.copies_written,
        report.points_without_tenant,
        report.items_after
    ));
    if !report.lives_unknown.is_empty() {
        term.line(format!(
            "Access points with no recorded tenant life (their hourly backups are not placed): {}",
            report.lives_unknown.join(", ")
        ));
    }
}
