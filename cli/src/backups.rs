//! `bbws backups`: a tenant's backups as the catalog holds them, newest first, each with its
//! kind, time, size and the state of its DR copies; or one backup in detail (`--id`). It
//! never reads a vault: one DynamoDB Query per page of backups (following LastEvaluatedKey
//! until `--limit` backups are read) and one BatchGetItem for the DR copies of the page.
//!
//! Turning catalog items into what is shown ([`summarise`], [`detail`], [`render_table`],
//! [`render_detail`]) is pure; only [`list`] and [`describe`] call AWS.

use std::collections::HashMap;

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use bbws::catalog::{Catalog, DrCopy, Point, TenantBackup};
use bbws::error::Operation;
use bbws::ErrorKind;
use serde::Serialize;
use serde_json::{json, Value};

use crate::exit::exit_code;
use crate::output::Term;

/// How many backups `bbws backups` shows when `--limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;
/// The most items one Query asks for: a larger `--limit` reads several pages.
pub const PAGE_SIZE: usize = 100;

fn rfc3339(secs: i64) -> String {
    DateTime::from_secs(secs)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

/// One point of a listed backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedPoint {
    pub recovery_point_arn: String,
    pub created_at: String,
    pub size_bytes: Option<i64>,
    pub status: String,
    /// The DR copy job's state (`COMPLETED`, `RUNNING`, …); `None` when never copied.
    pub dr_copy: Option<String>,
}

/// One line of `bbws backups`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    pub backup_id: String,
    pub tenant_id: String,
    pub kind: String,
    pub time: String,
    /// The size of its points together, when AWS Backup gave any.
    pub size_bytes: Option<i64>,
    pub files: Option<ListedPoint>,
    pub database: Option<ListedPoint>,
}

fn listed_point(point: &Point, copies: &HashMap<String, DrCopy>) -> ListedPoint {
    ListedPoint {
        recovery_point_arn: point.recovery_point_arn.clone(),
        created_at: rfc3339(point.created_at),
        size_bytes: point.size_bytes,
        status: point.status.clone(),
        dr_copy: copies
            .get(&point.recovery_point_arn)
            .map(|c| c.state.clone()),
    }
}

/// What `bbws backups` shows of each backup, in the catalog's order (newest first).
pub fn summarise(backups: &[TenantBackup], copies: &HashMap<String, DrCopy>) -> Vec<Listed> {
    backups
        .iter()
        .map(|b| {
            let points = [&b.files, &b.database];
            let sizes: Vec<i64> = points
                .iter()
                .filter_map(|p| p.as_ref().and_then(|p| p.size_bytes))
                .collect();
            Listed {
                backup_id: b.backup_id.clone(),
                tenant_id: b.tenant_id.clone(),
                kind: b.kind.as_str().to_owned(),
                time: rfc3339(b.time),
                size_bytes: (!sizes.is_empty()).then(|| sizes.iter().sum()),
                files: b.files.as_ref().map(|p| listed_point(p, copies)),
                database: b.database.as_ref().map(|p| listed_point(p, copies)),
            }
        })
        .collect()
}

/// Bytes for people: `1.5 MiB`.
pub fn human_size(bytes: Option<i64>) -> String {
    let Some(bytes) = bytes else {
        return "-".into();
    };
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// The table for people: one line per backup.
pub fn render_table(tenant: &str, listed: &[Listed]) -> Vec<String> {
    if listed.is_empty() {
        return vec![format!("No backups of {tenant} in the catalog.")];
    }
    let dr = |p: &Option<ListedPoint>| match p {
        None => "-".to_owned(),
        Some(p) => p.dr_copy.clone().unwrap_or_else(|| "none".into()),
    };
    let rows: Vec<[String; 6]> = listed
        .iter()
        .map(|b| {
            [
                b.backup_id.clone(),
                b.kind.clone(),
                b.time.clone(),
                human_size(b.size_bytes),
                dr(&b.files),
                dr(&b.database),
            ]
        })
        .collect();
    let header = [
        "BACKUP",
        "KIND",
        "TIME",
        "SIZE",
        "FILES DR COPY",
        "DATABASE DR COPY",
    ]
    .map(str::to_owned);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    std::iter::once(&header)
        .chain(&rows)
        .map(|row| {
            row.iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell:w$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        })
        .collect()
}

/// A failure the operator gets by name, with its exit code.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub kind: ErrorKind,
    pub message: String,
}

impl Refusal {
    fn report(&self, term: &mut Term) -> i32 {
        let name = self.kind.name();
        if term.json {
            term.json_line(&json!({"error": name, "cause": self.message}));
        }
        term.note(format!("bbws: {name}: {}", self.message));
        exit_code(name)
    }
}

/// Reads up to `limit` of the tenant's backups made at or after `since`, newest first,
/// following the Query's LastEvaluatedKey from page to page, and their DR copies in one
/// BatchGetItem per 100 points. DynamoDB's Limit caps the items one page evaluates and a page
/// also ends at 1 MB; only a missing LastEvaluatedKey says the last page was read, a present
/// one does not promise more items
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Pagination.html>).
pub async fn read(
    catalog: &Catalog,
    tenant: &str,
    since: Option<i64>,
    limit: usize,
) -> anyhow::Result<(Vec<TenantBackup>, HashMap<String, DrCopy>)> {
    let op = Operation::Restore;
    let mut backups = Vec::new();
    let mut start: Option<String> = None;
    while backups.len() < limit {
        let want = (limit - backups.len()).min(PAGE_SIZE);
        let page = catalog
            .backups(op, tenant, since, None, want as i32, start.as_deref())
            .await?;
        backups.extend(page.backups);
        match page.next {
            Some(next) => start = Some(next),
            None => break,
        }
    }
    backups.truncate(limit);
    let arns: Vec<String> = backups
        .iter()
        .flat_map(|b| [&b.files, &b.database])
        .flatten()
        .map(|p| p.recovery_point_arn.clone())
        .collect();
    let copies = if arns.is_empty() {
        HashMap::new()
    } else {
        catalog.copies(op, &arns).await?
    };
    Ok((backups, copies))
}

/// Whether the catalog knows the tenant at all: a backup at any time, or a life.
async fn known(catalog: &Catalog, tenant: &str) -> anyhow::Result<bool> {
    let op = Operation::Restore;
    if !catalog
        .backups(op, tenant, None, None, 1, None)
        .await?
        .backups
        .is_empty()
    {
        return Ok(true);
    }
    Ok(!catalog.lives_of(op, tenant).await?.is_empty())
}

/// `bbws backups --tenant T`: lists and prints; the exit code (InvalidTenant's for a tenant
/// the catalog has never heard of).
pub async fn list(
    catalog: &Catalog,
    tenant: &str,
    since: Option<i64>,
    limit: usize,
    term: &mut Term,
) -> anyhow::Result<i32> {
    let (backups, copies) = read(catalog, tenant, since, limit).await?;
    if backups.is_empty() && !known(catalog, tenant).await? {
        return Ok(Refusal {
            kind: ErrorKind::InvalidTenant,
            message: format!(
                "tenant {tenant} is not in the catalog {} (never onboarded, never backed up)",
                catalog.table
            ),
        }
        .report(term));
    }
    let listed = summarise(&backups, &copies);
    if term.json {
        term.json_line(&serde_json::to_value(&listed)?);
    } else {
        for line in render_table(tenant, &listed) {
            term.line(line);
        }
    }
    Ok(0)
}

/// An age as `3h05m` (`-` for no point at all).
fn age(seconds: Option<i64>) -> String {
    seconds.map_or_else(
        || "-".to_owned(),
        |s| format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    )
}

/// `bbws backups --stale` as a table: one line per stale tenant, with both ages and why.
pub fn render_stale(report: &bbws::rpo::Report) -> Vec<String> {
    let mut lines = vec![format!(
        "{:<32} {:>9} {:>9}  WHY",
        "TENANT", "FILES", "DATABASE"
    )];
    for t in report.tenants.iter().filter(|t| t.stale()) {
        let why: Vec<String> = [("files", t.files), ("database", t.database)]
            .into_iter()
            .filter_map(|(what, r)| r.map(|r| format!("{what}: {}", r.as_str())))
            .collect();
        lines.push(format!(
            "{:<32} {:>9} {:>9}  {}",
            t.tenant_id,
            age(t.files_age_seconds),
            age(t.database_age_seconds),
            why.join(", ")
        ));
    }
    lines.push(format!(
        "{} of {} tenants older than {}s or not selected (checked {})",
        report.stale.len(),
        report.tenants.len(),
        report.threshold_seconds,
        report.checked_at
    ));
    lines
}

/// `bbws backups --stale`: the RPO check's assessment of every tenant, without its alert.
/// `--json` prints the whole report (every tenant with its ages).
pub async fn stale(
    assessor: &bbws::rpo::Assessor,
    threshold: i64,
    term: &mut Term,
) -> anyhow::Result<i32> {
    let report = assessor.assess(threshold).await?;
    if term.json {
        term.json_line(&serde_json::to_value(&report)?);
    } else {
        for line in render_stale(&report) {
            term.line(line);
        }
    }
    Ok(0)
}

/// One backup in detail, as JSON: every field of its item, each point with its DR copy.
pub fn detail(backup: &TenantBackup, copies: &HashMap<String, DrCopy>) -> Value {
    let point = |p: &Option<Point>| -> Value {
        let Some(p) = p else { return Value::Null };
        let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
        v["createdAt"] = json!(rfc3339(p.created_at));
        if let Some(d) = p.delete_at {
            v["deleteAt"] = json!(rfc3339(d));
        }
        v["drCopy"] = match copies.get(&p.recovery_point_arn) {
            None => Value::Null,
            Some(c) => {
                let mut c_json = serde_json::to_value(c).unwrap_or(Value::Null);
                c_json["createdAt"] = json!(rfc3339(c.created_at));
                if let Some(d) = c.delete_at {
                    c_json["deleteAt"] = json!(rfc3339(d));
                }
                c_json
            }
        };
        v
    };
    json!({
        "backupId": backup.backup_id,
        "tenantId": backup.tenant_id,
        "kind": backup.kind.as_str(),
        "time": rfc3339(backup.time),
        "expiresAt": backup.expires_at.map(rfc3339),
        "files": point(&backup.files),
        "database": point(&backup.database),
        "restores": backup.restores,
    })
}

/// [`detail`] for people, as `velero backup describe` lays a backup out.
pub fn render_detail(detail: &Value) -> Vec<String> {
    let text = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_else(|| "-".into());
    let mut lines = vec![
        format!("Backup:     {}", text(&detail["backupId"])),
        format!("Tenant:     {}", text(&detail["tenantId"])),
        format!("Kind:       {}", text(&detail["kind"])),
        format!("Time:       {}", text(&detail["time"])),
        format!("Expires:    {}", text(&detail["expiresAt"])),
    ];
    for (title, key) in [("Files", "files"), ("Database", "database")] {
        let p = &detail[key];
        if p.is_null() {
            lines.push(format!("{title}:      <none>"));
            continue;
        }
        lines.push(format!("{title}:"));
        lines.push(format!(
            "  Recovery point: {}",
            text(&p["recoveryPointArn"])
        ));
        lines.push(format!("  Resource:       {}", text(&p["resourceArn"])));
        lines.push(format!("  Vault:          {}", text(&p["vault"])));
        lines.push(format!("  Created:        {}", text(&p["createdAt"])));
        lines.push(format!(
            "  Size:           {}",
            human_size(p["sizeBytes"].as_i64())
        ));
        lines.push(format!("  Status:         {}", text(&p["status"])));
        lines.push(format!("  Deleted at:     {}", text(&p["deleteAt"])));
        let c = &p["drCopy"];
        if c.is_null() {
            lines.push("  DR copy:        <none>".into());
        } else {
            lines.push(format!(
                "  DR copy:        {} (job {})",
                text(&c["state"]),
                text(&c["copyJobId"])
            ));
            lines.push(format!(
                "    Copy:         {}",
                text(&c["recoveryPointArn"])
            ));
            lines.push(format!("    Vault:        {}", text(&c["vaultArn"])));
            lines.push(format!("    Deleted at:   {}", text(&c["deleteAt"])));
        }
    }
    let restores = detail["restores"].as_array().cloned().unwrap_or_default();
    if restores.is_empty() {
        lines.push("Restores:   <none>".into());
    } else {
        lines.push("Restores:".into());
        for r in restores {
            lines.push(format!("  {}", text(&r)));
        }
    }
    lines
}

/// `bbws backups --tenant T --id B`: one GetItem (a query for an id without a time) and the
/// DR copies of its points; BackupNotFound's exit code when the tenant has no such backup.
pub async fn describe(
    catalog: &Catalog,
    tenant: &str,
    backup_id: &str,
    term: &mut Term,
) -> anyhow::Result<i32> {
    let op = Operation::Restore;
    let Some(backup) = catalog.backup(op, tenant, backup_id).await? else {
        return Ok(Refusal {
            kind: ErrorKind::BackupNotFound,
            message: format!("tenant {tenant} has no backup {backup_id} in the catalog"),
        }
        .report(term));
    };
    let arns: Vec<String> = [&backup.files, &backup.database]
        .into_iter()
        .flatten()
        .map(|p| p.recovery_point_arn.clone())
        .collect();
    let copies = if arns.is_empty() {
        HashMap::new()
    } else {
        catalog.copies(op, &arns).await?
    };
    let shown = detail(&backup, &copies);
    if term.json {
        term.json_line(&shown);
    } else {
        for line in render_detail(&shown) {
            term.line(line);
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_stale_table_names_each_stale_tenant_with_its_ages_and_why() {
        use bbws::rpo::{assess, Facts, Report};
        let now = 1_800_000_000;
        let stale = Facts {
            tenant_id: "acme".into(),
            files_at: Some(now - 3 * 3600 - 300),
            database_at: None,
            ..Facts::default()
        };
        let fresh = Facts {
            tenant_id: "fresh".into(),
            files_at: Some(now - 60),
            database_at: Some(now - 60),
            selected_databases: vec!["arn:aws:rds:us-east-1:123456789012:db:fresh".into()],
            ..Facts::default()
        };
        let report = Report::new(
            now,
            7200,
            vec![assess(&stale, now, 7200), assess(&fresh, now, 7200)],
        );
        let lines = render_stale(&report);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[1].starts_with("acme "), "{lines:?}");
        assert!(
            lines[1].contains("3h05m") && lines[1].contains("        -"),
            "{lines:?}"
        );
        assert!(
            lines[1].ends_with("files: no-job, database: not-selected"),
            "{lines:?}"
        );
        assert!(lines[2].starts_with("1 of 2 tenants"), "{lines:?}");
    }
    use super::*;
    use bbws::catalog::BackupKind;

    const FS: &str =
        "arn:aws:elasticfilesystem:af-south-1:123456789012:file-system/fs-0123456789abcdef0";
    const DB: &str = "arn:aws:rds:af-south-1:123456789012:db:tenant-1";
    const DR_VAULT: &str = "arn:aws:backup:eu-west-1:123456789012:backup-vault:bbws-dr-vault";

    fn rp(id: &str) -> String {
        format!("arn:aws:backup:af-south-1:123456789012:recovery-point:{id}")
    }

    fn point(id: &str, resource: &str, at: i64, size: Option<i64>) -> Point {
        Point {
            recovery_point_arn: rp(id),
            resource_arn: resource.into(),
            resource_type: if resource == FS { "EFS" } else { "RDS" }.into(),
            vault: "bbws-dev-backup-vault".into(),
            created_at: at,
            size_bytes: size,
            status: "COMPLETED".into(),
            delete_at: Some(at + 7 * 86_400),
        }
    }

    fn copy(state: &str) -> DrCopy {
        DrCopy {
            copy_job_id: "copy-1".into(),
            recovery_point_arn: Some(rp("copy").replace("af-south-1", "eu-west-1")),
            vault_arn: DR_VAULT.into(),
            state: state.into(),
            created_at: 1_790_000_300,
            delete_at: None,
        }
    }

    fn backups() -> Vec<TenantBackup> {
        let t = 1_790_000_000;
        vec![
            TenantBackup {
                tenant_id: "tenant-1".into(),
                backup_id: "tb-new".into(),
                kind: BackupKind::OnDemand,
                time: t,
                files: Some(point("efs-new", FS, t + 100, Some(2048))),
                database: Some(point("db-new", DB, t + 160, Some(1024))),
                restores: vec!["arn:restore-1".into()],
                expires_at: Some(t + 30 * 86_400),
            },
            TenantBackup {
                tenant_id: "tenant-1".into(),
                backup_id: "hourly-20260921T1300Z".into(),
                kind: BackupKind::Hourly,
                time: t - 3600,
                files: Some(point("efs-hourly", FS, t - 3500, None)),
                database: None,
                restores: vec![],
                expires_at: None,
            },
        ]
    }

    #[test]
    fn each_backup_shows_kind_time_size_and_dr_copy_state_in_catalog_order() {
        let copies = HashMap::from([(rp("efs-new"), copy("COMPLETED"))]);
        let listed = summarise(&backups(), &copies);
        let summary: Vec<(&str, &str, &str, Option<i64>)> = listed
            .iter()
            .map(|b| {
                (
                    b.backup_id.as_str(),
                    b.kind.as_str(),
                    b.time.as_str(),
                    b.size_bytes,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("tb-new", "on-demand", "2026-09-21T14:13:20Z", Some(3072)),
                (
                    "hourly-20260921T1300Z",
                    "hourly",
                    "2026-09-21T13:13:20Z",
                    None
                ),
            ]
        );
        let files = listed[0].files.as_ref().unwrap();
        assert_eq!(files.dr_copy.as_deref(), Some("COMPLETED"));
        assert_eq!(listed[0].database.as_ref().unwrap().dr_copy, None);
        assert_eq!(listed[1].database, None);
        let table = render_table("tenant-1", &listed);
        assert_eq!(table.len(), 3);
        assert!(table[0].starts_with("BACKUP"), "{table:?}");
        assert!(table[1].starts_with("tb-new "), "{table:?}");
        assert!(table[1].contains("3.0 KiB") && table[1].contains("COMPLETED"));
        assert!(table[1].ends_with("none"), "{table:?}");
        let cells: Vec<&str> = table[2].split_whitespace().collect();
        assert_eq!(cells[4..], ["none", "-"], "{table:?}");
        assert_eq!(
            render_table("tenant-1", &[]),
            ["No backups of tenant-1 in the catalog."]
        );
    }

    #[test]
    fn sizes_read_for_people() {
        assert_eq!(human_size(None), "-");
        assert_eq!(human_size(Some(512)), "512 B");
        assert_eq!(human_size(Some(1536)), "1.5 KiB");
        assert_eq!(human_size(Some(3 * 1024 * 1024 * 1024)), "3.0 GiB");
    }

    #[test]
    fn the_detail_names_points_copies_expiry_and_restores() {
        let copies = HashMap::from([(rp("db-new"), copy("RUNNING"))]);
        let shown = detail(&backups()[0], &copies);
        assert_eq!(shown["expiresAt"], "2026-10-21T14:13:20Z");
        assert_eq!(shown["files"]["sizeBytes"], 2048);
        assert_eq!(shown["files"]["deleteAt"], "2026-09-28T14:15:00Z");
        assert_eq!(shown["files"]["drCopy"], Value::Null);
        assert_eq!(shown["database"]["drCopy"]["state"], "RUNNING");
        assert_eq!(shown["database"]["drCopy"]["vaultArn"], DR_VAULT);
        assert_eq!(shown["restores"], json!(["arn:restore-1"]));
        let lines = render_detail(&shown);
        assert_eq!(lines[0], "Backup:     tb-new");
        assert!(lines.contains(&"  Size:           2.0 KiB".to_owned()));
        assert!(lines.contains(&"  DR copy:        RUNNING (job copy-1)".to_owned()));
        assert_eq!(lines.last().unwrap(), "  arn:restore-1");
        let hourly = render_detail(&detail(&backups()[1], &HashMap::new()));
        assert!(hourly.contains(&"Database:      <none>".to_owned()));
        assert!(hourly.contains(&"Restores:   <none>".to_owned()));
    }
}
